/*
 * select_policy.h - the placement rules of select/reputation, as pure
 * functions over plain values (no Slurm headers): which nodes a job may use,
 * in which order, and how a replicated job is spread over sites.
 *
 *   - quarantined nodes take no job (unless an admin names them);
 *   - probation nodes take only replicated jobs (their results get checked);
 *   - eligible nodes are tried best first: trusted, neutral (no score),
 *     probation, each by score, highest first;
 *   - a job with --replicas=N gets nodes on min(N, sites, nodes) distinct
 *     sites, each replica group inside one site where possible.
 *
 * The Slurm adapter (plugins/select/select_reputation.c) turns the ranks
 * into cons_tres's node weights and lets cons_tres pick among equals.
 */
#ifndef QUORATE_SELECT_POLICY_H
#define QUORATE_SELECT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node_extra.h"

/* The job-control environment names spank_quorate sets (sbatch/salloc/srun)
 * and the select plugin reads from job_ptr->spank_job_env.  Slurm keeps them
 * there as given; it adds "SPANK_" only for prolog/epilog environments, so
 * both spellings are accepted. */
#define SEL_ENV_REPLICAS	"QUORATE_REPLICAS"
#define SEL_ENV_QUORUM		"QUORATE_QUORUM"
#define SEL_ENV_VERIFY		"QUORATE_VERIFY"
#define SEL_ENV_TOLERANCE	"QUORATE_VERIFY_TOLERANCE"

#define SEL_REPLICAS_MIN	2
#define SEL_REPLICAS_MAX	16

/* Replica count of a job from its SPANK job environment (n entries of
 * "NAME=VALUE").  Returns 2..16, 0 when the job is not replicated, or -1
 * when QUORATE_REPLICAS is present but malformed (then treat the job as not
 * replicated: it gets no probation nodes). */
int sel_job_replicas(char *const *env, size_t n);

enum sel_exclusion {
	SEL_ELIGIBLE = 0,
	SEL_EXCL_QUARANTINED,	/* no job at all */
	SEL_EXCL_PROBATION,	/* replicated jobs only */
};

/* Inline: it runs once per candidate node of every job. */
static inline enum sel_exclusion sel_exclusion(enum node_state state,
					       bool replicated)
{
	if (state == NODE_QUARANTINED)
		return SEL_EXCL_QUARANTINED;
	if (state == NODE_PROBATION && !replicated)
		return SEL_EXCL_PROBATION;
	return SEL_ELIGIBLE;
}

/* Scheduling rank, lower first: trusted < neutral and unproven <
 * probation < quarantined (used only under an admin override); within each, the higher
 * score first, in steps of 0.1.  Always below SEL_RANK_LIMIT. */
#define SEL_RANK_LIMIT		4096u
unsigned sel_rank(enum node_state state, bool has_score, double score);

/*
 * cons_tres tries nodes in order of node_record_t.sched_weight, lowest
 * first; slurmctld fills bits 0..41 (node Weight << 8, boot and flex-
 * reservation flags, cons_tres's GPU byte).  Our key goes above them, so it
 * orders first and Slurm's own order breaks ties.  Key bit 12 marks nodes
 * outside a replicated job's site plan.
 */
#define SEL_WEIGHT_SHIFT	42
#define SEL_WEIGHT_SLURM_MASK	((UINT64_C(1) << SEL_WEIGHT_SHIFT) - 1)
#define SEL_KEY_UNPLANNED	SEL_RANK_LIMIT
static inline uint64_t sel_weight_compose(uint64_t slurm_weight, unsigned key)
{
	return (slurm_weight & SEL_WEIGHT_SLURM_MASK) |
	       ((uint64_t)(key & (2 * SEL_RANK_LIMIT - 1)) << SEL_WEIGHT_SHIFT);
}

static inline uint64_t sel_weight_strip(uint64_t weight)
{
	return weight & SEL_WEIGHT_SLURM_MASK;
}

/* Find the site in a node's feature list ("site_a,ib,bigmem"): the first
 * feature that starts with prefix (and is longer than it).  Sets *name and
 * *len to the whole feature and returns true, or returns false. */
bool sel_site_of_features(const char *features, const char *prefix,
			  const char **name, size_t *len);

/* How many distinct sites a replicated job must span. */
unsigned sel_sites_required(unsigned replicas, unsigned sites,
			    unsigned nodes);

/* A job's candidate nodes: node[i] ascending; a node's site and rank are
 * looked up by node index in arrays kept per node (struct sel_table's). */
struct sel_cands {
	size_t n;
	const uint32_t *node;
	const uint32_t *site;		/* indexed by node, < nsites */
	const uint16_t *rank;		/* indexed by node, < SEL_RANK_LIMIT */
};

struct sel_spread {
	unsigned groups;	/* replicas N */
	unsigned nodes;		/* nodes M the job gets */
	unsigned sites_required;	/* distinct sites T */
};

enum sel_plan_status {
	SEL_PLAN_OK = 0,
	SEL_PLAN_FEW_SITES,	/* fewer than T sites have a candidate */
	SEL_PLAN_FEW_NODES,	/* fewer than M candidates */
};

struct sel_plan_info {
	enum sel_plan_status status;
	unsigned sites_with_nodes;	/* sites with at least one candidate */
	unsigned nodes_available;	/* candidates */
	unsigned sites_used;		/* distinct sites in the plan */
	bool groups_whole;		/* every group inside one site */
};

/* Reusable memory for sel_plan() and sel_spread_ok(), so that the scheduler
 * does not allocate per job.  Zero-initialise; sel_scratch_free() at end. */
struct sel_scratch {
	uint64_t *order;		/* per-site heaps of candidates */
	size_t order_cap;
	uint64_t *site_buf;		/* 6 arrays of site_cap */
	size_t site_cap;
};

void sel_scratch_free(struct sel_scratch *s);

/*
 * Choose M of the candidates (planned[i] = 1) for a replicated job: T
 * distinct sites, each group of M/N (or M/N + 1) nodes inside one site
 * where possible, better sites and better nodes first (ties: lower node
 * index, as cons_tres).  Candidates with skip[i] set (may be NULL) are not
 * used.  Returns 0 (see info->status), or -1 (bad request, out of memory).
 */
int sel_plan(const struct sel_cands *c, unsigned nsites,
	     const struct sel_spread *spread, const uint8_t *skip,
	     uint8_t *planned, struct sel_plan_info *info,
	     struct sel_scratch *s);

/* Whether m chosen nodes on the given sites satisfy the spread: at least T
 * distinct sites and, when need_whole, room for every group inside one
 * site.  Returns 1, 0, or -1 out of memory. */
int sel_spread_ok(const uint32_t *sites, size_t m, unsigned nsites,
		  const struct sel_spread *spread, bool need_whole,
		  struct sel_scratch *s);

#endif
