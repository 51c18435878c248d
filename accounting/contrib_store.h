/*
 * contrib_store.h - contributions in quorated's PostgreSQL store (libpq):
 * ingested usage rows and the watermark (schema 003), epoch close into
 * epochs, epoch_records and chain_outbox (schema 002) with the ledger and
 * the balances (schema 003).  A thin adapter: the formula, the records,
 * the leaves and the root come from libquorate_contrib (common/contrib.h).
 * Each call is one transaction, serialized against the others by an
 * advisory lock, so that an ingest and a close never interleave.
 */
#ifndef QUORATED_CONTRIB_STORE_H
#define QUORATED_CONTRIB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "contrib.h"

/* 0 when the store has schema 002 and 003 (quorated applied them), else
 * -1 with err saying what is missing. */
int cstore_check_schema(PGconn *conn, char *err, size_t errlen);

/* The watermark (Unix seconds); *has false before the first ingest. */
int cstore_watermark(PGconn *conn, bool *has, int64_t *watermark,
		     char *err, size_t errlen);

/* The epochs below BELOW that are due: not closed, later than the last
 * closed epoch (the ledger takes epochs in increasing order), and holding
 * ingested usage, in increasing order, then BELOW - 1 itself when it is
 * later than the last closed epoch.  *out is malloc'd.  0, or -1 with err. */
int cstore_due_epochs(PGconn *conn, int64_t epoch_length, uint64_t below,
		      uint64_t **out, size_t *n, char *err, size_t errlen);

struct cstore_ingest_stats {
	size_t offered;		/* rows given */
	size_t inserted;	/* new rows stored */
	size_t duplicate;	/* already stored (same cluster, db_index, node) */
	size_t late;		/* not stored: their epoch is already closed */
};

/* Store n usage records (COPY into a temporary table, then insert the rows
 * that are new and whose epoch, by EPOCH_LENGTH, is not closed) and raise
 * the watermark to WATERMARK, in one transaction.  JOBS is only recorded.
 * 0, or -1 with err (nothing was stored). */
int cstore_ingest(PGconn *conn, const struct contrib_usage *u, size_t n,
		  int64_t epoch_length, int64_t watermark, size_t jobs,
		  struct cstore_ingest_stats *st, char *err, size_t errlen);

enum cstore_close_rc {
	CSTORE_CLOSED = 0,		/* closed now */
	CSTORE_ALREADY_CLOSED = 1,	/* closed before; nothing written */
	CSTORE_NOT_OVER = 2,		/* ingestion has not passed its end + overlap */
	CSTORE_REFUSED = 3,		/* the data cannot be closed (err: why) */
	CSTORE_FAILED = -1,		/* the store failed (err) */
};

struct cstore_close_result {
	uint64_t epoch;
	int64_t start, end;
	uint8_t root[32], data_hash[32];
	char cpu_seconds[48], gpu_seconds[48];	/* decimal, as stored */
	int64_t records;			/* leaves */
	size_t usage_records;			/* usage rows read (closed now) */
	size_t ledger_rows, sites_without_payee, unassigned_accounts;
	int64_t watermark;			/* 0 when never ingested */
	double load_s, compute_s, write_s;	/* where the time went */
};

/* Close EPOCH: read its usage rows (end_time in the epoch) with their
 * steps' outcomes, the trainer's reports and the nodes' reputation, run
 * contrib_epoch_close, and write in one transaction the epoch's row, its
 * leaves, the per-leaf figures, the ledger, the balances and (epoch,
 * 'pending') in chain_outbox.  An epoch already in `epochs` is left as it
 * is (its stored figures are returned).  With CHECK_WATERMARK, an epoch
 * that ingestion has not passed by IngestOverlap is refused. */
enum cstore_close_rc cstore_epoch_close(PGconn *conn,
					const struct contrib_policy *p,
					uint64_t epoch, bool check_watermark,
					struct cstore_close_result *r,
					char *err, size_t errlen);

#endif
