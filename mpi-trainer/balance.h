/*
 * balance.h - stragglers: how much of each global batch each rank takes.
 *
 * At every rebalancing point the ranks exchange their compute seconds and
 * samples since the last one; from these identical numbers every rank
 * computes the same new shares, proportional to each rank's speed (samples
 * per compute second, smoothed), summing to the global batch.  A rank
 * slower than `threshold` times the median of the other ranks for `rounds`
 * points in a row is excluded: it gets no samples and its (empty) gradient
 * is left out; it still receives every sum, so its parameters stay
 * current.  After `probation` points it is re-admitted with the share its
 * last measured speed earns, and measured afresh; excluded again, its
 * probation doubles.  Pure functions.
 */
#ifndef QUORATE_TRAIN_BALANCE_H
#define QUORATE_TRAIN_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct balance {
	int size;
	uint32_t batch;			/* global */
	double threshold;		/* x median seconds per sample (default 4) */
	int rounds;			/* slow points before exclusion (default 3) */
	int probation;			/* points excluded at first (default 4) */
	/* state, the same on every rank */
	long point;			/* rebalancing points so far */
	double *sec_per_sample;		/* smoothed; 0: not measured yet */
	uint32_t *share;		/* samples of a full global batch */
	int *slow;			/* consecutive slow points */
	long *excluded_until;		/* point of re-admission; 0: active */
	int *next_probation;
	bool *remeasure;		/* re-admitted: the next measurement replaces */
};

int balance_init(struct balance *b, int size, uint32_t batch);
void balance_free(struct balance *b);

/* One rebalancing point from every rank's compute seconds and samples
 * since the last.  log (may be NULL) receives what changed and why, one
 * clause per change; returns whether the shares changed. */
bool balance_update(struct balance *b, const double *compute_s, const double *samples,
		    char *log, size_t loglen);

static inline bool balance_excluded(const struct balance *b, int rank)
{
	return b->excluded_until[rank] != 0;
}

/* Shares for a global batch of n <= batch samples: rank r takes
 * [begin, begin + count) of it.  Contiguous in rank order, disjoint, and
 * covering all n. */
void balance_slice(const uint32_t *share, int size, uint32_t batch, uint32_t n, int rank,
		   uint32_t *begin, uint32_t *count);

#endif
