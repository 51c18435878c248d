/*
 * allreduce.h - gradient aggregation: sum a flat float buffer across the
 * ranks of a transport, in buckets (slices of the fused gradient tensors),
 * with a chosen algorithm.
 *
 * Deterministic algorithms fix the order in which every element's
 * contributions are added, whatever the timing of the messages, and give
 * every rank the same bits; MPI_Allreduce's order is unspecified, so "mpi"
 * is offered only when determinism is not asked for.
 */
#ifndef QUORATE_TRAIN_ALLREDUCE_H
#define QUORATE_TRAIN_ALLREDUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

enum allreduce_algo {
	ALLREDUCE_RING,		/* reduce-scatter + all-gather around a ring */
	ALLREDUCE_MPI,		/* the transport's native all-reduce */
};

#define ALLREDUCE_DEFAULT_BUCKET_BYTES (4u << 20)

int allreduce_algo_parse(const char *s, enum allreduce_algo *algo);
const char *allreduce_algo_name(enum allreduce_algo algo);
bool allreduce_algo_deterministic(enum allreduce_algo algo);

/* Chunk i of a buffer of n floats split SIZE ways: [begin, end). */
size_t allreduce_chunk_begin(size_t n, int size, int i);

/* Ring all-reduce of buf[0..n) in place.  Chunk c is summed in the order
 * x[c] + x[c+1] + ... + x[c+size-1] (ranks modulo size, each addition
 * applied to the running sum).  tmp holds n / size + 1 floats. */
int allreduce_ring(struct transport *t, float *buf, size_t n, float *tmp);

/* What the ring computes, for one element, from every rank's value:
 * the reference the unit tests compare against. */
float allreduce_ring_reference(const float *values, int size, size_t n, size_t index);

struct aggregator {
	struct transport *t;
	enum allreduce_algo algo;
	size_t bucket_elems;
	float *tmp;
	/* accounting */
	double comm_seconds;
	uint64_t bytes;			/* payload summed, per rank */
	uint64_t calls;
};

/* A gradient aggregator over T for buffers of up to MAX_ELEMS floats. */
int aggregator_init(struct aggregator *a, struct transport *t, enum allreduce_algo algo,
		    size_t bucket_bytes, size_t max_elems);
/* Sum buf[0..n) across the ranks, bucket by bucket; 0 or -1. */
int aggregator_allreduce(struct aggregator *a, float *buf, size_t n);
void aggregator_free(struct aggregator *a);

#endif
