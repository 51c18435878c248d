/*
 * contrib_policy.c - quorate.conf's contribution settings, compiled (see
 * contrib_policy.h).
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "contrib_epoch.h"
#include "contrib_policy.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int contrib_weight_micro(double weight, uint64_t *out)
{
	if (!isfinite(weight) || weight < 0 || weight > 1e12)
		return -1;
	*out = (uint64_t)llround(weight * (double)CONTRIB_MICRO);
	return 0;
}

int contrib_policy_default(struct contrib_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->epoch_length = CONTRIB_EPOCH_DEFAULT_LENGTH;
	p->ingest_overlap = 3600;
	p->weights.cpu = CONTRIB_MICRO;
	p->site_feature_prefix = strdup("site_");
	return p->site_feature_prefix ? 0 : -1;
}

void contrib_policy_free(struct contrib_policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].cluster);
		free(p->rules[i].site);
		hostexpr_free(&p->rules[i].nodes);
	}
	for (size_t i = 0; i < p->n_accounts; i++) {
		free(p->accounts[i].account);
		free(p->accounts[i].site);
	}
	for (size_t i = 0; i < p->n_payees; i++)
		free(p->payees[i].site);
	free(p->rules);
	free(p->accounts);
	free(p->payees);
	free(p->site_feature_prefix);
	memset(p, 0, sizeof(*p));
}

static int cmp_account(const void *a, const void *b)
{
	return strcmp(((const struct contrib_account_site *)a)->account,
		      ((const struct contrib_account_site *)b)->account);
}

static int cmp_payee(const void *a, const void *b)
{
	return strcmp(((const struct contrib_payee *)a)->site,
		      ((const struct contrib_payee *)b)->site);
}

int contrib_policy_from_conf(struct contrib_policy *p,
			     const struct quorate_conf *conf,
			     const char *conf_name, char *err, size_t errlen)
{
	char why[256];

	memset(p, 0, sizeof(*p));
	p->epoch_length = conf->epoch_length;
	p->ingest_overlap = conf->ingest_overlap;
	p->balance_hook = conf->balance_hook;
	if (!contrib_epoch_length_valid(p->epoch_length)) {
		set_err(err, errlen, "%s: EpochLength=%ld is not a valid epoch length",
			conf_name, conf->epoch_length);
		goto fail;
	}
	if (contrib_weight_micro(conf->billing_weight_cpu, &p->weights.cpu) ||
	    contrib_weight_micro(conf->billing_weight_gpu, &p->weights.gpu) ||
	    contrib_weight_micro(conf->billing_weight_node, &p->weights.node)) {
		set_err(err, errlen, "%s: BillingWeights: a weight is out of range",
			conf_name);
		goto fail;
	}
	if (!isfinite(conf->credit_limit) || conf->credit_limit < 0 ||
	    conf->credit_limit > 1e12) {
		set_err(err, errlen, "%s: CreditLimit=%g is out of range", conf_name,
			conf->credit_limit);
		goto fail;
	}
	p->credit_limit = (int64_t)llround(conf->credit_limit * (double)CONTRIB_MICRO);
	p->site_feature_prefix = strdup(conf->site_feature_prefix ?
					conf->site_feature_prefix : "site_");
	if (!p->site_feature_prefix)
		goto oom;

	if (conf->n_site_maps) {
		p->rules = calloc(conf->n_site_maps, sizeof(*p->rules));
		if (!p->rules)
			goto oom;
	}
	for (size_t i = 0; i < conf->n_site_maps; i++) {
		const struct qconf_site_map *m = &conf->site_maps[i];
		struct contrib_site_rule *r = &p->rules[i];

		if (hostexpr_parse(m->nodes, &r->nodes, why, sizeof(why))) {
			set_err(err, errlen, "%s: SiteMap=%s:%s=%s: %s", conf_name,
				m->cluster, m->nodes, m->site, why);
			goto fail;
		}
		p->n_rules++;
		r->cluster = strdup(m->cluster);
		r->site = strdup(m->site);
		if (!r->cluster || !r->site)
			goto oom;
	}

	if (conf->n_account_sites) {
		p->accounts = calloc(conf->n_account_sites, sizeof(*p->accounts));
		if (!p->accounts)
			goto oom;
	}
	for (size_t i = 0; i < conf->n_account_sites; i++) {
		struct contrib_account_site *a = &p->accounts[i];

		p->n_accounts++;
		a->account = strdup(conf->account_sites[i].key);
		a->site = strdup(conf->account_sites[i].value);
		if (!a->account || !a->site)
			goto oom;
		for (char *c = a->account; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	if (p->n_accounts)
		qsort(p->accounts, p->n_accounts, sizeof(*p->accounts), cmp_account);

	if (conf->n_site_payees) {
		p->payees = calloc(conf->n_site_payees, sizeof(*p->payees));
		if (!p->payees)
			goto oom;
	}
	for (size_t i = 0; i < conf->n_site_payees; i++) {
		const struct qconf_pair *q = &conf->site_payees[i];
		struct contrib_payee *y = &p->payees[i];
		int rc = eth_address_parse(q->value, &y->address);

		if (rc) {
			set_err(err, errlen, "%s: SitePayee=%s=%s: %s", conf_name, q->key,
				q->value, rc == -2 ? "mixed-case address with a bad "
				"EIP-55 checksum" : "not an address");
			goto fail;
		}
		p->n_payees++;
		y->site = strdup(q->key);
		if (!y->site)
			goto oom;
	}
	if (p->n_payees)
		qsort(p->payees, p->n_payees, sizeof(*p->payees), cmp_payee);
	return 0;
oom:
	set_err(err, errlen, "%s: out of memory", conf_name);
fail:
	contrib_policy_free(p);
	return -1;
}

int contrib_site_from_features(const char *features, const char *prefix,
			       char site[CONTRIB_NAME_MAX], char *err, size_t errlen)
{
	size_t plen = strlen(prefix);
	const char *p = features;
	int found = 0;

	if (!features)
		return 0;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n > plen && !strncmp(p, prefix, plen)) {
			if (n >= CONTRIB_NAME_MAX) {
				set_err(err, errlen, "site feature '%.*s' is longer than %d "
					"characters", (int)n, p, CONTRIB_NAME_MAX - 1);
				return -1;
			}
			if (found && (strlen(site) != n || strncmp(site, p, n))) {
				set_err(err, errlen, "two site features: '%s' and '%.*s'",
					site, (int)n, p);
				return -1;
			}
			memcpy(site, p, n);
			site[n] = '\0';
			found = 1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return found;
}

int contrib_site_of_node(const struct contrib_policy *p, const char *cluster,
			 const char *node, const char *features,
			 char site[CONTRIB_NAME_MAX], char *err, size_t errlen)
{
	const char *mapped = NULL;
	int rc;

	rc = contrib_site_from_features(features, p->site_feature_prefix, site,
					err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct contrib_site_rule *r = &p->rules[i];

		if (strcmp(r->cluster, cluster) || !hostexpr_contains(&r->nodes, node))
			continue;
		if (mapped && strcmp(mapped, r->site)) {
			set_err(err, errlen, "node %s of cluster %s is mapped to two "
				"sites by SiteMap: %s and %s", node, cluster, mapped,
				r->site);
			return -1;
		}
		mapped = r->site;
	}
	if (!mapped)
		return 0;
	if (strlen(mapped) >= CONTRIB_NAME_MAX) {
		set_err(err, errlen, "site name '%s' is too long", mapped);
		return -1;
	}
	strcpy(site, mapped);
	return 1;
}

static int cmp_account_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct contrib_account_site *)elem)->account);
}

const char *contrib_account_home(const struct contrib_policy *p,
				 const char *account)
{
	char lower[CONTRIB_NAME_MAX];
	const struct contrib_account_site *a;
	size_t n;

	if (!account || !p->n_accounts)
		return NULL;
	n = strlen(account);
	if (n >= sizeof(lower))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)account[i]);
	a = bsearch(lower, p->accounts, p->n_accounts, sizeof(*p->accounts),
		    cmp_account_key);
	return a ? a->site : NULL;
}

static int cmp_payee_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct contrib_payee *)elem)->site);
}

const struct eth_address *contrib_site_payee(const struct contrib_policy *p,
					     const char *site)
{
	const struct contrib_payee *y;

	if (!site || !p->n_payees)
		return NULL;
	y = bsearch(site, p->payees, p->n_payees, sizeof(*p->payees), cmp_payee_key);
	return y ? &y->address : NULL;
}
