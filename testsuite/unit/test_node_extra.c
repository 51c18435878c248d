/* Unit tests for common/node_extra.c: quorate's tokens, or JSON, in a
 * node's Extra. */
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

static void test_parse_json(void **state)
{
	struct node_reputation r;
	int bad;

	node_extra_parse("{\"reputation\":87.5,\"quorate_state\":\"trusted\"}", &r, &bad);
	assert_int_equal(bad, 0);
	assert_true(r.has_score && r.score == 87.5);
	assert_true(r.has_state);
	assert_int_equal(r.state, NODE_TRUSTED);

	/* leading blanks, the admin's keys (any type) around ours, an integer */
	node_extra_parse(" \t{\"rack\":4,\"tags\":[\"a\",{\"b\":null}],\"reputation\":55,"
			 "\"owner\":\"ops\"}\n", &r, &bad);
	assert_int_equal(bad, 0);
	assert_true(r.has_score && r.score == 55);
	assert_false(r.has_state);
	assert_int_equal(node_effective_state(&r, 80), NODE_UNPROVEN);

	/* a trailing comma, as slurmctld (json-c, not strict) accepts it */
	node_extra_parse("{\"reputation\":12.0,\"quorate_state\":\"quarantined\",}", &r, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(node_effective_state(&r, 80), NODE_QUARANTINED);

	/* an object without quorate's keys: neutral, nothing malformed */
	node_extra_parse("{}", &r, &bad);
	assert_false(r.has_score || r.has_state);
	assert_int_equal(bad, 0);
	node_extra_parse("{\"comment\":\"reputation=90.0 quorate_state=trusted\"}", &r, &bad);
	assert_false(r.has_score || r.has_state);
	assert_int_equal(bad, 0);
}

static void test_malformed_json_is_neutral(void **state)
{
	static const struct {
		const char *extra;
		int bad;
	} cases[] = {
		{ "{\"reputation\":87.5,", 1 },			/* cut short */
		{ "{\"reputation\":87.5} rack=4", 1 },		/* trailing words */
		{ "{\"reputation\":87.5}{}", 1 },
		{ "{gpu} reputation=87.5", 1 },			/* '{' opens JSON */
		{ "{\"reputation\":NaN}", 1 },
		{ "{\"reputation\":\"87.5\"}", 1 },		/* a string */
		{ "{\"reputation\":true}", 1 },
		{ "{\"reputation\":null}", 1 },
		{ "{\"reputation\":[87.5]}", 1 },
		{ "{\"reputation\":-0.5}", 1 },
		{ "{\"reputation\":100.01}", 1 },
		{ "{\"reputation\":1e999}", 1 },
		{ "{\"quorate_state\":\"liar\"}", 1 },
		{ "{\"quorate_state\":\"neutral\"}", 1 },
		{ "{\"quorate_state\":3}", 1 },
		{ "{\"reputation\":150,\"quorate_state\":\"Trusted\"}", 2 },
	};
	struct node_reputation r;
	int bad;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		node_extra_parse(cases[i].extra, &r, &bad);
		if (bad != cases[i].bad || r.has_score || r.has_state)
			fail_msg("%s: malformed %d (want %d), score %d, state %d",
				 cases[i].extra, bad, cases[i].bad, r.has_score, r.has_state);
	}
	/* a bad state leaves a good score, as with the tokens */
	node_extra_parse("{\"reputation\":90,\"quorate_state\":\"liar\"}", &r, &bad);
	assert_int_equal(bad, 1);
	assert_true(r.has_score && r.score == 90);
	assert_false(r.has_state);
}

static void test_format_json_keeps_admin_keys(void **state)
{
	static const char old[] =
		"{ \"rack\": 4, \"reputation\": 10.0, \"path\": \"/srv/a\", "
		"\"quorate_state\": \"quarantined\", \"tags\": [\"a\", {\"b\": 2.50}] }";
	static const char want[] =
		"{\"rack\":4,\"reputation\":63.2,\"path\":\"/srv/a\","
		"\"quorate_state\":\"probation\",\"tags\":[\"a\",{\"b\":2.50}]}";
	char out[256];
	struct node_reputation r;

	/* ours replaced where they were; the admin's keys, order and numbers kept */
	assert_int_equal(node_extra_format_json(old, 63.25, NODE_PROBATION, out, sizeof(out)),
			 (int)strlen(want));
	assert_string_equal(out, want);
	node_extra_parse(out, &r, NULL);
	assert_true(r.has_score && r.score == 63.2);
	assert_int_equal(r.state, NODE_PROBATION);

	/* ours added after the admin's keys */
	assert_true(node_extra_format_json("{\"rack\":4}", 90, NODE_TRUSTED, out, sizeof(out)) > 0);
	assert_string_equal(out, "{\"rack\":4,\"reputation\":90.0,\"quorate_state\":\"trusted\"}");
}

static void test_format_json_from_words(void **state)
{
	char out[256];

	assert_true(node_extra_format_json(NULL, 87.5, NODE_TRUSTED, out, sizeof(out)) > 0);
	assert_string_equal(out, "{\"reputation\":87.5,\"quorate_state\":\"trusted\"}");
	assert_true(node_extra_format_json("  ", 100, NODE_TRUSTED, out, sizeof(out)) > 0);
	assert_string_equal(out, "{\"reputation\":100.0,\"quorate_state\":\"trusted\"}");
	/* the old tokens alone: nothing of the admin's to keep */
	assert_true(node_extra_format_json("reputation=10.0 quorate_state=quarantined",
					   0, NODE_QUARANTINED, out, sizeof(out)) > 0);
	assert_string_equal(out, "{\"reputation\":0.0,\"quorate_state\":\"quarantined\"}");

	/* the admin's words, without quorate's tokens, become the comment */
	assert_true(node_extra_format_json("rack=4 reputation=10.0 quorate_state=quarantined owner=ops",
					   63.25, NODE_PROBATION, out, sizeof(out)) > 0);
	assert_string_equal(out, "{\"comment\":\"rack=4 owner=ops\",\"reputation\":63.2,"
			    "\"quorate_state\":\"probation\"}");
	assert_true(node_extra_format_json("say \"hi\" \\o/", 20.65, NODE_UNPROVEN,
					   out, sizeof(out)) > 0);
	assert_string_equal(out, "{\"comment\":\"say \\\"hi\\\" \\\\o/\",\"reputation\":20.6,"
			    "\"quorate_state\":\"unproven\"}");
	/* JSON that does not parse is the admin's text too */
	assert_true(node_extra_format_json("{broken", 50, NODE_UNPROVEN, out, sizeof(out)) > 0);
	assert_string_equal(out, "{\"comment\":\"{broken\",\"reputation\":50.0,"
			    "\"quorate_state\":\"unproven\"}");
}

static void test_format_json_round_trip(void **state)
{
	static const struct {
		double score, parsed;
		enum node_state st;
	} cases[] = {
		{ 0, 0, NODE_QUARANTINED },
		{ 20.65, 20.6, NODE_UNPROVEN },
		{ 63.25, 63.2, NODE_PROBATION },
		{ 79.96, 80.0, NODE_UNPROVEN },
		{ 100, 100, NODE_TRUSTED },
	};
	static const char *const olds[] = {
		NULL, "rack=4", "{\"rack\":4}", "{\"reputation\":1.0,\"quorate_state\":\"trusted\"}",
	};
	char out[256], again[256];
	struct node_reputation r;
	int bad, n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t j = 0; j < sizeof(olds) / sizeof(olds[0]); j++) {
			n = node_extra_format_json(olds[j], cases[i].score, cases[i].st,
						   out, sizeof(out));
			assert_int_equal(n, (int)strlen(out));
			node_extra_parse(out, &r, &bad);
			assert_int_equal(bad, 0);
			assert_true(r.has_score && r.has_state);
			assert_true(r.score == cases[i].parsed);
			assert_int_equal(r.state, cases[i].st);
			/* the same values again: the same Extra (no update) */
			assert_int_equal(node_extra_format_json(out, cases[i].score, cases[i].st,
								again, sizeof(again)), n);
			assert_string_equal(again, out);
		}
	}
}

static void test_format_json_too_small(void **state)
{
	static const char want[] = "{\"rack\":4,\"reputation\":87.5,\"quorate_state\":\"trusted\"}";
	char out[128];

	assert_int_equal(node_extra_format_json("{\"rack\":4}", 87.5, NODE_TRUSTED, out,
						sizeof(want)), (int)strlen(want));
	assert_string_equal(out, want);
	memset(out, 'x', sizeof(out));
	assert_int_equal(node_extra_format_json("{\"rack\":4}", 87.5, NODE_TRUSTED, out,
						sizeof(want) - 1), -1);
	assert_string_equal(out, "");
	assert_int_equal(node_extra_format_json("rack=4", 87.5, NODE_TRUSTED, out, 10), -1);
	assert_int_equal(node_extra_format_json(NULL, 87.5, NODE_TRUSTED, out, 0), -1);
	assert_int_equal(node_extra_format_json(NULL, 101, NODE_TRUSTED, out, sizeof(out)), -1);
	assert_int_equal(node_extra_format_json(NULL, -1, NODE_TRUSTED, out, sizeof(out)), -1);
	assert_int_equal(node_extra_format_json(NULL, 50, NODE_NEUTRAL, out, sizeof(out)), -1);
}

static void test_format_tokens_from_json(void **state)
{
	char out[256], again[256];
	struct node_reputation r;
	int bad;

	/* extra_constraints turned off again: the comment becomes words */
	assert_true(node_extra_format("{\"comment\":\"rack=4 owner=ops\",\"reputation\":63.2,"
				      "\"quorate_state\":\"probation\"}",
				      90, NODE_TRUSTED, out, sizeof(out)) > 0);
	assert_string_equal(out, "rack=4 owner=ops reputation=90.0 quorate_state=trusted");
	assert_true(node_extra_format("{\"reputation\":63.2,\"quorate_state\":\"probation\"}",
				      90, NODE_TRUSTED, out, sizeof(out)) > 0);
	assert_string_equal(out, "reputation=90.0 quorate_state=trusted");

	/* other keys stay as JSON text, after quorate's tokens: an Extra
	 * that opens with '{' is read as JSON */
	assert_true(node_extra_format("{\"rack\":4,\"reputation\":63.2}",
				      90, NODE_TRUSTED, out, sizeof(out)) > 0);
	assert_string_equal(out, "reputation=90.0 quorate_state=trusted {\"rack\":4}");
	node_extra_parse(out, &r, &bad);
	assert_int_equal(bad, 0);
	assert_true(r.has_score && r.score == 90);
	assert_int_equal(node_effective_state(&r, 80), NODE_TRUSTED);
	assert_true(node_extra_format(out, 90, NODE_TRUSTED, again, sizeof(again)) > 0);
	assert_string_equal(again, out);

	/* the admin's free text opening with '{' */
	assert_true(node_extra_format("{gpu} reputation=1.0", 50, NODE_UNPROVEN,
				      out, sizeof(out)) > 0);
	assert_string_equal(out, "reputation=50.0 quorate_state=unproven {gpu}");
	assert_int_equal(node_extra_format("{gpu}", 50, NODE_UNPROVEN, out,
					   strlen("reputation=50.0 quorate_state=unproven {gpu}")),
			 -1);
}

static void test_sched_params(void **state)
{
	assert_true(sched_params_have_extra_constraints("extra_constraints"));
	assert_true(sched_params_have_extra_constraints("bf_interval=30,extra_constraints"));
	assert_true(sched_params_have_extra_constraints("extra_constraints,bf_interval=30"));
	assert_true(sched_params_have_extra_constraints("bf_interval=30, Extra_Constraints ,x"));
	assert_false(sched_params_have_extra_constraints("no_extra_constraints_x"));
	assert_false(sched_params_have_extra_constraints("bf_interval=30,extra_constraints=1"));
	assert_false(sched_params_have_extra_constraints("extra_constraints_x,xextra_constraints"));
	assert_false(sched_params_have_extra_constraints("(null)"));
	assert_false(sched_params_have_extra_constraints(",,"));
	assert_false(sched_params_have_extra_constraints(" bf_interval=30 , x "));
	assert_true(sched_params_have_extra_constraints(" a, b ,extra_constraints\n"));
	assert_false(sched_params_have_extra_constraints(""));
	assert_false(sched_params_have_extra_constraints(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed_is_neutral),
		cmocka_unit_test(test_format_keeps_admin_tokens),
		cmocka_unit_test(test_parse_json),
		cmocka_unit_test(test_malformed_json_is_neutral),
		cmocka_unit_test(test_format_json_keeps_admin_keys),
		cmocka_unit_test(test_format_json_from_words),
		cmocka_unit_test(test_format_json_round_trip),
		cmocka_unit_test(test_format_json_too_small),
		cmocka_unit_test(test_format_tokens_from_json),
		cmocka_unit_test(test_sched_params),
	};

	return cmocka_run_group_tests_name("node_extra", tests, NULL, NULL);
}
