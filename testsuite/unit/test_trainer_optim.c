/* Unit tests for mpi-trainer/optim.c (Adam and SGD against the textbook
 * formulas in double, the learning-rate schedule, gradient validation),
 * comm.c's QUORATE_REPLICA parsing and the epoch line of metrics.c. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json.h>

#include "comm.h"
#include "metrics.h"
#include "optim.h"

static void test_adam(void **state)
{
	struct optim_config c;
	float p[3] = { 0.5f, -1.0f, 2.0f }, m[3] = { 0 }, v[3] = { 0 };
	double P[3] = { 0.5, -1.0, 2.0 }, M[3] = { 0 }, V[3] = { 0 };
	const float g[3][3] = { { 4.0f, -2.0f, 0.0f }, { 1.0f, 1.0f, 1.0f }, { -8.0f, 0.5f, 3.0f } };

	optim_config_default(&c, OPTIM_ADAM);
	c.weight_decay = 0.01f;
	for (int t = 0; t < 3; t++) {
		optim_update(&c, p, g[t], m, v, 3, 0.5f, 0.01f, t);
		for (int i = 0; i < 3; i++) {
			/* Loshchilov & Hutter's AdamW, written out plainly. */
			double grad = 0.5 * g[t][i];

			M[i] = 0.9 * M[i] + 0.1 * grad;
			V[i] = 0.999 * V[i] + 0.001 * grad * grad;
			P[i] = P[i] * (1 - 0.01 * 0.01) - 0.01 * (M[i] / (1 - pow(0.9, t + 1))) /
			       (sqrt(V[i] / (1 - pow(0.999, t + 1))) + 1e-8);
		}
	}
	for (int i = 0; i < 3; i++)
		assert_true(fabs(p[i] - P[i]) < 1e-6);
}

static void test_sgd(void **state)
{
	struct optim_config c;
	float p[2] = { 1.0f, -1.0f }, m[2] = { 0, 0 };
	const float g[2] = { 2.0f, -4.0f };

	optim_config_default(&c, OPTIM_SGD);
	assert_true(c.lr == 0.05f && c.momentum == 0.9f);
	optim_update(&c, p, g, m, NULL, 2, 0.5f, 0.1f, 0);	/* m = g/2; p -= 0.1 m */
	assert_true(fabsf(p[0] - 0.9f) < 1e-7f && fabsf(p[1] + 0.8f) < 1e-7f);
	optim_update(&c, p, g, m, NULL, 2, 0.5f, 0.1f, 1);	/* m = 0.9 m + g/2 */
	assert_true(fabsf(m[0] - 1.9f) < 1e-6f && fabsf(p[0] - 0.71f) < 1e-6f);
	assert_int_equal(optim_state_arrays(OPTIM_SGD), 1);
	assert_int_equal(optim_state_arrays(OPTIM_ADAM), 2);
}

static void test_schedule(void **state)
{
	struct optim_config c;
	enum lr_schedule s;

	optim_config_default(&c, OPTIM_ADAM);
	c.lr = 1.0f;
	c.total_steps = 1000;
	assert_true(optim_lr(&c, 0) == 1.0f);
	assert_true(fabsf(optim_lr(&c, 500) - 0.5f) < 1e-6f);
	assert_true(optim_lr(&c, 1000) < 1e-6f);
	assert_true(optim_lr(&c, 250) > optim_lr(&c, 251));
	c.warmup_steps = 100;
	assert_true(fabsf(optim_lr(&c, 0) - 0.01f) < 1e-7f);
	assert_true(fabsf(optim_lr(&c, 99) - 1.0f) < 1e-7f);
	assert_true(fabsf(optim_lr(&c, 550) - 0.5f) < 1e-6f);	/* cosine after the ramp */
	c.warmup_steps = 0;
	c.schedule = LR_STEP;
	assert_true(optim_lr(&c, 499) == 1.0f);
	assert_true(fabsf(optim_lr(&c, 500) - 0.1f) < 1e-7f);
	assert_true(fabsf(optim_lr(&c, 750) - 0.01f) < 1e-7f);
	c.schedule = LR_CONSTANT;
	assert_true(optim_lr(&c, 999) == 1.0f);
	assert_int_equal(lr_schedule_parse("cosine", &s), 0);
	assert_int_equal(s, LR_COSINE);
	assert_int_equal(lr_schedule_parse("linear", &s), -1);
}

static void test_grad_validate(void **state)
{
	float g[5] = { 3.0f, 4.0f, 0, 0, 0 };

	assert_true(grad_sumsq(g, 5) == 25.0);
	assert_int_equal(grad_validate(25.0, 1, 1000), GRAD_OK);
	assert_int_equal(grad_validate(25.0, 1, 4.9), GRAD_TOO_LARGE);	/* norm 5 */
	assert_int_equal(grad_validate(25.0, 2, 4.9), GRAD_OK);		/* 2.5 per sample */
	assert_int_equal(grad_validate(25.0, 1, 0), GRAD_OK);		/* no bound */
	g[3] = NAN;
	assert_int_equal(grad_validate(grad_sumsq(g, 5), 1, 0), GRAD_NONFINITE);
	g[3] = INFINITY;
	assert_int_equal(grad_validate(grad_sumsq(g, 5), 1, 0), GRAD_NONFINITE);
	g[3] = -INFINITY;
	assert_int_equal(grad_validate(grad_sumsq(g, 5), 1, 1000), GRAD_NONFINITE);
	/* Large but finite floats do not overflow the double sum. */
	g[3] = 3e38f;
	g[4] = 3e38f;
	assert_int_equal(grad_validate(grad_sumsq(g, 5), 1, 0), GRAD_OK);
	assert_string_equal(grad_verdict_name(GRAD_NONFINITE), "not finite");
}

static void test_replica_env(void **state)
{
	int r, n;
	char err[256];

	assert_int_equal(comm_parse_replica(NULL, NULL, &r, &n, err, sizeof(err)), 0);
	assert_int_equal(r, 0);
	assert_int_equal(n, 1);
	assert_int_equal(comm_parse_replica("1", "2", &r, &n, err, sizeof(err)), 0);
	assert_int_equal(r, 1);
	assert_int_equal(n, 2);
	assert_int_equal(comm_parse_replica("2", "2", &r, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "QUORATE_REPLICA='2' is not a replica index (allowed 0..1)"));
	assert_int_equal(comm_parse_replica("x", "3", &r, &n, err, sizeof(err)), -1);
	assert_int_equal(comm_parse_replica("0", "0", &r, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "QUORATE_REPLICAS='0'"));
	assert_int_equal(comm_parse_replica("-1", "2", &r, &n, err, sizeof(err)), -1);
	assert_int_equal(comm_parse_replica("3", NULL, &r, &n, err, sizeof(err)), 0);
	assert_int_equal(r, 3);
}

static void test_epoch_line(void **state)
{
	struct epoch_report rep = {
		.replica = 1, .replicas = 2, .epoch = 3, .epochs = 10, .step = 2814,
		.loss = 0.30123, .train_acc = 0.8912, .test_acc = 0.88, .samples_per_s = 5231.4,
		.comm_fraction = 0.123, .seconds = 11.47, .elapsed = 35.0, .rejected = 2,
	};
	struct json_object *j;
	char line[512];

	epoch_report_line(&rep, line, sizeof(line));
	assert_string_equal(line, "replica 1: epoch 3/10  loss 0.3012  train-acc 0.8912  "
			    "test-acc 0.8800  samples/s 5231  comm 12.3%  time 11.5s  "
			    "(2 gradients rejected)");
	rep.replicas = 1;
	rep.test_acc = -1;
	rep.rejected = 0;
	epoch_report_line(&rep, line, sizeof(line));
	assert_string_equal(line, "epoch 3/10  loss 0.3012  train-acc 0.8912  test-acc -  "
			    "samples/s 5231  comm 12.3%  time 11.5s");
	j = epoch_report_json(&rep);
	assert_non_null(j);
	assert_string_equal(json_object_get_string(json_object_object_get(j, "event")), "epoch");
	assert_int_equal(json_object_get_int(json_object_object_get(j, "step")), 2814);
	assert_null(json_object_object_get(j, "test_acc"));
	json_object_put(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adam),
		cmocka_unit_test(test_sgd),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_grad_validate),
		cmocka_unit_test(test_replica_env),
		cmocka_unit_test(test_epoch_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
