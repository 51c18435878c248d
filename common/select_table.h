/*
 * select_table.h - select/reputation's view of the node table: each node's
 * parsed reputation, rank and site, cached by the Extra and feature strings
 * they came from, and the per-job decision over a list of candidates.
 *
 * Plain C, no Slurm headers: the adapter feeds it node strings and candidate
 * indices; unit tests and the benchmark feed it synthetic tables.
 */
#ifndef QUORATE_SELECT_TABLE_H
#define QUORATE_SELECT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node_extra.h"
#include "select_policy.h"

/* What a node's strings said; the scheduler reads the three arrays of
 * struct sel_table instead, one small value per node. */
struct sel_node_entry {
	const void *extra_ptr;		/* the string last seen ... */
	char *extra;			/* ... and a copy of its contents */
	const void *features_ptr;
	char *features;
	uint8_t malformed;		/* malformed quorate tokens in Extra */
	bool has_score;
	double score;
};

struct sel_table {
	/* configuration (quorate.conf) */
	double trust_above;
	char *site_prefix;

	struct sel_node_entry *nodes;
	uint8_t *state;			/* per node: enum node_state, effective */
	uint16_t *rank;			/* per node: sel_rank() */
	uint32_t *site;			/* per node: index into site_names */
	size_t nnodes, nodes_cap;
	unsigned opinionated;		/* nodes with a score (not neutral) */

	/* site 0 is the pseudo-site of nodes without a site feature */
	char **site_names;
	unsigned nsites, sites_cap;

	/* per-job work arrays, indexed like the candidate list */
	uint8_t *excluded;		/* enum sel_exclusion, or 0 */
	uint8_t *planned;		/* after sel_table_plan */
	uint8_t *skip;			/* excluded, or no room (sel_table_skip) */
	bool skip_built;		/* skip filled for this job */
	size_t work_cap;
	uint8_t *site_mark;		/* one per site */
	unsigned site_mark_cap;
	struct sel_scratch scratch;
};

/* Empty table with the default threshold (80, "site_"). */
int sel_table_init(struct sel_table *t);
void sel_table_free(struct sel_table *t);

/* New threshold and site prefix: every node is parsed again on its next
 * update.  Returns 0 or -1 (out of memory; the table keeps the old ones). */
int sel_table_configure(struct sel_table *t, double trust_above,
			const char *site_prefix);

/* Grow or shrink to n nodes.  0 or -1. */
int sel_table_resize(struct sel_table *t, size_t n);

/* Node i's Extra and feature strings (either may be NULL).  Parsed again
 * only when a pointer or the contents changed.  Returns 1 changed,
 * 0 unchanged, -1 out of memory (the node is left neutral and unsited). */
int sel_table_update_node(struct sel_table *t, size_t i, const char *extra,
			  const char *features);

/* A node that is gone (the slot of a deleted dynamic node). */
void sel_table_clear_node(struct sel_table *t, size_t i);

static inline const struct sel_node_entry *
sel_table_node(const struct sel_table *t, size_t i)
{
	return &t->nodes[i];
}

static inline enum node_state sel_table_state(const struct sel_table *t,
					      size_t i)
{
	return (enum node_state)t->state[i];
}

static inline unsigned sel_table_rank(const struct sel_table *t, size_t i)
{
	return t->rank[i];
}

static inline uint32_t sel_table_site(const struct sel_table *t, size_t i)
{
	return t->site[i];
}

const char *sel_table_site_name(const struct sel_table *t, uint32_t site);

/* Number of distinct sites among the given nodes (site marks reset). */
unsigned sel_table_count_sites(struct sel_table *t, const uint32_t *nodes,
			       size_t n);

/* One job's request. */
struct sel_job_in {
	const uint32_t *cand;		/* candidate node indices, ascending */
	size_t ncand;
	const uint8_t *required;	/* per candidate: named by --nodelist */
	bool admin;			/* root or SlurmUser: may override */
	unsigned replicas;		/* 0 = not replicated */
};

struct sel_job_out {
	size_t kept;			/* candidates left */
	unsigned quarantined;		/* excluded candidates, by cause */
	unsigned probation;
	unsigned overridden;		/* required nodes kept by an admin */
	int64_t first_overridden;	/* node index, or -1 */
	int64_t blocked;		/* a required node refused, or -1 */
	uint8_t blocked_cause;		/* its enum sel_exclusion */
	bool uniform;			/* all kept nodes share one key */
};

/*
 * Filter the candidates: t->excluded[i] says why candidate i is out (0 =
 * kept); a kept node's weight key is its rank (sel_table_rank).  A
 * required node that the policy excludes is kept when in->admin (counted in
 * overridden); otherwise out->blocked names it and the job cannot run.
 * Returns 0 or -1 (memory).
 */
int sel_table_job(struct sel_table *t, const struct sel_job_in *in,
		  struct sel_job_out *out);

/*
 * Site plan for a replicated job over the kept candidates, minus those
 * marked by sel_table_skip() since sel_table_job().  Sets t->planned[];
 * sel_table_key() then gives each candidate's weight key.  0 or -1.
 */
int sel_table_plan(struct sel_table *t, const struct sel_job_in *in,
		   const struct sel_spread *spread, struct sel_plan_info *info);

/* Leave candidate i out of the next plans of this job (no room there). */
void sel_table_skip(struct sel_table *t, const struct sel_job_in *in,
		    size_t i);

/* Weight key of candidate i (node): its rank, and after a plan
 * SEL_KEY_UNPLANNED on those outside it. */
static inline unsigned sel_table_key(const struct sel_table *t, size_t i,
				     uint32_t node, bool planned)
{
	return t->rank[node] | (planned && !t->planned[i] ? SEL_KEY_UNPLANNED : 0);
}

/* Whether the chosen nodes (indices) satisfy the spread; 1, 0 or -1. */
int sel_table_spread_ok(struct sel_table *t, const uint32_t *nodes, size_t m,
			const struct sel_spread *spread, bool need_whole);

/* Reasons for squeue (state_desc), one line each. */
void sel_reason_trust(char *buf, size_t len, unsigned wanted,
		      const struct sel_job_out *out);
void sel_reason_blocked(char *buf, size_t len, const char *node,
			uint8_t cause);
void sel_reason_sites(struct sel_table *t, char *buf, size_t len,
		      const struct sel_job_in *in,
		      const struct sel_spread *spread,
		      const struct sel_plan_info *info, bool no_room);

#endif
