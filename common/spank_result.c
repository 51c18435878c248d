/*
 * spank_result.c - see spank_result.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "spank_result.h"

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void spank_result_free(struct spank_result *r)
{
	free(r->output);
	memset(r, 0, sizeof(*r));
}

/* The output being kept: grows up to max bytes, dropped beyond. */
struct keep {
	bool on;
	size_t max;
	char *buf;
	size_t len, cap;
};

static int keep_add(struct keep *k, const char *data, size_t len)
{
	if (!k->on)
		return 0;
	if (len > k->max - k->len) {	/* too much: the output is not kept */
		free(k->buf);
		k->buf = NULL;
		k->len = k->cap = 0;
		k->on = false;
		return 0;
	}
	if (k->len + len > k->cap) {
		size_t cap = k->cap ? k->cap : 4096;
		char *grown;

		while (cap < k->len + len)
			cap *= 2;
		if (cap > k->max)
			cap = k->max;
		grown = realloc(k->buf, cap ? cap : 1);
		if (!grown)
			return -1;
		k->buf = grown;
		k->cap = cap;
	}
	memcpy(k->buf + k->len, data, len);
	k->len += len;
	return 0;
}

/* Hash fd into ctx (and, when keeping, into k); count into *size. */
static int read_into(int fd, struct sha256_ctx *ctx, struct keep *k,
		     uint64_t *size, char *err, size_t errlen)
{
	char buf[65536];

	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			set_err(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		if (got == 0)
			return 0;
		if (sha256_update(ctx, buf, (size_t)got) ||
		    keep_add(k, buf, (size_t)got)) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
		*size += (uint64_t)got;
	}
}

static void finish_output(struct keep *k, struct spank_result *r)
{
	if (k->on) {
		/* An empty output is an empty string, not "none". */
		if (!k->buf)
			k->buf = malloc(1);
		r->output = k->buf;
		r->output_len = k->len;
		k->buf = NULL;
	}
	free(k->buf);
}

int spank_result_of_fd(int fd, bool want_output, size_t max_output,
		       struct spank_result *r, char *err, size_t errlen)
{
	struct keep k = { .on = want_output, .max = max_output };
	struct sha256_ctx ctx;

	memset(r, 0, sizeof(*r));
	if (sha256_init(&ctx)) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (read_into(fd, &ctx, &k, &r->size, err, errlen)) {
		sha256_abort(&ctx);
		free(k.buf);
		memset(r, 0, sizeof(*r));
		return -1;
	}
	if (sha256_final(&ctx, r->sha256)) {
		free(k.buf);
		memset(r, 0, sizeof(*r));
		set_err(err, errlen, "out of memory");
		return -1;
	}
	finish_output(&k, r);
	if (want_output && !r->output && k.on) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

enum spank_file_state spank_file_state_of_errno(int e)
{
	return e == ENOENT || e == ENOTDIR ? SPANK_FILE_ABSENT : SPANK_FILE_UNREADABLE;
}

/* One file's record in the outer hash: PATH '\0' and its tag, then the
 * SHA-256 of a present file's content. */
static int hash_file(struct sha256_ctx *outer, const struct spank_file *f,
		     struct keep *k, uint64_t *size, char *err, size_t errlen)
{
	char tag = f->state == SPANK_FILE_PRESENT ? 'F' :
		   f->state == SPANK_FILE_ABSENT ? 'A' : 'U';
	struct sha256_ctx inner;
	uint8_t digest[32];
	char why[200];

	if (sha256_update(outer, f->path, strlen(f->path) + 1) ||
	    sha256_update(outer, &tag, 1))
		goto oom;
	if (tag != 'F')
		return 0;
	if (sha256_init(&inner))
		goto oom;
	if (read_into(f->fd, &inner, k, size, why, sizeof(why))) {
		sha256_abort(&inner);
		set_err(err, errlen, "%s: %s", f->path, why);
		return -1;
	}
	if (sha256_final(&inner, digest) ||
	    sha256_update(outer, digest, sizeof(digest)))
		goto oom;
	return 0;
oom:
	set_err(err, errlen, "out of memory");
	return -1;
}

int spank_result_of_files(const struct spank_file *files, size_t n,
			  bool want_output, size_t max_output,
			  struct spank_result *r, char *err, size_t errlen)
{
	struct keep k = { .on = want_output, .max = max_output };
	struct sha256_ctx outer;
	int rv = -1;

	memset(r, 0, sizeof(*r));
	if (sha256_init(&outer)) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (sha256_update(&outer, SPANK_FILES_MAGIC, strlen(SPANK_FILES_MAGIC))) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (hash_file(&outer, &files[i], &k, &r->size, err, errlen))
			goto fail;
	}
	if (sha256_final(&outer, r->sha256)) {
		set_err(err, errlen, "out of memory");
		free(k.buf);
		memset(r, 0, sizeof(*r));
		return -1;
	}
	finish_output(&k, r);
	if (want_output && k.on && !r->output) {
		set_err(err, errlen, "out of memory");
		memset(r, 0, sizeof(*r));
		return -1;
	}
	return 0;
fail:
	sha256_abort(&outer);
	free(k.buf);
	memset(r, 0, sizeof(*r));
	return rv;
}

int spank_result_absent_digest(const char *verify, uint8_t digest[32])
{
	struct spank_result r = { 0 };
	struct spank_file *files = NULL;
	char **paths = NULL, err[64];
	size_t n = 0;
	int rv = -1;

	if (spank_verify_paths(verify, &paths, &n))
		return -1;
	files = calloc(n, sizeof(*files));
	if (!files)
		goto out;
	for (size_t i = 0; i < n; i++)
		files[i] = (struct spank_file){ .path = paths[i], .state = SPANK_FILE_ABSENT, .fd = -1 };
	if (spank_result_of_files(files, n, false, 0, &r, err, sizeof(err)))
		goto out;
	memcpy(digest, r.sha256, 32);
	rv = 0;
out:
	spank_result_free(&r);
	free(files);
	free(paths);
	return rv;
}

int spank_verify_paths(const char *verify, char ***paths, size_t *n)
{
	size_t count = 1, len = strlen(verify);
	char **arr, *copy;
	size_t i = 0;

	*paths = NULL;
	*n = 0;
	for (const char *p = verify; *p; p++)
		count += *p == ',';
	arr = malloc(count * sizeof(char *) + len + 1);
	if (!arr) {
		errno = ENOMEM;
		return -1;
	}
	copy = (char *)(arr + count);
	memcpy(copy, verify, len + 1);
	for (char *p = copy;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (!*p) {
			free(arr);
			errno = EINVAL;
			return -1;
		}
		arr[i++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	*paths = arr;
	*n = i;
	return 0;
}

int spank_verify_expand(const char *pattern, unsigned replica, unsigned part,
			char *out, size_t len)
{
	size_t at = 0;

	for (const char *p = pattern; *p; p++) {
		char num[16];
		const char *add = num;
		size_t alen;

		if (*p != '%') {
			num[0] = *p;
			num[1] = '\0';
		} else if (p[1] == 'r' || p[1] == 'p') {
			snprintf(num, sizeof(num), "%u", p[1] == 'r' ? replica : part);
			p++;
		} else if (p[1] == '%') {
			add = "%";
			p++;
		} else {
			return -1;
		}
		alen = strlen(add);
		if (alen >= len - at)
			return -1;
		memcpy(out + at, add, alen);
		at += alen;
	}
	if (at >= len)
		return -1;
	out[at] = '\0';
	return 0;
}
