/*
 * select_policy.c - see select_policy.h.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "select_policy.h"

int sel_job_replicas(char *const *env, size_t n)
{
	static const char name[] = SEL_ENV_REPLICAS "=";
	const char *value = NULL;

	for (size_t i = 0; env && i < n; i++) {
		const char *e = env[i];

		if (!e)
			continue;
		if (!strncmp(e, "SPANK_", 6))
			e += 6;
		if (!strncmp(e, name, sizeof(name) - 1))
			value = e + sizeof(name) - 1;	/* the last one wins */
	}
	if (!value)
		return 0;
	/* Exactly what spank_quorate writes: a plain decimal in range. */
	if (value[0] < '1' || value[0] > '9')
		return -1;
	long v = 0;
	for (const char *p = value; *p; p++) {
		if (*p < '0' || *p > '9' || p - value > 2)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < SEL_REPLICAS_MIN || v > SEL_REPLICAS_MAX)
		return -1;
	return (int)v;
}

enum sel_exclusion sel_exclusion(enum node_state state, bool replicated)
{
	if (state == NODE_QUARANTINED)
		return SEL_EXCL_QUARANTINED;
	if (state == NODE_PROBATION && !replicated)
		return SEL_EXCL_PROBATION;
	return SEL_ELIGIBLE;
}

unsigned sel_rank(enum node_state state, bool has_score, double score)
{
	unsigned group, sub = 0;

	switch (state) {
	case NODE_TRUSTED:	group = 0; break;
	case NODE_NEUTRAL:	group = 1; break;
	case NODE_PROBATION:	group = 2; break;
	default:		group = 3; break;
	}
	if (has_score && isfinite(score)) {
		long tenths = lround(score * 10.0);

		if (tenths < 0)
			tenths = 0;
		if (tenths > 1000)
			tenths = 1000;
		sub = 1000u - (unsigned)tenths;
	}
	return group * 1001u + sub;
}

uint64_t sel_weight_compose(uint64_t slurm_weight, unsigned key)
{
	return (slurm_weight & SEL_WEIGHT_SLURM_MASK) |
	       ((uint64_t)(key & (2 * SEL_RANK_LIMIT - 1)) << SEL_WEIGHT_SHIFT);
}

uint64_t sel_weight_strip(uint64_t weight)
{
	return weight & SEL_WEIGHT_SLURM_MASK;
}

bool sel_site_of_features(const char *features, const char *prefix,
			  const char **name, size_t *len)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	const char *p = features;

	if (!p || !plen)
		return false;
	while (*p) {
		const char *start = p;
		size_t n;

		while (*p && *p != ',')
			p++;
		n = (size_t)(p - start);
		if (n > plen && !strncmp(start, prefix, plen)) {
			*name = start;
			*len = n;
			return true;
		}
		if (*p == ',')
			p++;
	}
	return false;
}

unsigned sel_sites_required(unsigned replicas, unsigned sites, unsigned nodes)
{
	unsigned t = replicas;

	if (sites < t)
		t = sites;
	if (nodes < t)
		t = nodes;
	return t ? t : 1;
}

void sel_scratch_free(struct sel_scratch *s)
{
	free(s->order);
	free(s->site_buf);
	s->order = NULL;
	s->site_buf = NULL;
	s->order_cap = s->site_cap = 0;
}

#define SITE_ARRAYS 5

static int scratch_reserve(struct sel_scratch *s, size_t n, unsigned nsites)
{
	if (n > s->order_cap) {
		size_t cap = n < 64 ? 64 : n;
		uint32_t *p = realloc(s->order, cap * sizeof(*p));

		if (!p)
			return -1;
		s->order = p;
		s->order_cap = cap;
	}
	if (nsites > s->site_cap) {
		size_t cap = nsites < 16 ? 16 : nsites;
		uint32_t *p = realloc(s->site_buf,
				      cap * SITE_ARRAYS * sizeof(*p));

		if (!p)
			return -1;
		s->site_buf = p;
		s->site_cap = cap;
	}
	return 0;
}

/* Group j's size when M nodes form N groups: the first M % N get one more. */
static unsigned group_size(const struct sel_spread *sp, unsigned j)
{
	if (sp->nodes < sp->groups)
		return 1;
	return sp->nodes / sp->groups + (j < sp->nodes % sp->groups ? 1 : 0);
}

static unsigned group_count(const struct sel_spread *sp)
{
	return sp->nodes < sp->groups ? sp->nodes : sp->groups;
}

int sel_plan(const struct sel_cand *cand, size_t n, unsigned nsites,
	     const struct sel_spread *sp, const uint8_t *skip,
	     uint8_t *planned, struct sel_plan_info *info,
	     struct sel_scratch *s)
{
	uint32_t *cap, *first, *quota, *site_order, *used;
	uint32_t home[SEL_REPLICAS_MAX];
	unsigned nso = 0, nhome = 0, ngroups, deficit = 0;
	size_t navail = 0;
	bool whole = true;

	memset(info, 0, sizeof(*info));
	if (!sp->groups || sp->groups > SEL_REPLICAS_MAX || !sp->nodes ||
	    !sp->sites_required || sp->sites_required > sp->groups) {
		errno = EINVAL;
		return -1;
	}
	if (n)
		memset(planned, 0, n);
	if (scratch_reserve(s, n, nsites))
		return -1;
	cap = s->site_buf;
	first = cap + s->site_cap;
	quota = first + s->site_cap;
	site_order = quota + s->site_cap;
	used = site_order + s->site_cap;

	/* Counting sort by rank; stable, so equal ranks keep node order. */
	memset(s->rank_count, 0, sizeof(s->rank_count));
	for (size_t i = 0; i < n; i++) {
		if (skip && skip[i])
			continue;
		if (cand[i].rank >= SEL_RANK_LIMIT || cand[i].site >= nsites) {
			errno = EINVAL;
			return -1;
		}
		s->rank_count[cand[i].rank + 1]++;
		navail++;
	}
	for (unsigned r = 1; r <= SEL_RANK_LIMIT; r++)
		s->rank_count[r] += s->rank_count[r - 1];
	for (size_t i = 0; i < n; i++) {
		if (skip && skip[i])
			continue;
		s->order[s->rank_count[cand[i].rank]++] = (uint32_t)i;
	}

	/* Sites, ordered by their best candidate. */
	for (unsigned k = 0; k < nsites; k++) {
		cap[k] = quota[k] = used[k] = 0;
		first[k] = UINT32_MAX;
	}
	for (size_t p = 0; p < navail; p++) {
		uint32_t site = cand[s->order[p]].site;

		if (first[site] == UINT32_MAX) {
			first[site] = (uint32_t)p;
			site_order[nso++] = site;
		}
		cap[site]++;
	}
	info->nodes_available = (unsigned)navail;
	info->sites_with_nodes = nso;
	if (nso < sp->sites_required) {
		info->status = SEL_PLAN_FEW_SITES;
		return 0;
	}
	if (navail < sp->nodes) {
		info->status = SEL_PLAN_FEW_NODES;
		return 0;
	}

	/* Home sites for the first T groups: distinct, whole groups first. */
	for (unsigned k = 0; k < nso && nhome < sp->sites_required; k++) {
		uint32_t site = site_order[k];

		if (cap[site] >= group_size(sp, nhome)) {
			home[nhome++] = site;
			used[site] = 1;
		}
	}
	for (unsigned k = 0; k < nso && nhome < sp->sites_required; k++) {
		uint32_t site = site_order[k];

		if (!used[site]) {
			home[nhome++] = site;
			used[site] = 1;
		}
	}
	/* cap[] now counts what is left in each site. */
	for (unsigned j = 0; j < nhome; j++) {
		unsigned g = group_size(sp, j), take = g;

		if (take > cap[home[j]])
			take = cap[home[j]];
		quota[home[j]] += take;
		cap[home[j]] -= take;
		if (take < g) {
			deficit += g - take;
			whole = false;
		}
	}
	ngroups = group_count(sp);
	for (unsigned j = nhome; j < ngroups; j++) {
		unsigned g = group_size(sp, j), k;

		for (k = 0; k < nso; k++) {
			if (cap[site_order[k]] >= g)
				break;
		}
		if (k < nso) {
			quota[site_order[k]] += g;
			cap[site_order[k]] -= g;
		} else {
			deficit += g;
			whole = false;
		}
	}
	/* Groups that fit no single site are split, best sites first. */
	for (unsigned k = 0; k < nso && deficit; k++) {
		uint32_t site = site_order[k];
		unsigned take = cap[site] < deficit ? cap[site] : deficit;

		quota[site] += take;
		cap[site] -= take;
		deficit -= take;
	}
	if (deficit) {	/* cannot happen: navail >= M */
		info->status = SEL_PLAN_FEW_NODES;
		return 0;
	}

	/* The best nodes of each site, up to its quota. */
	for (unsigned k = 0; k < nso; k++) {
		used[site_order[k]] = 0;
		if (quota[site_order[k]])
			info->sites_used++;
	}
	for (size_t p = 0; p < navail; p++) {
		uint32_t i = s->order[p], site = cand[i].site;

		if (used[site] < quota[site]) {
			used[site]++;
			planned[i] = 1;
		}
	}
	info->groups_whole = whole;
	info->status = SEL_PLAN_OK;
	return 0;
}

int sel_spread_ok(const uint32_t *sites, size_t m, unsigned nsites,
		  const struct sel_spread *sp, bool need_whole,
		  struct sel_scratch *s)
{
	uint32_t *count;
	unsigned distinct = 0, ngroups;

	if (scratch_reserve(s, 0, nsites))
		return -1;
	count = s->site_buf;
	memset(count, 0, nsites * sizeof(*count));
	for (size_t i = 0; i < m; i++) {
		if (sites[i] >= nsites)
			return 0;
		if (!count[sites[i]]++)
			distinct++;
	}
	if (m != sp->nodes || distinct < sp->sites_required)
		return 0;
	if (!need_whole)
		return 1;
	/* First fit, larger groups first (sizes differ by at most one). */
	ngroups = group_count(sp);
	for (unsigned j = 0; j < ngroups; j++) {
		unsigned g = group_size(sp, j), k;

		for (k = 0; k < nsites; k++) {
			if (count[k] >= g)
				break;
		}
		if (k == nsites)
			return 0;
		count[k] -= g;
	}
	return 1;
}
