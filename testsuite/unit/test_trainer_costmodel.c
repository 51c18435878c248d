/* Unit tests for mpi-trainer/costmodel.c: on synthetic link matrices the
 * alpha-beta model picks the algorithm one expects, and its times follow
 * the algorithms' message schedules. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "costmodel.h"

#define US 1e-6
#define MS 1e-3
#define GBPS (1.0 / 1e9)	/* seconds per byte at 1 GB/s */

static void near(double got, double want)
{
	if (fabs(got - want) > 1e-9 * fabs(want) + 1e-15)
		fail_msg("got %.12g, want %.12g", got, want);
}

/* Uniform links: the textbook formulas. */
static void test_uniform_times(void **state)
{
	struct cost_model m;
	double a = 50 * US, b = GBPS, n = 8e6;

	assert_int_equal(cost_model_init(&m, 4, NULL, a, b), 0);
	near(cost_model_time(&m, ALLREDUCE_RING, (size_t)n), 6 * (a + n / 4 * b));
	near(cost_model_time(&m, ALLREDUCE_RD, (size_t)n), 2 * (a + n / 2 * b) + 2 * (a + n / 4 * b));
	cost_model_free(&m);
	/* 6 ranks: rd folds 2 pairs (a full message each way) around 4. */
	assert_int_equal(cost_model_init(&m, 6, NULL, a, b), 0);
	near(cost_model_time(&m, ALLREDUCE_RING, (size_t)n), 10 * (a + n / 6 * b));
	near(cost_model_time(&m, ALLREDUCE_RD, (size_t)n),
	     2 * (a + n * b) + 2 * (a + n / 2 * b) + 2 * (a + n / 4 * b));
	cost_model_free(&m);
}

static void test_choices_uniform(void **state)
{
	struct cost_model m;
	double costs[ALLREDUCE_CONCRETE];

	/* Powers of two: Rabenseifner needs fewer messages for the same volume,
	 * which decides small messages; for large ones the two are within 1 %
	 * and the ring stays. */
	assert_int_equal(cost_model_init(&m, 4, NULL, 50 * US, GBPS), 0);
	assert_int_equal(cost_model_choose(&m, 4096, costs), ALLREDUCE_RD);
	assert_int_equal(cost_model_choose(&m, 64 << 20, costs), ALLREDUCE_RING);
	assert_true(costs[ALLREDUCE_RD] < costs[ALLREDUCE_RING] &&
		    costs[ALLREDUCE_RD] > 0.99 * costs[ALLREDUCE_RING]);
	assert_true(costs[ALLREDUCE_HIER] < 0);		/* one rank per node: not a candidate */
	assert_true(costs[ALLREDUCE_MPI] < 0);		/* not allowed */
	cost_model_free(&m);
	/* Six ranks: small messages favour rd's 6 steps over the ring's 10;
	 * large ones the ring, which never sends a whole vector. */
	assert_int_equal(cost_model_init(&m, 6, NULL, 50 * US, GBPS), 0);
	assert_int_equal(cost_model_choose(&m, 4096, NULL), ALLREDUCE_RD);
	assert_int_equal(cost_model_choose(&m, 64 << 20, NULL), ALLREDUCE_RING);
	cost_model_free(&m);
	/* Three ranks: the ring always. */
	assert_int_equal(cost_model_init(&m, 3, NULL, 50 * US, GBPS), 0);
	assert_int_equal(cost_model_choose(&m, 4096, NULL), ALLREDUCE_RING);
	assert_int_equal(cost_model_choose(&m, 64 << 20, NULL), ALLREDUCE_RING);
	cost_model_free(&m);
}

/* Two nodes of three ranks, 100 ms between them, microseconds inside: the
 * hierarchical algorithm crosses the slow link twice, the ring 10 times and
 * rd's fold and first steps 6 times. */
static void test_choice_hierarchical(void **state)
{
	const char *names[6] = { "a", "a", "a", "b", "b", "b" };
	struct topology topo;
	struct cost_model m;
	double costs[ALLREDUCE_CONCRETE];

	assert_int_equal(topology_from_names(&topo, names, 6), 0);
	assert_int_equal(cost_model_init(&m, 6, &topo, 5 * US, 0.1 * GBPS), 0);
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			if (topo.node[i] != topo.node[j])
				*cost_model_link(&m, i, j) = (struct link_cost){ 100 * MS, 10 * GBPS };
	assert_int_equal(cost_model_choose(&m, 4096, costs), ALLREDUCE_HIER);
	assert_true(costs[ALLREDUCE_RING] > 0.99 && costs[ALLREDUCE_RING] < 1.01);	/* 10 x 100 ms */
	assert_true(costs[ALLREDUCE_HIER] > 0.2 && costs[ALLREDUCE_HIER] < 0.201);	/* 2 x 100 ms */
	cost_model_free(&m);
	topology_free(&topo);
}

/* One slow link (a congested switch port) between ranks 1 and 2 of 8: the
 * ring uses it in every step, rd only in its last halving step. */
static void test_choice_slow_link(void **state)
{
	struct cost_model m;

	assert_int_equal(cost_model_init(&m, 8, NULL, 20 * US, GBPS), 0);
	*cost_model_link(&m, 1, 2) = (struct link_cost){ 20 * US, 100 * GBPS };
	*cost_model_link(&m, 2, 1) = (struct link_cost){ 20 * US, 100 * GBPS };
	assert_int_equal(cost_model_choose(&m, 16 << 20, NULL), ALLREDUCE_RD);
	assert_true(cost_model_time(&m, ALLREDUCE_RING, 16 << 20) >
		    5 * cost_model_time(&m, ALLREDUCE_RD, 16 << 20));
	cost_model_free(&m);
}

/* MPI_Allreduce, when allowed, by its fitted line. */
static void test_choice_mpi(void **state)
{
	struct cost_model m;

	assert_int_equal(cost_model_init(&m, 4, NULL, 50 * US, GBPS), 0);
	m.have_mpi = true;
	m.mpi = (struct link_cost){ 10 * US, 0.5 * GBPS };
	assert_int_equal(cost_model_choose(&m, 1 << 20, NULL), ALLREDUCE_RD);	/* not allowed */
	m.allow_mpi = true;
	assert_int_equal(cost_model_choose(&m, 1 << 20, NULL), ALLREDUCE_MPI);
	m.mpi = (struct link_cost){ 10 * MS, 0.5 * GBPS };
	assert_int_equal(cost_model_choose(&m, 4096, NULL), ALLREDUCE_RD);
	cost_model_free(&m);
}

/* Calibrated times replace the link model: piecewise linear between the
 * timed sizes, along the last segment beyond them (never falling), and
 * the choice follows them, MPI_Allreduce winning only where it was timed
 * fastest (as Open MPI's own switch of algorithm at a few MiB does). */
static void test_calibrated(void **state)
{
	struct cost_model m;
	static const size_t x[] = { 1 << 20, 4 << 20, 16 << 20 };
	double costs[ALLREDUCE_CONCRETE];

	assert_int_equal(cost_model_init(&m, 4, NULL, 50 * US, GBPS), 0);
	m.have_mpi = m.allow_mpi = true;
	m.mpi = (struct link_cost){ 10 * US, 0.5 * GBPS };	/* the line says mpi everywhere */
	m.ncal = 3;
	for (int i = 0; i < 3; i++) {
		m.cal_bytes[i] = x[i];
		m.cal_seconds[ALLREDUCE_RING][i] = 1.0 * (double)x[i] * GBPS;
		m.cal_seconds[ALLREDUCE_RD][i] = 1.2 * (double)x[i] * GBPS;
		m.cal_seconds[ALLREDUCE_MPI][i] = (i == 1 ? 0.8 : 1.5) * (double)x[i] * GBPS;
	}
	m.cal_seconds[ALLREDUCE_RD][2] = 0.5 * m.cal_seconds[ALLREDUCE_RD][1];	/* falls at the end */
	m.cal_ok[ALLREDUCE_RING] = m.cal_ok[ALLREDUCE_RD] = m.cal_ok[ALLREDUCE_MPI] = true;
	m.cal_ok[ALLREDUCE_HIER] = false;

	near(cost_model_time(&m, ALLREDUCE_RING, 4 << 20), 4.194304e-3);
	near(cost_model_time(&m, ALLREDUCE_RING, 10 << 20), 10.48576e-3);	/* between points */
	near(cost_model_time(&m, ALLREDUCE_RING, 32 << 20), 33.554432e-3);	/* beyond, same slope */
	near(cost_model_time(&m, ALLREDUCE_RD, 32 << 20), 0.5 * 1.2 * 4.194304e-3);	/* flat, not falling */
	assert_int_equal(cost_model_choose(&m, 1 << 20, costs), ALLREDUCE_RING);
	near(costs[ALLREDUCE_MPI], 1.5 * 1.048576e-3);
	assert_int_equal(cost_model_choose(&m, 4 << 20, NULL), ALLREDUCE_MPI);
	assert_int_equal(cost_model_choose(&m, 16 << 20, NULL), ALLREDUCE_RD);	/* timed fastest there */
	/* Not timed: hier keeps the link model (here one rank per node: none). */
	cost_model_choose(&m, 4 << 20, costs);
	assert_true(costs[ALLREDUCE_HIER] < 0);
	cost_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform_times),
		cmocka_unit_test(test_choices_uniform),
		cmocka_unit_test(test_choice_hierarchical),
		cmocka_unit_test(test_choice_slow_link),
		cmocka_unit_test(test_choice_mpi),
		cmocka_unit_test(test_calibrated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
