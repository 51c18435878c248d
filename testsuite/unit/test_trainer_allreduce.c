/* Unit tests for mpi-trainer/allreduce.c over the in-process transport:
 * the ring all-reduce gives every rank the same bits, equal to the
 * documented summation order, for 1..8 ranks and sizes that do not divide
 * evenly; message timing does not change a bit; buckets reduce each slice
 * in the same documented order. */
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
#include <unistd.h>
#include <cmocka.h>

#include "allreduce.h"
#include "rng.h"
#include "transport.h"

struct rank_job {
	struct transport *t;
	enum allreduce_algo algo;
	const struct topology *topo;
	struct aggregator agg;
	float *buf;
	size_t n;
	size_t bucket_bytes;
	int jitter;			/* sleep a random few microseconds per message */
	int rv;
};

/* A transport wrapper that sleeps before each exchange: random timing. */
struct jitter_transport {
	struct transport base;
	struct transport *inner;
	struct rng rng;
};

static int jitter_sendrecv(struct transport *t, const void *sbuf, size_t sbytes, int dest,
			   void *rbuf, size_t rbytes, int src)
{
	struct jitter_transport *j = (struct jitter_transport *)t;

	usleep(rng_below(&j->rng, 300));
	return transport_sendrecv(j->inner, sbuf, sbytes, dest, rbuf, rbytes, src);
}

static void jitter_destroy(struct transport *t)
{
	(void)t;
}

static const struct transport_ops jitter_ops = {
	.sendrecv = jitter_sendrecv,
	.destroy = jitter_destroy,
};

static void *rank_main(void *arg)
{
	struct rank_job *job = arg;
	struct jitter_transport jt;
	struct transport *t = job->t;

	if (job->jitter) {
		jt.base.ops = &jitter_ops;
		jt.base.rank = t->rank;
		jt.base.size = t->size;
		jt.inner = t;
		rng_seed(&jt.rng, (uint64_t)job->jitter * 100 + (uint64_t)t->rank);
		t = &jt.base;
	}
	job->rv = aggregator_init(&job->agg, t, job->topo, job->algo, job->bucket_bytes, job->n);
	if (job->rv == 0)
		job->rv = aggregator_allreduce(&job->agg, job->buf, job->n);
	aggregator_free(&job->agg);
	return NULL;
}

/* Run ALGO on SIZE threads; out[r] receives rank r's result. */
static void run_algo(enum allreduce_algo algo, const struct topology *topo, int size,
		     size_t n, float **in, float **out, size_t bucket_bytes, int jitter)
{
	struct local_world *w = local_world_create(size);
	pthread_t th[16];
	struct rank_job jobs[16];

	assert_non_null(w);
	for (int r = 0; r < size; r++) {
		memcpy(out[r], in[r], n * sizeof(float));
		jobs[r] = (struct rank_job){ .t = local_world_transport(w, r), .algo = algo,
					     .topo = topo, .buf = out[r], .n = n,
					     .bucket_bytes = bucket_bytes, .jitter = jitter };
		assert_int_equal(pthread_create(&th[r], NULL, rank_main, &jobs[r]), 0);
	}
	for (int r = 0; r < size; r++) {
		pthread_join(th[r], NULL);
		assert_int_equal(jobs[r].rv, 0);
	}
	local_world_free(w);
}

static void run_world(int size, size_t n, float **in, float **out, size_t bucket_bytes,
		      int jitter)
{
	run_algo(ALLREDUCE_RING, NULL, size, n, in, out, bucket_bytes, jitter);
}

static float **alloc_ranks(int size, size_t n)
{
	float **v = calloc((size_t)size, sizeof(*v));

	assert_non_null(v);
	for (int r = 0; r < size; r++) {
		v[r] = malloc((n ? n : 1) * sizeof(float));
		assert_non_null(v[r]);
	}
	return v;
}

static void free_ranks(float **v, int size)
{
	for (int r = 0; r < size; r++)
		free(v[r]);
	free(v);
}

/* Values with very different magnitudes, so that the order of the sum shows. */
static void fill(float **in, int size, size_t n, uint64_t seed)
{
	struct rng rng;

	rng_seed(&rng, seed);
	for (int r = 0; r < size; r++)
		for (size_t i = 0; i < n; i++)
			in[r][i] = rng_normal(&rng) * (float)(1 << rng_below(&rng, 20)) * 1e-3f;
}

static void test_ring_matches_reference(void **state)
{
	const size_t ns[] = { 0, 1, 3, 7, 8, 100, 1001, 65537 };

	for (int size = 1; size <= 8; size++)
		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
			size_t n = ns[k];
			float **in = alloc_ranks(size, n), **out = alloc_ranks(size, n);
			float vals[16];

			fill(in, size, n, (uint64_t)size * 1000 + k);
			run_world(size, n, in, out, 1 << 30, 0);
			for (size_t i = 0; i < n; i++) {
				float want;

				for (int r = 0; r < size; r++)
					vals[r] = in[r][i];
				want = allreduce_ring_reference(vals, size, n, i);
				for (int r = 0; r < size; r++)
					if (memcmp(&out[r][i], &want, sizeof(float)))
						fail_msg("size %d n %zu index %zu rank %d: %.9g, want %.9g",
							 size, n, i, r, out[r][i], want);
			}
			free_ranks(in, size);
			free_ranks(out, size);
		}
}

/* The reference order is a real constraint: another order gives other bits. */
static void test_order_matters(void **state)
{
	float v[4] = { 1e8f, 1.0f, -1e8f, 1.0f };
	float ring = allreduce_ring_reference(v, 4, 4, 0);	/* chunk 0 starts at rank 0 */
	float naive = ((v[0] + v[2]) + v[1]) + v[3];

	assert_true(ring != naive);
}

static void test_timing_does_not_matter(void **state)
{
	int size = 5;
	size_t n = 4099;
	float **in = alloc_ranks(size, n), **a = alloc_ranks(size, n), **b = alloc_ranks(size, n);

	fill(in, size, n, 77);
	run_world(size, n, in, a, 1 << 30, 0);
	for (int trial = 1; trial <= 5; trial++) {
		run_world(size, n, in, b, 1 << 30, trial);
		for (int r = 0; r < size; r++) {
			assert_memory_equal(b[r], a[r], n * sizeof(float));
			assert_memory_equal(b[r], a[0], n * sizeof(float));	/* all ranks agree */
		}
	}
	free_ranks(in, size);
	free_ranks(a, size);
	free_ranks(b, size);
}

/* Buckets of B floats: each bucket is its own ring all-reduce. */
static void test_buckets(void **state)
{
	int size = 3;
	size_t n = 10000, bucket = 1024;
	float **in = alloc_ranks(size, n), **out = alloc_ranks(size, n);
	float vals[3];

	fill(in, size, n, 5);
	run_world(size, n, in, out, bucket * sizeof(float), 0);
	for (size_t i = 0; i < n; i++) {
		size_t off = i / bucket * bucket, len = n - off < bucket ? n - off : bucket;
		float want;

		for (int r = 0; r < size; r++)
			vals[r] = in[r][i];
		want = allreduce_ring_reference(vals, size, len, i - off);
		for (int r = 0; r < size; r++)
			assert_memory_equal(&out[r][i], &want, sizeof(float));
	}
	free_ranks(in, size);
	free_ranks(out, size);
}

/* Recursive halving/doubling and hierarchical: for 1..8 ranks (powers of
 * two and not), several placements on nodes and sizes that do not divide
 * evenly, every rank gets the same bits, within rounding of the exact sum,
 * and message timing changes nothing. */
static void check_algo(enum allreduce_algo algo, const struct topology *topo, int size,
		       size_t n, uint64_t seed)
{
	float **in = alloc_ranks(size, n), **out = alloc_ranks(size, n), **again = alloc_ranks(size, n);

	fill(in, size, n, seed);
	run_algo(algo, topo, size, n, in, out, 1 << 30, 0);
	run_algo(algo, topo, size, n, in, again, 1 << 30, (int)seed % 7 + 1);
	for (size_t i = 0; i < n; i++) {
		double exact = 0, mag = 0;

		for (int r = 0; r < size; r++) {
			exact += in[r][i];
			mag += fabs(in[r][i]);
		}
		if (fabs(out[0][i] - exact) > 1e-6 * mag + 1e-30)
			fail_msg("%s size %d n %zu index %zu: %.9g, exact %.9g",
				 allreduce_algo_name(algo), size, n, i, out[0][i], exact);
		for (int r = 0; r < size; r++) {
			if (memcmp(&out[r][i], &out[0][i], sizeof(float)))
				fail_msg("%s size %d n %zu index %zu: rank %d differs from rank 0",
					 allreduce_algo_name(algo), size, n, i, r);
			if (memcmp(&again[r][i], &out[r][i], sizeof(float)))
				fail_msg("%s size %d n %zu index %zu: timing changed rank %d's bits",
					 allreduce_algo_name(algo), size, n, i, r);
		}
	}
	free_ranks(in, size);
	free_ranks(out, size);
	free_ranks(again, size);
}

static void test_rd_and_hier(void **state)
{
	struct rng rng;

	rng_seed(&rng, 99);
	for (int size = 1; size <= 8; size++)
		for (int k = 0; k < 4; k++) {
			size_t n = k == 0 ? 1 : k == 1 ? (size_t)size + 1 : 1 + rng_below(&rng, 20000);
			struct topology pairs, stripes, flat;
			const char *pn[8], *sn[8];
			char names[8][16];

			for (int r = 0; r < size; r++) {
				snprintf(names[r], sizeof(names[r]), "n%d", r / 2);
				pn[r] = names[r];
				sn[r] = r % 3 == 0 ? "a" : r % 3 == 1 ? "b" : "c";
			}
			assert_int_equal(topology_from_names(&pairs, pn, size), 0);
			assert_int_equal(topology_from_names(&stripes, sn, size), 0);
			assert_int_equal(topology_flat(&flat, size), 0);
			check_algo(ALLREDUCE_RD, NULL, size, n, 10 * size + k);
			check_algo(ALLREDUCE_HIER, &pairs, size, n, 20 * size + k);
			check_algo(ALLREDUCE_HIER, &stripes, size, n, 30 * size + k);
			check_algo(ALLREDUCE_HIER, &flat, size, n, 40 * size + k);
			topology_free(&pairs);
			topology_free(&stripes);
			topology_free(&flat);
		}
}

static void test_topology(void **state)
{
	const char *names[5] = { "n3", "n1", "n3", "n2", "n1" };
	struct topology t;

	assert_int_equal(topology_from_names(&t, names, 5), 0);
	assert_int_equal(t.nnodes, 3);
	assert_int_equal(t.node[0], 0);
	assert_int_equal(t.node[1], 1);
	assert_int_equal(t.node[2], 0);
	assert_int_equal(t.node[3], 2);
	assert_int_equal(t.node[4], 1);
	topology_free(&t);
}

static void test_algorithm_names(void **state)
{
	enum allreduce_algo a;

	assert_int_equal(allreduce_algo_parse("ring", &a), 0);
	assert_int_equal(a, ALLREDUCE_RING);
	assert_true(allreduce_algo_deterministic(a));
	assert_int_equal(allreduce_algo_parse("mpi", &a), 0);
	assert_false(allreduce_algo_deterministic(a));
	assert_int_equal(allreduce_algo_parse("rd", &a), 0);
	assert_true(allreduce_algo_deterministic(a));
	assert_int_equal(allreduce_algo_parse("hier", &a), 0);
	assert_true(allreduce_algo_deterministic(a));
	assert_int_equal(allreduce_algo_parse("auto", &a), 0);
	assert_false(allreduce_algo_deterministic(a));	/* chosen from timings */
	assert_int_equal(allreduce_algo_parse("tree", &a), -1);
	/* Chunks split n as evenly as possible. */
	assert_int_equal(allreduce_chunk_begin(10, 3, 0), 0);
	assert_int_equal(allreduce_chunk_begin(10, 3, 1), 3);
	assert_int_equal(allreduce_chunk_begin(10, 3, 2), 6);
	assert_int_equal(allreduce_chunk_begin(10, 3, 3), 10);
	assert_int_equal(allreduce_chunk_begin(2, 8, 8), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_matches_reference),
		cmocka_unit_test(test_order_matters),
		cmocka_unit_test(test_timing_does_not_matter),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_rd_and_hier),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_algorithm_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
