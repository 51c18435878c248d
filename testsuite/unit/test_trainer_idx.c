/* Unit tests for mpi-trainer/dataset.c: IDX and IDX.gz parsing, the errors
 * for truncated and corrupt files, a header announcing 805 MB without the
 * data, the HDF5 round trip, the integrity guard in front of libhdf5
 * (h5guard.c: tampered, truncated, foreign files), a data set announcing
 * storage it does not hold, and the real Fashion-MNIST files from Debian's
 * dataset-fashion-mnist. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <hdf5.h>
#include <zlib.h>

#include "dataset.h"
#include "h5guard.h"

struct fixture {
	char dir[64];
	char err[2048];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_trainer_idx.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
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
	free(f);
	return 0;
}

static void path_of(const struct fixture *f, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", f->dir, name);
}

static void write_file(const char *path, const void *data, size_t len, bool gz)
{
	if (gz) {
		gzFile g = gzopen(path, "wb");

		assert_non_null(g);
		assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
		assert_int_equal(gzclose(g), Z_OK);
	} else {
		FILE *fp = fopen(path, "wb");

		assert_non_null(fp);
		assert_int_equal(fwrite(data, 1, len, fp), len);
		assert_int_equal(fclose(fp), 0);
	}
}

/* An IDX file: magic 00 00 08 ndims, big-endian dims, then the bytes. */
static size_t make_idx(uint8_t *buf, int ndims, const uint32_t *dims, const uint8_t *data,
		       size_t len)
{
	size_t at = 0;

	buf[at++] = 0;
	buf[at++] = 0;
	buf[at++] = 0x08;
	buf[at++] = (uint8_t)ndims;
	for (int i = 0; i < ndims; i++) {
		buf[at++] = (uint8_t)(dims[i] >> 24);
		buf[at++] = (uint8_t)(dims[i] >> 16);
		buf[at++] = (uint8_t)(dims[i] >> 8);
		buf[at++] = (uint8_t)dims[i];
	}
	memcpy(buf + at, data, len);
	return at + len;
}

/* A data set of N images of 4x3 in DIR: train-* and t10k-*. */
static void write_set(const struct fixture *f, uint32_t n, bool gz)
{
	uint8_t pixels[12 * 16], labels[16], buf[512];
	uint32_t idims[3] = { n, 4, 3 }, ldims[1] = { n };
	char path[256];
	const char *prefixes[2] = { "train", "t10k" };

	for (size_t i = 0; i < sizeof(pixels); i++)
		pixels[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(labels); i++)
		labels[i] = (uint8_t)(i % 10);
	for (int p = 0; p < 2; p++) {
		size_t len = make_idx(buf, 3, idims, pixels, 12 * n);

		snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte%s", f->dir, prefixes[p],
			 gz ? ".gz" : "");
		write_file(path, buf, len, gz);
		len = make_idx(buf, 1, ldims, labels, n);
		snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte%s", f->dir, prefixes[p],
			 gz ? ".gz" : "");
		write_file(path, buf, len, gz);
	}
}

static void test_load_plain_and_gz(void **state)
{
	struct fixture *f = *state;
	struct data_split d;

	for (int gz = 0; gz < 2; gz++) {
		char cmd[128];

		write_set(f, 10, gz);
		assert_int_equal(dataset_load(f->dir, 0, &d, f->err, sizeof(f->err)), 0);
		assert_int_equal(d.train.count, 10);
		assert_int_equal(d.train.rows, 4);
		assert_int_equal(d.train.cols, 3);
		assert_int_equal(d.test.count, 10);
		assert_int_equal(d.train.images[5], 35);
		assert_int_equal(d.train.labels[9], 9);
		dataset_limit(&d, 4);
		assert_int_equal(d.train.count, 4);
		assert_int_equal(d.test.count, 4);
		dataset_free(&d);
		snprintf(cmd, sizeof(cmd), "rm -f '%s'/*", f->dir);
		assert_int_equal(system(cmd), 0);
	}
}

/* idx_read on one crafted file must fail with a message containing WANT. */
static void expect_error(struct fixture *f, const void *data, size_t len, bool gz, int ndims,
			 const char *want)
{
	char path[256];
	uint32_t dims[3];
	uint8_t *out = (uint8_t *)1;

	path_of(f, gz ? "bad.gz" : "bad", path, sizeof(path));
	write_file(path, data, len, gz);
	assert_int_equal(idx_read(path, ndims, dims, &out, f->err, sizeof(f->err)), -1);
	assert_null(out);
	if (!strstr(f->err, want))
		fail_msg("error '%s' does not say '%s'", f->err, want);
	assert_non_null(strstr(f->err, path));	/* names the file */
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	uint8_t data[100], buf[256];
	uint32_t dims[3] = { 5, 4, 5 };
	size_t len;

	memset(data, 1, sizeof(data));
	len = make_idx(buf, 3, dims, data, sizeof(data));
	expect_error(f, buf, len - 1, false, 3, "truncated: the header promises 100 bytes");
	expect_error(f, buf, len - 30, true, 3, "truncated");
	expect_error(f, buf, 10, false, 3, "truncated in the IDX header");
	expect_error(f, buf, 2, false, 3, "shorter than an IDX header");
	expect_error(f, buf, 0, false, 3, "shorter than an IDX header");
}

static void test_corrupt(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4000], buf[4200], gzbuf[8192];
	uint32_t dims[3] = { 10, 20, 20 }, ldims[1] = { 4000 };
	size_t len;
	char path[256];
	FILE *fp;
	size_t glen;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + (i >> 3));
	len = make_idx(buf, 3, dims, data, sizeof(data));

	/* Wrong magic, element type, dimensions; extra bytes; zero sizes. */
	buf[0] = 0x1f;
	expect_error(f, buf, len, false, 3, "not an IDX file");
	buf[0] = 0;
	buf[2] = 0x0d;
	expect_error(f, buf, len, false, 3, "element type 0x0d is not supported");
	buf[2] = 0x08;
	expect_error(f, buf, len, false, 1, "IDX file with 3 dimensions; labels have 1");
	buf[len] = 7;
	expect_error(f, buf, len + 1, false, 3, "data continues past the 4000 bytes");
	len = make_idx(buf, 1, ldims, data, sizeof(data));
	buf[4] = buf[5] = buf[6] = buf[7] = 0;
	expect_error(f, buf, len, false, 1, "dimension 1 is 0");

	/* A gzip stream with bytes flipped in the middle of the deflate data. */
	len = make_idx(buf, 3, dims, data, sizeof(data));
	path_of(f, "x.gz", path, sizeof(path));
	write_file(path, buf, len, true);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	glen = fread(gzbuf, 1, sizeof(gzbuf), fp);
	fclose(fp);
	assert_true(glen > 100);
	for (size_t i = glen / 2; i < glen / 2 + 16; i++)
		gzbuf[i] ^= 0x5a;
	path_of(f, "bad.gz", path, sizeof(path));
	write_file(path, gzbuf, glen, false);
	{
		uint32_t d3[3];
		uint8_t *out;

		assert_int_equal(idx_read(path, 3, d3, &out, f->err, sizeof(f->err)), -1);
		if (!strstr(f->err, "corrupt gzip data") && !strstr(f->err, "truncated"))
			fail_msg("error '%s' does not call the file corrupt", f->err);
	}
}

static void test_set_errors(void **state)
{
	struct fixture *f = *state;
	struct data_split d;
	uint8_t labels[10], buf[64];
	uint32_t ldims[1] = { 10 };
	char path[256];

	/* No files at all: names the file and the Debian package. */
	assert_int_equal(dataset_load(f->dir, 0, &d, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "train-images-idx3-ubyte"));
	assert_non_null(strstr(f->err, "dataset-fashion-mnist"));

	/* A label out of range. */
	write_set(f, 10, false);
	for (int i = 0; i < 10; i++)
		labels[i] = (uint8_t)i;
	labels[3] = 10;
	path_of(f, "train-labels-idx1-ubyte", path, sizeof(path));
	write_file(path, buf, make_idx(buf, 1, ldims, labels, 10), false);
	assert_int_equal(dataset_load(f->dir, 0, &d, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "label 10 of sample 3 is out of range"));

	/* Fewer labels than images. */
	ldims[0] = 9;
	write_file(path, buf, make_idx(buf, 1, ldims, labels, 9), false);
	assert_int_equal(dataset_load(f->dir, 0, &d, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "9 labels for the 10 images"));

	/* Neither a directory nor HDF5. */
	assert_int_equal(dataset_load(path, 0, &d, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "neither a directory of IDX files nor an HDF5 file"));
	assert_int_equal(dataset_load("/nonexistent/x", 0, &d, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "No such file"));
}

static void test_hdf5_round_trip(void **state)
{
	struct fixture *f = *state;
	struct data_split a, b;
	char path[256];

	write_set(f, 16, true);
	assert_int_equal(dataset_load(f->dir, 0, &a, f->err, sizeof(f->err)), 0);
	path_of(f, "data.h5", path, sizeof(path));
	assert_int_equal(dataset_write_hdf5(path, &a, f->err, sizeof(f->err)), 0);
	assert_int_equal(dataset_load(path, 0, &b, f->err, sizeof(f->err)), 0);
	assert_int_equal(b.train.count, a.train.count);
	assert_int_equal(b.test.count, a.test.count);
	assert_int_equal(b.train.rows, 4);
	assert_int_equal(b.train.cols, 3);
	assert_memory_equal(b.train.images, a.train.images, 16 * 12);
	assert_memory_equal(b.train.labels, a.train.labels, 16);
	assert_memory_equal(b.test.images, a.test.images, 16 * 12);
	assert_memory_equal(b.test.labels, a.test.labels, 16);
	dataset_free(&a);
	dataset_free(&b);
	/* An HDF5 file without the datasets. */
	{
		struct data_split d;
		hid_t file;

		hid_t fcpl = h5guard_fcpl();

		path_of(f, "empty.h5", path, sizeof(path));
		file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
		assert_true(file >= 0);
		H5Fclose(file);
		H5Pclose(fcpl);
		assert_int_equal(h5guard_seal(path, f->err, sizeof(f->err)), 0);
		assert_int_equal(dataset_load(path, 0, &d, f->err, sizeof(f->err)), -1);
		assert_non_null(strstr(f->err, "no dataset /train/images"));
	}
}

/* fuzz_idx's first finding: 16 bytes announcing 67108864 x 3 x 4 images
 * (805 MB) and no data.  In a child whose address space may grow by at
 * most 256 MiB, idx_read must say the file is truncated: an allocation
 * of the announced size fails there (the old reader reported "out of
 * memory", or under ASan died). */
static void test_idx_huge_header_no_data(void **state)
{
	struct fixture *f = *state;
	static const uint8_t hdr[16] = {
		0, 0, 0x08, 3, 0x04, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4,
	};
	char path[256];
	pid_t pid;
	int status;

	path_of(f, "huge-idx3-ubyte", path, sizeof(path));
	write_file(path, hdr, sizeof(hdr), false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned long long vm_kb = 0;
		char line[256];
		FILE *fp = fopen("/proc/self/status", "r");
		struct rlimit rl;
		uint32_t dims[3];
		uint8_t *out = (uint8_t *)1;
		int rc;

		while (fp && fgets(line, sizeof(line), fp))
			if (sscanf(line, "VmSize: %llu kB", &vm_kb) == 1)
				break;
		if (fp)
			fclose(fp);
		if (!vm_kb)
			_exit(3);
		rl.rlim_cur = rl.rlim_max = (rlim_t)(vm_kb * 1024 + (256ull << 20));
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(4);
		rc = idx_read(path, 3, dims, &out, f->err, sizeof(f->err));
		if (rc != -1 || out != NULL) {
			fprintf(stderr, "idx_read returned %d\n", rc);
			_exit(1);
		}
		if (!strstr(f->err, "truncated: the header promises 805306368 bytes of data, "
			    "the file has 0")) {
			fprintf(stderr, "error: %s\n", f->err);
			_exit(2);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the child reading the 805 MB header failed (status 0x%x)", status);
}

static size_t read_whole(const char *path, uint8_t **out)
{
	FILE *fp = fopen(path, "rb");
	long len;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	assert_true(len > 0);
	rewind(fp);
	*out = malloc((size_t)len);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return (size_t)len;
}

/* dataset_load on PATH must fail with an error naming PATH and saying WANT. */
static void expect_load_error(struct fixture *f, const char *path, unsigned flags,
			      const char *want)
{
	struct data_split d;

	assert_int_equal(dataset_load(path, flags, &d, f->err, sizeof(f->err)), -1);
	if (!strstr(f->err, want) || !strstr(f->err, path))
		fail_msg("error '%s' does not say '%s' about %s", f->err, want, path);
	assert_null(d.train.images);
	assert_null(d.test.labels);
}

/* The guard: a sealed file loads; a changed byte anywhere after the user
 * block, a truncated file, a foreign HDF5 file and a changed header are
 * refused before libhdf5 parses them. */
static void test_hdf5_guard(void **state)
{
	struct fixture *f = *state;
	struct data_split a, b;
	char path[256], bad[256];
	uint8_t *image;
	size_t len;

	write_set(f, 16, false);
	assert_int_equal(dataset_load(f->dir, 0, &a, f->err, sizeof(f->err)), 0);
	path_of(f, "data.h5", path, sizeof(path));
	assert_int_equal(dataset_write_hdf5(path, &a, f->err, sizeof(f->err)), 0);
	len = read_whole(path, &image);
	assert_true(len > H5GUARD_USERBLOCK);
	assert_memory_equal(image, H5GUARD_MAGIC, H5GUARD_MAGIC_LEN);
	assert_memory_equal(image + H5GUARD_USERBLOCK, "\x89HDF\r\n\x1a\n", 8);
	assert_int_equal(h5guard_verify(image, len, "x", f->err, sizeof(f->err)), 0);
	assert_int_equal(dataset_load_hdf5_image(image, len, "mem.h5", 0, &b, f->err,
						 sizeof(f->err)), 0);
	assert_memory_equal(b.train.images, a.train.images, 16 * 12);
	dataset_free(&b);

	/* One byte changed, in the superblock, in the middle, the last. */
	path_of(f, "bad.h5", bad, sizeof(bad));
	{
		size_t at[3] = { H5GUARD_USERBLOCK + 20, len / 2, len - 1 };

		for (int i = 0; i < 3; i++) {
			image[at[i]] ^= 0x01;
			write_file(bad, image, len, false);
			expect_load_error(f, bad, 0,
					  "digest mismatch: the file was changed or truncated");
			/* --hdf5-unverified does not waive a header's check */
			expect_load_error(f, bad, DATASET_HDF5_UNVERIFIED, "digest mismatch");
			assert_int_equal(dataset_load_hdf5_image(image, len, "mem.h5", 0, &b,
								 f->err, sizeof(f->err)), -1);
			assert_non_null(strstr(f->err, "mem.h5: digest mismatch"));
			image[at[i]] ^= 0x01;
		}
	}
	/* Truncated: by one byte, to the user block, inside the header. */
	write_file(bad, image, len - 1, false);
	expect_load_error(f, bad, 0, "truncated or extended");
	write_file(bad, image, H5GUARD_USERBLOCK, false);
	expect_load_error(f, bad, 0, "truncated or extended");
	write_file(bad, image, 100, false);
	expect_load_error(f, bad, 0, "truncated: 100 bytes");
	/* The header's digest changed, or its version. */
	image[40] ^= 0x80;
	write_file(bad, image, len, false);
	expect_load_error(f, bad, 0, "digest mismatch");
	image[40] ^= 0x80;
	image[16] = 2;
	write_file(bad, image, len, false);
	expect_load_error(f, bad, 0, "quorate header version 2, this quorate-train reads 1");
	image[16] = 1;
	/* No header: the same HDF5 file without its user block (what another
	 * tool writes) is refused, and loads with DATASET_HDF5_UNVERIFIED. */
	write_file(bad, image + H5GUARD_USERBLOCK, len - H5GUARD_USERBLOCK, false);
	expect_load_error(f, bad, 0, "not written by quorate-train (no quorate header)");
	assert_int_equal(dataset_load_hdf5_image(image + H5GUARD_USERBLOCK,
						 len - H5GUARD_USERBLOCK, "mem.h5", 0, &b,
						 f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "mem.h5: not written by quorate-train (no quorate header)"));
	assert_int_equal(dataset_load(bad, DATASET_HDF5_UNVERIFIED, &b, f->err,
				      sizeof(f->err)), 0);
	assert_int_equal(b.train.count, 16);
	assert_memory_equal(b.test.labels, a.test.labels, 16);
	dataset_free(&b);
	/* HDF5's signature and then garbage: refused by the guard as not
	 * written by quorate-train, never parsed. */
	write_file(bad, "\x89HDF\r\n\x1a\ngarbage", 15, false);
	expect_load_error(f, bad, 0, "no quorate header");
	free(image);
	dataset_free(&a);
}

/* A sealed file (the guard passes) whose /train/images announces
 * 100000 x 256 x 256 bytes with no storage written: refused before the
 * 6.5 GB allocation, naming the data set. */
static void test_hdf5_unallocated_storage(void **state)
{
	struct fixture *f = *state;
	struct data_split d;
	hsize_t idims[3] = { 100000, 256, 256 }, ldims[1] = { 100000 };
	hsize_t small[3] = { 2, 4, 3 }, slab[1] = { 2 };
	uint8_t pixels[24] = { 0 }, labels[2] = { 1, 2 };
	char path[256];
	hid_t fcpl = h5guard_fcpl(), file, lcpl, space, ds;

	path_of(f, "hollow.h5", path, sizeof(path));
	assert_true(fcpl >= 0);
	file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
	assert_true(file >= 0);
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	assert_true(H5Pset_create_intermediate_group(lcpl, 1) >= 0);
	/* /train: images created, never written; labels written */
	space = H5Screate_simple(3, idims, NULL);
	ds = H5Dcreate2(file, "/train/images", H5T_STD_U8LE, space, lcpl, H5P_DEFAULT,
			H5P_DEFAULT);
	assert_true(ds >= 0);
	H5Dclose(ds);
	H5Sclose(space);
	space = H5Screate_simple(1, ldims, NULL);
	ds = H5Dcreate2(file, "/train/labels", H5T_STD_U8LE, space, lcpl, H5P_DEFAULT,
			H5P_DEFAULT);
	assert_true(ds >= 0);
	H5Dclose(ds);
	H5Sclose(space);
	/* /test: whole */
	space = H5Screate_simple(3, small, NULL);
	ds = H5Dcreate2(file, "/test/images", H5T_STD_U8LE, space, lcpl, H5P_DEFAULT,
			H5P_DEFAULT);
	assert_true(H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels) >= 0);
	H5Dclose(ds);
	H5Sclose(space);
	space = H5Screate_simple(1, slab, NULL);
	ds = H5Dcreate2(file, "/test/labels", H5T_STD_U8LE, space, lcpl, H5P_DEFAULT,
			H5P_DEFAULT);
	assert_true(H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels) >= 0);
	H5Dclose(ds);
	H5Sclose(space);
	H5Pclose(lcpl);
	H5Fclose(file);
	H5Pclose(fcpl);
	assert_int_equal(h5guard_seal(path, f->err, sizeof(f->err)), 0);
	assert_int_equal(dataset_load(path, 0, &d, f->err, sizeof(f->err)), -1);
	if (!strstr(f->err, "/train/images announces 6553600000 bytes but stores 0"))
		fail_msg("%s", f->err);
	assert_non_null(strstr(f->err, path));
	assert_null(d.train.images);
}

/* The real files of Debian's dataset-fashion-mnist (a build dependency). */
static void test_fashion_mnist(void **state)
{
	struct fixture *f = *state;
	struct data_split d;
	uint64_t sum = 0;

	if (dataset_load(DATASET_DEFAULT_DIR, 0, &d, f->err, sizeof(f->err)))
		fail_msg("%s (apt-get install dataset-fashion-mnist)", f->err);
	assert_int_equal(d.train.count, 60000);
	assert_int_equal(d.test.count, 10000);
	assert_int_equal(d.train.rows, 28);
	assert_int_equal(d.train.cols, 28);
	/* Zalando's README: the first training image is an ankle boot (9),
	 * the first test image too; every class has 6000 / 1000 samples. */
	assert_int_equal(d.train.labels[0], 9);
	assert_int_equal(d.test.labels[0], 9);
	for (uint32_t i = 0; i < d.train.count; i++)
		sum += d.train.labels[i];
	assert_int_equal(sum, 6000 * 45);
	dataset_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_plain_and_gz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idx_huge_header_no_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hdf5_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hdf5_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hdf5_unallocated_storage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fashion_mnist, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
