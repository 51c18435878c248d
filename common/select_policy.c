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

unsigned sel_rank(enum node_state state, bool has_score, double score)
{
	unsigned group, sub = 0;

	switch (state) {
	case NODE_TRUSTED:	group = 0; break;
	case NODE_NEUTRAL:
	case NODE_UNPROVEN:	group = 1; break;
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

/* Per site: cap, best, quota, used, heap offset; then the site order. */
#define SITE_ARRAYS 6

static int scratch_reserve(struct sel_scratch *s, size_t n, unsigned nsites)
{
	if (n > s->order_cap) {
		size_t cap = n < 64 ? 64 : n;
		uint64_t *p = realloc(s->order, cap * sizeof(*p));

		if (!p)
			return -1;
		s->order = p;
		s->order_cap = cap;
	}
	if (nsites > s->site_cap) {
		size_t cap = nsites < 16 ? 16 : nsites;
		uint64_t *p = realloc(s->site_buf,
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

/* (rank, position): the order "better reputation, then lower node index",
 * which is the order cons_tres breaks ties in. */
static uint64_t cand_key(const struct sel_cands *c, size_t i)
{
	return ((uint64_t)c->rank[c->node[i]] << 32) | (uint64_t)i;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Keep the q smallest keys in a max-heap h[0..*len). */
static void heap_offer(uint64_t *h, unsigned *len, unsigned q, uint64_t key)
{
	unsigned i;

	if (*len < q) {
		i = (*len)++;
		while (i && h[(i - 1) / 2] < key) {
			h[i] = h[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		h[i] = key;
		return;
	}
	if (key >= h[0])
		return;
	i = 0;
	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= q)
			break;
		if (c + 1 < q && h[c + 1] > h[c])
			c++;
		if (h[c] <= key)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = key;
}

int sel_plan(const struct sel_cands *c, unsigned nsites,
	     const struct sel_spread *sp, const uint8_t *skip,
	     uint8_t *planned, struct sel_plan_info *info,
	     struct sel_scratch *s)
{
	size_t n = c->n;
	uint64_t *cap, *best, *quota, *used, *heap_at, *site_order;
	uint32_t home[SEL_REPLICAS_MAX];
	unsigned nso = 0, nhome = 0, ngroups, deficit = 0;
	size_t navail = 0, heaped = 0;
	bool whole = true;

	memset(info, 0, sizeof(*info));
	if (!sp->groups || sp->groups > SEL_REPLICAS_MAX || !sp->nodes ||
	    !sp->sites_required || sp->sites_required > sp->groups) {
		errno = EINVAL;
		return -1;
	}
	if (n)
		memset(planned, 0, n);
	if (scratch_reserve(s, sp->nodes, nsites))
		return -1;
	cap = s->site_buf;
	best = cap + s->site_cap;
	quota = best + s->site_cap;
	used = quota + s->site_cap;
	heap_at = used + s->site_cap;
	site_order = heap_at + s->site_cap;
	for (unsigned k = 0; k < nsites; k++)
		cap[k] = quota[k] = used[k] = 0;

	/* One pass: how many candidates each site has, and its best one. */
	for (size_t i = 0; i < n; i++) {
		uint32_t site = c->site[c->node[i]];
		uint64_t key;

		if (skip && skip[i])
			continue;
		if (c->rank[c->node[i]] >= SEL_RANK_LIMIT || site >= nsites) {
			errno = EINVAL;
			return -1;
		}
		key = cand_key(c, i);
		if (!cap[site]++ || key < best[site])
			best[site] = key;
		navail++;
	}
	/* Sites ordered by their best candidate. */
	for (unsigned k = 0; k < nsites; k++) {
		if (cap[k])
			site_order[nso++] = best[k];
	}
	qsort(site_order, nso, sizeof(*site_order), cmp_u64);
	for (unsigned k = 0; k < nso; k++)
		site_order[k] = c->site[c->node[(uint32_t)site_order[k]]];
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
		uint64_t site = site_order[k];

		if (cap[site] >= group_size(sp, nhome)) {
			home[nhome++] = (uint32_t)site;
			used[site] = 1;
		}
	}
	for (unsigned k = 0; k < nso && nhome < sp->sites_required; k++) {
		uint64_t site = site_order[k];

		if (!used[site]) {
			home[nhome++] = (uint32_t)site;
			used[site] = 1;
		}
	}
	/* cap[] now counts what is left in each site. */
	for (unsigned j = 0; j < nhome; j++) {
		unsigned g = group_size(sp, j), take = g;

		if (take > cap[home[j]])
			take = (unsigned)cap[home[j]];
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
		uint64_t site = site_order[k];
		unsigned take = cap[site] < deficit ? (unsigned)cap[site] : deficit;

		quota[site] += take;
		cap[site] -= take;
		deficit -= take;
	}
	if (deficit) {	/* cannot happen: navail >= M */
		info->status = SEL_PLAN_FEW_NODES;
		return 0;
	}

	/* The best `quota' candidates of each site: the site's best for a
	 * quota of one, a bounded heap per site otherwise (second pass). */
	for (unsigned k = 0; k < nso; k++) {
		uint64_t site = site_order[k];

		used[site] = 0;
		if (!quota[site])
			continue;
		info->sites_used++;
		if (quota[site] == 1) {
			planned[(uint32_t)best[site]] = 1;
		} else {
			heap_at[site] = heaped;
			heaped += quota[site];
		}
	}
	if (heaped) {
		for (size_t i = 0; i < n; i++) {
			uint32_t site = c->site[c->node[i]];
			unsigned len;

			if ((skip && skip[i]) || quota[site] < 2)
				continue;
			len = (unsigned)used[site];
			heap_offer(s->order + heap_at[site], &len,
				   (unsigned)quota[site], cand_key(c, i));
			used[site] = len;
		}
		for (size_t h = 0; h < heaped; h++)
			planned[(uint32_t)s->order[h]] = 1;
	}
	info->groups_whole = whole;
	info->status = SEL_PLAN_OK;
	return 0;
}

int sel_spread_ok(const uint32_t *sites, size_t m, unsigned nsites,
		  const struct sel_spread *sp, bool need_whole,
		  struct sel_scratch *s)
{
	uint64_t *count;
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
