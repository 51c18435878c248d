/* Unit tests for epochs (contrib_epoch.c), TRES strings and the even split
 * (contrib_tres.c), interned strings (contrib_strpool.c) and the
 * contribution formula (contrib.c: contrib_compute). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "contrib.h"
#include "contrib_strpool.h"
#include "contrib_tres.h"
#include "test_contrib_util.h"

#define DAY 86400
#define T0 (20414LL * DAY)		/* 2025-11-22T00:00:00Z */

/* --- epochs --- */

static void test_epochs(void **state)
{
	uint64_t e;
	int64_t s, end;
	char t[CONTRIB_TIME_LEN + 1];

	assert_int_equal(contrib_epoch_of(0, DAY, &e), 0);
	assert_int_equal(e, 0);
	assert_int_equal(contrib_epoch_of(T0, DAY, &e), 0);
	assert_int_equal(e, 20414);
	assert_int_equal(contrib_epoch_of(T0 + DAY - 1, DAY, &e), 0);
	assert_int_equal(e, 20414);
	assert_int_equal(contrib_epoch_of(T0 + DAY, DAY, &e), 0);
	assert_int_equal(e, 20415);
	assert_int_equal(contrib_epoch_bounds(20414, DAY, &s, &end), 0);
	assert_int_equal(s, T0);
	assert_int_equal(end, T0 + DAY);
	assert_int_equal(contrib_time_format(s, t), 0);
	assert_string_equal(t, "2025-11-22T00:00:00Z");
	assert_int_equal(contrib_time_format(end - 1, t), 0);
	assert_string_equal(t, "2025-11-22T23:59:59Z");

	/* 6-hour epochs: four a day, the first at UTC midnight */
	assert_int_equal(contrib_epoch_of(T0 + 6 * 3600 + 5, 6 * 3600, &e), 0);
	assert_int_equal(e, 20414 * 4 + 1);
	assert_int_equal(contrib_epoch_bounds(e, 6 * 3600, &s, &end), 0);
	assert_int_equal(contrib_time_format(s, t), 0);
	assert_string_equal(t, "2025-11-22T06:00:00Z");
	/* weekly epochs */
	assert_int_equal(contrib_epoch_of(T0, 7 * DAY, &e), 0);
	assert_int_equal(e, 20414 / 7);

	/* every time maps into its epoch's bounds, for several lengths */
	static const int64_t lengths[] = { 60, 900, 3600, 6 * 3600, DAY, 7 * DAY };
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		for (int64_t tt = T0 - 3 * DAY; tt < T0 + 3 * DAY; tt += 997) {
			assert_int_equal(contrib_epoch_of(tt, lengths[i], &e), 0);
			assert_int_equal(contrib_epoch_bounds(e, lengths[i], &s, &end), 0);
			assert_true(s <= tt && tt < end);
			assert_int_equal(end - s, lengths[i]);
		}
	}

	/* invalid lengths and times */
	assert_false(contrib_epoch_length_valid(59));
	assert_false(contrib_epoch_length_valid(7 * 3600));
	assert_false(contrib_epoch_length_valid(DAY + 1));
	assert_false(contrib_epoch_length_valid(367LL * DAY));
	assert_true(contrib_epoch_length_valid(366LL * DAY));
	assert_int_equal(contrib_epoch_of(-1, DAY, &e), -1);
	assert_int_equal(contrib_epoch_of(T0, 7 * 3600, &e), -1);
	assert_int_equal(contrib_epoch_bounds(UINT64_MAX / 2, DAY, &s, &end), -1);
	assert_int_equal(contrib_time_format(-1, t), -1);

	/* closable once ingestion passed end + overlap */
	assert_false(contrib_epoch_closable(20414, DAY, T0 + DAY, 3600));
	assert_false(contrib_epoch_closable(20414, DAY, T0 + DAY + 3599, 3600));
	assert_true(contrib_epoch_closable(20414, DAY, T0 + DAY + 3600, 3600));
	assert_true(contrib_epoch_closable(20414, DAY, T0 + DAY, 0));
	assert_false(contrib_epoch_closable(20414, DAY, T0 + 5, 0));
	assert_false(contrib_epoch_closable(20414, DAY, T0 + 2 * DAY, -1));
}

/* --- TRES strings, the split --- */

static void test_tres(void **state)
{
	uint64_t v;
	const char *s = "1=4,2=4000,4=2,5=4,1001=2";

	assert_int_equal(contrib_tres_count(s, CONTRIB_TRES_CPU, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(contrib_tres_count(s, CONTRIB_TRES_NODE, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(contrib_tres_count(s, 1001, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(contrib_tres_count(s, 1002, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(contrib_tres_count(NULL, 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(contrib_tres_count("", 1, &v), 0);
	assert_int_equal(contrib_tres_count("1=18446744073709551615", 1, &v), 0);
	assert_true(v == UINT64_MAX);

	static const char *const bad[] = { "1=", "=2", "1=2,", "a=1", "1=2;3=4", "1=2,,3=4",
		"1=-2", " 1=2", "1=2 ", "1=18446744073709551616" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (contrib_tres_count(bad[i], 1, &v) != -1)
			fail_msg("'%s' was accepted", bad[i]);
}

static void test_split(void **state)
{
	/* 3 CPUs on 2 nodes: 2 + 1, as Slurm's block fill gives */
	assert_int_equal(contrib_split_even(3, 2, 0), 2);
	assert_int_equal(contrib_split_even(3, 2, 1), 1);
	assert_int_equal(contrib_split_even(4, 2, 1), 2);
	assert_int_equal(contrib_split_even(0, 3, 0), 0);
	assert_int_equal(contrib_split_even(5, 0, 0), 0);
	assert_int_equal(contrib_split_even(5, 2, 2), 0);
	/* the parts always sum to the total */
	for (uint64_t total = 0; total < 50; total++) {
		for (size_t n = 1; n < 12; n++) {
			uint64_t sum = 0;

			for (size_t i = 0; i < n; i++) {
				uint64_t part = contrib_split_even(total, n, i);

				assert_true(part == total / n || part == total / n + 1);
				sum += part;
			}
			assert_int_equal(sum, total);
		}
	}
}

static void test_strpool(void **state)
{
	struct contrib_strpool p;
	char name[32];
	const char *first[1000];

	memset(&p, 0, sizeof(p));
	const char *a = contrib_strpool_add(&p, "site_a");
	const char *b = contrib_strpool_add(&p, "site_a");
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, contrib_strpool_add(&p, "site_b"));
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		first[i] = contrib_strpool_add(&p, name);
		assert_string_equal(first[i], name);
	}
	for (int i = 0; i < 1000; i++) {	/* still the same copies after growing */
		snprintf(name, sizeof(name), "n%d", i);
		assert_ptr_equal(contrib_strpool_add(&p, name), first[i]);
	}
	assert_int_equal(p.n, 1002);
	assert_ptr_equal(contrib_strpool_add(&p, "site_a"), a);
	contrib_strpool_free(&p);
}

/* --- the formula --- */

static void compute(const struct contrib_policy *p, const struct contrib_usage *u,
		    size_t n, struct contrib_usage_result *r)
{
	char err[256];

	if (contrib_compute(p, u, n, r, err, sizeof(err)))
		fail_msg("contrib_compute: %s", err);
}

static void test_weights(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[3];
	struct contrib_usage_result r[3];

	/* default weights: cpu=1: an hour of one CPU is one credit */
	assert_int_equal(contrib_policy_default(&p), 0);
	u[0] = usage_rec("c", "n1", "site_a", "acct", 1, 1, 0, 3600, T0 + 3600);
	u[1] = usage_rec("c", "n2", "site_a", "acct", 2, 4, 2, 1800, T0 + 3600);
	u[2] = usage_rec("c", "n3", "site_a", "acct", 3, 0, 0, 3599, T0 + 3600);
	compute(&p, u, 3, r);
	assert_int_equal(r[0].weighted, 3600ULL * 1000000);
	assert_int_equal(r[0].credits, 1000000);		/* 1.000000 credit */
	assert_int_equal(r[0].score, 1000000);
	assert_int_equal(r[0].quality, 1000000);
	assert_int_equal(r[0].reliability, 1000000);
	assert_int_equal(r[1].credits, 2000000);		/* 4 CPUs x 30 min, GPUs weigh 0 */
	assert_int_equal(r[2].credits, 0);
	contrib_policy_free(&p);

	/* BillingWeights=cpu=1,gpu=8,node=0.5 */
	policy_from_text(&p, "BillingWeights=cpu=1,gpu=8,node=0.5\n");
	compute(&p, u, 3, r);
	assert_int_equal(r[0].credits, 1000000 + 500000);	/* 1 CPU-h + 0.5 x 1 node-h */
	/* 4 x 0.5 h CPU = 2, 2 x 0.5 h GPU x 8 = 8, 0.5 node-h x 0.5 = 0.25 */
	assert_int_equal(r[1].credits, 10250000);
	assert_int_equal(r[1].weighted, (4ULL * 1800 * 1000000 + 2ULL * 1800 * 8000000 +
					 1800ULL * 500000));
	contrib_policy_free(&p);

	/* micro-credit rounding: 1 CPU-second = 277.77... micro-credits, floor */
	assert_int_equal(contrib_policy_default(&p), 0);
	u[0] = usage_rec("c", "n1", "site_a", "acct", 1, 1, 0, 1, T0 + 1);
	compute(&p, u, 1, r);
	assert_int_equal(r[0].credits, 277);
	contrib_policy_free(&p);
}

static void test_quality(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[4];
	struct contrib_usage_result r[4];

	assert_int_equal(contrib_policy_default(&p), 0);
	for (int i = 0; i < 4; i++)
		u[i] = usage_rec("c", "n1", "site_a", "acct", (uint64_t)i + 1, 2, 0, 3600,
				 T0 + 7200);
	u[0].steps_agreed = 1;				/* verified and agreed */
	u[1].steps_disagreed = 1;			/* the rejected replica */
	u[2].steps_agreed = 3;				/* 3 of 4 steps agreed */
	u[2].steps_missing = 1;
	/* u[3]: never verified: quality 1 */
	compute(&p, u, 4, r);
	assert_int_equal(r[0].quality, 1000000);
	assert_int_equal(r[0].credits, 2000000);
	assert_int_equal(r[1].quality, 0);
	assert_int_equal(r[1].delivered, 0);
	assert_int_equal(r[1].credits, 0);
	assert_int_equal(r[1].score, 0);
	assert_int_equal(r[1].weighted, 7200ULL * 1000000);	/* it ran, though */
	assert_int_equal(r[2].quality, 750000);
	assert_int_equal(r[2].credits, 1500000);
	assert_int_equal(r[3].quality, 1000000);
	assert_int_equal(r[3].credits, 2000000);
	contrib_policy_free(&p);
}

static void test_reliability(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[4];
	struct contrib_usage_result r[4];
	char err[256];

	assert_int_equal(contrib_policy_default(&p), 0);
	for (int i = 0; i < 4; i++)
		u[i] = usage_rec("c", "n1", "site_a", "acct", (uint64_t)i + 1, 1, 0, 3600,
				 T0 + 7200);
	u[0].has_reputation = true;
	u[0].reputation = 50.0;
	u[1].has_reputation = true;
	u[1].reputation = 0.0;
	u[2].has_reputation = true;
	u[2].reputation = 87.654321;
	compute(&p, u, 4, r);
	assert_int_equal(r[0].reliability, 500000);
	assert_int_equal(r[0].credits, 1000000);	/* the ledger ignores reputation */
	assert_int_equal(r[0].score, 500000);
	assert_int_equal(r[1].score, 0);
	assert_int_equal(r[2].reliability, 876543);
	assert_int_equal(r[2].score, 876543);
	assert_int_equal(r[3].reliability, 1000000);	/* no reputation: neutral */
	assert_int_equal(r[3].score, 1000000);

	/* quality and reliability multiply */
	u[0].steps_agreed = 1;
	u[0].steps_disagreed = 1;
	compute(&p, u, 1, r);
	assert_int_equal(r[0].credits, 500000);
	assert_int_equal(r[0].score, 250000);

	u[0].reputation = NAN;
	assert_int_equal(contrib_compute(&p, u, 1, r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "reputation"));
	u[0].reputation = 100.5;
	assert_int_equal(contrib_compute(&p, u, 1, r, err, sizeof(err)), -1);
	contrib_policy_free(&p);
}

static void test_trainer(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[5];
	struct contrib_usage_result r[5];
	char err[256];

	assert_int_equal(contrib_policy_default(&p), 0);
	/* one training job (db_index 7) on 2 nodes x 2 CPUs x 1 h: 4 credits */
	u[0] = usage_rec("c", "n1", "site_a", "acct", 7, 2, 0, 3600, T0 + 7200);
	u[1] = usage_rec("c", "n2", "site_b", "acct", 7, 2, 0, 3600, T0 + 7200);
	/* another job in between, untouched by the split */
	u[2] = usage_rec("c", "n1", "site_a", "acct", 8, 2, 0, 3600, T0 + 7200);
	u[0].trainer = u[1].trainer = true;
	u[0].trainer_compute_seconds = 3000;		/* n1 did 3/4 of the compute */
	u[1].trainer_compute_seconds = 1000;
	compute(&p, u, 3, r);
	assert_int_equal(r[0].credits, 3000000);
	assert_int_equal(r[1].credits, 1000000);
	assert_int_equal(r[2].credits, 2000000);

	/* rejected gradients earn nothing and are not given to the others */
	u[0].gradients_accepted = 50;
	u[0].gradients_rejected = 50;
	u[1].gradients_accepted = 10;
	compute(&p, u, 3, r);
	assert_int_equal(r[0].credits, 1500000);
	assert_int_equal(r[1].credits, 1000000);

	/* the order of the records does not matter */
	struct contrib_usage v[3] = { u[2], u[1], u[0] };
	struct contrib_usage_result s[3];
	compute(&p, v, 3, s);
	assert_memory_equal(&s[0], &r[2], sizeof(s[0]));
	assert_memory_equal(&s[1], &r[1], sizeof(s[0]));
	assert_memory_equal(&s[2], &r[0], sizeof(s[0]));

	/* a node of the job without reports gets nothing; nobody reporting
	 * any compute leaves the job as it was */
	u[3] = usage_rec("c", "n3", "site_b", "acct", 7, 2, 0, 3600, T0 + 7200);
	u[0].gradients_accepted = u[0].gradients_rejected = u[1].gradients_accepted = 0;
	compute(&p, u, 4, r);
	assert_int_equal(r[0].credits, 4500000);	/* 6 credits x 3/4 */
	assert_int_equal(r[1].credits, 1500000);
	assert_int_equal(r[3].credits, 0);
	u[0].trainer_compute_seconds = u[1].trainer_compute_seconds = 0;
	compute(&p, u, 4, r);
	assert_int_equal(r[0].credits, 2000000);
	assert_int_equal(r[3].credits, 2000000);

	/* the same job id on another cluster is another job */
	u[0].trainer_compute_seconds = 1;
	u[4] = usage_rec("d", "n1", "site_a", "acct", 7, 2, 0, 3600, T0 + 7200);
	compute(&p, u, 5, r);
	assert_int_equal(r[4].credits, 2000000);
	assert_int_equal(r[0].credits, 6000000);

	u[0].trainer_compute_seconds = -1;
	assert_int_equal(contrib_compute(&p, u, 5, r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "trainer compute seconds"));
	contrib_policy_free(&p);
}

static void test_overflow(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u;
	struct contrib_usage_result r;
	char err[256];

	assert_int_equal(contrib_policy_default(&p), 0);
	u = usage_rec("c", "n1", "site_a", "acct", 1, 0, 0, 1, T0 + 1);
	u.cpu_seconds = UINT64_MAX / 1000;
	assert_int_equal(contrib_compute(&p, &u, 1, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "overflow"));
	u.cpu_seconds = UINT64_MAX / 1000000;	/* the largest that fits */
	assert_int_equal(contrib_compute(&p, &u, 1, &r, err, sizeof(err)), 0);
	contrib_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_tres),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_strpool),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_quality),
		cmocka_unit_test(test_reliability),
		cmocka_unit_test(test_trainer),
		cmocka_unit_test(test_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
