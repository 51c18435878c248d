/* Unit tests for common/reputation.c: the Wilson lower bound against
 * published values, decay, scores and state transitions. */
#include "config.h"

#include <math.h>
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

static void test_states(void **state)
{
	struct rep_params p;
	struct rep_node n;
	double t = 1e9;

	rep_params_default(&p);
	rep_node_init(&n);
	assert_int_equal(n.state, NODE_PROBATION);
	/* Fewer than MinVerdicts: probation, even with a low score. */
	for (int i = 0; i < 4; i++)
		rep_apply(&n, REP_DISAGREE, t, &p);
	assert_int_equal(n.state, NODE_PROBATION);
	/* The fifth disagreement quarantines it. */
	assert_true(rep_apply(&n, REP_DISAGREE, t, &p));
	assert_int_equal(n.state, NODE_QUARANTINED);
	near(n.quarantined_until, t + DAY, 0);
	/* Quarantined until the time is up, whatever happens meanwhile. */
	assert_false(rep_apply(&n, REP_AGREE, t + 10, &p));
	assert_int_equal(n.state, NODE_QUARANTINED);
	assert_false(rep_expire_quarantine(&n, t + DAY - 1));
	assert_true(rep_expire_quarantine(&n, t + DAY));
	assert_int_equal(n.state, NODE_PROBATION);
	/* Re-admitted with a low score: an agreement keeps it on probation,
	 * a disagreement quarantines it again. */
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
	/* 16 agreements in a row: 80.6 >= 80, trusted; 15 are not enough. */
	for (i = 0; i < 15; i++)
		rep_apply(&n, REP_AGREE, t, &p);
	assert_int_equal(n.state, NODE_PROBATION);
	near(n.score, 79.611, 5e-3);
	rep_apply(&n, REP_AGREE, t, &p);
	assert_int_equal(n.state, NODE_TRUSTED);
	near(n.score, 80.64, 5e-3);
	/* One disagreement drops it below 80: probation again. */
	rep_apply(&n, REP_DISAGREE, t, &p);
	assert_int_equal(n.state, NODE_PROBATION);
	assert_true(n.score < 80 && n.score >= 40);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
