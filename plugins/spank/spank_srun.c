/*
 * spank_srun.c - local context (srun).
 *
 * local_user_init, once the step's layout is known: a replicated step must
 * split into N groups of equal size; the step's ids are kept.
 *
 * exit, from srun's atexit() after the step ended: wait up to wait=
 * seconds for quorated's verdict.  ACCEPTED: the canonical replica's
 * output once on stdout (--verify=stdout), one line on stderr (naming the
 * exit status when the replicas agree on a failure), and srun exits as it
 * would have when every replica agreed, else with the agreed replicas'
 * status: a replica that lied, or died with its node, does not fail an
 * accepted step (srun 23.11 and later exit 1 after a node failure, 22.05
 * with 0).  ACCEPTED on --verify files that no replica wrote: no
 * result, QUORATE_EXIT_NO_RESULT.  REJECTED or no verdict: one line on
 * stderr and srun leaves with QUORATE_EXIT_REJECTED or
 * QUORATE_EXIT_UNVERIFIED.
 * Slurm 22.05 ignores what slurm_spank_exit returns in srun and offers no
 * other way to change its exit status, so the plugin ends srun itself with
 * _exit() after flushing stdio; it does so only here, in srun.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "hash.h"
#include "qclient.h"
#include "spank_groups.h"
#include "spank_result.h"
#include "spank_quorate.h"

/* The replicas must run the same number of tasks.  Only slurmctld's step
 * layout tells srun how the tasks fell on the nodes (the SPANK items do
 * not); slurmstepd would refuse an uneven step on its own, but srun would
 * then wait for a verdict that cannot come.  0 or -1 (logged). */
static int check_step_layout(uint32_t job, uint32_t step, unsigned replicas)
{
	slurm_step_id_t id = { .job_id = job, .step_het_comp = NO_VAL,
			       .step_id = step };
	slurm_step_layout_t *lay = slurm_job_step_layout_get(&id);
	unsigned *tasks = NULL, *group_of = NULL, *first = NULL, parts;
	char err[512];
	int rv = -1;

	if (!lay) {
		slurm_error("%s: cannot get step %u.%u's layout from slurmctld: %s",
			    QUORATE_SPANK_PREFIX, job, step,
			    slurm_strerror(errno));
		return -1;
	}
	tasks = calloc(lay->node_cnt ? lay->node_cnt : 1, sizeof(*tasks));
	group_of = calloc(lay->node_cnt ? lay->node_cnt : 1, sizeof(*group_of));
	first = calloc(lay->node_cnt ? lay->node_cnt : 1, sizeof(*first));
	if (!tasks || !group_of || !first) {
		slurm_error("%s: out of memory", QUORATE_SPANK_PREFIX);
		goto out;
	}
	for (uint32_t i = 0; i < lay->node_cnt; i++)
		tasks[i] = lay->tasks ? lay->tasks[i] : 0;
	if (spank_replica_groups(lay->node_cnt, NULL, replicas, group_of)) {
		slurm_error("%s: --replicas=%u: cannot split the step's %u nodes",
			    QUORATE_SPANK_PREFIX, replicas, lay->node_cnt);
		goto out;
	}
	if (spank_replica_parts(lay->node_cnt, tasks, group_of, replicas, first,
				&parts, err, sizeof(err))) {
		slurm_error("%s: --replicas=%u: %s", QUORATE_SPANK_PREFIX,
			    replicas, err);
		goto out;
	}
	rv = 0;
out:
	free(tasks);
	free(group_of);
	free(first);
	slurm_job_step_layout_free(lay);
	return rv;
}

int quorate_srun_local_user_init(spank_t sp)
{
	struct spank_request *r = &quorate.request;
	uint32_t nnodes = 0, ntasks = 0;
	char err[512];
	spank_err_t e;

	if (!r->replicas)
		return 0;
	e = spank_get_item(sp, S_JOB_NNODES, &nnodes);
	if (e != ESPANK_SUCCESS) {
		slurm_error("%s: cannot get the step's node count (S_JOB_NNODES): %s",
			    QUORATE_SPANK_PREFIX, spank_strerror(e));
		return -1;
	}
	if (spank_check_step_nodes(r, nnodes, err, sizeof(err))) {
		slurm_error("%s: %s", QUORATE_SPANK_PREFIX, err);
		return -1;
	}
	e = spank_get_item(sp, S_JOB_TOTAL_TASK_COUNT, &ntasks);
	if (e != ESPANK_SUCCESS) {
		slurm_error("%s: cannot get the step's task count (S_JOB_TOTAL_TASK_COUNT): %s",
			    QUORATE_SPANK_PREFIX, spank_strerror(e));
		return -1;
	}
	if (ntasks % r->replicas) {
		slurm_error("%s: --replicas=%u: the step has %u tasks, not a multiple of %u; every replica must run the same tasks",
			    QUORATE_SPANK_PREFIX, r->replicas, ntasks, r->replicas);
		return -1;
	}
	e = spank_get_item(sp, S_JOB_ID, &quorate.local.job);
	if (e == ESPANK_SUCCESS)
		e = spank_get_item(sp, S_JOB_STEPID, &quorate.local.step);
	if (e != ESPANK_SUCCESS) {
		slurm_error("%s: cannot get the step's ids (S_JOB_ID, S_JOB_STEPID): %s",
			    QUORATE_SPANK_PREFIX, spank_strerror(e));
		return -1;
	}
	if (check_step_layout(quorate.local.job, quorate.local.step, r->replicas))
		return -1;
	quorate.local.launched = true;
	return 0;
}

/* Leave srun now, with status, after what was printed is out. */
static void srun_leave(int status)
{
	fflush(stdout);
	fflush(stderr);
	_exit(status);
}

/* The canonical replica's outputs, in part order, on stdout.  Returns the
 * number of parts whose output quorated does not have. */
static size_t print_output(const struct qclient_verdict *v)
{
	size_t missing = 0;

	for (size_t i = 0; i < v->nparts; i++)
		if (!v->parts[i].output)
			missing++;
	if (missing)
		return missing;
	for (size_t i = 0; i < v->nparts; i++) {
		if (v->parts[i].output_len &&
		    fwrite(v->parts[i].output, 1, v->parts[i].output_len, stdout) !=
		    v->parts[i].output_len)
			break;
	}
	fflush(stdout);
	return 0;
}

/* Replicas agree on a failure too: say which, or "" when every task of
 * the canonical replica exited 0. */
static void describe_failure(const struct qclient_verdict *v, char *buf, size_t len)
{
	size_t failed = 0, same = 0;
	int first = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < v->nparts; i++) {
		int st = v->parts[i].exit_status;

		if (!st)
			continue;
		if (!failed++)
			first = st;
		same += st == first;
	}
	if (!failed)
		return;
	if (first < 0)
		snprintf(buf, len, "; every replica failed alike: killed by signal %d", -first);
	else
		snprintf(buf, len, "; every replica failed alike: exit status %d", first);
	if (failed < v->nparts || same < failed)
		snprintf(buf + strlen(buf), len - strlen(buf), " (%zu of %zu tasks failed%s)",
			 failed, v->nparts, same < failed ? ", with several statuses" : "");
}

/* --verify=PATH,...: whether every part of the canonical result is the
 * digest of all files absent, i.e. no replica wrote any of them. */
static bool no_result_produced(const char *verify, const struct qclient_verdict *v)
{
	uint8_t absent[32];

	if (!v->nparts || spank_result_absent_digest(verify, absent))
		return false;
	for (size_t i = 0; i < v->nparts; i++)
		if (memcmp(v->parts[i].sha256, absent, sizeof(absent)))
			return false;
	return true;
}

/* The canonical replica's exit status as srun reports one replica's:
 * its tasks' highest, a task killed by signal S counting as 128 + S. */
static int agreed_status(const struct qclient_verdict *v)
{
	int status = 0;

	for (size_t i = 0; i < v->nparts; i++) {
		int st = v->parts[i].exit_status;

		if (st < 0)
			st = 128 + (-st & 0x7f);
		if (st > 255)
			st = 255;
		if (st > status)
			status = st;
	}
	return status;
}

static void sleep_seconds(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

void quorate_srun_exit(void)
{
	struct quorate_local *l = &quorate.local;
	struct spank_request *r = &quorate.request;
	struct spank_config *cf = &quorate.config;
	struct qclient_options o = {
		.host = cf->server_host,
		.port = cf->server_port,
		.munge_socket = cf->munge_socket,
		.io_timeout_ms = (int)cf->timeout * 1000,
	};
	struct qclient_verdict v = { .canonical = -1 };
	struct qclient_error e = { .cls = QCLIENT_OK };
	enum qclient_class cls = QCLIENT_TRANSIENT;
	const char *cluster = getenv("SLURM_CLUSTER_NAME");
	double deadline = quorate_now() + (double)cf->wait, delay = 0.5;
	char hex[SHA256_HEX_LEN + 1];
	struct qclient *c;
	sigset_t sigs;

	if (!l->launched || !r->replicas || !cf->server_host)
		return;
	/* srun blocks these for its signal thread, gone by now: Ctrl-C must
	 * stop the wait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);

	c = qclient_new(&o, &e);
	if (!c) {
		fprintf(stderr, "quorate: step %u.%u not verified: %s\n", l->job,
			l->step, e.message);
		srun_leave(QUORATE_EXIT_UNVERIFIED);
	}
	for (;;) {
		double left = deadline - quorate_now();
		int wait_s = left <= 0 ? 0 : left > 3600 ? 3600 : (int)left;

		qclient_verdict_free(&v);
		cls = qclient_get_verdict(c, cluster, l->job, l->step, wait_s,
					  true, &v, &e);
		if (cls == QCLIENT_OK && (v.state == QCLIENT_VERDICT_ACCEPTED ||
					  v.state == QCLIENT_VERDICT_REJECTED))
			break;
		if (cls == QCLIENT_PERMANENT)
			break;
		left = deadline - quorate_now();
		if (left <= 0)
			break;
		if (cls == QCLIENT_TRANSIENT) {
			/* quorated restarting: back off, up to 5 s. */
			sleep_seconds(delay < left ? delay : left);
			delay = delay * 2 > 5 ? 5 : delay * 2;
		} else {
			/* Undecided before the wait was over: ask again soon. */
			sleep_seconds(left < 1 ? left : 1);
		}
	}
	qclient_free(c);
	if (cls == QCLIENT_OK && v.state == QCLIENT_VERDICT_ACCEPTED) {
		bool files = strcmp(r->verify, "stdout") != 0;
		size_t missing = 0;
		char failure[128];

		if (files && no_result_produced(r->verify, &v)) {
			fprintf(stderr, "quorate: step %u.%u NO RESULT: no replica wrote %s (--verify); %d of %d agree only that %s absent\n",
				l->job, l->step, r->verify, v.agree, v.replicas,
				strchr(r->verify, ',') ? "they are" : "it is");
			qclient_verdict_free(&v);
			srun_leave(QUORATE_EXIT_NO_RESULT);
		}
		if (!files)
			missing = print_output(&v);
		describe_failure(&v, failure, sizeof(failure));
		hex_encode(v.digest, sizeof(v.digest), hex);
		fprintf(stderr, "quorate: step %u.%u verified %d/%d (quorum %d) sha256=%s%s\n",
			l->job, l->step, v.agree, v.replicas, v.quorum,
			v.has_digest ? hex : "?", failure);
		if (missing)
			fprintf(stderr, "quorate: step %u.%u: output not printed: quorated has no output for %zu of %zu parts (above max_output=%ld bytes, or its MaxOutputSize); their SHA-256 was verified\n",
				l->job, l->step, missing, v.nparts, cf->max_output);
		if (v.agree < v.replicas) {
			int status = agreed_status(&v);

			qclient_verdict_free(&v);
			srun_leave(status);
		}
		qclient_verdict_free(&v);
		return;		/* srun exits as it would have */
	}
	if (cls == QCLIENT_OK && v.state == QCLIENT_VERDICT_REJECTED) {
		fprintf(stderr, "quorate: step %u.%u REJECTED: no %d of %d agree (%d reported, %d missing)\n",
			l->job, l->step, v.quorum, v.replicas, v.reported, v.missing);
		qclient_verdict_free(&v);
		srun_leave(QUORATE_EXIT_REJECTED);
	}
	if (cls == QCLIENT_OK)
		fprintf(stderr, "quorate: step %u.%u not verified: no verdict within %ld s (%d of %d replicas reported; `quorate verdict %u.%u` tells it later)\n",
			l->job, l->step, cf->wait, v.reported,
			v.replicas ? v.replicas : (int)r->replicas, l->job, l->step);
	else
		fprintf(stderr, "quorate: step %u.%u not verified: %s (%s)\n",
			l->job, l->step, e.message, e.code);
	qclient_verdict_free(&v);
	srun_leave(QUORATE_EXIT_UNVERIFIED);
}
