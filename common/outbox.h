/*
 * outbox.h - the chain poster's decisions, as pure functions over what it
 * learnt from PostgreSQL and the node this round (quorated's chain.c is the
 * adapter that asks and acts; doc/chain.md tells the whole state machine).
 *
 * An epoch's commit is pending, then sent (signed and stored before it is
 * broadcast), then confirmed or failed.  While it is sent, each round
 * looks at it again: outbox_judge_sent() says what to do next.
 */
#ifndef QUORATE_OUTBOX_H
#define QUORATE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ethtypes.h"

#define OUTBOX_FEE_BUMP_PERCENT 15	/* nodes want both fees 10% higher to replace */
#define OUTBOX_GAS_MARGIN_PERCENT 25	/* over eth_estimateGas */

/* The nonce of a new transaction: the account's pending nonce (what the
 * node will take next, our own unmined transactions counted), but never
 * one the outbox already holds for an epoch: above the highest held one.
 * A pending nonce above that (the account was used elsewhere) wins. */
uint64_t outbox_next_nonce(uint64_t pending_nonce, bool outbox_holds_any,
			   uint64_t highest_held);

/* The gas limit for an estimate: +25%, rounded up (saturates). */
uint64_t outbox_gas_limit(uint64_t estimate);

/* Fees of a first transaction: the tip the node suggests and
 * maxFeePerGas = 2 * next base fee + tip (eip1559_max_fee), both at most
 * CAP (ChainMaxFeeGwei) when cap is not NULL; *capped says whether the cap
 * cut them.  0, or -1 on overflow. */
int outbox_fees(const struct u256 *next_base_fee, const struct u256 *suggested_tip,
		const struct u256 *cap, struct u256 *max_fee, struct u256 *tip,
		bool *capped);

/* Fees of a replacement (same nonce): each of the old fees raised by
 * OUTBOX_FEE_BUMP_PERCENT, or to today's market fees when those are
 * higher, then cut to CAP.  Returns 0, 1 when the cap leaves no room for
 * a replacement the node would take (keep waiting), -1 on overflow. */
int outbox_bump_fees(const struct u256 *old_max_fee, const struct u256 *old_tip,
		     const struct u256 *market_max_fee, const struct u256 *market_tip,
		     const struct u256 *cap, struct u256 *max_fee, struct u256 *tip);

/* Seconds to wait after FAILURES consecutive failures (1, 2, ...):
 * MIN * 2^(failures-1), at most MAX. */
double outbox_backoff(unsigned failures, double min, double max);

/* What a round learnt about a sent epoch. */
struct outbox_sent_view {
	uint64_t nonce;			/* the epoch's transactions' nonce */
	unsigned confirmations;		/* Confirmations (0 counts as 1) */
	uint64_t head;			/* eth_blockNumber */
	uint64_t mined_nonce;		/* eth_getTransactionCount(sender, latest) */
	uint64_t pending_nonce;		/* eth_getTransactionCount(sender, pending): the
					 * node's next nonce after what it can mine in a row */
	/* A receipt of one of the epoch's transactions at this nonce. */
	bool has_receipt;
	bool receipt_success;		/* status 1 */
	uint64_t receipt_block;
	uint8_t receipt_block_hash[32];
	bool canonical_known;		/* the node has block receipt_block */
	uint8_t canonical_hash[32];	/* its hash now */
	/* What the outbox stored of an earlier receipt. */
	bool recorded;
	uint64_t recorded_block;
	uint8_t recorded_block_hash[32];
	/* Without a receipt: does the node hold the current transaction? */
	bool known_to_node;
	double since_sent;		/* seconds since its last broadcast; < 0: never broadcast */
	double resend_after;		/* ChainResendSeconds */
};

enum outbox_action {
	OUTBOX_WAIT,		/* nothing to do this round */
	OUTBOX_RECORD_MINED,	/* a receipt: store its block, wait for depth */
	OUTBOX_CONFIRM,		/* deep enough and its block still canonical */
	OUTBOX_REVERTED,	/* mined with status 0: find out why */
	OUTBOX_REORGED,		/* the stored receipt is gone: forget its block */
	OUTBOX_NONCE_TAKEN,	/* the nonce was mined by a transaction not of this epoch */
	OUTBOX_REBROADCAST,	/* the node does not hold it: send the stored bytes again */
	OUTBOX_FILL_GAP,	/* the node holds it, but nothing at a lower nonce: fill
				 * nonces pending_nonce..nonce-1 with no-op transfers */
	OUTBOX_FEE_BUMP,	/* not mined after resend_after: replace it, same nonce */
};

enum outbox_action outbox_judge_sent(const struct outbox_sent_view *v);
const char *outbox_action_name(enum outbox_action a);

/* How a revert of commitEpoch (estimate or mined) is taken. */
enum outbox_revert {
	OUTBOX_REVERT_ALREADY,	/* EpochAlreadyCommitted: compare rootOf(epoch) with ours */
	OUTBOX_REVERT_RETRY,	/* paused, or the poster role missing: an admin can fix it */
	OUTBOX_REVERT_FAIL,	/* will never pass (EpochNotAfterLast, bad root, ...) */
};

/* Classify revert DATA of ContributionLedger.commitEpoch and write a
 * readable reason ("EpochNotAfterLast(epoch 10, last 11)"; other errors
 * as abi_revert_reason gives them). */
enum outbox_revert outbox_classify_revert(const uint8_t *data, size_t len,
					  char *reason, size_t reasonlen);

/* Whether ADDR is anvil's (Hardhat's) first development account, whose
 * key is public: quorated posts with it only on chain 31337. */
bool outbox_public_dev_account(const struct eth_address *addr);

#endif
