/* Unit tests for mpi-trainer/model.c: analytic gradients against central
 * finite differences for the MLP and the CNN (small shapes, every
 * parameter), batches against single samples, initialisation from the
 * seed, and the layout of the standard networks. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"
#include "model.h"
#include "rng.h"

#define N 5

static double loss_of(struct model *m, const float *x, const uint8_t *y, int n)
{
	struct batch_result r = { 0, 0, 0 };

	model_eval_batch(m, x, y, n, &r);
	return r.loss_sum;
}

/* Every parameter's analytic gradient against (L(p+h) - L(p-h)) / 2h. */
static void gradient_check(const struct model_config *cfg, uint64_t seed)
{
	struct model m;
	struct batch_result r;
	char err[256];
	size_t in = (size_t)cfg->in_c * cfg->in_h * cfg->in_w, bad = 0;
	float *x = malloc(N * in * sizeof(float)), *g;
	uint8_t y[N];
	struct rng rng;
	double worst = 0;
	/* Small enough that max-pool choices and ReLUs rarely flip between
	 * p-h and p+h, large enough to stay above float rounding. */
	const float h = 1e-3f;

	assert_non_null(x);
	assert_int_equal(model_create(&m, cfg, N, err, sizeof(err)), 0);
	model_init_params(&m, seed);
	rng_seed(&rng, seed + 1);
	/* Non-zero biases, so that their gradients are exercised off zero. */
	for (int t = 0; t < m.lay.ntensors; t++)
		if (strstr(m.lay.tensors[t].name, "bias"))
			for (size_t i = 0; i < m.lay.tensors[t].count; i++)
				m.params[m.lay.tensors[t].offset + i] = 0.1f * rng_normal(&rng);
	for (size_t i = 0; i < N * in; i++)
		x[i] = rng_normal(&rng);
	for (int i = 0; i < N; i++)
		y[i] = (uint8_t)rng_below(&rng, (uint32_t)cfg->classes);

	model_train_batch(&m, x, y, N, &r);
	assert_int_equal(r.count, N);
	assert_true(fabs(r.loss_sum - loss_of(&m, x, y, N)) < 1e-4);
	g = malloc(m.lay.nparams * sizeof(float));
	assert_non_null(g);
	memcpy(g, m.grads, m.lay.nparams * sizeof(float));

	for (size_t i = 0; i < m.lay.nparams; i++) {
		float p = m.params[i];
		double plus, minus, num, err_abs, scale;

		m.params[i] = p + h;
		plus = loss_of(&m, x, y, N);
		m.params[i] = p - h;
		minus = loss_of(&m, x, y, N);
		m.params[i] = p;
		num = (plus - minus) / (2.0 * h);
		err_abs = fabs(num - g[i]);
		scale = fmax(fabs(num), fabs((double)g[i]));
		if (err_abs > 2e-3 + 2e-2 * scale) {
			if (bad++ < 5)
				print_message("param %zu: analytic %.6f numeric %.6f\n", i, g[i], num);
		}
		if (scale > 1e-2 && err_abs / scale > worst)
			worst = err_abs / scale;
	}
	print_message("%s %dx%dx%d: %zu parameters, worst relative error %.2e\n",
		      model_kind_name(cfg->kind), cfg->in_c, cfg->in_h, cfg->in_w,
		      m.lay.nparams, worst);
	assert_int_equal(bad, 0);
	free(g);
	free(x);
	model_free(&m);
}

static void test_gradcheck_mlp(void **state)
{
	struct model_config cfg;

	model_config_default(&cfg, MODEL_MLP, 3, 4, 4);
	cfg.hidden[0] = 7;
	cfg.hidden[1] = 5;
	gradient_check(&cfg, 11);
}

static void test_gradcheck_cnn(void **state)
{
	struct model_config cfg;

	model_config_default(&cfg, MODEL_CNN, 6, 6, 3);
	cfg.conv[0] = 3;
	cfg.conv[1] = 4;
	cfg.fc = 6;
	gradient_check(&cfg, 21);
	/* Two input channels (the input is reordered to channel-major) and
	 * odd sizes (pooling drops the last row and column). */
	model_config_default(&cfg, MODEL_CNN, 7, 5, 3);
	cfg.in_c = 2;
	cfg.conv[0] = 2;
	cfg.conv[1] = 3;
	cfg.fc = 4;
	gradient_check(&cfg, 31);
}

/* A batch's gradient is the sum of its samples' gradients. */
static void test_batch_is_sum_of_samples(void **state)
{
	struct model_config cfg;
	struct model m;
	struct batch_result r;
	struct rng rng;
	char err[256];
	float x[N * 64];
	uint8_t y[N];
	float *sum;

	model_config_default(&cfg, MODEL_CNN, 8, 8, 4);
	cfg.conv[0] = 3;
	cfg.conv[1] = 5;
	cfg.fc = 7;
	assert_int_equal(model_create(&m, &cfg, N, err, sizeof(err)), 0);
	model_init_params(&m, 5);
	rng_seed(&rng, 9);
	for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++)
		x[i] = rng_normal(&rng);
	for (int i = 0; i < N; i++)
		y[i] = (uint8_t)(i % 4);
	sum = calloc(m.lay.nparams, sizeof(float));
	assert_non_null(sum);
	for (int s = 0; s < N; s++) {
		model_train_batch(&m, x + s * 64, y + s, 1, &r);
		for (size_t i = 0; i < m.lay.nparams; i++)
			sum[i] += m.grads[i];
	}
	model_train_batch(&m, x, y, N, &r);
	for (size_t i = 0; i < m.lay.nparams; i++)
		assert_true(fabsf(sum[i] - m.grads[i]) <= 1e-4f + 1e-4f * fabsf(sum[i]));
	/* An empty batch: zero gradient, no loss. */
	model_train_batch(&m, x, y, 0, &r);
	assert_int_equal(r.count, 0);
	for (size_t i = 0; i < m.lay.nparams; i++)
		assert_true(m.grads[i] == 0.0f);
	free(sum);
	model_free(&m);
}

static void test_standard_networks(void **state)
{
	struct model_config cfg;
	struct model_layout lay;
	char err[256];

	model_config_default(&cfg, MODEL_MLP, 28, 28, 10);
	assert_int_equal(model_layout(&cfg, &lay, err, sizeof(err)), 0);
	/* 784-512-256-10 */
	assert_int_equal(lay.nparams, 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
	assert_int_equal(lay.ntensors, 6);
	assert_string_equal(lay.tensors[0].name, "fc1.weight");
	assert_int_equal(lay.tensors[0].dims[0], 512);
	assert_int_equal(lay.tensors[0].dims[1], 784);
	/* 3 * (784*512 + 512*256 + 256*10) flops per sample, less the input gradient */
	assert_true(model_train_flops(&lay) == 2.0 * (3 * 535040.0 - 784 * 512));

	model_config_default(&cfg, MODEL_CNN, 28, 28, 10);
	assert_int_equal(model_layout(&cfg, &lay, err, sizeof(err)), 0);
	/* conv 1->32, conv 32->64, fc 3136->128, fc 128->10: within 100k..500k */
	assert_int_equal(lay.nparams, (32 * 9 + 32) + (64 * 32 * 9 + 64) +
			 (3136 * 128 + 128) + (128 * 10 + 10));
	assert_true(lay.nparams >= 100000 && lay.nparams <= 500000);
	assert_string_equal(lay.tensors[2].name, "conv2.weight");
	assert_int_equal(lay.tensors[2].ndim, 4);

	cfg.classes = 1;
	assert_int_equal(model_layout(&cfg, &lay, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "1 classes"));
}

/* The same seed gives the same bits; another seed other parameters. */
static void test_init_is_seeded(void **state)
{
	struct model_config cfg;
	struct model a, b;
	char err[256];
	double sq = 0;

	model_config_default(&cfg, MODEL_MLP, 28, 28, 10);
	assert_int_equal(model_create(&a, &cfg, 1, err, sizeof(err)), 0);
	assert_int_equal(model_create(&b, &cfg, 1, err, sizeof(err)), 0);
	model_init_params(&a, 7);
	model_init_params(&b, 7);
	assert_memory_equal(a.params, b.params, a.lay.nparams * sizeof(float));
	model_init_params(&b, 8);
	assert_memory_not_equal(a.params, b.params, a.lay.nparams * sizeof(float));
	/* He initialisation: fc1 weights have variance 2 / 784. */
	for (size_t i = 0; i < 784 * 512; i++)
		sq += (double)a.params[i] * a.params[i];
	assert_true(fabs(sq / (784 * 512) - 2.0 / 784) < 0.05 * 2.0 / 784);
	model_free(&a);
	model_free(&b);
}

/* The augmentation is one of the mirror-and-shift transforms of the
 * sample, fixed by (key, sample index), and covers them all. */
static void transform(const uint8_t *src, int rows, int cols, bool flip, int dx, int dy,
		      float *out)
{
	for (int y = 0; y < rows; y++)
		for (int x = 0; x < cols; x++) {
			int sy = y - dy, sx = flip ? cols - 1 - (x - dx) : x - dx;

			out[y * cols + x] = sy >= 0 && sy < rows && sx >= 0 && sx < cols ?
					    (float)src[sy * cols + sx] : 0.0f;
		}
}

static void test_augment(void **state)
{
	uint8_t img[2 * 30];
	struct dataset ds = { .count = 2, .rows = 5, .cols = 6, .images = img };
	float lut[256], out[30], again[30], want[30];
	struct augment aug = { .on = false };
	int seen[2][3][3] = { { { 0 } } }, kinds = 0;

	for (int v = 0; v < 256; v++)
		lut[v] = (float)v;
	for (int i = 0; i < 60; i++)
		img[i] = (uint8_t)(i + 1);
	augment_sample(&ds, 1, lut, &aug, out);
	for (int i = 0; i < 30; i++)
		assert_true(out[i] == (float)(31 + i));		/* off: the sample itself */
	aug.on = true;
	aug.shift = 1;
	for (uint64_t key = 0; key < 300; key++) {
		bool found = false;

		aug.key = key;
		augment_sample(&ds, 1, lut, &aug, out);
		augment_sample(&ds, 1, lut, &aug, again);
		assert_memory_equal(out, again, sizeof(out));	/* fixed by the key */
		for (int f = 0; f < 2 && !found; f++)
			for (int dx = -1; dx <= 1 && !found; dx++)
				for (int dy = -1; dy <= 1 && !found; dy++) {
					transform(img + 30, 5, 6, f, dx, dy, want);
					if (!memcmp(out, want, sizeof(out))) {
						found = true;
						seen[f][dx + 1][dy + 1]++;
					}
				}
		assert_true(found);
	}
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++)
				kinds += seen[f][i][j] > 0;
	assert_int_equal(kinds, 18);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gradcheck_mlp),
		cmocka_unit_test(test_gradcheck_cnn),
		cmocka_unit_test(test_batch_is_sum_of_samples),
		cmocka_unit_test(test_standard_networks),
		cmocka_unit_test(test_init_is_seeded),
		cmocka_unit_test(test_augment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
