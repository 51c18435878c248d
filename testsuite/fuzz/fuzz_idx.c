/*
 * fuzz_idx - libFuzzer target for the trainer's IDX reader (idx_read in
 * mpi-trainer/dataset.c: plain or gzip, through zlib's gzread).
 *
 * The first byte picks the kind (even: labels, 1 dimension; odd: images,
 * 3 dimensions); the rest is the file, handed over as /proc/self/fd/N of a
 * memfd because idx_read takes a path.  Properties (abort on violation): a
 * refused file names the path in its error and returns no data; an
 * accepted one has every dimension in 1..limit and as many bytes as their
 * product (every byte of them read, ASan checks).
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dataset.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512] = "";
	uint32_t dims[3] = { 0, 0, 0 };
	uint8_t *buf = NULL;
	uint64_t total = 1, sum = 0;
	int ndims, fd;

	if (size < 1)
		return 0;
	ndims = data[0] & 1 ? 3 : 1;
	fd = memfd_create("fuzz-idx", MFD_CLOEXEC);
	check(fd >= 0);
	check(size == 1 || write(fd, data + 1, size - 1) == (ssize_t)(size - 1));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (idx_read(path, ndims, dims, &buf, err, sizeof(err))) {
		check(buf == NULL && !strncmp(err, path, strlen(path)));
		close(fd);
		return 0;
	}
	for (int i = 0; i < ndims; i++) {
		check(dims[i] >= 1);
		total *= dims[i];
	}
	check(buf != NULL);
	for (uint64_t i = 0; i < total; i++)
		sum += buf[i];
	check(sum <= 255 * total);
	free(buf);
	close(fd);
	return 0;
}
