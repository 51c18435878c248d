/*
 * checkpoint.c - see checkpoint.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "checkpoint.h"
#include "h5guard.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- writing ---- */

static int attr_put(hid_t obj, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
		    const void *data)
{
	hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
	hid_t a = -1;
	int rv = -1;

	if (space < 0)
		return -1;
	a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0 && H5Awrite(a, mtype, data) >= 0)
		rv = 0;
	if (a >= 0)
		H5Aclose(a);
	H5Sclose(space);
	return rv;
}

static int attr_put_i64(hid_t obj, const char *name, int64_t v)
{
	return attr_put(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &v);
}

static int attr_put_f64(hid_t obj, const char *name, double v)
{
	return attr_put(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &v);
}

static int attr_put_str(hid_t obj, const char *name, const char *s)
{
	hid_t type = H5Tcopy(H5T_C_S1);
	int rv = -1;

	if (type < 0)
		return -1;
	if (H5Tset_size(type, strlen(s) + 1) >= 0)
		rv = attr_put(obj, name, type, type, 1, s);
	H5Tclose(type);
	return rv;
}

static hid_t create_group(hid_t file, const char *name)
{
	return H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

static int put_array(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
		     const hsize_t *dims, const void *data)
{
	hid_t space = H5Screate_simple(rank, dims, NULL), ds = -1;
	int rv = -1;

	if (space < 0)
		return -1;
	ds = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	if (ds >= 0 && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0)
		rv = 0;
	if (ds >= 0)
		H5Dclose(ds);
	H5Sclose(space);
	return rv;
}

static int put_tensors(hid_t file, const char *group, const struct model_layout *lay,
		       const float *data)
{
	hid_t g = create_group(file, group);
	int rv = 0;

	if (g < 0)
		return -1;
	for (int i = 0; i < lay->ntensors && rv == 0; i++) {
		const struct param_tensor *t = &lay->tensors[i];
		hsize_t dims[4];

		for (int d = 0; d < t->ndim; d++)
			dims[d] = (hsize_t)t->dims[d];
		rv = put_array(g, t->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t->ndim, dims,
			       data + t->offset);
	}
	H5Gclose(g);
	return rv;
}

static int put_contributions(hid_t file, const struct train_state *st)
{
	hsize_t n = (hsize_t)st->world_size;
	double *f = malloc(n * sizeof(double) * 2);
	int64_t *v = malloc(n * sizeof(int64_t) * 3);
	hid_t g = -1;
	int rv = -1;

	if (!f || !v)
		goto fail;
	for (hsize_t r = 0; r < n; r++) {
		f[r] = st->ranks[r].compute_seconds;
		f[n + r] = st->ranks[r].comm_seconds;
		v[r] = st->ranks[r].samples;
		v[n + r] = st->ranks[r].accepted;
		v[2 * n + r] = st->ranks[r].rejected;
	}
	g = create_group(file, "/contribution");
	if (g < 0 ||
	    put_array(g, "compute_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &n, f) ||
	    put_array(g, "comm_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &n, f + n) ||
	    put_array(g, "samples", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, v) ||
	    put_array(g, "grads_accepted", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, v + n) ||
	    put_array(g, "grads_rejected", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, v + 2 * n))
		goto fail;
	rv = 0;
fail:
	if (g >= 0)
		H5Gclose(g);
	free(f);
	free(v);
	return rv;
}

/* Make the rename durable; a failure here loses nothing already written. */
static void sync_parent_dir(const char *path)
{
	char copy[4096];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int checkpoint_write(const char *path, const struct train_state *st,
		     const struct model_layout *lay, const float *params,
		     const float *m, const float *v, const float *outer,
		     char *err, size_t errlen)
{
	char tmp[4096];
	hid_t file, root = -1, fcpl;
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
		set_err(err, errlen, "%s: cannot create the checkpoint: %s", tmp,
			strerror(errno ? errno : EIO));
		return -1;
	}
	root = H5Gopen2(file, "/", H5P_DEFAULT);
	if (root < 0 ||
	    attr_put_i64(root, "format", CHECKPOINT_FORMAT) ||
	    attr_put_str(root, "model", st->model) ||
	    attr_put_str(root, "optimizer", st->optimizer) ||
	    attr_put_str(root, "lr_schedule", st->schedule) ||
	    attr_put(root, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &st->seed) ||
	    attr_put_i64(root, "epochs", st->epochs) ||
	    attr_put_i64(root, "batch", st->batch) ||
	    attr_put_f64(root, "lr", st->lr) ||
	    attr_put_f64(root, "momentum", st->momentum) ||
	    attr_put_f64(root, "weight_decay", st->weight_decay) ||
	    attr_put_i64(root, "warmup_steps", st->warmup_steps) ||
	    attr_put_i64(root, "augment", st->augment) ||
	    attr_put_i64(root, "local_steps", st->local_steps) ||
	    attr_put_i64(root, "train_count", st->train_count) ||
	    attr_put_i64(root, "nparams", (int64_t)st->nparams) ||
	    attr_put_i64(root, "world_size", st->world_size) ||
	    attr_put_i64(root, "step", st->step) ||
	    attr_put_i64(root, "epoch", st->epoch) ||
	    attr_put_i64(root, "epoch_step", st->epoch_step) ||
	    attr_put(root, "rng_state", H5T_STD_U64LE, H5T_NATIVE_UINT64, 4, st->rng) ||
	    attr_put_f64(root, "epoch_loss", st->epoch_loss) ||
	    attr_put_i64(root, "epoch_correct", st->epoch_correct) ||
	    attr_put_i64(root, "epoch_samples", st->epoch_samples) ||
	    attr_put_i64(root, "epoch_rejected", st->epoch_rejected) ||
	    attr_put_f64(root, "elapsed_seconds", st->elapsed_seconds))
		goto fail;
	if (put_tensors(file, "/params", lay, params))
		goto fail;
	{
		hid_t g = create_group(file, "/optim");

		if (g < 0)
			goto fail;
		H5Gclose(g);
	}
	if (put_tensors(file, "/optim/m", lay, m) || (v && put_tensors(file, "/optim/v", lay, v)) ||
	    (outer && put_tensors(file, "/optim/outer", lay, outer)))
		goto fail;
	if (st->ranks && put_contributions(file, st))
		goto fail;
	/* Last: the mark that the file is whole. */
	if (attr_put_i64(root, "complete", 1))
		goto fail;
	H5Gclose(root);
	root = -1;
	if (H5Fclose(file) < 0) {
		file = -1;
		goto fail;
	}
	file = -1;
	/* The header (digest of the closed file) and fsync before the rename:
	 * PATH is always a whole, sealed checkpoint, the old or the new. */
	if (h5guard_seal(tmp, err, errlen)) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path)) {
		set_err(err, errlen, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	sync_parent_dir(path);
	return 0;
fail:
	set_err(err, errlen, "%s: writing the checkpoint failed (disk full?)", tmp);
	if (root >= 0)
		H5Gclose(root);
	if (file >= 0)
		H5Fclose(file);
	unlink(tmp);
	return rv;
}

/* ---- reading ---- */

static int attr_get(hid_t obj, const char *name, hid_t mtype, hsize_t n, void *data)
{
	hid_t a, space;
	hssize_t count;
	int rv = -1;

	if (H5Aexists(obj, name) <= 0)
		return -1;
	a = H5Aopen(obj, name, H5P_DEFAULT);
	if (a < 0)
		return -1;
	space = H5Aget_space(a);
	count = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
	if (count == (hssize_t)n && H5Aread(a, mtype, data) >= 0)
		rv = 0;
	if (space >= 0)
		H5Sclose(space);
	H5Aclose(a);
	return rv;
}

static int attr_get_str(hid_t obj, const char *name, char *out, size_t outlen)
{
	hid_t a, ftype, mtype, space;
	size_t size;
	char *buf;
	int rv = -1;

	if (H5Aexists(obj, name) <= 0)
		return -1;
	a = H5Aopen(obj, name, H5P_DEFAULT);
	if (a < 0)
		return -1;
	ftype = H5Aget_type(a);
	space = H5Aget_space(a);
	/* one fixed-length string: H5Aread writes every element into buf */
	size = ftype >= 0 && H5Tget_class(ftype) == H5T_STRING && H5Tis_variable_str(ftype) == 0 &&
	       space >= 0 && H5Sget_simple_extent_npoints(space) == 1 ? H5Tget_size(ftype) : 0;
	buf = size && size < 4096 ? calloc(1, size + 1) : NULL;
	mtype = H5Tcopy(H5T_C_S1);
	if (buf && mtype >= 0 && H5Tset_size(mtype, size) >= 0 && H5Aread(a, mtype, buf) >= 0) {
		snprintf(out, outlen, "%s", buf);
		rv = 0;
	}
	if (mtype >= 0)
		H5Tclose(mtype);
	if (space >= 0)
		H5Sclose(space);
	if (ftype >= 0)
		H5Tclose(ftype);
	free(buf);
	H5Aclose(a);
	return rv;
}

static int get_array(hid_t file, const char *name, hid_t mtype, int rank,
		     const hsize_t *want_dims, void *data)
{
	hid_t ds = H5Dopen2(file, name, H5P_DEFAULT), space = -1;
	hsize_t dims[4];
	int rv = -1;

	if (ds < 0)
		return -1;
	space = H5Dget_space(ds);
	if (space < 0 || H5Sget_simple_extent_ndims(space) != rank)
		goto out;
	H5Sget_simple_extent_dims(space, dims, NULL);
	for (int d = 0; d < rank; d++)
		if (dims[d] != want_dims[d])
			goto out;
	if (H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0)
		rv = 0;
out:
	if (space >= 0)
		H5Sclose(space);
	H5Dclose(ds);
	return rv;
}

static int get_tensors(hid_t file, const char *path, const char *group,
		       const struct model_layout *lay, float *data, char *err, size_t errlen)
{
	for (int i = 0; i < lay->ntensors; i++) {
		const struct param_tensor *t = &lay->tensors[i];
		char name[128];
		hsize_t dims[4];

		for (int d = 0; d < t->ndim; d++)
			dims[d] = (hsize_t)t->dims[d];
		snprintf(name, sizeof(name), "%s/%s", group, t->name);
		if (get_array(file, name, H5T_NATIVE_FLOAT, t->ndim, dims, data + t->offset)) {
			set_err(err, errlen, "%s: %s is missing or not of the model's shape",
				path, name);
			return -1;
		}
	}
	return 0;
}

static int get_contributions(hid_t file, const char *path, struct train_state *st,
			     char *err, size_t errlen)
{
	hsize_t n = (hsize_t)st->world_size;
	double *f = NULL;
	int64_t *v = NULL;
	int rv = -1;

	if (H5Lexists(file, "/contribution", H5P_DEFAULT) <= 0)
		return 0;
	f = malloc(n * sizeof(double) * 2);
	v = malloc(n * sizeof(int64_t) * 3);
	st->ranks = calloc(n, sizeof(*st->ranks));
	if (!f || !v || !st->ranks) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	if (get_array(file, "/contribution/compute_seconds", H5T_NATIVE_DOUBLE, 1, &n, f) ||
	    get_array(file, "/contribution/comm_seconds", H5T_NATIVE_DOUBLE, 1, &n, f + n) ||
	    get_array(file, "/contribution/samples", H5T_NATIVE_INT64, 1, &n, v) ||
	    get_array(file, "/contribution/grads_accepted", H5T_NATIVE_INT64, 1, &n, v + n) ||
	    get_array(file, "/contribution/grads_rejected", H5T_NATIVE_INT64, 1, &n, v + 2 * n)) {
		set_err(err, errlen, "%s: /contribution does not hold %llu ranks", path,
			(unsigned long long)n);
		goto fail;
	}
	for (hsize_t r = 0; r < n; r++) {
		st->ranks[r].compute_seconds = f[r];
		st->ranks[r].comm_seconds = f[n + r];
		st->ranks[r].samples = v[r];
		st->ranks[r].accepted = v[n + r];
		st->ranks[r].rejected = v[2 * n + r];
	}
	rv = 0;
fail:
	free(f);
	free(v);
	return rv;
}

int checkpoint_compatible(const struct train_state *saved, const struct train_state *want,
			  char *err, size_t errlen)
{
#define DIFFER(what, fmt, a, b) do { \
		set_err(err, errlen, "it was written with %s " fmt ", this run has %s " fmt, \
			what, a, what, b); \
		return -1; \
	} while (0)
	if (strcmp(saved->model, want->model))
		DIFFER("--model", "%s", saved->model, want->model);
	if (strcmp(saved->optimizer, want->optimizer))
		DIFFER("--optimizer", "%s", saved->optimizer, want->optimizer);
	if (strcmp(saved->schedule, want->schedule))
		DIFFER("--lr-schedule", "%s", saved->schedule, want->schedule);
	if (saved->seed != want->seed)
		DIFFER("--seed", "%llu", (unsigned long long)saved->seed,
		       (unsigned long long)want->seed);
	if (saved->epochs != want->epochs)
		DIFFER("--epochs", "%d", saved->epochs, want->epochs);
	if (saved->batch != want->batch)
		DIFFER("--batch", "%d", saved->batch, want->batch);
	if (saved->lr != want->lr)
		DIFFER("--lr", "%g", saved->lr, want->lr);
	if (saved->momentum != want->momentum)
		DIFFER("--momentum", "%g", saved->momentum, want->momentum);
	if (saved->weight_decay != want->weight_decay)
		DIFFER("--weight-decay", "%g", saved->weight_decay, want->weight_decay);
	if (saved->warmup_steps != want->warmup_steps)
		DIFFER("--warmup-steps", "%lld", (long long)saved->warmup_steps,
		       (long long)want->warmup_steps);
	if (saved->local_steps != want->local_steps)
		DIFFER("local steps (--local-steps; -1: --adapt)", "%d", saved->local_steps,
		       want->local_steps);
	if (saved->augment != want->augment)
		DIFFER("--augment shift", "%d", saved->augment, want->augment);
	if (saved->train_count != want->train_count)
		DIFFER("a training set of", "%u samples", saved->train_count, want->train_count);
	if (saved->nparams != want->nparams)
		DIFFER("a model of", "%llu parameters", (unsigned long long)saved->nparams,
		       (unsigned long long)want->nparams);
	if (saved->epoch < 0 || saved->epoch > saved->epochs || saved->epoch_step < 0) {
		set_err(err, errlen, "its position (epoch %d, step %d) is out of range",
			saved->epoch, saved->epoch_step);
		return -1;
	}
#undef DIFFER
	return 0;
}

/* checkpoint_read() on an open file; st is zeroed, the file stays open. */
static int read_open_checkpoint(hid_t file, const char *path, const struct train_state *want,
				const struct model_layout *lay, struct train_state *st,
				float *params, float *m, float *v, float *outer,
				char *err, size_t errlen)
{
	hid_t root = -1;
	int64_t format = 0, complete = 0, i64[10];
	char why[512];
	int rv = -1;

	root = H5Gopen2(file, "/", H5P_DEFAULT);
	if (root < 0 || attr_get(root, "complete", H5T_NATIVE_INT64, 1, &complete) ||
	    complete != 1) {
		set_err(err, errlen, "%s: incomplete checkpoint (no completion mark): "
			"it was cut short while being written", path);
		goto fail;
	}
	if (attr_get(root, "format", H5T_NATIVE_INT64, 1, &format) || format != CHECKPOINT_FORMAT) {
		set_err(err, errlen, "%s: checkpoint format %lld, this quorate-train reads %d",
			path, (long long)format, CHECKPOINT_FORMAT);
		goto fail;
	}
	if (attr_get_str(root, "model", st->model, sizeof(st->model)) ||
	    attr_get_str(root, "optimizer", st->optimizer, sizeof(st->optimizer)) ||
	    attr_get_str(root, "lr_schedule", st->schedule, sizeof(st->schedule)) ||
	    attr_get(root, "seed", H5T_NATIVE_UINT64, 1, &st->seed) ||
	    attr_get(root, "epochs", H5T_NATIVE_INT64, 1, &i64[0]) ||
	    attr_get(root, "batch", H5T_NATIVE_INT64, 1, &i64[1]) ||
	    attr_get(root, "lr", H5T_NATIVE_DOUBLE, 1, &st->lr) ||
	    attr_get(root, "momentum", H5T_NATIVE_DOUBLE, 1, &st->momentum) ||
	    attr_get(root, "weight_decay", H5T_NATIVE_DOUBLE, 1, &st->weight_decay) ||
	    attr_get(root, "warmup_steps", H5T_NATIVE_INT64, 1, &st->warmup_steps) ||
	    attr_get(root, "augment", H5T_NATIVE_INT64, 1, &i64[7]) ||
	    attr_get(root, "local_steps", H5T_NATIVE_INT64, 1, &i64[8]) ||
	    attr_get(root, "train_count", H5T_NATIVE_INT64, 1, &i64[2]) ||
	    attr_get(root, "nparams", H5T_NATIVE_INT64, 1, &i64[3]) ||
	    attr_get(root, "world_size", H5T_NATIVE_INT64, 1, &i64[4]) ||
	    attr_get(root, "step", H5T_NATIVE_INT64, 1, &st->step) ||
	    attr_get(root, "epoch", H5T_NATIVE_INT64, 1, &i64[5]) ||
	    attr_get(root, "epoch_step", H5T_NATIVE_INT64, 1, &i64[6]) ||
	    attr_get(root, "rng_state", H5T_NATIVE_UINT64, 4, st->rng) ||
	    attr_get(root, "epoch_loss", H5T_NATIVE_DOUBLE, 1, &st->epoch_loss) ||
	    attr_get(root, "epoch_correct", H5T_NATIVE_INT64, 1, &st->epoch_correct) ||
	    attr_get(root, "epoch_samples", H5T_NATIVE_INT64, 1, &st->epoch_samples) ||
	    attr_get(root, "epoch_rejected", H5T_NATIVE_INT64, 1, &st->epoch_rejected) ||
	    attr_get(root, "elapsed_seconds", H5T_NATIVE_DOUBLE, 1, &st->elapsed_seconds)) {
		set_err(err, errlen, "%s: checkpoint lacks a setting or its position "
			"(not written by quorate-train?)", path);
		goto fail;
	}
	st->epochs = (int32_t)i64[0];
	st->batch = (int32_t)i64[1];
	st->train_count = (uint32_t)i64[2];
	st->nparams = (uint64_t)i64[3];
	st->world_size = (int32_t)i64[4];
	st->epoch = (int32_t)i64[5];
	st->epoch_step = (int32_t)i64[6];
	st->augment = (int32_t)i64[7];
	st->local_steps = (int32_t)i64[8];
	if (i64[4] < 1 || i64[4] > 1 << 20) {
		set_err(err, errlen, "%s: world size %lld in the checkpoint", path, (long long)i64[4]);
		goto fail;
	}
	if (want && checkpoint_compatible(st, want, why, sizeof(why))) {
		set_err(err, errlen, "%s: not this run's checkpoint: %s", path, why);
		goto fail;
	}
	if (get_tensors(file, path, "/params", lay, params, err, errlen) ||
	    get_tensors(file, path, "/optim/m", lay, m, err, errlen) ||
	    (v && get_tensors(file, path, "/optim/v", lay, v, err, errlen)) ||
	    (outer && get_tensors(file, path, "/optim/outer", lay, outer, err, errlen)))
		goto fail;
	if (get_contributions(file, path, st, err, errlen))
		goto fail;
	rv = 0;
fail:
	if (rv)
		train_state_free(st);
	if (root >= 0)
		H5Gclose(root);
	return rv;
}

int checkpoint_read(const char *path, const struct train_state *want,
		    const struct model_layout *lay, struct train_state *st,
		    float *params, float *m, float *v, float *outer, char *err, size_t errlen)
{
	void *image;
	size_t len;
	int rv;

	memset(st, 0, sizeof(*st));
	if (h5guard_read_file(path, &image, &len, err, errlen))
		return -1;
	rv = checkpoint_read_image(image, len, path, want, lay, st, params, m, v, outer,
				   err, errlen);
	free(image);
	return rv;
}

int checkpoint_read_image_unverified(const void *image, size_t len, const char *name,
				     const struct train_state *want,
				     const struct model_layout *lay, struct train_state *st,
				     float *params, float *m, float *v, float *outer,
				     char *err, size_t errlen)
{
	hid_t file;
	int rv;

	memset(st, 0, sizeof(*st));
	file = h5guard_open_image(image, len, name, err, errlen);
	if (file < 0)
		return -1;
	rv = read_open_checkpoint(file, name, want, lay, st, params, m, v, outer, err, errlen);
	H5Fclose(file);
	return rv;
}

int checkpoint_read_image(const void *image, size_t len, const char *name,
			  const struct train_state *want, const struct model_layout *lay,
			  struct train_state *st, float *params, float *m, float *v,
			  float *outer, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	/* libhdf5 sees only files quorate-train sealed (h5guard.h) */
	if (h5guard_verify(image, len, name, err, errlen))
		return -1;
	return checkpoint_read_image_unverified(image, len, name, want, lay, st, params, m, v,
						outer, err, errlen);
}

void train_state_free(struct train_state *st)
{
	free(st->ranks);
	st->ranks = NULL;
}
