/*
 * optim.h - optimizers, the learning-rate schedule and gradient validation:
 * plain functions over flat float arrays, shared by every compute backend
 * that keeps its parameters in host memory.
 */
#ifndef QUORATE_TRAIN_OPTIM_H
#define QUORATE_TRAIN_OPTIM_H

#include <stddef.h>

enum optim_kind { OPTIM_SGD, OPTIM_ADAM };
enum lr_schedule { LR_CONSTANT, LR_COSINE, LR_STEP };

struct optim_config {
	enum optim_kind kind;
	float lr;			/* peak learning rate */
	float momentum;			/* sgd */
	float beta1, beta2, eps;	/* adam */
	float weight_decay;		/* sgd: L2 added to the gradient; adam: decoupled (AdamW) */
	enum lr_schedule schedule;
	long warmup_steps;		/* linear ramp from lr/warmup to lr */
	long total_steps;		/* cosine: reaches 0 here; step: x0.1 at 50 % and 75 % */
};

/* Defaults for KIND: sgd lr 0.05 momentum 0.9; adam lr 1e-3, 0.9, 0.999, 1e-8. */
void optim_config_default(struct optim_config *c, enum optim_kind kind);
int optim_kind_parse(const char *s, enum optim_kind *kind);
const char *optim_kind_name(enum optim_kind kind);
int lr_schedule_parse(const char *s, enum lr_schedule *sched);
const char *lr_schedule_name(enum lr_schedule sched);

/* How many state arrays of nparams floats the optimizer keeps (sgd 1, adam 2). */
int optim_state_arrays(enum optim_kind kind);

/* Learning rate of optimizer step STEP (0-based). */
float optim_lr(const struct optim_config *c, long step);

/* One step with gradient g * scale.  STEP is 0-based (Adam's bias
 * correction uses step + 1). */
void optim_update(const struct optim_config *c, float *params, const float *g,
		  float *m, float *v, size_t n, float scale, float lr, long step);

/* Gradient validation, before a rank's gradient joins the all-reduce. */
enum grad_verdict { GRAD_OK, GRAD_NONFINITE, GRAD_TOO_LARGE };

/* Sum of squares in double: NaN or Inf anywhere makes it non-finite. */
double grad_sumsq(const float *g, size_t n);

/* SUMSQ of a gradient summed over SAMPLES: non-finite, or a per-sample mean
 * whose norm exceeds MAX_NORM (0: no bound), is rejected. */
enum grad_verdict grad_validate(double sumsq, long samples, double max_norm);
const char *grad_verdict_name(enum grad_verdict v);

#endif
