/*
 * spank_quorate.h - the state and modules of spank_quorate.so.
 *
 * Shaped like NVIDIA's pyxis: spank_dispatch.c switches on spank_context()
 * and calls one module per context; spank_options.c holds the one option
 * table; spank_config.c parses plugstack.conf's arguments strictly.  All
 * state is the one struct below, freed and zeroed in slurm_spank_exit().
 * The linker version script exports only slurm_spank_* and plugin_*.
 *
 *   spank_alloc.c   sbatch, salloc (and srun when it allocates): check the
 *                   request, record it in the job's control environment
 *   spank_remote.c  slurmstepd: replica group and parts of this node, the
 *                   tasks' QUORATE_REPLICA(S), stdout into the spool
 *   spank_files.c   slurmstepd: open --verify's files as the job's user
 *   spank_report.c  slurmstepd at task exit: hash, report, spool
 *   spank_srun.c    srun: wait for the verdict, print it, exit status
 */
#ifndef QUORATE_SPANK_QUORATE_H
#define QUORATE_SPANK_QUORATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <slurm/spank.h>

#include "spank_args.h"
#include "spank_result.h"

#define QUORATE_SPANK_PREFIX "quorate"

/* srun's exit statuses when the step is not verified (spank_quorate(8)). */
#define QUORATE_EXIT_REJECTED	65	/* EX_DATAERR: no quorum */
#define QUORATE_EXIT_UNVERIFIED	75	/* EX_TEMPFAIL: no verdict in time */
#define QUORATE_EXIT_NO_RESULT	66	/* EX_NOINPUT: no replica wrote a --verify file */

/* One task of this node, seen from slurmstepd. */
struct quorate_task {
	bool forked;
	double start;			/* monotonic seconds at fork */
	int cwd_fd;			/* its working directory (O_PATH), or -1 */
};

/* slurmstepd of a replicated step. */
struct quorate_remote {
	bool active;			/* this step is replicated: capture, report */
	uint32_t job, step, nodeid, nnodes, local_tasks;
	uid_t uid;
	gid_t gid;
	unsigned replica, first_part, parts;
	char *cluster;			/* SLURM_CLUSTER_NAME, "" if unknown */
	char *node;			/* this node's name */
	char **layout;			/* request.replicas strings "n1,n2" */
	char **paths;			/* --verify's files, NULL for stdout */
	size_t npaths;
	struct quorate_task *tasks;	/* local_tasks */
	int capture_fd;			/* in a task's process: its spool file */
	bool spooled;			/* a report of this step was spooled */
};

/* srun. */
struct quorate_local {
	bool launched;			/* local_user_init ran: a step exists */
	uint32_t job, step;
};

struct quorate_state {
	bool config_ok;			/* plugstack.conf arguments parsed */
	struct spank_config config;
	struct spank_request request;	/* from the options */
	bool request_bad;		/* an option callback refused a value */
	struct quorate_remote remote;
	struct quorate_local local;
};

extern struct quorate_state quorate;

/* spank_config.c: parse argv into quorate.config.  0 or -1 (logged). */
int quorate_config_load(int argc, char **argv);

/* spank_options.c */
int quorate_options_register(spank_t sp);

/* spank_alloc.c: validate the request and record it in the job's control
 * environment (sbatch, salloc, srun).  0 or -1 (logged). */
int quorate_alloc_post_opt(spank_t sp);

/* spank_srun.c: refuse a step that does not split into the replica
 * groups, remember the step; at exit wait for its verdict (and leave srun
 * with QUORATE_EXIT_* when it is not ACCEPTED). */
int quorate_srun_local_user_init(spank_t sp);
void quorate_srun_exit(void);

/* spank_remote.c: in slurmstepd. */
int quorate_remote_post_opt(spank_t sp);
int quorate_remote_task_init_privileged(spank_t sp);
int quorate_remote_task_init(spank_t sp);
int quorate_remote_task_post_fork(spank_t sp);
int quorate_remote_task_exit(spank_t sp);
void quorate_remote_free(void);

/* spank_files.c: open paths relative to dirfd as uid/gid/gids, in a thread
 * of its own so that slurmstepd keeps its credentials; files[i].fd is open
 * for the present ones (close them).  Gives up after timeout_s seconds.
 * 0, or -1 with err. */
int quorate_open_as_user(uid_t uid, gid_t gid, const gid_t *gids, int ngids,
			 int dirfd, char *const *paths, size_t n,
			 struct spank_file *files, int timeout_s,
			 char *err, size_t errlen);

/* spank_report.c: hash the task's result and report it to quorated
 * (retries within timeout=, then the spool).  0, or -1 (logged). */
int quorate_report_task(spank_t sp, unsigned local_id, uint32_t gtid,
			int wait_status);

/* Seconds on the monotonic clock. */
double quorate_now(void);

void quorate_state_free(void);

#endif
