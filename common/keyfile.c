/*
 * keyfile.c - see keyfile.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <secp256k1.h>

#include "hash.h"
#include "keyfile.h"

void keyfile_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

/* Check the opened file itself (fstat), not the path, so that nothing can
 * be swapped in between the check and the read. */
static int check_file(const char *path, int fd, char *err, size_t errlen)
{
	struct stat st;
	uid_t euid = geteuid();

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != euid) {
		snprintf(err, errlen, "%s: owned by uid %lu, not by the user reading it (uid %lu)",
			 path, (unsigned long)st.st_uid, (unsigned long)euid);
		return -1;
	}
	if ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400) {
		snprintf(err, errlen, "%s: mode %04o, must be 0600 or 0400 (chmod 600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int keyfile_read(const char *path, uint8_t key[KEYFILE_KEY_LEN],
		 char *err, size_t errlen)
{
	/* 0x, 64 digits, \r\n and one byte more to notice longer files. */
	char buf[2 + 2 * KEYFILE_KEY_LEN + 2 + 1];
	char digits[2 * KEYFILE_KEY_LEN + 1];
	size_t len = 0, start = 0, pos;
	ssize_t r;
	int fd, rv = -1;

	memset(key, 0, KEYFILE_KEY_LEN);
	/* O_NONBLOCK: a FIFO put in its place must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (check_file(path, fd, err, errlen))
		goto fail;
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len >= 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
		start = 2;
	for (pos = start; pos < len && is_hex(buf[pos]); pos++)
		;
	if (pos - start != 2 * KEYFILE_KEY_LEN) {
		snprintf(err, errlen, "%s: expected 64 hex digits (optionally 0x before, a newline after)",
			 path);
		goto fail;
	}
	memcpy(digits, buf + start, 2 * KEYFILE_KEY_LEN);
	digits[2 * KEYFILE_KEY_LEN] = '\0';
	if (pos < len && buf[pos] == '\r')
		pos++;
	if (pos < len && buf[pos] == '\n')
		pos++;
	if (pos != len) {
		snprintf(err, errlen, "%s: unexpected content after the 64 hex digits", path);
		goto fail;
	}
	if (hex_decode(digits, key, KEYFILE_KEY_LEN) ||
	    !secp256k1_ec_seckey_verify(secp256k1_context_static, key)) {
		snprintf(err, errlen, "%s: not a valid secp256k1 private key (zero or not below the curve order)",
			 path);
		goto fail;
	}
	rv = 0;
fail:
	if (rv)
		keyfile_wipe(key, KEYFILE_KEY_LEN);
	close(fd);
	keyfile_wipe(buf, sizeof(buf));
	keyfile_wipe(digits, sizeof(digits));
	return rv;
}
