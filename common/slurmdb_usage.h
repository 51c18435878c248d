/*
 * slurmdb_usage.h - finished jobs of every cluster that slurmdbd serves, as
 * contrib_usage records (one per job and node), read with libslurmdb.  A
 * thin adapter: the parsing and the split live in contrib_tres.c.
 *
 * What is read: jobs that ended in [since, until] in a finished state
 * (COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, PREEMPTED, BOOT_FAIL,
 * DEADLINE, OUT_OF_MEMORY), on every cluster slurmdb_clusters_get lists,
 * every run of a requeued job (JOBCOND_FLAG_DUP), times not truncated to
 * the window.  Jobs that never got a node are counted in `skipped`.
 * A finished row without a partition is one slurmdbd made from the job's
 * completion before it stored the job's start (its node list and QOS are
 * not filled in yet; seen under load): it is counted in `unsettled`, not
 * read, and `max_end` stays before its end so that the next read (from
 * the watermark less IngestOverlap) takes it once it is whole.
 * Per job and node: elapsed = end - start - suspended (what sacct shows),
 * CPUs and gres/gpu of AllocTRES split evenly over the job's node list
 * (contrib_tres.h), node_seconds = elapsed.
 *
 * Idempotence: the key of a record is (cluster, db_index, node); storing
 * with that key and re-reading from (watermark - IngestOverlap) gives every
 * late record exactly once.  `max_end` is the latest end time read.
 *
 * The program must call slurm_init(NULL) (or with a slurm.conf path) once
 * before sdb_reader_open: libslurmdb reads AccountingStorageHost/Port and
 * the munge socket from slurm.conf.  Nothing here exits; note that
 * libslurm itself may call fatal() on a broken slurm.conf.
 */
#ifndef QUORATE_SLURMDB_USAGE_H
#define QUORATE_SLURMDB_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "contrib.h"
#include "contrib_strpool.h"

struct sdb_qos_name {
	uint32_t id;
	const char *name;		/* in the reader's pool */
};

struct sdb_reader {
	void *db_conn;
	uint32_t gpu_tres_id;		/* gres/gpu, 0 when slurmdbd has none */
	struct sdb_qos_name *qos;
	size_t n_qos;
	struct contrib_strpool names;
};

/* A job that ended in NODE_FAIL: Slurm ended it because a node of it
 * failed, and says which only in its node events (sdb_node_downs). */
struct sdb_node_fail_job {
	const char *cluster, *nodes;	/* in the batch's pool */
	uint32_t job_id;
	int64_t start_time, end_time;
};

/* A node of such a job that slurmdbd recorded going DOWN (or FAIL). */
struct sdb_node_down {
	char *node;
	char *reason;			/* Slurm's reason, "" when none */
	int64_t at;			/* start of the node's DOWN event */
};

/* A node event counts for a job when it starts in [start, end + this]:
 * slurmctld ends the job and records the node's event in one pass, so the
 * two times are the same second in practice. */
#define SDB_NODE_DOWN_SLACK 10

struct sdb_usage_batch {
	struct contrib_usage *records;	/* strings in `names` */
	size_t n;
	size_t jobs;			/* finished jobs read */
	size_t skipped;			/* of which without nodes or start */
	size_t unsettled;		/* of which not yet whole in slurmdbd */
	int64_t unsettled_end;		/* earliest end of those, 0 when none */
	int64_t max_end;		/* latest end time read, 0 when none */
	const char **clusters;		/* the clusters asked */
	size_t n_clusters;
	struct sdb_node_fail_job *node_fail_jobs;	/* read jobs that ended NODE_FAIL */
	size_t n_node_fail_jobs;
	struct contrib_strpool names;
};

/* Connect to slurmdbd, look up the gres/gpu TRES id and the QOS names.
 * 0, or -1 with err (slurmdbd unreachable, ...). */
int sdb_reader_open(struct sdb_reader *r, char *err, size_t errlen);
void sdb_reader_close(struct sdb_reader *r);

/* Read the jobs that ended in [since, until] (Unix seconds).  0, or -1
 * with err; b is empty then. */
int sdb_usage_read(struct sdb_reader *r, int64_t since, int64_t until,
		   struct sdb_usage_batch *b, char *err, size_t errlen);
void sdb_usage_batch_free(struct sdb_usage_batch *b);

/* The nodes of job j that slurmdbd's node events show going DOWN or FAIL
 * while the job ran (an event starting in [start, end + SDB_NODE_DOWN_SLACK]).
 * *out is malloc'd (sdb_node_downs_free); 0, or -1 with err. */
int sdb_node_downs(struct sdb_reader *r, const struct sdb_node_fail_job *j,
		   struct sdb_node_down **out, size_t *n, char *err, size_t errlen);
void sdb_node_downs_free(struct sdb_node_down *d, size_t n);

#endif
