/*
 * spank_files.c - open --verify's files with the job user's rights.
 *
 * slurmstepd runs task_exit as root; reading a path the user named with
 * root's rights would hand the user any file on the node.  The files are
 * opened in a short-lived thread that first takes the user's groups, gid
 * and uid with the raw system calls, which (unlike glibc's wrappers)
 * change the calling thread only: slurmstepd keeps root, and the kernel
 * checks every open as the user's.  The descriptors are the process's and
 * stay valid after the thread ends.  A thread stuck on a hung file system
 * is left behind after the timeout; it cleans up after itself.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "spank_quorate.h"

struct open_job {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done, abandoned;
	uid_t uid;
	gid_t gid;
	gid_t *gids;
	int ngids;
	int dirfd;			/* our own copy */
	char **paths;			/* copies: an abandoned thread outlives the caller's */
	size_t n;
	struct spank_file *files;
	int failed_errno;		/* the credential switch failed */
	char failed_what[32];
};

static void job_free(struct open_job *j)
{
	if (j->abandoned) {
		for (size_t i = 0; i < j->n; i++)
			if (j->files[i].state == SPANK_FILE_PRESENT && j->files[i].fd >= 0)
				close(j->files[i].fd);
	}
	if (j->dirfd >= 0)
		close(j->dirfd);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j->gids);
	for (size_t i = 0; j->paths && i < j->n; i++)
		free(j->paths[i]);
	free(j->paths);
	free(j->files);
	free(j);
}

static void open_files(struct open_job *j)
{
	if (getuid() != j->uid || geteuid() != j->uid) {
		/* Groups first: without root the uid change is one-way. */
		if (syscall(SYS_setgroups, (size_t)j->ngids, j->gids)) {
			j->failed_errno = errno;
			snprintf(j->failed_what, sizeof(j->failed_what), "setgroups");
			return;
		}
		if (syscall(SYS_setresgid, j->gid, j->gid, j->gid)) {
			j->failed_errno = errno;
			snprintf(j->failed_what, sizeof(j->failed_what), "setresgid");
			return;
		}
		if (syscall(SYS_setresuid, j->uid, j->uid, j->uid)) {
			j->failed_errno = errno;
			snprintf(j->failed_what, sizeof(j->failed_what), "setresuid");
			return;
		}
	}
	for (size_t i = 0; i < j->n; i++) {
		struct spank_file *f = &j->files[i];
		const char *path = j->paths[i];
		struct stat st;
		int fd;

		f->path = path;
		f->fd = -1;
		if (path[0] != '/' && j->dirfd < 0) {
			f->state = SPANK_FILE_UNREADABLE;
			continue;
		}
		/* Non-blocking: a FIFO must not hang us; checked below. */
		fd = openat(path[0] == '/' ? AT_FDCWD : j->dirfd, path,
			    O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			f->state = spank_file_state_of_errno(errno);
			continue;
		}
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			f->state = SPANK_FILE_UNREADABLE;
			continue;
		}
		f->state = SPANK_FILE_PRESENT;
		f->fd = fd;
	}
}

static void *open_thread(void *arg)
{
	struct open_job *j = arg;
	bool abandoned;

	open_files(j);
	pthread_mutex_lock(&j->lock);
	j->done = true;
	abandoned = j->abandoned;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	if (abandoned)
		job_free(j);
	return NULL;
}

int quorate_open_as_user(uid_t uid, gid_t gid, const gid_t *gids, int ngids,
			 int dirfd, char *const *paths, size_t n,
			 struct spank_file *files, int timeout_s,
			 char *err, size_t errlen)
{
	struct open_job *j = calloc(1, sizeof(*j));
	pthread_condattr_t ca;
	pthread_attr_t ta;
	struct timespec deadline;
	pthread_t tid;
	bool done;
	int rc;

	if (!j) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	j->dirfd = dirfd >= 0 ? fcntl(dirfd, F_DUPFD_CLOEXEC, 0) : -1;
	j->uid = uid;
	j->gid = gid;
	j->ngids = ngids > 0 ? ngids : 0;
	j->gids = malloc((size_t)(j->ngids ? j->ngids : 1) * sizeof(gid_t));
	j->paths = calloc(n ? n : 1, sizeof(char *));
	j->files = calloc(n ? n : 1, sizeof(*j->files));
	j->n = n;
	for (size_t i = 0; j->paths && i < n; i++) {
		j->paths[i] = strdup(paths[i]);
		if (!j->paths[i]) {
			snprintf(err, errlen, "out of memory");
			job_free(j);
			return -1;
		}
	}
	if (!j->gids || !j->paths || !j->files || (dirfd >= 0 && j->dirfd < 0)) {
		snprintf(err, errlen, "out of memory or no descriptor left");
		job_free(j);
		return -1;
	}
	if (j->ngids)
		memcpy(j->gids, gids, (size_t)j->ngids * sizeof(gid_t));
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &ta, open_thread, j);
	pthread_attr_destroy(&ta);
	if (rc) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
		job_free(j);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s > 0 ? timeout_s : 1;
	pthread_mutex_lock(&j->lock);
	while (!j->done) {
		if (pthread_cond_timedwait(&j->cond, &j->lock, &deadline) == ETIMEDOUT)
			break;
	}
	done = j->done;
	if (!done)
		j->abandoned = true;	/* the thread frees it */
	pthread_mutex_unlock(&j->lock);
	if (!done) {
		snprintf(err, errlen, "opening the files took more than %d s (a hung file system?)",
			 timeout_s);
		return -1;
	}
	if (j->failed_errno) {
		snprintf(err, errlen, "cannot take uid %u's credentials (%s): %s",
			 (unsigned)uid, j->failed_what, strerror(j->failed_errno));
		job_free(j);
		return -1;
	}
	/* The paths handed back are the caller's own. */
	for (size_t i = 0; i < n; i++) {
		files[i] = j->files[i];
		files[i].path = paths[i];
	}
	job_free(j);
	return 0;
}
