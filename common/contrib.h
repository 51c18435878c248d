/*
 * contrib.h - contribution accounting as pure functions over plain structs:
 * what each job ran on each node (from slurmdbd) becomes, per epoch,
 *   - a contribution score per node and site (the formula below),
 *   - a double-entry ledger of credits between sites (pooled allocations),
 *   - contribution records in a canonical order, their Merkle leaves
 *     (contracts/FORMATS.md), the root, totals and the SHA-256 of the
 *     canonical CSV: everything ContributionLedger.commitEpoch takes,
 *   - a reward split of a pool among sites, and its Merkle tree,
 *   - the sacctmgr commands of the optional balance hook.
 * No I/O, no logging, no clock: the daemon reads the store and calls these.
 * doc/contributions.md explains the formula, the units and the rounding.
 *
 * Units.  Every amount is an integer:
 *   weighted     micro weighted TRES-seconds: (w_cpu cpu_s + w_gpu gpu_s +
 *                w_node node_s) x 10^6, weights as in BillingWeights;
 *   credit       one weighted TRES-hour (3600 weighted TRES-seconds);
 *   credits,     micro-credits (10^-6 credit); the score's on-chain unit
 *   score        (FORMATS.md: 1.0 = 1_000_000) is the same micro-credit.
 *
 * The formula, per usage record r (one job on one node):
 *   W(r)  = weighted(r); for a training job whose ranks reported, the job's
 *           total W is split among its records by compute seconds reported
 *           on each node x the fraction of that node's gradients accepted
 *           (out of the job's total reported compute seconds);
 *   Q(r)  = quality: agreed / (agreed + disagreed + missing) replicated
 *           steps of the job on that node; 1 when none was verified;
 *   D(r)  = floor(W(r) x Q(r))                       delivered work
 *   credits(r) = floor(D(r) / 3600)                  -> the ledger
 *   R(r)  = reliability: reputation score / 100 of the node (in micro-units,
 *           rounded), 1 when the node has no reputation yet;
 *   score(r)   = floor(D(r) x R(r) / 3600)           -> the chain
 */
#ifndef QUORATE_CONTRIB_H
#define QUORATE_CONTRIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "contrib_epoch.h"
#include "contrib_policy.h"
#include "ethtypes.h"
#include "merkle.h"

#define CONTRIB_SECONDS_PER_CREDIT 3600

/* One job on one node, as ingested from slurmdbd and joined with the
 * verifier's outcomes, the trainer's reports and the node's reputation.
 * Strings belong to the caller and must outlive every result computed
 * from the record; equal strings may (and for speed should) share storage. */
struct contrib_usage {
	const char *cluster, *node, *site;	/* site: contrib_site_of_node() */
	const char *account, *user, *partition, *qos;
	uint64_t db_index;		/* slurmdbd's job_db_inx (per cluster) */
	uint32_t job_id;
	int64_t start_time, end_time;	/* Unix seconds; end decides the epoch */
	uint64_t cpu_seconds;		/* allocated CPUs on the node x elapsed */
	uint64_t gpu_seconds;		/* allocated gres/gpu on the node x elapsed */
	uint64_t node_seconds;		/* elapsed */
	/* outcomes of the job's replicated steps whose replica ran on the node */
	uint32_t steps_agreed, steps_disagreed, steps_missing;
	/* the trainer's reports for the job's ranks on the node */
	bool trainer;			/* some rank of the job reported here */
	double trainer_compute_seconds;
	uint64_t gradients_accepted, gradients_rejected;
	/* the node's reputation (0..100) when the epoch closes */
	bool has_reputation;
	double reputation;
};

/* What the formula made of one usage record. */
struct contrib_usage_result {
	uint64_t weighted;		/* W, micro weighted TRES-seconds */
	uint64_t delivered;		/* D */
	uint64_t credits;		/* micro-credits */
	uint64_t score;			/* micro-credits x reliability */
	uint32_t quality;		/* Q in micro-units */
	uint32_t reliability;		/* R in micro-units */
};

/* The formula over n records: out[i] for usage[i].  Records of one job
 * (same cluster and db_index) may come in any order.  0, or -1 with err
 * (an amount that overflows 64 bits, a NaN or negative report). */
int contrib_compute(const struct contrib_policy *p,
		    const struct contrib_usage *usage, size_t n,
		    struct contrib_usage_result *out, char *err, size_t errlen);

/* --- the ledger: pooled allocations between sites --- */

/* One side of a transfer.  A usage record whose account's home site is not
 * the node's site moves its credits from the home site (amount < 0) to the
 * node's site (amount > 0): two entries, same usage index, opposite sums. */
struct contrib_entry {
	size_t usage;			/* index into the usage array */
	const char *site;
	const char *counterparty;
	int64_t amount;			/* micro-credits */
};

struct contrib_balance {
	const char *site;
	int64_t earned;			/* credits for other sites' accounts */
	int64_t spent;			/* credits its accounts used elsewhere (>= 0) */
	int64_t balance;		/* earned - spent */
};

struct contrib_transfer {		/* entries summed per pair of sites */
	const char *from, *to;
	int64_t credits;
	uint64_t records;
};

struct contrib_unassigned {		/* accounts without AccountSite */
	const char *account;
	int64_t credits;
	uint64_t records;
};

struct contrib_ledger {
	struct contrib_entry *entries;		/* in usage order */
	size_t n_entries;
	struct contrib_balance *balances;	/* every site seen, by name */
	size_t n_balances;
	struct contrib_transfer *transfers;	/* by (from, to) */
	size_t n_transfers;
	struct contrib_unassigned *unassigned;	/* by account */
	size_t n_unassigned;
};

/* Build the ledger of n records and their results.  Records whose node
 * has no site are an error; accounts without a home site are listed in
 * unassigned and move nothing.  0, or -1 with err. */
int contrib_ledger_build(const struct contrib_policy *p,
			 const struct contrib_usage *usage,
			 const struct contrib_usage_result *results, size_t n,
			 struct contrib_ledger *ledger, char *err, size_t errlen);
void contrib_ledger_free(struct contrib_ledger *ledger);

/* --- epoch close --- */

/* One contribution record: one node of one site in the epoch; the n-th
 * record in canonical order (site, cluster, node, bytewise) is leaf n. */
struct contrib_record {
	const char *site, *cluster, *node;
	uint64_t usage_records;
	uint64_t cpu_seconds, gpu_seconds, node_seconds;
	uint64_t credits, score;	/* micro-credits */
	uint8_t site_id[32];		/* keccak256(site) */
	struct eth_address payee;	/* zero when the site has no SitePayee */
	bool has_payee;
};	/* its leaf hash is e->tree's leaf n: contrib_epoch_leaf() */

struct contrib_epoch {
	uint64_t epoch;
	int64_t start, end;
	struct contrib_usage_result *results;	/* per usage record */
	size_t n_usage;
	struct contrib_record *records;
	size_t n_records;
	/* commitEpoch's totals: sums over the records */
	uint64_t cpu_seconds, gpu_seconds, node_seconds, credits, score;
	uint8_t root[32];		/* bytes32(0) when there are no records */
	uint8_t data_hash[32];		/* SHA-256 of contrib_epoch_csv() */
	struct merkle_tree tree;
	struct contrib_ledger ledger;
	size_t n_sites_without_payee;
};

/* Close EPOCH over its usage records (every end_time inside the epoch):
 * formula, ledger, records, leaves, root, totals, CSV hash.  The same
 * records in any order give the same result.  0, or -1 with err. */
int contrib_epoch_close(const struct contrib_policy *p, uint64_t epoch,
			const struct contrib_usage *usage, size_t n,
			struct contrib_epoch *e, char *err, size_t errlen);
void contrib_epoch_free(struct contrib_epoch *e);

/* The leaf hash of record INDEX (index < n_records). */
const uint8_t *contrib_epoch_leaf(const struct contrib_epoch *e, size_t index);

/* The proof of record INDEX (merkle_proof).  Count, or -1. */
int contrib_epoch_proof(const struct contrib_epoch *e, size_t index,
			uint8_t proof[][32]);

/* The canonical CSV of the epoch's records (RFC 4180; doc/contributions.md):
 * header line
 *   epoch,index,site,site_id,payee,cluster,node,usage_records,cpu_seconds,
 *   gpu_seconds,node_seconds,credits,score,leaf
 * then one line per record in index order; every line ends in CRLF; a
 * field containing ',', '"', CR or LF is quoted with '"' doubled inside;
 * integers in decimal, credits and score in credits with exactly six
 * decimals ("12.000500"), site_id, payee and leaf as 0x and lower-case hex.
 * WRITE is called with consecutive chunks; a non-zero return stops and is
 * returned.  data_hash is the SHA-256 of these bytes. */
typedef int (*contrib_write_fn)(void *ctx, const char *buf, size_t len);
int contrib_epoch_csv(const struct contrib_epoch *e, contrib_write_fn write,
		      void *ctx);

/* --- rewards --- */

struct contrib_reward {
	const char *site;
	struct eth_address account;	/* the site's payee */
	uint64_t score;			/* the site's summed score */
	struct u256 amount;
	uint8_t leaf[32];
};

struct contrib_rewards {
	uint64_t epoch;
	struct u256 pool;
	struct contrib_reward *entries;	/* index order: by site name */
	size_t n;
	struct merkle_tree tree;
	uint8_t root[32];
};

/* Split POOL among the epoch's sites that have a payee and a score > 0,
 * pro rata by score: floor(pool x score / total) each, then the units left
 * (fewer than the number of sites) one each to the largest remainders,
 * ties to the smaller site name.  The amounts sum to the pool exactly.
 * Sites without a payee take no share (their score leaves the total).
 * 0, or -1 with err (nobody to pay). */
int contrib_rewards_split(const struct contrib_epoch *e, const struct u256 *pool,
			  struct contrib_rewards *r, char *err, size_t errlen);
void contrib_rewards_free(struct contrib_rewards *r);

/* --- the balance hook (BalanceHook=yes) --- */

struct contrib_site_balance {		/* a site's balance over all epochs */
	const char *site;
	int64_t balance;		/* micro-credits */
};

struct contrib_cluster_site {		/* site S has nodes on cluster C */
	const char *cluster, *site;
};

struct contrib_hook_action {
	const char *account;
	const char *cluster;
	bool block;			/* true: GrpTRESMins=cpu=0; false: clear */
};

/* What the hook must change: an account (AccountSite) whose home site's
 * balance is below -CreditLimit is blocked on every cluster where its site
 * has no node; an account in BLOCKED (blocked earlier by the hook) whose
 * site is back within the limit is unblocked there.  Nothing when
 * BalanceHook is off.  Actions sorted by account, cluster; *out malloc'd
 * (NULL when none).  0, or -1 out of memory. */
int contrib_hook_plan(const struct contrib_policy *p,
		      const struct contrib_site_balance *balances, size_t nb,
		      const struct contrib_cluster_site *cluster_sites, size_t nc,
		      const char *const *blocked, size_t n_blocked,
		      struct contrib_hook_action **out, size_t *n_out);

#define CONTRIB_HOOK_ARGC 9
/* The sacctmgr command of an action, for execv (no shell):
 *   sacctmgr -i modify account where name=A cluster=C set GrpTRESMins=cpu=0|-1
 * argv[CONTRIB_HOOK_ARGC] is NULL; the name= and cluster= words live in buf.
 * 0, or -1 when buf is too small. */
int contrib_hook_argv(const struct contrib_hook_action *a, char *buf,
		      size_t buflen, const char *argv[CONTRIB_HOOK_ARGC + 1]);

#endif
