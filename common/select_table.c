/*
 * select_table.c - see select_table.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select_table.h"

#define DEFAULT_TRUST_ABOVE	80.0
#define DEFAULT_SITE_PREFIX	"site_"
#define NO_SITE_NAME		"(none)"

static bool same_string(const char *a, const char *b)
{
	if (!a || !*a)
		return !b || !*b;
	return b && !strcmp(a, b);
}

static void entry_reset(struct sel_node_entry *e)
{
	free(e->extra);
	free(e->features);
	memset(e, 0, sizeof(*e));
}

/* A node about which nothing is known: neutral, no site. */
static void node_reset(struct sel_table *t, size_t i)
{
	if (t->nodes[i].has_score)
		t->opinionated--;
	entry_reset(&t->nodes[i]);
	t->state[i] = NODE_NEUTRAL;
	t->rank[i] = (uint16_t)sel_rank(NODE_NEUTRAL, false, 0);
	t->site[i] = 0;
}

int sel_table_init(struct sel_table *t)
{
	memset(t, 0, sizeof(*t));
	t->trust_above = DEFAULT_TRUST_ABOVE;
	t->site_prefix = strdup(DEFAULT_SITE_PREFIX);
	t->site_names = calloc(8, sizeof(*t->site_names));
	if (!t->site_prefix || !t->site_names)
		goto fail;
	t->sites_cap = 8;
	t->site_names[0] = strdup("");
	if (!t->site_names[0])
		goto fail;
	t->nsites = 1;
	return 0;
fail:
	sel_table_free(t);
	return -1;
}

void sel_table_free(struct sel_table *t)
{
	for (size_t i = 0; i < t->nnodes; i++)
		entry_reset(&t->nodes[i]);
	free(t->nodes);
	free(t->state);
	free(t->rank);
	free(t->site);
	for (unsigned k = 0; k < t->nsites; k++)
		free(t->site_names[k]);
	free(t->site_names);
	free(t->site_prefix);
	free(t->excluded);
	free(t->planned);
	free(t->skip);
	free(t->site_mark);
	sel_scratch_free(&t->scratch);
	memset(t, 0, sizeof(*t));
}

/* Force every node to be parsed again on its next update. */
static void table_invalidate(struct sel_table *t)
{
	for (size_t i = 0; i < t->nnodes; i++) {
		struct sel_node_entry *e = &t->nodes[i];

		free(e->extra);
		free(e->features);
		e->extra = e->features = NULL;
		e->extra_ptr = e->features_ptr = (const void *)t;
	}
}

int sel_table_configure(struct sel_table *t, double trust_above,
			const char *site_prefix)
{
	char *prefix = strdup(site_prefix ? site_prefix : DEFAULT_SITE_PREFIX);

	if (!prefix)
		return -1;
	free(t->site_prefix);
	t->site_prefix = prefix;
	t->trust_above = trust_above;
	table_invalidate(t);
	return 0;
}

int sel_table_resize(struct sel_table *t, size_t n)
{
	if (n > t->nodes_cap) {
		struct sel_node_entry *e = realloc(t->nodes, n * sizeof(*e));
		uint8_t *st;
		uint16_t *rk;
		uint32_t *si;

		if (!e)
			return -1;
		t->nodes = e;
		st = realloc(t->state, n * sizeof(*st));
		if (!st)
			return -1;
		t->state = st;
		rk = realloc(t->rank, n * sizeof(*rk));
		if (!rk)
			return -1;
		t->rank = rk;
		si = realloc(t->site, n * sizeof(*si));
		if (!si)
			return -1;
		t->site = si;
		t->nodes_cap = n;
	}
	for (size_t i = n; i < t->nnodes; i++)
		node_reset(t, i);
	for (size_t i = t->nnodes; i < n; i++) {
		memset(&t->nodes[i], 0, sizeof(t->nodes[i]));
		node_reset(t, i);
		/* never seen: parse on the first update, even of NULLs */
		t->nodes[i].extra_ptr = t->nodes[i].features_ptr = (const void *)t;
	}
	t->nnodes = n;
	return 0;
}

static int site_intern(struct sel_table *t, const char *name, size_t len,
		       uint32_t *out)
{
	char *copy;

	for (unsigned k = 1; k < t->nsites; k++) {
		if (strlen(t->site_names[k]) == len &&
		    !strncmp(t->site_names[k], name, len)) {
			*out = k;
			return 0;
		}
	}
	if (t->nsites == t->sites_cap) {
		char **p = realloc(t->site_names,
				   2 * t->sites_cap * sizeof(*p));

		if (!p)
			return -1;
		t->site_names = p;
		t->sites_cap *= 2;
	}
	copy = strndup(name, len);
	if (!copy)
		return -1;
	t->site_names[t->nsites] = copy;
	*out = t->nsites++;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return (s && *s) ? strdup(s) : NULL;
}

int sel_table_update_node(struct sel_table *t, size_t i, const char *extra,
			  const char *features)
{
	struct sel_node_entry *e = &t->nodes[i];
	int changed = 0;

	if (e->extra_ptr != (const void *)extra || !same_string(e->extra, extra)) {
		/* copy before freeing: extra may be our old copy */
		bool given = extra && *extra;
		char *copy = dup_or_null(extra);
		struct node_reputation rep;
		enum node_state st;
		int bad = 0;

		memset(&rep, 0, sizeof(rep));
		free(e->extra);
		e->extra = copy;
		e->extra_ptr = extra;
		if (given && !copy)
			e->extra_ptr = (const void *)t;	/* retry later */
		else
			node_extra_parse(copy, &rep, &bad);
		st = node_effective_state(&rep, t->trust_above);
		if (e->has_score)
			t->opinionated--;
		e->has_score = rep.has_score;
		if (e->has_score)
			t->opinionated++;
		e->score = rep.score;
		e->malformed = (uint8_t)(bad > 255 ? 255 : bad);
		t->state[i] = (uint8_t)st;
		t->rank[i] = (uint16_t)sel_rank(st, rep.has_score, rep.score);
		changed = 1;
		if (e->extra_ptr == (const void *)t)
			return -1;
	}
	if (e->features_ptr != (const void *)features ||
	    !same_string(e->features, features)) {
		bool given = features && *features;
		char *copy = dup_or_null(features);
		const char *name;
		size_t len;
		uint32_t site = 0;

		free(e->features);
		e->features = copy;
		e->features_ptr = features;
		t->site[i] = 0;
		changed = 1;
		if (given && !copy) {
			e->features_ptr = (const void *)t;
			return -1;
		}
		if (sel_site_of_features(copy, t->site_prefix, &name, &len)) {
			if (site_intern(t, name, len, &site)) {
				e->features_ptr = (const void *)t;
				return -1;
			}
		}
		t->site[i] = site;
	}
	return changed;
}

void sel_table_clear_node(struct sel_table *t, size_t i)
{
	node_reset(t, i);
	t->nodes[i].extra_ptr = t->nodes[i].features_ptr = (const void *)t;
}

const char *sel_table_site_name(const struct sel_table *t, uint32_t site)
{
	if (site == 0 || site >= t->nsites)
		return NO_SITE_NAME;
	return t->site_names[site];
}

static int reserve_work(struct sel_table *t, size_t n)
{
	size_t cap;

	if (t->site_mark_cap < t->nsites) {
		uint8_t *m = realloc(t->site_mark, t->sites_cap);

		if (!m)
			return -1;
		t->site_mark = m;
		t->site_mark_cap = t->sites_cap;
	}
	if (n <= t->work_cap)
		return 0;
	cap = n < 64 ? 64 : n + n / 4;
#define GROW(field) do { \
		void *p_ = realloc(t->field, cap * sizeof(*t->field)); \
		if (!p_) \
			return -1; \
		t->field = p_; \
	} while (0)
	GROW(excluded);
	GROW(planned);
	GROW(skip);
#undef GROW
	t->work_cap = cap;
	return 0;
}

unsigned sel_table_count_sites(struct sel_table *t, const uint32_t *nodes,
			       size_t n)
{
	unsigned count = 0;

	if (reserve_work(t, 0))
		return 0;
	memset(t->site_mark, 0, t->nsites);
	for (size_t i = 0; i < n; i++) {
		uint32_t site;

		if (nodes[i] >= t->nnodes)
			continue;
		site = t->site[nodes[i]];
		if (!t->site_mark[site]) {
			t->site_mark[site] = 1;
			count++;
		}
	}
	return count;
}

/* sel_exclusion() as a table, [replicated][state]: the loop below runs
 * for every candidate of every job, and branches on scattered states
 * mispredict.  Eight states wide, so that "& 7" keeps any byte inside. */
static const uint8_t exclusion_of[2][8] = {
	{ [NODE_NEUTRAL] = SEL_ELIGIBLE, [NODE_PROBATION] = SEL_EXCL_PROBATION,
	  [NODE_TRUSTED] = SEL_ELIGIBLE, [NODE_QUARANTINED] = SEL_EXCL_QUARANTINED,
	  [NODE_UNPROVEN] = SEL_ELIGIBLE },
	{ [NODE_NEUTRAL] = SEL_ELIGIBLE, [NODE_PROBATION] = SEL_ELIGIBLE,
	  [NODE_TRUSTED] = SEL_ELIGIBLE, [NODE_QUARANTINED] = SEL_EXCL_QUARANTINED,
	  [NODE_UNPROVEN] = SEL_ELIGIBLE },
};

int sel_table_job(struct sel_table *t, const struct sel_job_in *in,
		  struct sel_job_out *out)
{
	const uint8_t *restrict lut = exclusion_of[in->replicas >= SEL_REPLICAS_MIN];
	const uint8_t *restrict state = t->state;
	const uint16_t *restrict rank = t->rank;
	const uint32_t *restrict cand = in->cand;
	uint8_t *restrict excluded;
	size_t nnodes = t->nnodes, ncand = in->ncand;
	size_t kept = 0, quarantined = 0, probation = 0;
	unsigned lo = UINT16_MAX, hi = 0;

	memset(out, 0, sizeof(*out));
	out->first_overridden = out->blocked = -1;
	t->skip_built = false;
	if (reserve_work(t, in->ncand))
		return -1;
	excluded = t->excluded;
	/* candidates ascend: the last one bounds them all */
	if (ncand && cand[ncand - 1] >= nnodes) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < ncand; i++) {
		uint32_t node = cand[i];
		unsigned why, r;

		why = lut[state[node] & 7];
		excluded[i] = (uint8_t)why;
		/* counters in registers: a count[why]++ in memory stalls */
		kept += why == SEL_ELIGIBLE;
		quarantined += why == SEL_EXCL_QUARANTINED;
		probation += why == SEL_EXCL_PROBATION;
		r = why ? lo : rank[node];
		lo = r < lo ? r : lo;
		r = why ? hi : rank[node];
		hi = r > hi ? r : hi;
	}
	/* Nodes the job names (--nodelist): an admin's choice stands. */
	for (size_t i = 0; in->required && i < in->ncand; i++) {
		unsigned why = excluded[i], r;

		if (!in->required[i] || !why)
			continue;
		if (!in->admin) {
			if (out->blocked < 0) {
				out->blocked = cand[i];
				out->blocked_cause = (uint8_t)why;
			}
			continue;
		}
		if (out->first_overridden < 0)
			out->first_overridden = cand[i];
		out->overridden++;
		if (why == SEL_EXCL_QUARANTINED)
			quarantined--;
		else
			probation--;
		kept++;
		excluded[i] = SEL_ELIGIBLE;
		r = rank[cand[i]];
		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	out->kept = kept;
	out->quarantined = (unsigned)quarantined;
	out->probation = (unsigned)probation;
	out->uniform = !out->kept || lo == hi;
	return 0;
}

/* What the planner leaves out: the excluded, and what found no room. */
static void build_skip(struct sel_table *t, const struct sel_job_in *in)
{
	if (t->skip_built)
		return;
	memcpy(t->skip, t->excluded, in->ncand);
	t->skip_built = true;
}

void sel_table_skip(struct sel_table *t, const struct sel_job_in *in,
		    size_t i)
{
	build_skip(t, in);
	t->skip[i] = 1;
}

int sel_table_plan(struct sel_table *t, const struct sel_job_in *in,
		   const struct sel_spread *spread, struct sel_plan_info *info)
{
	struct sel_cands c = {
		.n = in->ncand, .node = in->cand, .site = t->site, .rank = t->rank,
	};

	build_skip(t, in);
	return sel_plan(&c, t->nsites, spread, t->skip, t->planned, info,
			&t->scratch);
}

int sel_table_spread_ok(struct sel_table *t, const uint32_t *nodes, size_t m,
			const struct sel_spread *spread, bool need_whole)
{
	uint32_t *sites;
	int ok;

	sites = malloc((m ? m : 1) * sizeof(*sites));
	if (!sites)
		return -1;
	for (size_t i = 0; i < m; i++)
		sites[i] = nodes[i] < t->nnodes ? t->site[nodes[i]] : 0;
	ok = sel_spread_ok(sites, m, t->nsites, spread, need_whole,
			   &t->scratch);
	free(sites);
	return ok;
}

void sel_reason_trust(char *buf, size_t len, unsigned wanted,
		      const struct sel_job_out *out)
{
	snprintf(buf, len,
		 "QuorateTrust: needs %u node%s, %zu eligible; excluded %u quarantined, %u on probation (replicated jobs only)",
		 wanted, wanted == 1 ? "" : "s", out->kept, out->quarantined,
		 out->probation);
}

void sel_reason_blocked(char *buf, size_t len, const char *node,
			uint8_t cause)
{
	snprintf(buf, len,
		 "QuorateTrust: required node %s is %s; only root or SlurmUser may override with --nodelist",
		 node, cause == SEL_EXCL_QUARANTINED ? "quarantined" :
		 "on probation (replicated jobs only)");
}

void sel_reason_sites(struct sel_table *t, char *buf, size_t len,
		      const struct sel_job_in *in,
		      const struct sel_spread *spread,
		      const struct sel_plan_info *info, bool no_room)
{
	size_t used;
	unsigned listed = 0;
	int n;

	if (no_room) {
		n = snprintf(buf, len,
			     "QuorateSites: --replicas=%u needs room on %u sites; eligible on ",
			     in->replicas, spread->sites_required);
	} else if (info->status == SEL_PLAN_FEW_NODES) {
		n = snprintf(buf, len,
			     "QuorateSites: --replicas=%u needs %u eligible nodes, has %u on ",
			     in->replicas, spread->nodes, info->nodes_available);
	} else {
		n = snprintf(buf, len,
			     "QuorateSites: --replicas=%u needs %u sites, eligible nodes on %u: ",
			     in->replicas, spread->sites_required,
			     info->sites_with_nodes);
	}
	if (n < 0 || (size_t)n >= len)
		return;
	used = (size_t)n;
	if (reserve_work(t, 0))
		return;
	memset(t->site_mark, 0, t->nsites);
	for (size_t i = 0; i < in->ncand && used < len; i++) {
		uint32_t site = t->site[in->cand[i]];

		if (t->excluded[i] || t->site_mark[site])
			continue;
		t->site_mark[site] = 1;
		n = snprintf(buf + used, len - used, "%s%s", listed ? "," : "",
			     sel_table_site_name(t, site));
		if (n < 0)
			return;
		used += (size_t)n;
		listed++;
	}
	if (!listed && used < len)
		snprintf(buf + used, len - used, "none");
}
