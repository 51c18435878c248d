/*
 * spank_report.c - a task's result, hashed and reported at task exit
 * (slurmstepd, root).
 *
 * Time here is slurmstepd's: the report gets timeout= seconds in all, a
 * few attempts with back-off between them, and then goes to the spool,
 * from where `quorate flush-spool` (the Epilog) sends it.  Once a report
 * of the step was spooled, the step's later tasks try only once.  A
 * report quorated refuses for good is logged and kept under rejected/.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qclient.h"
#include "spank_quorate.h"
#include "spank_spool.h"

#define ERR(...) slurm_error(QUORATE_SPANK_PREFIX ": " __VA_ARGS__)

#define MAX_ATTEMPTS 5

/* Exit code, or minus the signal that killed the task. */
static int exit_code(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return -WTERMSIG(wait_status);
	return wait_status & 0xffff;
}

/* --verify=stdout: the task's spool file, read and removed. */
static int stdout_result(struct quorate_remote *q, uint32_t gtid,
			 struct spank_result *res)
{
	char path[PATH_MAX], err[256];
	struct stat st;
	int fd, rc;

	if (spank_spool_output_path(path, sizeof(path), quorate.config.spool,
				    q->job, q->step, gtid)) {
		ERR("spool path too long: %s", quorate.config.spool);
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ERR("step %u.%u task %u: no stdout file %s (%s): the task did not start; not reported",
		    q->job, q->step, gtid, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ERR("%s is not a regular file: not reported", path);
		close(fd);
		return -1;
	}
	rc = spank_result_of_fd(fd, true, (size_t)quorate.config.max_output,
				res, err, sizeof(err));
	close(fd);
	if (rc) {
		ERR("step %u.%u task %u: reading %s: %s; not reported", q->job,
		    q->step, gtid, path, err);
		return -1;
	}
	/* Only the report carries the output from here on. */
	if (unlink(path))
		ERR("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* --verify=PATH,...: the files, opened as the job's user. */
static int files_result(spank_t sp, struct quorate_remote *q,
			struct quorate_task *t, unsigned part,
			struct spank_result *res)
{
	struct spank_file *files = calloc(q->npaths, sizeof(*files));
	char **paths = calloc(q->npaths, sizeof(char *));
	gid_t *gids = NULL;
	int ngids = 0, rv = -1;
	char err[256];
	spank_err_t e;

	if (!files || !paths) {
		ERR("out of memory");
		goto out;
	}
	for (size_t i = 0; i < q->npaths; i++) {
		char buf[PATH_MAX];

		if (spank_verify_expand(q->paths[i], q->replica, part, buf, sizeof(buf))) {
			ERR("--verify path '%.200s' is too long once expanded; not reported",
			    q->paths[i]);
			goto out;
		}
		if (!(paths[i] = strdup(buf))) {
			ERR("out of memory");
			goto out;
		}
	}
	e = spank_get_item(sp, S_JOB_SUPPLEMENTARY_GIDS, &gids, &ngids);
	if (e != ESPANK_SUCCESS) {
		ERR("cannot get S_JOB_SUPPLEMENTARY_GIDS: %s", spank_strerror(e));
		goto out;
	}
	if (quorate_open_as_user(q->uid, q->gid, gids, ngids, t->cwd_fd,
				 paths, q->npaths, files,
				 (int)quorate.config.timeout, err, sizeof(err))) {
		ERR("step %u.%u: --verify files: %s; not reported", q->job,
		    q->step, err);
		goto out;
	}
	/* Hashed under the names the user gave (before %r, %p). */
	for (size_t i = 0; i < q->npaths; i++)
		files[i].path = q->paths[i];
	/* The files' text is compared number by number in numeric mode. */
	if (spank_result_of_files(files, q->npaths,
				  quorate.request.has_tolerance,
				  (size_t)quorate.config.max_output, res, err,
				  sizeof(err))) {
		ERR("step %u.%u: reading --verify files: %s; not reported",
		    q->job, q->step, err);
	} else {
		rv = 0;
	}
	for (size_t i = 0; i < q->npaths; i++)
		if (files[i].state == SPANK_FILE_PRESENT && files[i].fd >= 0)
			close(files[i].fd);
out:
	for (size_t i = 0; paths && i < q->npaths; i++)
		free(paths[i]);
	free(paths);
	free(files);
	return rv;
}

static void sleep_seconds(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Send one item, retrying transient failures until the deadline.  The
 * class of the last answer; *ack holds it. */
static enum qclient_class deliver(const char *item, int attempts,
				  double deadline, struct qclient_ack *ack)
{
	enum qclient_class cls = QCLIENT_TRANSIENT;
	double delay = 0.25;

	memset(ack, 0, sizeof(*ack));
	for (int attempt = 0; attempt < attempts; attempt++) {
		double left = deadline - quorate_now();
		struct qclient_options o = {
			.host = quorate.config.server_host,
			.port = quorate.config.server_port,
			.munge_socket = quorate.config.munge_socket,
		};
		struct qclient_error e;
		struct qclient *c;

		if (left < 0.1)
			break;
		/* Each attempt fits in what is left of the budget. */
		o.io_timeout_ms = (int)(left * 1000);
		o.connect_timeout_ms = o.io_timeout_ms < 3000 ? o.io_timeout_ms : 3000;
		c = qclient_new(&o, &e);
		if (!c) {
			snprintf(ack->code, sizeof(ack->code), "%s", e.code);
			snprintf(ack->message, sizeof(ack->message), "%s", e.message);
			ack->cls = e.cls;
			return e.cls;
		}
		cls = qclient_send_items(c, &item, 1, ack, &e);
		qclient_free(c);
		if (cls == QCLIENT_OK)
			cls = ack->cls;
		if (cls != QCLIENT_TRANSIENT)
			return cls;
		if (attempt + 1 < attempts) {
			left = deadline - quorate_now();
			sleep_seconds(delay < left - 0.1 ? delay : left - 0.1);
			delay *= 2;
		}
	}
	return cls;
}

static void keep_report(const char *subdir, const char *name, const char *item,
			const char *why)
{
	char err[512];

	if (spank_spool_write(quorate.config.spool, subdir, name, item,
			      strlen(item), err, sizeof(err)))
		ERR("report %s is LOST: %s (it was not delivered: %s)", name,
		    err, why);
	else
		slurm_info("%s: report %s kept in %s%s%s (%s)", QUORATE_SPANK_PREFIX,
			   name, quorate.config.spool, subdir ? "/" : "",
			   subdir ? subdir : "", why);
}

int quorate_report_task(spank_t sp, unsigned local_id, uint32_t gtid,
			int wait_status)
{
	struct quorate_remote *q = &quorate.remote;
	struct quorate_task *t = &q->tasks[local_id];
	struct spank_result res = { .output = NULL };
	struct qclient_result r;
	struct qclient_error e;
	struct qclient_ack ack;
	enum qclient_class cls;
	char name[256], why[300];
	char *item = NULL;
	double deadline;
	int rv = -1;

	if ((q->paths ? files_result(sp, q, t, q->first_part + local_id, &res) :
			stdout_result(q, gtid, &res)))
		goto out;
	memset(&r, 0, sizeof(r));
	r.cluster = q->cluster;
	r.job_id = q->job;
	r.step_id = q->step;
	r.replica = (int)q->replica;
	r.replicas = (int)quorate.request.replicas;
	r.quorum = (int)quorate.request.quorum;
	r.part = (int)(q->first_part + local_id);
	r.parts = (int)q->parts;
	r.node = q->node;
	r.site = NULL;		/* quorated reads the node's site_ feature */
	r.uid = (uint32_t)q->uid;
	memcpy(r.sha256, res.sha256, sizeof(r.sha256));
	r.exit_status = exit_code(wait_status);
	r.runtime = t->forked ? quorate_now() - t->start : 0;
	r.numeric = quorate.request.has_tolerance;
	r.tolerance = r.numeric ? quorate.request.tolerance : 0;
	r.output = res.output;
	r.output_len = res.output_len;
	r.layout = (const char *const *)q->layout;
	if (spank_spool_record_name(name, sizeof(name), q->cluster, q->job,
				    q->step, r.replica, r.part)) {
		ERR("cluster name '%.64s' cannot name a spool file", q->cluster);
		goto out;
	}
	item = qclient_result_json(&r, &e);
	if (!item) {
		ERR("step %u.%u part %d: %s; not reported", q->job, q->step,
		    r.part, e.message);
		goto out;
	}
	deadline = quorate_now() + (double)quorate.config.timeout;
	cls = deliver(item, q->spooled ? 1 : MAX_ATTEMPTS, deadline, &ack);
	if (cls == QCLIENT_PERMANENT && !strcmp(ack.code, "too_large") && r.output) {
		/* The hash is the result; the output was only a convenience. */
		slurm_info("%s: step %u.%u part %d: output of %zu bytes too large for quorated; reporting without it",
			   QUORATE_SPANK_PREFIX, q->job, q->step, r.part, r.output_len);
		free(item);
		r.output = NULL;
		r.output_len = 0;
		item = qclient_result_json(&r, &e);
		if (!item) {
			ERR("step %u.%u part %d: %s; not reported", q->job,
			    q->step, r.part, e.message);
			goto out;
		}
		cls = deliver(item, q->spooled ? 1 : MAX_ATTEMPTS, deadline, &ack);
	}
	snprintf(why, sizeof(why), "%s: %s", ack.code[0] ? ack.code : "timeout",
		 ack.message[0] ? ack.message : "no answer in time");
	switch (cls) {
	case QCLIENT_OK:
		slurm_debug("%s: step %u.%u replica %d part %d reported (%s)",
			    QUORATE_SPANK_PREFIX, q->job, q->step, r.replica,
			    r.part, ack.duplicate ? "duplicate" : "stored");
		rv = 0;
		break;
	case QCLIENT_TRANSIENT:
		q->spooled = true;
		keep_report(NULL, name, item, why);
		rv = 0;
		break;
	case QCLIENT_PERMANENT:
		ERR("quorated refused step %u.%u replica %d part %d: %s",
		    q->job, q->step, r.replica, r.part, why);
		keep_report(SPANK_SPOOL_REJECTED, name, item, why);
		break;
	}
out:
	free(item);
	spank_result_free(&res);
	return rv;
}
