/*
 * contrib_store.c - contributions in quorated's PostgreSQL store; see
 * contrib_store.h.  Usage rows go in with COPY (a million rows in seconds),
 * come out through a cursor in batches, and every write of an epoch close
 * shares one transaction with the check that the epoch is not closed yet.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contrib_store.h"
#include "contrib_strpool.h"

/* pg_advisory_xact_lock key of ingest and close: "qcontrib" in ASCII. */
#define CSTORE_LOCK_KEY "7165636f6e747269"
#define CSTORE_FETCH 100000
#define COPY_CHUNK (1 << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	err[strcspn(err, "\n")] = '\0';
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run a command that returns no rows; 0, or -1 with err. */
static int exec_cmd(PGconn *conn, const char *sql, int nparams,
		    const char *const *values, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	int rv = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_err(err, errlen, "PostgreSQL: %s", PQerrorMessage(conn));
		rv = -1;
	}
	PQclear(res);
	return rv;
}

static void rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}

int cstore_check_schema(PGconn *conn, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn,
		"SELECT to_regclass('epochs') IS NOT NULL, "
		"to_regclass('chain_outbox') IS NOT NULL, "
		"to_regclass('contrib_usage') IS NOT NULL");
	int rv = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		set_err(err, errlen, "PostgreSQL: %s", PQerrorMessage(conn));
		goto fail;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") || strcmp(PQgetvalue(res, 0, 1), "t")) {
		set_err(err, errlen, "the store has no table epochs or chain_outbox "
			"(schema 002): start a quorated of this version once, it applies the schema");
		goto fail;
	}
	if (strcmp(PQgetvalue(res, 0, 2), "t")) {
		set_err(err, errlen, "the store has no table contrib_usage (schema 003): "
			"start a quorated of this version once, it applies the schema");
		goto fail;
	}
	rv = 0;
fail:
	PQclear(res);
	return rv;
}

int cstore_watermark(PGconn *conn, bool *has, int64_t *watermark,
		     char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, "SELECT watermark FROM contrib_watermark WHERE id = 1");
	int rv = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_err(err, errlen, "PostgreSQL: %s", PQerrorMessage(conn));
		goto fail;
	}
	*has = PQntuples(res) == 1;
	*watermark = *has ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	rv = 0;
fail:
	PQclear(res);
	return rv;
}

int cstore_due_epochs(PGconn *conn, int64_t epoch_length, uint64_t below,
		      uint64_t **out, size_t *n, char *err, size_t errlen)
{
	char len[24], bound[24];
	const char *params[2] = { len, bound };
	PGresult *res;
	int rv = -1;

	*out = NULL;
	*n = 0;
	if (below == 0)
		return 0;
	snprintf(len, sizeof(len), "%lld", (long long)epoch_length);
	snprintf(bound, sizeof(bound), "%llu", (unsigned long long)below);
	res = PQexecParams(conn,
		"WITH last AS (SELECT coalesce(max(epoch), -1) AS last_e FROM epochs) "
		"SELECT d.e FROM (SELECT DISTINCT div(end_time, $1::bigint)::bigint AS e"
		"  FROM contrib_usage WHERE end_time < $2::bigint * $1::bigint"
		"  UNION SELECT $2::bigint - 1) d, last"
		" WHERE d.e > last.last_e AND d.e < $2::bigint"
		"  AND NOT EXISTS (SELECT 1 FROM epochs x WHERE x.epoch = d.e)"
		" ORDER BY d.e", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_err(err, errlen, "PostgreSQL: %s", PQerrorMessage(conn));
		goto fail;
	}
	if (PQntuples(res) > 0) {
		*out = calloc((size_t)PQntuples(res), sizeof(**out));
		if (!*out) {
			set_err(err, errlen, "out of memory");
			goto fail;
		}
		for (int i = 0; i < PQntuples(res); i++)
			(*out)[i] = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		*n = (size_t)PQntuples(res);
	}
	rv = 0;
fail:
	PQclear(res);
	return rv;
}

/* ------------------------------------------------------------- ingest */

struct copybuf {
	char *b;
	size_t len, cap;
	bool oom;
};

static void cb_reserve(struct copybuf *c, size_t more)
{
	char *p;
	size_t cap;

	if (c->oom || c->len + more <= c->cap)
		return;
	cap = c->cap ? c->cap : COPY_CHUNK;
	while (cap < c->len + more)
		cap *= 2;
	p = realloc(c->b, cap);
	if (!p) {
		c->oom = true;
		return;
	}
	c->b = p;
	c->cap = cap;
}

/* A text field of COPY's text format: NULL as \N, backslash, tab, newline
 * and carriage return escaped. */
static void cb_text(struct copybuf *c, const char *s, char end)
{
	size_t n = s ? strlen(s) : 2;

	cb_reserve(c, 2 * n + 1);
	if (c->oom)
		return;
	if (!s) {
		memcpy(c->b + c->len, "\\N", 2);
		c->len += 2;
	} else {
		for (; *s; s++) {
			char ch = *s;

			if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
				c->b[c->len++] = '\\';
				ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
			}
			c->b[c->len++] = ch;
		}
	}
	c->b[c->len++] = end;
}

static void cb_int(struct copybuf *c, long long v, char end)
{
	cb_reserve(c, 24);
	if (c->oom)
		return;
	c->len += (size_t)snprintf(c->b + c->len, 24, "%lld%c", v, end);
}

static void cb_uint(struct copybuf *c, uint64_t v, char end)
{
	cb_reserve(c, 24);
	if (c->oom)
		return;
	c->len += (size_t)snprintf(c->b + c->len, 24, "%" PRIu64 "%c", v, end);
}

static int copy_flush(PGconn *conn, struct copybuf *c, char *err, size_t errlen)
{
	if (c->len && PQputCopyData(conn, c->b, (int)c->len) != 1) {
		set_err(err, errlen, "PostgreSQL COPY: %s", PQerrorMessage(conn));
		return -1;
	}
	c->len = 0;
	return 0;
}

static int copy_usage(PGconn *conn, const struct contrib_usage *u, size_t n,
		      char *err, size_t errlen)
{
	struct copybuf c = { 0 };
	PGresult *res;
	int rv = -1;

	res = PQexec(conn, "COPY contrib_usage_in (db_index, cluster, node, job_id, site, "
		     "account, user_name, partition, qos, start_time, end_time, "
		     "cpu_seconds, gpu_seconds, node_seconds) FROM STDIN");
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		set_err(err, errlen, "PostgreSQL COPY: %s", PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	for (size_t i = 0; i < n; i++) {
		const struct contrib_usage *r = &u[i];

		/* db_index is numeric(20) (schema 005): any uint64 fits. */
		if (r->cpu_seconds > INT64_MAX || r->gpu_seconds > INT64_MAX ||
		    r->node_seconds > INT64_MAX) {
			set_err(err, errlen, "%s job %u on %s: an amount exceeds 2^63 - 1 "
				"(cpu %" PRIu64 ", gpu %" PRIu64 ", node %" PRIu64 " seconds)",
				r->cluster, r->job_id, r->node, r->cpu_seconds,
				r->gpu_seconds, r->node_seconds);
			PQputCopyEnd(conn, "amount out of range");
			goto done;
		}
		cb_uint(&c, r->db_index, '\t');
		cb_text(&c, r->cluster, '\t');
		cb_text(&c, r->node, '\t');
		cb_int(&c, (long long)r->job_id, '\t');
		cb_text(&c, r->site, '\t');
		cb_text(&c, r->account, '\t');
		cb_text(&c, r->user, '\t');
		cb_text(&c, r->partition, '\t');
		cb_text(&c, r->qos, '\t');
		cb_int(&c, (long long)r->start_time, '\t');
		cb_int(&c, (long long)r->end_time, '\t');
		cb_int(&c, (long long)r->cpu_seconds, '\t');
		cb_int(&c, (long long)r->gpu_seconds, '\t');
		cb_int(&c, (long long)r->node_seconds, '\n');
		if (c.oom) {
			set_err(err, errlen, "out of memory");
			PQputCopyEnd(conn, "out of memory");
			goto done;
		}
		if (c.len >= COPY_CHUNK && copy_flush(conn, &c, err, errlen))
			goto done;
	}
	if (copy_flush(conn, &c, err, errlen))
		goto done;
	if (PQputCopyEnd(conn, NULL) != 1) {
		set_err(err, errlen, "PostgreSQL COPY: %s", PQerrorMessage(conn));
		goto done;
	}
	rv = 0;
done:
	/* The COPY's outcome (also after PQputCopyEnd with an error). */
	while ((res = PQgetResult(conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rv == 0) {
			set_err(err, errlen, "PostgreSQL COPY: %s", PQerrorMessage(conn));
			rv = -1;
		}
		PQclear(res);
	}
	free(c.b);
	return rv;
}

static int count_query(PGconn *conn, const char *sql, int nparams,
		       const char *const *values, size_t *out, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	int rv = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		set_err(err, errlen, "PostgreSQL: %s", PQerrorMessage(conn));
		goto fail;
	}
	*out = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	rv = 0;
fail:
	PQclear(res);
	return rv;
}

int cstore_ingest(PGconn *conn, const struct contrib_usage *u, size_t n,
		  int64_t epoch_length, int64_t watermark, size_t jobs,
		  struct cstore_ingest_stats *st, char *err, size_t errlen)
{
	char len_s[24], wm_s[24], jobs_s[24], ins_s[24];
	const char *p1[1] = { len_s };
	const char *p3[3];

	memset(st, 0, sizeof(*st));
	st->offered = n;
	snprintf(len_s, sizeof(len_s), "%" PRId64, epoch_length);
	snprintf(wm_s, sizeof(wm_s), "%" PRId64, watermark);
	snprintf(jobs_s, sizeof(jobs_s), "%zu", jobs);
	if (exec_cmd(conn, "BEGIN", 0, NULL, err, errlen))
		return -1;
	if (exec_cmd(conn, "SELECT pg_advisory_xact_lock(x'" CSTORE_LOCK_KEY "'::bigint)",
		     0, NULL, err, errlen) ||
	    exec_cmd(conn, "CREATE TEMPORARY TABLE contrib_usage_in "
		     "(LIKE contrib_usage INCLUDING DEFAULTS) ON COMMIT DROP",
		     0, NULL, err, errlen))
		goto fail;
	if (n && copy_usage(conn, u, n, err, errlen))
		goto fail;
	/* Late rows: their epoch was closed and they are not stored. */
	if (count_query(conn,
			"SELECT count(*) FROM contrib_usage_in i "
			"WHERE EXISTS (SELECT 1 FROM epochs e WHERE e.epoch = div(i.end_time, $1::bigint)) "
			"AND NOT EXISTS (SELECT 1 FROM contrib_usage s WHERE s.db_index = i.db_index "
			"AND s.cluster = i.cluster AND s.node = i.node)",
			1, p1, &st->late, err, errlen) ||
	    count_query(conn,
			"WITH ins AS (INSERT INTO contrib_usage (db_index, cluster, node, job_id, "
			"site, account, user_name, partition, qos, start_time, end_time, "
			"cpu_seconds, gpu_seconds, node_seconds) "
			"SELECT db_index, cluster, node, job_id, site, account, user_name, "
			"partition, qos, start_time, end_time, cpu_seconds, gpu_seconds, node_seconds "
			"FROM contrib_usage_in i WHERE NOT EXISTS (SELECT 1 FROM epochs e "
			"WHERE e.epoch = div(i.end_time, $1::bigint)) "
			"ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM ins",
			1, p1, &st->inserted, err, errlen))
		goto fail;
	st->duplicate = n - st->inserted - st->late;
	snprintf(ins_s, sizeof(ins_s), "%zu", st->inserted);
	p3[0] = wm_s;
	p3[1] = jobs_s;
	p3[2] = ins_s;
	if (exec_cmd(conn,
		     "INSERT INTO contrib_watermark (id, watermark, runs, last_jobs, last_inserted) "
		     "VALUES (1, $1, 1, $2, $3) ON CONFLICT (id) DO UPDATE SET "
		     "watermark = greatest(contrib_watermark.watermark, EXCLUDED.watermark), "
		     "runs = contrib_watermark.runs + 1, last_jobs = EXCLUDED.last_jobs, "
		     "last_inserted = EXCLUDED.last_inserted, updated_at = now()",
		     3, p3, err, errlen) ||
	    exec_cmd(conn, "COMMIT", 0, NULL, err, errlen))
		goto fail;
	return 0;
fail:
	rollback(conn);
	memset(st, 0, sizeof(*st));
	return -1;
}

/* -------------------------------------------------------- epoch close */

/* The epoch's usage rows with, per job and node, the outcomes of the
 * job's replicated steps whose replicas ran there, the trainer's reports
 * and the node's reputation (only once it has verdicts). */
static const char LOAD_SQL[] =
	"DECLARE contrib_rows NO SCROLL CURSOR FOR "
	"WITH jobs AS (SELECT DISTINCT cluster, job_id FROM contrib_usage "
	"  WHERE end_time >= $1::bigint AND end_time < $2::bigint), "
	"oc AS (SELECT r.cluster, r.job_id, x.node, "
	"  count(DISTINCT r.step_id) FILTER (WHERE r.outcome = 'agree') AS agreed, "
	"  count(DISTINCT r.step_id) FILTER (WHERE r.outcome = 'disagree') AS disagreed, "
	"  count(DISTINCT r.step_id) FILTER (WHERE r.outcome = 'missing') AS missing "
	"  FROM replica_outcomes r JOIN jobs j ON j.cluster = r.cluster AND j.job_id = r.job_id "
	"  CROSS JOIN LATERAL unnest(r.nodes) AS x(node) GROUP BY r.cluster, r.job_id, x.node), "
	"tr AS (SELECT c.cluster, c.job_id, c.node, sum(c.compute_seconds) AS compute, "
	"  sum(c.gradients_accepted) AS accepted, sum(c.gradients_rejected) AS rejected "
	"  FROM contributions c JOIN jobs j ON j.cluster = c.cluster AND j.job_id = c.job_id "
	"  GROUP BY c.cluster, c.job_id, c.node) "
	"SELECT u.cluster, u.node, u.site, u.account, u.user_name, u.partition, u.qos, "
	"  u.db_index, u.job_id, u.start_time, u.end_time, u.cpu_seconds, u.gpu_seconds, "
	"  u.node_seconds, coalesce(oc.agreed, 0), coalesce(oc.disagreed, 0), "
	"  coalesce(oc.missing, 0), tr.compute IS NOT NULL, coalesce(tr.compute, 0), "
	"  coalesce(tr.accepted, 0), coalesce(tr.rejected, 0), "
	"  CASE WHEN n.verdicts > 0 THEN n.score END "
	"FROM contrib_usage u "
	"LEFT JOIN oc ON oc.cluster = u.cluster AND oc.job_id = u.job_id AND oc.node = u.node "
	"LEFT JOIN tr ON tr.cluster = u.cluster AND tr.job_id = u.job_id AND tr.node = u.node "
	"LEFT JOIN nodes n ON n.cluster = u.cluster AND n.name = u.node "
	"WHERE u.end_time >= $1::bigint AND u.end_time < $2::bigint";

struct usage_set {
	struct contrib_usage *u;
	size_t n, cap;
	struct contrib_strpool names;
};

static void usage_set_free(struct usage_set *s)
{
	free(s->u);
	contrib_strpool_free(&s->names);
}

static const char *pooled(struct usage_set *s, PGresult *res, int row, int col,
			  bool null_ok, bool *oom)
{
	const char *v;

	if (PQgetisnull(res, row, col))
		return null_ok ? NULL : "";
	v = contrib_strpool_add(&s->names, PQgetvalue(res, row, col));
	if (!v)
		*oom = true;
	return v;
}

static uint64_t u64_at(PGresult *res, int row, int col)
{
	return strtoull(PQgetvalue(res, row, col), NULL, 10);
}

static int load_rows(PGconn *conn, int64_t start, int64_t end, struct usage_set *s,
		     char *err, size_t errlen)
{
	char s_s[24], e_s[24];
	const char *params[2] = { s_s, e_s };
	bool oom = false;

	snprintf(s_s, sizeof(s_s), "%" PRId64, start);
	snprintf(e_s, sizeof(e_s), "%" PRId64, end);
	if (exec_cmd(conn, LOAD_SQL, 2, params, err, errlen))
		return -1;
	for (;;) {
		PGresult *res = PQexec(conn, "FETCH " "100000" " FROM contrib_rows");
		int rows;

		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			set_err(err, errlen, "PostgreSQL: %s", PQerrorMessage(conn));
			PQclear(res);
			return -1;
		}
		rows = PQntuples(res);
		if (rows == 0) {
			PQclear(res);
			break;
		}
		if (s->n + (size_t)rows > s->cap) {
			size_t cap = s->cap ? s->cap : CSTORE_FETCH;
			struct contrib_usage *p;

			while (cap < s->n + (size_t)rows)
				cap *= 2;
			p = realloc(s->u, cap * sizeof(*p));
			if (!p) {
				PQclear(res);
				set_err(err, errlen, "out of memory");
				return -1;
			}
			s->u = p;
			s->cap = cap;
		}
		for (int i = 0; i < rows; i++) {
			struct contrib_usage *u = &s->u[s->n++];

			memset(u, 0, sizeof(*u));
			u->cluster = pooled(s, res, i, 0, false, &oom);
			u->node = pooled(s, res, i, 1, false, &oom);
			u->site = pooled(s, res, i, 2, true, &oom);
			u->account = pooled(s, res, i, 3, false, &oom);
			u->user = pooled(s, res, i, 4, false, &oom);
			u->partition = pooled(s, res, i, 5, false, &oom);
			u->qos = pooled(s, res, i, 6, false, &oom);
			u->db_index = u64_at(res, i, 7);
			u->job_id = (uint32_t)u64_at(res, i, 8);
			u->start_time = strtoll(PQgetvalue(res, i, 9), NULL, 10);
			u->end_time = strtoll(PQgetvalue(res, i, 10), NULL, 10);
			u->cpu_seconds = u64_at(res, i, 11);
			u->gpu_seconds = u64_at(res, i, 12);
			u->node_seconds = u64_at(res, i, 13);
			u->steps_agreed = (uint32_t)u64_at(res, i, 14);
			u->steps_disagreed = (uint32_t)u64_at(res, i, 15);
			u->steps_missing = (uint32_t)u64_at(res, i, 16);
			u->trainer = !strcmp(PQgetvalue(res, i, 17), "t");
			u->trainer_compute_seconds = strtod(PQgetvalue(res, i, 18), NULL);
			u->gradients_accepted = u64_at(res, i, 19);
			u->gradients_rejected = u64_at(res, i, 20);
			u->has_reputation = !PQgetisnull(res, i, 21);
			u->reputation = u->has_reputation ? strtod(PQgetvalue(res, i, 21), NULL) : 0;
		}
		PQclear(res);
		if (oom) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
	}
	return exec_cmd(conn, "CLOSE contrib_rows", 0, NULL, err, errlen);
}

/* An epoch already closed: its stored figures into r.  1 found, 0 not,
 * -1 error. */
static int load_closed(PGconn *conn, const char *epoch_s, struct cstore_close_result *r,
		       char *err, size_t errlen)
{
	const char *params[1] = { epoch_s };
	PGresult *res = PQexecParams(conn,
		"SELECT root, data_hash, cpu_seconds::text, gpu_seconds::text, records::text "
		"FROM epochs WHERE epoch = $1::bigint", 1, NULL, params, NULL, NULL, 1);
	int rv = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_err(err, errlen, "PostgreSQL: %s", PQerrorMessage(conn));
		goto fail;
	}
	rv = PQntuples(res) == 1;
	if (rv) {
		memcpy(r->root, PQgetvalue(res, 0, 0), 32);
		memcpy(r->data_hash, PQgetvalue(res, 0, 1), 32);
		snprintf(r->cpu_seconds, sizeof(r->cpu_seconds), "%s", PQgetvalue(res, 0, 2));
		snprintf(r->gpu_seconds, sizeof(r->gpu_seconds), "%s", PQgetvalue(res, 0, 3));
		r->records = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	}
fail:
	PQclear(res);
	return rv;
}

/* Parameters of one row: text, or binary for the bytea ones (len > 0). */
struct row {
	const char *v[9];
	int len[9], fmt[9];
	char num[9][48];
	int n;
};

static void row_text(struct row *w, const char *s)
{
	w->v[w->n] = s;
	w->len[w->n] = 0;
	w->fmt[w->n++] = 0;
}

static void row_u64(struct row *w, uint64_t x)
{
	snprintf(w->num[w->n], sizeof(w->num[0]), "%" PRIu64, x);
	row_text(w, w->num[w->n]);
}

static void row_i64(struct row *w, int64_t x)
{
	snprintf(w->num[w->n], sizeof(w->num[0]), "%" PRId64, x);
	row_text(w, w->num[w->n]);
}

static void row_bytes(struct row *w, const uint8_t *b, int len)
{
	w->v[w->n] = (const char *)b;
	w->len[w->n] = len;
	w->fmt[w->n++] = 1;
}

static int row_exec(PGconn *conn, const char *sql, const struct row *w,
		    char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, w->n, NULL, w->v, w->len, w->fmt, 0);
	int rv = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_err(err, errlen, "PostgreSQL: %s", PQerrorMessage(conn));
		rv = -1;
	}
	PQclear(res);
	return rv;
}

static int write_epoch(PGconn *conn, const struct contrib_epoch *e,
		       struct cstore_close_result *r, char *err, size_t errlen)
{
	static const uint8_t zero20[20];
	struct row w;

	memset(&w, 0, sizeof(w));
	row_u64(&w, e->epoch);
	row_bytes(&w, e->root, 32);
	row_u64(&w, e->cpu_seconds);
	row_u64(&w, e->gpu_seconds);
	row_u64(&w, e->n_records);
	row_bytes(&w, e->data_hash, 32);
	if (row_exec(conn, "INSERT INTO epochs (epoch, root, cpu_seconds, gpu_seconds, "
		     "records, data_hash) VALUES ($1, $2, $3, $4, $5, $6)", &w, err, errlen))
		return -1;
	for (size_t i = 0; i < e->n_records; i++) {
		const struct contrib_record *rec = &e->records[i];

		memset(&w, 0, sizeof(w));
		row_u64(&w, e->epoch);
		row_u64(&w, i);
		row_text(&w, rec->site);
		row_bytes(&w, rec->site_id, 32);
		row_bytes(&w, rec->has_payee ? rec->payee.b : zero20, 20);
		row_u64(&w, rec->cpu_seconds);
		row_u64(&w, rec->gpu_seconds);
		row_u64(&w, rec->score);
		if (row_exec(conn, "INSERT INTO epoch_records (epoch, idx, site, site_id, payee, "
			     "cpu_seconds, gpu_seconds, score) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			     &w, err, errlen))
			return -1;
		memset(&w, 0, sizeof(w));
		row_u64(&w, e->epoch);
		row_u64(&w, i);
		row_text(&w, rec->cluster);
		row_text(&w, rec->node);
		row_u64(&w, rec->node_seconds);
		row_u64(&w, rec->credits);
		row_u64(&w, rec->usage_records);
		if (row_exec(conn, "INSERT INTO contrib_epoch_nodes (epoch, idx, cluster, node, "
			     "node_seconds, credits, usage_records) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			     &w, err, errlen))
			return -1;
	}
	/* Double entry: each transfer is earned by its node's site and spent
	 * by the account's home site. */
	for (size_t i = 0; i < e->ledger.n_transfers; i++) {
		const struct contrib_transfer *t = &e->ledger.transfers[i];

		if (t->credits == 0)
			continue;
		memset(&w, 0, sizeof(w));
		row_u64(&w, e->epoch);
		row_text(&w, t->from);
		row_text(&w, t->to);
		row_i64(&w, t->credits);
		row_u64(&w, t->records);
		if (row_exec(conn, "INSERT INTO contrib_ledger (epoch, site, counterparty, kind, "
			     "amount, records) VALUES ($1, $2, $3, 'spent', -$4::bigint, $5), "
			     "($1, $3, $2, 'earned', $4::bigint, $5)", &w, err, errlen))
			return -1;
		r->ledger_rows += 2;
	}
	for (size_t i = 0; i < e->ledger.n_balances; i++) {
		const struct contrib_balance *b = &e->ledger.balances[i];

		memset(&w, 0, sizeof(w));
		row_text(&w, b->site);
		row_i64(&w, b->earned);
		row_i64(&w, b->spent);
		row_u64(&w, e->epoch);
		if (row_exec(conn, "INSERT INTO contrib_balances AS b (site, earned, spent, balance, "
			     "last_epoch) VALUES ($1, $2::bigint, $3::bigint, $2::bigint - $3::bigint, $4) "
			     "ON CONFLICT (site) DO UPDATE SET earned = b.earned + EXCLUDED.earned, "
			     "spent = b.spent + EXCLUDED.spent, balance = b.balance + EXCLUDED.balance, "
			     "last_epoch = EXCLUDED.last_epoch, updated_at = now()", &w, err, errlen))
			return -1;
	}
	memset(&w, 0, sizeof(w));
	row_u64(&w, e->epoch);
	return row_exec(conn, "INSERT INTO chain_outbox (epoch, state) VALUES ($1, 'pending')",
			&w, err, errlen);
}

enum cstore_close_rc cstore_epoch_close(PGconn *conn,
					const struct contrib_policy *p,
					uint64_t epoch, bool check_watermark,
					struct cstore_close_result *r,
					char *err, size_t errlen)
{
	struct usage_set s = { 0 };
	struct contrib_epoch e = { 0 };
	enum cstore_close_rc rc = CSTORE_FAILED;
	char epoch_s[24];
	bool has_wm;
	double t0;
	int found;

	memset(r, 0, sizeof(*r));
	r->epoch = epoch;
	if (epoch > INT64_MAX ||
	    contrib_epoch_bounds(epoch, p->epoch_length, &r->start, &r->end)) {
		set_err(err, errlen, "epoch %" PRIu64 " is out of range for EpochLength=%" PRId64,
			epoch, p->epoch_length);
		return CSTORE_REFUSED;
	}
	snprintf(epoch_s, sizeof(epoch_s), "%" PRIu64, epoch);
	if (exec_cmd(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL, err, errlen))
		return CSTORE_FAILED;
	if (exec_cmd(conn, "SELECT pg_advisory_xact_lock(x'" CSTORE_LOCK_KEY "'::bigint)",
		     0, NULL, err, errlen))
		goto fail;
	found = load_closed(conn, epoch_s, r, err, errlen);
	if (found < 0)
		goto fail;
	if (found) {
		rc = CSTORE_ALREADY_CLOSED;
		goto fail;	/* nothing to write: roll the reads back */
	}
	if (cstore_watermark(conn, &has_wm, &r->watermark, err, errlen))
		goto fail;
	if (check_watermark &&
	    !contrib_epoch_closable(epoch, p->epoch_length, r->watermark, p->ingest_overlap)) {
		char endt[CONTRIB_TIME_LEN + 1] = "?", wmt[CONTRIB_TIME_LEN + 1] = "never";

		contrib_time_format(r->end, endt);
		if (has_wm)
			contrib_time_format(r->watermark, wmt);
		set_err(err, errlen, "epoch %" PRIu64 " is not over: it ends at %s and late "
			"slurmdbd records get IngestOverlap=%" PRId64 "s more, but ingestion "
			"reached %s (run quorate ingest later)", epoch, endt,
			p->ingest_overlap, wmt);
		rc = CSTORE_NOT_OVER;
		goto fail;
	}
	t0 = now_s();
	if (load_rows(conn, r->start, r->end, &s, err, errlen))
		goto fail;
	r->usage_records = s.n;
	r->load_s = now_s() - t0;
	t0 = now_s();
	if (contrib_epoch_close(p, epoch, s.u, s.n, &e, err, errlen)) {
		rc = CSTORE_REFUSED;
		goto fail;
	}
	r->compute_s = now_s() - t0;
	t0 = now_s();
	if (write_epoch(conn, &e, r, err, errlen) ||
	    exec_cmd(conn, "COMMIT", 0, NULL, err, errlen))
		goto fail;
	r->write_s = now_s() - t0;
	memcpy(r->root, e.root, 32);
	memcpy(r->data_hash, e.data_hash, 32);
	snprintf(r->cpu_seconds, sizeof(r->cpu_seconds), "%" PRIu64, e.cpu_seconds);
	snprintf(r->gpu_seconds, sizeof(r->gpu_seconds), "%" PRIu64, e.gpu_seconds);
	r->records = (int64_t)e.n_records;
	r->sites_without_payee = e.n_sites_without_payee;
	r->unassigned_accounts = e.ledger.n_unassigned;
	rc = CSTORE_CLOSED;
	goto done;
fail:
	rollback(conn);
done:
	contrib_epoch_free(&e);
	usage_set_free(&s);
	return rc;
}
