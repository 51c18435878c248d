/*
 * contrib_tool - libquorate_contrib and the slurmdbd reader from the command
 * line, for the integration tests (t60-t64) and for looking at a site's
 * numbers by hand.  Not installed; the user-facing commands will be
 * `quorate epoch ...` once quorated runs them from its store.
 *
 *   contrib_tool read [--since T] [--until T] [COMMON]
 *       finished jobs from slurmdbd, one record per job and node (JSON)
 *   contrib_tool close (--epoch N | --epoch-of T) [--csv FILE] [--proofs]
 *                      [--pool WEI] [COMMON]
 *       read the epoch's jobs and close it: records, leaves, root, totals,
 *       data hash, ledger; with --pool, the reward split (JSON)
 *   contrib_tool hook [--balance SITE=CREDITS]... [--cluster-site CLUSTER=SITE]...
 *                     [--blocked ACCOUNT]... [--run] [--conf FILE]
 *       the balance hook's sacctmgr commands (run them with --run)
 *
 * COMMON: --conf FILE (quorate.conf: SiteMap, AccountSite, SitePayee,
 * BillingWeights, EpochLength; default: none, quorate.conf's defaults),
 * --no-features (sites from SiteMap only), and, standing in for quorated's
 * store until it is merged: --outcome JOBID:NODE=agree|disagree|missing
 * (a replicated step's outcome), --reputation NODE=SCORE.
 *
 * Sites: records of the cluster that SLURM_CONF names take the site from
 * their node's features (sinfo); other clusters' from SiteMap.
 * Exit status: 0 done, 1 bad usage, 2 a service failed, 3 the data were
 * refused (e.g. a node without a site).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <slurm/slurm.h>

#include "contrib.h"
#include "contrib_strpool.h"
#include "hash.h"
#include "qconf.h"
#include "slurm_compat.h"
#include "slurmdb_usage.h"

enum { EXIT_USAGE = 1, EXIT_SERVICE = 2, EXIT_REFUSED = 3 };

struct kv {
	char *key, *value;
};

struct opts {
	const char *conf, *csv, *pool;
	int64_t since, until, epoch_of;
	long long epoch;
	bool no_features, proofs, run;
	struct kv *outcomes, *reputations, *balances, *cluster_sites;
	size_t n_outcomes, n_reputations, n_balances, n_cluster_sites;
	const char **blocked;
	size_t n_blocked;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: contrib_tool read [--since T] [--until T] [COMMON]\n"
		"       contrib_tool close (--epoch N | --epoch-of T) [--csv FILE] [--proofs] "
		"[--pool WEI] [COMMON]\n"
		"       contrib_tool hook [--balance SITE=CREDITS]... "
		"[--cluster-site CLUSTER=SITE]... [--blocked ACCOUNT]... [--run] [--conf FILE]\n"
		"COMMON: --conf FILE --no-features --outcome JOBID:NODE=agree|disagree|missing "
		"--reputation NODE=SCORE\n");
}

static int add_kv(struct kv **arr, size_t *n, const char *opt, const char *arg)
{
	const char *eq = strrchr(arg, '=');
	struct kv *p;

	if (!eq || eq == arg || !eq[1]) {
		fprintf(stderr, "contrib_tool: %s: '%s' is not KEY=VALUE\n", opt, arg);
		return -1;
	}
	p = realloc(*arr, (*n + 1) * sizeof(*p));
	if (!p)
		return -1;
	*arr = p;
	p[*n].key = strndup(arg, (size_t)(eq - arg));
	p[*n].value = strdup(eq + 1);
	if (!p[*n].key || !p[*n].value)
		return -1;
	(*n)++;
	return 0;
}

static int parse_i64(const char *opt, const char *s, int64_t *v)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || !*s || *end || x < 0) {
		fprintf(stderr, "contrib_tool: %s: '%s' is not a non-negative integer\n", opt, s);
		return -1;
	}
	*v = x;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "conf", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "epoch", required_argument, NULL, 'e' },
		{ "epoch-of", required_argument, NULL, 'E' },
		{ "csv", required_argument, NULL, 'C' },
		{ "proofs", no_argument, NULL, 'p' },
		{ "pool", required_argument, NULL, 'P' },
		{ "no-features", no_argument, NULL, 'n' },
		{ "outcome", required_argument, NULL, 'o' },
		{ "reputation", required_argument, NULL, 'r' },
		{ "balance", required_argument, NULL, 'b' },
		{ "cluster-site", required_argument, NULL, 'S' },
		{ "blocked", required_argument, NULL, 'B' },
		{ "run", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	int64_t v;

	memset(o, 0, sizeof(*o));
	o->until = (int64_t)time(NULL);
	o->epoch = -1;
	o->epoch_of = -1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->conf = optarg; break;
		case 's': if (parse_i64("--since", optarg, &o->since)) return -1; break;
		case 'u': if (parse_i64("--until", optarg, &o->until)) return -1; break;
		case 'e': if (parse_i64("--epoch", optarg, &v)) return -1; o->epoch = v; break;
		case 'E': if (parse_i64("--epoch-of", optarg, &o->epoch_of)) return -1; break;
		case 'C': o->csv = optarg; break;
		case 'p': o->proofs = true; break;
		case 'P': o->pool = optarg; break;
		case 'n': o->no_features = true; break;
		case 'o':
			if (add_kv(&o->outcomes, &o->n_outcomes, "--outcome", optarg))
				return -1;
			break;
		case 'r':
			if (add_kv(&o->reputations, &o->n_reputations, "--reputation", optarg))
				return -1;
			break;
		case 'b':
			if (add_kv(&o->balances, &o->n_balances, "--balance", optarg))
				return -1;
			break;
		case 'S':
			if (add_kv(&o->cluster_sites, &o->n_cluster_sites, "--cluster-site", optarg))
				return -1;
			break;
		case 'B': {
			const char **p = realloc(o->blocked, (o->n_blocked + 1) * sizeof(*p));

			if (!p)
				return -1;
			o->blocked = p;
			o->blocked[o->n_blocked++] = optarg;
			break;
		}
		case 'R': o->run = true; break;
		default: usage(); return -1;
		}
	}
	return 0;
}

static void free_kvs(struct kv *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].key);
		free(a[i].value);
	}
	free(a);
}

static int load_policy(const struct opts *o, struct contrib_policy *p)
{
	struct quorate_conf conf;
	char err[512];

	if (!o->conf)
		return contrib_policy_default(p) ? EXIT_USAGE : 0;
	if (qconf_load(o->conf, &conf, err, sizeof(err))) {
		fprintf(stderr, "contrib_tool: %s\n", err);
		return EXIT_USAGE;
	}
	if (contrib_policy_from_conf(p, &conf, o->conf, err, sizeof(err))) {
		fprintf(stderr, "contrib_tool: %s\n", err);
		qconf_free(&conf);
		return EXIT_USAGE;
	}
	qconf_free(&conf);
	return 0;
}

/* The local cluster's name (slurmctld) and its nodes' features, from
 * sinfo: slurm_load_node would make libslurm load the configured select
 * plugin, and a plugin that needs slurmctld's symbols (select/reputation
 * references last_node_update) cannot load into a program linked with the
 * public libslurm; Slurm's own commands link libslurmfull, which has them. */
struct local_node {
	char *name, *features;
};

struct local_nodes {
	char *cluster;
	struct local_node *nodes;
	size_t n;
	bool loaded;
};

static int load_local_nodes(struct local_nodes *l)
{
	slurm_conf_t *conf = NULL;
	char line[8192];
	FILE *f;
	int status;

	memset(l, 0, sizeof(*l));
	if (slurm_load_ctl_conf((time_t)0, &conf) != SLURM_SUCCESS) {
		fprintf(stderr, "contrib_tool: slurm_load_ctl_conf: %s\n", slurm_strerror(errno));
		return -1;
	}
	l->cluster = strdup(conf->cluster_name ? conf->cluster_name : "");
	slurm_free_conf(conf);
	if (!l->cluster)
		return -1;
	f = popen("sinfo -h -N -o '%N|%f'", "r");
	if (!f) {
		fprintf(stderr, "contrib_tool: sinfo: %s\n", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *bar = strchr(line, '|');
		struct local_node *p;

		line[strcspn(line, "\n")] = '\0';
		if (!bar)
			continue;
		*bar = '\0';
		p = realloc(l->nodes, (l->n + 1) * sizeof(*p));
		if (!p)
			break;
		l->nodes = p;
		p[l->n].name = strdup(line);
		p[l->n].features = strdup(strcmp(bar + 1, "(null)") ? bar + 1 : "");
		l->n++;
	}
	status = pclose(f);
	if (status) {
		fprintf(stderr, "contrib_tool: sinfo failed (status %d)\n", status);
		return -1;
	}
	l->loaded = true;
	return 0;
}

static void free_local_nodes(struct local_nodes *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->nodes[i].name);
		free(l->nodes[i].features);
	}
	free(l->nodes);
	free(l->cluster);
}

static const char *local_features(const struct local_nodes *l, const char *cluster,
				  const char *node)
{
	if (!l->loaded || strcmp(cluster, l->cluster))
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (l->nodes[i].name && !strcmp(l->nodes[i].name, node))
			return l->nodes[i].features ? l->nodes[i].features : "";
	return NULL;
}

/* Sites, stand-in outcomes and reputations onto the records. */
static int annotate(const struct opts *o, const struct contrib_policy *p,
		    const struct local_nodes *l, struct sdb_usage_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct contrib_usage *u = &b->records[i];
		char site[CONTRIB_NAME_MAX], err[256], key[128];
		int rc = contrib_site_of_node(p, u->cluster, u->node,
					      local_features(l, u->cluster, u->node),
					      site, err, sizeof(err));

		if (rc < 0) {
			fprintf(stderr, "contrib_tool: %s\n", err);
			return EXIT_REFUSED;
		}
		u->site = rc ? contrib_strpool_add(&b->names, site) : NULL;
		if (rc && !u->site)
			return EXIT_USAGE;
		snprintf(key, sizeof(key), "%u:%s", u->job_id, u->node);
		for (size_t k = 0; k < o->n_outcomes; k++) {
			if (strcmp(o->outcomes[k].key, key))
				continue;
			if (!strcmp(o->outcomes[k].value, "agree"))
				u->steps_agreed++;
			else if (!strcmp(o->outcomes[k].value, "disagree"))
				u->steps_disagreed++;
			else if (!strcmp(o->outcomes[k].value, "missing"))
				u->steps_missing++;
			else {
				fprintf(stderr, "contrib_tool: --outcome: '%s' is not agree, "
					"disagree or missing\n", o->outcomes[k].value);
				return EXIT_USAGE;
			}
		}
		for (size_t k = 0; k < o->n_reputations; k++) {
			if (!strcmp(o->reputations[k].key, u->node)) {
				u->has_reputation = true;
				u->reputation = atof(o->reputations[k].value);
			}
		}
	}
	return 0;
}

static int read_jobs(const struct opts *o, int64_t since, int64_t until,
		     const struct contrib_policy *p, struct sdb_reader *r,
		     struct local_nodes *l, struct sdb_usage_batch *b)
{
	char err[512];

	if (sdb_reader_open(r, err, sizeof(err))) {
		fprintf(stderr, "contrib_tool: %s\n", err);
		return EXIT_SERVICE;
	}
	if (sdb_usage_read(r, since, until, b, err, sizeof(err))) {
		fprintf(stderr, "contrib_tool: %s\n", err);
		return EXIT_SERVICE;
	}
	if (!o->no_features && load_local_nodes(l))
		return EXIT_SERVICE;
	return annotate(o, p, l, b);
}

static json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static json_object *jhex(const uint8_t *b, size_t n)
{
	char h[2 + 2 * 64 + 1];

	h[0] = '0';
	h[1] = 'x';
	hex_encode(b, n, h + 2);
	return json_object_new_string(h);
}

static json_object *usage_json(const struct contrib_usage *u)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cluster", jstr(u->cluster));
	json_object_object_add(o, "job_id", json_object_new_int64(u->job_id));
	json_object_object_add(o, "db_index", json_object_new_uint64(u->db_index));
	json_object_object_add(o, "node", jstr(u->node));
	json_object_object_add(o, "site", u->site ? jstr(u->site) : NULL);
	json_object_object_add(o, "account", jstr(u->account));
	json_object_object_add(o, "user", jstr(u->user));
	json_object_object_add(o, "partition", jstr(u->partition));
	json_object_object_add(o, "qos", jstr(u->qos));
	json_object_object_add(o, "start", json_object_new_int64(u->start_time));
	json_object_object_add(o, "end", json_object_new_int64(u->end_time));
	json_object_object_add(o, "cpu_seconds", json_object_new_uint64(u->cpu_seconds));
	json_object_object_add(o, "gpu_seconds", json_object_new_uint64(u->gpu_seconds));
	json_object_object_add(o, "node_seconds", json_object_new_uint64(u->node_seconds));
	return o;
}

static json_object *batch_json(const struct sdb_reader *r, const struct sdb_usage_batch *b)
{
	json_object *o = json_object_new_object(), *cl = json_object_new_array(),
		    *recs = json_object_new_array();

	for (size_t i = 0; i < b->n_clusters; i++)
		json_object_array_add(cl, jstr(b->clusters[i]));
	for (size_t i = 0; i < b->n; i++)
		json_object_array_add(recs, usage_json(&b->records[i]));
	json_object_object_add(o, "clusters", cl);
	json_object_object_add(o, "gpu_tres_id", json_object_new_int64(r->gpu_tres_id));
	json_object_object_add(o, "jobs", json_object_new_uint64(b->jobs));
	json_object_object_add(o, "skipped", json_object_new_uint64(b->skipped));
	json_object_object_add(o, "unsettled", json_object_new_uint64(b->unsettled));
	json_object_object_add(o, "max_end", json_object_new_int64(b->max_end));
	json_object_object_add(o, "records", recs);
	return o;
}

static int print_json(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = puts(s) < 0 ? EXIT_USAGE : 0;

	json_object_put(o);
	return rc;
}

static int cmd_read(const struct opts *o)
{
	struct contrib_policy p;
	struct sdb_reader r = { 0 };
	struct sdb_usage_batch b = { 0 };
	struct local_nodes l = { 0 };
	int rc;

	if ((rc = load_policy(o, &p)))
		return rc;
	rc = read_jobs(o, o->since, o->until, &p, &r, &l, &b);
	if (!rc)
		rc = print_json(batch_json(&r, &b));
	sdb_usage_batch_free(&b);
	sdb_reader_close(&r);
	free_local_nodes(&l);
	contrib_policy_free(&p);
	return rc;
}

static int file_write(void *ctx, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, ctx) == len ? 0 : -1;
}

static json_object *epoch_json(const struct opts *o, const struct contrib_epoch *e,
			       const struct sdb_usage_batch *b)
{
	json_object *j = json_object_new_object(), *recs = json_object_new_array(),
		    *usage = json_object_new_array(), *led = json_object_new_object(),
		    *bal = json_object_new_array(), *tr = json_object_new_array(),
		    *un = json_object_new_array();
	char t[CONTRIB_TIME_LEN + 1], addr[ETH_ADDRESS_HEX_LEN + 1];

	json_object_object_add(j, "epoch", json_object_new_uint64(e->epoch));
	contrib_time_format(e->start, t);
	json_object_object_add(j, "start", jstr(t));
	contrib_time_format(e->end, t);
	json_object_object_add(j, "end", jstr(t));
	json_object_object_add(j, "root", jhex(e->root, 32));
	json_object_object_add(j, "cpu_seconds", json_object_new_uint64(e->cpu_seconds));
	json_object_object_add(j, "gpu_seconds", json_object_new_uint64(e->gpu_seconds));
	json_object_object_add(j, "records", json_object_new_uint64(e->n_records));
	json_object_object_add(j, "data_hash", jhex(e->data_hash, 32));
	json_object_object_add(j, "credits", json_object_new_uint64(e->credits));
	json_object_object_add(j, "score", json_object_new_uint64(e->score));
	json_object_object_add(j, "sites_without_payee",
			       json_object_new_uint64(e->n_sites_without_payee));
	for (size_t i = 0; i < e->n_records; i++) {
		const struct contrib_record *r = &e->records[i];
		json_object *x = json_object_new_object();

		json_object_object_add(x, "index", json_object_new_uint64(i));
		json_object_object_add(x, "site", jstr(r->site));
		json_object_object_add(x, "site_id", jhex(r->site_id, 32));
		eth_address_format(&r->payee, addr);
		json_object_object_add(x, "payee", jstr(addr));
		json_object_object_add(x, "cluster", jstr(r->cluster));
		json_object_object_add(x, "node", jstr(r->node));
		json_object_object_add(x, "usage_records", json_object_new_uint64(r->usage_records));
		json_object_object_add(x, "cpu_seconds", json_object_new_uint64(r->cpu_seconds));
		json_object_object_add(x, "gpu_seconds", json_object_new_uint64(r->gpu_seconds));
		json_object_object_add(x, "node_seconds", json_object_new_uint64(r->node_seconds));
		json_object_object_add(x, "credits", json_object_new_uint64(r->credits));
		json_object_object_add(x, "score", json_object_new_uint64(r->score));
		json_object_object_add(x, "leaf", jhex(contrib_epoch_leaf(e, i), 32));
		if (o->proofs) {
			uint8_t proof[MERKLE_MAX_DEPTH][32];
			int k = contrib_epoch_proof(e, i, proof);
			json_object *pa = json_object_new_array();

			for (int m = 0; m < k; m++)
				json_object_array_add(pa, jhex(proof[m], 32));
			json_object_object_add(x, "proof", pa);
		}
		json_object_array_add(recs, x);
	}
	json_object_object_add(j, "contribution_records", recs);
	for (size_t i = 0; i < b->n; i++) {
		json_object *x = usage_json(&b->records[i]);
		const struct contrib_usage_result *r = &e->results[i];

		json_object_object_add(x, "quality", json_object_new_uint64(r->quality));
		json_object_object_add(x, "reliability", json_object_new_uint64(r->reliability));
		json_object_object_add(x, "credits", json_object_new_uint64(r->credits));
		json_object_object_add(x, "score", json_object_new_uint64(r->score));
		json_object_array_add(usage, x);
	}
	json_object_object_add(j, "usage", usage);
	for (size_t i = 0; i < e->ledger.n_balances; i++) {
		const struct contrib_balance *x = &e->ledger.balances[i];
		json_object *y = json_object_new_object();

		json_object_object_add(y, "site", jstr(x->site));
		json_object_object_add(y, "earned", json_object_new_int64(x->earned));
		json_object_object_add(y, "spent", json_object_new_int64(x->spent));
		json_object_object_add(y, "balance", json_object_new_int64(x->balance));
		json_object_array_add(bal, y);
	}
	for (size_t i = 0; i < e->ledger.n_transfers; i++) {
		const struct contrib_transfer *x = &e->ledger.transfers[i];
		json_object *y = json_object_new_object();

		json_object_object_add(y, "from", jstr(x->from));
		json_object_object_add(y, "to", jstr(x->to));
		json_object_object_add(y, "credits", json_object_new_int64(x->credits));
		json_object_object_add(y, "records", json_object_new_uint64(x->records));
		json_object_array_add(tr, y);
	}
	for (size_t i = 0; i < e->ledger.n_unassigned; i++) {
		const struct contrib_unassigned *x = &e->ledger.unassigned[i];
		json_object *y = json_object_new_object();

		json_object_object_add(y, "account", jstr(x->account));
		json_object_object_add(y, "credits", json_object_new_int64(x->credits));
		json_object_object_add(y, "records", json_object_new_uint64(x->records));
		json_object_array_add(un, y);
	}
	json_object_object_add(led, "entries", json_object_new_uint64(e->ledger.n_entries));
	json_object_object_add(led, "balances", bal);
	json_object_object_add(led, "transfers", tr);
	json_object_object_add(led, "unassigned", un);
	json_object_object_add(j, "ledger", led);
	return j;
}

static int add_rewards(json_object *j, const struct opts *o, const struct contrib_epoch *e)
{
	struct u256 pool;
	struct contrib_rewards r;
	char err[256], dec[U256_DEC_LEN + 1], addr[ETH_ADDRESS_HEX_LEN + 1];
	json_object *w, *arr;

	if (u256_from_dec(&pool, o->pool)) {
		fprintf(stderr, "contrib_tool: --pool: '%s' is not a decimal amount\n", o->pool);
		return EXIT_USAGE;
	}
	if (contrib_rewards_split(e, &pool, &r, err, sizeof(err))) {
		fprintf(stderr, "contrib_tool: %s\n", err);
		return EXIT_REFUSED;
	}
	w = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(w, "pool", jstr(o->pool));
	json_object_object_add(w, "root", jhex(r.root, 32));
	for (size_t i = 0; i < r.n; i++) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "index", json_object_new_uint64(i));
		json_object_object_add(x, "site", jstr(r.entries[i].site));
		eth_address_format(&r.entries[i].account, addr);
		json_object_object_add(x, "account", jstr(addr));
		json_object_object_add(x, "score", json_object_new_uint64(r.entries[i].score));
		u256_to_dec(&r.entries[i].amount, dec);
		json_object_object_add(x, "amount", jstr(dec));
		json_object_object_add(x, "leaf", jhex(r.entries[i].leaf, 32));
		{
			uint8_t proof[MERKLE_MAX_DEPTH][32];
			int k = merkle_proof(&r.tree, i, proof);
			json_object *pa = json_object_new_array();

			for (int m = 0; m < k; m++)
				json_object_array_add(pa, jhex(proof[m], 32));
			json_object_object_add(x, "proof", pa);
		}
		json_object_array_add(arr, x);
	}
	json_object_object_add(w, "entries", arr);
	json_object_object_add(j, "rewards", w);
	contrib_rewards_free(&r);
	return 0;
}

static int cmd_close(const struct opts *o)
{
	struct contrib_policy p;
	struct sdb_reader r = { 0 };
	struct sdb_usage_batch b = { 0 };
	struct local_nodes l = { 0 };
	struct contrib_epoch e = { 0 };
	uint64_t epoch;
	int64_t start, end;
	char err[512];
	json_object *j = NULL;
	int rc;

	if ((rc = load_policy(o, &p)))
		return rc;
	if (o->epoch >= 0) {
		epoch = (uint64_t)o->epoch;
	} else if (o->epoch_of < 0 || contrib_epoch_of(o->epoch_of, p.epoch_length, &epoch)) {
		fprintf(stderr, "contrib_tool: close needs --epoch N or --epoch-of TIME\n");
		rc = EXIT_USAGE;
		goto done;
	}
	if (contrib_epoch_bounds(epoch, p.epoch_length, &start, &end)) {
		fprintf(stderr, "contrib_tool: --epoch %llu is out of range\n",
			(unsigned long long)epoch);
		rc = EXIT_USAGE;
		goto done;
	}
	/* slurmdbd's window is inclusive: [start, end - 1] is the epoch. */
	if ((rc = read_jobs(o, start, end - 1, &p, &r, &l, &b)))
		goto done;
	if (contrib_epoch_close(&p, epoch, b.records, b.n, &e, err, sizeof(err))) {
		fprintf(stderr, "contrib_tool: %s\n", err);
		rc = EXIT_REFUSED;
		goto done;
	}
	if (o->csv) {
		FILE *f = fopen(o->csv, "w");

		if (!f || contrib_epoch_csv(&e, file_write, f) || fclose(f)) {
			fprintf(stderr, "contrib_tool: %s: %s\n", o->csv, strerror(errno));
			rc = EXIT_USAGE;
			goto done;
		}
	}
	j = epoch_json(o, &e, &b);
	if (o->pool && (rc = add_rewards(j, o, &e)))
		goto done;
	rc = print_json(j);
	j = NULL;
done:
	if (j)
		json_object_put(j);
	contrib_epoch_free(&e);
	sdb_usage_batch_free(&b);
	sdb_reader_close(&r);
	free_local_nodes(&l);
	contrib_policy_free(&p);
	return rc;
}

static int run_argv(const char *const *argv)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int cmd_hook(const struct opts *o)
{
	struct contrib_policy p;
	struct contrib_site_balance *bal = NULL;
	struct contrib_cluster_site *cs = NULL;
	struct contrib_hook_action *acts = NULL;
	size_t n = 0;
	int rc;

	if ((rc = load_policy(o, &p)))
		return rc;
	bal = calloc(o->n_balances + 1, sizeof(*bal));
	cs = calloc(o->n_cluster_sites + 1, sizeof(*cs));
	if (!bal || !cs) {
		rc = EXIT_USAGE;
		goto done;
	}
	for (size_t i = 0; i < o->n_balances; i++) {
		bal[i].site = o->balances[i].key;
		bal[i].balance = (int64_t)(atof(o->balances[i].value) * 1e6);
	}
	for (size_t i = 0; i < o->n_cluster_sites; i++) {
		cs[i].cluster = o->cluster_sites[i].key;
		cs[i].site = o->cluster_sites[i].value;
	}
	if (contrib_hook_plan(&p, bal, o->n_balances, cs, o->n_cluster_sites,
			      o->blocked, o->n_blocked, &acts, &n)) {
		rc = EXIT_USAGE;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const char *argv[CONTRIB_HOOK_ARGC + 1];
		char buf[512];

		if (contrib_hook_argv(&acts[i], buf, sizeof(buf), argv)) {
			rc = EXIT_USAGE;
			goto done;
		}
		for (int k = 0; argv[k]; k++)
			printf("%s%s", k ? " " : "", argv[k]);
		printf("\n");
		fflush(stdout);
		if (o->run && run_argv(argv)) {
			fprintf(stderr, "contrib_tool: %s failed\n", argv[0]);
			rc = EXIT_SERVICE;
			goto done;
		}
	}
done:
	free(acts);
	free(bal);
	free(cs);
	contrib_policy_free(&p);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *cmd;
	int rc;

	if (argc < 2) {
		usage();
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (parse_opts(argc - 1, argv + 1, &o))
		return EXIT_USAGE;
	if (optind != argc - 1) {
		fprintf(stderr, "contrib_tool: unexpected argument '%s'\n", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "hook")) {
		rc = cmd_hook(&o);
	} else if (!strcmp(cmd, "read") || !strcmp(cmd, "close")) {
		slurm_init(NULL);
		rc = !strcmp(cmd, "read") ? cmd_read(&o) : cmd_close(&o);
		slurm_fini();
	} else {
		fprintf(stderr, "contrib_tool: unknown command '%s' (allowed: read, close, hook)\n",
			cmd);
		usage();
		rc = EXIT_USAGE;
	}
	free_kvs(o.outcomes, o.n_outcomes);
	free_kvs(o.reputations, o.n_reputations);
	free_kvs(o.balances, o.n_balances);
	free_kvs(o.cluster_sites, o.n_cluster_sites);
	free(o.blocked);
	return rc;
}
