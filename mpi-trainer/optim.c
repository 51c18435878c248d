/*
 * optim.c - see optim.h.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "optim.h"

void optim_config_default(struct optim_config *c, enum optim_kind kind)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->lr = kind == OPTIM_ADAM ? 1e-3f : 0.05f;
	c->momentum = 0.9f;
	c->beta1 = 0.9f;
	c->beta2 = 0.999f;
	c->eps = 1e-8f;
	c->schedule = LR_COSINE;
}

int optim_kind_parse(const char *s, enum optim_kind *kind)
{
	if (!strcmp(s, "sgd"))
		*kind = OPTIM_SGD;
	else if (!strcmp(s, "adam"))
		*kind = OPTIM_ADAM;
	else
		return -1;
	return 0;
}

const char *optim_kind_name(enum optim_kind kind)
{
	return kind == OPTIM_ADAM ? "adam" : "sgd";
}

int lr_schedule_parse(const char *s, enum lr_schedule *sched)
{
	if (!strcmp(s, "constant"))
		*sched = LR_CONSTANT;
	else if (!strcmp(s, "cosine"))
		*sched = LR_COSINE;
	else if (!strcmp(s, "step"))
		*sched = LR_STEP;
	else
		return -1;
	return 0;
}

const char *lr_schedule_name(enum lr_schedule sched)
{
	switch (sched) {
	case LR_CONSTANT: return "constant";
	case LR_STEP: return "step";
	default: return "cosine";
	}
}

int optim_state_arrays(enum optim_kind kind)
{
	return kind == OPTIM_ADAM ? 2 : 1;
}

float optim_lr(const struct optim_config *c, long step)
{
	double lr = c->lr;

	if (c->warmup_steps > 0 && step < c->warmup_steps)
		return (float)(lr * (double)(step + 1) / (double)c->warmup_steps);
	if (c->total_steps <= c->warmup_steps)
		return (float)lr;
	switch (c->schedule) {
	case LR_COSINE: {
		double t = (double)(step - c->warmup_steps) /
			   (double)(c->total_steps - c->warmup_steps);

		if (t > 1.0)
			t = 1.0;
		lr *= 0.5 * (1.0 + cos(3.141592653589793 * t));
		break;
	}
	case LR_STEP:
		if (step >= c->total_steps * 3 / 4)
			lr *= 0.01;
		else if (step >= c->total_steps / 2)
			lr *= 0.1;
		break;
	case LR_CONSTANT:
		break;
	}
	return (float)lr;
}

static void sgd_update(const struct optim_config *c, float *restrict p,
		       const float *restrict g, float *restrict m, size_t n,
		       float scale, float lr)
{
	float mu = c->momentum, wd = c->weight_decay;

	for (size_t i = 0; i < n; i++) {
		float grad = g[i] * scale + wd * p[i];

		m[i] = mu * m[i] + grad;
		p[i] -= lr * m[i];
	}
}

static void adam_update(const struct optim_config *c, float *restrict p,
			const float *restrict g, float *restrict m, float *restrict v,
			size_t n, float scale, float lr, long step)
{
	float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
	/* Bias corrections folded into the step size and epsilon. */
	double c1 = 1.0 - pow(b1, (double)(step + 1));
	double c2 = 1.0 - pow(b2, (double)(step + 1));
	float alpha = (float)(lr * sqrt(c2) / c1);
	float eps_hat = (float)(eps * sqrt(c2));
	float decay = 1.0f - lr * c->weight_decay;

	for (size_t i = 0; i < n; i++) {
		float grad = g[i] * scale;

		m[i] = b1 * m[i] + (1.0f - b1) * grad;
		v[i] = b2 * v[i] + (1.0f - b2) * grad * grad;
		p[i] = decay * p[i] - alpha * m[i] / (sqrtf(v[i]) + eps_hat);
	}
}

void optim_update(const struct optim_config *c, float *params, const float *g,
		  float *m, float *v, size_t n, float scale, float lr, long step)
{
	if (c->kind == OPTIM_ADAM)
		adam_update(c, params, g, m, v, n, scale, lr, step);
	else
		sgd_update(c, params, g, m, n, scale, lr);
}

double grad_sumsq(const float *g, size_t n)
{
	/* Four partial sums: vectorises, and the order is fixed. */
	double s[4] = { 0, 0, 0, 0 };
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		for (int k = 0; k < 4; k++)
			s[k] += (double)g[i + k] * g[i + k];
	for (; i < n; i++)
		s[0] += (double)g[i] * g[i];
	return (s[0] + s[1]) + (s[2] + s[3]);
}

enum grad_verdict grad_validate(double sumsq, long samples, double max_norm)
{
	if (!isfinite(sumsq))
		return GRAD_NONFINITE;
	if (max_norm > 0 && samples > 0 && sqrt(sumsq) / (double)samples > max_norm)
		return GRAD_TOO_LARGE;
	return GRAD_OK;
}

const char *grad_verdict_name(enum grad_verdict v)
{
	switch (v) {
	case GRAD_NONFINITE: return "not finite";
	case GRAD_TOO_LARGE: return "norm above the bound";
	default: return "ok";
	}
}
