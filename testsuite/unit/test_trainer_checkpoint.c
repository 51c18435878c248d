/* Unit tests for mpi-trainer/checkpoint.c: a round trip keeps every bit of
 * the parameters, optimizer state, position, generator and contributions;
 * a file without the completion mark, a file of another run, a file
 * that is not HDF5, and files failing the integrity guard (h5guard.c:
 * changed, truncated, no quorate header) are refused with a message that
 * says why; an image reads as the file does. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <hdf5.h>

#include "checkpoint.h"
#include "h5guard.h"
#include "model.h"
#include "rng.h"

struct fixture {
	char dir[64], path[128];
	struct model_layout lay;
	struct train_state st;
	float *p, *m, *v;
	char err[1024];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct model_config cfg;
	struct rng rng;
	size_t n;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_trainer_ckpt.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ckpt.h5", f->dir);
	model_config_default(&cfg, MODEL_CNN, 28, 28, 10);
	if (model_layout(&cfg, &f->lay, f->err, sizeof(f->err)))
		return -1;
	n = f->lay.nparams;
	f->p = malloc(n * sizeof(float));
	f->m = malloc(n * sizeof(float));
	f->v = malloc(n * sizeof(float));
	rng_seed(&rng, 3);
	for (size_t i = 0; i < n; i++) {
		f->p[i] = rng_normal(&rng);
		f->m[i] = rng_normal(&rng) * 1e-3f;
		f->v[i] = rng_uniform(&rng) * 1e-6f;
	}
	snprintf(f->st.model, sizeof(f->st.model), "cnn");
	snprintf(f->st.optimizer, sizeof(f->st.optimizer), "adam");
	snprintf(f->st.schedule, sizeof(f->st.schedule), "cosine");
	f->st.seed = UINT64_C(18446744073709551557);
	f->st.epochs = 12;
	f->st.batch = 64;
	f->st.lr = 1e-3;
	f->st.weight_decay = 0;
	f->st.warmup_steps = 100;
	f->st.train_count = 60000;
	f->st.nparams = n;
	f->st.world_size = 3;
	f->st.step = 4000;
	f->st.epoch = 4;
	f->st.epoch_step = 251;
	memcpy(f->st.rng, rng.s, sizeof(rng.s));
	f->st.epoch_loss = 123.456789012345;
	f->st.epoch_correct = 14000;
	f->st.epoch_samples = 16064;
	f->st.epoch_rejected = 2;
	f->st.elapsed_seconds = 98.765;
	f->st.ranks = calloc(3, sizeof(*f->st.ranks));
	for (int r = 0; r < 3; r++)
		f->st.ranks[r] = (struct rank_contribution){ 10.5 + r, 1.25 * r, 20000 + r, 300 - r, r };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f->p);
	free(f->m);
	free(f->v);
	train_state_free(&f->st);
	free(f);
	return 0;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t n = f->lay.nparams;
	float *p = calloc(n, sizeof(float)), *m = calloc(n, sizeof(float)), *v = calloc(n, sizeof(float));
	struct train_state got;
	char tmp[160];

	assert_int_equal(checkpoint_write(f->path, &f->st, &f->lay, f->p, f->m, f->v, NULL,
					  f->err, sizeof(f->err)), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(access(tmp, F_OK), -1);	/* renamed into place */
	assert_int_equal(checkpoint_read(f->path, &f->st, &f->lay, &got, p, m, v, NULL,
					 f->err, sizeof(f->err)), 0);
	assert_memory_equal(p, f->p, n * sizeof(float));
	assert_memory_equal(m, f->m, n * sizeof(float));
	assert_memory_equal(v, f->v, n * sizeof(float));
	assert_string_equal(got.model, "cnn");
	assert_string_equal(got.optimizer, "adam");
	assert_string_equal(got.schedule, "cosine");
	assert_true(got.seed == f->st.seed);
	assert_int_equal(got.epochs, 12);
	assert_int_equal(got.batch, 64);
	assert_int_equal(got.world_size, 3);
	assert_int_equal(got.step, 4000);
	assert_int_equal(got.epoch, 4);
	assert_int_equal(got.epoch_step, 251);
	assert_memory_equal(got.rng, f->st.rng, sizeof(got.rng));
	assert_true(got.epoch_loss == f->st.epoch_loss);
	assert_int_equal(got.epoch_correct, 14000);
	assert_int_equal(got.epoch_samples, 16064);
	assert_int_equal(got.epoch_rejected, 2);
	assert_true(got.elapsed_seconds == f->st.elapsed_seconds);
	assert_non_null(got.ranks);
	assert_memory_equal(got.ranks, f->st.ranks, 3 * sizeof(*got.ranks));
	train_state_free(&got);

	/* Overwriting keeps a whole file at every moment (rename). */
	f->st.step = 4001;
	assert_int_equal(checkpoint_write(f->path, &f->st, &f->lay, f->p, f->m, NULL, NULL,
					  f->err, sizeof(f->err)), 0);
	assert_int_equal(checkpoint_read(f->path, NULL, &f->lay, &got, p, m, NULL, NULL,
					 f->err, sizeof(f->err)), 0);
	assert_int_equal(got.step, 4001);
	train_state_free(&got);
	free(p);
	free(m);
	free(v);
}

static void test_incomplete_refused(void **state)
{
	struct fixture *f = *state;
	size_t n = f->lay.nparams;
	float *p = calloc(n, sizeof(float));
	struct train_state got;
	hid_t file;

	assert_int_equal(checkpoint_write(f->path, &f->st, &f->lay, f->p, f->m, f->v, NULL,
					  f->err, sizeof(f->err)), 0);
	/* Changed by libhdf5 after sealing: the guard refuses it. */
	file = H5Fopen(f->path, H5F_ACC_RDWR, H5P_DEFAULT);
	assert_true(file >= 0);
	assert_true(H5Adelete(file, "complete") >= 0);
	H5Fclose(file);
	assert_int_equal(checkpoint_read(f->path, NULL, &f->lay, &got, p, p, p, NULL,
					 f->err, sizeof(f->err)), -1);
	if (!strstr(f->err, "digest mismatch") && !strstr(f->err, "truncated or extended"))
		fail_msg("%s", f->err);
	/* Sealed again, it is what a writer without its last attribute would
	 * leave: the completion mark, checked behind the guard, refuses it. */
	assert_int_equal(h5guard_seal(f->path, f->err, sizeof(f->err)), 0);
	assert_int_equal(checkpoint_read(f->path, NULL, &f->lay, &got, p, p, p, NULL,
					 f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "incomplete checkpoint"));
	assert_non_null(strstr(f->err, f->path));

	/* Not HDF5 at all. */
	{
		FILE *fp = fopen(f->path, "w");

		assert_non_null(fp);
		fputs("not a checkpoint\n", fp);
		fclose(fp);
	}
	assert_int_equal(checkpoint_read(f->path, NULL, &f->lay, &got, p, p, p, NULL,
					 f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "not written by quorate-train (no quorate header)"));
	free(p);
}

static uint8_t *read_whole(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void write_whole(const char *path, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* checkpoint_read on PATH must fail, naming it and saying WANT. */
static void expect_refused(struct fixture *f, const char *path, float *p, const char *want)
{
	struct train_state got;

	assert_int_equal(checkpoint_read(path, NULL, &f->lay, &got, p, p, p, NULL,
					 f->err, sizeof(f->err)), -1);
	if (!strstr(f->err, want) || !strstr(f->err, path))
		fail_msg("error '%s' does not say '%s' about %s", f->err, want, path);
	assert_null(got.ranks);
}

/* The guard on checkpoints (always required): a byte changed, the file
 * cut, the header gone; the in-memory image reads like the file. */
static void test_guard(void **state)
{
	struct fixture *f = *state;
	size_t n = f->lay.nparams, len;
	float *p = calloc(n, sizeof(float));
	struct train_state got;
	char bad[160];
	uint8_t *image;

	assert_int_equal(checkpoint_write(f->path, &f->st, &f->lay, f->p, f->m, f->v, NULL,
					  f->err, sizeof(f->err)), 0);
	image = read_whole(f->path, &len);
	assert_memory_equal(image, H5GUARD_MAGIC, H5GUARD_MAGIC_LEN);
	assert_int_equal(checkpoint_read_image(image, len, "mem.h5", &f->st, &f->lay, &got,
					       p, p, p, NULL, f->err, sizeof(f->err)), 0);
	assert_memory_equal(p, f->v, n * sizeof(float));	/* the last read: v into p */
	train_state_free(&got);
	snprintf(bad, sizeof(bad), "%s/bad.h5", f->dir);
	/* a parameter's bit flipped, near the end */
	image[len - 8] ^= 0x10;
	write_whole(bad, image, len);
	expect_refused(f, bad, p, "digest mismatch: the file was changed or truncated");
	assert_int_equal(checkpoint_read_image(image, len, "mem.h5", NULL, &f->lay, &got,
					       p, p, p, NULL, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "mem.h5: digest mismatch"));
	image[len - 8] ^= 0x10;
	/* truncated, as a full disk would leave a copy */
	write_whole(bad, image, len / 2);
	expect_refused(f, bad, p, "truncated or extended");
	/* the HDF5 file without its user block: what another tool writes */
	write_whole(bad, image + H5GUARD_USERBLOCK, len - H5GUARD_USERBLOCK);
	expect_refused(f, bad, p, "not written by quorate-train (no quorate header)");
	/* the header zeroed */
	memset(image, 0, H5GUARD_HEADER_LEN);
	write_whole(bad, image, len);
	expect_refused(f, bad, p, "no quorate header");
	free(image);
	free(p);
}

static void test_other_run_refused(void **state)
{
	struct fixture *f = *state;
	size_t n = f->lay.nparams;
	float *p = calloc(n, sizeof(float));
	struct train_state want = f->st, got;

	want.ranks = NULL;
	assert_int_equal(checkpoint_write(f->path, &f->st, &f->lay, f->p, f->m, f->v, NULL,
					  f->err, sizeof(f->err)), 0);
	want.batch = 128;
	assert_int_equal(checkpoint_read(f->path, &want, &f->lay, &got, p, p, p, NULL,
					 f->err, sizeof(f->err)), -1);
	if (!strstr(f->err, "--batch 64, this run has --batch 128"))
		fail_msg("%s", f->err);
	want.batch = 64;
	want.seed = 2;
	assert_int_equal(checkpoint_read(f->path, &want, &f->lay, &got, p, p, p, NULL,
					 f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "--seed"));
	want.seed = f->st.seed;
	snprintf(want.optimizer, sizeof(want.optimizer), "sgd");
	assert_int_equal(checkpoint_read(f->path, &want, &f->lay, &got, p, p, p, NULL,
					 f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "--optimizer adam, this run has --optimizer sgd"));
	/* Another world size is allowed (the trainer warns). */
	snprintf(want.optimizer, sizeof(want.optimizer), "adam");
	want.world_size = 5;
	assert_int_equal(checkpoint_compatible(&f->st, &want, f->err, sizeof(f->err)), 0);
	/* A model of another shape. */
	{
		struct model_config cfg;
		struct model_layout mlp;

		model_config_default(&cfg, MODEL_MLP, 28, 28, 10);
		assert_int_equal(model_layout(&cfg, &mlp, f->err, sizeof(f->err)), 0);
		assert_int_equal(checkpoint_read(f->path, NULL, &mlp, &got, p, p, p, NULL,
						 f->err, sizeof(f->err)), -1);
		assert_non_null(strstr(f->err, "/params/fc1.weight is missing or not of the model's shape"));
	}
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incomplete_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_run_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guard, setup, teardown),
	};

	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
