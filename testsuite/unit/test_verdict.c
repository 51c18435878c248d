/* Unit tests for common/verdict.c: k-of-n verdicts, outcomes, parts,
 * late and missing replicas, duplicates, numeric comparison. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "verdict.h"

/* A result named by a letter: its SHA-256 is that byte 32 times. */
static void sha_of(char letter, uint8_t out[32])
{
	memset(out, letter, 32);
}

/* Add a one-part replica's result; returns whether it completed. */
static bool add(struct vstep *s, int replica, char result, const char *node)
{
	uint8_t sha[32];
	bool completed = false;

	sha_of(result, sha);
	assert_int_equal(vstep_add_part(s, replica, 0, sha, 0, node, NULL, 0, &completed), VSTEP_ADDED);
	return completed;
}

static bool decide(struct vstep *s, struct vstep_change *ch, size_t *n)
{
	return vstep_decide(s, ch, n);
}

static enum replica_outcome outcome_of(const struct vstep_change *ch, size_t n, int replica)
{
	for (size_t i = 0; i < n; i++)
		if (ch[i].replica == replica)
			return ch[i].outcome;
	return OUTCOME_NONE;
}

static void test_three_of_three(void **state)
{
	struct vstep s;
	struct vstep_change ch[3];
	size_t n;

	assert_int_equal(vstep_init(&s, 3, 3, 1, VERIFY_EXACT, 0), 0);
	add(&s, 0, 'A', "n1");
	assert_false(decide(&s, ch, &n));
	assert_int_equal(n, 0);
	add(&s, 2, 'A', "n3");
	assert_false(decide(&s, ch, &n));
	assert_int_equal(s.verdict, VERDICT_PENDING);
	assert_true(add(&s, 1, 'A', "n2"));
	assert_true(decide(&s, ch, &n));
	assert_int_equal(s.verdict, VERDICT_ACCEPTED);
	assert_int_equal(s.canonical, 0);	/* the first to complete */
	assert_int_equal(n, 3);
	assert_int_equal(s.agree, 3);
	assert_true(s.settled);
	vstep_free(&s);
}

static void test_two_of_three(void **state)
{
	struct vstep s;
	struct vstep_change ch[3];
	size_t n;

	assert_int_equal(vstep_init(&s, 3, 2, 1, VERIFY_EXACT, 0), 0);
	add(&s, 0, 'A', "n1");
	assert_false(decide(&s, ch, &n));
	add(&s, 1, 'B', "n2");
	assert_false(decide(&s, ch, &n));	/* 1 + 1 outstanding can still make 2 */
	add(&s, 2, 'A', "n3");
	assert_true(decide(&s, ch, &n));
	assert_int_equal(s.verdict, VERDICT_ACCEPTED);
	assert_int_equal(s.canonical, 0);
	assert_int_equal(n, 3);
	assert_int_equal(outcome_of(ch, n, 0), OUTCOME_AGREE);
	assert_int_equal(outcome_of(ch, n, 1), OUTCOME_DISAGREE);
	assert_int_equal(outcome_of(ch, n, 2), OUTCOME_AGREE);
	assert_int_equal(s.agree, 2);
	assert_int_equal(s.disagree, 1);
	vstep_free(&s);
}

/* Accepted before the last replica: that one is late, compared then. */
static void test_late_replica(void **state)
{
	struct vstep s;
	struct vstep_change ch[3];
	size_t n;

	assert_int_equal(vstep_init(&s, 3, 2, 1, VERIFY_EXACT, 0), 0);
	add(&s, 1, 'A', "n2");
	decide(&s, ch, &n);
	add(&s, 2, 'A', "n3");
	assert_true(decide(&s, ch, &n));
	assert_int_equal(s.canonical, 1);
	assert_int_equal(n, 2);
	assert_false(s.settled);
	add(&s, 0, 'C', "n1");
	assert_false(decide(&s, ch, &n));	/* the verdict stands */
	assert_int_equal(n, 1);
	assert_int_equal(ch[0].replica, 0);
	assert_int_equal(ch[0].outcome, OUTCOME_DISAGREE);
	assert_int_equal(s.verdict, VERDICT_ACCEPTED);
	assert_true(s.settled);
	vstep_free(&s);

	/* A late replica that agrees. */
	assert_int_equal(vstep_init(&s, 3, 2, 1, VERIFY_EXACT, 0), 0);
	add(&s, 0, 'A', "n1");
	add(&s, 1, 'A', "n2");
	decide(&s, ch, &n);
	add(&s, 2, 'A', "n3");
	decide(&s, ch, &n);
	assert_int_equal(ch[0].outcome, OUTCOME_AGREE);
	assert_int_equal(s.agree, 3);
	vstep_free(&s);
}

static void test_all_differ(void **state)
{
	struct vstep s;
	struct vstep_change ch[3];
	size_t n;

	assert_int_equal(vstep_init(&s, 3, 2, 1, VERIFY_EXACT, 0), 0);
	add(&s, 0, 'A', "n1");
	add(&s, 1, 'B', "n2");
	assert_false(decide(&s, ch, &n));
	add(&s, 2, 'C', "n3");
	assert_true(decide(&s, ch, &n));
	assert_int_equal(s.verdict, VERDICT_REJECTED);
	assert_int_equal(s.canonical, -1);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ch[i].outcome, OUTCOME_DISAGREE);
	vstep_free(&s);

	/* With K = N a single disagreement settles it early. */
	assert_int_equal(vstep_init(&s, 3, 3, 1, VERIFY_EXACT, 0), 0);
	add(&s, 0, 'A', "n1");
	add(&s, 1, 'B', "n2");
	assert_true(decide(&s, ch, &n));
	assert_int_equal(s.verdict, VERDICT_REJECTED);
	vstep_free(&s);
}

/* A replica that never reports: after the grace period, MISSING. */
static void test_missing_replica(void **state)
{
	struct vstep s;
	struct vstep_change ch[3];
	size_t n;

	assert_int_equal(vstep_init(&s, 3, 2, 1, VERIFY_EXACT, 0), 0);
	add(&s, 0, 'A', "n1");
	add(&s, 1, 'B', "n2");
	assert_false(decide(&s, ch, &n));
	assert_true(vstep_settle(&s, ch, &n));
	assert_int_equal(s.verdict, VERDICT_REJECTED);
	assert_int_equal(outcome_of(ch, n, 2), OUTCOME_MISSING);
	assert_int_equal(outcome_of(ch, n, 0), OUTCOME_DISAGREE);
	assert_int_equal(s.missing, 1);
	assert_true(s.settled);
	/* It reports after all: stored, but missing it stays. */
	add(&s, 2, 'A', "n3");
	assert_false(decide(&s, ch, &n));
	assert_int_equal(n, 0);
	assert_int_equal(s.r[2].outcome, OUTCOME_MISSING);
	vstep_free(&s);

	/* Accepted, then the straggler is missing. */
	assert_int_equal(vstep_init(&s, 3, 2, 1, VERIFY_EXACT, 0), 0);
	add(&s, 0, 'A', "n1");
	add(&s, 1, 'A', "n2");
	assert_true(decide(&s, ch, &n));
	assert_false(vstep_settle(&s, ch, &n));
	assert_int_equal(n, 1);
	assert_int_equal(ch[0].replica, 2);
	assert_int_equal(ch[0].outcome, OUTCOME_MISSING);
	assert_int_equal(s.verdict, VERDICT_ACCEPTED);
	vstep_free(&s);
}

static void test_duplicate_and_conflict(void **state)
{
	struct vstep s;
	uint8_t a[32], b[32];
	bool completed;

	sha_of('A', a);
	sha_of('B', b);
	assert_int_equal(vstep_init(&s, 2, 2, 1, VERIFY_EXACT, 0), 0);
	assert_int_equal(vstep_add_part(&s, 0, 0, a, 0, "n1", NULL, 0, &completed), VSTEP_ADDED);
	assert_true(completed);
	assert_int_equal(vstep_add_part(&s, 0, 0, a, 0, "n1", NULL, 0, &completed), VSTEP_DUPLICATE);
	assert_false(completed);
	assert_int_equal(vstep_add_part(&s, 0, 0, b, 0, "n1", NULL, 0, &completed), VSTEP_CONFLICT);
	assert_int_equal(vstep_add_part(&s, 0, 0, a, 1, "n1", NULL, 0, &completed), VSTEP_CONFLICT);
	assert_int_equal(vstep_add_part(&s, 0, 0, a, 0, "n9", NULL, 0, &completed), VSTEP_CONFLICT);
	assert_int_equal(vstep_add_part(&s, 2, 0, a, 0, "n1", NULL, 0, &completed), VSTEP_CONFLICT);
	assert_int_equal(vstep_add_part(&s, 0, 1, a, 0, "n1", NULL, 0, &completed), VSTEP_CONFLICT);
	assert_int_equal(s.completed, 1);
	assert_true(vstep_same_shape(&s, 2, 2, 1, VERIFY_EXACT, 0));
	assert_false(vstep_same_shape(&s, 3, 2, 1, VERIFY_EXACT, 0));
	vstep_free(&s);
	assert_int_equal(vstep_init(&s, 2, 3, 1, VERIFY_EXACT, 0), -1);
	assert_int_equal(vstep_init(&s, 0, 0, 1, VERIFY_EXACT, 0), -1);
}

/* A replica of two parts agrees only when both parts do; a different exit
 * status is a different result. */
static void test_parts(void **state)
{
	struct vstep s;
	struct vstep_change ch[3];
	uint8_t a[32], b[32], d0[32], d2[32];
	bool completed;
	size_t n;

	sha_of('A', a);
	sha_of('B', b);
	assert_int_equal(vstep_init(&s, 3, 2, 2, VERIFY_EXACT, 0), 0);
	assert_int_equal(vstep_add_part(&s, 0, 0, a, 0, "n1", NULL, 0, &completed), VSTEP_ADDED);
	assert_false(completed);
	assert_int_equal(vstep_add_part(&s, 0, 1, b, 0, "n2", NULL, 0, &completed), VSTEP_ADDED);
	assert_true(completed);
	assert_int_equal(vstep_add_part(&s, 1, 0, a, 0, "n3", NULL, 0, &completed), VSTEP_ADDED);
	assert_int_equal(vstep_add_part(&s, 1, 1, a, 0, "n4", NULL, 0, &completed), VSTEP_ADDED);
	assert_true(completed);
	assert_false(vstep_replicas_agree(&s, 0, 1));
	assert_false(decide(&s, ch, &n));
	assert_int_equal(vstep_add_part(&s, 2, 1, b, 0, "n6", NULL, 0, &completed), VSTEP_ADDED);
	assert_int_equal(vstep_add_part(&s, 2, 0, a, 0, "n5", NULL, 0, &completed), VSTEP_ADDED);
	assert_true(completed);
	assert_true(decide(&s, ch, &n));
	assert_int_equal(s.canonical, 0);
	assert_int_equal(outcome_of(ch, n, 1), OUTCOME_DISAGREE);
	assert_int_equal(vstep_replica_digest(&s, 0, d0), 0);
	assert_int_equal(vstep_replica_digest(&s, 2, d2), 0);
	assert_memory_equal(d0, d2, 32);
	vstep_free(&s);

	assert_int_equal(vstep_init(&s, 2, 2, 1, VERIFY_EXACT, 0), 0);
	assert_int_equal(vstep_add_part(&s, 0, 0, a, 0, "n1", NULL, 0, &completed), VSTEP_ADDED);
	assert_int_equal(vstep_add_part(&s, 1, 0, a, 1, "n2", NULL, 0, &completed), VSTEP_ADDED);
	assert_true(decide(&s, ch, &n));
	assert_int_equal(s.verdict, VERDICT_REJECTED);
	vstep_free(&s);
}

static void test_numeric_compare(void **state)
{
#define M(a, b, tol) numeric_outputs_match(a, strlen(a), b, strlen(b), tol)
	assert_true(M("loss 0.1234567 acc 0.9", "loss 0.1234568 acc 0.9", 1e-6));
	assert_false(M("loss 0.1234567 acc 0.9", "loss 0.1234568 acc 0.9", 1e-8));
	assert_true(M("x = 1e-3\n", "x = 0.001\n", 0));
	assert_true(M("a  1\tb\n", "a 1 b", 0));		/* runs of blanks, trailing blanks */
	assert_false(M("a 1 b", "a 1 c", 0.5));
	assert_false(M("a 1", "a 1 2", 0.5));
	assert_true(M("0 0.0 -0", "0.0 0 0", 0));
	assert_false(M("-1", "1", 0.5));
	assert_true(M("100", "101", 0.01));
	assert_false(M("100", "102", 0.01));
	assert_false(M("nan", "inf", 1));		/* text, not numbers */
	assert_true(M("", "", 0));
	assert_true(M("step 3: 1.5e+2", "step 3: 150.0", 0));
#undef M
}

static void test_numeric_mode(void **state)
{
	struct vstep s;
	struct vstep_change ch[3];
	uint8_t a[32], b[32], c[32];
	bool completed;
	size_t n;
	const char *o1 = "loss 0.25000001\n", *o2 = "loss 0.25000002\n", *o3 = "loss 0.31\n";

	sha_of('A', a);
	sha_of('B', b);
	sha_of('C', c);
	assert_int_equal(vstep_init(&s, 3, 2, 1, VERIFY_NUMERIC, 1e-6), 0);
	vstep_add_part(&s, 0, 0, a, 0, "n1", o1, strlen(o1), &completed);
	vstep_add_part(&s, 1, 0, c, 0, "n2", o3, strlen(o3), &completed);
	assert_false(decide(&s, ch, &n));
	vstep_add_part(&s, 2, 0, b, 0, "n3", o2, strlen(o2), &completed);
	assert_true(decide(&s, ch, &n));
	assert_int_equal(s.verdict, VERDICT_ACCEPTED);
	assert_int_equal(outcome_of(ch, n, 2), OUTCOME_AGREE);
	assert_int_equal(outcome_of(ch, n, 1), OUTCOME_DISAGREE);
	vstep_free(&s);
}

/* A step rebuilt from what was stored decides nothing anew. */
static void test_restore(void **state)
{
	struct vstep s;
	struct vstep_change ch[3];
	enum replica_outcome o[3] = { OUTCOME_AGREE, OUTCOME_DISAGREE, OUTCOME_NONE };
	size_t n;

	assert_int_equal(vstep_init(&s, 3, 1, 1, VERIFY_EXACT, 0), 0);
	add(&s, 0, 'A', "n1");
	add(&s, 1, 'B', "n2");
	vstep_restore(&s, VERDICT_ACCEPTED, 0, o);
	assert_false(decide(&s, ch, &n));
	assert_int_equal(n, 0);
	assert_int_equal(s.agree, 1);
	assert_int_equal(s.disagree, 1);
	assert_false(s.settled);
	add(&s, 2, 'A', "n3");
	decide(&s, ch, &n);
	assert_int_equal(n, 1);
	assert_int_equal(ch[0].outcome, OUTCOME_AGREE);
	vstep_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_of_three),
		cmocka_unit_test(test_two_of_three),
		cmocka_unit_test(test_late_replica),
		cmocka_unit_test(test_all_differ),
		cmocka_unit_test(test_missing_replica),
		cmocka_unit_test(test_duplicate_and_conflict),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_numeric_compare),
		cmocka_unit_test(test_numeric_mode),
		cmocka_unit_test(test_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
