/*
 * chain_store.c - see chain_store.h.
 */
#define _GNU_SOURCE	/* vasprintf */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "chain_store.h"
#include "merkle.h"

#define MAX_PARAMS 16

/* ----------------------------------------------------------- helpers -- */

struct params {
	int n;
	const char *v[MAX_PARAMS];
	char *owned[MAX_PARAMS];
	bool oom;
};

static void p_free(struct params *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->owned[i]);
	memset(p, 0, sizeof(*p));
}

static void p_add_owned(struct params *p, char *s)
{
	if (p->n >= MAX_PARAMS || !s) {
		p->oom = true;
		free(s);
		return;
	}
	p->owned[p->n] = s;
	p->v[p->n++] = s;
}

static void p_fmt(struct params *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void p_fmt(struct params *p, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	p_add_owned(p, s);
}

static void p_null(struct params *p)
{
	if (p->n >= MAX_PARAMS) {
		p->oom = true;
		return;
	}
	p->owned[p->n] = NULL;
	p->v[p->n++] = NULL;
}

static void p_text(struct params *p, const char *s)
{
	if (!s)
		p_null(p);
	else
		p_add_owned(p, strdup(s));
}

/* bytea as its hex input form, \x... */
static void p_bytes(struct params *p, const uint8_t *b, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	char *s;

	if (!b) {
		p_null(p);
		return;
	}
	s = malloc(2 + 2 * n + 1);
	if (s) {
		s[0] = '\\';
		s[1] = 'x';
		for (size_t i = 0; i < n; i++) {
			s[2 + 2 * i] = hexd[b[i] >> 4];
			s[3 + 2 * i] = hexd[b[i] & 15];
		}
		s[2 + 2 * n] = '\0';
	}
	p_add_owned(p, s);
}

static void p_u256(struct params *p, const struct u256 *x)
{
	char d[U256_DEC_LEN + 1];

	u256_to_dec(x, d);
	p_text(p, d);
}

static void p_trim(char *err)
{
	size_t n = strlen(err);

	while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

/* Run SQL with P; *res (tuples) or NULL.  0, or -1 with err. */
static int run(PGconn *c, const char *what, const char *sql, struct params *p,
	       PGresult **out, char *err, size_t errlen)
{
	PGresult *res;
	ExecStatusType st;

	if (out)
		*out = NULL;
	if (p && p->oom) {
		snprintf(err, errlen, "%s: out of memory", what);
		p_free(p);
		return -1;
	}
	res = PQexecParams(c, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL, 0);
	if (p)
		p_free(p);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c);

		snprintf(err, errlen, "%s: %s", what, msg && *msg ? msg : PQresStatus(st));
		p_trim(err);
		PQclear(res);
		return -1;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

static int begin(PGconn *c, char *err, size_t errlen)
{
	return run(c, "BEGIN", "BEGIN", NULL, NULL, err, errlen);
}

static int commit(PGconn *c, char *err, size_t errlen)
{
	return run(c, "COMMIT", "COMMIT", NULL, NULL, err, errlen);
}

static void rollback(PGconn *c)
{
	PGresult *res;

	if (PQstatus(c) != CONNECTION_OK)
		return;
	res = PQexec(c, "ROLLBACK");
	PQclear(res);
}

/* bytea text output (\x...) of exactly N bytes; -1 otherwise. */
static int get_bytes(const char *s, uint8_t *out, size_t n)
{
	if (strncmp(s, "\\x", 2) || strlen(s + 2) != 2 * n)
		return -1;
	s += 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* bytea of any length, malloc'd. */
static int get_bytes_alloc(const char *s, uint8_t **out, size_t *n)
{
	size_t len;

	*out = NULL;
	*n = 0;
	if (strncmp(s, "\\x", 2) || strlen(s + 2) % 2)
		return -1;
	len = strlen(s + 2) / 2;
	*out = malloc(len ? len : 1);
	if (!*out || get_bytes(s, *out, len)) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*n = len;
	return 0;
}

static int get_u64(const char *s, uint64_t *v)
{
	struct u256 x;

	if (s[0] == '-' || u256_from_dec(&x, s) || u256_to_u64(&x, v))
		return -1;
	return 0;
}

static int get_i64(const char *s, int64_t *v)
{
	char *end;
	long long x = strtoll(s, &end, 10);

	if (!*s || *end)
		return -1;
	*v = (int64_t)x;
	return 0;
}

static double get_time(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? -1 : strtod(PQgetvalue(r, row, col), NULL);
}

/* ------------------------------------------------------------- rows -- */

#define EPOCH_COLS \
	"e.epoch, e.root, e.cpu_seconds, e.gpu_seconds, e.records, e.data_hash, " \
	"extract(epoch FROM e.closed_at)"
#define N_EPOCH_COLS 7

#define ROW_COLS EPOCH_COLS ", o.state, o.chain_id, o.sender, o.nonce, o.tx_hash, o.raw_tx, " \
	"o.max_fee, o.max_priority_fee, o.gas_limit, coalesce(o.attempts, 0), o.last_error, o.block_number, " \
	"o.block_hash, o.gas_used, o.effective_gas_price, extract(epoch FROM o.sent_at), " \
	"extract(epoch FROM o.last_sent_at), extract(epoch FROM o.confirmed_at), " \
	"extract(epoch FROM o.updated_at)"

static int parse_epoch(PGresult *r, int i, struct chain_epoch *e)
{
	int64_t records;

	memset(e, 0, sizeof(*e));
	if (get_i64(PQgetvalue(r, i, 0), &e->epoch) ||
	    get_bytes(PQgetvalue(r, i, 1), e->root, 32) ||
	    u256_from_dec(&e->cpu_seconds, PQgetvalue(r, i, 2)) ||
	    u256_from_dec(&e->gpu_seconds, PQgetvalue(r, i, 3)) ||
	    get_i64(PQgetvalue(r, i, 4), &records) || records < 0 || records > UINT32_MAX ||
	    get_bytes(PQgetvalue(r, i, 5), e->data_hash, 32))
		return -1;
	e->records = (uint32_t)records;
	e->closed_at = get_time(r, i, 6);
	return 0;
}

static int parse_row(PGresult *r, int i, struct chain_outbox_row *o)
{
	int c = N_EPOCH_COLS;
	int64_t attempts;
	const char *v;

	memset(o, 0, sizeof(*o));
	if (parse_epoch(r, i, &o->e))
		return -1;
	snprintf(o->state, sizeof(o->state), "%s", PQgetvalue(r, i, c));
	c++;
	if (!PQgetisnull(r, i, c) && !PQgetisnull(r, i, c + 1)) {
		o->has_chain = true;
		if (get_u64(PQgetvalue(r, i, c), &o->chain_id) ||
		    get_bytes(PQgetvalue(r, i, c + 1), o->sender.b, 20))
			return -1;
	}
	c += 2;
	if ((o->has_nonce = !PQgetisnull(r, i, c)) && get_u64(PQgetvalue(r, i, c), &o->nonce))
		return -1;
	c++;
	if ((o->has_tx = !PQgetisnull(r, i, c)) && get_bytes(PQgetvalue(r, i, c), o->tx_hash, 32))
		return -1;
	c++;
	if (!PQgetisnull(r, i, c) && get_bytes_alloc(PQgetvalue(r, i, c), &o->raw_tx, &o->raw_len))
		return -1;
	c++;
	if ((!PQgetisnull(r, i, c) && u256_from_dec(&o->max_fee, PQgetvalue(r, i, c))) ||
	    (!PQgetisnull(r, i, c + 1) && u256_from_dec(&o->max_tip, PQgetvalue(r, i, c + 1))) ||
	    (!PQgetisnull(r, i, c + 2) && get_u64(PQgetvalue(r, i, c + 2), &o->gas_limit)) ||
	    get_i64(PQgetvalue(r, i, c + 3), &attempts))
		return -1;
	o->attempts = (int)attempts;
	c += 4;
	v = PQgetisnull(r, i, c) ? "" : PQgetvalue(r, i, c);
	snprintf(o->last_error, sizeof(o->last_error), "%s", v);
	c++;
	if (!PQgetisnull(r, i, c) && !PQgetisnull(r, i, c + 1)) {
		o->has_block = true;
		if (get_u64(PQgetvalue(r, i, c), &o->block_number) ||
		    get_bytes(PQgetvalue(r, i, c + 1), o->block_hash, 32))
			return -1;
	}
	c += 2;
	if ((o->has_gas_used = !PQgetisnull(r, i, c)) && get_u64(PQgetvalue(r, i, c), &o->gas_used))
		return -1;
	if (!PQgetisnull(r, i, c + 1) && u256_from_dec(&o->effective_gas_price, PQgetvalue(r, i, c + 1)))
		return -1;
	c += 2;
	o->sent_at = get_time(r, i, c);
	o->last_sent_at = get_time(r, i, c + 1);
	o->confirmed_at = get_time(r, i, c + 2);
	o->updated_at = get_time(r, i, c + 3);
	return 0;
}

void chain_rows_free(struct chain_outbox_row *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++)
		free(rows[i].raw_tx);
	free(rows);
}

static int load_rows(PGconn *c, const char *what, const char *sql, struct params *p,
		     struct chain_outbox_row **rows, size_t *n, char *err, size_t errlen)
{
	PGresult *r;
	int nt;

	*rows = NULL;
	*n = 0;
	if (run(c, what, sql, p, &r, err, errlen))
		return -1;
	nt = PQntuples(r);
	if (nt > 0) {
		*rows = calloc((size_t)nt, sizeof(**rows));
		if (!*rows) {
			snprintf(err, errlen, "%s: out of memory", what);
			PQclear(r);
			return -1;
		}
	}
	for (int i = 0; i < nt; i++) {
		if (parse_row(r, i, &(*rows)[i])) {
			snprintf(err, errlen, "%s: row %d is malformed", what, i);
			chain_rows_free(*rows, (size_t)i + 1);
			*rows = NULL;
			PQclear(r);
			return -1;
		}
	}
	*n = (size_t)nt;
	PQclear(r);
	return 0;
}

int chain_store_active(PGconn *c, struct chain_outbox_row **rows, size_t *n,
		       char *err, size_t errlen)
{
	return load_rows(c, "chain outbox", "SELECT " ROW_COLS " FROM chain_outbox o "
			 "JOIN epochs e USING (epoch) WHERE o.state IN ('pending', 'sent') "
			 "ORDER BY o.epoch", NULL, rows, n, err, errlen);
}

int chain_store_list(PGconn *c, long limit, struct chain_outbox_row **rows, size_t *n,
		     struct chain_counts *counts, char *err, size_t errlen)
{
	struct params p = { 0 };
	PGresult *r;

	memset(counts, 0, sizeof(*counts));
	if (run(c, "chain outbox", "SELECT state, count(*) FROM chain_outbox GROUP BY state",
		NULL, &r, err, errlen))
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *s = PQgetvalue(r, i, 0);
		long k = strtol(PQgetvalue(r, i, 1), NULL, 10);

		if (!strcmp(s, "pending"))
			counts->pending = k;
		else if (!strcmp(s, "sent"))
			counts->sent = k;
		else if (!strcmp(s, "confirmed"))
			counts->confirmed = k;
		else if (!strcmp(s, "failed"))
			counts->failed = k;
	}
	PQclear(r);
	p_fmt(&p, "%ld", limit);
	return load_rows(c, "chain outbox", "SELECT " ROW_COLS " FROM chain_outbox o "
			 "JOIN epochs e USING (epoch) WHERE o.state <> 'confirmed' "
			 "OR o.epoch IN (SELECT epoch FROM chain_outbox WHERE state = 'confirmed' "
			 "ORDER BY epoch DESC LIMIT $1) ORDER BY o.epoch", &p, rows, n, err, errlen);
}

int chain_store_epochs_range(PGconn *c, int64_t first, int64_t last,
			     struct chain_outbox_row **rows, size_t *n, char *err, size_t errlen)
{
	struct params p = { 0 };

	p_fmt(&p, "%" PRId64, first);
	p_fmt(&p, "%" PRId64, last);
	return load_rows(c, "epochs", "SELECT " ROW_COLS " FROM epochs e "
			 "LEFT JOIN chain_outbox o USING (epoch) WHERE e.epoch BETWEEN $1 AND $2 "
			 "ORDER BY e.epoch", &p, rows, n, err, errlen);
}

int chain_store_row(PGconn *c, int64_t epoch, struct chain_outbox_row *row, bool *found,
		    char *err, size_t errlen)
{
	struct chain_outbox_row *rows;
	struct params p = { 0 };
	size_t n;

	*found = false;
	p_fmt(&p, "%" PRId64, epoch);
	if (load_rows(c, "chain outbox", "SELECT " ROW_COLS " FROM chain_outbox o "
		      "JOIN epochs e USING (epoch) WHERE o.epoch = $1", &p, &rows, &n, err, errlen))
		return -1;
	if (n == 1) {
		*row = rows[0];
		rows[0].raw_tx = NULL;
		*found = true;
	}
	chain_rows_free(rows, n);
	return 0;
}

int chain_store_epoch(PGconn *c, int64_t epoch, struct chain_epoch *e, bool *found,
		      char *err, size_t errlen)
{
	struct params p = { 0 };
	PGresult *r;

	*found = false;
	p_fmt(&p, "%" PRId64, epoch);
	if (run(c, "epochs", "SELECT " EPOCH_COLS " FROM epochs e WHERE e.epoch = $1", &p, &r,
		err, errlen))
		return -1;
	if (PQntuples(r) == 1) {
		if (parse_epoch(r, 0, e)) {
			snprintf(err, errlen, "epochs: epoch %" PRId64 ": malformed row", epoch);
			PQclear(r);
			return -1;
		}
		*found = true;
	}
	PQclear(r);
	return 0;
}

int chain_store_highest_nonce(PGconn *c, uint64_t chain_id, const struct eth_address *sender,
			      bool *any, uint64_t *nonce, char *err, size_t errlen)
{
	struct params p = { 0 };
	PGresult *r;
	int rv = 0;

	*any = false;
	*nonce = 0;
	p_fmt(&p, "%" PRIu64, chain_id);
	p_bytes(&p, sender->b, 20);
	if (run(c, "chain outbox nonce", "SELECT max(nonce) FROM chain_outbox "
		"WHERE chain_id = $1 AND sender = $2", &p, &r, err, errlen))
		return -1;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		*any = true;
		if (get_u64(PQgetvalue(r, 0, 0), nonce)) {
			snprintf(err, errlen, "chain outbox nonce: malformed");
			rv = -1;
		}
	}
	PQclear(r);
	return rv;
}

int chain_store_tx_hashes(PGconn *c, int64_t epoch, uint64_t nonce,
			  uint8_t (**hashes)[32], size_t *n, char *err, size_t errlen)
{
	struct params p = { 0 };
	PGresult *r;
	int nt;

	*hashes = NULL;
	*n = 0;
	p_fmt(&p, "%" PRId64, epoch);
	p_fmt(&p, "%" PRIu64, nonce);
	if (run(c, "chain transactions", "SELECT tx_hash FROM chain_txs WHERE epoch = $1 "
		"AND nonce = $2 AND outcome = 'in_flight' AND reason <> 'gap_fill' "
		"ORDER BY signed_at DESC", &p, &r, err, errlen))
		return -1;
	nt = PQntuples(r);
	*hashes = calloc(nt ? (size_t)nt : 1, 32);
	if (!*hashes) {
		snprintf(err, errlen, "chain transactions: out of memory");
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < nt; i++) {
		if (get_bytes(PQgetvalue(r, i, 0), (*hashes)[i], 32)) {
			snprintf(err, errlen, "chain transactions: malformed hash");
			free(*hashes);
			*hashes = NULL;
			PQclear(r);
			return -1;
		}
	}
	*n = (size_t)nt;
	PQclear(r);
	return 0;
}

int chain_store_fillers(PGconn *c, int64_t epoch, uint8_t (**hashes)[32], size_t *n,
			char *err, size_t errlen)
{
	struct params p = { 0 };
	PGresult *r;
	int nt;

	*hashes = NULL;
	*n = 0;
	p_fmt(&p, "%" PRId64, epoch);
	if (run(c, "chain transactions", "SELECT tx_hash FROM chain_txs WHERE epoch = $1 "
		"AND outcome = 'in_flight' AND reason = 'gap_fill' ORDER BY nonce", &p, &r, err, errlen))
		return -1;
	nt = PQntuples(r);
	*hashes = calloc(nt ? (size_t)nt : 1, 32);
	if (!*hashes) {
		snprintf(err, errlen, "chain transactions: out of memory");
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < nt; i++)
		if (get_bytes(PQgetvalue(r, i, 0), (*hashes)[*n], 32) == 0)
			(*n)++;
	PQclear(r);
	return 0;
}

int chain_store_last_sender(PGconn *c, struct eth_address *sender, bool *found,
			    char *err, size_t errlen)
{
	PGresult *r;

	*found = false;
	if (run(c, "chain transactions", "SELECT sender FROM chain_txs ORDER BY signed_at DESC LIMIT 1",
		NULL, &r, err, errlen))
		return -1;
	if (PQntuples(r) == 1 && !get_bytes(PQgetvalue(r, 0, 0), sender->b, 20))
		*found = true;
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------ transitions -- */

static void p_receipt(struct params *p, const struct chain_receipt_info *r)
{
	p_fmt(p, "%" PRIu64, r->block_number);
	p_bytes(p, r->block_hash, 32);
	p_fmt(p, "%" PRIu64, r->gas_used);
	p_u256(p, &r->effective_gas_price);
}

static int event(PGconn *c, int64_t epoch, const char *name, const uint8_t *tx_hash,
		 const uint64_t *nonce, const uint64_t *block, const char *detail,
		 char *err, size_t errlen)
{
	struct params p = { 0 };

	p_fmt(&p, "%" PRId64, epoch);
	p_text(&p, name);
	p_bytes(&p, tx_hash, 32);
	if (nonce)
		p_fmt(&p, "%" PRIu64, *nonce);
	else
		p_null(&p);
	if (block)
		p_fmt(&p, "%" PRIu64, *block);
	else
		p_null(&p);
	p_text(&p, detail);
	return run(c, "chain event", "INSERT INTO chain_events (epoch, event, tx_hash, nonce, "
		   "block_number, detail) VALUES ($1, $2, $3, $4, $5, $6)", &p, NULL, err, errlen);
}

/* Run an UPDATE that must touch exactly one row. */
static int update_one(PGconn *c, const char *what, const char *sql, struct params *p,
		      char *err, size_t errlen)
{
	PGresult *res;
	int rv = 0;

	if (p->oom) {
		snprintf(err, errlen, "%s: out of memory", what);
		p_free(p);
		return -1;
	}
	res = PQexecParams(c, sql, p->n, NULL, p->v, NULL, NULL, 0);
	p_free(p);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c);

		snprintf(err, errlen, "%s: %s", what, msg && *msg ? msg : "error");
		p_trim(err);
		rv = -1;
	} else if (strcmp(PQcmdTuples(res), "1")) {
		snprintf(err, errlen, "%s: the outbox row was not in the state expected", what);
		rv = -1;
	}
	PQclear(res);
	return rv;
}

int chain_store_signed(PGconn *c, int64_t epoch, const struct chain_signed_tx *tx,
		       const char *detail, char *err, size_t errlen)
{
	struct params p = { 0 };
	bool bump = !strcmp(tx->reason, "fee_bump");

	if (begin(c, err, errlen))
		return -1;
	p_bytes(&p, tx->hash, 32);
	p_fmt(&p, "%" PRId64, epoch);
	p_fmt(&p, "%" PRIu64, tx->chain_id);
	p_bytes(&p, tx->sender.b, 20);
	p_fmt(&p, "%" PRIu64, tx->nonce);
	p_bytes(&p, tx->raw, tx->raw_len);
	p_u256(&p, &tx->max_fee);
	p_u256(&p, &tx->max_tip);
	p_fmt(&p, "%" PRIu64, tx->gas_limit);
	p_text(&p, tx->reason);
	if (run(c, "chain transaction", "INSERT INTO chain_txs (tx_hash, epoch, chain_id, sender, "
		"nonce, raw_tx, max_fee, max_priority_fee, gas_limit, reason) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", &p, NULL, err, errlen))
		goto fail;
	p_fmt(&p, "%" PRId64, epoch);
	p_fmt(&p, "%" PRIu64, tx->chain_id);
	p_bytes(&p, tx->sender.b, 20);
	p_fmt(&p, "%" PRIu64, tx->nonce);
	p_bytes(&p, tx->hash, 32);
	p_bytes(&p, tx->raw, tx->raw_len);
	p_u256(&p, &tx->max_fee);
	p_u256(&p, &tx->max_tip);
	p_fmt(&p, "%" PRIu64, tx->gas_limit);
	/* A replacement keeps the nonce and is only made while sent. */
	if (update_one(c, "chain outbox", bump ?
		       "UPDATE chain_outbox SET chain_id = $2, sender = $3, nonce = $4, tx_hash = $5, "
		       "raw_tx = $6, max_fee = $7, max_priority_fee = $8, gas_limit = $9, "
		       "last_sent_at = NULL, attempts = attempts + 1, updated_at = now() "
		       "WHERE epoch = $1 AND state = 'sent' AND nonce = $4" :
		       "UPDATE chain_outbox SET state = 'sent', chain_id = $2, sender = $3, nonce = $4, "
		       "tx_hash = $5, raw_tx = $6, max_fee = $7, max_priority_fee = $8, gas_limit = $9, "
		       "last_sent_at = NULL, attempts = attempts + 1, last_error = NULL, "
		       "block_number = NULL, block_hash = NULL, gas_used = NULL, "
		       "effective_gas_price = NULL, updated_at = now() "
		       "WHERE epoch = $1 AND state = 'pending'", &p, err, errlen))
		goto fail;
	if (event(c, epoch, bump ? "fee_bump" : "signed", tx->hash, &tx->nonce, NULL, detail,
		  err, errlen) ||
	    commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int chain_store_filler(PGconn *c, int64_t epoch, const struct chain_signed_tx *tx,
		       char *err, size_t errlen)
{
	struct params p = { 0 };

	if (begin(c, err, errlen))
		return -1;
	p_bytes(&p, tx->hash, 32);
	p_fmt(&p, "%" PRId64, epoch);
	p_fmt(&p, "%" PRIu64, tx->chain_id);
	p_bytes(&p, tx->sender.b, 20);
	p_fmt(&p, "%" PRIu64, tx->nonce);
	p_bytes(&p, tx->raw, tx->raw_len);
	p_u256(&p, &tx->max_fee);
	p_u256(&p, &tx->max_tip);
	p_fmt(&p, "%" PRIu64, tx->gas_limit);
	if (run(c, "chain transaction", "INSERT INTO chain_txs (tx_hash, epoch, chain_id, sender, "
		"nonce, raw_tx, max_fee, max_priority_fee, gas_limit, reason) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'gap_fill') ON CONFLICT (tx_hash) DO NOTHING",
		&p, NULL, err, errlen) ||
	    event(c, epoch, "gap_fill", tx->hash, &tx->nonce, NULL,
		  "a transfer of 0 to ourselves fills a nonce the node had nothing at", err, errlen) ||
	    commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int chain_store_filler_broadcast(PGconn *c, const uint8_t tx_hash[32], char *err, size_t errlen)
{
	struct params p = { 0 };

	p_bytes(&p, tx_hash, 32);
	return run(c, "chain transaction", "UPDATE chain_txs SET broadcasts = broadcasts + 1, "
		   "first_sent_at = coalesce(first_sent_at, now()), last_sent_at = now() "
		   "WHERE tx_hash = $1", &p, NULL, err, errlen);
}

int chain_store_filler_outcome(PGconn *c, const uint8_t tx_hash[32],
			       const struct chain_receipt_info *r, char *err, size_t errlen)
{
	struct params p = { 0 };

	p_bytes(&p, tx_hash, 32);
	if (r) {
		p_receipt(&p, r);
		return run(c, "chain transaction", "UPDATE chain_txs SET outcome = 'mined', "
			   "block_number = $2, block_hash = $3, gas_used = $4, effective_gas_price = $5 "
			   "WHERE tx_hash = $1", &p, NULL, err, errlen);
	}
	return run(c, "chain transaction", "UPDATE chain_txs SET outcome = 'dropped' WHERE tx_hash = $1",
		   &p, NULL, err, errlen);
}

int chain_store_broadcast(PGconn *c, int64_t epoch, const uint8_t tx_hash[32], bool again,
			  char *err, size_t errlen)
{
	struct params p = { 0 };
	uint64_t *none = NULL;

	if (begin(c, err, errlen))
		return -1;
	p_bytes(&p, tx_hash, 32);
	if (run(c, "chain transaction", "UPDATE chain_txs SET broadcasts = broadcasts + 1, "
		"first_sent_at = coalesce(first_sent_at, now()), last_sent_at = now() "
		"WHERE tx_hash = $1", &p, NULL, err, errlen))
		goto fail;
	p_fmt(&p, "%" PRId64, epoch);
	p_bytes(&p, tx_hash, 32);
	if (update_one(c, "chain outbox", "UPDATE chain_outbox SET sent_at = coalesce(sent_at, now()), "
		       "last_sent_at = now(), last_error = NULL, updated_at = now() "
		       "WHERE epoch = $1 AND state = 'sent' AND tx_hash = $2", &p, err, errlen) ||
	    event(c, epoch, again ? "rebroadcast" : "broadcast", tx_hash, none, NULL, NULL,
		  err, errlen) ||
	    commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int chain_store_mined(PGconn *c, int64_t epoch, const struct chain_receipt_info *r,
		      char *err, size_t errlen)
{
	struct params p = { 0 };

	if (begin(c, err, errlen))
		return -1;
	p_bytes(&p, r->tx_hash, 32);
	p_receipt(&p, r);
	if (run(c, "chain transaction", "UPDATE chain_txs SET block_number = $2, block_hash = $3, "
		"gas_used = $4, effective_gas_price = $5 WHERE tx_hash = $1", &p, NULL, err, errlen))
		goto fail;
	p_fmt(&p, "%" PRId64, epoch);
	p_receipt(&p, r);
	if (update_one(c, "chain outbox", "UPDATE chain_outbox SET block_number = $2, block_hash = $3, "
		       "gas_used = $4, effective_gas_price = $5, updated_at = now() "
		       "WHERE epoch = $1 AND state = 'sent'", &p, err, errlen) ||
	    event(c, epoch, "mined", r->tx_hash, NULL, &r->block_number, NULL, err, errlen) ||
	    commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int chain_store_reorged(PGconn *c, int64_t epoch, const char *detail, char *err, size_t errlen)
{
	struct params p = { 0 };

	if (begin(c, err, errlen))
		return -1;
	p_fmt(&p, "%" PRId64, epoch);
	if (run(c, "chain transaction", "UPDATE chain_txs SET block_number = NULL, block_hash = NULL, "
		"gas_used = NULL, effective_gas_price = NULL WHERE epoch = $1 AND outcome = 'in_flight'",
		&p, NULL, err, errlen))
		goto fail;
	p_fmt(&p, "%" PRId64, epoch);
	if (update_one(c, "chain outbox", "UPDATE chain_outbox SET block_number = NULL, "
		       "block_hash = NULL, gas_used = NULL, effective_gas_price = NULL, "
		       "updated_at = now() WHERE epoch = $1 AND state = 'sent'", &p, err, errlen) ||
	    event(c, epoch, "reorg", NULL, NULL, NULL, detail, err, errlen) ||
	    commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int chain_store_confirmed(PGconn *c, int64_t epoch, const struct chain_receipt_info *r,
			  const char *detail, char *err, size_t errlen)
{
	struct params p = { 0 };

	if (begin(c, err, errlen))
		return -1;
	if (r) {
		p_fmt(&p, "%" PRId64, epoch);
		p_bytes(&p, r->tx_hash, 32);
		p_receipt(&p, r);
		if (run(c, "chain transaction", "UPDATE chain_txs SET outcome = CASE WHEN tx_hash = $2 "
			"THEN 'mined' ELSE 'replaced' END, "
			"block_number = CASE WHEN tx_hash = $2 THEN $3::bigint END, "
			"block_hash = CASE WHEN tx_hash = $2 THEN $4::bytea END, "
			"gas_used = CASE WHEN tx_hash = $2 THEN $5::bigint END, "
			"effective_gas_price = CASE WHEN tx_hash = $2 THEN $6::numeric END "
			"WHERE epoch = $1 AND outcome = 'in_flight' AND reason <> 'gap_fill'",
			&p, NULL, err, errlen))
			goto fail;
		p_fmt(&p, "%" PRId64, epoch);
		p_bytes(&p, r->tx_hash, 32);
		p_receipt(&p, r);
		if (update_one(c, "chain outbox", "UPDATE chain_outbox SET state = 'confirmed', "
			       "tx_hash = $2, block_number = $3, block_hash = $4, gas_used = $5, "
			       "effective_gas_price = $6, last_error = NULL, confirmed_at = now(), "
			       "updated_at = now() WHERE epoch = $1 AND state = 'sent'", &p, err, errlen) ||
		    event(c, epoch, "confirmed", r->tx_hash, NULL, &r->block_number, detail, err, errlen))
			goto fail;
	} else {
		p_fmt(&p, "%" PRId64, epoch);
		if (run(c, "chain transaction", "UPDATE chain_txs SET outcome = 'dropped' "
			"WHERE epoch = $1 AND outcome = 'in_flight' AND reason <> 'gap_fill'",
			&p, NULL, err, errlen))
			goto fail;
		p_fmt(&p, "%" PRId64, epoch);
		p_text(&p, detail);
		if (update_one(c, "chain outbox", "UPDATE chain_outbox SET state = 'confirmed', "
			       "last_error = $2, confirmed_at = now(), updated_at = now() "
			       "WHERE epoch = $1 AND state IN ('pending', 'sent')", &p, err, errlen) ||
		    event(c, epoch, "already_committed", NULL, NULL, NULL, detail, err, errlen))
			goto fail;
	}
	if (commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int chain_store_failed(PGconn *c, int64_t epoch, const uint8_t *reverted_tx,
		       const char *error, char *err, size_t errlen)
{
	struct params p = { 0 };

	if (begin(c, err, errlen))
		return -1;
	p_fmt(&p, "%" PRId64, epoch);
	p_bytes(&p, reverted_tx, 32);
	if (run(c, "chain transaction", "UPDATE chain_txs SET outcome = CASE WHEN tx_hash = $2 "
		"THEN 'reverted' ELSE 'dropped' END WHERE epoch = $1 AND outcome = 'in_flight' "
		"AND reason <> 'gap_fill'", &p, NULL, err, errlen))
		goto fail;
	p_fmt(&p, "%" PRId64, epoch);
	p_text(&p, error);
	if (update_one(c, "chain outbox", "UPDATE chain_outbox SET state = 'failed', last_error = $2, "
		       "updated_at = now() WHERE epoch = $1 AND state IN ('pending', 'sent')",
		       &p, err, errlen) ||
	    event(c, epoch, "failed", reverted_tx, NULL, NULL, error, err, errlen) ||
	    commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int chain_store_requeue(PGconn *c, int64_t epoch, const char *event_name,
			const uint8_t *reverted_tx, const char *detail,
			char *err, size_t errlen)
{
	struct params p = { 0 };

	if (begin(c, err, errlen))
		return -1;
	p_fmt(&p, "%" PRId64, epoch);
	p_bytes(&p, reverted_tx, 32);
	if (run(c, "chain transaction", "UPDATE chain_txs SET outcome = CASE WHEN tx_hash = $2 "
		"THEN 'reverted' ELSE 'dropped' END WHERE epoch = $1 AND outcome = 'in_flight' "
		"AND reason <> 'gap_fill'", &p, NULL, err, errlen))
		goto fail;
	p_fmt(&p, "%" PRId64, epoch);
	p_text(&p, detail);
	if (update_one(c, "chain outbox", "UPDATE chain_outbox SET state = 'pending', nonce = NULL, "
		       "tx_hash = NULL, raw_tx = NULL, block_number = NULL, block_hash = NULL, "
		       "gas_used = NULL, effective_gas_price = NULL, last_sent_at = NULL, "
		       "last_error = $2, updated_at = now() WHERE epoch = $1 AND state = 'sent'",
		       &p, err, errlen) ||
	    event(c, epoch, event_name, reverted_tx, NULL, NULL, detail, err, errlen) ||
	    commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int chain_store_note_error(PGconn *c, int64_t epoch, const char *error,
			   char *err, size_t errlen)
{
	struct params p = { 0 };
	PGresult *r;
	bool changed;

	if (begin(c, err, errlen))
		return -1;
	p_fmt(&p, "%" PRId64, epoch);
	p_text(&p, error);
	if (run(c, "chain outbox", "UPDATE chain_outbox SET last_error = $2, updated_at = now() "
		"WHERE epoch = $1 AND last_error IS DISTINCT FROM $2 RETURNING epoch",
		&p, &r, err, errlen))
		goto fail;
	changed = PQntuples(r) > 0;
	PQclear(r);
	if ((changed && error && event(c, epoch, "error", NULL, NULL, NULL, error, err, errlen)) ||
	    commit(c, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

/* ------------------------------------------------------- recompute -- */

static void problem(struct chain_recomputed *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct chain_recomputed *out, const char *fmt, ...)
{
	va_list ap;

	if (out->problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(out->problem, sizeof(out->problem), fmt, ap);
	va_end(ap);
}

/* One row of epoch_records into a leaf hash. */
static void record_leaf(PGresult *r, int64_t epoch, size_t i, uint8_t leaf[32],
			struct chain_recomputed *out)
{
	struct contribution_leaf l = { 0 };
	uint8_t site_id[32];
	int64_t idx, score = 0;

	l.epoch = (uint64_t)epoch;
	if (get_i64(PQgetvalue(r, 0, 0), &idx) || idx < 0 || idx > UINT32_MAX) {
		problem(out, "row %zu: idx '%s' is out of range", i, PQgetvalue(r, 0, 0));
		idx = 0;
	} else if ((uint64_t)idx != i) {
		problem(out, "idx %" PRId64 " where %zu was expected (the indices must run 0..n-1)", idx, i);
	}
	l.index = (uint32_t)idx;
	if (get_bytes(PQgetvalue(r, 0, 2), l.site_id, 32))
		problem(out, "idx %zu: malformed site_id", i);
	abi_site_id(PQgetvalue(r, 0, 1), site_id);
	if (memcmp(site_id, l.site_id, 32))
		problem(out, "idx %zu: site_id is not keccak256('%.64s')", i, PQgetvalue(r, 0, 1));
	if (get_bytes(PQgetvalue(r, 0, 3), l.payee.b, 20))
		problem(out, "idx %zu: malformed payee", i);
	if (u256_from_dec(&l.cpu_seconds, PQgetvalue(r, 0, 4)) ||
	    u256_from_dec(&l.gpu_seconds, PQgetvalue(r, 0, 5)))
		problem(out, "idx %zu: malformed cpu or gpu seconds", i);
	if (get_i64(PQgetvalue(r, 0, 6), &score) || score < 0)
		problem(out, "idx %zu: malformed score", i);
	l.score = (uint64_t)score;
	if (u256_add(&out->cpu_seconds, &out->cpu_seconds, &l.cpu_seconds) ||
	    u256_add(&out->gpu_seconds, &out->gpu_seconds, &l.gpu_seconds))
		problem(out, "idx %zu: the totals overflow", i);
	if (contribution_leaf_hash(&l, leaf))
		problem(out, "idx %zu: cpu or gpu seconds above 2^128 - 1", i);
}

int chain_store_recompute(PGconn *c, int64_t epoch, struct chain_recomputed *out,
			  char *err, size_t errlen)
{
	static const char sql[] = "SELECT idx, site, site_id, payee, cpu_seconds, gpu_seconds, score "
				  "FROM epoch_records WHERE epoch = $1 ORDER BY idx";
	char ep[24];
	const char *params[1] = { ep };
	uint8_t (*leaves)[32] = NULL;
	size_t cap = 0;
	struct merkle_tree tree = { 0 };
	PGresult *r;
	int rv = -1;
	bool failed = false;

	memset(out, 0, sizeof(*out));
	snprintf(ep, sizeof(ep), "%" PRId64, epoch);
	/* Row by row: a million records need not sit in one PGresult. */
	if (!PQsendQueryParams(c, sql, 1, NULL, params, NULL, NULL, 0) || !PQsetSingleRowMode(c)) {
		snprintf(err, errlen, "epoch_records: %s", PQerrorMessage(c));
		p_trim(err);
		while ((r = PQgetResult(c)))
			PQclear(r);
		return -1;
	}
	while ((r = PQgetResult(c))) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_SINGLE_TUPLE && !failed) {
			if (out->rows == cap) {
				size_t ncap = cap ? cap * 2 : 1024;
				void *grown = realloc(leaves, ncap * 32);

				if (!grown) {
					snprintf(err, errlen, "epoch_records: out of memory");
					failed = true;
				} else {
					leaves = grown;
					cap = ncap;
				}
			}
			if (!failed)
				record_leaf(r, epoch, out->rows, leaves[out->rows], out);
			out->rows++;
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && !failed) {
			snprintf(err, errlen, "epoch_records: %s", PQresultErrorMessage(r));
			p_trim(err);
			failed = true;
		}
		PQclear(r);
	}
	if (failed)
		goto out;
	if (merkle_build(&tree, (const uint8_t (*)[32])leaves, out->rows)) {
		snprintf(err, errlen, "epoch_records: out of memory for %zu leaves", out->rows);
		goto out;
	}
	merkle_root(&tree, out->root);
	rv = 0;
out:
	merkle_free(&tree);
	free(leaves);
	return rv;
}
