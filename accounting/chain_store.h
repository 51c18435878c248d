/*
 * chain_store.h - the PostgreSQL side of on-chain posting
 * (schema/002_chain.sql): the outbox's rows and every transition of its
 * state machine, each one transaction with its chain_events row; and the
 * Merkle root recomputed from an epoch's frozen records.  Used by
 * quorated's poster (chain.c) and by `quorate chain` (quorate_chain.c).
 * Parameterized statements only; nothing here logs.
 *
 * Functions return 0, or -1 with err set; the caller learns from
 * PQstatus() whether the connection is still usable.
 */
#ifndef QUORATED_CHAIN_STORE_H
#define QUORATED_CHAIN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "ethtypes.h"

/* A row of epochs. */
struct chain_epoch {
	int64_t epoch;
	uint8_t root[32];
	struct u256 cpu_seconds, gpu_seconds;
	uint32_t records;
	uint8_t data_hash[32];
	double closed_at;
};

/* A row of chain_outbox with its epoch. */
struct chain_outbox_row {
	struct chain_epoch e;
	char state[16];			/* pending, sent, confirmed, failed */
	bool has_chain;
	uint64_t chain_id;
	struct eth_address sender;
	bool has_nonce;
	uint64_t nonce;
	bool has_tx;
	uint8_t tx_hash[32];
	uint8_t *raw_tx;		/* malloc'd, NULL when none */
	size_t raw_len;
	struct u256 max_fee, max_tip;
	uint64_t gas_limit;
	int attempts;
	char last_error[512];
	bool has_block;
	uint64_t block_number;
	uint8_t block_hash[32];
	bool has_gas_used;
	uint64_t gas_used;
	struct u256 effective_gas_price;
	double sent_at, last_sent_at, confirmed_at, updated_at;	/* < 0: none */
};

void chain_rows_free(struct chain_outbox_row *rows, size_t n);

/* Rows pending or sent, by epoch. */
int chain_store_active(PGconn *c, struct chain_outbox_row **rows, size_t *n,
		       char *err, size_t errlen);
/* For `quorate chain status`: every row not confirmed, and the newest
 * LIMIT confirmed ones, by epoch; counts per state. */
struct chain_counts {
	long pending, sent, confirmed, failed;
};
int chain_store_list(PGconn *c, long limit, struct chain_outbox_row **rows, size_t *n,
		     struct chain_counts *counts, char *err, size_t errlen);
/* Every closed epoch in FIRST..LAST with its outbox row, in epoch order;
 * state is "" where the epoch has no outbox row. */
int chain_store_epochs_range(PGconn *c, int64_t first, int64_t last,
			     struct chain_outbox_row **rows, size_t *n, char *err, size_t errlen);
/* One row; *found false when the epoch has none. */
int chain_store_row(PGconn *c, int64_t epoch, struct chain_outbox_row *row, bool *found,
		    char *err, size_t errlen);
int chain_store_epoch(PGconn *c, int64_t epoch, struct chain_epoch *e, bool *found,
		      char *err, size_t errlen);

/* The highest nonce the outbox holds for (chain_id, sender). */
int chain_store_highest_nonce(PGconn *c, uint64_t chain_id, const struct eth_address *sender,
			      bool *any, uint64_t *nonce, char *err, size_t errlen);
/* The hashes of the epoch's transactions at NONCE still in flight (the
 * current one and those it replaced); *hashes malloc'd. */
int chain_store_tx_hashes(PGconn *c, int64_t epoch, uint64_t nonce,
			  uint8_t (**hashes)[32], size_t *n, char *err, size_t errlen);
/* The epoch's gap fillers still in flight. */
int chain_store_fillers(PGconn *c, int64_t epoch, uint8_t (**hashes)[32], size_t *n,
			char *err, size_t errlen);
/* The sender of the newest transaction (status, when the key is not
 * readable); *found false when none. */
int chain_store_last_sender(PGconn *c, struct eth_address *sender, bool *found,
			    char *err, size_t errlen);

/* A transaction signed for an epoch. */
struct chain_signed_tx {
	uint64_t chain_id;
	struct eth_address sender;
	uint64_t nonce;
	uint8_t hash[32];
	const uint8_t *raw;
	size_t raw_len;
	struct u256 max_fee, max_tip;
	uint64_t gas_limit;
	const char *reason;		/* first, fee_bump, new_nonce */
};

/* --- transitions: each one transaction, with its chain_events row --- */

/* pending -> sent, or sent -> sent with a replacement (fee_bump): the
 * transaction is stored before anything is broadcast. */
int chain_store_signed(PGconn *c, int64_t epoch, const struct chain_signed_tx *tx,
		       const char *detail, char *err, size_t errlen);
/* A gap filler (chain_txs reason gap_fill), stored before it is sent;
 * its broadcast; its outcome (r: mined with this receipt; NULL: dropped). */
struct chain_receipt_info;
int chain_store_filler(PGconn *c, int64_t epoch, const struct chain_signed_tx *tx,
		       char *err, size_t errlen);
int chain_store_filler_broadcast(PGconn *c, const uint8_t tx_hash[32], char *err, size_t errlen);
int chain_store_filler_outcome(PGconn *c, const uint8_t tx_hash[32],
			       const struct chain_receipt_info *r, char *err, size_t errlen);
/* The node took the transaction (eth_sendRawTransaction answered). */
int chain_store_broadcast(PGconn *c, int64_t epoch, const uint8_t tx_hash[32], bool again,
			  char *err, size_t errlen);
/* A receipt (status 1), not yet deep enough. */
struct chain_receipt_info {
	uint8_t tx_hash[32];
	uint64_t block_number;
	uint8_t block_hash[32];
	uint64_t gas_used;
	struct u256 effective_gas_price;
};
int chain_store_mined(PGconn *c, int64_t epoch, const struct chain_receipt_info *r,
		      char *err, size_t errlen);
/* The stored receipt is gone. */
int chain_store_reorged(PGconn *c, int64_t epoch, const char *detail, char *err, size_t errlen);
/* sent -> confirmed (r = the mined transaction), or pending/sent ->
 * confirmed because the ledger holds the epoch with our root (r NULL,
 * event already_committed). */
int chain_store_confirmed(PGconn *c, int64_t epoch, const struct chain_receipt_info *r,
			  const char *detail, char *err, size_t errlen);
/* -> failed; reverted_tx (may be NULL) is marked reverted. */
int chain_store_failed(PGconn *c, int64_t epoch, const uint8_t *reverted_tx,
		       const char *error, char *err, size_t errlen);
/* sent -> pending: EVENT nonce_taken (the epoch's in-flight transactions
 * are dropped) or retry (reverted_tx reverted, a revert that may pass). */
int chain_store_requeue(PGconn *c, int64_t epoch, const char *event,
			const uint8_t *reverted_tx, const char *detail,
			char *err, size_t errlen);
/* last_error (NULL clears it); an error event when it changes. */
int chain_store_note_error(PGconn *c, int64_t epoch, const char *error,
			   char *err, size_t errlen);

/* --- the root from the frozen records --- */

struct chain_recomputed {
	size_t rows;			/* epoch_records rows of the epoch */
	uint8_t root[32];		/* of the rows in idx order */
	struct u256 cpu_seconds, gpu_seconds;
	/* The first problem found in the rows, "" when none: an idx out of
	 * sequence, a site_id that is not keccak256(site), a value out of
	 * range. */
	char problem[256];
};
int chain_store_recompute(PGconn *c, int64_t epoch, struct chain_recomputed *out,
			  char *err, size_t errlen);

#endif
