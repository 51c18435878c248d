/* Unit tests for issue 7's pure parts and transports: link emulation
 * (profiles, rule files with FILE:LINE errors, the delay model, and a
 * transport that delays at least what it says and accounts it exactly), the
 * probe's tournament, straggler balancing, the adaptive H, the outer step,
 * and compressed all-reduces (fp16 ring, top-k with error feedback). */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "adapt.h"
#include "balance.h"
#include "linkemu.h"
#include "netprobe.h"
#include "rng.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- link emulation ---- */

static void test_profiles(void **state)
{
	struct link_emu_config c = { 0 };
	struct link_params p;
	char err[256];

	assert_int_equal(link_profile_lookup("poor", &p), 0);
	assert_true(p.lat_lo == 0.150 && p.lat_hi == 0.300 && p.loss == 0.05);
	assert_int_equal(link_profile_lookup("unstable", &p), 0);
	assert_true(p.lat_lo == 0.050 && p.lat_hi == 0.500 && p.loss == 0.10);
	assert_int_equal(link_profile_lookup("lan", &p), -1);

	assert_int_equal(link_emu_parse_profiles("good,poor@500,perfect@900", &c, err, sizeof(err)), 0);
	assert_int_equal(c.nphases, 3);
	assert_true(link_emu_active(&c));
	assert_true(link_emu_params(&c, 0, 1, 0)->lat_lo == 0.010);
	assert_true(link_emu_params(&c, 0, 1, 499)->lat_lo == 0.010);
	assert_true(link_emu_params(&c, 0, 1, 500)->lat_lo == 0.150);	/* degradation */
	assert_true(link_emu_params(&c, 0, 1, 900)->lat_lo == 0);
	assert_int_equal(link_emu_parse_profiles("good@5", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "starts at step 0"));
	assert_int_equal(link_emu_parse_profiles("good,poor@9,average@9", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not come after"));
	assert_int_equal(link_emu_parse_profiles("good,slow@9", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'slow' is not a profile"));
	assert_int_equal(link_emu_parse_profiles("perfect", &c, err, sizeof(err)), 0);
	assert_false(link_emu_active(&c));
}

static void test_rule_file(void **state)
{
	struct link_emu_config c = { 0 };
	char err[256];

	assert_int_equal(link_emu_parse_profiles("good", &c, err, sizeof(err)), 0);
	assert_int_equal(link_emu_parse_buffer("links.conf",
		"# slow uplink of rank 3\n"
		"3 * poor\n"
		"* 3 latency=20-40 bandwidth=10 loss=2   # asymmetric\n"
		"\n"
		"0 1 latency=1\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.nrules, 3);
	assert_true(link_emu_params(&c, 3, 0, 0)->lat_lo == 0.150);		/* rule 1 */
	assert_true(link_emu_params(&c, 0, 3, 0)->lat_hi == 0.040);		/* rule 2 */
	assert_true(fabs(link_emu_params(&c, 0, 3, 0)->bandwidth - 10e6 / 8) < 1e-6);
	assert_true(fabs(link_emu_params(&c, 0, 3, 0)->loss - 0.02) < 1e-12);
	assert_true(link_emu_params(&c, 3, 3, 0)->lat_lo == 0.020);		/* last match wins */
	assert_true(link_emu_params(&c, 0, 1, 0)->lat_hi == 0.001);
	assert_true(link_emu_params(&c, 1, 2, 0)->lat_lo == 0.010);		/* the profile */
	link_emu_config_free(&c);

	assert_int_equal(link_emu_parse_buffer("links.conf", "0 1 poor\n1 x good\n", &c,
					       err, sizeof(err)), -1);
	assert_string_equal(err, "links.conf:2: SRC and DST are ranks or '*'");
	link_emu_config_free(&c);
	assert_int_equal(link_emu_parse_buffer("l", "\n\n0 1 speed=3\n", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "l:3: unknown key 'speed' (allowed: latency, bandwidth, loss)");
	link_emu_config_free(&c);
	assert_int_equal(link_emu_parse_buffer("l", "0 1 latency=40-20\n", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "l:1: latency: milliseconds, or LO-HI");
	link_emu_config_free(&c);
	assert_int_equal(link_emu_parse_buffer("l", "0 1\n", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "l:1: want SRC DST PROFILE"));
	link_emu_config_free(&c);
	assert_int_equal(link_emu_parse_file("/nonexistent/links", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/links: No such file"));
}

static void test_delay_model(void **state)
{
	struct link_params p = { 0.020, 0.020, 1e6, 0 };
	struct rng r;
	double sum = 0, lo = 1, hi = 0;
	int n = 20000;

	rng_seed(&r, 1);
	/* 20 ms + 100 kB at 1 MB/s */
	assert_true(fabs(link_emu_delay(&p, 100000, &r) - 0.120) < 1e-12);
	/* Every window lost: one round trip each (2 windows of 64 KiB). */
	p.loss = 1;
	assert_true(fabs(link_emu_delay(&p, 100000, &r) - (0.120 + 2 * 0.040)) < 1e-12);
	/* Jitter: uniform in [lo, hi], mean in the middle. */
	p = (struct link_params){ 0.050, 0.500, 0, 0 };
	for (int i = 0; i < n; i++) {
		double d = link_emu_delay(&p, 8, &r);

		sum += d;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo >= 0.050 && hi <= 0.500);
	assert_true(fabs(sum / n - 0.275) < 0.005);
	/* Loss: 10 % of single-window messages pay one round trip. */
	p = (struct link_params){ 0.100, 0.100, 0, 0.10 };
	sum = 0;
	for (int i = 0; i < n; i++)
		sum += link_emu_delay(&p, 1000, &r) > 0.1001;
	assert_true(fabs(sum / n - 0.10) < 0.01);
}

struct emu_job {
	struct transport *t;
	double elapsed;
	int rv;
};

static void *emu_rank(void *arg)
{
	struct emu_job *j = arg;
	char buf[50000] = { 0 }, in[50000];
	double t0 = now();
	int peer = 1 - j->t->rank;

	j->rv = 0;
	for (int i = 0; i < 3; i++)
		j->rv |= transport_sendrecv(j->t, buf, sizeof(buf), peer, in, sizeof(in), peer);
	j->elapsed = now() - t0;
	return NULL;
}

/* Two ranks on two nodes exchange 3 messages of 50 kB over links of 15 ms
 * and 5 MB/s: each rank sleeps 3 x 25 ms before sending, and says so. */
static void test_emulated_transport(void **state)
{
	struct local_world *w = local_world_create(2);
	struct link_emu_config c = { 0 };
	struct topology topo;
	struct transport *t[2];
	struct emu_job jobs[2];
	pthread_t th[2];
	char err[256];

	assert_int_equal(link_emu_parse_buffer("x", "* * latency=15 bandwidth=40\n", &c,
					       err, sizeof(err)), 0);
	assert_int_equal(topology_flat(&topo, 2), 0);
	for (int r = 0; r < 2; r++) {
		t[r] = transport_emu_create(local_world_transport(w, r), &topo, &c);
		assert_non_null(t[r]);
		assert_null(t[r]->ops->allreduce_native);
		jobs[r].t = t[r];
		assert_int_equal(pthread_create(&th[r], NULL, emu_rank, &jobs[r]), 0);
	}
	for (int r = 0; r < 2; r++) {
		pthread_join(th[r], NULL);
		assert_int_equal(jobs[r].rv, 0);
		assert_true(fabs(transport_emu_delayed(t[r]) - 3 * (0.015 + 50000 / 5e6)) < 1e-9);
		assert_true(jobs[r].elapsed >= 3 * (0.015 + 50000 / 5e6));	/* at least */
		transport_destroy(t[r]);
	}
	/* Both ranks on one node: the link is left alone. */
	topo.node[1] = 0;
	t[0] = transport_emu_create(local_world_transport(w, 0), &topo, &c);
	{
		char b[8];

		assert_int_equal(transport_sendrecv(t[0], b, 8, 1, NULL, 0, -1), 0);
		assert_true(transport_emu_delayed(t[0]) == 0);
	}
	transport_destroy(t[0]);
	topology_free(&topo);
	link_emu_config_free(&c);
	local_world_free(w);
}

static void test_tournament(void **state)
{
	for (int size = 1; size <= 9; size++) {
		int seen[9][9] = { { 0 } }, partner[9];

		for (int round = 0; round < net_tournament_rounds(size); round++) {
			net_tournament_round(size, round, partner);
			for (int r = 0; r < size; r++)
				if (partner[r] >= 0) {
					assert_int_equal(partner[partner[r]], r);
					seen[r][partner[r]]++;
				}
		}
		for (int a = 0; a < size; a++)
			for (int b = 0; b < size; b++)
				assert_int_equal(seen[a][b], a != b);	/* every pair, once */
	}
}

/* ---- stragglers ---- */

/* One rebalancing point of 4 ranks, each working its share, rank 3 taking
 * 3 times as long per sample as the others. */
static void slow_rank3_point(struct balance *b, char *log, size_t loglen)
{
	double secs[4], samples[4];

	for (int r = 0; r < 4; r++) {
		samples[r] = b->share[r];
		secs[r] = (r == 3 ? 3.0 : 1.0) / 16 * samples[r];
	}
	balance_update(b, secs, samples, log, loglen);
}

static void test_balance(void **state)
{
	struct balance b;
	double secs[4] = { 1, 1, 1, 3 }, samples[4] = { 16, 16, 16, 16 };
	uint32_t total = 0, begin, count, next = 0;
	char log[512];

	assert_int_equal(balance_init(&b, 4, 64), 0);
	for (int r = 0; r < 4; r++)
		assert_int_equal(b.share[r], 16);
	/* Rank 3 takes 3x as long per sample: a third of the others' share. */
	assert_true(balance_update(&b, secs, samples, log, sizeof(log)));
	assert_int_equal(b.share[0] + b.share[1] + b.share[2] + b.share[3], 64);
	assert_true(b.share[3] >= 6 && b.share[3] <= 7);
	assert_non_null(strstr(log, "shares"));
	/* Slices of a short last batch stay disjoint and complete. */
	for (int r = 0; r < 4; r++) {
		balance_slice(b.share, 4, 64, 37, r, &begin, &count);
		assert_int_equal(begin, next);
		next += count;
		total += count;
	}
	assert_int_equal(total, 37);
	/* 3x slower is under the default threshold (4x): rebalanced, never
	 * excluded, however long it lasts. */
	balance_free(&b);
	assert_int_equal(balance_init(&b, 4, 64), 0);
	for (int i = 0; i < 10; i++) {
		slow_rank3_point(&b, log, sizeof(log));
		assert_false(balance_excluded(&b, 3));
	}
	assert_true(b.share[3] >= 6 && b.share[3] <= 7);
	/* Persistently over twice the median with --straggler-threshold 2:
	 * excluded after 3 points. */
	balance_free(&b);
	assert_int_equal(balance_init(&b, 4, 64), 0);
	b.threshold = 2;
	for (int i = 0; i < 3; i++)
		slow_rank3_point(&b, log, sizeof(log));
	assert_true(balance_excluded(&b, 3));
	assert_int_equal(b.share[3], 0);
	assert_non_null(strstr(log, "rank 3 excluded for 4 points"));
	assert_int_equal(b.share[0] + b.share[1] + b.share[2], 64);
	/* Re-admitted after its probation with the share its last speed
	 * earns, not an equal one; doubled next time.  Meanwhile the others
	 * work 16 samples at 1/16 s each, rank 3 none. */
	for (int r = 0; r < 3; r++) {
		samples[r] = 16;
		secs[r] = 1;
	}
	samples[3] = 0;
	secs[3] = 0;
	for (int i = 0; i < 4; i++)
		balance_update(&b, secs, samples, log, sizeof(log));
	assert_false(balance_excluded(&b, 3));
	assert_non_null(strstr(log, "rank 3 re-admitted"));
	assert_true(b.share[3] >= 6 && b.share[3] <= 7);
	assert_int_equal(b.next_probation[3], 8);
	/* Measured afresh: now as fast as the others, its next share is the
	 * equal one at once (the old speed is replaced, not averaged). */
	for (int r = 0; r < 4; r++) {
		samples[r] = b.share[r];
		secs[r] = 1.0 / 16 * samples[r];
	}
	balance_update(&b, secs, samples, log, sizeof(log));
	assert_int_equal(b.share[3], 16);
	balance_free(&b);
}

/* ---- adaptive synchronisation ---- */

static void test_adapt_h(void **state)
{
	struct adapt_config c;

	adapt_config_default(&c);
	assert_true(c.target == 0.8);
	assert_int_equal(adapt_choose_h(&c, 0.001, 0.010), 1);	/* fast network */
	assert_int_equal(adapt_choose_h(&c, 0.040, 0.010), 1);	/* 80 %: still synchronous */
	/* 0.1 s per synchronisation, 10 ms steps: 3 steps bring it to 80 %. */
	assert_int_equal(adapt_choose_h(&c, 0.100, 0.010), 3);
	c.target = 0.5;
	assert_int_equal(adapt_choose_h(&c, 0.100, 0.010), 10);
	/* Aiming at 10 %: 90 steps, capped at 64 ... */
	c.target = 0.1;
	assert_int_equal(adapt_choose_h(&c, 0.100, 0.010), 64);
	c.h_max = 200;
	assert_int_equal(adapt_choose_h(&c, 0.100, 0.010), 90);
	assert_int_equal(adapt_choose_h(&c, 10.0, 0.010), 200);
	assert_int_equal(adapt_choose_h(&c, 0.0, 0.010), 1);
}

static void test_outer_step(void **state)
{
	float anchor[2] = { 1, 1 }, mom[2] = { 0, 0 }, delta[2] = { 0.1f, -0.2f };

	adapt_outer_step(anchor, mom, delta, 2, 0.7f, 0.9f);
	/* v = d; anchor -= 0.7 (d + 0.9 d) */
	assert_true(fabsf(anchor[0] - (1 - 0.7f * 1.9f * 0.1f)) < 1e-6f);
	assert_true(fabsf(anchor[1] - (1 + 0.7f * 1.9f * 0.2f)) < 1e-6f);
	assert_true(fabsf(mom[1] + 0.2f) < 1e-7f);
}

static void test_topk_select(void **state)
{
	struct rng r;
	float x[1000], absval[1000];
	uint32_t out[100];

	rng_seed(&r, 4);
	for (int trial = 0; trial < 20; trial++) {
		size_t n = 1 + rng_below(&r, 1000), k = 1 + rng_below(&r, (uint32_t)n);
		float kth;
		size_t bigger = 0;

		if (k > 100)
			k = 100;
		for (size_t i = 0; i < n; i++)	/* with ties */
			x[i] = (float)((int)rng_below(&r, 50) - 25);
		topk_select(x, n, k, absval, out);
		kth = fabsf(x[out[0]]);
		for (size_t j = 0; j < k; j++) {
			if (j)
				assert_true(out[j] > out[j - 1]);	/* ascending, distinct */
			kth = fabsf(x[out[j]]) < kth ? fabsf(x[out[j]]) : kth;
		}
		/* Nothing left out is larger than what was taken. */
		for (size_t i = 0; i < n; i++)
			bigger += fabsf(x[i]) > kth;
		assert_true(bigger <= k);
		for (size_t i = 0, j = 0; i < n; i++) {
			if (j < k && out[j] == i) {
				j++;
				continue;
			}
			assert_true(fabsf(x[i]) <= kth);
		}
	}
}

struct cjob {
	struct transport *t;
	struct compressor c;
	float *buf;
	size_t n;
	int rounds;
	int rv;
};

static void *crank(void *arg)
{
	struct cjob *j = arg;

	j->rv = 0;
	for (int i = 0; i < j->rounds && !j->rv; i++)
		j->rv = compressed_allreduce(&j->c, j->t, j->buf + (size_t)i * j->n, j->n);
	return NULL;
}

static void run_compressed(enum compress_kind kind, double ratio, int size, size_t n, int rounds,
			   float **bufs)
{
	struct local_world *w = local_world_create(size);
	struct cjob jobs[8];
	pthread_t th[8];

	for (int r = 0; r < size; r++) {
		jobs[r] = (struct cjob){ .t = local_world_transport(w, r), .buf = bufs[r], .n = n,
					 .rounds = rounds };
		assert_int_equal(compressor_init(&jobs[r].c, kind, ratio, n, size), 0);
		assert_int_equal(pthread_create(&th[r], NULL, crank, &jobs[r]), 0);
	}
	for (int r = 0; r < size; r++) {
		pthread_join(th[r], NULL);
		assert_int_equal(jobs[r].rv, 0);
		compressor_free(&jobs[r].c);
	}
	local_world_free(w);
}

static void test_fp16_ring(void **state)
{
	struct rng r;

	rng_seed(&r, 8);
	for (int size = 1; size <= 5; size++) {
		size_t n = 1000 + (size_t)size;
		float *in[5], *out[5];

		for (int q = 0; q < size; q++) {
			in[q] = malloc(n * sizeof(float));
			out[q] = malloc(n * sizeof(float));
			for (size_t i = 0; i < n; i++)
				in[q][i] = rng_normal(&r);
			memcpy(out[q], in[q], n * sizeof(float));
		}
		run_compressed(COMPRESS_FP16, 0, size, n, 1, out);
		for (size_t i = 0; i < n; i++) {
			double exact = 0, mag = 0;

			for (int q = 0; q < size; q++) {
				exact += in[q][i];
				mag += fabs(in[q][i]);
			}
			/* Half precision: 2^-11 relative per rounding, one per hop. */
			assert_true(fabs(out[0][i] - exact) <= 2 * size * mag / 2048 + 1e-7);
			for (int q = 1; q < size; q++)
				assert_memory_equal(&out[q][i], &out[0][i], sizeof(float));
		}
		for (int q = 0; q < size; q++) {
			free(in[q]);
			free(out[q]);
		}
	}
}

/* Top-k with error feedback: one round sends k entries per rank; over many
 * rounds of the same input the residuals catch up, so the running total of
 * what was summed approaches rounds x the true sum. */
static void test_topk_allreduce(void **state)
{
	int size = 3, rounds = 40;
	size_t n = 200;
	float *bufs[3], truth[200] = { 0 };
	struct rng r;

	rng_seed(&r, 11);
	for (int q = 0; q < size; q++) {
		bufs[q] = malloc((size_t)rounds * n * sizeof(float));
		for (size_t i = 0; i < n; i++) {
			float v = rng_normal(&r);

			truth[i] += v;
			for (int k = 0; k < rounds; k++)
				bufs[q][(size_t)k * n + i] = v;
		}
	}
	run_compressed(COMPRESS_TOPK, 0.1, size, n, rounds, bufs);
	for (size_t i = 0; i < n; i++) {
		double got = 0;
		size_t nonzero = 0;

		for (int k = 0; k < rounds; k++)
			got += bufs[0][(size_t)k * n + i];
		for (int q = 1; q < size; q++)
			for (int k = 0; k < rounds; k++)
				assert_memory_equal(&bufs[q][(size_t)k * n + i], &bufs[0][(size_t)k * n + i],
						    sizeof(float));
		/* Within what one round's residuals can still hold back. */
		assert_true(fabs(got - rounds * (double)truth[i]) < 0.25 * rounds * fabs(truth[i]) + 3 * size);
		for (size_t j = 0; j < n; j++)
			nonzero += bufs[0][j] != 0;
		assert_true(nonzero <= (size_t)size * 20);	/* k = 20 per rank in round 1 */
	}
	for (int q = 0; q < size; q++)
		free(bufs[q]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_rule_file),
		cmocka_unit_test(test_delay_model),
		cmocka_unit_test(test_emulated_transport),
		cmocka_unit_test(test_tournament),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_adapt_h),
		cmocka_unit_test(test_outer_step),
		cmocka_unit_test(test_topk_select),
		cmocka_unit_test(test_fp16_ring),
		cmocka_unit_test(test_topk_allreduce),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
