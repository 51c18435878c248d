/*
 * store.c - see store.h.  Parameterized statements only; the writer's are
 * prepared once per connection and sent in one pipeline per transaction,
 * so that a group commit of hundreds of reports costs one round trip.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "log.h"
#include "store.h"

#define MAX_PARAMS 16

/* The writer's statements.  All but contributions take one array per
 * column and insert every row of the transaction at once; lists inside a
 * row (a layout, a replica's nodes) travel joined by '|' or ','. */
static const struct {
	const char *name;
	const char *sql;
} stmts[STMT_COUNT] = {
	[STMT_SITE] = { "q_sites",
		"INSERT INTO sites (name) SELECT DISTINCT n FROM unnest($1::text[]) AS u(n)"
		" ON CONFLICT DO NOTHING" },
	[STMT_STEP] = { "q_steps",
		"INSERT INTO steps (cluster, job_id, step_id, replicas, quorum, parts, mode,"
		" tolerance, owner_uid, layout, first_report_at, last_report_at, settled)"
		" SELECT c, j, s, n, k, p, m, t, o, string_to_array(l, '|'), to_timestamp(f),"
		" to_timestamp(la), st FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int4[],"
		" $5::int4[], $6::int4[], $7::text[], $8::float8[], $9::int8[], $10::text[],"
		" $11::float8[], $12::float8[], $13::bool[]) AS u(c, j, s, n, k, p, m, t, o, l, f, la, st)"
		" ON CONFLICT (cluster, job_id, step_id) DO UPDATE SET"
		" last_report_at = EXCLUDED.last_report_at, settled = EXCLUDED.settled" },
	[STMT_NODE] = { "q_nodes",
		"INSERT INTO nodes (cluster, name, site, agree, disagree, missing, verdicts,"
		" score, state, quarantined_until, updated_at, last_verdict, last_verdict_at,"
		" admin_hold)"
		" SELECT c, n, si, a, d, mi, v, sc, st, to_timestamp(q), to_timestamp(up), lv,"
		" to_timestamp(lva), ah FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[],"
		" $5::float8[], $6::float8[], $7::int8[], $8::float8[], $9::text[], $10::float8[],"
		" $11::float8[], $12::text[], $13::float8[], $14::bool[])"
		" AS u(c, n, si, a, d, mi, v, sc, st, q, up, lv, lva, ah)"
		" ON CONFLICT (cluster, name) DO UPDATE SET site = EXCLUDED.site,"
		" agree = EXCLUDED.agree, disagree = EXCLUDED.disagree,"
		" missing = EXCLUDED.missing, verdicts = EXCLUDED.verdicts,"
		" score = EXCLUDED.score, state = EXCLUDED.state,"
		" quarantined_until = EXCLUDED.quarantined_until,"
		" updated_at = EXCLUDED.updated_at, last_verdict = EXCLUDED.last_verdict,"
		" last_verdict_at = EXCLUDED.last_verdict_at, admin_hold = EXCLUDED.admin_hold" },
	[STMT_RESULT] = { "q_results",
		"INSERT INTO replica_results (cluster, job_id, step_id, replica, part, node,"
		" sha256, exit_status, runtime, output, output_size, reporter_uid, reported_at)"
		" SELECT c, j, s, r, p, n, h, e, rt, o, os, ru, to_timestamp(t)"
		" FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int4[], $5::int4[],"
		" $6::text[], $7::bytea[], $8::int4[], $9::float8[], $10::bytea[], $11::int8[],"
		" $12::int8[], $13::float8[]) AS u(c, j, s, r, p, n, h, e, rt, o, os, ru, t)"
		" ON CONFLICT DO NOTHING" },
	[STMT_OUTCOME] = { "q_outcomes",
		"INSERT INTO replica_outcomes (cluster, job_id, step_id, replica, outcome,"
		" nodes, decided_at) SELECT c, j, s, r, o, string_to_array(n, ','), to_timestamp(t)"
		" FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int4[], $5::text[],"
		" $6::text[], $7::float8[]) AS u(c, j, s, r, o, n, t) ON CONFLICT DO NOTHING" },
	[STMT_VERDICT] = { "q_verdicts",
		"INSERT INTO verdicts (cluster, job_id, step_id, verdict, canonical_replica,"
		" canonical_digest, agree, disagree, missing, reason, decided_at, updated_at)"
		" SELECT c, j, s, v, cr, cd, a, d, m, r, to_timestamp(da), to_timestamp(ua)"
		" FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int4[],"
		" $6::bytea[], $7::int4[], $8::int4[], $9::int4[], $10::text[], $11::float8[],"
		" $12::float8[]) AS u(c, j, s, v, cr, cd, a, d, m, r, da, ua)"
		" ON CONFLICT (cluster, job_id, step_id) DO UPDATE SET"
		" agree = EXCLUDED.agree, disagree = EXCLUDED.disagree,"
		" missing = EXCLUDED.missing, reason = EXCLUDED.reason,"
		" updated_at = EXCLUDED.updated_at" },
	[STMT_EVENT] = { "q_events",
		"INSERT INTO reputation_events (cluster, node, at, kind, reason, job_id,"
		" step_id, replica, score_before, score_after, state_before, state_after,"
		" agree, disagree, missing, admin_uid) SELECT c, n, to_timestamp(t), k, r, j, s, re,"
		" sb, sa, stb, sta, a, d, m, au FROM unnest($1::text[], $2::text[], $3::float8[],"
		" $4::text[], $5::text[], $6::int8[], $7::int8[], $8::int4[], $9::float8[],"
		" $10::float8[], $11::text[], $12::text[], $13::float8[], $14::float8[],"
		" $15::float8[], $16::int8[])"
		" WITH ORDINALITY AS u(c, n, t, k, r, j, s, re, sb, sa, stb, sta, a, d, m, au, ord)"
		" ORDER BY ord" },
	[STMT_CONTRIBUTION] = { "q_contribution",
		"INSERT INTO contributions (cluster, job_id, step_id, rank, node,"
		" compute_seconds, samples, gradients_accepted, gradients_rejected,"
		" reporter_uid, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
		" $10, to_timestamp($11::float8)) ON CONFLICT DO NOTHING RETURNING 1" },
};

static void set_err(char *err, size_t errlen, const char *what, PGconn *conn)
{
	const char *msg = conn ? PQerrorMessage(conn) : "";
	size_t n;

	snprintf(err, errlen, "%s: %s", what, msg && *msg ? msg : "error");
	n = strlen(err);
	while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

static void result_err(char *err, size_t errlen, const char *what, PGresult *res)
{
	const char *msg = PQresultErrorMessage(res);
	size_t n;

	snprintf(err, errlen, "%s: %s", what, msg && *msg ? msg : PQresStatus(PQresultStatus(res)));
	n = strlen(err);
	while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

/* Run a statement that returns nothing; 0 or -1 with err. */
static int exec_simple(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	int rv = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_err(err, errlen, sql, res);
		rv = -1;
	}
	PQclear(res);
	return rv;
}

PGconn *store_connect(const char *conninfo, bool prepare, char *err, size_t errlen)
{
	PGconn *conn = PQconnectdb(conninfo);

	if (!conn) {
		snprintf(err, errlen, "PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		set_err(err, errlen, "PostgreSQL connection failed", conn);
		PQfinish(conn);
		return NULL;
	}
	/* UTC everywhere; a statement never waits on a lock for ever. */
	if (exec_simple(conn, "SET TIME ZONE 'UTC'", err, errlen) ||
	    exec_simple(conn, "SET lock_timeout = '10s'", err, errlen) ||
	    exec_simple(conn, "SET statement_timeout = '60s'", err, errlen)) {
		PQfinish(conn);
		return NULL;
	}
	/* Plan the prepared statements once: a custom plan per execution
	 * would cost more than executing them. */
	if (exec_simple(conn, "SET plan_cache_mode = force_generic_plan", err, errlen)) {
		PQfinish(conn);
		return NULL;
	}
	if (prepare && store_prepare(conn, err, errlen)) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static int prepare_loads(PGconn *conn, char *err, size_t errlen);

/* Columns (parameters) of each statement. */
static const int ncols[STMT_COUNT] = {
	[STMT_SITE] = 1, [STMT_STEP] = 13, [STMT_NODE] = 14, [STMT_RESULT] = 13,
	[STMT_OUTCOME] = 7, [STMT_VERDICT] = 12, [STMT_EVENT] = 16, [STMT_CONTRIBUTION] = 11,
};

/* The multi-row statements as one: WITH a AS (INSERT ...), b AS (INSERT
 * ...) SELECT 1, their parameters renumbered one after the other.  One
 * statement per transaction costs PostgreSQL far less than seven. */
static char *batch_sql(void)
{
	size_t cap = 64, len = 0;
	char *sql;
	int offset = 0;

	for (int s = 0; s < STMT_COUNT; s++)
		cap += strlen(stmts[s].sql) * 2 + 32;
	sql = malloc(cap);
	if (!sql)
		return NULL;
	/* SQL-CONSTANT: only the constant stmts[].sql, their placeholders
	 * renumbered, go into this text; values stay parameters. */
	len += (size_t)snprintf(sql + len, cap - len, "WITH ");
	for (int s = 0; s < STMT_COUNT; s++) {
		const char *p = stmts[s].sql;

		if (s == STMT_CONTRIBUTION)
			continue;
		len += (size_t)snprintf(sql + len, cap - len, "%st%d AS (", s ? ", " : "", s);
		while (*p) {
			if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
				char *end;
				long n = strtol(p + 1, &end, 10);

				len += (size_t)snprintf(sql + len, cap - len, "$%ld", n + offset);
				p = end;
			} else {
				sql[len++] = *p++;
			}
		}
		sql[len++] = ')';
		offset += ncols[s];
	}
	snprintf(sql + len, cap - len, " SELECT 1");
	return sql;
}

static int prepare_one(PGconn *conn, const char *name, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQprepare(conn, name, sql, 0, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		result_err(err, errlen, name, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

int store_prepare(PGconn *conn, char *err, size_t errlen)
{
	char *sql = batch_sql();
	int rc;

	if (!sql) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = prepare_loads(conn, err, errlen) ||
	     prepare_one(conn, "q_batch", sql, err, errlen) ||
	     prepare_one(conn, stmts[STMT_CONTRIBUTION].name, stmts[STMT_CONTRIBUTION].sql, err, errlen);
	free(sql);
	return rc ? -1 : 0;
}

int store_migrate(PGconn *conn, int *applied, char *err, size_t errlen)
{
	*applied = 0;
	if (exec_simple(conn, "BEGIN", err, errlen))
		return -1;
	/* One quorated at a time migrates (an arbitrary, fixed lock key). */
	if (exec_simple(conn, "SELECT pg_advisory_xact_lock(7151823)", err, errlen) ||
	    exec_simple(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			"version integer PRIMARY KEY, name text NOT NULL,"
			" applied_at timestamptz NOT NULL DEFAULT now())", err, errlen))
		goto fail;
	for (const struct schema_migration *m = schema_migrations; m->name; m++) {
		char version[16];
		const char *params[2] = { version, m->name };
		PGresult *res;
		bool done;

		snprintf(version, sizeof(version), "%d", m->version);
		res = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE version = $1",
				   1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			result_err(err, errlen, "schema_migrations", res);
			PQclear(res);
			goto fail;
		}
		done = PQntuples(res) > 0;
		PQclear(res);
		if (done)
			continue;
		res = PQexec(conn, m->sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
			char what[96];

			snprintf(what, sizeof(what), "migration %s", m->name);
			result_err(err, errlen, what, res);
			PQclear(res);
			goto fail;
		}
		PQclear(res);
		res = PQexecParams(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
				   2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			result_err(err, errlen, "schema_migrations", res);
			PQclear(res);
			goto fail;
		}
		PQclear(res);
		(*applied)++;
	}
	return exec_simple(conn, "COMMIT", err, errlen);
fail:
	{
		char ignore[64];

		(void)exec_simple(conn, "ROLLBACK", ignore, sizeof(ignore));
	}
	*applied = 0;
	return -1;
}

/* ---------------------------------------------------------- writer tx -- */

/* Most rows of a transaction go into one INSERT ... SELECT FROM unnest()
 * per table, each column passed as one array literal: a group commit of a
 * few hundred reports is a handful of statements, not thousands. */

struct strbuf {
	char *p;
	size_t len, cap;
	size_t count;		/* elements in the array literal */
};

#define MAX_COLS 16

struct table_rows {
	struct strbuf col[MAX_COLS];
	size_t nrows;
};

struct store_op {
	struct store_tx *tx;
	enum store_stmt stmt;
	int col;
	/* single-row statements (contributions) */
	int n;
	char *val[MAX_PARAMS];
	int len[MAX_PARAMS];
	int fmt[MAX_PARAMS];
	int *rows;
};

struct store_tx {
	struct table_rows t[STMT_COUNT];
	struct store_op cur;		/* the multi-row row being added */
	struct store_op *single;
	size_t nsingle, cap_single;
	bool oom;
};

static bool is_multi(enum store_stmt s)
{
	return s != STMT_CONTRIBUTION;
}

static void sb_grow(struct store_tx *tx, struct strbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (tx->oom || b->len + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		tx->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_put(struct store_tx *tx, struct strbuf *b, const char *s, size_t n)
{
	sb_grow(tx, b, n);
	if (tx->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* One element of an array literal: NULL, or a quoted, escaped string. */
static void sb_elem(struct store_tx *tx, struct strbuf *b, const char *s, size_t n)
{
	sb_put(tx, b, b->count ? "," : "{", 1);
	b->count++;
	if (!s) {
		sb_put(tx, b, "NULL", 4);
		return;
	}
	sb_grow(tx, b, 2 * n + 2);
	if (tx->oom)
		return;
	b->p[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			b->p[b->len++] = '\\';
		b->p[b->len++] = s[i];
	}
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

struct store_tx *store_tx_new(void)
{
	return calloc(1, sizeof(struct store_tx));
}

void store_tx_reset(struct store_tx *tx)
{
	for (int s = 0; s < STMT_COUNT; s++) {
		for (int c = 0; c < MAX_COLS; c++) {
			tx->t[s].col[c].len = 0;
			tx->t[s].col[c].count = 0;
			if (tx->t[s].col[c].p)
				tx->t[s].col[c].p[0] = '\0';
		}
		tx->t[s].nrows = 0;
	}
	for (size_t i = 0; i < tx->nsingle; i++)
		for (int p = 0; p < tx->single[i].n; p++)
			free(tx->single[i].val[p]);
	tx->nsingle = 0;
	tx->oom = false;
}

void store_tx_free(struct store_tx *tx)
{
	if (!tx)
		return;
	store_tx_reset(tx);
	for (int s = 0; s < STMT_COUNT; s++)
		for (int c = 0; c < MAX_COLS; c++)
			free(tx->t[s].col[c].p);
	free(tx->single);
	free(tx);
}

size_t store_tx_count(const struct store_tx *tx)
{
	size_t n = tx->nsingle;

	for (int s = 0; s < STMT_COUNT; s++)
		n += tx->t[s].nrows;
	return n;
}

struct store_op *store_tx_add(struct store_tx *tx, enum store_stmt stmt)
{
	struct store_op *op;

	if (is_multi(stmt)) {
		tx->t[stmt].nrows++;
		memset(&tx->cur, 0, sizeof(tx->cur));
		tx->cur.tx = tx;
		tx->cur.stmt = stmt;
		return &tx->cur;
	}
	if (tx->nsingle == tx->cap_single) {
		size_t cap = tx->cap_single ? tx->cap_single * 2 : 64;
		struct store_op *v = realloc(tx->single, cap * sizeof(*v));

		if (!v) {
			tx->oom = true;
			memset(&tx->cur, 0, sizeof(tx->cur));
			tx->cur.tx = tx;
			tx->cur.stmt = STMT_SITE;
			tx->cur.col = MAX_COLS;	/* every value is dropped */
			return &tx->cur;
		}
		tx->single = v;
		tx->cap_single = cap;
	}
	op = &tx->single[tx->nsingle++];
	memset(op, 0, sizeof(*op));
	op->tx = tx;
	op->stmt = stmt;
	return op;
}

/* Add a value (text form; NULL for SQL NULL) to the op's row. */
static void op_value(struct store_op *op, const char *s, size_t n)
{
	struct store_tx *tx = op->tx;

	if (is_multi(op->stmt)) {
		if (op->col >= ncols[op->stmt]) {
			if (op->col < MAX_COLS)
				tx->oom = true;	/* a row wider than its table: refuse the tx */
			op->col++;
			return;
		}
		sb_elem(tx, &tx->t[op->stmt].col[op->col++], s, n);
		return;
	}
	if (op->n >= MAX_PARAMS) {
		tx->oom = true;
		return;
	}
	op->val[op->n] = s ? strndup(s, n) : NULL;
	if (s && !op->val[op->n])
		tx->oom = true;
	op->len[op->n] = 0;
	op->fmt[op->n] = 0;
	op->n++;
}

void op_text(struct store_op *op, const char *s)
{
	op_value(op, s, s ? strlen(s) : 0);
}

void op_int(struct store_op *op, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	op_value(op, p, (size_t)(buf + sizeof(buf) - p));
}

/* Doubles go to the database with six decimals (times, seconds, scores,
 * decayed counts: a millionth is plenty), formatted with integer
 * arithmetic: printf's "%g" costs more than the rest of a row. */
void op_double(struct store_op *op, double v)
{
	char buf[48], *p = buf + sizeof(buf);
	bool neg = v < 0;
	uint64_t whole, frac;
	double a;

	if (!isfinite(v))
		v = 0;
	a = fabs(v);
	if (a >= 1e15) {	/* out of the fast path's range */
		op_value(op, buf, (size_t)snprintf(buf, sizeof(buf), "%.17g", v));
		return;
	}
	whole = (uint64_t)a;
	frac = (uint64_t)llround((a - (double)whole) * 1e6);
	if (frac >= 1000000) {
		whole++;
		frac -= 1000000;
	}
	for (int i = 0; i < 6; i++) {
		*--p = (char)('0' + frac % 10);
		frac /= 10;
	}
	*--p = '.';
	do {
		*--p = (char)('0' + whole % 10);
		whole /= 10;
	} while (whole);
	if (neg)
		*--p = '-';
	op_value(op, p, (size_t)(buf + sizeof(buf) - p));
}

void op_bool(struct store_op *op, bool v)
{
	op_value(op, v ? "t" : "f", 1);
}

/* bytea in its hex text form, \x... */
void op_bytes(struct store_op *op, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;
	char *s;

	if (!p) {
		op_value(op, NULL, 0);
		return;
	}
	s = malloc(2 * n + 3);
	if (!s) {
		op->tx->oom = true;
		op->col++;
		return;
	}
	s[0] = '\\';
	s[1] = 'x';
	for (size_t i = 0; i < n; i++) {
		s[2 + 2 * i] = hex[b[i] >> 4];
		s[3 + 2 * i] = hex[b[i] & 15];
	}
	s[2 + 2 * n] = '\0';
	op_value(op, s, 2 + 2 * n);
	free(s);
}

void op_list(struct store_op *op, char *const *items, size_t n, char sep)
{
	size_t len = 0;
	char *s, *p;

	if (!items) {
		op_value(op, NULL, 0);
		return;
	}
	for (size_t i = 0; i < n; i++)
		len += strlen(items[i] ? items[i] : "") + 1;
	s = malloc(len + 1);
	if (!s) {
		op->tx->oom = true;
		op->col++;
		return;
	}
	p = s;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(items[i] ? items[i] : "");

		if (i)
			*p++ = sep;
		memcpy(p, items[i] ? items[i] : "", l);
		p += l;
	}
	*p = '\0';
	op_value(op, s, (size_t)(p - s));
	free(s);
}

void op_rows(struct store_op *op, int *rows)
{
	op->rows = rows;
}

/* Every column of a table got one value per row. */
static bool tx_consistent(struct store_tx *tx, char *err, size_t errlen)
{
	if (tx->oom) {
		snprintf(err, errlen, "out of memory building the transaction");
		return false;
	}
	for (int s = 0; s < STMT_COUNT; s++) {
		if (!is_multi((enum store_stmt)s) || !tx->t[s].nrows)
			continue;
		for (int c = 0; c < ncols[s]; c++) {
			if (tx->t[s].col[c].count != tx->t[s].nrows) {
				snprintf(err, errlen, "internal: %s column %d has %zu values for %zu rows",
					 stmts[s].name, c, tx->t[s].col[c].count, tx->t[s].nrows);
				return false;
			}
		}
	}
	for (size_t i = 0; i < tx->nsingle; i++) {
		if (tx->single[i].n != ncols[tx->single[i].stmt]) {
			snprintf(err, errlen, "internal: %s has %d values", stmts[tx->single[i].stmt].name,
				 tx->single[i].n);
			return false;
		}
	}
	return true;
}

enum store_rc store_tx_commit(PGconn *conn, struct store_tx *tx,
			      char *err, size_t errlen)
{
	struct store_op *rows_of[STMT_COUNT + 2 + 4096];
	size_t sent = 0, got, nsingle_sent = 0;
	bool failed = false, transient = false;
	PGresult *res;

	err[0] = '\0';
	if (!tx_consistent(tx, err, errlen))
		return STORE_SQL_ERROR;
	if (tx->nsingle > 4096) {
		snprintf(err, errlen, "internal: %zu single statements in one transaction", tx->nsingle);
		return STORE_SQL_ERROR;
	}
	if (!PQenterPipelineMode(conn)) {
		set_err(err, errlen, "pipeline", conn);
		return PQstatus(conn) == CONNECTION_OK ? STORE_SQL_ERROR : STORE_CONN_LOST;
	}
	if (!PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
		goto lost;
	rows_of[sent++] = NULL;
	/* Every multi-row table in one statement (empty arrays for the others),
	 * then the single-row statements. */
	{
		const char *params[STMT_COUNT * MAX_COLS];
		int np = 0;
		bool any = false;

		for (int s = 0; s < STMT_COUNT; s++) {
			if (!is_multi((enum store_stmt)s))
				continue;
			for (int c = 0; c < ncols[s]; c++) {
				if (tx->t[s].nrows) {
					sb_put(tx, &tx->t[s].col[c], "}", 1);
					params[np++] = tx->t[s].col[c].p;
				} else {
					params[np++] = "{}";
				}
			}
			any |= tx->t[s].nrows > 0;
		}
		if (tx->oom) {
			snprintf(err, errlen, "out of memory building the transaction");
			goto lost;
		}
		if (any) {
			if (!PQsendQueryPrepared(conn, "q_batch", np, params, NULL, NULL, 0))
				goto lost;
			rows_of[sent++] = NULL;
		}
	}
	for (size_t i = 0; i < tx->nsingle; i++) {
		struct store_op *op = &tx->single[i];

		if (!PQsendQueryPrepared(conn, stmts[op->stmt].name, op->n,
					 (const char *const *)op->val, op->len, op->fmt, 0))
			goto lost;
		rows_of[sent++] = op;
		nsingle_sent++;
	}
	if (!PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQpipelineSync(conn))
		goto lost;
	rows_of[sent++] = NULL;

	/* One result (then NULL) per command, then the sync. */
	for (got = 0; got < sent; got++) {
		ExecStatusType st;

		res = PQgetResult(conn);
		if (!res)
			goto lost;
		st = PQresultStatus(res);
		if (st == PGRES_FATAL_ERROR) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			if (!failed) {
				result_err(err, errlen, got == 0 ? "BEGIN" : got == sent - 1 ? "COMMIT" :
					   "transaction", res);
				/* Serialization, resources, lock and cancel classes may pass. */
				transient = state && (!strncmp(state, "40", 2) || !strncmp(state, "53", 2) ||
						      !strncmp(state, "57", 2) || !strcmp(state, "55P03"));
			}
			failed = true;
		} else if (st == PGRES_PIPELINE_ABORTED) {
			failed = true;
		} else if (st == PGRES_TUPLES_OK) {
			if (rows_of[got] && rows_of[got]->rows)
				*rows_of[got]->rows = PQntuples(res);
		} else if (st == PGRES_COMMAND_OK) {
			if (got == sent - 1 && strcmp(PQcmdStatus(res), "COMMIT") && !failed) {
				failed = true;	/* COMMIT answered ROLLBACK */
				snprintf(err, errlen, "COMMIT: transaction rolled back");
			}
		} else if (!failed) {
			failed = true;
			result_err(err, errlen, "pipeline", res);
		}
		PQclear(res);
		res = PQgetResult(conn);	/* the NULL that ends each command */
		if (res) {
			PQclear(res);
			goto lost;
		}
	}
	(void)nsingle_sent;
	res = PQgetResult(conn);
	if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		PQclear(res);
		goto lost;
	}
	PQclear(res);
	if (!PQexitPipelineMode(conn))
		goto lost;
	if (failed) {
		char ignore[128];
		enum store_rc rc = transient ? STORE_SQL_TRANSIENT : STORE_SQL_ERROR;

		if (PQtransactionStatus(conn) != PQTRANS_IDLE)
			(void)exec_simple(conn, "ROLLBACK", ignore, sizeof(ignore));
		if (PQstatus(conn) != CONNECTION_OK)
			rc = STORE_CONN_LOST;
		return rc;
	}
	return STORE_OK;
lost:
	if (!err[0])
		set_err(err, errlen, "PostgreSQL", conn);
	/* Whatever state the pipeline is in, this connection is done for. */
	return STORE_CONN_LOST;
}

/* -------------------------------------------------------------- loads -- */

static double get_double(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtod(PQgetvalue(res, row, col), NULL);
}

static long long get_ll(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void get_str(PGresult *res, int row, int col, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

/* Parse a text[] value {a,b,"c d"} into n strings (names: no escapes). */
static char **parse_text_array(const char *s, int n)
{
	char **out;
	int i = 0;

	if (!s || *s != '{')
		return NULL;
	out = calloc((size_t)n, sizeof(char *));
	if (!out)
		return NULL;
	s++;
	while (*s && *s != '}' && i < n) {
		const char *start;
		bool quoted = *s == '"';

		if (quoted)
			s++;
		start = s;
		while (*s && (quoted ? *s != '"' : (*s != ',' && *s != '}')))
			s++;
		out[i] = strndup(start, (size_t)(s - start));
		if (!out[i])
			break;
		i++;
		if (quoted && *s == '"')
			s++;
		if (*s == ',')
			s++;
	}
	if (i != n) {
		for (int j = 0; j < i; j++)
			free(out[j]);
		free(out);
		return NULL;
	}
	return out;
}

static void free_stored_step(struct stored_step *s)
{
	if (s->layout) {
		for (int i = 0; i < s->replicas; i++)
			free(s->layout[i]);
		free(s->layout);
	}
	for (size_t i = 0; i < s->nparts; i++)
		free(s->part[i].output);
	free(s->part);
	memset(s, 0, sizeof(*s));
}

static int cmp_key(const struct stored_step *s, const char *cluster, int64_t job, int64_t step)
{
	int c = strcmp(s->cluster, cluster);

	if (c)
		return c;
	if (s->job != job)
		return s->job < job ? -1 : 1;
	if (s->step != step)
		return s->step < step ? -1 : 1;
	return 0;
}

static struct stored_step *find_step(struct stored_step *v, size_t n, const char *cluster,
				     int64_t job, int64_t step)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_key(&v[mid], cluster, job, step);

		if (!c)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Build the three parameter arrays of the keys. */
static int key_arrays(const struct step_key *keys, size_t n, char **c, char **j, char **s)
{
	size_t clen = 3, nlen = 3;
	char *pc, *pj, *ps;

	for (size_t i = 0; i < n; i++)
		clen += strlen(keys[i].cluster) + 3;
	nlen += n * 22;
	*c = malloc(clen);
	*j = malloc(nlen);
	*s = malloc(nlen);
	if (!*c || !*j || !*s)
		return -1;
	pc = *c;
	pj = *j;
	ps = *s;
	*pc++ = '{';
	*pj++ = '{';
	*ps++ = '{';
	for (size_t i = 0; i < n; i++) {
		pc += sprintf(pc, "%s\"%s\"", i ? "," : "", keys[i].cluster);
		pj += sprintf(pj, "%s%lld", i ? "," : "", (long long)keys[i].job);
		ps += sprintf(ps, "%s%lld", i ? "," : "", (long long)keys[i].step);
	}
	strcpy(pc, "}");
	strcpy(pj, "}");
	strcpy(ps, "}");
	return 0;
}

#define KEYS_BY_LIST \
	"WITH k AS (SELECT s.cluster, s.job_id, s.step_id FROM steps s JOIN" \
	" unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(c, j, st)" \
	" ON s.cluster = u.c AND s.job_id = u.j AND s.step_id = u.st) "
#define KEYS_UNSETTLED \
	"WITH k AS (SELECT cluster, job_id, step_id FROM steps WHERE NOT settled) "

/* The loads by key run for most batches: prepared once per connection
 * (planning them costs more than running them). */
static const char *const load_names[3] = { "q_load_steps", "q_load_parts", "q_load_outcomes" };

static const char *const load_tails[3] = {
	"SELECT s.cluster, s.job_id, s.step_id, s.replicas, s.quorum, s.parts, s.mode,"
	" s.tolerance, s.owner_uid, s.layout, extract(epoch FROM s.first_report_at),"
	" extract(epoch FROM greatest(s.last_report_at, (SELECT max(r.reported_at)"
	"  FROM replica_results r WHERE r.cluster = s.cluster AND r.job_id = s.job_id"
	"  AND r.step_id = s.step_id))), s.settled,"
	" v.verdict, v.canonical_replica FROM steps s JOIN k USING (cluster, job_id, step_id)"
	" LEFT JOIN verdicts v USING (cluster, job_id, step_id)"
	" ORDER BY s.cluster COLLATE \"C\", s.job_id, s.step_id",
	"SELECT r.cluster, r.job_id, r.step_id, r.replica, r.part, r.node, r.sha256,"
	" r.exit_status, CASE WHEN s.mode = 'numeric' THEN r.output END"
	" FROM replica_results r JOIN k USING (cluster, job_id, step_id)"
	" JOIN steps s USING (cluster, job_id, step_id)"
	" ORDER BY r.reported_at, r.replica, r.part",
	"SELECT o.cluster, o.job_id, o.step_id, o.replica, o.outcome"
	" FROM replica_outcomes o JOIN k USING (cluster, job_id, step_id)",
};

static int prepare_loads(PGconn *conn, char *err, size_t errlen)
{
	for (int i = 0; i < 3; i++) {
		char sql[1024];
		PGresult *res;

		/* SQL-CONSTANT: two string constants joined. */
		snprintf(sql, sizeof(sql), "%s%s", KEYS_BY_LIST, load_tails[i]);
		res = PQprepare(conn, load_names[i], sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			result_err(err, errlen, load_names[i], res);
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

static PGresult *load_query(PGconn *conn, bool by_list, int which,
			    const char *const *params, char *err, size_t errlen,
			    bool *lost)
{
	char sql[1024];
	PGresult *res;

	if (by_list) {
		res = PQexecPrepared(conn, load_names[which], 3, params, NULL, NULL, 0);
	} else {
		/* SQL-CONSTANT: two string constants joined. */
		snprintf(sql, sizeof(sql), "%s%s", KEYS_UNSETTLED, load_tails[which]);
		res = PQexec(conn, sql);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_err(err, errlen, "loading steps", res);
		*lost = PQstatus(conn) != CONNECTION_OK;
		PQclear(res);
		return NULL;
	}
	return res;
}

int store_node_fail_counted(PGconn *conn, const char *cluster, const char *node,
			    int64_t job, int64_t at, bool *counted, bool *lost,
			    char *err, size_t errlen)
{
	char sjob[24], sat[24];
	const char *params[4] = { cluster, node, sjob, sat };
	PGresult *res;

	snprintf(sjob, sizeof(sjob), "%" PRId64, job);
	snprintf(sat, sizeof(sat), "%" PRId64, at);
	res = PQexecParams(conn, "SELECT 1 FROM reputation_events WHERE kind = 'node-fail'"
			   " AND job_id = $3 AND cluster = $1 AND node = $2"
			   " AND at = to_timestamp($4::float8)", 4, NULL, params, NULL, NULL, 0);
	*lost = false;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_err(err, errlen, "looking up a node failure", res);
		*lost = PQstatus(conn) != CONNECTION_OK;
		PQclear(res);
		return -1;
	}
	*counted = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

int store_load_steps(PGconn *conn, const struct step_key *keys, size_t nkeys,
		     stored_step_fn fn, void *arg, bool *lost,
		     char *err, size_t errlen)
{
	char *pc = NULL, *pj = NULL, *ps = NULL;
	const char *params[3];
	struct stored_step *v = NULL;
	size_t n = 0;
	PGresult *res = NULL;
	bool by_list = keys != NULL;
	int rv = -1;

	*lost = false;
	if (by_list && nkeys == 0)
		return 0;
	if (by_list) {
		if (key_arrays(keys, nkeys, &pc, &pj, &ps)) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		params[0] = pc;
		params[1] = pj;
		params[2] = ps;
	}
	res = load_query(conn, by_list, 0, params, err, errlen, lost);
	if (!res)
		goto out;
	n = (size_t)PQntuples(res);
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct stored_step *s = &v[i];
		int r = (int)i;

		get_str(res, r, 0, s->cluster, sizeof(s->cluster));
		s->job = get_ll(res, r, 1);
		s->step = get_ll(res, r, 2);
		s->replicas = (int)get_ll(res, r, 3);
		s->quorum = (int)get_ll(res, r, 4);
		s->parts = (int)get_ll(res, r, 5);
		s->mode = !strcmp(PQgetvalue(res, r, 6), "numeric") ? VERIFY_NUMERIC : VERIFY_EXACT;
		s->tolerance = get_double(res, r, 7);
		s->owner_uid = get_ll(res, r, 8);
		if (s->replicas < 1 || s->replicas > QMSG_MAX_REPLICAS)
			s->replicas = 1;	/* the CHECK constraint makes this impossible */
		if (!PQgetisnull(res, r, 9))
			s->layout = parse_text_array(PQgetvalue(res, r, 9), s->replicas);
		s->first_at = get_double(res, r, 10);
		s->last_at = get_double(res, r, 11);
		s->settled = PQgetvalue(res, r, 12)[0] == 't';
		s->verdict = VERDICT_PENDING;
		s->canonical = -1;
		if (!PQgetisnull(res, r, 13))
			(void)verdict_state_parse(PQgetvalue(res, r, 13), &s->verdict);
		if (!PQgetisnull(res, r, 14))
			s->canonical = (int)get_ll(res, r, 14);
	}
	PQclear(res);
	res = NULL;
	if (n == 0) {
		rv = 0;
		goto out;
	}

	res = load_query(conn, by_list, 1, params, err, errlen, lost);
	if (!res)
		goto out;
	for (int r = 0; r < PQntuples(res); r++) {
		struct stored_step *s = find_step(v, n, PQgetvalue(res, r, 0),
						  get_ll(res, r, 1), get_ll(res, r, 2));
		struct stored_part *p, *grown;
		size_t blen;
		unsigned char *bytes;

		if (!s)
			continue;
		grown = realloc(s->part, (s->nparts + 1) * sizeof(*s->part));
		if (!grown) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		s->part = grown;
		p = &s->part[s->nparts++];
		memset(p, 0, sizeof(*p));
		p->replica = (int)get_ll(res, r, 3);
		p->part = (int)get_ll(res, r, 4);
		get_str(res, r, 5, p->node, sizeof(p->node));
		bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, 6), &blen);
		if (bytes && blen == sizeof(p->sha256))
			memcpy(p->sha256, bytes, blen);
		PQfreemem(bytes);
		p->exit_status = (int)get_ll(res, r, 7);
		if (!PQgetisnull(res, r, 8)) {
			bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, 8), &blen);
			if (bytes) {
				p->output = malloc(blen + 1);
				if (p->output) {
					memcpy(p->output, bytes, blen);
					p->output[blen] = '\0';
					p->output_len = blen;
				}
				PQfreemem(bytes);
			}
		}
	}
	PQclear(res);

	res = load_query(conn, by_list, 2, params, err, errlen, lost);
	if (!res)
		goto out;
	for (int r = 0; r < PQntuples(res); r++) {
		struct stored_step *s = find_step(v, n, PQgetvalue(res, r, 0),
						  get_ll(res, r, 1), get_ll(res, r, 2));
		int replica = (int)get_ll(res, r, 3);
		enum replica_outcome o;

		if (s && replica >= 0 && replica < s->replicas &&
		    !replica_outcome_parse(PQgetvalue(res, r, 4), &o))
			s->outcome[replica] = o;
	}
	PQclear(res);
	res = NULL;
	for (size_t i = 0; i < n; i++)
		fn(&v[i], arg);
	rv = 0;
out:
	PQclear(res);
	if (v) {
		for (size_t i = 0; i < n; i++)
			free_stored_step(&v[i]);
		free(v);
	}
	free(pc);
	free(pj);
	free(ps);
	return rv;
}

int store_load_nodes(PGconn *conn, stored_node_fn fn, void *arg,
		     char *err, size_t errlen)
{
	PGresult *res = PQexec(conn,
		"SELECT cluster, name, coalesce(site, ''), agree, disagree, missing, verdicts,"
		" score, state, extract(epoch FROM quarantined_until),"
		" extract(epoch FROM updated_at), coalesce(last_verdict, ''),"
		" extract(epoch FROM last_verdict_at), admin_hold FROM nodes");

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_err(err, errlen, "loading nodes", res);
		PQclear(res);
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		struct stored_node n;

		memset(&n, 0, sizeof(n));
		get_str(res, r, 0, n.cluster, sizeof(n.cluster));
		get_str(res, r, 1, n.name, sizeof(n.name));
		get_str(res, r, 2, n.site, sizeof(n.site));
		rep_node_init(&n.rep);
		n.rep.agree = get_double(res, r, 3);
		n.rep.disagree = get_double(res, r, 4);
		n.rep.missing = get_double(res, r, 5);
		n.rep.verdicts = get_ll(res, r, 6);
		n.rep.score = get_double(res, r, 7);
		if (node_state_parse(PQgetvalue(res, r, 8), &n.rep.state) ||
		    n.rep.state == NODE_NEUTRAL)
			n.rep.state = NODE_UNPROVEN;	/* re-evaluated after the load */
		n.rep.quarantined_until = get_double(res, r, 9);
		n.rep.updated_at = get_double(res, r, 10);
		get_str(res, r, 11, n.last_verdict, sizeof(n.last_verdict));
		n.last_verdict_at = get_double(res, r, 12);
		n.rep.held = !strcmp(PQgetvalue(res, r, 13), "t");
		fn(&n, arg);
	}
	PQclear(res);
	return 0;
}

int store_load_max_keys(PGconn *conn, max_key_fn fn, void *arg,
			char *err, size_t errlen)
{
	PGresult *res = PQexec(conn,
		"SELECT c.cluster, s.job_id, s.step_id FROM (SELECT DISTINCT cluster FROM nodes) c"
		" CROSS JOIN LATERAL (SELECT job_id, step_id FROM steps"
		"  WHERE steps.cluster = c.cluster ORDER BY job_id DESC, step_id DESC LIMIT 1) s");

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_err(err, errlen, "loading step keys", res);
		PQclear(res);
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++)
		fn(PQgetvalue(res, r, 0), get_ll(res, r, 1), get_ll(res, r, 2), arg);
	PQclear(res);
	return 0;
}

/* ---------------------------------------------------------------- pool -- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *conninfo;
	PGconn **conns;		/* NULL: not connected */
	bool *busy;
	int size;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

int store_pool_init(const char *conninfo, int size)
{
	pool.conninfo = strdup(conninfo);
	pool.conns = calloc((size_t)size, sizeof(PGconn *));
	pool.busy = calloc((size_t)size, sizeof(bool));
	if (!pool.conninfo || !pool.conns || !pool.busy)
		return -1;
	pool.size = size;
	return 0;
}

void store_pool_fini(void)
{
	pthread_mutex_lock(&pool.lock);
	for (int i = 0; i < pool.size; i++)
		if (pool.conns[i])
			PQfinish(pool.conns[i]);
	free(pool.conns);
	free(pool.busy);
	free(pool.conninfo);
	pool.conns = NULL;
	pool.busy = NULL;
	pool.conninfo = NULL;
	pool.size = 0;
	pthread_mutex_unlock(&pool.lock);
}

/* A connection for one query, within 5 s; -1 when none can be had. */
static int pool_take(PGconn **conn, char *err, size_t errlen)
{
	struct timespec until;
	int slot = -1;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&pool.lock);
	while (slot < 0) {
		for (int i = 0; i < pool.size; i++) {
			if (!pool.busy[i]) {
				slot = i;
				break;
			}
		}
		if (slot >= 0 || pthread_cond_timedwait(&pool.cond, &pool.lock, &until) == ETIMEDOUT)
			break;
	}
	if (slot >= 0)
		pool.busy[slot] = true;
	pthread_mutex_unlock(&pool.lock);
	if (slot < 0) {
		snprintf(err, errlen, "all database connections are busy");
		return -1;
	}
	if (pool.conns[slot] && PQstatus(pool.conns[slot]) != CONNECTION_OK) {
		PQfinish(pool.conns[slot]);
		pool.conns[slot] = NULL;
	}
	if (!pool.conns[slot])
		pool.conns[slot] = store_connect(pool.conninfo, false, err, errlen);
	if (!pool.conns[slot]) {
		pthread_mutex_lock(&pool.lock);
		pool.busy[slot] = false;
		pthread_cond_signal(&pool.cond);
		pthread_mutex_unlock(&pool.lock);
		return -1;
	}
	*conn = pool.conns[slot];
	return slot;
}

static void pool_give(int slot)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.conns && pool.conns[slot] && PQstatus(pool.conns[slot]) != CONNECTION_OK) {
		PQfinish(pool.conns[slot]);
		pool.conns[slot] = NULL;
	}
	pool.busy[slot] = false;
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
}

static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *params,
		       char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_err(err, errlen, "query", res);
		PQclear(res);
		return NULL;
	}
	return res;
}

static json_object *db_unavailable(const char *why)
{
	log_warning("database query failed: %s", why);
	return qmsg_response_error("retry_later", "database unavailable: %s", why);
}

static int jadd(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static json_object *jnum_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : qmsg_new_double(get_double(res, row, col));
}

/* Add key: number, or JSON null for SQL NULL. */
static int jadd_time(json_object *o, const char *key, PGresult *res, int row, int col)
{
	json_object *v = jnum_or_null(res, row, col);

	if (!v)
		return json_object_object_add(o, key, NULL);
	return jadd(o, key, v);
}

/* Parse a text[] of names into a JSON array. */
static json_object *names_array(const char *s)
{
	json_object *arr = json_object_new_array();
	char *copy, *tok, *save = NULL;

	if (!arr || !s || *s != '{')
		return arr;
	copy = strdup(s + 1);
	if (!copy)
		return arr;
	copy[strcspn(copy, "}")] = '\0';
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(tok);

		if (n >= 2 && tok[0] == '"') {
			tok++;
			tok[n - 2] = '\0';
		}
		json_object_array_add(arr, json_object_new_string(tok));
	}
	free(copy);
	return arr;
}

json_object *store_answer_verdict(const char *cluster,
				  const struct qmsg_verdict_query *q,
				  uid_t uid, bool privileged,
				  enum verdict_state *state, bool *known,
				  bool *forbidden)
{
	char job[24], step[24], err[512], canon[16];
	const char *params[4] = { cluster, job, step, canon };
	json_object *ans = NULL, *arr;
	PGresult *res = NULL, *res2 = NULL;
	PGconn *conn;
	int slot, bad = 0, canonical = -1;

	*state = VERDICT_PENDING;
	*known = false;
	*forbidden = false;
	slot = pool_take(&conn, err, sizeof(err));
	if (slot < 0)
		return db_unavailable(err);
	snprintf(job, sizeof(job), "%lld", (long long)q->job);
	snprintf(step, sizeof(step), "%lld", (long long)q->step);
	res = query(conn,
		"SELECT s.replicas, s.quorum, s.parts, s.mode, s.owner_uid,"
		" extract(epoch FROM s.first_report_at), s.settled, v.verdict,"
		" v.canonical_replica, encode(v.canonical_digest, 'hex'), v.agree, v.disagree,"
		" v.missing, v.reason, extract(epoch FROM v.decided_at),"
		" (SELECT count(*) FROM (SELECT r.replica FROM replica_results r"
		"   WHERE r.cluster = s.cluster AND r.job_id = s.job_id AND r.step_id = s.step_id"
		"   GROUP BY r.replica HAVING count(*) = s.parts) c)"
		" FROM steps s LEFT JOIN verdicts v USING (cluster, job_id, step_id)"
		" WHERE s.cluster = $1 AND s.job_id = $2 AND s.step_id = $3",
		3, params, err, sizeof(err));
	if (!res) {
		ans = db_unavailable(err);
		goto out;
	}
	ans = qmsg_response_ok();
	if (!ans)
		goto out;
	bad |= jadd(ans, "cluster", json_object_new_string(cluster));
	bad |= jadd(ans, "job", json_object_new_int64(q->job));
	bad |= jadd(ans, "step", json_object_new_int64(q->step));
	if (PQntuples(res) == 0) {
		bad |= jadd(ans, "verdict", json_object_new_string("UNKNOWN"));
		goto out;
	}
	*known = true;
	if (!privileged && get_ll(res, 0, 4) != (long long)uid) {
		*forbidden = true;
		json_object_put(ans);
		ans = qmsg_response_error("forbidden",
			"the verdict of %s:%lld.%lld is its owner's (uid %lld), root's or SlurmUser's",
			cluster, (long long)q->job, (long long)q->step, get_ll(res, 0, 4));
		goto out;
	}
	if (!PQgetisnull(res, 0, 7))
		(void)verdict_state_parse(PQgetvalue(res, 0, 7), state);
	bad |= jadd(ans, "verdict", json_object_new_string(verdict_state_name(*state)));
	bad |= jadd(ans, "replicas", json_object_new_int((int)get_ll(res, 0, 0)));
	bad |= jadd(ans, "quorum", json_object_new_int((int)get_ll(res, 0, 1)));
	bad |= jadd(ans, "parts", json_object_new_int((int)get_ll(res, 0, 2)));
	bad |= jadd(ans, "mode", json_object_new_string(PQgetvalue(res, 0, 3)));
	bad |= jadd(ans, "owner_uid", json_object_new_int64(get_ll(res, 0, 4)));
	bad |= jadd_time(ans, "first_report_at", res, 0, 5);
	bad |= jadd(ans, "settled", json_object_new_boolean(PQgetvalue(res, 0, 6)[0] == 't'));
	bad |= jadd(ans, "reported", json_object_new_int((int)get_ll(res, 0, 15)));
	bad |= jadd(ans, "agree", json_object_new_int((int)get_ll(res, 0, 10)));
	bad |= jadd(ans, "disagree", json_object_new_int((int)get_ll(res, 0, 11)));
	bad |= jadd(ans, "missing", json_object_new_int((int)get_ll(res, 0, 12)));
	if (*state != VERDICT_PENDING) {
		bad |= jadd(ans, "reason", json_object_new_string(PQgetvalue(res, 0, 13)));
		bad |= jadd_time(ans, "decided_at", res, 0, 14);
	}
	if (*state == VERDICT_ACCEPTED && !PQgetisnull(res, 0, 8)) {
		canonical = (int)get_ll(res, 0, 8);
		bad |= jadd(ans, "canonical_replica", json_object_new_int(canonical));
		bad |= jadd(ans, "digest", json_object_new_string(PQgetvalue(res, 0, 9)));
	}
	res2 = query(conn,
		"SELECT replica, outcome, nodes FROM replica_outcomes"
		" WHERE cluster = $1 AND job_id = $2 AND step_id = $3 ORDER BY replica",
		3, params, err, sizeof(err));
	if (!res2) {
		json_object_put(ans);
		ans = db_unavailable(err);
		goto out;
	}
	arr = json_object_new_array();
	bad |= jadd(ans, "outcomes", arr);
	for (int r = 0; arr && r < PQntuples(res2); r++) {
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o)) {
			json_object_put(o);
			bad = 1;
			break;
		}
		bad |= jadd(o, "replica", json_object_new_int((int)get_ll(res2, r, 0)));
		bad |= jadd(o, "outcome", json_object_new_string(PQgetvalue(res2, r, 1)));
		bad |= jadd(o, "nodes", names_array(PQgetvalue(res2, r, 2)));
	}
	PQclear(res2);
	res2 = NULL;
	if (canonical < 0)
		goto out;
	snprintf(canon, sizeof(canon), "%d", canonical);
	res2 = query(conn,
		"SELECT part, node, encode(sha256, 'hex'), exit_status, output FROM replica_results"
		" WHERE cluster = $1 AND job_id = $2 AND step_id = $3 AND replica = $4 ORDER BY part",
		4, params, err, sizeof(err));
	if (!res2) {
		json_object_put(ans);
		ans = db_unavailable(err);
		goto out;
	}
	arr = json_object_new_array();
	bad |= jadd(ans, "parts", arr);
	for (int r = 0; arr && r < PQntuples(res2); r++) {
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o)) {
			json_object_put(o);
			bad = 1;
			break;
		}
		bad |= jadd(o, "part", json_object_new_int((int)get_ll(res2, r, 0)));
		bad |= jadd(o, "node", json_object_new_string(PQgetvalue(res2, r, 1)));
		bad |= jadd(o, "sha256", json_object_new_string(PQgetvalue(res2, r, 2)));
		bad |= jadd(o, "exit_status", json_object_new_int((int)get_ll(res2, r, 3)));
		if (q->output && !PQgetisnull(res2, r, 4)) {
			size_t blen;
			unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res2, r, 4), &blen);
			char *b64 = bytes ? qmsg_b64_encode(bytes, blen) : NULL;

			bad |= jadd(o, "output_b64", b64 ? json_object_new_string(b64) : NULL);
			free(b64);
			PQfreemem(bytes);
		}
	}
out:
	PQclear(res);
	PQclear(res2);
	pool_give(slot);
	if (bad) {
		json_object_put(ans);
		return qmsg_response_error("retry_later", "out of memory");
	}
	return ans ? ans : qmsg_response_error("retry_later", "out of memory");
}

json_object *store_answer_nodes(const struct qmsg_reputation_query *q)
{
	const char *params[2] = { q->cluster, q->node };
	json_object *ans, *arr;
	PGresult *res;
	PGconn *conn;
	char err[512];
	int slot, bad = 0;

	slot = pool_take(&conn, err, sizeof(err));
	if (slot < 0)
		return db_unavailable(err);
	res = query(conn,
		"SELECT cluster, name, coalesce(site, ''), state, score, agree, disagree, missing,"
		" verdicts, last_verdict, extract(epoch FROM last_verdict_at),"
		" extract(epoch FROM quarantined_until), extract(epoch FROM updated_at), admin_hold"
		" FROM nodes WHERE ($1 = '' OR cluster = $1) AND ($2 = '' OR name = $2)"
		" ORDER BY cluster, length(name), name",
		2, params, err, sizeof(err));
	pool_give(slot);
	if (!res)
		return db_unavailable(err);
	ans = qmsg_response_ok();
	arr = json_object_new_array();
	if (!ans || jadd(ans, "nodes", arr)) {
		json_object_put(ans);
		PQclear(res);
		return qmsg_response_error("retry_later", "out of memory");
	}
	for (int r = 0; r < PQntuples(res); r++) {
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o)) {
			json_object_put(o);
			bad = 1;
			break;
		}
		bad |= jadd(o, "cluster", json_object_new_string(PQgetvalue(res, r, 0)));
		bad |= jadd(o, "node", json_object_new_string(PQgetvalue(res, r, 1)));
		bad |= jadd(o, "site", json_object_new_string(PQgetvalue(res, r, 2)));
		bad |= jadd(o, "state", json_object_new_string(PQgetvalue(res, r, 3)));
		bad |= jadd(o, "score", qmsg_new_double(round(get_double(res, r, 4) * 10) / 10));
		bad |= jadd(o, "agree", qmsg_new_double(get_double(res, r, 5)));
		bad |= jadd(o, "disagree", qmsg_new_double(get_double(res, r, 6)));
		bad |= jadd(o, "missing", qmsg_new_double(get_double(res, r, 7)));
		bad |= jadd(o, "verdicts", json_object_new_int64(get_ll(res, r, 8)));
		if (PQgetisnull(res, r, 9))
			json_object_object_add(o, "last_verdict", NULL);
		else
			bad |= jadd(o, "last_verdict", json_object_new_string(PQgetvalue(res, r, 9)));
		bad |= jadd_time(o, "last_verdict_at", res, r, 10);
		bad |= jadd_time(o, "quarantined_until", res, r, 11);
		bad |= jadd_time(o, "updated_at", res, r, 12);
		bad |= jadd(o, "admin_hold", json_object_new_boolean(!strcmp(PQgetvalue(res, r, 13), "t")));
	}
	PQclear(res);
	if (bad) {
		json_object_put(ans);
		return qmsg_response_error("retry_later", "out of memory");
	}
	return ans;
}

json_object *store_answer_events(const struct qmsg_events_query *q)
{
	char limit[16], err[512];
	const char *params[3] = { q->cluster, q->node, limit };
	json_object *ans, *arr;
	PGresult *res;
	PGconn *conn;
	int slot, bad = 0;

	snprintf(limit, sizeof(limit), "%d", q->limit);
	slot = pool_take(&conn, err, sizeof(err));
	if (slot < 0)
		return db_unavailable(err);
	res = query(conn,
		"SELECT id, extract(epoch FROM at), kind, reason, job_id, step_id, replica,"
		" score_before, score_after, state_before, state_after, admin_uid"
		" FROM reputation_events WHERE cluster = $1 AND node = $2"
		" ORDER BY id DESC LIMIT $3",
		3, params, err, sizeof(err));
	pool_give(slot);
	if (!res)
		return db_unavailable(err);
	ans = qmsg_response_ok();
	arr = json_object_new_array();
	if (!ans || jadd(ans, "cluster", json_object_new_string(q->cluster)) ||
	    jadd(ans, "node", json_object_new_string(q->node)) || jadd(ans, "events", arr)) {
		json_object_put(ans);
		PQclear(res);
		return qmsg_response_error("retry_later", "out of memory");
	}
	/* Oldest first, as a log reads. */
	for (int r = PQntuples(res) - 1; r >= 0; r--) {
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o)) {
			json_object_put(o);
			bad = 1;
			break;
		}
		bad |= jadd(o, "id", json_object_new_int64(get_ll(res, r, 0)));
		bad |= jadd_time(o, "at", res, r, 1);
		bad |= jadd(o, "kind", json_object_new_string(PQgetvalue(res, r, 2)));
		bad |= jadd(o, "reason", json_object_new_string(PQgetvalue(res, r, 3)));
		if (!PQgetisnull(res, r, 4)) {
			bad |= jadd(o, "job", json_object_new_int64(get_ll(res, r, 4)));
			bad |= jadd(o, "step", json_object_new_int64(get_ll(res, r, 5)));
			bad |= jadd(o, "replica", json_object_new_int((int)get_ll(res, r, 6)));
		}
		bad |= jadd(o, "score_before", qmsg_new_double(round(get_double(res, r, 7) * 10) / 10));
		bad |= jadd(o, "score_after", qmsg_new_double(round(get_double(res, r, 8) * 10) / 10));
		bad |= jadd(o, "state_before", json_object_new_string(PQgetvalue(res, r, 9)));
		bad |= jadd(o, "state_after", json_object_new_string(PQgetvalue(res, r, 10)));
		if (!PQgetisnull(res, r, 11))
			bad |= jadd(o, "admin_uid", json_object_new_int64(get_ll(res, r, 11)));
	}
	PQclear(res);
	if (bad) {
		json_object_put(ans);
		return qmsg_response_error("retry_later", "out of memory");
	}
	return ans;
}
