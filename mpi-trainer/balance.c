/*
 * balance.c - see balance.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"

int balance_init(struct balance *b, int size, uint32_t batch)
{
	memset(b, 0, sizeof(*b));
	b->size = size;
	b->batch = batch;
	b->threshold = 4.0;
	b->rounds = 3;
	b->probation = 4;
	b->sec_per_sample = calloc((size_t)size, sizeof(double));
	b->share = calloc((size_t)size, sizeof(uint32_t));
	b->slow = calloc((size_t)size, sizeof(int));
	b->excluded_until = calloc((size_t)size, sizeof(long));
	b->next_probation = calloc((size_t)size, sizeof(int));
	b->remeasure = calloc((size_t)size, sizeof(bool));
	if (!b->sec_per_sample || !b->share || !b->slow || !b->excluded_until ||
	    !b->next_probation || !b->remeasure) {
		balance_free(b);
		return -1;
	}
	for (int r = 0; r < size; r++) {
		b->share[r] = batch / (uint32_t)size + ((uint32_t)r < batch % (uint32_t)size);
		b->next_probation[r] = b->probation;
	}
	return 0;
}

void balance_free(struct balance *b)
{
	free(b->sec_per_sample);
	free(b->share);
	free(b->slow);
	free(b->excluded_until);
	free(b->next_probation);
	free(b->remeasure);
	memset(b, 0, sizeof(*b));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void appendf(char *log, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void appendf(char *log, size_t len, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!log)
		return;
	used = strlen(log);
	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(log + used, len - used, fmt, ap);
	va_end(ap);
}

bool balance_update(struct balance *b, const double *compute_s, const double *samples,
		    char *log, size_t loglen)
{
	int size = b->size, active = 0;
	double *sorted = malloc((size_t)size * sizeof(double)), median, total_speed = 0;
	uint32_t *old = malloc((size_t)size * sizeof(uint32_t)), given = 0;
	double *want = malloc((size_t)size * sizeof(double));
	bool changed = false;

	if (log && loglen)
		log[0] = '\0';
	if (!sorted || !old || !want) {
		free(sorted);
		free(old);
		free(want);
		return false;
	}
	memcpy(old, b->share, (size_t)size * sizeof(uint32_t));
	b->point++;
	/* Smoothed seconds per sample of the ranks that worked; the first
	 * measurement after a re-admission replaces the old one. */
	for (int r = 0; r < size; r++)
		if (samples[r] > 0) {
			double now = compute_s[r] / samples[r];

			b->sec_per_sample[r] = b->sec_per_sample[r] > 0 && !b->remeasure[r] ?
				0.5 * b->sec_per_sample[r] + 0.5 * now : now;
			b->remeasure[r] = false;
		}
	/* Re-admissions: back with the share its last measured speed earns
	 * (an equal share would make everyone wait for it again), measured
	 * afresh from the next point. */
	for (int r = 0; r < size; r++)
		if (b->excluded_until[r] && b->point >= b->excluded_until[r]) {
			b->excluded_until[r] = 0;
			b->slow[r] = 0;
			b->remeasure[r] = true;
			appendf(log, loglen, "rank %d re-admitted after probation; ", r);
		}
	for (int r = 0; r < size; r++)
		if (!b->excluded_until[r] && b->sec_per_sample[r] > 0)
			sorted[active++] = b->sec_per_sample[r];
	if (active == 0)
		goto out;
	qsort(sorted, (size_t)active, sizeof(double), cmp_double);
	median = active % 2 ? sorted[active / 2] : 0.5 * (sorted[active / 2 - 1] + sorted[active / 2]);
	/* Exclusions: persistently slower than threshold x the median of the
	 * other active ranks; never the last active rank. */
	for (int r = 0; r < size; r++) {
		int others = 0;
		double others_median;

		if (b->excluded_until[r] || b->sec_per_sample[r] <= 0)
			continue;
		for (int q = 0; q < size; q++)
			if (q != r && !b->excluded_until[q] && b->sec_per_sample[q] > 0)
				sorted[others++] = b->sec_per_sample[q];
		if (others == 0)
			continue;
		qsort(sorted, (size_t)others, sizeof(double), cmp_double);
		others_median = others % 2 ? sorted[others / 2] :
				0.5 * (sorted[others / 2 - 1] + sorted[others / 2]);
		if (b->sec_per_sample[r] > b->threshold * others_median) {
			b->slow[r]++;
			if (b->slow[r] >= b->rounds && active > 1) {
				b->excluded_until[r] = b->point + b->next_probation[r];
				appendf(log, loglen, "rank %d excluded for %d points (%.3g ms/sample, "
					"others' median %.3g, %d slow points); ", r, b->next_probation[r],
					b->sec_per_sample[r] * 1e3, others_median * 1e3, b->slow[r]);
				b->next_probation[r] *= 2;
				active--;
			}
		} else {
			b->slow[r] = 0;
		}
	}
	/* The median of the active ranks, for those not measured yet. */
	active = 0;
	for (int r = 0; r < size; r++)
		if (!b->excluded_until[r] && b->sec_per_sample[r] > 0)
			sorted[active++] = b->sec_per_sample[r];
	if (active == 0)
		goto out;
	qsort(sorted, (size_t)active, sizeof(double), cmp_double);
	median = active % 2 ? sorted[active / 2] : 0.5 * (sorted[active / 2 - 1] + sorted[active / 2]);
	/* Shares by speed; ranks not measured yet count at the median. */
	for (int r = 0; r < size; r++) {
		want[r] = 0;
		if (b->excluded_until[r])
			continue;
		want[r] = 1.0 / (b->sec_per_sample[r] > 0 ? b->sec_per_sample[r] : median);
		total_speed += want[r];
	}
	for (int r = 0; r < size; r++) {
		want[r] = want[r] > 0 ? want[r] / total_speed * b->batch : 0;
		b->share[r] = want[r] > 0 ? (uint32_t)want[r] : 0;
		if (want[r] > 0 && b->share[r] == 0)
			b->share[r] = 1;
		given += b->share[r];
	}
	/* Largest remainders take what is left (or give back what is over). */
	while (given != b->batch) {
		int pick = -1;
		double best = 0;

		for (int r = 0; r < size; r++) {
			double rem;

			if (b->excluded_until[r])
				continue;
			rem = want[r] - (double)b->share[r];
			if (given < b->batch ? (pick < 0 || rem > best) :
			    (b->share[r] > 1 && (pick < 0 || rem < best))) {
				pick = r;
				best = rem;
			}
		}
		if (pick < 0)
			break;
		if (given < b->batch) {
			b->share[pick]++;
			given++;
		} else {
			b->share[pick]--;
			given--;
		}
	}
out:
	changed = memcmp(old, b->share, (size_t)size * sizeof(uint32_t)) != 0;
	if (changed) {
		appendf(log, loglen, "shares");
		for (int r = 0; r < size; r++)
			appendf(log, loglen, " %u", b->share[r]);
		appendf(log, loglen, " (ms/sample");
		for (int r = 0; r < size; r++)
			appendf(log, loglen, " %.3g", b->sec_per_sample[r] * 1e3);
		appendf(log, loglen, ")");
	}
	free(sorted);
	free(old);
	free(want);
	return changed;
}

void balance_slice(const uint32_t *share, int size, uint32_t batch, uint32_t n, int rank,
		   uint32_t *begin, uint32_t *count)
{
	uint64_t before = 0, upto;

	for (int r = 0; r < rank; r++)
		before += share[r];
	upto = before + share[rank];
	/* Scale the cumulative shares to n: floor keeps the parts contiguous. */
	*begin = (uint32_t)(before * n / batch);
	*count = (uint32_t)(upto * n / batch) - *begin;
	(void)size;
}
