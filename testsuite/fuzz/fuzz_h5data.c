/*
 * fuzz_h5data - libFuzzer target for the trainer's HDF5 data set loader
 * (dataset_load_hdf5_image in mpi-trainer/dataset.c: /train and /test
 * images and labels, read through HDF5's core driver from the input as a
 * file image, no temporary file), through the integrity guard
 * (h5guard.c) as quorate-train loads a data set.
 *
 * Properties (abort on violation): a refused image names "fuzz.h5" in its
 * error and leaves the split empty; an input the guard refuses is refused
 * with the guard's own error (libhdf5 never saw it); an accepted one
 * passed the guard, has images and labels for every sample, images of one
 * shape in both splits, every label below DATASET_CLASSES.
 *
 * Built with FUZZ_RAW (fuzz_h5data_raw.c, target h5data-raw, run only when
 * named): no guard (DATASET_HDF5_UNVERIFIED on headerless seeds), so the
 * inputs reach libhdf5, which has memory errors of its own on them
 * (testsuite/fuzz/libhdf5-findings).
 *
 * QUORATE_FUZZ_WRITE_SEED=DIR (make-corpus): write the seed files, made by
 * dataset_write_hdf5 like `quorate-train convert` (FUZZ_RAW: with their
 * header zeroed), and exit.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "h5_closed.h"
#include "h5guard.h"

#ifdef FUZZ_RAW
#define LOAD_FLAGS DATASET_HDF5_UNVERIFIED
#else
#define LOAD_FLAGS 0u
#endif

static void check(int cond)
{
	if (!cond)
		abort();
}

#ifdef FUZZ_RAW
/* A raw seed: the user block zeroed, so the loader skips the guard. */
static void zero_header(const char *path)
{
	static const uint8_t zeros[H5GUARD_HEADER_LEN];
	FILE *fp = fopen(path, "r+b");

	if (!fp || fwrite(zeros, 1, sizeof(zeros), fp) != sizeof(zeros) || fclose(fp)) {
		fprintf(stderr, "%s: cannot zero the header\n", path);
		exit(1);
	}
}
#endif

static void write_seed(const char *dir, const char *name, uint32_t ntrain, uint32_t ntest,
		       uint32_t rows, uint32_t cols)
{
	static uint8_t img[2][4096], lab[2][64];
	struct data_split d = {
		.train = { ntrain, rows, cols, img[0], lab[0] },
		.test = { ntest, rows, cols, img[1], lab[1] },
	};
	char path[4096], err[512];

	for (size_t i = 0; i < sizeof(img[0]); i++) {
		img[0][i] = (uint8_t)(i * 7);
		img[1][i] = (uint8_t)(i * 13);
	}
	for (size_t i = 0; i < sizeof(lab[0]); i++) {
		lab[0][i] = (uint8_t)(i % DATASET_CLASSES);
		lab[1][i] = (uint8_t)((i + 3) % DATASET_CLASSES);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (dataset_write_hdf5(path, &d, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
#ifdef FUZZ_RAW
	zero_header(path);
#endif
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("QUORATE_FUZZ_WRITE_SEED");

	(void)argc;
	(void)argv;
	if (dir) {
		write_seed(dir, "tiny.h5", 4, 2, 4, 4);
		write_seed(dir, "one_sample.h5", 1, 1, 1, 1);
		write_seed(dir, "mnist_shape.h5", 2, 1, 28, 28);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one_input(const uint8_t *data, size_t size)
{
	struct data_split d;
	char err[512] = "";

	char guard_err[512] = "";
	int guarded = h5guard_verify(data, size, "fuzz.h5", guard_err, sizeof(guard_err)) == 0;

	if (dataset_load_hdf5_image(data, size, "fuzz.h5", LOAD_FLAGS, &d, err, sizeof(err))) {
		check(!strncmp(err, "fuzz.h5", 7));
		check(!d.train.images && !d.train.labels && !d.test.images && !d.test.labels);
		if (!guarded && (!LOAD_FLAGS || h5guard_has_header(data, size)))
			check(!strcmp(err, guard_err));
		return 0;
	}
	check(guarded || (LOAD_FLAGS && !h5guard_has_header(data, size)));
	check(d.train.count >= 1 && d.test.count >= 1);
	check(d.train.rows == d.test.rows && d.train.cols == d.test.cols);
	for (int s = 0; s < 2; s++) {
		const struct dataset *ds = s ? &d.test : &d.train;
		uint64_t n = (uint64_t)ds->count * ds->rows * ds->cols, sum = 0;

		for (uint64_t i = 0; i < n; i++)
			sum += ds->images[i];
		check(sum <= 255 * n);
		for (uint32_t i = 0; i < ds->count; i++)
			check(ds->labels[i] < DATASET_CLASSES);
	}
	dataset_free(&d);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_input(data, size);
	h5_check_all_closed();
	return 0;
}
