/*
 * placement.h - reputation-aware placement through Slurm's public
 * interfaces: quorated's node Weight and features, and the constraints
 * job_submit/quorate adds to each job.  For sites that keep
 * select/cons_tres, and for Slurm 25.05 and later, where a third-party
 * select plugin would have to pass for cons_tres (doc/placement.md).
 * Pure functions, no Slurm headers.
 *
 * quorated writes, for every node of its cluster:
 *   - Weight: PLACE_WEIGHT_FLAG | base << 12 | rank, where base is the
 *     node's own weight (slurm.conf's, or an admin's) and rank is
 *     sel_rank(): Slurm takes lower weights first, so the admin's tiers
 *     keep their order and, within a tier, trusted nodes by score come
 *     first, then neutral and unproven nodes, then probation.  The flag
 *     says that quorate wrote the value, so that base can be read back
 *     after any restart of quorated or slurmctld;
 *   - the features quorate_plain (the node takes plain jobs) and
 *     quorate_replica (it takes replicated jobs), beside the admin's:
 *     trusted, unproven and neutral nodes carry both, probation nodes only
 *     quorate_replica, quarantined nodes neither.
 * job_submit/quorate then asks for quorate_plain or quorate_replica in the
 * job's constraint, and for --replicas=N one count per chosen site.
 * Slurm's constraints have no "not" and only one set of brackets, and a
 * feature ANDed outside the brackets does not bind the nodes counted
 * inside them (seen on 22.05), so the marker goes into every counted term.
 */
#ifndef QUORATE_PLACEMENT_H
#define QUORATE_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node_extra.h"

#define PLACE_FEATURE_PLAIN	"quorate_plain"
#define PLACE_FEATURE_REPLICA	"quorate_replica"

#define PLACE_WEIGHT_FLAG	0x80000000u
#define PLACE_WEIGHT_RANK_BITS	12
#define PLACE_WEIGHT_RANK_MASK	((1u << PLACE_WEIGHT_RANK_BITS) - 1)
#define PLACE_WEIGHT_BASE_MAX	0x7ffffu	/* 19 bits of the admin's weight */

/* The admin's weight of a node whose Weight is now weight: read back from
 * a value quorate wrote, else the value itself (capped at BASE_MAX). */
uint32_t place_weight_base(uint32_t weight);

/* The Weight quorate writes for base and rank (< 4096). */
uint32_t place_weight(uint32_t base, unsigned rank);

/* Whether quorate wrote weight, and then its rank. */
static inline bool place_weight_is_ours(uint32_t weight)
{
	return (weight & PLACE_WEIGHT_FLAG) && weight != UINT32_MAX &&
	       weight != UINT32_MAX - 1;	/* Slurm's INFINITE, NO_VAL */
}

/* Which jobs a node takes, by the state it is scheduled by
 * (node_effective_state()). */
static inline bool place_takes_plain(enum node_state state)
{
	return state != NODE_QUARANTINED && state != NODE_PROBATION;
}

static inline bool place_takes_replica(enum node_state state)
{
	return state != NODE_QUARANTINED;
}

/* Whether a comma-separated feature list (NULL allowed) holds name. */
bool place_has_feature(const char *features, const char *name);

/* features (comma-separated, NULL or "" or "(null)" for none) without
 * quorate's two markers, then the markers state earns, into out.  Returns
 * the length written, or -1 when it does not fit. */
int place_node_features(const char *features, enum node_state state,
			char *out, size_t outlen);

/* A site's nodes, for the site plan of a replicated job. */
struct place_site {
	const char *name;	/* the site's feature, e.g. "site_a" */
	unsigned eligible;	/* up nodes that carry quorate_replica */
	unsigned idle;		/* of those, idle now */
	double rank;		/* their mean rank, lower is better */
	unsigned take;		/* out: the job's nodes on this site */
};

/*
 * Spread a job of `nodes` nodes in `replicas` groups over the sites:
 * min(replicas, sites with an eligible node) distinct sites, each group
 * whole inside one site, best sites first (room now, then rank, then
 * size, then name).  Sorts sites[] and sets take; returns the number of
 * sites used (they come first), or 0 with the reason in err.
 */
int place_plan_sites(struct place_site *sites, size_t nsites,
		     unsigned replicas, unsigned nodes, char *err, size_t errlen);

/*
 * The job's new constraint, from the user's (NULL or "" for none), into
 * out.  Plain jobs get quorate_plain, replicated ones quorate_replica; with
 * a site plan (nplan > 0, from place_plan_sites) one counted term per site,
 * "[(site_a&quorate_replica)*2&(site_b&quorate_replica)*2]", with the
 * user's features inside each term.  A user's constraint with counts or
 * brackets gets the marker inside each of its terms; one without gets
 * "&marker" at its end (Slurm reads a constraint left to right).  Returns
 * 0, or -1 with the reason in err (a constraint this cannot extend: the
 * plan with '|' or parentheses, an unexpected character, too long).
 */
int place_constraint(const char *user, bool replicated,
		     const struct place_site *plan, size_t nplan,
		     char *out, size_t outlen, char *err, size_t errlen);

/* The plan in words, for the job's comment (squeue -o %k):
 * "quorate: 3 replica groups of 2 node(s) on site_b, site_a, site_c".
 * Returns the length written, or -1 when it does not fit. */
int place_plan_describe(const struct place_site *plan, size_t nplan,
			unsigned replicas, char *out, size_t outlen);

/* Whether a user's constraint names a feature that starts with prefix
 * (a site: then the user chose the site and no plan is made). */
bool place_constraint_names_prefix(const char *user, const char *prefix);

#endif
