/*
 * backend_cpu.c - the CPU compute backend: model.c's passes and optim.c's
 * updates on host memory, with OpenBLAS doing the matrix products.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "rng.h"

struct cpu_backend {
	struct backend base;
	struct model model;
	float *opt_m, *opt_v;		/* optimizer state, nparams each */
	float *x;			/* max_batch normalised samples */
	uint8_t *y;
	float lut[256];			/* byte -> normalised pixel */
};

struct input_norm input_norm_of(const struct dataset *ds)
{
	uint64_t hist[256] = { 0 };
	size_t total = (size_t)ds->count * ds->rows * ds->cols;
	double n = (double)total, sum = 0, sq = 0, mean, var;
	struct input_norm norm = { 0.0f, 1.0f };

	if (!total)
		return norm;
	for (size_t i = 0; i < total; i++)
		hist[ds->images[i]]++;
	for (int v = 0; v < 256; v++) {
		double x = v / 255.0;

		sum += (double)hist[v] * x;
		sq += (double)hist[v] * x * x;
	}
	mean = sum / n;
	var = sq / n - mean * mean;
	norm.mean = (float)mean;
	norm.std = var > 1e-12 ? (float)sqrt(var) : 1.0f;
	return norm;
}

static struct cpu_backend *cpu(struct backend *b)
{
	return (struct cpu_backend *)b;
}

void augment_sample(const struct dataset *ds, uint32_t s, const float lut[256],
		    const struct augment *aug, float *dst)
{
	int rows = (int)ds->rows, cols = (int)ds->cols, span, dx = 0, dy = 0;
	const uint8_t *src = ds->images + (size_t)s * rows * cols;
	uint64_t h;
	bool flip;

	if (!aug || !aug->on) {
		for (int p = 0; p < rows * cols; p++)
			dst[p] = lut[src[p]];
		return;
	}
	h = rng_mix(aug->key, s);
	flip = h & 1;
	span = 2 * aug->shift + 1;
	dx = (int)((h >> 8) % (uint64_t)span) - aug->shift;
	dy = (int)((h >> 24) % (uint64_t)span) - aug->shift;
	for (int y = 0; y < rows; y++) {
		int sy = y - dy;

		for (int x = 0; x < cols; x++) {
			int sx = flip ? cols - 1 - (x - dx) : x - dx;

			dst[y * cols + x] = sy >= 0 && sy < rows && sx >= 0 && sx < cols ?
					    lut[src[sy * cols + sx]] : lut[0];
		}
	}
}

/* Gather samples into the normalised input batch. */
static void load_samples(struct cpu_backend *c, const struct dataset *ds,
			 const uint32_t *idx, uint32_t first, int n, const struct augment *aug)
{
	size_t pixels = (size_t)ds->rows * ds->cols;

	for (int i = 0; i < n; i++) {
		uint32_t s = idx ? idx[i] : first + (uint32_t)i;

		augment_sample(ds, s, c->lut, aug, c->x + (size_t)i * pixels);
		c->y[i] = ds->labels[s];
	}
}

static int cpu_train_batch(struct backend *b, const struct dataset *ds,
			   const uint32_t *idx, int n, const struct augment *aug,
			   struct batch_result *r)
{
	struct cpu_backend *c = cpu(b);

	if (n > b->max_batch)
		return -1;
	load_samples(c, ds, idx, 0, n, aug);
	model_train_batch(&c->model, c->x, c->y, n, r);
	return 0;
}

static int cpu_eval_range(struct backend *b, const struct dataset *ds, uint32_t first,
			  uint32_t n, struct batch_result *r)
{
	struct cpu_backend *c = cpu(b);

	for (uint32_t done = 0; done < n;) {
		int chunk = n - done < (uint32_t)b->max_batch ? (int)(n - done) : b->max_batch;

		load_samples(c, ds, NULL, first + done, chunk, NULL);
		model_eval_batch(&c->model, c->x, c->y, chunk, r);
		done += (uint32_t)chunk;
	}
	return 0;
}

static float *cpu_grad_buffer(struct backend *b)
{
	return cpu(b)->model.grads;
}

static int cpu_get_grads(struct backend *b, size_t offset, size_t n, float *host)
{
	memcpy(host, cpu(b)->model.grads + offset, n * sizeof(float));
	return 0;
}

static int cpu_set_grads(struct backend *b, size_t offset, size_t n, const float *host)
{
	memcpy(cpu(b)->model.grads + offset, host, n * sizeof(float));
	return 0;
}

static int cpu_zero_grads(struct backend *b)
{
	memset(cpu(b)->model.grads, 0, b->layout.nparams * sizeof(float));
	return 0;
}

static int cpu_scale_grads(struct backend *b, float s)
{
	float *g = cpu(b)->model.grads;

	for (size_t i = 0; i < b->layout.nparams; i++)
		g[i] *= s;
	return 0;
}

static int cpu_grad_sumsq(struct backend *b, double *sumsq)
{
	*sumsq = grad_sumsq(cpu(b)->model.grads, b->layout.nparams);
	return 0;
}

static int cpu_apply_update(struct backend *b, float scale, float lr, long step)
{
	struct cpu_backend *c = cpu(b);

	optim_update(&b->optim, c->model.params, c->model.grads, c->opt_m, c->opt_v,
		     b->layout.nparams, scale, lr, step);
	return 0;
}

static int cpu_read_params(struct backend *b, float *host)
{
	memcpy(host, cpu(b)->model.params, b->layout.nparams * sizeof(float));
	return 0;
}

static int cpu_write_params(struct backend *b, const float *host)
{
	memcpy(cpu(b)->model.params, host, b->layout.nparams * sizeof(float));
	return 0;
}

static int cpu_read_optim(struct backend *b, float *m, float *v)
{
	struct cpu_backend *c = cpu(b);

	memcpy(m, c->opt_m, b->layout.nparams * sizeof(float));
	if (c->opt_v && v)
		memcpy(v, c->opt_v, b->layout.nparams * sizeof(float));
	return 0;
}

static int cpu_write_optim(struct backend *b, const float *m, const float *v)
{
	struct cpu_backend *c = cpu(b);

	memcpy(c->opt_m, m, b->layout.nparams * sizeof(float));
	if (c->opt_v && v)
		memcpy(c->opt_v, v, b->layout.nparams * sizeof(float));
	return 0;
}

static void cpu_destroy(struct backend *b)
{
	struct cpu_backend *c = cpu(b);

	model_free(&c->model);
	free(c->opt_m);
	free(c->opt_v);
	free(c->x);
	free(c->y);
	free(c);
}

static const struct backend_ops cpu_ops = {
	.train_batch = cpu_train_batch,
	.eval_range = cpu_eval_range,
	.grad_buffer = cpu_grad_buffer,
	.get_grads = cpu_get_grads,
	.set_grads = cpu_set_grads,
	.zero_grads = cpu_zero_grads,
	.scale_grads = cpu_scale_grads,
	.allreduce = NULL,
	.grad_sumsq = cpu_grad_sumsq,
	.apply_update = cpu_apply_update,
	.read_params = cpu_read_params,
	.write_params = cpu_write_params,
	.read_optim = cpu_read_optim,
	.write_optim = cpu_write_optim,
	.destroy = cpu_destroy,
};

struct backend *backend_cpu_create(const struct model_config *cfg,
				   const struct optim_config *oc, int max_batch,
				   struct input_norm norm, uint64_t seed,
				   char *err, size_t errlen)
{
	struct cpu_backend *c = calloc(1, sizeof(*c));
	size_t n, pixels = (size_t)cfg->in_c * cfg->in_h * cfg->in_w;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (model_create(&c->model, cfg, max_batch, err, errlen)) {
		free(c);
		return NULL;
	}
	n = c->model.lay.nparams;
	c->opt_m = calloc(n, sizeof(float));
	c->opt_v = oc->kind == OPTIM_ADAM ? calloc(n, sizeof(float)) : NULL;
	c->x = malloc((size_t)max_batch * pixels * sizeof(float));
	c->y = malloc((size_t)max_batch);
	if (!c->opt_m || (oc->kind == OPTIM_ADAM && !c->opt_v) || !c->x || !c->y) {
		snprintf(err, errlen, "out of memory for the optimizer state and batch");
		cpu_destroy(&c->base);
		return NULL;
	}
	for (int v = 0; v < 256; v++)
		c->lut[v] = ((float)v / 255.0f - norm.mean) / norm.std;
	model_init_params(&c->model, seed);
	c->base.ops = &cpu_ops;
	c->base.name = "cpu";
	c->base.layout = c->model.lay;
	c->base.optim = *oc;
	c->base.grads_on_device = false;
	c->base.max_batch = max_batch;
	return &c->base;
}
