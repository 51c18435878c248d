/*
 * metrics.h - the per-epoch report (one human line and one JSON object) and
 * each rank's contribution at the end, as JSON lines in the --metrics file.
 */
#ifndef QUORATE_TRAIN_METRICS_H
#define QUORATE_TRAIN_METRICS_H

#include <stdio.h>

#include "checkpoint.h"

struct json_object;

struct metrics {
	FILE *f;
};

/* Open PATH for appending (a resumed run continues the file). */
int metrics_open(struct metrics *m, const char *path, char *err, size_t errlen);
/* One JSON object as one line, flushed.  No-op when not open. */
int metrics_write(struct metrics *m, struct json_object *obj);
void metrics_close(struct metrics *m);

struct epoch_report {
	int replica, replicas;
	int epoch, epochs;		/* 1-based for people */
	long step;			/* optimizer steps so far */
	double loss;			/* mean training loss over the epoch */
	double train_acc;
	double test_acc;		/* < 0: not evaluated this epoch */
	double samples_per_s;		/* training samples / epoch seconds (group) */
	double comm_fraction;		/* all-reduce seconds / epoch seconds (rank 0) */
	double seconds;			/* this epoch, training only */
	double elapsed;			/* training seconds since the start of the run */
	long rejected;			/* gradients rejected this epoch */
};

/* "epoch 3/10 loss 0.3012 train-acc 0.8912 test-acc 0.8801 samples/s 5231 comm 12.3% ..." */
void epoch_report_line(const struct epoch_report *r, char *buf, size_t len);
struct json_object *epoch_report_json(const struct epoch_report *r);

/* Where and in which run a rank worked. */
struct contribution_context {
	const char *job_id;		/* SLURM_JOB_ID, or NULL */
	const char *step_id;		/* SLURM_STEP_ID, or NULL */
	int replica, replicas;
	const char *model_digest;	/* hex */
	const char *const *nodes;	/* node name of each rank */
	const int *world_ranks;		/* each rank's rank in the job, or NULL */
	const long *peak_rss_kib;	/* each rank's peak resident set */
};

/* The JSON record of rank R's contribution. */
struct json_object *contribution_json(const struct rank_contribution *c, int r,
				      const struct contribution_context *ctx);

/*
 * Report every rank's contribution: always as one "contribution" line per
 * rank in the metrics file, then to quorated when one is configured
 * (quorated_report.h; failing that is a warning, not an error).
 * Returns the number of records written to the file, or -1.
 */
int contribution_report(const struct rank_contribution *ranks, int n,
			const struct contribution_context *ctx, struct metrics *m);

#endif
