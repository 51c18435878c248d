/*
 * qconf.c - the quorate.conf key table (see qconf.h, quorate.conf(5)).
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf.h"
#include "qconf.h"

#define F(field) offsetof(struct quorate_conf, field)
#define DAY 86400.0

static const char *const log_level_names[] = {
	"quiet", "error", "warning", "info", "verbose", "debug", "debug2",
};

int qconf_log_level(const char *name)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
		if (!strcasecmp(name, log_level_names[i]))
			return (int)i;
	return -1;
}

static int set_log_level(void *dst, const struct conf_key *key,
			 const char *value, char *err, size_t errlen)
{
	char **field = (char **)((char *)dst + key->offset);
	char *copy;

	if (qconf_log_level(value) < 0) {
		snprintf(err, errlen, "'%s' is not a log level (allowed: quiet, error, "
			 "warning, info, verbose, debug, debug2)", value);
		return -1;
	}
	copy = strdup(value);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* --- contributions (issue 11): BillingWeights, SiteMap, AccountSite,
 * SitePayee.  Names as in Slurm: clusters [A-Za-z0-9_-], sites, nodes and
 * accounts [A-Za-z0-9._-], 1..63 characters. */
#define QCONF_NAME_MAX 63
#define QCONF_MAX_ENTRIES 100000

static bool qconf_valid_name(const char *s, size_t n, bool dots)
{
	if (n == 0 || n > QCONF_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      (dots && c == '.')))
			return false;
	}
	return true;
}

static char *qconf_dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Make room for one more element in *arr (n elements of size each). */
static int qconf_grow(void **arr, size_t n, size_t size, char *err, size_t errlen)
{
	void *p;

	if (n >= QCONF_MAX_ENTRIES) {
		snprintf(err, errlen, "more than %d entries", QCONF_MAX_ENTRIES);
		return -1;
	}
	p = realloc(*arr, (n + 1) * size);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*arr = p;
	return 0;
}

/* BillingWeights=cpu=1.0,gpu=8.0,node=0: weights not named are 0, as with
 * Slurm's TRESBillingWeights. */
static int set_billing_weights(void *dst, const struct conf_key *key,
			       const char *value, char *err, size_t errlen)
{
	struct quorate_conf *conf = dst;
	double w[3] = { 0, 0, 0 };
	bool seen[3] = { false, false, false };
	const char *p = value;

	if (!*p) {
		snprintf(err, errlen, "empty; expected TRES=WEIGHT[,...] with TRES "
			 "cpu, gpu or node");
		return -1;
	}
	while (*p) {
		const char *end = strchr(p, ','), *eq;
		char name[16], num[64], why[128];
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int i;

		eq = memchr(p, '=', n);
		if (!eq || (size_t)(eq - p) >= sizeof(name) ||
		    n - (size_t)(eq - p) - 1 >= sizeof(num)) {
			snprintf(err, errlen, "'%.*s' is not TRES=WEIGHT (TRES cpu, "
				 "gpu or node)", (int)n, p);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - p), p);
		snprintf(num, sizeof(num), "%.*s", (int)(n - (size_t)(eq - p) - 1), eq + 1);
		if (!strcasecmp(name, "cpu"))
			i = 0;
		else if (!strcasecmp(name, "gpu") || !strcasecmp(name, "gres/gpu"))
			i = 1;
		else if (!strcasecmp(name, "node"))
			i = 2;
		else {
			snprintf(err, errlen, "unknown TRES '%s' (allowed: cpu, gpu, node)",
				 name);
			return -1;
		}
		if (seen[i]) {
			snprintf(err, errlen, "TRES '%s' given twice", name);
			return -1;
		}
		seen[i] = true;
		if (conf_parse_double(num, 0, 1000000, &w[i], why, sizeof(why))) {
			snprintf(err, errlen, "%s: %s", name, why);
			return -1;
		}
		p += n;
		if (*p == ',' && !*++p) {
			snprintf(err, errlen, "trailing ','");
			return -1;
		}
	}
	conf->billing_weight_cpu = w[0];
	conf->billing_weight_gpu = w[1];
	conf->billing_weight_node = w[2];
	return 0;
}

/* SiteMap=CLUSTER:NODELIST=SITE.  The node list's characters and brackets
 * are checked here; its ranges when contrib_policy_from_conf compiles it. */
static int set_site_map(void *dst, const struct conf_key *key,
			const char *value, char *err, size_t errlen)
{
	struct quorate_conf *conf = dst;
	const char *colon = strchr(value, ':'), *eq = strrchr(value, '=');
	const char *nodes;
	size_t nlen;
	int depth = 0;
	struct qconf_site_map *m;

	if (!colon || !eq || eq < colon) {
		snprintf(err, errlen, "'%s' is not CLUSTER:NODELIST=SITE", value);
		return -1;
	}
	if (!qconf_valid_name(value, (size_t)(colon - value), false)) {
		snprintf(err, errlen, "cluster '%.*s' is not a cluster name "
			 "([A-Za-z0-9_-], 1..%d)", (int)(colon - value), value,
			 QCONF_NAME_MAX);
		return -1;
	}
	if (!qconf_valid_name(eq + 1, strlen(eq + 1), true)) {
		snprintf(err, errlen, "site '%s' is not a site name ([A-Za-z0-9._-], "
			 "1..%d)", eq + 1, QCONF_NAME_MAX);
		return -1;
	}
	nodes = colon + 1;
	nlen = (size_t)(eq - nodes);
	if (!nlen) {
		snprintf(err, errlen, "'%s': empty node list", value);
		return -1;
	}
	for (size_t i = 0; i < nlen; i++) {
		char c = nodes[i];

		if (c == '[')
			depth++;
		else if (c == ']')
			depth--;
		if (depth < 0 || depth > 1 ||
		    !(qconf_valid_name(&c, 1, true) || c == ',' || c == '[' || c == ']')) {
			snprintf(err, errlen, "node list '%.*s': unexpected '%c'",
				 (int)nlen, nodes, c);
			return -1;
		}
	}
	if (depth) {
		snprintf(err, errlen, "node list '%.*s': '[' without ']'", (int)nlen, nodes);
		return -1;
	}
	for (size_t i = 0; i < conf->n_site_maps; i++) {
		m = &conf->site_maps[i];
		if (!strncmp(m->cluster, value, (size_t)(colon - value)) &&
		    !m->cluster[colon - value] && strlen(m->nodes) == nlen &&
		    !strncmp(m->nodes, nodes, nlen)) {
			snprintf(err, errlen, "%s:%s is mapped twice", m->cluster, m->nodes);
			return -1;
		}
	}
	if (qconf_grow((void **)&conf->site_maps, conf->n_site_maps,
		       sizeof(*conf->site_maps), err, errlen))
		return -1;
	m = &conf->site_maps[conf->n_site_maps];
	m->cluster = qconf_dup_n(value, (size_t)(colon - value));
	m->nodes = qconf_dup_n(nodes, nlen);
	m->site = strdup(eq + 1);
	if (!m->cluster || !m->nodes || !m->site) {
		free(m->cluster);
		free(m->nodes);
		free(m->site);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	conf->n_site_maps++;
	return 0;
}

static int add_pair(struct qconf_pair **arr, size_t *n, const char *k, size_t klen,
		    const char *v, char *err, size_t errlen)
{
	struct qconf_pair *p;

	if (qconf_grow((void **)arr, *n, sizeof(**arr), err, errlen))
		return -1;
	p = &(*arr)[*n];
	p->key = qconf_dup_n(k, klen);
	p->value = strdup(v);
	if (!p->key || !p->value) {
		free(p->key);
		free(p->value);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	(*n)++;
	return 0;
}

/* AccountSite=ACCOUNT=SITE.  Slurm keeps account names in lower case, so
 * they are compared in lower case. */
static int set_account_site(void *dst, const struct conf_key *key,
			    const char *value, char *err, size_t errlen)
{
	struct quorate_conf *conf = dst;
	const char *eq = strchr(value, '=');
	char account[QCONF_NAME_MAX + 1];
	size_t alen;

	if (!eq) {
		snprintf(err, errlen, "'%s' is not ACCOUNT=SITE", value);
		return -1;
	}
	alen = (size_t)(eq - value);
	if (!qconf_valid_name(value, alen, true)) {
		snprintf(err, errlen, "account '%.*s' is not an account name "
			 "([A-Za-z0-9._-], 1..%d)", (int)alen, value, QCONF_NAME_MAX);
		return -1;
	}
	if (!qconf_valid_name(eq + 1, strlen(eq + 1), true)) {
		snprintf(err, errlen, "site '%s' is not a site name ([A-Za-z0-9._-], "
			 "1..%d)", eq + 1, QCONF_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < alen; i++)
		account[i] = (char)tolower((unsigned char)value[i]);
	account[alen] = '\0';
	for (size_t i = 0; i < conf->n_account_sites; i++) {
		if (!strcmp(conf->account_sites[i].key, account)) {
			snprintf(err, errlen, "account '%s' already has home site '%s'",
				 account, conf->account_sites[i].value);
			return -1;
		}
	}
	return add_pair(&conf->account_sites, &conf->n_account_sites, account, alen,
			eq + 1, err, errlen);
}

/* SitePayee=SITE=0x<40 hex digits>; the EIP-55 checksum of a mixed-case
 * address is checked by contrib_policy_from_conf (eth_address_parse). */
static int set_site_payee(void *dst, const struct conf_key *key,
			  const char *value, char *err, size_t errlen)
{
	struct quorate_conf *conf = dst;
	const char *eq = strchr(value, '='), *a;
	size_t slen;

	if (!eq) {
		snprintf(err, errlen, "'%s' is not SITE=0xADDRESS", value);
		return -1;
	}
	slen = (size_t)(eq - value);
	if (!qconf_valid_name(value, slen, true)) {
		snprintf(err, errlen, "site '%.*s' is not a site name ([A-Za-z0-9._-], "
			 "1..%d)", (int)slen, value, QCONF_NAME_MAX);
		return -1;
	}
	a = eq + 1;
	if (strlen(a) != 42 || a[0] != '0' || (a[1] != 'x' && a[1] != 'X') ||
	    strspn(a + 2, "0123456789abcdefABCDEF") != 40) {
		snprintf(err, errlen, "'%s' is not an address (0x and 40 hex digits)", a);
		return -1;
	}
	for (size_t i = 0; i < conf->n_site_payees; i++) {
		if (strlen(conf->site_payees[i].key) == slen &&
		    !strncmp(conf->site_payees[i].key, value, slen)) {
			snprintf(err, errlen, "site '%.*s' already has a payee", (int)slen,
				 value);
			return -1;
		}
	}
	return add_pair(&conf->site_payees, &conf->n_site_payees, value, slen, a,
			err, errlen);
}

static void qconf_free_contrib(struct quorate_conf *conf)
{
	for (size_t i = 0; i < conf->n_site_maps; i++) {
		free(conf->site_maps[i].cluster);
		free(conf->site_maps[i].nodes);
		free(conf->site_maps[i].site);
	}
	for (size_t i = 0; i < conf->n_account_sites; i++) {
		free(conf->account_sites[i].key);
		free(conf->account_sites[i].value);
	}
	for (size_t i = 0; i < conf->n_site_payees; i++) {
		free(conf->site_payees[i].key);
		free(conf->site_payees[i].value);
	}
	free(conf->site_maps);
	free(conf->account_sites);
	free(conf->site_payees);
	conf->site_maps = NULL;
	conf->account_sites = NULL;
	conf->site_payees = NULL;
	conf->n_site_maps = conf->n_account_sites = conf->n_site_payees = 0;
}
/* --- end of contributions --- */

static const struct conf_key qconf_keys[] = {
	{ "ListenAddress", CONF_STRING, F(listen_address), 0, -1, NULL, false },
	{ "ListenPort", CONF_INT, F(listen_port), 1, 65535, NULL, false },
	{ "MetricsAddress", CONF_STRING, F(metrics_address), 0, -1, NULL, false },
	{ "MetricsPort", CONF_INT, F(metrics_port), 0, 65535, NULL, false },
	{ "MungeSocket", CONF_STRING, F(munge_socket), 0, -1, NULL, false },
	{ "Database", CONF_STRING, F(database), 0, -1, NULL, false },
	{ "SlurmConf", CONF_STRING, F(slurm_conf), 0, -1, NULL, false },
	{ "AuthorizedUsers", CONF_STRING, F(authorized_users), 0, -1, NULL, false },
	{ "MaxFrameSize", CONF_BYTES, F(max_frame), 1024, 64.0 * 1024 * 1024, NULL, false },
	{ "LogFile", CONF_STRING, F(log_file), 0, -1, NULL, false },
	{ "LogLevel", CONF_CALLBACK, F(log_level), 0, -1, set_log_level, false },
	{ "SyslogLevel", CONF_CALLBACK, F(syslog_level), 0, -1, set_log_level, false },
	{ "PidFile", CONF_STRING, F(pid_file), 0, -1, NULL, false },
	{ "SpoolDir", CONF_STRING, F(spool_dir), 0, -1, NULL, false },
	{ "ServerAddress", CONF_STRING, F(server_address), 0, -1, NULL, false },
	{ "WorkerThreads", CONF_INT, F(worker_threads), 1, 256, NULL, false },
	{ "MaxOutputSize", CONF_BYTES, F(max_output), 0, 64.0 * 1024 * 1024, NULL, false },
	{ "MissingGrace", CONF_SECONDS, F(missing_grace), 0, DAY, NULL, false },
	{ "HalfLife", CONF_SECONDS, F(half_life), 60, 3650 * DAY, NULL, false },
	{ "MissingWeight", CONF_DOUBLE, F(missing_weight), 0, 1, NULL, false },
	{ "MinVerdicts", CONF_INT, F(min_verdicts), 0, 1000000, NULL, false },
	{ "TrustAbove", CONF_DOUBLE, F(trust_above), 0, 100, NULL, false },
	{ "QuarantineBelow", CONF_DOUBLE, F(quarantine_below), 0, 100, NULL, false },
	{ "QuarantineSeconds", CONF_SECONDS, F(quarantine_seconds), 0, 3650 * DAY, NULL, false },
	{ "ProbationBelow", CONF_DOUBLE, F(probation_below), 0, 100, NULL, false },
	{ "PushReputation", CONF_BOOL, F(push_reputation), 0, -1, NULL, false },
	{ "PushPlacement", CONF_BOOL, F(push_placement), 0, -1, NULL, false },
	{ "PlacementInterval", CONF_SECONDS, F(placement_interval), 1, 3600, NULL, false },
	{ "SiteFeaturePrefix", CONF_STRING, F(site_feature_prefix), 0, -1, NULL, false },
	{ "ChainRPC", CONF_STRING, F(chain_rpc), 0, -1, NULL, false },
	{ "ChainDeployment", CONF_STRING, F(chain_deployment), 0, -1, NULL, false },
	{ "ChainKeyFile", CONF_STRING, F(chain_key_file), 0, -1, NULL, false },
	{ "Confirmations", CONF_INT, F(confirmations), 0, 1000, NULL, false },
	{ "ChainPollSeconds", CONF_SECONDS, F(chain_poll), 1, 3600, NULL, false },
	{ "ChainResendSeconds", CONF_SECONDS, F(chain_resend), 1, DAY, NULL, false },
	{ "ChainMaxFeeGwei", CONF_DOUBLE, F(chain_max_fee_gwei), 1e-9, 1e6, NULL, false },
	{ "ChainCAFile", CONF_STRING, F(chain_ca_file), 0, -1, NULL, false },
	/* contributions (issue 11) */
	{ "EpochLength", CONF_SECONDS, F(epoch_length), 60, 366 * DAY, NULL, false },
	{ "BillingWeights", CONF_CALLBACK, 0, 0, -1, set_billing_weights, false },
	{ "SiteMap", CONF_CALLBACK, 0, 0, -1, set_site_map, true },
	{ "AccountSite", CONF_CALLBACK, 0, 0, -1, set_account_site, true },
	{ "SitePayee", CONF_CALLBACK, 0, 0, -1, set_site_payee, true },
	{ "IngestOverlap", CONF_SECONDS, F(ingest_overlap), 0, 7 * DAY, NULL, false },
	{ "NodeFailMissing", CONF_BOOL, F(node_fail_missing), 0, -1, NULL, false },
	{ "BalanceHook", CONF_BOOL, F(balance_hook), 0, -1, NULL, false },
	{ "CreditLimit", CONF_DOUBLE, F(credit_limit), 0, 1e12, NULL, false },
	{ NULL, 0, 0, 0, 0, NULL, false },
};

static int set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

int qconf_defaults(struct quorate_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->listen_port = 6830;
	conf->metrics_port = 6831;
	conf->max_frame = 1024 * 1024;
	conf->missing_grace = 60;
	conf->half_life = 7 * 86400;
	conf->missing_weight = 0.5;
	conf->min_verdicts = 5;
	conf->trust_above = 80;
	conf->quarantine_below = 40;
	conf->quarantine_seconds = 86400;
	conf->probation_below = 75;
	conf->push_reputation = true;
	conf->placement_interval = 60;
	conf->confirmations = 2;
	conf->chain_poll = 5;
	conf->chain_resend = 180;
	conf->chain_max_fee_gwei = 500;
	conf->worker_threads = 8;
	conf->max_output = 64 * 1024;
	conf->epoch_length = 86400;		/* contributions (issue 11) */
	conf->billing_weight_cpu = 1.0;
	conf->ingest_overlap = 3600;
	if (set_string(&conf->listen_address, "0.0.0.0") ||
	    set_string(&conf->metrics_address, "127.0.0.1") ||
	    set_string(&conf->munge_socket, "/run/munge/munge.socket.2") ||
	    set_string(&conf->database, "dbname=quorate") ||
	    set_string(&conf->slurm_conf, "/etc/slurm/slurm.conf") ||
	    set_string(&conf->authorized_users, "root,slurm") ||
	    set_string(&conf->log_level, "info") ||
	    set_string(&conf->syslog_level, "error") ||
	    set_string(&conf->spool_dir, "/var/spool/quorate") ||
	    set_string(&conf->site_feature_prefix, "site_")) {
		qconf_free(conf);
		return -1;
	}
	return 0;
}

/* Checks across keys, after the whole file is read. */
static int qconf_validate(const char *name, struct quorate_conf *conf,
			  char *err, size_t errlen)
{
	if (conf->quarantine_below > conf->trust_above) {
		snprintf(err, errlen, "%s: QuarantineBelow (%g) is above TrustAbove (%g)",
			 name, conf->quarantine_below, conf->trust_above);
		return -1;
	}
	if (conf->max_output > conf->max_frame) {
		snprintf(err, errlen, "%s: MaxOutputSize (%ld) is above MaxFrameSize (%ld)",
			 name, conf->max_output, conf->max_frame);
		return -1;
	}
	/* Epochs start at UTC midnight (contributions, issue 11). */
	if (86400 % conf->epoch_length && conf->epoch_length % 86400) {
		snprintf(err, errlen, "%s: EpochLength (%lds) neither divides a day "
			 "nor is a whole number of days", name, conf->epoch_length);
		return -1;
	}
	if (!conf->site_feature_prefix[0]) {
		snprintf(err, errlen, "%s: SiteFeaturePrefix is empty", name);
		return -1;
	}
	return 0;
}

int qconf_load_buffer(const char *name, const char *buf, size_t len,
		      struct quorate_conf *conf, char *err, size_t errlen)
{
	if (qconf_defaults(conf)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (conf_parse_buffer(name, buf, len, qconf_keys, conf, err, errlen) ||
	    qconf_validate(name, conf, err, errlen)) {
		qconf_free(conf);
		return -1;
	}
	return 0;
}

int qconf_load(const char *path, struct quorate_conf *conf,
	       char *err, size_t errlen)
{
	if (qconf_defaults(conf)) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (conf_parse_file(path, qconf_keys, conf, err, errlen) ||
	    qconf_validate(path, conf, err, errlen)) {
		qconf_free(conf);
		return -1;
	}
	return 0;
}

void qconf_free(struct quorate_conf *conf)
{
	qconf_free_contrib(conf);
	conf_free(qconf_keys, conf);
	/* Strings set through callbacks are not conf_free()'s to know. */
	free(conf->log_level);
	free(conf->syslog_level);
	conf->log_level = NULL;
	conf->syslog_level = NULL;
}

const char *qconf_server_address(const struct quorate_conf *conf)
{
	const char *a = conf->listen_address;

	if (conf->server_address && *conf->server_address)
		return conf->server_address;
	if (!a || !*a || !strcmp(a, "0.0.0.0") || !strcmp(a, "::") || !strcmp(a, "*"))
		return "127.0.0.1";
	return a;
}

int qconf_path_beside(const char *slurm_conf, char *out, size_t outlen)
{
	const char *slash;
	int n;

	if (!slurm_conf || !*slurm_conf)
		slurm_conf = getenv("SLURM_CONF");
	if (!slurm_conf || !*slurm_conf)
		slurm_conf = "/etc/slurm/slurm.conf";
	slash = strrchr(slurm_conf, '/');
	n = snprintf(out, outlen, "%.*squorate.conf",
		     slash ? (int)(slash + 1 - slurm_conf) : 0, slurm_conf);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

bool qconf_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}
