/* Unit tests for common/reputation.c: the Wilson lower bound against
 * published values, decay, scores and state transitions. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reputation.h"

#define DAY 86400.0

static void near(double got, double want, double eps)
{
	if (fabs(got - want) > eps)
		fail_msg("got %.6f, want %.6f (+-%g)", got, want, eps);
}

/* 95% Wilson intervals as tabulated in the literature: 8/10 is
 * (0.4902, 0.9433), 50/100 is (0.4038, 0.5962); 5/5 gives 0.5655. */
static void test_wilson_known_values(void **state)
{
	near(wilson_lower_bound(8, 10, 1.96), 0.4902, 5e-5);
	near(wilson_lower_bound(50, 100, 1.96), 0.4038, 5e-5);
	near(wilson_lower_bound(5, 5, 1.96), 0.5655, 5e-5);
	near(wilson_lower_bound(10, 10, 1.96), 0.72246, 5e-5);
	near(wilson_lower_bound(16, 16, 1.96), 0.80639, 5e-5);
	near(wilson_lower_bound(1, 1, 1.96), 0.20654, 5e-5);
	near(wilson_lower_bound(0, 5, 1.96), 0, 1e-12);
	near(wilson_lower_bound(0, 0, 1.96), 0, 1e-12);
	/* Fractional counts (decayed, missing at half weight). */
	near(wilson_lower_bound(9.5, 10, 1.96), 0.655456, 5e-6);
	near(wilson_lower_bound(2, 4.5, 1.96), 0.131848, 5e-6);
}

static void test_decay(void **state)
{
	near(rep_decay_factor(7 * DAY, 7 * DAY), 0.5, 1e-12);
	near(rep_decay_factor(14 * DAY, 7 * DAY), 0.25, 1e-12);
	near(rep_decay_factor(0, 7 * DAY), 1, 0);
	near(rep_decay_factor(-5, 7 * DAY), 1, 0);
}

static void test_score(void **state)
{
	struct rep_params p;
	struct rep_node n;

	rep_params_default(&p);
	rep_node_init(&n);
	near(rep_score(&n, &p), 0, 0);
	n.agree = 8;
	n.disagree = 2;
	near(rep_score(&n, &p), 49.02, 5e-3);
	/* A missing outcome weighs half: 9 agree + 2 missing = 9 of 10. */
	n.agree = 9;
	n.disagree = 0;
	n.missing = 2;
	near(rep_score(&n, &p), 100 * wilson_lower_bound(9, 10, 1.96), 1e-9);
}

static void test_apply_decays(void **state)
{
	struct rep_params p;
	struct rep_node n;
	double t0 = 1e9;

	rep_params_default(&p);
	rep_node_init(&n);
	rep_apply(&n, REP_AGREE, t0, &p);
	rep_apply(&n, REP_DISAGREE, t0, &p);
	near(n.agree, 1, 1e-12);
	rep_apply(&n, REP_AGREE, t0 + 7 * DAY, &p);	/* one half-life later */
	near(n.agree, 1.5, 1e-9);
	near(n.disagree, 0.5, 1e-9);
	assert_int_equal(n.verdicts, 3);
	near(n.score, 100 * wilson_lower_bound(1.5, 2, 1.96), 1e-9);
}

/* Excluded from some job: probation (plain jobs) or quarantined (all). */
static bool excluded(const struct rep_node *n)
{
	return n->state == NODE_PROBATION || n->state == NODE_QUARANTINED;
}

static void test_states(void **state)
{
	struct rep_params p;
	struct rep_node n;
	double t = 1e9;

	rep_params_default(&p);
	rep_node_init(&n);
	assert_int_equal(n.state, NODE_UNPROVEN);
	/* One disagreement is not yet evidence (upper bound 79.35 >= 75). */
	rep_apply(&n, REP_DISAGREE, t, &p);
	assert_int_equal(n.state, NODE_UNPROVEN);
	near(rep_agreement_bound(&n, &p), 79.346, 5e-3);
	/* Two are: even at best it agrees 65.8 % of the time.  Fewer than
	 * MinVerdicts outcomes never quarantine. */
	rep_apply(&n, REP_DISAGREE, t, &p);
	assert_int_equal(n.state, NODE_PROBATION);
	rep_apply(&n, REP_DISAGREE, t, &p);
	rep_apply(&n, REP_DISAGREE, t, &p);
	assert_int_equal(n.state, NODE_PROBATION);
	/* The fifth disagreement quarantines it. */
	assert_true(rep_apply(&n, REP_DISAGREE, t, &p));
	assert_int_equal(n.state, NODE_QUARANTINED);
	near(n.quarantined_until, t + DAY, 0);
	/* Quarantined until the time is up, whatever happens meanwhile. */
	assert_false(rep_apply(&n, REP_AGREE, t + 10, &p));
	assert_int_equal(n.state, NODE_QUARANTINED);
	assert_false(rep_expire_quarantine(&n, t + DAY - 1, &p));
	assert_true(rep_expire_quarantine(&n, t + DAY, &p));
	/* Re-admitted, its outcomes still show misbehaviour: probation. */
	assert_int_equal(n.state, NODE_PROBATION);
	/* An agreement keeps it on probation, a missing outcome quarantines
	 * it again. */
	rep_apply(&n, REP_AGREE, t + DAY + 1, &p);
	assert_int_equal(n.state, NODE_PROBATION);
	rep_apply(&n, REP_MISSING, t + DAY + 2, &p);
	assert_int_equal(n.state, NODE_QUARANTINED);
	near(n.quarantined_until, t + 2 * DAY + 2, 0);
}

static void test_trusted(void **state)
{
	struct rep_params p;
	struct rep_node n;
	double t = 1e9;
	int i;

	rep_params_default(&p);
	rep_node_init(&n);
	/* 16 agreements in a row: 80.6 >= 80, trusted; 15 are not enough,
	 * and until then the node is unproven: it runs every job. */
	for (i = 0; i < 15; i++) {
		rep_apply(&n, REP_AGREE, t, &p);
		assert_int_equal(n.state, NODE_UNPROVEN);
	}
	near(n.score, 79.611, 5e-3);
	rep_apply(&n, REP_AGREE, t, &p);
	assert_int_equal(n.state, NODE_TRUSTED);
	near(n.score, 80.64, 5e-3);
	/* One disagreement drops it below 80: unproven again, not excluded. */
	rep_apply(&n, REP_DISAGREE, t, &p);
	assert_int_equal(n.state, NODE_UNPROVEN);
	assert_true(n.score < 80 && n.score >= 40);
}

/* Honest histories, 1..200 agreeing outcomes at several paces (all at
 * once, hourly, daily, weekly: decay pulls the score back down), are never
 * excluded from any job, whatever the count. */
static void test_honest_never_excluded(void **state)
{
	static const double paces[] = { 0, 3600, DAY, 7 * DAY, 30 * DAY };
	struct rep_params p;

	rep_params_default(&p);
	for (size_t k = 0; k < sizeof(paces) / sizeof(paces[0]); k++) {
		struct rep_node n;
		double t = 1e9;

		rep_node_init(&n);
		for (int i = 1; i <= 200; i++) {
			rep_apply(&n, REP_AGREE, t, &p);
			if (excluded(&n))
				fail_msg("pace %gs: an honest node is %s after %d agreements",
					 paces[k], node_state_name(n.state), i);
			rep_reevaluate(&n, t, &p);
			assert_false(excluded(&n));
			t += paces[k];
		}
	}
}

/* t83's liars: every outcome a disagreement (they never share a step),
 * at the pace of the test (seconds apart).  Quarantined by the 5th. */
static void test_liar_quarantined_within_5(void **state)
{
	struct rep_params p;
	struct rep_node n;
	double t = 1e9;
	int at = 0;

	rep_params_default(&p);
	rep_node_init(&n);
	for (int i = 1; i <= 10 && !at; i++, t += 7)
		if (rep_apply(&n, REP_DISAGREE, t, &p) && n.state == NODE_QUARANTINED)
			at = i;
	assert_int_equal(at, 5);
	/* A liar that misses its outcomes instead (killed, or reporting
	 * nothing) is quarantined too, later: missing weighs half. */
	rep_node_init(&n);
	at = 0;
	for (int i = 1; i <= 20 && !at; i++, t += 7)
		if (rep_apply(&n, REP_MISSING, t, &p) && n.state == NODE_QUARANTINED)
			at = i;
	assert_true(at >= 5 && at <= 10);
}

/* One disagreement among 50 outcomes, wherever it falls, and at any
 * pace: never quarantined, never even on probation. */
static void test_one_in_50_not_excluded(void **state)
{
	static const double paces[] = { 0, 60, DAY };
	struct rep_params p;

	rep_params_default(&p);
	for (size_t k = 0; k < sizeof(paces) / sizeof(paces[0]); k++) {
		for (int bad = 1; bad <= 50; bad++) {
			struct rep_node n;
			double t = 1e9;

			rep_node_init(&n);
			for (int i = 1; i <= 50; i++, t += paces[k]) {
				rep_apply(&n, i == bad ? REP_DISAGREE : REP_AGREE, t, &p);
				if (excluded(&n))
					fail_msg("pace %gs, disagreement at %d: %s after %d outcomes",
						 paces[k], bad, node_state_name(n.state), i);
			}
		}
	}
}

/* An admin's quarantine holds past QuarantineSeconds and through
 * agreements; release hands the node back to the rule; reset forgets. */
static void test_admin(void **state)
{
	struct rep_params p;
	struct rep_node n;
	double t = 1e9;
	enum rep_admin_action a;

	rep_params_default(&p);
	rep_node_init(&n);
	for (int i = 0; i < 20; i++)
		rep_apply(&n, REP_AGREE, t, &p);
	assert_int_equal(n.state, NODE_TRUSTED);
	assert_true(rep_admin(&n, REP_ADMIN_QUARANTINE, t, &p));
	assert_int_equal(n.state, NODE_QUARANTINED);
	assert_true(n.held);
	rep_apply(&n, REP_AGREE, t + 1, &p);
	assert_int_equal(n.state, NODE_QUARANTINED);
	assert_false(rep_expire_quarantine(&n, t + 30 * DAY, &p));
	assert_false(rep_reevaluate(&n, t + 30 * DAY, &p));
	assert_int_equal(n.state, NODE_QUARANTINED);
	/* released: its 21 agreements make it trusted again */
	assert_true(rep_admin(&n, REP_ADMIN_RELEASE, t + 2, &p));
	assert_false(n.held);
	assert_int_equal(n.state, NODE_TRUSTED);
	/* releasing a node the rule quarantined ends that quarantine too */
	for (int i = 0; i < 40; i++)
		rep_apply(&n, REP_DISAGREE, t + 3, &p);
	assert_int_equal(n.state, NODE_QUARANTINED);
	assert_true(rep_admin(&n, REP_ADMIN_RELEASE, t + 4, &p));
	assert_int_equal(n.state, NODE_PROBATION);
	assert_true(n.quarantined_until == 0);
	/* reset: a new node */
	assert_true(rep_admin(&n, REP_ADMIN_RESET, t + 5, &p));
	assert_int_equal(n.state, NODE_UNPROVEN);
	assert_int_equal(n.verdicts, 0);
	assert_true(n.agree == 0 && n.disagree == 0 && n.missing == 0 && n.score == 0);
	/* names */
	assert_int_equal(rep_admin_parse("quarantine", &a), 0);
	assert_int_equal(a, REP_ADMIN_QUARANTINE);
	assert_string_equal(rep_admin_name(REP_ADMIN_RESET), "reset");
	assert_int_equal(rep_admin_parse("pardon", &a), -1);
	assert_int_equal(rep_admin_parse(NULL, &a), -1);
}

/* The rule's thresholds, and a node stored under the old rule
 * (probation for want of verdicts) re-evaluated. */
static void test_reevaluate(void **state)
{
	struct rep_params p;
	struct rep_node n;
	double t = 1e9;

	rep_params_default(&p);
	rep_node_init(&n);
	for (int i = 0; i < 6; i++)
		rep_apply(&n, REP_AGREE, t, &p);
	n.state = NODE_PROBATION;	/* as 0.1.0 stored it */
	assert_true(rep_reevaluate(&n, t, &p));
	assert_int_equal(n.state, NODE_UNPROVEN);
	/* a stricter ProbationBelow turns a mixed record into probation */
	n.disagree = 2;
	assert_false(rep_reevaluate(&n, t, &p));	/* upper bound 94.0 */
	p.probation_below = 95;
	assert_true(rep_reevaluate(&n, t, &p));
	assert_int_equal(n.state, NODE_PROBATION);
	near(wilson_upper_bound(0, 0, 1.96), 1, 0);
	near(wilson_upper_bound(8, 10, 1.96), 0.9433, 5e-5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wilson_known_values),
		cmocka_unit_test(test_decay),
		cmocka_unit_test(test_score),
		cmocka_unit_test(test_apply_decays),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_trusted),
		cmocka_unit_test(test_honest_never_excluded),
		cmocka_unit_test(test_liar_quarantined_within_5),
		cmocka_unit_test(test_one_in_50_not_excluded),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_reevaluate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
