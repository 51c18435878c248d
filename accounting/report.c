/*
 * quorate report: CPU, GPU and node hours and job counts from slurmdbd
 * (libslurmdb, the way sacct asks), replica outcomes and reputation from
 * quorated's PostgreSQL, grouped by site, account, user or node.  Columns
 * of other schemas' tables (credits) are read only where the table exists.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <slurm/slurm.h>
#include <slurm/slurmdb.h>

#include "report.h"
#include "report_fmt.h"
#include "slurm_compat.h"

static double v_cpu(const struct report_row *r, size_t o) { (void)o; return r->cpu_s / 3600; }
static double v_gpu(const struct report_row *r, size_t o) { (void)o; return r->gpu_s / 3600; }
static double v_node(const struct report_row *r, size_t o) { (void)o; return r->node_s / 3600; }
static double v_jobs(const struct report_row *r, size_t o) { (void)o; return (double)r->jobs; }
static double v_agree(const struct report_row *r, size_t o) { (void)o; return r->agree; }
static double v_disagree(const struct report_row *r, size_t o) { (void)o; return r->disagree; }
static double v_missing(const struct report_row *r, size_t o) { (void)o; return r->missing; }
static double v_opt(const struct report_row *r, size_t o) { return r->opt[o]; }

/* Optional columns: read from TABLE when it exists (to_regclass), for the
 * grouping BY, into row->opt[SLOT].  SQL returns (key text, value float8);
 * with PERIOD it gets $1 = from, $2 = to (Unix seconds) and $3 =
 * EpochLength, and reads the epochs whose period overlaps [from, to). */
struct opt_column {
	const char *table;
	enum report_by by;
	size_t slot;
	bool period;
	const char *sql;
};
/* The ledger names a site by its whole feature (site_a); the report, like
 * quorated's nodes table, by what follows the prefix (a). */
#define LEDGER_SITE "regexp_replace(site, '^site_', '')"
#define IN_PERIOD "r.epoch::numeric * $3 < $2::numeric AND (r.epoch::numeric + 1) * $3 > $1::numeric"
enum { OPT_EARNED, OPT_SPENT, OPT_BALANCE, OPT_SCORE, OPT_REWARDS };
static const struct opt_column opt_columns[] = {
	{ "contrib_balances", BY_SITE, OPT_EARNED, false,
	  "SELECT " LEDGER_SITE ", earned / 1e6 FROM contrib_balances" },
	{ "contrib_balances", BY_SITE, OPT_SPENT, false,
	  "SELECT " LEDGER_SITE ", spent / 1e6 FROM contrib_balances" },
	{ "contrib_balances", BY_SITE, OPT_BALANCE, false,
	  "SELECT " LEDGER_SITE ", balance / 1e6 FROM contrib_balances" },
	{ "epoch_records", BY_SITE, OPT_SCORE, true,
	  "SELECT " LEDGER_SITE ", sum(score) / 1e6 FROM epoch_records r WHERE " IN_PERIOD
	  " GROUP BY 1" },
	{ "contrib_epoch_nodes", BY_NODE, OPT_SCORE, true,
	  "SELECT n.node, sum(r.score) / 1e6 FROM epoch_records r "
	  "JOIN contrib_epoch_nodes n USING (epoch, idx) WHERE " IN_PERIOD " GROUP BY 1" },
};

const struct report_column report_columns[] = {
	/* Hours to 6 decimals: a few seconds' jobs still show (1 s = 0.000278 h). */
	{ "CPU Hours", "h", "cpu_hours", 6, v_cpu, 0 },
	{ "GPU Hours", "h", "gpu_hours", 6, v_gpu, 0 },
	{ "Node Hours", "h", "node_hours", 6, v_node, 0 },
	{ "Number of Jobs", NULL, "jobs", 0, v_jobs, 0 },
	{ "Verified Replicas", NULL, "verified_replicas", 0, v_agree, 0 },
	{ "Rejected Replicas", NULL, "rejected_replicas", 0, v_disagree, 0 },
	{ "Missing Replicas", NULL, "missing_replicas", 0, v_missing, 0 },
	{ "Credits Earned", "credits", "credits_earned", 2, v_opt, 0 },
	{ "Credits Spent", "credits", "credits_spent", 2, v_opt, 1 },
	{ "Credit Balance", "credits", "credit_balance", 2, v_opt, 2 },
	{ "Contribution Score", NULL, "contribution_score", 6, v_opt, 3 },
	{ "Rewards Paid", "ETH", "rewards_paid_eth", 6, v_opt, 4 },
};
const size_t report_ncolumns = sizeof(report_columns) / sizeof(report_columns[0]);

const char *report_by_name(enum report_by by)
{
	static const char *const names[] = { "site", "account", "user", "node", "epoch" };
	return names[by];
}

void report_note(struct report *r, const char *msg)
{
	if (r->nnotes < sizeof(r->notes) / sizeof(r->notes[0]))
		r->notes[r->nnotes++] = msg;
}

struct report_row *report_row_get(struct report *r, const char *key)
{
	struct report_row *n;

	for (size_t i = 0; i < r->nrows; i++)
		if (!strcmp(r->rows[i].key, key))
			return &r->rows[i];
	n = realloc(r->rows, (r->nrows + 1) * sizeof(*n));
	if (!n)
		return NULL;
	r->rows = n;
	n = &r->rows[r->nrows];
	memset(n, 0, sizeof(*n));
	for (size_t i = 0; i < REPORT_MAX_OPT; i++)
		n->opt[i] = NAN;
	if (!(n->key = strdup(key)))
		return NULL;
	r->nrows++;
	return n;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct report_row *)a)->key, ((const struct report_row *)b)->key);
}

/* Node -> site, from the node's site_ feature as sinfo prints it (loading
 * node info through libslurm would load the select plugin). */
struct site_map { char **node, **site; size_t n; };

static int site_map_load(struct site_map *m)
{
	FILE *p = popen("sinfo -h -N -o '%N %f' 2>/dev/null", "r");
	char line[4096];

	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char node[256], feat[3800], *s, *tok, *save = NULL, **nn, **ns;

		if (sscanf(line, "%255s %3799s", node, feat) != 2)
			continue;
		s = NULL;
		for (tok = strtok_r(feat, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (!strncmp(tok, "site_", 5) && tok[5])
				s = tok + 5;
		nn = realloc(m->node, (m->n + 1) * sizeof(char *));
		if (nn)
			m->node = nn;
		ns = realloc(m->site, (m->n + 1) * sizeof(char *));
		if (ns)
			m->site = ns;
		if (!nn || !ns)
			break;
		m->node[m->n] = strdup(node);
		m->site[m->n] = strdup(s ? s : "(none)");
		if (!m->node[m->n] || !m->site[m->n])
			break;
		m->n++;
	}
	return pclose(p) == 0 ? 0 : -1;
}

static const char *site_of(const struct site_map *m, const char *node)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->node[i], node))
			return m->site[i];
	return "(unknown)";
}

static void site_map_free(struct site_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->node[i]);
		free(m->site[i]);
	}
	free(m->node);
	free(m->site);
}

/* A job's owner, account and nodes, to attribute replica outcomes. */
struct job_ref { uint32_t id; char *account, *user; };

static int tres_gpu_id(void *db)
{
	slurmdb_tres_cond_t cond = { 0 };
	list_t *l;
	int id = -1;

	cond.with_deleted = 1;
	if (!(l = slurmdb_tres_get(db, &cond)))
		return -1;
	list_itr_t *it = slurm_list_iterator_create(l);
	slurmdb_tres_rec_t *t;

	while ((t = slurm_list_next(it)))
		if (t->type && t->name && !strcmp(t->type, "gres") && !strcmp(t->name, "gpu"))
			id = (int)t->id;
	slurm_list_iterator_destroy(it);
	slurm_list_destroy(l);
	return id;
}

static uint64_t tres_count(const char *tres, int id)
{
	return id < 0 ? 0 : report_tres_count(tres, (unsigned)id);
}

/* Usage from slurmdbd into R; JOBS gets every job seen. */
static int read_slurmdbd(struct report *r, const struct site_map *sites,
			 struct job_ref **jobs, size_t *njobs, char *err, size_t errlen)
{
	slurmdb_job_cond_t cond = { 0 };
	void *db = slurmdb_connection_get(NULL);
	list_t *l = NULL;
	int gpu, rv = -1;
	time_t now = time(NULL);

	if (!db) {
		snprintf(err, errlen, "slurmdbd: cannot connect (is AccountingStorageType set?)");
		return -1;
	}
	cond.usage_start = r->from;
	cond.usage_end = r->to;
	cond.flags = JOBCOND_FLAG_NO_STEP | JOBCOND_FLAG_NO_TRUNC;
	cond.db_flags = SLURMDB_JOB_FLAG_NOTSET;
	cond.cluster_list = slurm_list_create(NULL);
	slurm_list_append(cond.cluster_list, (void *)r->cluster);
	gpu = tres_gpu_id(db);
	if (!(l = slurmdb_jobs_get(db, &cond))) {
		snprintf(err, errlen, "slurmdbd: the job query failed");
		goto fail;
	}
	list_itr_t *it = slurm_list_iterator_create(l);
	slurmdb_job_rec_t *j;

	while ((j = slurm_list_next(it))) {
		time_t end = j->end ? j->end : now;
		double secs = report_overlap_seconds(j->start, end, r->from, r->to);
		double cpus = (double)tres_count(j->tres_alloc_str, 1)	/* TRES 1 is cpu in every slurmdbd */;
		double gpus = (double)tres_count(j->tres_alloc_str, gpu);
		double nnodes = j->alloc_nodes ? j->alloc_nodes : 1;
		struct job_ref *jr = realloc(*jobs, (*njobs + 1) * sizeof(**jobs));

		if (!jr)
			goto fail_it;
		*jobs = jr;
		jr[*njobs].id = j->jobid;
		jr[*njobs].account = strdup(j->account ? j->account : "");
		jr[*njobs].user = strdup(j->user ? j->user : "");
		(*njobs)++;
		if (!j->start || secs <= 0 || !j->nodes)
			continue;
		if (r->by == BY_ACCOUNT || r->by == BY_USER) {
			const char *k = r->by == BY_ACCOUNT ? j->account : j->user;
			struct report_row *row = report_row_get(r, k && *k ? k : "(none)");

			if (!row)
				goto fail_it;
			row->cpu_s += cpus * secs;
			row->gpu_s += gpus * secs;
			row->node_s += nnodes * secs;
			row->jobs++;
			continue;
		}
		/* By node or site: the job's share on each of its nodes (even
		 * split); a job counts once per row it touches. */
		quorate_hostlist_t hl = slurm_hostlist_create(j->nodes);
		char *h, *seen[256];
		size_t nseen = 0;

		if (!hl)
			goto fail_it;
		while ((h = slurm_hostlist_shift(hl))) {
			const char *k = r->by == BY_NODE ? h : site_of(sites, h);
			struct report_row *row = report_row_get(r, k);
			bool first = true;

			if (!row) {
				free(h);
				slurm_hostlist_destroy(hl);
				goto fail_it;
			}
			row->cpu_s += cpus * secs / nnodes;
			row->gpu_s += gpus * secs / nnodes;
			row->node_s += secs;
			for (size_t i = 0; i < nseen; i++)
				if (seen[i] == row->key)
					first = false;
			if (first) {
				row->jobs++;
				if (nseen < 256)
					seen[nseen++] = row->key;
			}
			free(h);
		}
		slurm_hostlist_destroy(hl);
	}
	rv = 0;
fail_it:
	slurm_list_iterator_destroy(it);
	if (rv)
		snprintf(err, errlen, "out of memory");
fail:
	if (l)
		slurm_list_destroy(l);
	slurm_list_destroy(cond.cluster_list);
	slurmdb_connection_close(&db);
	return rv;
}

static PGresult *pq_exec(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return NULL;
	}
	return res;
}

static bool table_exists(PGconn *c, const char *name)
{
	const char *p[] = { name };
	PGresult *res = pq_exec(c, "SELECT to_regclass($1) IS NOT NULL", 1, p);
	bool yes = res && PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");

	PQclear(res);
	return yes;
}

static const char *group_of_job(const struct report *r, const struct job_ref *jobs,
				size_t njobs, uint32_t id)
{
	for (size_t i = 0; i < njobs; i++)
		if (jobs[i].id == id)
			return r->by == BY_ACCOUNT ? jobs[i].account : jobs[i].user;
	return "(unknown)";
}

static int read_postgres(struct report *r, const char *conninfo, long epoch_length,
			 const struct site_map *sites, const struct job_ref *jobs, size_t njobs,
			 char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(conninfo);
	char from[32], to[32], len[32];
	const char *p[] = { r->cluster, from, to };
	PGresult *res = NULL;
	int rv = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "database: %s", PQerrorMessage(c));
		err[strcspn(err, "\n")] = 0;
		goto fail;
	}
	snprintf(from, sizeof(from), "%lld", (long long)r->from);
	snprintf(to, sizeof(to), "%lld", (long long)r->to);
	snprintf(len, sizeof(len), "%ld", epoch_length);
	res = pq_exec(c, "SELECT o.job_id, n.node, o.outcome, count(*) "
		      "FROM replica_outcomes o, unnest(o.nodes) AS n(node) "
		      "WHERE o.cluster = $1 AND o.decided_at >= to_timestamp($2::bigint) "
		      "AND o.decided_at < to_timestamp($3::bigint) GROUP BY 1, 2, 3", 3, p);
	if (!res) {
		snprintf(err, errlen, "database: %s", PQerrorMessage(c));
		goto fail;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		uint32_t id = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		const char *node = PQgetvalue(res, i, 1), *outcome = PQgetvalue(res, i, 2);
		double n = strtod(PQgetvalue(res, i, 3), NULL);
		const char *k = r->by == BY_NODE ? node : r->by == BY_SITE ? site_of(sites, node) :
				group_of_job(r, jobs, njobs, id);
		struct report_row *row = report_row_get(r, k && *k ? k : "(none)");

		if (!row)
			goto oom;
		if (!strcmp(outcome, "agree"))
			row->agree += n;
		else if (!strcmp(outcome, "disagree"))
			row->disagree += n;
		else
			row->missing += n;
	}
	PQclear(res);
	res = pq_exec(c, "SELECT score FROM nodes WHERE cluster = $1", 1, p);
	if (res && PQntuples(res) > 0) {
		if (!(r->scores = calloc((size_t)PQntuples(res), sizeof(double))))
			goto oom;
		for (int i = 0; i < PQntuples(res); i++)
			r->scores[r->nscores++] = strtod(PQgetvalue(res, i, 0), NULL);
	}
	PQclear(res);
	res = NULL;
	for (size_t o = 0; o < sizeof(opt_columns) / sizeof(opt_columns[0]); o++) {
		const struct opt_column *oc = &opt_columns[o];
		const char *pp[] = { from, to, len };

		if (oc->by != r->by || !table_exists(c, oc->table))
			continue;
		if (!(res = pq_exec(c, oc->sql, oc->period ? 3 : 0, oc->period ? pp : NULL))) {
			snprintf(err, errlen, "database: %s: %s", oc->table, PQerrorMessage(c));
			err[strcspn(err, "\n")] = '\0';
			goto fail;
		}
		for (int i = 0; i < PQntuples(res); i++) {
			struct report_row *row = report_row_get(r, PQgetvalue(res, i, 0));

			if (!row)
				goto oom;
			row->opt[oc->slot] = strtod(PQgetvalue(res, i, 1), NULL);
		}
		PQclear(res);
		res = NULL;
	}
	if (!table_exists(c, "contrib_balances"))
		report_note(r, "Credits: no contrib_balances table in this database (schema 003).");
	if (table_exists(c, "contrib_ledger")) {
		res = pq_exec(c, "SELECT epoch::text, "
			      "coalesce(sum(amount) FILTER (WHERE kind = 'earned'), 0) / 1e6, "
			      "coalesce(-sum(amount) FILTER (WHERE kind = 'spent'), 0) / 1e6 "
			      "FROM contrib_ledger GROUP BY epoch ORDER BY epoch", 0, NULL);
		int n = res ? PQntuples(res) : 0;

		if (n > 0) {
			r->epochs = calloc((size_t)n, sizeof(char *));
			r->earned = calloc((size_t)n, sizeof(double));
			r->spent = calloc((size_t)n, sizeof(double));
			if (!r->epochs || !r->earned || !r->spent)
				goto oom;
			for (int i = 0; i < n; i++) {
				if (!(r->epochs[i] = strdup(PQgetvalue(res, i, 0))))
					goto oom;
				r->earned[i] = strtod(PQgetvalue(res, i, 1), NULL);
				r->spent[i] = strtod(PQgetvalue(res, i, 2), NULL);
				r->nepochs++;
			}
		}
	}
	rv = 0;
	goto fail;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	PQclear(res);
	PQfinish(c);
	return rv;
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->nrows; i++)
		free(r->rows[i].key);
	free(r->rows);
	free(r->scores);
	for (size_t i = 0; i < r->nepochs; i++)
		free(r->epochs[i]);
	free(r->epochs);
	free(r->earned);
	free(r->spent);
}

/* ---- text formats ---- */

static void header_of(const struct report_column *c, char *buf, size_t len)
{
	if (c->unit)
		snprintf(buf, len, "%s [%s]", c->header, c->unit);
	else
		snprintf(buf, len, "%s", c->header);
}

static const char *key_header(enum report_by by)
{
	static const char *const h[] = { "Site", "Account", "User", "Node", "Epoch" };
	return h[by];
}

int report_write_table(FILE *f, const struct report *r)
{
	int w[16];
	char buf[64];
	int kw = (int)strlen(key_header(r->by));

	for (size_t i = 0; i < r->nrows; i++)
		if ((int)strlen(r->rows[i].key) > kw)
			kw = (int)strlen(r->rows[i].key);
	fprintf(f, "%-*s", kw, key_header(r->by));
	for (size_t c = 0; c < report_ncolumns; c++) {
		header_of(&report_columns[c], buf, sizeof(buf));
		w[c] = (int)strlen(buf);
		fprintf(f, "  %*s", w[c], buf);
	}
	fputc('\n', f);
	for (size_t i = 0; i < r->nrows; i++) {
		fprintf(f, "%-*s", kw, r->rows[i].key);
		for (size_t c = 0; c < report_ncolumns; c++) {
			const struct report_column *col = &report_columns[c];

			report_fmt_number(col->value(&r->rows[i], col->opt), col->digits, buf, sizeof(buf));
			fprintf(f, "  %*s", w[c], buf);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->nnotes; i++)
		fprintf(f, "# %s\n", r->notes[i]);
	return ferror(f) ? -1 : 0;
}

int report_write_csv(FILE *f, const struct report *r)
{
	char buf[64], from[40], to[40];

	report_iso_time(r->from, from, sizeof(from));
	report_iso_time(r->to, to, sizeof(to));
	fputs("Period Start,Period End,", f);
	report_csv_field(f, key_header(r->by));
	for (size_t c = 0; c < report_ncolumns; c++) {
		header_of(&report_columns[c], buf, sizeof(buf));
		fputc(',', f);
		report_csv_field(f, buf);
	}
	fputs("\r\n", f);
	for (size_t i = 0; i < r->nrows; i++) {
		fprintf(f, "%s,%s,", from, to);
		report_csv_field(f, r->rows[i].key);
		for (size_t c = 0; c < report_ncolumns; c++) {
			const struct report_column *col = &report_columns[c];

			report_fmt_number(col->value(&r->rows[i], col->opt), col->digits, buf, sizeof(buf));
			fputc(',', f);
			report_csv_field(f, buf);
		}
		fputs("\r\n", f);
	}
	return ferror(f) ? -1 : 0;
}

int report_write_json(FILE *f, const struct report *r)
{
	json_object *top = json_object_new_object(), *rows = json_object_new_array();
	char from[40], to[40];
	int rv;

	if (!top || !rows) {
		json_object_put(top);
		json_object_put(rows);
		return -1;
	}
	report_iso_time(r->from, from, sizeof(from));
	report_iso_time(r->to, to, sizeof(to));
	json_object_object_add(top, "cluster", json_object_new_string(r->cluster));
	json_object_object_add(top, "from", json_object_new_string(from));
	json_object_object_add(top, "to", json_object_new_string(to));
	json_object_object_add(top, "by", json_object_new_string(report_by_name(r->by)));
	for (size_t i = 0; i < r->nrows; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, report_by_name(r->by), json_object_new_string(r->rows[i].key));
		for (size_t c = 0; c < report_ncolumns; c++) {
			const struct report_column *col = &report_columns[c];
			double v = col->value(&r->rows[i], col->opt);

			json_object_object_add(o, col->json, isnan(v) ? NULL :
					       col->digits ? json_object_new_double(v) :
					       json_object_new_int64((int64_t)llround(v)));
		}
		json_object_array_add(rows, o);
	}
	json_object_object_add(top, "rows", rows);
	rv = fprintf(f, "%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY)) < 0;
	json_object_put(top);
	return rv ? -1 : 0;
}

/* ---- the command ---- */

static void die_opt(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_opt(const char *fmt, ...)
{
	va_list ap;

	fputs("quorate: error: report: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	exit(2);
}

static int pick(const char *opt, const char *arg, const char *const *names, size_t n,
		const char *allowed)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return (int)i;
	die_opt("%s: '%s' is not one of %s", opt, arg, allowed);
}

int cmd_report(int argc, char **argv, const struct quorate_conf *conf, int timeout_s)
{
	const char *database = conf->database;
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "by", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "cluster", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const bys[] = { "site", "account", "user", "node", "epoch" };
	static const char *const fmts[] = { "table", "csv", "json", "html" };
	struct report r = { .by = BY_SITE };
	enum report_format fmt = FMT_TABLE;
	const char *from = NULL, *to = NULL, *out = NULL, *cluster = NULL;
	struct site_map sites = { 0 };
	struct job_ref *jobs = NULL;
	size_t njobs = 0;
	char err[512];
	FILE *f = stdout;
	slurm_conf_t *ctl = NULL;
	char *cluster_buf = NULL;
	int opt, rv = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'F': from = optarg; break;
		case 'T': to = optarg; break;
		case 'b': r.by = (enum report_by)pick("--by", optarg, bys, 5,
						      "site, account, user, node, epoch"); break;
		case 'm': fmt = (enum report_format)pick("--format", optarg, fmts, 4,
							 "table, csv, json, html"); break;
		case 'o': out = optarg; break;
		case 'c': cluster = optarg; break;
		case ':': die_opt("option %s needs a value", argv[optind - 1]);
		default: die_opt("unknown option '%s' (allowed: --from, --to, --by, --format, -o)",
				 argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_opt("unexpected argument '%s'", argv[optind]);
	if (!from || !to)
		die_opt("%s is required (YYYY-MM-DD[THH:MM[:SS]])", from ? "--to" : "--from");
	if (report_parse_date(from, &r.from, err, sizeof(err)))
		die_opt("--from: %s", err);
	if (report_parse_date(to, &r.to, err, sizeof(err)))
		die_opt("--to: %s", err);
	if (r.to <= r.from)
		die_opt("--to: '%s' is not after --from '%s'", to, from);
	if (r.by == BY_EPOCH) {
		/* Epochs are quorated's (one store per site), not one cluster's:
		 * neither slurmctld nor slurmdbd is asked. */
		if (out && !(f = fopen(out, "w"))) {
			fprintf(stderr, "quorate: error: report: -o %s: %m\n", out);
			return 1;
		}
		rv = report_by_epoch(&r, fmt, f, conf, timeout_s);
		if ((f != stdout ? fclose(f) : fflush(f)) || rv < 0) {
			fprintf(stderr, "quorate: error: report: %s: write failed\n", out ? out : "stdout");
			rv = 1;
		}
		return rv;
	}

	slurm_init(NULL);
	if (!cluster && slurm_load_ctl_conf((time_t)0, &ctl) == SLURM_SUCCESS && ctl->cluster_name)
		cluster = cluster_buf = strdup(ctl->cluster_name);
	if (ctl)
		slurm_free_conf(ctl);
	r.cluster = cluster;
	if (!r.cluster) {
		fprintf(stderr, "quorate: error: report: cannot read ClusterName from slurmctld; give --cluster\n");
		goto fail;
	}
	if (site_map_load(&sites))
		report_note(&r, "Sites: sinfo failed; nodes have site (unknown).");
	if (read_slurmdbd(&r, &sites, &jobs, &njobs, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: report: %s\n", err);
		rv = 3;
		goto fail;
	}
	if (database && *database) {
		if (read_postgres(&r, database, conf->epoch_length, &sites, jobs, njobs,
				  err, sizeof(err))) {
			fprintf(stderr, "quorate: error: report: %s\n", err);
			rv = 3;
			goto fail;
		}
	} else {
		report_note(&r, "Replicas: no Database= in quorate.conf.");
	}
	if (r.by == BY_SITE && database && *database &&
	    report_rewards_by_site(&r, conf, timeout_s, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: report: %s\n", err);
		rv = 3;
		goto fail;
	}
	qsort(r.rows, r.nrows, sizeof(*r.rows), row_cmp);
	if (out && !(f = fopen(out, "w"))) {
		fprintf(stderr, "quorate: error: report: -o %s: %m\n", out);
		goto fail;
	}
	switch (fmt) {
	case FMT_TABLE: rv = report_write_table(f, &r); break;
	case FMT_CSV: rv = report_write_csv(f, &r); break;
	case FMT_JSON: rv = report_write_json(f, &r); break;
	case FMT_HTML: rv = report_write_html(f, &r); break;
	}
	if ((f != stdout ? fclose(f) : fflush(f)) || rv) {
		fprintf(stderr, "quorate: error: report: %s: write failed\n", out ? out : "stdout");
		rv = 1;
	}
fail:
	for (size_t i = 0; i < njobs; i++) {
		free(jobs[i].account);
		free(jobs[i].user);
	}
	free(jobs);
	site_map_free(&sites);
	report_free(&r);
	free(cluster_buf);
	slurm_fini();
	return rv;
}
