/*
 * quorated_report.h - each rank's contribution to quorated (the
 * "contribution" message of doc/protocol.md) through common/qclient.  The
 * metrics file always has the same records; quorated is told when
 * quorate.conf names one ($QUORATE_CONF, else /etc/slurm/quorate.conf when
 * it exists) and the run is a Slurm job step.  A quorated that cannot be
 * reached costs a warning, never the run.
 */
#ifndef QUORATE_TRAIN_QUORATED_REPORT_H
#define QUORATE_TRAIN_QUORATED_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "metrics.h"

struct qclient_contribution;

/* SLURM_JOB_ID and SLURM_STEP_ID as the protocol's integers (job 1..2^32-1,
 * step 0..2^32-1).  Pure; 0, or -1 with err naming the variable. */
int report_step_ids(const char *job, const char *step, uint32_t *job_id,
		    uint32_t *step_id, char *err, size_t errlen);

/* Rank R's record as qclient sends it: R is its rank in the job (the world
 * rank of ctx->world_ranks, so replica groups do not collide).  Pure. */
void report_contribution(const struct rank_contribution *c, int r,
			 const struct contribution_context *ctx, uint32_t job_id,
			 uint32_t step_id, struct qclient_contribution *out);

/* Send the n ranks' contributions to quorated, in batches, retrying
 * transient failures twice.  Returns how many quorated acknowledged (stored
 * or duplicate), 0 when no quorated is configured or this is not a job
 * step (said at verbose level), or -1 when some were not delivered (each
 * reason logged as a warning). */
int report_to_quorated(const struct rank_contribution *ranks, int n,
		       const struct contribution_context *ctx);

#endif
