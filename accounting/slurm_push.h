/*
 * slurm_push.h - writing each node's reputation into slurmctld, as
 * "reputation=NN.N quorate_state=STATE" in its Extra field (node_extra.h),
 * or as JSON where SchedulerParameters has extra_constraints, through
 * libslurm, keeping the admin's other words; and learning each
 * node's site from its features.  A thread of its own: the verifier only
 * queues the latest value per node and never waits for slurmctld; failed
 * pushes are retried with back-off.  The libslurm calls run in a helper
 * process (quorated --slurm-helper, slurm_helper.c): libslurm may end the
 * process that calls it (fatal()), and that must not be quorated.
 */
#ifndef QUORATED_SLURM_PUSH_H
#define QUORATED_SLURM_PUSH_H

#include <stdbool.h>
#include <sys/types.h>

#include "node_extra.h"

/* Read ClusterName and SlurmUser from slurm.conf (no includes followed).
 * 0, or -1 with err when the file cannot be read. */
int slurm_conf_peek(const char *path, char *cluster, size_t clen,
		    char *user, size_t ulen, char *err, size_t errlen);

/* Get ready to push (the helper starts at the first push).  0, or -1
 * (pushing disabled) when slurm_conf cannot be read. */
int slurm_push_init(const char *slurm_conf, const char *log_file,
		    char *err, size_t errlen);
/* Also write each node's Weight and quorate_plain/quorate_replica features
 * (placement.h) with every push, and check every node's again every
 * interval seconds (PushPlacement): what slurmctld lost to a restart, a
 * reconfigure or an admin's edit is written again.  After slurm_push_init. */
void slurm_push_placement(double trust_above, long interval);
int slurm_push_start(void);
void slurm_push_stop(void);

/* Ask for the nodes' sites to be read from slurmctld soon (a new node). */
void slurm_push_want_sites(void);

/* Queue (or replace) the values to push for node. */
void slurm_push_enqueue(const char *node, double score, enum node_state state);

/* The helper process's main (quorated --slurm-helper SLURM_CONF): the
 * libslurm calls, out of the daemon's process (slurm_helper.c). */
int slurm_helper_main(const char *slurm_conf);

#endif
