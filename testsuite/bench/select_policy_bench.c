/*
 * select_policy_bench.c - the policy cost of one select_p_job_test at
 * 10,000 nodes, in process, on a synthetic node table: what
 * select/reputation does around cons_tres (candidate list from the bitmap,
 * filter and rank, sched_weight keys on and off, and for --replicas jobs
 * the site plan and placement check; the partition's site count is cached
 * by the adapter and reported with the once-per-change costs).  cons_tres's
 * own work is not part of it.
 *
 * Baseline, measured in the same run: one pass over the same 10,000 node
 * records that tests each candidate bit and writes its weight -- the least
 * any per-node policy costs.
 *
 * Usage: select_policy_bench [NODES [SITES [ITERATIONS]]]
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "select_policy.h"
#include "select_table.h"

struct fake_node {		/* the fields the adapter reads and writes */
	char *extra;
	char *features;
	uint64_t sched_weight;
};

#define FAIL(what) do { \
		fprintf(stderr, "select_policy_bench: %s failed\n", what); \
		goto out; \
	} while (0)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Slurm's bitstr_t keeps bits in 64-bit words; test the same way. */
static int bit_test_words(const uint64_t *w, size_t i)
{
	return (int)((w[i >> 6] >> (i & 63)) & 1);
}

static size_t candidates(const uint64_t *bitmap, size_t n, uint32_t *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (bit_test_words(bitmap, i))
			out[k++] = (uint32_t)i;
	return k;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	unsigned nsites = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20;
	int iters = argc > 3 ? atoi(argv[3]) : 2000;
	struct fake_node *nodes = calloc(n, sizeof(*nodes));
	uint64_t *bitmap = calloc((n + 63) / 64, sizeof(*bitmap));
	uint32_t *cand = malloc(n * sizeof(*cand));
	double *t_base = malloc(iters * sizeof(double));
	double *t_plain = malloc(iters * sizeof(double));
	double *t_repl = malloc(iters * sizeof(double));
	struct sel_table t;
	unsigned seed = 42;
	volatile uint64_t sink = 0;
	int rc = 1;

	if (!nodes || !bitmap || !cand || !t_base || !t_plain || !t_repl ||
	    !n || !nsites || iters < 10 || sel_table_init(&t) ||
	    sel_table_resize(&t, n)) {
		fprintf(stderr, "select_policy_bench: bad arguments or out of memory\n");
		return 2;
	}
	/* 30% neutral, the rest scored 0..100; about 1 in 8 nodes busy (not a
	 * candidate); sites in contiguous blocks as the harness makes them */
	for (size_t i = 0; i < n; i++) {
		char buf[64];

		seed = seed * 1103515245u + 12345u;
		unsigned r = (seed >> 16) % 1000;
		if (r >= 300) {
			snprintf(buf, sizeof(buf), "rack=%zu reputation=%.1f", i / 40, (r - 300) / 7.0);
			nodes[i].extra = strdup(buf);
		}
		snprintf(buf, sizeof(buf), "site_%03zu,ib", i * nsites / n);
		nodes[i].features = strdup(buf);
		nodes[i].sched_weight = (UINT64_C(1) << 8) | 0xff;
		if ((seed >> 8) % 8)
			bitmap[i >> 6] |= UINT64_C(1) << (i & 63);
	}

	/* one-off costs: first parse of every node, then an unchanged pass */
	double t0 = now_us();
	for (size_t i = 0; i < n; i++)
		if (sel_table_update_node(&t, i, nodes[i].extra, nodes[i].features) < 0)
			FAIL("parsing the node table");
	double t_parse = now_us() - t0;
	t0 = now_us();
	for (size_t i = 0; i < n; i++)
		if (sel_table_update_node(&t, i, nodes[i].extra, nodes[i].features) < 0)
			FAIL("refreshing the node table");
	double t_unchanged = now_us() - t0;
	/* the partition's site count: the adapter keeps it until a node or
	 * the partition changes */
	for (size_t i = 0; i < n; i++)
		cand[i] = (uint32_t)i;
	t0 = now_us();
	unsigned partition_sites = sel_table_count_sites(&t, cand, n);
	double t_sites = now_us() - t0;

	for (int it = 0; it < iters; it++) {
		struct sel_job_in in = { 0 };
		struct sel_job_out out;
		struct sel_plan_info info;
		double start;
		size_t k;

		/* baseline: test each bit, write each candidate's weight */
		start = now_us();
		for (size_t i = 0; i < n; i++)
			if (bit_test_words(bitmap, i))
				nodes[i].sched_weight ^= (uint64_t)it << 42;
		t_base[it] = now_us() - start;
		for (size_t i = 0; i < n; i++)
			nodes[i].sched_weight &= SEL_WEIGHT_SLURM_MASK;

		/* a plain job */
		start = now_us();
		k = candidates(bitmap, n, cand);
		in.cand = cand;
		in.ncand = k;
		if (sel_table_job(&t, &in, &out))
			FAIL("sel_table_job (plain)");
		if (!out.uniform)
			for (size_t i = 0; i < k; i++)
				nodes[cand[i]].sched_weight =
					sel_weight_compose(nodes[cand[i]].sched_weight,
							   sel_table_rank(&t, cand[i]));
		/* (cons_tres runs here) */
		for (size_t i = 0; i < k; i++)
			nodes[cand[i]].sched_weight = sel_weight_strip(nodes[cand[i]].sched_weight);
		t_plain[it] = now_us() - start;
		sink += out.kept;

		/* a --replicas=3 -N3 job */
		start = now_us();
		k = candidates(bitmap, n, cand);
		in.ncand = k;
		in.replicas = 3;
		if (sel_table_job(&t, &in, &out))
			FAIL("sel_table_job (replicated)");
		struct sel_spread sp = {
			.groups = 3, .nodes = 3,
			.sites_required = sel_sites_required(3, partition_sites, 3),
		};
		if (sel_table_plan(&t, &in, &sp, &info) || info.status != SEL_PLAN_OK)
			FAIL("sel_table_plan");
		uint32_t chosen[3];
		size_t m = 0;
		for (size_t i = 0; i < k; i++)
			nodes[cand[i]].sched_weight =
				sel_weight_compose(nodes[cand[i]].sched_weight,
						   sel_table_key(&t, i, cand[i], true));
		for (size_t i = 0; i < k && m < 3; i++)
			if (t.planned[i])
				chosen[m++] = cand[i];
		for (size_t i = 0; i < k; i++)
			nodes[cand[i]].sched_weight = sel_weight_strip(nodes[cand[i]].sched_weight);
		if (sel_table_spread_ok(&t, chosen, m, &sp, info.groups_whole) != 1)
			FAIL("sel_table_spread_ok");
		t_repl[it] = now_us() - start;
	}
	qsort(t_base, iters, sizeof(double), cmp_double);
	qsort(t_plain, iters, sizeof(double), cmp_double);
	qsort(t_repl, iters, sizeof(double), cmp_double);
	printf("select/reputation policy cost per select_p_job_test, %zu nodes, %u sites, %d runs (median, p99)\n",
	       n, nsites, iters);
	printf("  baseline: one pass testing bits and writing weights  %8.1f us  %8.1f us\n",
	       t_base[iters / 2], t_base[iters * 99 / 100]);
	printf("  plain job (filter, rank, weights on and off)         %8.1f us  %8.1f us  ratio %.2f\n",
	       t_plain[iters / 2], t_plain[iters * 99 / 100], t_plain[iters / 2] / t_base[iters / 2]);
	printf("  --replicas=3 -N3 job (+ sites, plan, check)          %8.1f us  %8.1f us  ratio %.2f\n",
	       t_repl[iters / 2], t_repl[iters * 99 / 100], t_repl[iters / 2] / t_base[iters / 2]);
	printf("  once per node-table change: unchanged pass %.1f us, partition sites %.1f us, first parse %.1f us\n",
	       t_unchanged, t_sites, t_parse);
	printf("  goal: < 200 us per job_test: plain %s, replicated %s\n",
	       t_plain[iters / 2] < 200 ? "met" : "NOT met",
	       t_repl[iters / 2] < 200 ? "met" : "NOT met");
	rc = (t_plain[iters / 2] < 200 && t_repl[iters / 2] < 200) ? 0 : 1;
out:
	if (!sink)
		fprintf(stderr, "select_policy_bench: no candidate kept\n");
	for (size_t i = 0; i < n; i++) {
		free(nodes[i].extra);
		free(nodes[i].features);
	}
	free(nodes);
	free(bitmap);
	free(cand);
	free(t_base);
	free(t_plain);
	free(t_repl);
	sel_table_free(&t);
	return rc;
}
