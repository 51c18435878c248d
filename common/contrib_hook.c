/*
 * contrib_hook.c - the optional balance hook: which accounts to block or
 * unblock with sacctmgr when their site's balance runs out (see contrib.h,
 * doc/contrib-conf.txt: BalanceHook, CreditLimit).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contrib.h"

static int64_t balance_of(const struct contrib_site_balance *b, size_t nb,
			  const char *site)
{
	for (size_t i = 0; i < nb; i++)
		if (!strcmp(b[i].site, site))
			return b[i].balance;
	return 0;
}

static bool site_on_cluster(const struct contrib_cluster_site *cs, size_t nc,
			    const char *cluster, const char *site)
{
	for (size_t i = 0; i < nc; i++)
		if (!strcmp(cs[i].cluster, cluster) && !strcmp(cs[i].site, site))
			return true;
	return false;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int contrib_hook_plan(const struct contrib_policy *p,
		      const struct contrib_site_balance *balances, size_t nb,
		      const struct contrib_cluster_site *cluster_sites, size_t nc,
		      const char *const *blocked, size_t n_blocked,
		      struct contrib_hook_action **out, size_t *n_out)
{
	const char **clusters = NULL;
	size_t n_clusters = 0, n = 0, cap = 0;
	struct contrib_hook_action *acts = NULL;

	*out = NULL;
	*n_out = 0;
	if (!p->balance_hook || !p->n_accounts)
		return 0;
	/* The distinct clusters, sorted, so that actions come out in order. */
	clusters = malloc((nc ? nc : 1) * sizeof(*clusters));
	if (!clusters)
		return -1;
	for (size_t i = 0; i < nc; i++)
		if (!in_list(clusters, n_clusters, cluster_sites[i].cluster))
			clusters[n_clusters++] = cluster_sites[i].cluster;
	qsort(clusters, n_clusters, sizeof(*clusters), cmp_cstr);

	/* p->accounts is sorted by account. */
	for (size_t i = 0; i < p->n_accounts; i++) {
		const struct contrib_account_site *a = &p->accounts[i];
		bool out_of_credit = balance_of(balances, nb, a->site) < -p->credit_limit;
		bool was = in_list(blocked, n_blocked, a->account);

		if (out_of_credit == was)
			continue;
		for (size_t c = 0; c < n_clusters; c++) {
			if (site_on_cluster(cluster_sites, nc, clusters[c], a->site))
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct contrib_hook_action *q =
					realloc(acts, ncap * sizeof(*q));

				if (!q) {
					free(acts);
					free(clusters);
					return -1;
				}
				acts = q;
				cap = ncap;
			}
			acts[n++] = (struct contrib_hook_action){
				.account = a->account, .cluster = clusters[c],
				.block = out_of_credit };
		}
	}
	free(clusters);
	*out = acts;
	*n_out = n;
	return 0;
}

int contrib_hook_argv(const struct contrib_hook_action *a, char *buf,
		      size_t buflen, const char *argv[CONTRIB_HOOK_ARGC + 1])
{
	int n1, n2;

	n1 = snprintf(buf, buflen, "name=%s", a->account);
	if (n1 < 0 || (size_t)n1 + 1 >= buflen)
		return -1;
	n2 = snprintf(buf + n1 + 1, buflen - (size_t)n1 - 1, "cluster=%s", a->cluster);
	if (n2 < 0 || (size_t)n2 >= buflen - (size_t)n1 - 1)
		return -1;
	argv[0] = "sacctmgr";
	argv[1] = "-i";
	argv[2] = "modify";
	argv[3] = "account";
	argv[4] = "where";
	argv[5] = buf;
	argv[6] = buf + n1 + 1;
	argv[7] = "set";
	argv[8] = a->block ? "GrpTRESMins=cpu=0" : "GrpTRESMins=cpu=-1";
	argv[9] = NULL;
	return 0;
}
