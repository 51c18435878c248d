/*
 * spank_groups.h - split a replicated step's nodes into replica groups and
 * number the tasks of each replica.
 *
 * A step of M nodes with --replicas=N runs N copies of the work, each on a
 * group of M/N nodes.  spank_quorate uses node order (the step's node list
 * as Slurm gives it); the site-aware order below keeps each site's nodes
 * together for callers that know the sites.  A replica's tasks are its
 * parts: the group's nodes in order, each node's tasks in rank order, so
 * that with Slurm's block distribution part P is the replica's P-th rank.
 * Pure functions.
 */
#ifndef QUORATE_SPANK_GROUPS_H
#define QUORATE_SPANK_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#define SPANK_MAX_PARTS 1024	/* tasks per replica (quorated's limit) */

/*
 * n nodes in step order; site[i] is node i's site (any numbering; NULL: all
 * one site, i.e. node order).  Writes group_of[i] in 0..groups-1.  Returns
 * 0, or -1 with errno EINVAL when groups is 0 or does not divide n, ENOMEM.
 */
int spank_replica_groups(size_t n, const uint32_t *site, unsigned groups,
			 unsigned *group_of);

/*
 * Slurm's tasks-per-node list ("2,1(x2)", as in SLURM_STEP_TASKS_PER_NODE)
 * into counts[0..n-1].  The list must describe exactly n nodes.  0, or -1
 * with a message in err.
 */
int spank_tasks_per_node(const char *spec, unsigned *counts, size_t n,
			 char *err, size_t errlen);

/*
 * The parts of each replica: node i's first task is part first_part[i] of
 * replica group_of[i]; *parts is the number of tasks of every replica.
 * Replicas with different task counts, or more than SPANK_MAX_PARTS, are
 * an error (-1, err says how the tasks fell).  0 on success.
 */
int spank_replica_parts(size_t n, const unsigned *tasks,
			const unsigned *group_of, unsigned groups,
			unsigned *first_part, unsigned *parts,
			char *err, size_t errlen);

/* The nodes of group g as "a,b" (node order), malloc'd; NULL if out of
 * memory or the group is empty. */
char *spank_group_nodes(size_t n, const char *const *names,
			const unsigned *group_of, unsigned g);

#endif
