/*
 * dataset.h - Fashion-MNIST (or MNIST) images and labels, from the IDX files
 * as LeCun published them (plain or gzip-compressed, as Debian's
 * dataset-fashion-mnist ships them) or from an HDF5 file written by
 * `quorate-train convert` (sealed with a SHA-256 header, h5guard.h).  Every malformed input is an error that names the
 * file and what is wrong with it.
 */
#ifndef QUORATE_TRAIN_DATASET_H
#define QUORATE_TRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#define DATASET_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define DATASET_CLASSES 10

struct dataset {
	uint32_t count, rows, cols;
	uint8_t *images;	/* count x rows x cols, row-major */
	uint8_t *labels;	/* count, each < DATASET_CLASSES */
};

struct data_split {
	struct dataset train, test;
};

/* Read one IDX file of unsigned bytes with NDIMS dimensions (3: images,
 * 1: labels), plain or gzip.  dims[] receives the sizes, *data a malloc'd
 * array of their product.  0, or -1 with "PATH: why" in err. */
int idx_read(const char *path, int ndims, uint32_t dims[3], uint8_t **data,
	     char *err, size_t errlen);

/* dataset_load() flags: also load an HDF5 file without a quorate header
 * (written by another tool: libhdf5 parses it unchecked, and Debian's
 * libhdf5 1.10.8 can crash on a malformed one).  A file with a header must
 * match it all the same. */
#define DATASET_HDF5_UNVERIFIED 1u

/* Load a data set: PATH is a directory holding train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte
 * (each optionally .gz), or an HDF5 file from dataset_write_hdf5(), whose
 * quorate header (h5guard.h) is checked before libhdf5 parses it. */
int dataset_load(const char *path, unsigned flags, struct data_split *d,
		 char *err, size_t errlen);

/* The same HDF5 layout from a file image of LEN bytes in memory (the core
 * driver, nothing touches the disk), checked the same way; NAME only names
 * it in errors. */
int dataset_load_hdf5_image(const void *image, size_t len, const char *name,
			    unsigned flags, struct data_split *d, char *err, size_t errlen);

/* Keep only the first N samples of each set (N = 0 keeps everything). */
void dataset_limit(struct data_split *d, uint32_t n);

/* /train/images (N x rows x cols, uint8), /train/labels, /test/..., with
 * the quorate header in the user block (via PATH.tmp and rename). */
int dataset_write_hdf5(const char *path, const struct data_split *d,
		       char *err, size_t errlen);

void dataset_free(struct data_split *d);

#endif
