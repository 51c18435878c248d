/*
 * adapt.c - see adapt.h.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt.h"
#include "allreduce.h"

void adapt_config_default(struct adapt_config *c)
{
	/* Local SGD needs more samples for the same accuracy: stay synchronous
	 * until the network would take more than 80 % of the time. */
	c->target = 0.8;
	c->h_max = 64;
	/* DiLoCo's 0.7 and 0.9 suit rounds of hundreds of steps; with the few
	 * to 64 local steps here, 1.0 and 0.5 trained better (README). */
	c->outer_lr = 1.0f;
	c->outer_momentum = 0.5f;
}

int adapt_choose_h(const struct adapt_config *c, double sync_seconds, double step_seconds)
{
	double h;

	if (step_seconds <= 0)
		return c->h_max;
	/* sync / (sync + h * step) = target  =>  h = sync (1 - target) / (target step) */
	h = ceil(sync_seconds * (1 - c->target) / (c->target * step_seconds) - 1e-9);
	if (!(h >= 1))
		return 1;
	return h > c->h_max ? c->h_max : (int)h;
}

void adapt_outer_step(float *anchor, float *momentum, const float *delta, size_t n,
		      float lr, float mu)
{
	for (size_t i = 0; i < n; i++) {
		momentum[i] = mu * momentum[i] + delta[i];
		anchor[i] -= lr * (delta[i] + mu * momentum[i]);
	}
}

int compress_parse(const char *s, enum compress_kind *kind, double *ratio,
		   char *err, size_t errlen)
{
	char *end;

	*ratio = 0.01;
	if (!strcmp(s, "none")) {
		*kind = COMPRESS_NONE;
	} else if (!strcmp(s, "fp16")) {
		*kind = COMPRESS_FP16;
	} else if (!strcmp(s, "topk")) {
		*kind = COMPRESS_TOPK;
	} else if (!strncmp(s, "topk:", 5)) {
		*kind = COMPRESS_TOPK;
		*ratio = strtod(s + 5, &end);
		if (end == s + 5 || *end || !(*ratio > 0 && *ratio <= 0.5)) {
			snprintf(err, errlen, "--compress: '%s': the top-k ratio is a number in "
				 "(0, 0.5]", s);
			return -1;
		}
	} else {
		snprintf(err, errlen, "--compress: '%s' is not a compression (allowed: none, "
			 "fp16, topk, topk:RATIO)", s);
		return -1;
	}
	return 0;
}

int compressor_init(struct compressor *c, enum compress_kind kind, double ratio, size_t n,
		    int size)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->ratio = ratio;
	c->n = n;
	if (kind == COMPRESS_FP16) {
		c->halves = malloc(2 * (n / (size_t)size + 1) * sizeof(_Float16));
		return c->halves ? 0 : -1;
	}
	if (kind == COMPRESS_TOPK) {
		c->k = (size_t)(ratio * (double)n);
		if (c->k < 1)
			c->k = 1;
		c->residual = calloc(n, sizeof(float));
		c->absval = malloc(n * sizeof(float));
		c->blocks = malloc((size_t)size * c->k * 8);
		return c->residual && c->absval && c->blocks ? 0 : -1;
	}
	return 0;
}

void compressor_free(struct compressor *c)
{
	free(c->residual);
	free(c->absval);
	free(c->blocks);
	free(c->halves);
	memset(c, 0, sizeof(*c));
}

size_t compressed_bytes(const struct compressor *c, size_t n, int size)
{
	switch (c->kind) {
	case COMPRESS_FP16:
		return 2 * (size_t)(size - 1) * (n / (size_t)size) * sizeof(_Float16);
	case COMPRESS_TOPK:
		return (size_t)(size - 1) * c->k * 8;
	default:
		return 2 * (size_t)(size - 1) * (n / (size_t)size) * sizeof(float);
	}
}

static int mod(int a, int m)
{
	return ((a % m) + m) % m;
}

/* float <-> IEEE half, rounding to nearest even either way: with the F16C
 * instructions where the CPU has them (the default x86-64 target does not
 * assume them), else the compiler's conversion.  Same bits both ways. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx,f16c")))
static void to_half_f16c(const float *in, _Float16 *out, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(void *)(out + i),
				 _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		out[i] = (_Float16)in[i];
}

__attribute__((target("avx,f16c")))
static void add_half_f16c(float *acc, const _Float16 *in, size_t n, bool assign)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(in + i)));

		_mm256_storeu_ps(acc + i, assign ? v : _mm256_add_ps(_mm256_loadu_ps(acc + i), v));
	}
	for (; i < n; i++)
		acc[i] = assign ? (float)in[i] : acc[i] + (float)in[i];
}

static bool have_f16c(void)
{
	static int known = -1;

	if (known < 0)
		known = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
	return known;
}
#else
static bool have_f16c(void)
{
	return false;
}

static void to_half_f16c(const float *in, _Float16 *out, size_t n)
{
	(void)in; (void)out; (void)n;
}

static void add_half_f16c(float *acc, const _Float16 *in, size_t n, bool assign)
{
	(void)acc; (void)in; (void)n; (void)assign;
}
#endif

static void to_half(const float *in, _Float16 *out, size_t n)
{
	if (have_f16c()) {
		to_half_f16c(in, out, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (_Float16)in[i];
}

/* acc += in (or acc = in when ASSIGN). */
static void from_half(float *acc, const _Float16 *in, size_t n, bool assign)
{
	if (have_f16c()) {
		add_half_f16c(acc, in, n, assign);
		return;
	}
	for (size_t i = 0; i < n; i++)
		acc[i] = assign ? (float)in[i] : acc[i] + (float)in[i];
}

int allreduce_ring_fp16(struct transport *t, float *buf, size_t n, void *tmp)
{
	int size = t->size, rank = t->rank;
	int right = (rank + 1) % size, left = mod(rank - 1, size);
	_Float16 *out = tmp, *in = out + (n / (size_t)size + 1);

	if (size == 1 || n == 0)
		return 0;
	/* Reduce-scatter as in allreduce_ring(), with halves on the wire. */
	for (int k = 0; k < size - 1; k++) {
		int sc = mod(rank - k, size), rc = mod(rank - k - 1, size);
		size_t sb = allreduce_chunk_begin(n, size, sc), se = allreduce_chunk_begin(n, size, sc + 1);
		size_t rb = allreduce_chunk_begin(n, size, rc), re = allreduce_chunk_begin(n, size, rc + 1);

		to_half(buf + sb, out, se - sb);
		if (transport_sendrecv(t, out, (se - sb) * sizeof(_Float16), right,
				       in, (re - rb) * sizeof(_Float16), left))
			return -1;
		from_half(buf + rb, in, re - rb, false);
	}
	/* Round the owned chunk to half, so every rank ends with the same bits. */
	{
		int own = mod(rank + 1, size);
		size_t ob = allreduce_chunk_begin(n, size, own), oe = allreduce_chunk_begin(n, size, own + 1);

		to_half(buf + ob, out, oe - ob);
		from_half(buf + ob, out, oe - ob, true);
	}
	for (int k = 0; k < size - 1; k++) {
		int sc = mod(rank + 1 - k, size), rc = mod(rank - k, size);
		size_t sb = allreduce_chunk_begin(n, size, sc), se = allreduce_chunk_begin(n, size, sc + 1);
		size_t rb = allreduce_chunk_begin(n, size, rc), re = allreduce_chunk_begin(n, size, rc + 1);

		to_half(buf + sb, out, se - sb);
		if (transport_sendrecv(t, out, (se - sb) * sizeof(_Float16), right,
				       in, (re - rb) * sizeof(_Float16), left))
			return -1;
		from_half(buf + rb, in, re - rb, true);
	}
	return 0;
}

/* k-th largest of a[0..n) (0-based), reordering a: quickselect with a
 * median-of-three pivot, so the result depends only on the input. */
static float kth_largest(float *a, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
		float x = a[lo], y = a[mid], z = a[hi];
		float pivot = x > y ? (y > z ? y : (x > z ? z : x)) : (x > z ? x : (y > z ? z : y));

		while (i <= j) {
			while (a[i] > pivot)
				i++;
			while (a[j] < pivot)
				j--;
			if (i <= j) {
				float tmp = a[i];

				a[i] = a[j];
				a[j] = tmp;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return a[k];
	}
	return a[k];
}

void topk_select(const float *x, size_t n, size_t k, float *absval, uint32_t *out)
{
	float thr;
	size_t above = 0, got = 0;

	if (k >= n) {
		for (size_t i = 0; i < n; i++)
			out[i] = (uint32_t)i;
		return;
	}
	for (size_t i = 0; i < n; i++)
		absval[i] = fabsf(x[i]);
	thr = kth_largest(absval, n, k - 1);
	for (size_t i = 0; i < n; i++)
		above += fabsf(x[i]) > thr;
	/* Everything above the threshold, then ties by index until k. */
	for (size_t i = 0; i < n && got < k; i++) {
		float a = fabsf(x[i]);

		if (a > thr || (a == thr && above < k)) {
			out[got++] = (uint32_t)i;
			if (a == thr)
				above++;
		}
	}
}

static int topk_allreduce(struct compressor *c, struct transport *t, float *buf, size_t n)
{
	int size = t->size, rank = t->rank;
	int right = (rank + 1) % size, left = mod(rank - 1, size);
	size_t k = c->k < n ? c->k : n, block = k * 8;
	unsigned char *mine = c->blocks + (size_t)rank * block;
	uint32_t *sel = malloc(k * sizeof(uint32_t));

	if (!sel)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] += c->residual[i];
	topk_select(buf, n, k, c->absval, sel);
	for (size_t j = 0; j < k; j++) {
		uint32_t i = sel[j];
		float v = buf[i];

		memcpy(mine + 8 * j, &i, 4);
		memcpy(mine + 8 * j + 4, &v, 4);
	}
	/* What is not sent now is sent later: error feedback. */
	memcpy(c->residual, buf, n * sizeof(float));
	for (size_t j = 0; j < k; j++)
		c->residual[sel[j]] = 0;
	free(sel);
	/* All-gather the blocks around the ring. */
	for (int s = 0; s < size - 1; s++) {
		int sb = mod(rank - s, size), rb = mod(rank - s - 1, size);

		if (transport_sendrecv(t, c->blocks + (size_t)sb * block, block, right,
				       c->blocks + (size_t)rb * block, block, left))
			return -1;
	}
	memset(buf, 0, n * sizeof(float));
	for (int r = 0; r < size; r++)
		for (size_t j = 0; j < k; j++) {
			uint32_t i;
			float v;

			memcpy(&i, c->blocks + (size_t)r * block + 8 * j, 4);
			memcpy(&v, c->blocks + (size_t)r * block + 8 * j + 4, 4);
			if (i < n)
				buf[i] += v;
		}
	return 0;
}

int compressed_allreduce(struct compressor *c, struct transport *t, float *buf, size_t n)
{
	if (n > c->n)
		return -1;
	switch (c->kind) {
	case COMPRESS_FP16:
		return allreduce_ring_fp16(t, buf, n, c->halves);
	case COMPRESS_TOPK:
		if (t->size == 1)
			return 0;
		return topk_allreduce(c, t, buf, n);
	default:
		return -1;
	}
}
