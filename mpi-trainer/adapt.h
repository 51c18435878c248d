/*
 * adapt.h - training over slow links.
 *
 * Local SGD with an outer step, as in DiLoCo: every rank takes H optimizer
 * steps on its own part of the data, then the ranks average how far they
 * moved (weighted by samples) and apply that as the gradient of an outer
 * Nesterov-momentum step from the last synchronised parameters.  H follows
 * the measured network time of a synchronisation against a step's compute:
 * 1 (synchronous training) while communication takes at most `target` of
 * the time, else as many local steps as bring it back to `target`.
 *
 * Compression of what is all-reduced: fp16 (halves on the wire, sums kept
 * in float at each hop), or top-k with error feedback (each rank sends its
 * k largest entries, the rest carries over to its next round).  Both fix
 * the order of the sums, so every rank gets the same bits.
 */
#ifndef QUORATE_TRAIN_ADAPT_H
#define QUORATE_TRAIN_ADAPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

struct adapt_config {
	double target;			/* communication fraction to aim at (0.8) */
	int h_max;			/* at most this many local steps (64) */
	float outer_lr;			/* 1.0 */
	float outer_momentum;		/* Nesterov, 0.5 */
};

void adapt_config_default(struct adapt_config *c);

/* Local steps per synchronisation for SYNC seconds of communication and
 * STEP seconds of compute per local step; 1..h_max. */
int adapt_choose_h(const struct adapt_config *c, double sync_seconds, double step_seconds);

/* v = mu v + delta; anchor -= lr (delta + mu v). */
void adapt_outer_step(float *anchor, float *momentum, const float *delta, size_t n,
		      float lr, float mu);

enum compress_kind { COMPRESS_NONE, COMPRESS_FP16, COMPRESS_TOPK };

struct compressor {
	enum compress_kind kind;
	double ratio;			/* top-k: k = ratio * n */
	size_t n, k;
	float *residual;		/* top-k error feedback */
	float *absval;			/* top-k selection scratch */
	unsigned char *blocks;		/* top-k: size blocks of k (index, value) */
	void *halves;			/* fp16 chunk scratch */
};

/* "fp16", "topk" (1 %) or "topk:RATIO" (0 < RATIO <= 0.5). */
int compress_parse(const char *s, enum compress_kind *kind, double *ratio,
		   char *err, size_t errlen);

int compressor_init(struct compressor *c, enum compress_kind kind, double ratio, size_t n,
		    int size);
void compressor_free(struct compressor *c);

/* Sum buf[0..n) (n <= the n given at init) across T's ranks through the
 * compressor; 0 or -1. */
int compressed_allreduce(struct compressor *c, struct transport *t, float *buf, size_t n);

/* Bytes this rank sends for one all-reduce of n floats (for the logs). */
size_t compressed_bytes(const struct compressor *c, size_t n, int size);

/* The ring on halves (exposed for the tests); tmp holds n / size + 1 halves
 * twice over. */
int allreduce_ring_fp16(struct transport *t, float *buf, size_t n, void *tmp);

/* Indices of the k entries of x with the largest magnitude, ascending;
 * ties go to the lower index.  absval is scratch of n floats. */
void topk_select(const float *x, size_t n, size_t k, float *absval, uint32_t *out);

#endif
