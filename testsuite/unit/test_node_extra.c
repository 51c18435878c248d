/* Unit tests for common/node_extra.c: quorate's tokens in a node's Extra. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "node_extra.h"

static void test_parse(void **state)
{
	struct node_reputation r;
	int bad;

	node_extra_parse(NULL, &r, &bad);
	assert_false(r.has_score);
	assert_int_equal(bad, 0);
	assert_int_equal(node_effective_state(&r, 80), NODE_NEUTRAL);

	node_extra_parse("rack=4 reputation=87.5", &r, &bad);
	assert_true(r.has_score);
	assert_true(r.score == 87.5);
	assert_false(r.has_state);
	assert_int_equal(node_effective_state(&r, 80), NODE_TRUSTED);

	node_extra_parse("reputation=12.0,quorate_state=quarantined", &r, &bad);
	assert_int_equal(node_effective_state(&r, 80), NODE_QUARANTINED);

	/* quorated's state wins over the thresholds: re-admitted after its
	 * quarantine, a low-scored node is on probation again. */
	node_extra_parse("reputation=12.0 quorate_state=probation", &r, &bad);
	assert_int_equal(node_effective_state(&r, 80), NODE_PROBATION);

	/* A score alone is no evidence of misbehaviour: without quorated's
	 * state, a low score is unproven, never probation or quarantined. */
	node_extra_parse("reputation=55", &r, &bad);
	assert_int_equal(node_effective_state(&r, 80), NODE_UNPROVEN);
	node_extra_parse("reputation=0.0", &r, &bad);
	assert_int_equal(node_effective_state(&r, 80), NODE_UNPROVEN);
	node_extra_parse("reputation=20.7 quorate_state=unproven", &r, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(node_effective_state(&r, 80), NODE_UNPROVEN);
}

static void test_malformed_is_neutral(void **state)
{
	struct node_reputation r;
	int bad;

	node_extra_parse("reputation=abc quorate_state=liar", &r, &bad);
	assert_false(r.has_score);
	assert_false(r.has_state);
	assert_int_equal(bad, 2);
	node_extra_parse("reputation=150", &r, &bad);
	assert_false(r.has_score);
	assert_int_equal(bad, 1);
	node_extra_parse("reputation= reputation=nan", &r, &bad);
	assert_false(r.has_score);
	assert_int_equal(bad, 2);
}

static void test_format_keeps_admin_tokens(void **state)
{
	char out[128];
	struct node_reputation r;

	assert_int_equal(node_extra_format("rack=4 reputation=10.0 quorate_state=quarantined owner=ops",
					   63.25, NODE_PROBATION, out, sizeof(out)),
			 (int)strlen("rack=4 owner=ops reputation=63.2 quorate_state=probation"));
	assert_string_equal(out, "rack=4 owner=ops reputation=63.2 quorate_state=probation");
	node_extra_parse(out, &r, NULL);
	assert_true(r.has_score && r.has_state);
	assert_int_equal(r.state, NODE_PROBATION);

	assert_true(node_extra_format(NULL, 100, NODE_TRUSTED, out, sizeof(out)) > 0);
	assert_string_equal(out, "reputation=100.0 quorate_state=trusted");
	assert_int_equal(node_extra_format("", 50, NODE_TRUSTED, out, 10), -1);
	assert_int_equal(node_extra_format("", 101, NODE_TRUSTED, out, sizeof(out)), -1);
	assert_int_equal(node_extra_format("", 50, NODE_NEUTRAL, out, sizeof(out)), -1);
	assert_true(node_extra_format("", 20.65, NODE_UNPROVEN, out, sizeof(out)) > 0);
	assert_string_equal(out, "reputation=20.6 quorate_state=unproven");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed_is_neutral),
		cmocka_unit_test(test_format_keeps_admin_tokens),
	};

	return cmocka_run_group_tests_name("node_extra", tests, NULL, NULL);
}
