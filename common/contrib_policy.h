/*
 * contrib_policy.h - the contribution settings of quorate.conf, compiled for
 * the pure functions of contrib.h: billing weights as integers, the site
 * map (node features, then SiteMap node lists), account home sites and site
 * payout addresses.  Built once from a loaded quorate_conf; read-only after.
 */
#ifndef QUORATE_CONTRIB_POLICY_H
#define QUORATE_CONTRIB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contrib_hostlist.h"
#include "ethtypes.h"
#include "qconf.h"

#define CONTRIB_MICRO 1000000ULL	/* micro-units: 1.0 = 1_000_000 */
#define CONTRIB_NAME_MAX 64		/* site names, with the NUL */

/* Billing weights in micro-units per TRES-second: weight x 10^6, rounded
 * to the nearest integer (BillingWeights has six decimals of effect). */
struct contrib_weights {
	uint64_t cpu, gpu, node;
};

struct contrib_site_rule {		/* SiteMap=CLUSTER:NODELIST=SITE */
	char *cluster;
	struct hostexpr nodes;
	char *site;
};

struct contrib_account_site {		/* AccountSite=ACCOUNT=SITE */
	char *account;			/* lower case */
	char *site;
};

struct contrib_payee {			/* SitePayee=SITE=0x... */
	char *site;
	struct eth_address address;
};

struct contrib_policy {
	int64_t epoch_length;		/* seconds */
	int64_t ingest_overlap;		/* seconds */
	struct contrib_weights weights;
	char *site_feature_prefix;
	struct contrib_site_rule *rules;	/* in file order */
	size_t n_rules;
	struct contrib_account_site *accounts;	/* sorted by account */
	size_t n_accounts;
	struct contrib_payee *payees;		/* sorted by site */
	size_t n_payees;
	bool balance_hook;
	int64_t credit_limit;		/* micro-credits a site may owe */
};

/* The policy of quorate.conf's defaults (no maps, weights cpu=1).  0, or -1
 * out of memory. */
int contrib_policy_default(struct contrib_policy *p);

/* Compile conf (loaded from CONF_NAME) into p: SiteMap node lists are
 * parsed, SitePayee addresses checked with eth_address_parse (EIP-55 for
 * mixed case).  0, or -1 with "CONF_NAME: Key=Value: why" in err. */
int contrib_policy_from_conf(struct contrib_policy *p,
			     const struct quorate_conf *conf,
			     const char *conf_name, char *err, size_t errlen);

void contrib_policy_free(struct contrib_policy *p);

/* weight x 10^6 rounded; -1 for a negative, non-finite or too large weight. */
int contrib_weight_micro(double weight, uint64_t *out);

/* A node's site from its features (Slurm's comma-separated list): the one
 * feature that starts with PREFIX, whole ("site_a").  1 found, 0 none, -1
 * when two different site features are present (err says which). */
int contrib_site_from_features(const char *features, const char *prefix,
			       char site[CONTRIB_NAME_MAX], char *err, size_t errlen);

/* A node's site: its features first (FEATURES may be NULL when unknown,
 * e.g. for another cluster), else the SiteMap lines of its cluster.  1
 * found, 0 none, -1 ambiguous (two site features, or SiteMap lines naming
 * different sites for the node). */
int contrib_site_of_node(const struct contrib_policy *p, const char *cluster,
			 const char *node, const char *features,
			 char site[CONTRIB_NAME_MAX], char *err, size_t errlen);

/* An account's home site (compared in lower case), or NULL. */
const char *contrib_account_home(const struct contrib_policy *p,
				 const char *account);

/* A site's payout address, or NULL. */
const struct eth_address *contrib_site_payee(const struct contrib_policy *p,
					     const char *site);

#endif
