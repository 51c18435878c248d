/*
 * allreduce.c - see allreduce.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allreduce.h"

int allreduce_algo_parse(const char *s, enum allreduce_algo *algo)
{
	if (!strcmp(s, "ring"))
		*algo = ALLREDUCE_RING;
	else if (!strcmp(s, "mpi"))
		*algo = ALLREDUCE_MPI;
	else
		return -1;
	return 0;
}

const char *allreduce_algo_name(enum allreduce_algo algo)
{
	return algo == ALLREDUCE_MPI ? "mpi" : "ring";
}

bool allreduce_algo_deterministic(enum allreduce_algo algo)
{
	return algo != ALLREDUCE_MPI;
}

size_t allreduce_chunk_begin(size_t n, int size, int i)
{
	size_t q = n / (size_t)size, r = n % (size_t)size;

	/* floor(n * i / size) without overflow */
	return q * (size_t)i + r * (size_t)i / (size_t)size;
}

static int mod(int a, int m)
{
	return ((a % m) + m) % m;
}

int allreduce_ring(struct transport *t, float *buf, size_t n, float *tmp)
{
	int size = t->size, rank = t->rank;
	int right = (rank + 1) % size, left = mod(rank - 1, size);

	if (size == 1 || n == 0)
		return 0;
	/* Reduce-scatter: after size-1 steps rank r holds the sum of chunk r+1. */
	for (int k = 0; k < size - 1; k++) {
		int sc = mod(rank - k, size), rc = mod(rank - k - 1, size);
		size_t sb = allreduce_chunk_begin(n, size, sc), se = allreduce_chunk_begin(n, size, sc + 1);
		size_t rb = allreduce_chunk_begin(n, size, rc), re = allreduce_chunk_begin(n, size, rc + 1);

		if (transport_sendrecv(t, buf + sb, (se - sb) * sizeof(float), right,
				       tmp, (re - rb) * sizeof(float), left))
			return -1;
		for (size_t i = 0; i < re - rb; i++)
			buf[rb + i] += tmp[i];
	}
	/* All-gather: pass the summed chunks around once more. */
	for (int k = 0; k < size - 1; k++) {
		int sc = mod(rank + 1 - k, size), rc = mod(rank - k, size);
		size_t sb = allreduce_chunk_begin(n, size, sc), se = allreduce_chunk_begin(n, size, sc + 1);
		size_t rb = allreduce_chunk_begin(n, size, rc), re = allreduce_chunk_begin(n, size, rc + 1);

		if (transport_sendrecv(t, buf + sb, (se - sb) * sizeof(float), right,
				       buf + rb, (re - rb) * sizeof(float), left))
			return -1;
	}
	return 0;
}

float allreduce_ring_reference(const float *values, int size, size_t n, size_t index)
{
	int c = 0;
	float s;

	while (c + 1 < size && allreduce_chunk_begin(n, size, c + 1) <= index)
		c++;
	s = values[c];
	for (int j = 1; j < size; j++)
		s = values[(c + j) % size] + s;
	return s;
}

int aggregator_init(struct aggregator *a, struct transport *t, enum allreduce_algo algo,
		    size_t bucket_bytes, size_t max_elems)
{
	memset(a, 0, sizeof(*a));
	a->t = t;
	a->algo = algo;
	a->bucket_elems = bucket_bytes / sizeof(float);
	if (a->bucket_elems == 0)
		a->bucket_elems = 1;
	if (a->bucket_elems > max_elems)
		a->bucket_elems = max_elems ? max_elems : 1;
	if (algo == ALLREDUCE_MPI && !t->ops->allreduce_native)
		return -1;
	a->tmp = malloc((a->bucket_elems / (size_t)t->size + 1) * sizeof(float));
	return a->tmp ? 0 : -1;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int aggregator_allreduce(struct aggregator *a, float *buf, size_t n)
{
	double t0 = now_seconds();
	int rv = 0;

	for (size_t off = 0; off < n && rv == 0; off += a->bucket_elems) {
		size_t len = n - off < a->bucket_elems ? n - off : a->bucket_elems;

		if (a->algo == ALLREDUCE_MPI)
			rv = a->t->ops->allreduce_native(a->t, buf + off, len);
		else
			rv = allreduce_ring(a->t, buf + off, len, a->tmp);
	}
	a->comm_seconds += now_seconds() - t0;
	a->bytes += n * sizeof(float);
	a->calls++;
	return rv;
}

void aggregator_free(struct aggregator *a)
{
	free(a->tmp);
	a->tmp = NULL;
}
