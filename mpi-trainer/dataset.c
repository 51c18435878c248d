/*
 * dataset.c - see dataset.h.  zlib's gzread reads gzip and plain files
 * alike, so one reader serves the .gz files Debian ships and unpacked ones.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <zlib.h>

#include "dataset.h"
#include "h5guard.h"

#define IDX_MAX_COUNT 100000000u	/* samples */
#define IDX_MAX_SIDE 65536u		/* rows, columns */
#define IDX_MAX_BYTES (UINT64_C(1) << 33)
#define IDX_FIRST_CHUNK (UINT64_C(1) << 20)	/* then doubled as data comes */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Read up to len bytes; returns what it read, or -1 on a zlib error with
 * the reason in err.  A gzip stream that ends early reads short. */
static int64_t gz_read_full(gzFile gz, const char *path, void *buf, uint64_t len,
			    char *err, size_t errlen)
{
	uint64_t done = 0;

	while (done < len) {
		unsigned chunk = len - done > (1u << 30) ? (1u << 30) : (unsigned)(len - done);
		int n = gzread(gz, (uint8_t *)buf + done, chunk);

		if (n < 0) {
			int zerr;
			const char *msg = gzerror(gz, &zerr);

			if (zerr == Z_ERRNO)
				set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
			else
				set_err(err, errlen, "%s: corrupt gzip data: %s", path, msg);
			return -1;
		}
		if (n == 0)
			break;
		done += (uint64_t)n;
	}
	return (int64_t)done;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int idx_read(const char *path, int ndims, uint32_t dims[3], uint8_t **data,
	     char *err, size_t errlen)
{
	int rv = -1;
	gzFile gz;
	uint8_t hdr[4], dimbuf[12], extra;
	uint8_t *buf = NULL;
	uint64_t total = 1;
	int64_t got;

	*data = NULL;
	errno = 0;
	gz = gzopen(path, "rb");
	if (!gz) {
		set_err(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOMEM));
		return -1;
	}
	got = gz_read_full(gz, path, hdr, sizeof(hdr), err, errlen);
	if (got < 0)
		goto fail;
	if (got < (int64_t)sizeof(hdr)) {
		set_err(err, errlen, "%s: truncated: %lld bytes, shorter than an IDX header",
			path, (long long)got);
		goto fail;
	}
	if (hdr[0] != 0 || hdr[1] != 0) {
		set_err(err, errlen, "%s: not an IDX file (magic bytes %02x %02x %02x %02x)",
			path, hdr[0], hdr[1], hdr[2], hdr[3]);
		goto fail;
	}
	if (hdr[2] != 0x08) {
		set_err(err, errlen, "%s: IDX element type 0x%02x is not supported "
			"(only unsigned bytes, 0x08)", path, hdr[2]);
		goto fail;
	}
	if (hdr[3] != ndims) {
		set_err(err, errlen, "%s: IDX file with %d dimensions; %s have %d",
			path, hdr[3], ndims == 3 ? "images" : "labels", ndims);
		goto fail;
	}
	got = gz_read_full(gz, path, dimbuf, 4 * (uint64_t)ndims, err, errlen);
	if (got < 0)
		goto fail;
	if (got < 4 * ndims) {
		set_err(err, errlen, "%s: truncated in the IDX header", path);
		goto fail;
	}
	for (int i = 0; i < ndims; i++) {
		uint32_t limit = i == 0 ? IDX_MAX_COUNT : IDX_MAX_SIDE;

		dims[i] = be32(dimbuf + 4 * i);
		if (dims[i] == 0 || dims[i] > limit) {
			set_err(err, errlen, "%s: dimension %d is %u (allowed 1..%u)",
				path, i + 1, dims[i], limit);
			goto fail;
		}
		total *= dims[i];
	}
	if (total > IDX_MAX_BYTES) {
		set_err(err, errlen, "%s: %llu bytes of data is more than this reader takes",
			path, (unsigned long long)total);
		goto fail;
	}
	/* The buffer grows with the data actually read: a 16-byte header that
	 * announces gigabytes must not allocate them (found by fuzz_idx). */
	got = 0;
	for (uint64_t cap = 0, step; (uint64_t)got == cap && cap < total; cap += step) {
		uint8_t *grown;
		int64_t n;

		step = cap ? cap : IDX_FIRST_CHUNK;
		if (step > total - cap)
			step = total - cap;
		grown = realloc(buf, cap + step);
		if (!grown) {
			set_err(err, errlen, "%s: out of memory for %llu bytes", path,
				(unsigned long long)(cap + step));
			goto fail;
		}
		buf = grown;
		n = gz_read_full(gz, path, buf + cap, step, err, errlen);
		if (n < 0)
			goto fail;
		got = (int64_t)cap + n;
	}
	if ((uint64_t)got < total) {
		set_err(err, errlen, "%s: truncated: the header promises %llu bytes of data, "
			"the file has %lld", path, (unsigned long long)total, (long long)got);
		goto fail;
	}
	got = gz_read_full(gz, path, &extra, 1, err, errlen);
	if (got < 0)
		goto fail;
	if (got > 0) {
		set_err(err, errlen, "%s: corrupt: data continues past the %llu bytes "
			"the header describes", path, (unsigned long long)total);
		goto fail;
	}
	*data = buf;
	buf = NULL;
	rv = 0;
fail:
	free(buf);
	gzclose(gz);
	return rv;
}

/* DIR/NAME, DIR/NAME.gz, or the MNIST spelling with a dot: first that exists. */
static int find_idx(const char *dir, const char *prefix, const char *kind,
		    char *out, size_t outlen)
{
	static const char seps[] = { '-', '-', '.', '.' };
	static const char *const suffixes[] = { "", ".gz", "", ".gz" };

	for (size_t i = 0; i < sizeof(seps); i++) {
		snprintf(out, outlen, "%s/%s%c%s%s", dir, prefix, seps[i], kind, suffixes[i]);
		if (access(out, R_OK) == 0)
			return 0;
	}
	snprintf(out, outlen, "%s/%s-%s", dir, prefix, kind);
	return -1;
}

static int load_idx_pair(const char *dir, const char *prefix, struct dataset *ds,
			 char *err, size_t errlen)
{
	char ipath[4096], lpath[4096];
	uint32_t idims[3], ldims[3];

	const char *missing = NULL;

	if (find_idx(dir, prefix, "images-idx3-ubyte", ipath, sizeof(ipath)))
		missing = ipath;
	else if (find_idx(dir, prefix, "labels-idx1-ubyte", lpath, sizeof(lpath)))
		missing = lpath;
	if (missing) {
		set_err(err, errlen, "%s: no such file, nor with .gz (Fashion-MNIST: "
			"apt-get install dataset-fashion-mnist; MNIST files work too)", missing);
		return -1;
	}
	if (idx_read(ipath, 3, idims, &ds->images, err, errlen))
		return -1;
	if (idx_read(lpath, 1, ldims, &ds->labels, err, errlen))
		return -1;
	if (ldims[0] != idims[0]) {
		set_err(err, errlen, "%s: %u labels for the %u images of %s",
			lpath, ldims[0], idims[0], ipath);
		return -1;
	}
	ds->count = idims[0];
	ds->rows = idims[1];
	ds->cols = idims[2];
	for (uint32_t i = 0; i < ds->count; i++) {
		if (ds->labels[i] >= DATASET_CLASSES) {
			set_err(err, errlen, "%s: label %u of sample %u is out of range (0..%d)",
				lpath, ds->labels[i], i, DATASET_CLASSES - 1);
			return -1;
		}
	}
	return 0;
}

/* Storage never written reads as the fill value, so a small file could
 * announce (and make the loader allocate) up to 10^8 x 65536 x 65536
 * bytes: the bytes stored must account for the bytes announced.  Filtered
 * (compressed) chunks may hold less, but not below deflate's best ratio
 * (about 1:1032). */
#define H5_MAX_FILTER_RATIO 1100

static int h5_check_storage(hid_t ds, const char *path, const char *name, uint64_t total,
			    char *err, size_t errlen)
{
	hsize_t stored = H5Dget_storage_size(ds);
	hid_t dcpl = H5Dget_create_plist(ds);
	int filters = dcpl >= 0 ? H5Pget_nfilters(dcpl) : -1;

	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (filters < 0) {
		set_err(err, errlen, "%s: cannot read the storage properties of %s", path, name);
		return -1;
	}
	if (filters == 0 ? stored < total : stored < total / H5_MAX_FILTER_RATIO + 1) {
		set_err(err, errlen, "%s: %s announces %llu bytes but stores %llu%s "
			"(storage not written reads as fill values)", path, name,
			(unsigned long long)total, (unsigned long long)stored,
			filters ? " compressed" : "");
		return -1;
	}
	return 0;
}

/* One uint8 dataset of the expected rank; dims[] receives its shape. */
static int h5_read_u8(hid_t file, const char *path, const char *name, int rank,
		      uint32_t dims[3], uint8_t **data, char *err, size_t errlen)
{
	int rv = -1;
	hid_t ds = -1, space = -1, type = -1;
	hsize_t hd[3] = { 0, 0, 0 };
	uint64_t total = 1;

	*data = NULL;
	ds = H5Dopen2(file, name, H5P_DEFAULT);
	if (ds < 0) {
		set_err(err, errlen, "%s: no dataset %s (not written by quorate-train convert?)",
			path, name);
		goto fail;
	}
	space = H5Dget_space(ds);
	type = H5Dget_type(ds);
	if (space < 0 || type < 0 || H5Sget_simple_extent_ndims(space) != rank ||
	    H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1) {
		set_err(err, errlen, "%s: %s is not a %d-dimensional array of bytes",
			path, name, rank);
		goto fail;
	}
	H5Sget_simple_extent_dims(space, hd, NULL);
	for (int i = 0; i < rank; i++) {
		if (hd[i] == 0 || hd[i] > (i == 0 ? IDX_MAX_COUNT : IDX_MAX_SIDE)) {
			set_err(err, errlen, "%s: %s has dimension %d of size %llu",
				path, name, i + 1, (unsigned long long)hd[i]);
			goto fail;
		}
		dims[i] = (uint32_t)hd[i];
		total *= hd[i];
	}
	if (h5_check_storage(ds, path, name, total, err, errlen))
		goto fail;
	*data = malloc(total);
	if (!*data) {
		set_err(err, errlen, "%s: out of memory for %s", path, name);
		goto fail;
	}
	if (H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) < 0) {
		set_err(err, errlen, "%s: cannot read %s (corrupt file?)", path, name);
		free(*data);
		*data = NULL;
		goto fail;
	}
	rv = 0;
fail:
	if (type >= 0)
		H5Tclose(type);
	if (space >= 0)
		H5Sclose(space);
	if (ds >= 0)
		H5Dclose(ds);
	return rv;
}

static int load_h5_split(hid_t file, const char *path, const char *group,
			 struct dataset *ds, char *err, size_t errlen)
{
	char iname[64], lname[64];
	uint32_t idims[3], ldims[3];

	snprintf(iname, sizeof(iname), "/%s/images", group);
	snprintf(lname, sizeof(lname), "/%s/labels", group);
	if (h5_read_u8(file, path, iname, 3, idims, &ds->images, err, errlen) ||
	    h5_read_u8(file, path, lname, 1, ldims, &ds->labels, err, errlen))
		return -1;
	if (idims[0] != ldims[0]) {
		set_err(err, errlen, "%s: %u labels for %u images in /%s", path,
			ldims[0], idims[0], group);
		return -1;
	}
	ds->count = idims[0];
	ds->rows = idims[1];
	ds->cols = idims[2];
	for (uint32_t i = 0; i < ds->count; i++) {
		if (ds->labels[i] >= DATASET_CLASSES) {
			set_err(err, errlen, "%s: %s: label %u of sample %u is out of range (0..%d)",
				path, lname, ds->labels[i], i, DATASET_CLASSES - 1);
			return -1;
		}
	}
	return 0;
}

/* Both splits of an open HDF5 file; NAME says where it came from in errors. */
static int load_h5_splits(hid_t file, const char *name, struct data_split *d,
			  char *err, size_t errlen)
{
	if (load_h5_split(file, name, "train", &d->train, err, errlen) ||
	    load_h5_split(file, name, "test", &d->test, err, errlen))
		return -1;
	return 0;
}

static int check_split_shapes(const char *name, const struct data_split *d,
			      char *err, size_t errlen)
{
	if (d->train.rows != d->test.rows || d->train.cols != d->test.cols) {
		set_err(err, errlen, "%s: training images are %ux%u, test images %ux%u",
			name, d->train.rows, d->train.cols, d->test.rows, d->test.cols);
		return -1;
	}
	return 0;
}

/* HDF5's signature, at 0 or a power of two from 512 on (a user block). */
static int is_hdf5(const uint8_t *image, size_t len)
{
	static const uint8_t sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };

	for (size_t at = 0; at + sizeof(sig) <= len; at = at ? 2 * at : 512)
		if (!memcmp(image + at, sig, sizeof(sig)))
			return 1;
	return 0;
}

int dataset_load(const char *path, unsigned flags, struct data_split *d,
		 char *err, size_t errlen)
{
	struct stat st;
	int rv = -1;

	memset(d, 0, sizeof(*d));
	if (stat(path, &st)) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (load_idx_pair(path, "train", &d->train, err, errlen) ||
		    load_idx_pair(path, "t10k", &d->test, err, errlen))
			goto fail;
	} else {
		void *image;
		size_t len;

		if (h5guard_read_file(path, &image, &len, err, errlen))
			goto fail;
		if (!h5guard_has_header(image, len) && !(flags & DATASET_HDF5_UNVERIFIED)) {
			if (is_hdf5(image, len))
				set_err(err, errlen, "%s: an HDF5 file not written by quorate-train "
					"(no quorate header): `quorate-train convert "
					"--hdf5-unverified --data %s --output FILE.h5` converts it, "
					"--hdf5-unverified loads it as it is", path, path);
			else
				set_err(err, errlen, "%s: neither a directory of IDX files nor an "
					"HDF5 file written by quorate-train (no quorate header)",
					path);
			free(image);
			goto fail;
		}
		rv = dataset_load_hdf5_image(image, len, path, flags, d, err, errlen);
		free(image);
		return rv;
	}
	if (check_split_shapes(path, d, err, errlen))
		goto fail;
	return 0;
fail:
	dataset_free(d);
	return -1;
}

int dataset_load_hdf5_image(const void *image, size_t len, const char *name,
			    unsigned flags, struct data_split *d, char *err, size_t errlen)
{
	hid_t file;
	int rv = -1;

	memset(d, 0, sizeof(*d));
	/* libhdf5 sees only files quorate-train sealed (h5guard.h), unless the
	 * caller accepts a foreign file: one with a header must still match. */
	if ((h5guard_has_header(image, len) || !(flags & DATASET_HDF5_UNVERIFIED)) &&
	    h5guard_verify(image, len, name, err, errlen))
		return -1;
	file = h5guard_open_image(image, len, name, err, errlen);
	if (file < 0)
		return -1;
	if (load_h5_splits(file, name, d, err, errlen) ||
	    check_split_shapes(name, d, err, errlen))
		goto out;
	rv = 0;
out:
	H5Fclose(file);
	if (rv)
		dataset_free(d);
	return rv;
}

void dataset_limit(struct data_split *d, uint32_t n)
{
	if (n && d->train.count > n)
		d->train.count = n;
	if (n && d->test.count > n)
		d->test.count = n;
}

static int h5_write_u8(hid_t file, const char *name, int rank, const hsize_t *dims,
		       const uint8_t *data)
{
	hid_t space = H5Screate_simple(rank, dims, NULL), ds = -1, lcpl;
	int rv = -1;

	if (space < 0)
		return -1;
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0)
		ds = H5Dcreate2(file, name, H5T_STD_U8LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
	if (ds >= 0 && H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0)
		rv = 0;
	if (ds >= 0)
		H5Dclose(ds);
	if (lcpl >= 0)
		H5Pclose(lcpl);
	H5Sclose(space);
	return rv;
}

int dataset_write_hdf5(const char *path, const struct data_split *d,
		       char *err, size_t errlen)
{
	const struct dataset *sets[2] = { &d->train, &d->test };
	const char *groups[2] = { "train", "test" };
	char tmp[4096];
	hid_t file, fcpl;
	int rv = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		set_err(err, errlen, "%s: path too long", path);
		return -1;
	}
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	fcpl = h5guard_fcpl();
	file = fcpl >= 0 ? H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT) : -1;
	if (fcpl >= 0)
		H5Pclose(fcpl);
	if (file < 0) {
		set_err(err, errlen, "%s: cannot create the HDF5 file", tmp);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		char name[64];
		hsize_t idims[3] = { sets[i]->count, sets[i]->rows, sets[i]->cols };
		hsize_t ldims[1] = { sets[i]->count };

		snprintf(name, sizeof(name), "/%s/images", groups[i]);
		if (h5_write_u8(file, name, 3, idims, sets[i]->images))
			goto fail;
		snprintf(name, sizeof(name), "/%s/labels", groups[i]);
		if (h5_write_u8(file, name, 1, ldims, sets[i]->labels))
			goto fail;
	}
	if (H5Fclose(file) < 0) {
		file = -1;
		goto fail;
	}
	file = -1;
	if (h5guard_seal(tmp, err, errlen)) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path)) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
fail:
	set_err(err, errlen, "%s: writing the HDF5 file failed (disk full?)", tmp);
	if (file >= 0)
		H5Fclose(file);
	unlink(tmp);
	return rv;
}

void dataset_free(struct data_split *d)
{
	free(d->train.images);
	free(d->train.labels);
	free(d->test.images);
	free(d->test.labels);
	memset(d, 0, sizeof(*d));
}
