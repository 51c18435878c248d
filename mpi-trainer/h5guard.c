/*
 * h5guard.c - see h5guard.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
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

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

hid_t h5guard_fcpl(void)
{
	hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);

	if (fcpl >= 0 && H5Pset_userblock(fcpl, H5GUARD_USERBLOCK) < 0) {
		H5Pclose(fcpl);
		return -1;
	}
	return fcpl;
}

int h5guard_seal(const char *path, char *err, size_t errlen)
{
	uint8_t hdr[H5GUARD_HEADER_LEN] = { 0 };
	struct stat st;
	int fd, rv = -1;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot open to seal: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || st.st_size < H5GUARD_USERBLOCK) {
		set_err(err, errlen, "%s: no room for the quorate header (%lld bytes)", path,
			(long long)st.st_size);
		goto out;
	}
	memcpy(hdr, H5GUARD_MAGIC, H5GUARD_MAGIC_LEN);
	put_le(hdr + 16, H5GUARD_VERSION, 4);
	put_le(hdr + 24, (uint64_t)st.st_size - H5GUARD_USERBLOCK, 8);
	errno = 0;
	if (lseek(fd, H5GUARD_USERBLOCK, SEEK_SET) != H5GUARD_USERBLOCK ||
	    sha256_fd(fd, hdr + 32)) {
		set_err(err, errlen, "%s: cannot hash the file: %s", path,
			strerror(errno ? errno : EIO));
		goto out;
	}
	/* The digest covers what was just read: a file that grew or shrank
	 * meanwhile would not verify, so check the size did not move. */
	{
		struct stat after;

		if (fstat(fd, &after) || after.st_size != st.st_size) {
			set_err(err, errlen, "%s: changed while it was being sealed", path);
			goto out;
		}
	}
	if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || fsync(fd)) {
		set_err(err, errlen, "%s: cannot write the quorate header: %s", path,
			strerror(errno ? errno : ENOSPC));
		goto out;
	}
	rv = 0;
out:
	if (close(fd) && rv == 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		rv = -1;
	}
	return rv;
}

int h5guard_has_header(const void *image, size_t len)
{
	return len >= H5GUARD_MAGIC_LEN && !memcmp(image, H5GUARD_MAGIC, H5GUARD_MAGIC_LEN);
}

int h5guard_verify(const void *image, size_t len, const char *name, char *err, size_t errlen)
{
	const uint8_t *p = image;
	uint8_t digest[SHA256_LEN];
	uint64_t version, length;

	if (!h5guard_has_header(image, len)) {
		set_err(err, errlen, "%s: not written by quorate-train (no quorate header)", name);
		return -1;
	}
	if (len < H5GUARD_USERBLOCK) {
		set_err(err, errlen, "%s: truncated: %zu bytes, shorter than the quorate header's "
			"%d-byte block", name, len, H5GUARD_USERBLOCK);
		return -1;
	}
	version = get_le(p + 16, 4);
	if (version != H5GUARD_VERSION || get_le(p + 20, 4) != 0) {
		set_err(err, errlen, "%s: quorate header version %llu, this quorate-train "
			"reads %d", name, (unsigned long long)version, H5GUARD_VERSION);
		return -1;
	}
	length = get_le(p + 24, 8);
	if (length != len - H5GUARD_USERBLOCK) {
		set_err(err, errlen, "%s: the quorate header announces %llu bytes after its block, "
			"the file has %zu: truncated or extended", name,
			(unsigned long long)length, len - H5GUARD_USERBLOCK);
		return -1;
	}
	if (sha256(p + H5GUARD_USERBLOCK, len - H5GUARD_USERBLOCK, digest)) {
		set_err(err, errlen, "%s: cannot compute SHA-256 (out of memory)", name);
		return -1;
	}
	if (memcmp(digest, p + 32, SHA256_LEN)) {
		set_err(err, errlen, "%s: digest mismatch: the file was changed or truncated", name);
		return -1;
	}
	return 0;
}

int h5guard_read_file(const char *path, void **image, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t done = 0;
	int fd, rv = -1;

	*image = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		set_err(err, errlen, "%s: out of memory for its %lld bytes", path,
			(long long)st.st_size);
		goto out;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;		/* shrank meanwhile: the length check says so */
		done += (size_t)n;
	}
	*image = buf;
	*len = done;
	buf = NULL;
	rv = 0;
out:
	free(buf);
	close(fd);
	return rv;
}

hid_t h5guard_open_image(const void *image, size_t len, const char *name,
			 char *err, size_t errlen)
{
	hid_t fapl, file = -1;

	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	fapl = H5Pcreate(H5P_FILE_ACCESS);
	/* the core driver reads from a copy of the image; nothing is written back */
	if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
	    H5Pset_file_image(fapl, (void *)image, len) < 0) {
		set_err(err, errlen, "%s: cannot set up an in-memory HDF5 file", name);
		goto out;
	}
	/* The core driver refuses an image whose name exists on disk (a file
	 * being read by path would): give it one that cannot exist. */
	file = H5Fopen("/dev/null/quorate-h5-image", H5F_ACC_RDONLY, fapl);
	if (file < 0)
		set_err(err, errlen, "%s: not an HDF5 file image", name);
out:
	if (fapl >= 0)
		H5Pclose(fapl);
	return file;
}
