/*
 * spank_groups.h - split a replicated step's nodes into replica groups.
 *
 * A step of M nodes with --replicas=N runs N copies of the work, each on a
 * group of M/N nodes.  The groups follow the sites select/reputation spread
 * the job over: nodes of one site stay together (sites in order of their
 * first node), so each group lies inside one site whenever the site's node
 * count allows it.  Pure; the remote context of spank_quorate uses it.
 */
#ifndef QUORATE_SPANK_GROUPS_H
#define QUORATE_SPANK_GROUPS_H

#include <stddef.h>
#include <stdint.h>

/*
 * n nodes in step order; site[i] is node i's site (any numbering; NULL: all
 * one site).  Writes group_of[i] in 0..groups-1.  Returns 0, or -1 with
 * errno EINVAL when groups is 0 or does not divide n, ENOMEM.
 */
int spank_replica_groups(size_t n, const uint32_t *site, unsigned groups,
			 unsigned *group_of);

#endif
