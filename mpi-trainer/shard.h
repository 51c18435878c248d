/*
 * shard.h - which samples each rank trains on.
 *
 * Every epoch all ranks draw the same permutation of the training set from
 * the shared generator.  Step s takes the global batch perm[s*B, s*B+B) (the
 * last one shorter) and splits it into `size` contiguous parts, the first
 * (count % size) of them one sample longer.  So each epoch the ranks' shards
 * are disjoint and together cover the data exactly once, and W ranks see
 * the same global batches as one rank would: only the order of the gradient
 * sum differs.
 */
#ifndef QUORATE_TRAIN_SHARD_H
#define QUORATE_TRAIN_SHARD_H

#include <stdint.h>

#include "rng.h"

struct shard_slice {
	uint32_t begin;		/* index into the epoch's permutation */
	uint32_t count;
};

/* Fisher-Yates permutation of 0..n-1. */
void shard_permutation(struct rng *r, uint32_t *perm, uint32_t n);

/* Optimizer steps per epoch: ceil(n / batch). */
uint32_t shard_steps(uint32_t n, uint32_t batch);

/* The global batch of STEP (its range in the permutation). */
struct shard_slice shard_global(uint32_t n, uint32_t batch, uint32_t step);

/* The part of STEP's global batch that RANK of SIZE takes (may be empty). */
struct shard_slice shard_slice(uint32_t n, uint32_t batch, uint32_t step,
			       int rank, int size);

/* SHA-256 of the sample indices RANK takes over a whole epoch, in order
 * (little-endian uint32), and how many there are.  0, or -1 out of memory. */
int shard_checksum(const uint32_t *perm, uint32_t n, uint32_t batch,
		   int rank, int size, uint8_t out[32], uint32_t *count);

#endif
