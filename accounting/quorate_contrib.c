/*
 * quorate_contrib.c - `quorate ingest` and `quorate epoch close`; see
 * quorate_contrib.h.  Reading slurmdbd is common/slurmdb_usage.c, the
 * store is contrib_store.c, the numbers are libquorate_contrib's.
 */
#define _GNU_SOURCE	/* strptime, timegm */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <slurm/slurm.h>

#include "conf.h"
#include "contrib.h"
#include "qmsg.h"
#include "contrib_store.h"
#include "quorate_contrib.h"
#include "slurm_compat.h"
#include "slurmdb_usage.h"

enum { QX_OK = 0, QX_REFUSED = 1, QX_USAGE = 2, QX_UNREACHABLE = 3 };

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "quorate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see quorate --help)\n");
	return QX_USAGE;
}

/* TIME: Unix seconds, or YYYY-MM-DDTHH:MM:SS[Z] in UTC. */
static int parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;
	long v;
	char err[64];

	if (!conf_parse_long(s, 0, INT32_MAX, &v, err, sizeof(err))) {
		*out = v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (*end && strcmp(end, "Z")))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static PGconn *store_open(const struct quorate_conf *conf, int *rc)
{
	char err[512];
	PGconn *conn = PQconnectdb(conf->database);

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "quorate: error: PostgreSQL (Database=%s): %s\n",
			conf->database, PQerrorMessage(conn));
		PQfinish(conn);
		*rc = QX_UNREACHABLE;
		return NULL;
	}
	if (cstore_check_schema(conn, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: %s\n", err);
		PQfinish(conn);
		*rc = QX_REFUSED;
		return NULL;
	}
	return conn;
}

static int load_policy(const struct quorate_conf *conf, const char *conf_name,
		       struct contrib_policy *p)
{
	char err[512];

	if (contrib_policy_from_conf(p, conf, conf_name, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: %s\n", err);
		return QX_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------- ingest */

/* The local cluster's nodes and their features, from sinfo: libslurm's
 * slurm_load_node would load the configured select plugin into this
 * program (see contrib_tool.c).  Other clusters' sites come from SiteMap. */
struct local_nodes {
	char *cluster;
	char **name, **features;
	size_t n;
};

static void local_nodes_free(struct local_nodes *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->name[i]);
		free(l->features[i]);
	}
	free(l->name);
	free(l->features);
	free(l->cluster);
}

static int local_nodes_load(struct local_nodes *l)
{
	slurm_conf_t *sc = NULL;
	char line[8192];
	FILE *f;
	int status;

	memset(l, 0, sizeof(*l));
	if (slurm_load_ctl_conf((time_t)0, &sc) != SLURM_SUCCESS) {
		fprintf(stderr, "quorate: error: slurmctld: %s\n", slurm_strerror(errno));
		return -1;
	}
	l->cluster = strdup(sc->cluster_name ? sc->cluster_name : "");
	slurm_free_conf(sc);
	if (!l->cluster)
		return -1;
	f = popen("sinfo -h -N -o '%N|%f'", "r");
	if (!f) {
		fprintf(stderr, "quorate: error: sinfo: %s\n", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *bar = strchr(line, '|'), **pn, **pf;

		line[strcspn(line, "\n")] = '\0';
		if (!bar)
			continue;
		*bar = '\0';
		pn = realloc(l->name, (l->n + 1) * sizeof(*pn));
		if (pn)
			l->name = pn;
		pf = realloc(l->features, (l->n + 1) * sizeof(*pf));
		if (pf)
			l->features = pf;
		if (!pn || !pf)
			break;
		l->name[l->n] = strdup(line);
		l->features[l->n] = strdup(strcmp(bar + 1, "(null)") ? bar + 1 : "");
		l->n++;
		if (!l->name[l->n - 1] || !l->features[l->n - 1])
			break;
	}
	status = pclose(f);
	if (status) {
		fprintf(stderr, "quorate: error: sinfo failed (status %d)\n", status);
		return -1;
	}
	return 0;
}

static const char *local_features(const struct local_nodes *l, const char *cluster,
				  const char *node)
{
	if (strcmp(cluster, l->cluster))
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (l->name[i] && !strcmp(l->name[i], node))
			return l->features[i] ? l->features[i] : "";
	return NULL;
}

/* Each record's site: features, then SiteMap.  A record without one is
 * stored with no site (epoch close then says which node lacks one). */
static int assign_sites(const struct contrib_policy *p, const struct local_nodes *l,
			struct sdb_usage_batch *b, size_t *no_site)
{
	*no_site = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct contrib_usage *u = &b->records[i];
		char site[CONTRIB_NAME_MAX], err[256];
		int rc = contrib_site_of_node(p, u->cluster, u->node,
					      local_features(l, u->cluster, u->node),
					      site, err, sizeof(err));

		if (rc < 0) {
			fprintf(stderr, "quorate: error: %s\n", err);
			return QX_REFUSED;
		}
		u->site = NULL;
		if (rc) {
			u->site = contrib_strpool_add(&b->names, site);
			if (!u->site) {
				fprintf(stderr, "quorate: error: out of memory\n");
				return QX_REFUSED;
			}
		} else {
			if (*no_site < 5)
				fprintf(stderr, "quorate: warning: node %s of cluster %s has no "
					"site (no site feature, no SiteMap line)\n", u->node, u->cluster);
			(*no_site)++;
		}
	}
	return 0;
}

/* What NodeFailMissing found in one ingest. */
struct node_fail_stats {
	size_t jobs;			/* NODE_FAIL jobs of this cluster read */
	size_t counted;			/* nodes quorated counted missing now */
	size_t already;			/* ... it had counted before */
	size_t unattributed;		/* jobs with no node DOWN event in slurmdbd */
};

/* One node failure to quorated: a missing outcome for the node. */
static int send_node_fail(quorate_call_fn call, const struct sdb_node_fail_job *j,
			  const struct sdb_node_down *d, struct node_fail_stats *st)
{
	json_object *req = qmsg_request_new(QMSG_NODE_FAIL), *ans = NULL, *res;
	char reason[QMSG_REASON_MAX], when[32];
	struct tm tm;
	time_t t = (time_t)d->at;
	int rc;

	if (!req) {
		fprintf(stderr, "quorate: error: out of memory\n");
		return QX_REFUSED;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	/* Slurm's reason is the admin's or slurmctld's text: keep it printable. */
	snprintf(reason, sizeof(reason), "job %u ended NODE_FAIL; Slurm set %s DOWN at %s: %s",
		 j->job_id, d->node, when, *d->reason ? d->reason : "no reason given");
	for (char *p = reason; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	json_object_object_add(req, "cluster", json_object_new_string(j->cluster));
	json_object_object_add(req, "node", json_object_new_string(d->node));
	json_object_object_add(req, "job", json_object_new_int64(j->job_id));
	json_object_object_add(req, "at", json_object_new_int64(j->end_time));
	json_object_object_add(req, "reason", json_object_new_string(reason));
	rc = call(json_object_to_json_string(req), &ans);
	json_object_put(req);
	if (rc)
		return rc;
	if (json_object_object_get_ex(ans, "result", &res) &&
	    !strcmp(json_object_get_string(res), "duplicate"))
		st->already++;
	else
		st->counted++;
	json_object_put(ans);
	return 0;
}

/* NodeFailMissing: the jobs of this cluster that ended NODE_FAIL, each
 * node slurmdbd saw going DOWN under one counted by quorated.  Other
 * clusters' jobs are theirs to count (their quorated, their ingest). */
static int report_node_fails(struct sdb_reader *r, const struct sdb_usage_batch *b,
			     const char *cluster, quorate_call_fn call,
			     struct node_fail_stats *st)
{
	char err[512];

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < b->n_node_fail_jobs; i++) {
		const struct sdb_node_fail_job *j = &b->node_fail_jobs[i];
		struct sdb_node_down *d;
		size_t n;
		int rc = 0;

		if (strcmp(j->cluster, cluster))
			continue;
		st->jobs++;
		if (sdb_node_downs(r, j, &d, &n, err, sizeof(err))) {
			fprintf(stderr, "quorate: error: slurmdbd: %s\n", err);
			return QX_UNREACHABLE;
		}
		if (!n)
			st->unattributed++;
		for (size_t k = 0; k < n && !rc; k++)
			rc = send_node_fail(call, j, &d[k], st);
		sdb_node_downs_free(d, n);
		if (rc)
			return rc;
	}
	return 0;
}

int quorate_cmd_ingest(const struct quorate_conf *conf, const char *conf_name,
		       bool json, quorate_call_fn call, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	struct contrib_policy p;
	struct sdb_reader r = { 0 };
	struct sdb_usage_batch b = { 0 };
	struct local_nodes l = { 0 };
	struct cstore_ingest_stats st;
	struct node_fail_stats nf = { 0 };
	PGconn *conn = NULL;
	int64_t since = -1, until = -1, wm = 0;
	bool has_wm, slurm_up = false;
	size_t no_site = 0;
	char err[512];
	int opt, rc = QX_OK;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 'S':
			if (parse_time(optarg, &since))
				return usage_error("ingest: --since '%s' is not Unix seconds "
						   "nor YYYY-MM-DDTHH:MM:SS (UTC)", optarg);
			break;
		case 'U':
			if (parse_time(optarg, &until))
				return usage_error("ingest: --until '%s' is not Unix seconds "
						   "nor YYYY-MM-DDTHH:MM:SS (UTC)", optarg);
			break;
		case ':':
			return usage_error("ingest: option %s needs a value", argv[optind - 1]);
		default:
			return usage_error("ingest: unknown option '%s' (allowed: --since, --until)",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("ingest: unexpected argument '%s'", argv[optind]);
	if ((rc = load_policy(conf, conf_name, &p)))
		return rc;
	if (!(conn = store_open(conf, &rc)))
		goto done;
	if (cstore_watermark(conn, &has_wm, &wm, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: %s\n", err);
		rc = QX_UNREACHABLE;
		goto done;
	}
	if (since < 0)
		since = has_wm ? (wm > p.ingest_overlap ? wm - p.ingest_overlap : 0) : 0;
	if (until < 0)
		until = (int64_t)time(NULL);
	if (until < since) {
		fprintf(stderr, "quorate: error: ingest: --until is before the start (%" PRId64
			" < %" PRId64 ")\n", until, since);
		rc = QX_USAGE;
		goto done;
	}
	slurm_init(NULL);
	slurm_up = true;
	if (sdb_reader_open(&r, err, sizeof(err)) ||
	    sdb_usage_read(&r, since, until, &b, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: slurmdbd: %s\n", err);
		rc = QX_UNREACHABLE;
		goto done;
	}
	if (local_nodes_load(&l)) {
		rc = QX_UNREACHABLE;
		goto done;
	}
	if ((rc = assign_sites(&p, &l, &b, &no_site)))
		goto done;
	/* Before the usage is stored: should quorated be away, nothing is
	 * stored and the next ingest reads the same jobs again. */
	if (conf->node_fail_missing && (rc = report_node_fails(&r, &b, l.cluster, call, &nf)))
		goto done;
	/* A job slurmdbd holds only half of yet is read again next time. */
	if (b.unsettled && b.unsettled_end <= until)
		until = b.unsettled_end > since ? b.unsettled_end - 1 : since;
	if (cstore_ingest(conn, b.records, b.n, p.epoch_length, until, b.jobs,
			  &st, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: %s\n", err);
		rc = PQstatus(conn) == CONNECTION_OK ? QX_REFUSED : QX_UNREACHABLE;
		goto done;
	}
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "since", json_object_new_int64(since));
		json_object_object_add(o, "until", json_object_new_int64(until));
		json_object_object_add(o, "watermark", json_object_new_int64(until > wm ? until : wm));
		json_object_object_add(o, "jobs", json_object_new_int64((int64_t)b.jobs));
		json_object_object_add(o, "skipped", json_object_new_int64((int64_t)b.skipped));
		json_object_object_add(o, "unsettled", json_object_new_int64((int64_t)b.unsettled));
		json_object_object_add(o, "records", json_object_new_int64((int64_t)st.offered));
		json_object_object_add(o, "inserted", json_object_new_int64((int64_t)st.inserted));
		json_object_object_add(o, "duplicate", json_object_new_int64((int64_t)st.duplicate));
		json_object_object_add(o, "late", json_object_new_int64((int64_t)st.late));
		json_object_object_add(o, "without_site", json_object_new_int64((int64_t)no_site));
		json_object_object_add(o, "node_fail_jobs",
				       json_object_new_int64((int64_t)b.n_node_fail_jobs));
		if (conf->node_fail_missing) {
			json_object *f = json_object_new_object();

			json_object_object_add(f, "jobs", json_object_new_int64((int64_t)nf.jobs));
			json_object_object_add(f, "counted", json_object_new_int64((int64_t)nf.counted));
			json_object_object_add(f, "already_counted",
					       json_object_new_int64((int64_t)nf.already));
			json_object_object_add(f, "without_down_event",
					       json_object_new_int64((int64_t)nf.unattributed));
			json_object_object_add(o, "node_failures", f);
		}
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else {
		printf("ingested %zu finished jobs (%zu records) that ended in [%" PRId64 ", %"
		       PRId64 "]: %zu new, %zu already stored, %zu late (epoch closed)%s\n",
		       b.jobs, st.offered, since, until, st.inserted, st.duplicate, st.late,
		       no_site ? ", some without a site" : "");
		if (conf->node_fail_missing && nf.jobs)
			printf("%zu jobs of cluster %s ended NODE_FAIL: %zu node failures counted "
			       "as missing, %zu counted before, %zu jobs without a node DOWN event\n",
			       nf.jobs, l.cluster, nf.counted, nf.already, nf.unattributed);
	}
	if (st.late)
		fprintf(stderr, "quorate: warning: %zu records ended in epochs already closed and "
			"were not stored; raise IngestOverlap if this recurs\n", st.late);
done:
	sdb_usage_batch_free(&b);
	sdb_reader_close(&r);
	local_nodes_free(&l);
	if (slurm_up)
		slurm_fini();
	PQfinish(conn);
	contrib_policy_free(&p);
	return rc;
}

/* -------------------------------------------------------- epoch close */

static void hex0x(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	*out++ = '0';
	*out++ = 'x';
	for (size_t i = 0; i < n; i++) {
		*out++ = d[b[i] >> 4];
		*out++ = d[b[i] & 15];
	}
	*out = '\0';
}

static void print_close(const struct cstore_close_result *r, bool closed, bool json)
{
	char root[67], dh[67], st[CONTRIB_TIME_LEN + 1] = "?", en[CONTRIB_TIME_LEN + 1] = "?";

	hex0x(r->root, 32, root);
	hex0x(r->data_hash, 32, dh);
	contrib_time_format(r->start, st);
	contrib_time_format(r->end, en);
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "epoch", json_object_new_int64((int64_t)r->epoch));
		json_object_object_add(o, "state", json_object_new_string(closed ? "closed" :
									   "already_closed"));
		json_object_object_add(o, "start", json_object_new_string(st));
		json_object_object_add(o, "end", json_object_new_string(en));
		json_object_object_add(o, "root", json_object_new_string(root));
		json_object_object_add(o, "data_hash", json_object_new_string(dh));
		json_object_object_add(o, "cpu_seconds", json_object_new_string(r->cpu_seconds));
		json_object_object_add(o, "gpu_seconds", json_object_new_string(r->gpu_seconds));
		json_object_object_add(o, "records", json_object_new_int64(r->records));
		if (closed) {
			json_object_object_add(o, "usage_records",
					       json_object_new_int64((int64_t)r->usage_records));
			json_object_object_add(o, "ledger_rows",
					       json_object_new_int64((int64_t)r->ledger_rows));
			json_object_object_add(o, "sites_without_payee",
					       json_object_new_int64((int64_t)r->sites_without_payee));
			json_object_object_add(o, "unassigned_accounts",
					       json_object_new_int64((int64_t)r->unassigned_accounts));
		}
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return;
	}
	if (closed)
		printf("epoch %" PRIu64 " [%s, %s) closed: %" PRId64 " records from %zu usage "
		       "rows, root %s, data hash %s, cpu_seconds %s, gpu_seconds %s; "
		       "chain commit queued\n", r->epoch, st, en, r->records, r->usage_records,
		       root, dh, r->cpu_seconds, r->gpu_seconds);
	else
		printf("epoch %" PRIu64 " [%s, %s) was already closed: %" PRId64 " records, "
		       "root %s; nothing changed\n", r->epoch, st, en, r->records, root);
}

/* Close one epoch and print the outcome; an exit status. */
static int close_one(PGconn *conn, const struct contrib_policy *p, uint64_t epoch, bool json)
{
	struct cstore_close_result r;
	char err[1024];

	switch (cstore_epoch_close(conn, p, epoch, true, &r, err, sizeof(err))) {
	case CSTORE_CLOSED:
		print_close(&r, true, json);
		return QX_OK;
	case CSTORE_ALREADY_CLOSED:
		print_close(&r, false, json);
		return QX_OK;
	case CSTORE_NOT_OVER:
	case CSTORE_REFUSED:
		fprintf(stderr, "quorate: error: epoch close: %s\n", err);
		return QX_REFUSED;
	default:
		fprintf(stderr, "quorate: error: epoch close: %s\n", err);
		return PQstatus(conn) == CONNECTION_OK ? QX_REFUSED : QX_UNREACHABLE;
	}
}

static int epoch_close(const struct quorate_conf *conf, const char *conf_name,
		       bool json, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "epoch", required_argument, NULL, 'e' },
		{ "due", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct contrib_policy p;
	PGconn *conn = NULL;
	long long epoch = -1;
	bool due = false, has;
	uint64_t cur = 0, *list = NULL;
	size_t n = 0;
	int64_t wm;
	char err[1024];
	int opt, rc;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 'e': {
			char *end;

			errno = 0;
			epoch = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || epoch < 0)
				return usage_error("epoch close: --epoch '%s' is not an epoch "
						   "number (0 or more)", optarg);
			break;
		}
		case 'd':
			due = true;
			break;
		case ':':
			return usage_error("epoch close: option %s needs a value", argv[optind - 1]);
		default:
			return usage_error("epoch close: unknown option '%s' (allowed: --epoch N, --due)",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("epoch close: unexpected argument '%s'", argv[optind]);
	if (due && epoch >= 0)
		return usage_error("epoch close: --due and --epoch exclude each other");
	if ((rc = load_policy(conf, conf_name, &p)))
		return rc;
	if (!(conn = store_open(conf, &rc)))
		goto done;
	if (epoch >= 0) {
		rc = close_one(conn, &p, (uint64_t)epoch, json);
		goto done;
	}
	/* The epochs that ingestion has passed by IngestOverlap end below cur. */
	if (cstore_watermark(conn, &has, &wm, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: %s\n", err);
		rc = QX_UNREACHABLE;
		goto done;
	}
	if (!has || wm - p.ingest_overlap < 0 ||
	    contrib_epoch_of(wm - p.ingest_overlap, p.epoch_length, &cur) || cur == 0) {
		if (due) {
			printf("no epoch is due: ingestion has not passed the end of one by "
			       "IngestOverlap\n");
			rc = QX_OK;
		} else {
			fprintf(stderr, "quorate: error: epoch close: no epoch is over yet "
				"(run quorate ingest first, or give --epoch N)\n");
			rc = QX_REFUSED;
		}
		goto done;
	}
	if (!due) {
		rc = close_one(conn, &p, cur - 1, json);
		goto done;
	}
	/* --due: every epoch a missed run left, oldest first. */
	if (cstore_due_epochs(conn, p.epoch_length, cur, &list, &n, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: %s\n", err);
		rc = PQstatus(conn) == CONNECTION_OK ? QX_REFUSED : QX_UNREACHABLE;
		goto done;
	}
	if (!n)
		printf("no epoch is due: the latest that ingestion has passed, %llu, is closed\n",
		       (unsigned long long)(cur - 1));
	for (size_t i = 0; i < n && rc == QX_OK; i++)
		rc = close_one(conn, &p, list[i], json);
done:
	free(list);
	PQfinish(conn);
	contrib_policy_free(&p);
	return rc;
}

int quorate_cmd_epoch(const struct quorate_conf *conf, const char *conf_name,
		      bool json, int argc, char **argv)
{
	if (argc < 2)
		return usage_error("epoch: give a subcommand (allowed: %s)", "close");
	if (strcmp(argv[1], "close"))
		return usage_error("epoch: unknown subcommand '%s' (allowed: close)", argv[1]);
	return epoch_close(conf, conf_name, json, argc - 1, argv + 1);
}
