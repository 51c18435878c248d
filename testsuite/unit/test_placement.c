/* Unit tests for common/placement.c: the node Weight and features quorated
 * writes for the public-API placement, the site plan of a replicated job
 * and the constraint job_submit/quorate gives a job. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "placement.h"
#include "select_policy.h"

static void test_weight_round_trip(void **state)
{
	uint32_t w;

	(void)state;
	/* slurm.conf's default weight 1, a trusted node's rank */
	w = place_weight(1, 5);
	assert_true(place_weight_is_ours(w));
	assert_int_equal(place_weight_base(w), 1);
	assert_int_equal(w & PLACE_WEIGHT_RANK_MASK, 5);
	/* an admin's own weight is its own base */
	assert_false(place_weight_is_ours(100));
	assert_int_equal(place_weight_base(100), 100);
	/* too big to keep: capped, still ordered above smaller ones */
	assert_int_equal(place_weight_base(0x7fffffff), PLACE_WEIGHT_BASE_MAX);
	/* Slurm's INFINITE and NO_VAL are never read as ours */
	assert_false(place_weight_is_ours(UINT32_MAX));
	assert_false(place_weight_is_ours(UINT32_MAX - 1));
	/* the admin's tiers keep their order whatever the ranks */
	assert_true(place_weight(1, SEL_RANK_LIMIT - 1) < place_weight(2, 0));
	/* within a tier, the rank orders */
	assert_true(place_weight(7, sel_rank(NODE_TRUSTED, true, 99.0)) <
		    place_weight(7, sel_rank(NODE_NEUTRAL, false, 0)));
	assert_true(place_weight(7, sel_rank(NODE_NEUTRAL, false, 0)) <
		    place_weight(7, sel_rank(NODE_PROBATION, true, 60.0)));
}

static void test_node_features(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(place_node_features("site_a", NODE_TRUSTED, out, sizeof(out)),
			 (int)strlen("site_a,quorate_plain,quorate_replica"));
	assert_string_equal(out, "site_a,quorate_plain,quorate_replica");
	/* markers are replaced, never repeated; the admin's order stays */
	place_node_features("quorate_plain,ib,quorate_replica,site_b", NODE_PROBATION,
			    out, sizeof(out));
	assert_string_equal(out, "ib,site_b,quorate_replica");
	place_node_features("ib,site_b,quorate_replica", NODE_QUARANTINED, out, sizeof(out));
	assert_string_equal(out, "ib,site_b");
	/* no features at all, as scontrol prints them */
	place_node_features("(null)", NODE_NEUTRAL, out, sizeof(out));
	assert_string_equal(out, "quorate_plain,quorate_replica");
	place_node_features(NULL, NODE_UNPROVEN, out, sizeof(out));
	assert_string_equal(out, "quorate_plain,quorate_replica");
	place_node_features(NULL, NODE_QUARANTINED, out, sizeof(out));
	assert_string_equal(out, "");
	/* a feature that only starts like a marker is the admin's */
	place_node_features("quorate_plainx", NODE_QUARANTINED, out, sizeof(out));
	assert_string_equal(out, "quorate_plainx");
	assert_int_equal(place_node_features("site_a", NODE_TRUSTED, out, 10), -1);

	assert_true(place_has_feature("a,quorate_plain,b", PLACE_FEATURE_PLAIN));
	assert_false(place_has_feature("a,quorate_plainx", PLACE_FEATURE_PLAIN));
	assert_false(place_has_feature(NULL, PLACE_FEATURE_PLAIN));
}

static void test_plan_sites(void **state)
{
	struct place_site s[3] = {
		{ .name = "site_a", .eligible = 2, .idle = 2, .rank = 300 },
		{ .name = "site_b", .eligible = 2, .idle = 2, .rank = 100 },
		{ .name = "site_c", .eligible = 2, .idle = 0, .rank = 50 },
	};
	char err[256];

	(void)state;
	/* 3 replicas of 1 node: 3 sites, those with room now first */
	assert_int_equal(place_plan_sites(s, 3, 3, 3, err, sizeof(err)), 3);
	assert_string_equal(s[0].name, "site_b");
	assert_string_equal(s[1].name, "site_a");
	assert_string_equal(s[2].name, "site_c");
	assert_int_equal(s[0].take + s[1].take + s[2].take, 3);
	/* 2 replicas of 2 nodes: the 2 best sites with room, one group each */
	assert_int_equal(place_plan_sites(s, 3, 2, 4, err, sizeof(err)), 2);
	assert_string_equal(s[0].name, "site_b");
	assert_int_equal(s[0].take, 2);
	assert_string_equal(s[1].name, "site_a");
	assert_int_equal(s[1].take, 2);
	/* 4 replicas of 1 node on 3 sites: 3 sites, one of them twice */
	assert_int_equal(place_plan_sites(s, 3, 4, 4, err, sizeof(err)), 3);
	assert_int_equal(s[0].take + s[1].take + s[2].take, 4);
	/* groups of 3 fit nowhere: the reason names the numbers */
	assert_int_equal(place_plan_sites(s, 3, 2, 6, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "group of 3 node(s); 0 of the 3"));
	/* 5 nodes do not split into 2 groups */
	assert_int_equal(place_plan_sites(s, 3, 2, 5, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "do not split"));
	/* 7 replicas of 1 node: more than the 6 eligible nodes */
	assert_int_equal(place_plan_sites(s, 3, 7, 7, err, sizeof(err)), 0);
	/* a site without eligible nodes does not count */
	s[0].eligible = s[0].idle = 0;
	assert_int_equal(place_plan_sites(s, 3, 3, 3, err, sizeof(err)), 2);
}

static void test_constraint(void **state)
{
	struct place_site plan[2] = {
		{ .name = "site_b", .take = 2 },
		{ .name = "site_a", .take = 2 },
	};
	char out[512], err[256];

	(void)state;
	assert_int_equal(place_constraint(NULL, false, NULL, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "quorate_plain");
	assert_int_equal(place_constraint("", true, NULL, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "quorate_replica");
	/* the user's own, left to right, then ours */
	assert_int_equal(place_constraint("ib,bigmem", false, NULL, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "ib&bigmem&quorate_plain");
	assert_int_equal(place_constraint("(a|b)&c|d", false, NULL, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "(a|b)&c|d&quorate_plain");
	/* counts and brackets: the marker goes into each term */
	assert_int_equal(place_constraint("[rack1*2&(knl&snc4)*4]", false, NULL, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "[(rack1&quorate_plain)*2&(knl&snc4&quorate_plain)*4]");
	assert_int_equal(place_constraint("[a|b]", true, NULL, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "[(a&quorate_replica)|(b&quorate_replica)]");
	/* a site plan */
	assert_int_equal(place_constraint(NULL, true, plan, 2, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "[(site_b&quorate_replica)*2&(site_a&quorate_replica)*2]");
	assert_int_equal(place_constraint("ib", true, plan, 2, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "[(site_b&quorate_replica&ib)*2&(site_a&quorate_replica&ib)*2]");
	assert_int_equal(place_constraint("a|b", true, plan, 2, out, sizeof(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "may only join features with '&'"));
	/* what Slurm would not read either */
	assert_int_equal(place_constraint("a;b", false, NULL, 0, out, sizeof(out), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unexpected ';'"));
	assert_int_equal(place_constraint("[(a*2]", false, NULL, 0, out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(place_constraint("abc", false, NULL, 0, out, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));

	assert_int_equal(place_plan_describe(plan, 2, 2, out, sizeof(out)),
			 (int)strlen("quorate: 2 replica groups of 2 node(s) on site_b, site_a"));
	assert_string_equal(out, "quorate: 2 replica groups of 2 node(s) on site_b, site_a");
	assert_int_equal(place_plan_describe(plan, 2, 2, out, 20), -1);
	assert_int_equal(place_plan_describe(plan, 0, 2, out, sizeof(out)), -1);

	assert_true(place_constraint_names_prefix("ib&site_a", "site_"));
	assert_false(place_constraint_names_prefix("ib&mysite_a", "site_"));
	assert_false(place_constraint_names_prefix("site_", "site_"));
	assert_false(place_constraint_names_prefix(NULL, "site_"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weight_round_trip),
		cmocka_unit_test(test_node_features),
		cmocka_unit_test(test_plan_sites),
		cmocka_unit_test(test_constraint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
