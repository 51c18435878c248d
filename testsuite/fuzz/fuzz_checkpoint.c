/*
 * fuzz_checkpoint - libFuzzer target for the trainer's checkpoint reader
 * (checkpoint_read_image in mpi-trainer/checkpoint.c: the root attributes,
 * /params, /optim/m, /optim/v of a model's layout, /contribution per
 * rank, read through HDF5's core driver from the input as a file image),
 * through the integrity guard (h5guard.c) as quorate-train reads one.
 *
 * The layout is a tiny MLP (2x2 input, hidden 3 and 2, 2 classes: 29
 * parameters) so that a whole checkpoint fits in a few kilobytes.
 * Properties (abort on violation): a refused image names "fuzz.h5" in its
 * error and leaves no rank table; one the guard refuses is refused with
 * the guard's own error (libhdf5 never saw it); an accepted one passed the
 * guard, has a world size in 1..2^20 and, when it has a rank table,
 * world-size entries of it (ASan checks each is there).
 *
 * Built with FUZZ_RAW (fuzz_checkpoint_raw.c, target checkpoint-raw, run
 * only when named): checkpoint_read_image_unverified, no guard, so the
 * inputs reach libhdf5, which has memory errors of its own on them
 * (testsuite/fuzz/libhdf5-findings).
 *
 * QUORATE_FUZZ_WRITE_SEED=DIR (make-corpus): write seed checkpoints with
 * checkpoint_write, as quorate-train does (FUZZ_RAW: with their header
 * zeroed, as the guard no longer matters), and exit.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "h5_closed.h"
#include "h5guard.h"
#include "model.h"

static struct model_layout lay;
static float params[64], m[64], v[64];

static void check(int cond)
{
	if (!cond)
		abort();
}

static void tiny_layout(void)
{
	struct model_config cfg;
	char err[256];

	model_config_default(&cfg, MODEL_MLP, 2, 2, 2);
	cfg.hidden[0] = 3;
	cfg.hidden[1] = 2;
	if (model_layout(&cfg, &lay, err, sizeof(err)) ||
	    lay.nparams > sizeof(params) / sizeof(params[0])) {
		fprintf(stderr, "fuzz_checkpoint: layout: %s\n", err);
		exit(1);
	}
}

static void write_seed(const char *dir, const char *name, int world, int with_v, int ranks)
{
	struct rank_contribution rc[3] = {
		{ 1.5, 0.25, 100, 10, 0 }, { 2.5, 0.5, 200, 20, 1 }, { 3, 0.75, 300, 30, 2 },
	};
	struct train_state st;
	char path[4096], err[512];

	memset(&st, 0, sizeof(st));
	snprintf(st.model, sizeof(st.model), "mlp");
	snprintf(st.optimizer, sizeof(st.optimizer), with_v ? "adam" : "sgd");
	snprintf(st.schedule, sizeof(st.schedule), "cosine");
	st.seed = 7;
	st.epochs = 3;
	st.batch = 8;
	st.lr = 1e-3;
	st.momentum = 0.9;
	st.augment = -1;
	st.train_count = 40;
	st.nparams = lay.nparams;
	st.world_size = world;
	st.step = 9;
	st.epoch = 1;
	st.epoch_step = 4;
	st.rng[0] = 1;
	st.rng[3] = UINT64_MAX;
	st.epoch_loss = 2.5;
	st.epoch_correct = 12;
	st.epoch_samples = 32;
	st.elapsed_seconds = 0.125;
	st.ranks = ranks ? rc : NULL;
	for (size_t i = 0; i < lay.nparams; i++) {
		params[i] = (float)i / 7;
		m[i] = (float)i * 1e-3f;
		v[i] = (float)i * 1e-6f;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (checkpoint_write(path, &st, &lay, params, m, with_v ? v : NULL, NULL,
			     err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
#ifdef FUZZ_RAW
	{
		static const uint8_t zeros[H5GUARD_HEADER_LEN];
		FILE *fp = fopen(path, "r+b");

		if (!fp || fwrite(zeros, 1, sizeof(zeros), fp) != sizeof(zeros) || fclose(fp)) {
			fprintf(stderr, "%s: cannot zero the header\n", path);
			exit(1);
		}
	}
#endif
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("QUORATE_FUZZ_WRITE_SEED");

	(void)argc;
	(void)argv;
	tiny_layout();
	if (dir) {
		write_seed(dir, "adam_3_ranks.h5", 3, 1, 1);
		write_seed(dir, "sgd_1_rank.h5", 1, 0, 1);
		write_seed(dir, "no_contribution.h5", 2, 1, 0);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one_input(const uint8_t *data, size_t size)
{
	struct train_state st;
	char err[512] = "";
	double sum = 0;

#ifdef FUZZ_RAW
	if (checkpoint_read_image_unverified(data, size, "fuzz.h5", NULL, &lay, &st, params, m,
					     v, NULL, err, sizeof(err))) {
		check(!strncmp(err, "fuzz.h5", 7) && st.ranks == NULL);
		return 0;
	}
#else
	char guard_err[512] = "";
	int guarded = h5guard_verify(data, size, "fuzz.h5", guard_err, sizeof(guard_err)) == 0;

	if (checkpoint_read_image(data, size, "fuzz.h5", NULL, &lay, &st, params, m, v,
				  NULL, err, sizeof(err))) {
		check(!strncmp(err, "fuzz.h5", 7) && st.ranks == NULL);
		check(guarded || !strcmp(err, guard_err));
		return 0;
	}
	check(guarded);
#endif
	check(st.world_size >= 1 && st.world_size <= 1 << 20);
	if (st.ranks)
		for (int r = 0; r < st.world_size; r++)
			sum += st.ranks[r].compute_seconds + (double)st.ranks[r].samples;
	(void)sum;
	train_state_free(&st);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_input(data, size);
	h5_check_all_closed();
	return 0;
}
