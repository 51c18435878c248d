/* Unit tests for common/select_policy.c and common/select_table.c: the
 * placement rules of select/reputation over synthetic node tables. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "select_policy.h"
#include "select_table.h"

static void test_job_replicas(void **state)
{
	char *plain[] = { "FOO=1", "QUORATE_REPLICAS=3", "QUORATE_QUORUM=2" };
	char *prefixed[] = { "SPANK_QUORATE_REPLICAS=16" };
	char *none[] = { "QUORATE_QUORUM=2", "QUORATE_REPLICASX=3" };
	char *bad1[] = { "QUORATE_REPLICAS=1" };
	char *bad2[] = { "QUORATE_REPLICAS=17" };
	char *bad3[] = { "QUORATE_REPLICAS=3x" };
	char *bad4[] = { "QUORATE_REPLICAS=" };
	char *bad5[] = { "QUORATE_REPLICAS=03" };
	char *last[] = { "QUORATE_REPLICAS=3", NULL, "QUORATE_REPLICAS=5" };

	assert_int_equal(sel_job_replicas(plain, 3), 3);
	assert_int_equal(sel_job_replicas(prefixed, 1), 16);
	assert_int_equal(sel_job_replicas(none, 2), 0);
	assert_int_equal(sel_job_replicas(NULL, 0), 0);
	assert_int_equal(sel_job_replicas(bad1, 1), -1);
	assert_int_equal(sel_job_replicas(bad2, 1), -1);
	assert_int_equal(sel_job_replicas(bad3, 1), -1);
	assert_int_equal(sel_job_replicas(bad4, 1), -1);
	assert_int_equal(sel_job_replicas(bad5, 1), -1);
	assert_int_equal(sel_job_replicas(last, 3), 5);
}

static void test_tiers(void **state)
{
	/* who may run what */
	assert_int_equal(sel_exclusion(NODE_QUARANTINED, true), SEL_EXCL_QUARANTINED);
	assert_int_equal(sel_exclusion(NODE_QUARANTINED, false), SEL_EXCL_QUARANTINED);
	assert_int_equal(sel_exclusion(NODE_PROBATION, false), SEL_EXCL_PROBATION);
	assert_int_equal(sel_exclusion(NODE_PROBATION, true), SEL_ELIGIBLE);
	assert_int_equal(sel_exclusion(NODE_TRUSTED, false), SEL_ELIGIBLE);
	assert_int_equal(sel_exclusion(NODE_NEUTRAL, false), SEL_ELIGIBLE);
	/* no evidence against a node: every job */
	assert_int_equal(sel_exclusion(NODE_UNPROVEN, false), SEL_ELIGIBLE);
	assert_int_equal(sel_exclusion(NODE_UNPROVEN, true), SEL_ELIGIBLE);

	/* trusted (by score) < neutral, unproven < probation (by score) <
	 * quarantined; an unproven node with a higher score goes first */
	unsigned u60 = sel_rank(NODE_UNPROVEN, true, 60.0);
	unsigned u20 = sel_rank(NODE_UNPROVEN, true, 20.0);
	unsigned t99 = sel_rank(NODE_TRUSTED, true, 99.0);
	unsigned t81 = sel_rank(NODE_TRUSTED, true, 81.0);
	unsigned n = sel_rank(NODE_NEUTRAL, false, 0);
	unsigned p79 = sel_rank(NODE_PROBATION, true, 79.0);
	unsigned p41 = sel_rank(NODE_PROBATION, true, 41.0);
	unsigned q = sel_rank(NODE_QUARANTINED, true, 10.0);

	assert_true(t99 < t81);
	assert_true(t81 < n);
	assert_true(t81 < u60);
	assert_true(u60 < u20);
	assert_true(n < p79);
	assert_true(u20 < p79);
	assert_true(p79 < p41);
	assert_true(p41 < q);
	assert_true(q < SEL_RANK_LIMIT);
	/* steps of 0.1; out-of-range scores clamp */
	assert_true(sel_rank(NODE_TRUSTED, true, 90.1) < sel_rank(NODE_TRUSTED, true, 90.0));
	assert_int_equal(sel_rank(NODE_TRUSTED, true, 150.0), sel_rank(NODE_TRUSTED, true, 100.0));
}

/* The job_test timing split: own = total - inner, means per call. */
static void test_timing(void **state)
{
	struct sel_timing t = { 0 };
	char buf[160];

	sel_timing_format(&t, buf, sizeof(buf));
	assert_string_equal(buf, "0 calls, own 0.0000 ms/call, select/cons_tres 0.0000 ms/call (means)");
	sel_timing_add(&t, 300000, 200000);	/* 0.3 ms, 0.2 of them cons_tres */
	sel_timing_add(&t, 100000, 150000);	/* inner read past the end: capped */
	assert_int_equal(t.calls, 2);
	assert_int_equal(t.inner_ns, 300000);
	sel_timing_format(&t, buf, sizeof(buf));
	assert_string_equal(buf, "2 calls, own 0.0500 ms/call, select/cons_tres 0.1500 ms/call (means)");
}

static void test_weights(void **state)
{
	uint64_t slurm_low = (UINT64_C(5) << 8) | 0xff;		/* Weight=5 */
	uint64_t slurm_high = (UINT64_C(1) << 41) | (UINT64_C(1) << 8);	/* boot */
	uint64_t a = sel_weight_compose(slurm_high, 10);
	uint64_t b = sel_weight_compose(slurm_low, 11);

	/* our key orders first, whatever Slurm's bits say */
	assert_true(a < b);
	assert_true(sel_weight_strip(a) == slurm_high);
	assert_true(sel_weight_strip(b) == slurm_low);
	/* equal keys: Slurm's weight decides */
	assert_true(sel_weight_compose(slurm_low, 7) < sel_weight_compose(slurm_high, 7));
	/* idempotent: composing twice replaces the key */
	assert_true(sel_weight_compose(a, 3) == sel_weight_compose(slurm_high, 3));
	assert_true(sel_weight_compose(0, SEL_KEY_UNPLANNED | 5) >
		    sel_weight_compose(0, SEL_RANK_LIMIT - 1));
}

static void test_site_of_features(void **state)
{
	const char *name;
	size_t len;

	assert_true(sel_site_of_features("ib,site_b,bigmem", "site_", &name, &len));
	assert_int_equal(len, 6);
	assert_memory_equal(name, "site_b", 6);
	assert_false(sel_site_of_features("ib,bigmem", "site_", &name, &len));
	assert_false(sel_site_of_features("site_", "site_", &name, &len));
	assert_false(sel_site_of_features(NULL, "site_", &name, &len));
	assert_true(sel_site_of_features("dc-west", "dc-", &name, &len));
	assert_int_equal(len, 7);
}

static void test_sites_required(void **state)
{
	assert_int_equal(sel_sites_required(3, 3, 3), 3);
	assert_int_equal(sel_sites_required(3, 2, 6), 2);
	assert_int_equal(sel_sites_required(4, 3, 2), 2);
	assert_int_equal(sel_sites_required(2, 1, 2), 1);
	assert_int_equal(sel_sites_required(2, 0, 2), 1);
}

/* Candidates 0..n-1, node i on site i / per_site, ranks given or 1001. */
struct cands {
	uint32_t node[16], site[16];
	uint16_t rank[16];
	struct sel_cands c;
};

static const struct sel_cands *make_cands(struct cands *k, size_t n,
					  uint32_t per_site,
					  const uint16_t *rank)
{
	for (uint32_t i = 0; i < n; i++) {
		k->node[i] = i;
		k->site[i] = i / per_site;
		k->rank[i] = rank ? rank[i] : 1001;
	}
	k->c.n = n;
	k->c.node = k->node;
	k->c.site = k->site;
	k->c.rank = k->rank;
	return &k->c;
}

/* 3 sites x 2 nodes, as the test cluster: n0,n1 a; n2,n3 b; n4,n5 c. */
static const struct sel_cands *six_nodes(struct cands *k, const uint16_t *rank)
{
	return make_cands(k, 6, 2, rank);
}

static size_t planned_nodes(const uint8_t *planned, size_t n, uint32_t *out)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (planned[i])
			out[m++] = (uint32_t)i;
	return m;
}

static void test_plan_one_per_site(void **state)
{
	struct sel_scratch s = { 0 };
	struct cands k;
	struct sel_plan_info info;
	struct sel_spread sp = { .groups = 3, .nodes = 3, .sites_required = 3 };
	uint8_t planned[6];
	uint32_t got[6];

	const struct sel_cands *c = six_nodes(&k, NULL);
	assert_int_equal(sel_plan(c, 3, &sp, NULL, planned, &info, &s), 0);
	assert_int_equal(info.status, SEL_PLAN_OK);
	assert_int_equal(info.sites_used, 3);
	assert_true(info.groups_whole);
	/* ties: lowest node of each site, as cons_tres would */
	assert_int_equal(planned_nodes(planned, 6, got), 3);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 2);
	assert_int_equal(got[2], 4);

	/* better ranks win inside a site */
	uint16_t rank[6] = { 2000, 1500, 1001, 1001, 900, 100 };
	c = six_nodes(&k, rank);
	assert_int_equal(sel_plan(c, 3, &sp, NULL, planned, &info, &s), 0);
	assert_int_equal(planned_nodes(planned, 6, got), 3);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 2);
	assert_int_equal(got[2], 5);
	sel_scratch_free(&s);
}

static void test_plan_whole_groups(void **state)
{
	struct sel_scratch s = { 0 };
	struct cands k;
	struct sel_plan_info info;
	struct sel_spread sp = { .groups = 2, .nodes = 4, .sites_required = 2 };
	uint8_t planned[6], skip[6] = { 0 };
	uint32_t got[6];

	const struct sel_cands *c = six_nodes(&k, NULL);
	assert_int_equal(sel_plan(c, 3, &sp, NULL, planned, &info, &s), 0);
	assert_int_equal(info.status, SEL_PLAN_OK);
	assert_true(info.groups_whole);
	assert_int_equal(info.sites_used, 2);
	assert_int_equal(planned_nodes(planned, 6, got), 4);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 1);
	assert_int_equal(got[2], 2);
	assert_int_equal(got[3], 3);

	/* a site with one node left cannot hold a group of two: skip it */
	skip[1] = 1;
	assert_int_equal(sel_plan(c, 3, &sp, skip, planned, &info, &s), 0);
	assert_true(info.groups_whole);
	assert_int_equal(planned_nodes(planned, 6, got), 4);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 3);
	assert_int_equal(got[2], 4);
	assert_int_equal(got[3], 5);

	/* one node per site left: groups must split, still 2 sites */
	skip[1] = skip[3] = skip[5] = 1;
	assert_int_equal(sel_plan(c, 3, &sp, skip, planned, &info, &s), 0);
	assert_int_equal(info.status, SEL_PLAN_FEW_NODES);	/* 3 < 4 */
	skip[5] = 0;
	assert_int_equal(sel_plan(c, 3, &sp, skip, planned, &info, &s), 0);
	assert_int_equal(info.status, SEL_PLAN_OK);
	assert_false(info.groups_whole);
	assert_true(info.sites_used >= 2);
	sel_scratch_free(&s);
}

static void test_plan_too_few_sites(void **state)
{
	struct sel_scratch s = { 0 };
	struct cands k;
	struct sel_plan_info info;
	struct sel_spread sp = { .groups = 3, .nodes = 3, .sites_required = 3 };
	uint8_t planned[6], skip[6] = { 0, 0, 1, 1, 0, 0 };

	const struct sel_cands *c = six_nodes(&k, NULL);
	assert_int_equal(sel_plan(c, 3, &sp, skip, planned, &info, &s), 0);
	assert_int_equal(info.status, SEL_PLAN_FEW_SITES);
	assert_int_equal(info.sites_with_nodes, 2);
	for (int i = 0; i < 6; i++)
		assert_int_equal(planned[i], 0);

	/* more groups than sites: T = 2, groups doubled up, whole */
	struct sel_spread sp4 = { .groups = 4, .nodes = 4, .sites_required = 2 };
	assert_int_equal(sel_plan(c, 3, &sp4, skip, planned, &info, &s), 0);
	assert_int_equal(info.status, SEL_PLAN_OK);
	assert_int_equal(info.sites_used, 2);

	/* bad requests are refused, not guessed */
	struct sel_spread bad = { .groups = 2, .nodes = 2, .sites_required = 3 };
	assert_int_equal(sel_plan(c, 3, &bad, NULL, planned, &info, &s), -1);
	sel_scratch_free(&s);
}

static void test_plan_uneven_groups(void **state)
{
	struct sel_scratch s = { 0 };
	struct cands k;
	struct sel_plan_info info;
	/* 5 nodes in 2 groups: 3 + 2, on sites of 3, 3, 3 nodes */
	struct sel_spread sp = { .groups = 2, .nodes = 5, .sites_required = 2 };
	uint8_t planned[9];
	uint32_t got[9];

	const struct sel_cands *c = make_cands(&k, 9, 3, NULL);

	assert_int_equal(sel_plan(c, 3, &sp, NULL, planned, &info, &s), 0);
	assert_int_equal(info.status, SEL_PLAN_OK);
	assert_true(info.groups_whole);
	assert_int_equal(planned_nodes(planned, 9, got), 5);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[2], 2);
	assert_int_equal(got[3], 3);
	assert_int_equal(got[4], 4);
	sel_scratch_free(&s);
}

static void test_spread_ok(void **state)
{
	struct sel_scratch s = { 0 };
	struct sel_spread sp3 = { .groups = 3, .nodes = 3, .sites_required = 3 };
	struct sel_spread sp2 = { .groups = 2, .nodes = 4, .sites_required = 2 };
	uint32_t abc[] = { 0, 1, 2 }, aab[] = { 0, 0, 1 };
	uint32_t aabb[] = { 0, 0, 1, 1 }, aaab[] = { 0, 0, 0, 1 }, abcc[] = { 0, 1, 2, 2 };

	assert_int_equal(sel_spread_ok(abc, 3, 3, &sp3, true, &s), 1);
	assert_int_equal(sel_spread_ok(aab, 3, 3, &sp3, true, &s), 0);
	assert_int_equal(sel_spread_ok(aabb, 4, 3, &sp2, true, &s), 1);
	assert_int_equal(sel_spread_ok(aaab, 4, 3, &sp2, true, &s), 0);
	assert_int_equal(sel_spread_ok(aaab, 4, 3, &sp2, false, &s), 1);
	assert_int_equal(sel_spread_ok(abcc, 4, 3, &sp2, true, &s), 0);
	assert_int_equal(sel_spread_ok(abc, 2, 3, &sp3, false, &s), 0);	/* m != M */
	sel_scratch_free(&s);
}

static void test_table_cache(void **state)
{
	struct sel_table t;
	char extra[64] = "rack=1 reputation=90.0";
	const char *site_a = "site_a";

	assert_int_equal(sel_table_init(&t), 0);
	assert_int_equal(sel_table_resize(&t, 3), 0);
	assert_int_equal(sel_table_update_node(&t, 0, extra, site_a), 1);
	assert_int_equal(sel_table_update_node(&t, 1, NULL, "site_b,ib"), 1);
	assert_int_equal(sel_table_update_node(&t, 2, "reputation=10", NULL), 1);
	assert_int_equal(t.opinionated, 2);
	assert_int_equal(sel_table_state(&t, 0), NODE_TRUSTED);
	assert_int_equal(sel_table_state(&t, 1), NODE_NEUTRAL);
	assert_int_equal(sel_table_state(&t, 2), NODE_UNPROVEN);	/* a score is no evidence */
	assert_string_equal(sel_table_site_name(&t, sel_table_site(&t, 0)), "site_a");
	assert_string_equal(sel_table_site_name(&t, sel_table_site(&t, 1)), "site_b");
	assert_int_equal(sel_table_site(&t, 2), 0);	/* no site */

	/* same pointer, same contents: nothing to do */
	assert_int_equal(sel_table_update_node(&t, 0, extra, site_a), 0);
	/* another pointer to equal contents is parsed again */
	assert_int_equal(sel_table_update_node(&t, 0, extra, sel_table_node(&t, 0)->features), 1);
	/* same pointer, new contents (Slurm reuses freed memory) */
	strcpy(extra, "reputation=50.0");
	assert_int_equal(sel_table_update_node(&t, 0, extra, "site_a"), 1);
	assert_int_equal(sel_table_state(&t, 0), NODE_UNPROVEN);
	/* quorated's state wins over the thresholds */
	assert_int_equal(sel_table_update_node(&t, 1, "reputation=30 quorate_state=probation", "site_b,ib"), 1);
	assert_int_equal(sel_table_state(&t, 1), NODE_PROBATION);
	assert_int_equal(t.opinionated, 3);
	/* score removed: neutral again */
	assert_int_equal(sel_table_update_node(&t, 1, "", "site_b,ib"), 1);
	assert_int_equal(sel_table_state(&t, 1), NODE_NEUTRAL);
	assert_int_equal(t.opinionated, 2);

	/* new thresholds and prefix re-parse every node */
	assert_int_equal(sel_table_configure(&t, 40.0, "rack"), 0);
	assert_int_equal(sel_table_update_node(&t, 0, extra, "site_a"), 1);
	assert_int_equal(sel_table_state(&t, 0), NODE_TRUSTED);
	assert_int_equal(sel_table_site(&t, 0), 0);
	assert_int_equal(sel_table_update_node(&t, 2, "reputation=10", "rack7"), 1);
	assert_string_equal(sel_table_site_name(&t, sel_table_site(&t, 2)), "rack7");

	/* shrink and grow */
	assert_int_equal(sel_table_resize(&t, 1), 0);
	assert_int_equal(t.opinionated, 1);
	assert_int_equal(sel_table_resize(&t, 4), 0);
	assert_int_equal(sel_table_update_node(&t, 3, NULL, NULL), 1);
	assert_int_equal(sel_table_state(&t, 3), NODE_NEUTRAL);
	sel_table_free(&t);
}

/* Slurm 23.11+ with SchedulerParameters=extra_constraints: Extra is JSON. */
static void test_table_json_extra(void **state)
{
	struct sel_table t;

	assert_int_equal(sel_table_init(&t), 0);
	assert_int_equal(sel_table_resize(&t, 3), 0);
	assert_int_equal(sel_table_update_node(&t, 0, "{\"reputation\":90.0,\"quorate_state\":\"trusted\"}",
					       "site_a"), 1);
	assert_int_equal(sel_table_update_node(&t, 1, "{\"rack\":7,\"reputation\":30.0,"
					       "\"quorate_state\":\"probation\",\"owner\":\"lab\"}",
					       "site_b"), 1);
	assert_int_equal(sel_table_update_node(&t, 2, "{\"reputation\":\"90\"", "site_a"), 1);
	assert_int_equal(sel_table_state(&t, 0), NODE_TRUSTED);
	assert_int_equal(sel_table_state(&t, 1), NODE_PROBATION);
	assert_int_equal(sel_table_state(&t, 2), NODE_NEUTRAL);
	assert_int_equal(sel_table_node(&t, 2)->malformed, 1);
	assert_int_equal(t.opinionated, 2);
	sel_table_free(&t);
}

static void test_table_job_filter(void **state)
{
	struct sel_table t;
	struct sel_job_in in = { 0 };
	struct sel_job_out out;
	const char *extra[6] = {
		"reputation=95", "reputation=20 quorate_state=quarantined",
		"reputation=60 quorate_state=probation",
		NULL, "reputation=85 quorate_state=quarantined", NULL,
	};
	uint32_t cand[6] = { 0, 1, 2, 3, 4, 5 };
	uint8_t required[6] = { 0 };

	assert_int_equal(sel_table_init(&t), 0);
	assert_int_equal(sel_table_resize(&t, 6), 0);
	for (int i = 0; i < 6; i++) {
		char site[16];

		snprintf(site, sizeof(site), "site_%c", 'a' + i / 2);
		assert_true(sel_table_update_node(&t, (size_t)i, extra[i], site) >= 0);
	}
	in.cand = cand;
	in.ncand = 6;

	/* plain job: quarantined (1, 4) and probation (2) nodes out */
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(out.kept, 3);
	assert_int_equal(out.quarantined, 2);
	assert_int_equal(out.probation, 1);
	assert_false(out.uniform);
	assert_int_equal(t.excluded[1], SEL_EXCL_QUARANTINED);
	assert_int_equal(t.excluded[2], SEL_EXCL_PROBATION);
	assert_int_equal(t.excluded[4], SEL_EXCL_QUARANTINED);
	assert_true(sel_table_rank(&t, 0) < sel_table_rank(&t, 3));	/* trusted before neutral */
	assert_true(sel_table_rank(&t, 3) == sel_table_rank(&t, 5));	/* neutrals tie */

	/* replicated job: probation allowed, after trusted and neutral */
	in.replicas = 3;
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(out.kept, 4);
	assert_int_equal(out.probation, 0);
	assert_true(sel_table_rank(&t, 2) > sel_table_rank(&t, 3));

	/* a user naming a quarantined node is refused ... */
	in.replicas = 0;
	required[4] = 1;
	in.required = required;
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(out.blocked, 4);
	assert_int_equal(out.blocked_cause, SEL_EXCL_QUARANTINED);
	/* ... an admin overrides */
	in.admin = true;
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(out.blocked, -1);
	assert_int_equal(out.overridden, 1);
	assert_int_equal(out.first_overridden, 4);
	assert_int_equal(t.excluded[4], 0);
	assert_int_equal(out.quarantined, 1);

	/* the spread plan over what is left: 3 sites, one node each */
	struct sel_spread sp = { .groups = 3, .nodes = 3, .sites_required = 3 };
	struct sel_plan_info info;
	in.required = NULL;
	in.admin = false;
	in.replicas = 3;
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(sel_table_plan(&t, &in, &sp, &info), 0);
	assert_int_equal(info.status, SEL_PLAN_OK);
	assert_int_equal(t.planned[0], 1);	/* site_a: 95 */
	assert_int_equal(t.planned[3], 1);	/* site_b: neutral beats probation */
	assert_int_equal(t.planned[5], 1);	/* site_c: 4 is quarantined */
	assert_true(sel_table_key(&t, 2, 2, true) & SEL_KEY_UNPLANNED);
	assert_false(sel_table_key(&t, 0, 0, true) & SEL_KEY_UNPLANNED);
	assert_false(sel_table_key(&t, 2, 2, false) & SEL_KEY_UNPLANNED);
	uint32_t chosen[3] = { 0, 3, 5 };
	assert_int_equal(sel_table_spread_ok(&t, chosen, 3, &sp, true), 1);
	uint32_t lopsided[3] = { 0, 2, 3 };
	assert_int_equal(sel_table_spread_ok(&t, lopsided, 3, &sp, true), 0);
	assert_int_equal(sel_table_count_sites(&t, cand, 6), 3);

	char buf[256];
	sel_reason_sites(&t, buf, sizeof(buf), &in, &sp, &info, true);
	assert_non_null(strstr(buf, "QuorateSites: --replicas=3 needs room on 3 sites"));
	assert_non_null(strstr(buf, "site_a,site_b,site_c"));
	sel_reason_blocked(buf, sizeof(buf), "n4", SEL_EXCL_QUARANTINED);
	assert_non_null(strstr(buf, "required node n4 is quarantined"));
	sel_table_free(&t);
}

/* No scores: every candidate kept with one key, so cons_tres decides. */
static void test_table_no_scores_is_cons_tres(void **state)
{
	struct sel_table t;
	struct sel_job_in in = { 0 };
	struct sel_job_out out;
	uint32_t cand[4] = { 0, 1, 2, 3 };

	assert_int_equal(sel_table_init(&t), 0);
	assert_int_equal(sel_table_resize(&t, 4), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(sel_table_update_node(&t, i, "owner=lab", "site_a"), 1);
	in.cand = cand;
	in.ncand = 4;
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(t.opinionated, 0);
	assert_int_equal(out.kept, 4);
	assert_true(out.uniform);
	sel_table_free(&t);
}

/* 10,000 nodes over 12 sites with mixed scores: the invariants hold. */
static void test_table_10000_nodes(void **state)
{
	enum { N = 10000, SITES = 12 };
	struct sel_table t;
	struct sel_job_in in = { 0 };
	struct sel_job_out out;
	struct sel_plan_info info;
	uint32_t *cand = malloc(N * sizeof(*cand));
	uint32_t chosen[16];
	unsigned seed = 12345, quarantined = 0, probation = 0;
	char extra[64], features[32];

	assert_non_null(cand);
	assert_int_equal(sel_table_init(&t), 0);
	assert_int_equal(sel_table_resize(&t, N), 0);
	for (uint32_t i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned r = (seed >> 16) % 1000;

		if (r < 300)
			extra[0] = '\0';	/* neutral */
		else
			snprintf(extra, sizeof(extra), "reputation=%.1f quorate_state=%s",
				 (r - 300) / 7.0, node_state_name((enum node_state)(1 + r % 4)));
		snprintf(features, sizeof(features), "site_%02u", i * SITES / N);
		assert_true(sel_table_update_node(&t, i, extra, features) >= 0);
		cand[i] = i;
		if (sel_table_state(&t, i) == NODE_QUARANTINED)
			quarantined++;
		if (sel_table_state(&t, i) == NODE_PROBATION)
			probation++;
	}
	assert_true(quarantined > 0 && probation > 0);
	in.cand = cand;
	in.ncand = N;

	/* plain job: no quarantined or probation node survives */
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(out.quarantined, quarantined);
	assert_int_equal(out.probation, probation);
	assert_int_equal(out.kept, N - quarantined - probation);
	for (uint32_t i = 0; i < N; i++) {
		enum node_state st = sel_table_state(&t, i);

		assert_int_equal(t.excluded[i] != 0,
				 st == NODE_QUARANTINED || st == NODE_PROBATION);
	}

	/* --replicas=4 -N8: 4 sites, groups of 2 inside one site, and in each
	 * used site no eligible node better than the ones planned */
	struct sel_spread sp = { .groups = 4, .nodes = 8,
				 .sites_required = sel_sites_required(4, SITES, 8) };
	in.replicas = 4;
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(out.probation, 0);
	assert_int_equal(sel_table_plan(&t, &in, &sp, &info), 0);
	assert_int_equal(info.status, SEL_PLAN_OK);
	assert_int_equal(info.sites_used, 4);
	assert_true(info.groups_whole);
	size_t m = 0;
	uint16_t worst_planned[SITES + 1] = { 0 };
	for (uint32_t i = 0; i < N; i++) {
		if (!t.planned[i])
			continue;
		assert_int_equal(t.excluded[i], 0);
		assert_true(m < 16);
		chosen[m++] = i;
		uint32_t site = sel_table_site(&t, i);
		if (sel_table_rank(&t, i) > worst_planned[site])
			worst_planned[site] = sel_table_rank(&t, i);
	}
	assert_int_equal(m, 8);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t site = sel_table_site(&t, i);

		if (!t.planned[i] && !t.excluded[i] && worst_planned[site])
			assert_true(sel_table_rank(&t, i) >= worst_planned[site]);
	}
	assert_int_equal(sel_table_spread_ok(&t, chosen, m, &sp, true), 1);
	/* deterministic: the same table plans the same nodes */
	uint8_t *again = malloc(N);
	assert_non_null(again);
	memcpy(again, t.planned, N);
	assert_int_equal(sel_table_job(&t, &in, &out), 0);
	assert_int_equal(sel_table_plan(&t, &in, &sp, &info), 0);
	assert_memory_equal(again, t.planned, N);
	free(again);
	free(cand);
	sel_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_replicas),
		cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_timing),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_site_of_features),
		cmocka_unit_test(test_sites_required),
		cmocka_unit_test(test_plan_one_per_site),
		cmocka_unit_test(test_plan_whole_groups),
		cmocka_unit_test(test_plan_too_few_sites),
		cmocka_unit_test(test_plan_uneven_groups),
		cmocka_unit_test(test_spread_ok),
		cmocka_unit_test(test_table_cache),
		cmocka_unit_test(test_table_json_extra),
		cmocka_unit_test(test_table_job_filter),
		cmocka_unit_test(test_table_no_scores_is_cons_tres),
		cmocka_unit_test(test_table_10000_nodes),
	};

	return cmocka_run_group_tests_name("select", tests, NULL, NULL);
}
