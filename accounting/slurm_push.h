/*
 * slurm_push.h - writing each node's reputation into slurmctld, as
 * "reputation=NN.N quorate_state=STATE" in its Extra field (node_extra.h),
 * through libslurm, keeping the admin's other words; and learning each
 * node's site from its features.  A thread of its own: the verifier only
 * queues the latest value per node and never waits for slurmctld; failed
 * pushes are retried with back-off.
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

/* Initialise libslurm with slurm_conf.  0, or -1 (pushing disabled). */
int slurm_push_init(const char *slurm_conf, char *err, size_t errlen);
int slurm_push_start(void);
void slurm_push_stop(void);

/* Ask for the nodes' sites to be read from slurmctld soon (a new node). */
void slurm_push_want_sites(void);

/* Queue (or replace) the values to push for node. */
void slurm_push_enqueue(const char *node, double score, enum node_state state);

#endif
