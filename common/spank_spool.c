/*
 * spank_spool.c - see spank_spool.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spank_spool.h"

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

/* One private directory: made if missing, checked, tightened to 0700. */
static int private_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (mkdir(path, 0700) && errno != EEXIST) {
		set_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "%s: %s", path,
			errno == ELOOP || errno == ENOTDIR ?
			"not a directory (a link or a file?)" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		set_err(err, errlen, "%s is owned by uid %u, not %u: refusing to use it",
			path, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700)) {
		set_err(err, errlen, "cannot chmod 0700 %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int spank_spool_prepare(const char *dir, char *err, size_t errlen)
{
	char sub[PATH_MAX];

	if (private_dir(dir, err, errlen))
		return -1;
	if (snprintf(sub, sizeof(sub), "%s/%s", dir, SPANK_SPOOL_OUT) >= (int)sizeof(sub) ||
	    private_dir(sub, err, errlen))
		return -1;
	if (snprintf(sub, sizeof(sub), "%s/%s", dir, SPANK_SPOOL_REJECTED) >= (int)sizeof(sub) ||
	    private_dir(sub, err, errlen))
		return -1;
	return 0;
}

int spank_spool_record_name(char *buf, size_t len, const char *cluster,
			    uint32_t job, uint32_t step, int replica, int part)
{
	int n;

	if (!cluster)
		cluster = "";
	for (const char *p = cluster; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return -1;
	}
	n = snprintf(buf, len, "%u.%u.%d.%d@%s.json", job, step, replica, part,
		     cluster);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int spank_spool_output_path(char *buf, size_t len, const char *dir,
			    uint32_t job, uint32_t step, uint32_t task)
{
	int n = snprintf(buf, len, "%s/%s/%u.%u.%u", dir, SPANK_SPOOL_OUT, job,
			 step, task);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int write_all(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

int spank_spool_write(const char *dir, const char *subdir, const char *name,
		      const char *text, size_t len, char *err, size_t errlen)
{
	char where[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX];
	int fd = -1, dfd = -1, rv = -1;

	if (snprintf(where, sizeof(where), "%s%s%s", dir, subdir ? "/" : "",
		     subdir ? subdir : "") >= (int)sizeof(where) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", where, name,
		     (long)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(final, sizeof(final), "%s/%s", where, name) >= (int)sizeof(final)) {
		set_err(err, errlen, "spool path too long: %s/%s", where, name);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, text, len) || fsync(fd)) {
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final)) {
		set_err(err, errlen, "cannot rename %s to %s: %s", tmp, final,
			strerror(errno));
		goto fail;
	}
	/* The rename itself must survive a crash. */
	dfd = open(where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rv;
}
