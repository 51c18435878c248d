/*
 * backend.h - the model math behind one interface: what the training loop
 * asks of a compute backend.  The CPU backend (backend_cpu.c) runs model.c
 * and optim.c on host memory; a GPU backend keeps parameters, activations
 * and optimizer state on the device and implements the same calls.
 */
#ifndef QUORATE_TRAIN_BACKEND_H
#define QUORATE_TRAIN_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "dataset.h"
#include "model.h"
#include "optim.h"

struct backend;

/* Training-time augmentation: each sample is mirrored left to right with
 * probability 1/2 and shifted by up to `shift` pixels along each axis (the
 * background fills in), as decided by a hash of (key, sample index), so that
 * the result does not depend on how samples are spread over ranks. */
struct augment {
	bool on;
	int shift;
	uint64_t key;			/* per epoch */
};

struct backend_ops {
	/* Forward and backward over the training samples idx[0..n) of ds:
	 * the gradient of their summed loss lands in the gradient buffer
	 * (all zeros when n is 0). */
	int (*train_batch)(struct backend *b, const struct dataset *ds,
			   const uint32_t *idx, int n, const struct augment *aug,
			   struct batch_result *r);
	/* Loss and correct predictions over samples [first, first + n) of ds
	 * (added to r); n may exceed the batch the backend was built for. */
	int (*eval_range)(struct backend *b, const struct dataset *ds, uint32_t first,
			  uint32_t n, struct batch_result *r);
	/* The flat gradient buffer: nparams + MODEL_GRAD_EXTRA floats, in host
	 * memory (NULL when grads_on_device: use the calls below). */
	float *(*grad_buffer)(struct backend *b);
	/* gradients[offset, offset + n) to and from host memory. */
	int (*get_grads)(struct backend *b, size_t offset, size_t n, float *host);
	int (*set_grads)(struct backend *b, size_t offset, size_t n, const float *host);
	/* Gradients (not the counters after them) := 0, or *= s. */
	int (*zero_grads)(struct backend *b);
	int (*scale_grads)(struct backend *b, float s);
	/* Optional: sum gradients[0, n) across the ranks where they live (NCCL
	 * on the device); NULL for host memory. */
	int (*allreduce)(struct backend *b, size_t n);
	/* Sum of squares of the gradients (validation before the all-reduce). */
	int (*grad_sumsq)(struct backend *b, double *sumsq);
	/* One optimizer step with gradient = buffer * scale, at learning rate lr. */
	int (*apply_update)(struct backend *b, float scale, float lr, long step);
	/* Parameters and optimizer state to and from host arrays (nparams
	 * floats each; v only for Adam): digests and checkpoints. */
	int (*read_params)(struct backend *b, float *host);
	int (*write_params)(struct backend *b, const float *host);
	int (*read_optim)(struct backend *b, float *m, float *v);
	int (*write_optim)(struct backend *b, const float *m, const float *v);
	void (*destroy)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	const char *name;		/* "cpu" */
	struct model_layout layout;	/* tensors and nparams */
	struct optim_config optim;
	bool grads_on_device;
	int max_batch;
};

/* Pixel normalisation: x = (byte / 255 - mean) / std. */
struct input_norm {
	float mean, std;
};

/* Sample S of ds into dst (rows x cols floats) through the byte -> float
 * table lut, augmented when aug is on. */
void augment_sample(const struct dataset *ds, uint32_t s, const float lut[256],
		    const struct augment *aug, float *dst);

/* Mean and standard deviation of the pixels of ds (in double, fixed order). */
struct input_norm input_norm_of(const struct dataset *ds);

/* The CPU backend: parameters initialised from SEED. */
struct backend *backend_cpu_create(const struct model_config *cfg,
				   const struct optim_config *oc, int max_batch,
				   struct input_norm norm, uint64_t seed,
				   char *err, size_t errlen);

static inline void backend_destroy(struct backend *b)
{
	if (b)
		b->ops->destroy(b);
}

#endif
