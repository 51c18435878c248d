/*
 * spank_remote.c - remote context (slurmstepd) of a replicated step.
 *
 * init_post_opt (slurmstepd, root): this node's replica group and parts,
 *   QUORATE_REPLICA and QUORATE_REPLICAS for its tasks, the spool.
 * task_init_privileged (the task's process, root, before Slurm sets up its
 *   stdio): the task's spool file, made by root and given to the user.
 * task_init (the task's process, as the user, just before exec): that file
 *   becomes the task's stdout; stderr is left alone.
 * task_post_fork (slurmstepd): start time and working directory.
 * task_exit (slurmstepd, root): spank_report.c.
 */
#define _GNU_SOURCE		/* O_PATH */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "slurm_compat.h"
#include "spank_groups.h"
#include "spank_quorate.h"
#include "spank_spool.h"

#define ERR(...) slurm_error(QUORATE_SPANK_PREFIX ": " __VA_ARGS__)

/* spank_get_item with its failure logged under the item's name. */
#define GET_ITEM(sp, item, ...) \
	get_item_checked(spank_get_item((sp), (item), __VA_ARGS__), #item)

static int get_item_checked(spank_err_t e, const char *name)
{
	if (e == ESPANK_SUCCESS)
		return 0;
	ERR("cannot get %s: %s", name, spank_strerror(e));
	return -1;
}

/* A variable of the step's environment (malloc'd), NULL if unset. */
static char *step_getenv(spank_t sp, const char *name, int *failed)
{
	size_t len = 4096;

	*failed = 0;
	for (;;) {
		char *buf = malloc(len);
		spank_err_t e;

		if (!buf) {
			ERR("out of memory reading %s", name);
			*failed = 1;
			return NULL;
		}
		e = spank_getenv(sp, name, buf, (int)len);
		if (e == ESPANK_SUCCESS)
			return buf;
		free(buf);
		if (e == ESPANK_NOSPACE && len < (1u << 22)) {
			len *= 4;
			continue;
		}
		if (e != ESPANK_ENV_NOEXIST) {
			ERR("cannot read %s from the step's environment: %s",
			    name, spank_strerror(e));
			*failed = 1;
		}
		return NULL;
	}
}

/* The step's node names, in step order, from SLURM_STEP_NODELIST. */
static char **step_node_names(spank_t sp, uint32_t nnodes)
{
	char *list, **names = NULL, *h;
	quorate_hostlist_t hl = NULL;
	uint32_t n = 0;
	int failed;

	list = step_getenv(sp, "SLURM_STEP_NODELIST", &failed);
	if (!list) {
		if (!failed)
			ERR("SLURM_STEP_NODELIST is not in the step's environment: cannot tell the replica groups");
		return NULL;
	}
	hl = slurm_hostlist_create(list);
	names = calloc(nnodes + 1, sizeof(char *));
	if (!hl || !names) {
		ERR("cannot expand the step's node list '%.200s'", list);
		goto fail;
	}
	while ((h = slurm_hostlist_shift(hl))) {
		if (n == nnodes) {
			free(h);
			n++;
			break;
		}
		names[n] = strdup(h);
		free(h);
		if (!names[n]) {
			ERR("out of memory");
			goto fail;
		}
		n++;
	}
	if (n != nnodes) {
		ERR("the step's node list '%.200s' does not have its %u nodes",
		    list, nnodes);
		goto fail;
	}
	slurm_hostlist_destroy(hl);
	free(list);
	return names;
fail:
	if (hl)
		slurm_hostlist_destroy(hl);
	for (uint32_t i = 0; names && i < nnodes; i++)
		free(names[i]);
	free(names);
	free(list);
	return NULL;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* Replica, parts and layout of this node from the step's node list and
 * tasks per node. */
static int plan_replica(spank_t sp, struct quorate_remote *q)
{
	unsigned replicas = quorate.request.replicas;
	unsigned *group_of = NULL, *tasks = NULL, *first = NULL;
	char **names = NULL, *tpn = NULL, err[512];
	int failed, rv = -1;

	names = step_node_names(sp, q->nnodes);
	if (!names)
		goto fail;
	tpn = step_getenv(sp, "SLURM_STEP_TASKS_PER_NODE", &failed);
	if (!tpn) {
		if (!failed)
			ERR("SLURM_STEP_TASKS_PER_NODE is not in the step's environment: cannot number the replicas' tasks");
		goto fail;
	}
	group_of = calloc(q->nnodes, sizeof(*group_of));
	tasks = calloc(q->nnodes, sizeof(*tasks));
	first = calloc(q->nnodes, sizeof(*first));
	q->layout = calloc(replicas + 1, sizeof(char *));	/* NULL-terminated */
	if (!group_of || !tasks || !first || !q->layout) {
		ERR("out of memory");
		goto fail;
	}
	if (spank_replica_groups(q->nnodes, NULL, replicas, group_of)) {
		ERR("--replicas=%u: cannot split %u nodes", replicas, q->nnodes);
		goto fail;
	}
	if (spank_tasks_per_node(tpn, tasks, q->nnodes, err, sizeof(err)) ||
	    spank_replica_parts(q->nnodes, tasks, group_of, replicas, first,
				&q->parts, err, sizeof(err))) {
		ERR("--replicas=%u: %s", replicas, err);
		goto fail;
	}
	if (tasks[q->nodeid] != q->local_tasks) {
		ERR("SLURM_STEP_TASKS_PER_NODE '%.100s' gives node %u %u tasks, slurmstepd has %u",
		    tpn, q->nodeid, tasks[q->nodeid], q->local_tasks);
		goto fail;
	}
	for (unsigned g = 0; g < replicas; g++) {
		q->layout[g] = spank_group_nodes(q->nnodes,
						 (const char *const *)names,
						 group_of, g);
		if (!q->layout[g]) {
			ERR("out of memory");
			goto fail;
		}
	}
	q->replica = group_of[q->nodeid];
	q->first_part = first[q->nodeid];
	q->node = strdup(names[q->nodeid]);
	if (!q->node) {
		ERR("out of memory");
		goto fail;
	}
	rv = 0;
fail:
	free_names(names, q->nnodes);
	free(tpn);
	free(group_of);
	free(tasks);
	free(first);
	return rv;
}

static int set_task_env(spank_t sp, const char *name, unsigned value)
{
	char num[16];
	spank_err_t e;

	snprintf(num, sizeof(num), "%u", value);
	e = spank_setenv(sp, name, num, 1);
	if (e != ESPANK_SUCCESS) {
		ERR("cannot set %s for the tasks: %s", name, spank_strerror(e));
		return -1;
	}
	return 0;
}

/* Everything a replicated step needs on this node; -1 fails the step
 * here with the reason in slurmd's log and on srun's stderr. */
static int remote_setup(spank_t sp)
{
	struct quorate_remote *q = &quorate.remote;
	char err[512];
	int failed;

	if (GET_ITEM(sp, S_JOB_ID, &q->job) ||
	    GET_ITEM(sp, S_JOB_STEPID, &q->step) ||
	    GET_ITEM(sp, S_JOB_NODEID, &q->nodeid) ||
	    GET_ITEM(sp, S_JOB_NNODES, &q->nnodes) ||
	    GET_ITEM(sp, S_JOB_LOCAL_TASK_COUNT, &q->local_tasks) ||
	    GET_ITEM(sp, S_JOB_UID, &q->uid) ||
	    GET_ITEM(sp, S_JOB_GID, &q->gid))
		return -1;
	if (q->nodeid >= q->nnodes) {
		ERR("node index %u is outside the step's %u nodes", q->nodeid,
		    q->nnodes);
		return -1;
	}
	q->cluster = step_getenv(sp, "SLURM_CLUSTER_NAME", &failed);
	if (failed)
		return -1;
	if (!q->cluster && !(q->cluster = strdup(""))) {
		ERR("out of memory");
		return -1;
	}
	if (plan_replica(sp, q))
		return -1;
	if (strcmp(quorate.request.verify, "stdout") != 0 &&
	    spank_verify_paths(quorate.request.verify, &q->paths, &q->npaths)) {
		ERR("--verify=%s: %s", quorate.request.verify, strerror(errno));
		return -1;
	}
	if (set_task_env(sp, "QUORATE_REPLICA", q->replica) ||
	    set_task_env(sp, "QUORATE_REPLICAS", quorate.request.replicas))
		return -1;
	if (spank_spool_prepare(quorate.config.spool, err, sizeof(err))) {
		ERR("spool: %s", err);
		return -1;
	}
	q->tasks = calloc(q->local_tasks ? q->local_tasks : 1, sizeof(*q->tasks));
	if (!q->tasks) {
		ERR("out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < q->local_tasks; i++)
		q->tasks[i].cwd_fd = -1;
	q->active = true;
	slurm_debug("%s: step %u.%u: node %s is replica %u of %u, parts %u..%u of %u",
		    QUORATE_SPANK_PREFIX, q->job, q->step, q->node, q->replica,
		    quorate.request.replicas, q->first_part,
		    q->first_part + q->local_tasks - 1, q->parts);
	return 0;
}

int quorate_remote_post_opt(spank_t sp)
{
	struct spank_request *r = &quorate.request;
	char err[512];
	uint32_t nnodes = 0, stepid = 0;

	if (quorate.request_bad)
		return -1;
	if (spank_request_finish(r, err, sizeof(err))) {
		ERR("%s", err);
		return -1;
	}
	if (!r->replicas)
		return 0;
	/* The batch script, extern and interactive steps are not replicated;
	 * only the steps they launch are. */
	if (GET_ITEM(sp, S_JOB_STEPID, &stepid))
		return -1;
	if (stepid > SLURM_MAX_NORMAL_STEP_ID)
		return 0;
	if (!quorate.config.server_host) {
		ERR("--replicas needs a quorated server: no server=HOST:PORT on spank_quorate's line in plugstack.conf");
		return -1;
	}
	if (GET_ITEM(sp, S_JOB_NNODES, &nnodes))
		return -1;
	if (spank_check_step_nodes(r, nnodes, err, sizeof(err))) {
		ERR("%s", err);
		return -1;
	}
	return remote_setup(sp);
}

/* In the task's process, as root: its stdout file in the spool, owned by
 * the job's user.  Kept open (close-on-exec) until task_init. */
int quorate_remote_task_init_privileged(spank_t sp)
{
	struct quorate_remote *q = &quorate.remote;
	char path[PATH_MAX];
	uint32_t gtid;
	int fd;

	if (!q->active || q->paths)
		return 0;
	if (GET_ITEM(sp, S_TASK_GLOBAL_ID, &gtid))
		return -1;
	if (spank_spool_output_path(path, sizeof(path), quorate.config.spool,
				    q->job, q->step, gtid)) {
		ERR("spool path too long: %s", quorate.config.spool);
		return -1;
	}
	/* A file left by an earlier step of the same id (slurmstepd killed)
	 * goes; the directory is root's, so nobody else can have put it. */
	if (unlink(path) && errno != ENOENT) {
		ERR("cannot remove the old %s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0) {
		ERR("cannot create the task's stdout %s: %s", path, strerror(errno));
		return -1;
	}
	if (fchown(fd, q->uid, q->gid)) {
		ERR("cannot give %s to uid %u: %s", path, (unsigned)q->uid,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	q->capture_fd = fd;
	return 0;
}

/* In the task's process, as the user, after Slurm set up its stdio. */
int quorate_remote_task_init(spank_t sp)
{
	struct quorate_remote *q = &quorate.remote;

	(void)sp;
	if (!q->active || q->capture_fd < 0)
		return 0;
	if (dup2(q->capture_fd, STDOUT_FILENO) < 0) {
		ERR("cannot redirect the task's stdout: %s", strerror(errno));
		return -1;
	}
	close(q->capture_fd);
	q->capture_fd = -1;
	return 0;
}

int quorate_remote_task_post_fork(spank_t sp)
{
	struct quorate_remote *q = &quorate.remote;
	struct quorate_task *t;
	char proc[64];
	pid_t pid;
	int id;

	if (!q->active)
		return 0;
	if (GET_ITEM(sp, S_TASK_ID, &id) || GET_ITEM(sp, S_TASK_PID, &pid))
		return -1;
	if (id < 0 || (uint32_t)id >= q->local_tasks) {
		ERR("task %d is not one of this node's %u", id, q->local_tasks);
		return -1;
	}
	t = &q->tasks[id];
	t->forked = true;
	t->start = quorate_now();
	if (!q->paths)
		return 0;
	/* Relative --verify paths are the task's: keep a handle on its
	 * working directory (slurmstepd's own is elsewhere). */
	snprintf(proc, sizeof(proc), "/proc/%ld/cwd", (long)pid);
	if (t->cwd_fd >= 0)
		close(t->cwd_fd);
	t->cwd_fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->cwd_fd < 0)
		ERR("task %d: cannot open its working directory (%s): %s; relative --verify paths will count as unreadable",
		    id, proc, strerror(errno));
	return 0;
}

int quorate_remote_task_exit(spank_t sp)
{
	struct quorate_remote *q = &quorate.remote;
	uint32_t gtid;
	int id, status;

	if (!q->active)
		return 0;
	if (GET_ITEM(sp, S_TASK_ID, &id) ||
	    GET_ITEM(sp, S_TASK_GLOBAL_ID, &gtid) ||
	    GET_ITEM(sp, S_TASK_EXIT_STATUS, &status))
		return -1;
	if (id < 0 || (uint32_t)id >= q->local_tasks) {
		ERR("task %d is not one of this node's %u", id, q->local_tasks);
		return -1;
	}
	return quorate_report_task(sp, (unsigned)id, gtid, status);
}

void quorate_remote_free(void)
{
	struct quorate_remote *q = &quorate.remote;

	for (uint32_t i = 0; q->tasks && i < q->local_tasks; i++)
		if (q->tasks[i].cwd_fd >= 0)
			close(q->tasks[i].cwd_fd);
	free(q->tasks);
	if (q->capture_fd >= 0)
		close(q->capture_fd);
	for (unsigned g = 0; q->layout && q->layout[g]; g++)
		free(q->layout[g]);
	free(q->layout);
	free(q->paths);
	free(q->cluster);
	free(q->node);
	memset(q, 0, sizeof(*q));
	q->capture_fd = -1;
}
