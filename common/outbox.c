/*
 * outbox.c - see outbox.h.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "eip1559.h"
#include "outbox.h"

uint64_t outbox_next_nonce(uint64_t pending_nonce, bool outbox_holds_any,
			   uint64_t highest_held)
{
	if (outbox_holds_any && highest_held != UINT64_MAX && highest_held + 1 > pending_nonce)
		return highest_held + 1;
	return pending_nonce;
}

uint64_t outbox_gas_limit(uint64_t estimate)
{
	uint64_t extra = estimate / 100 * OUTBOX_GAS_MARGIN_PERCENT +
			 (estimate % 100 * OUTBOX_GAS_MARGIN_PERCENT + 99) / 100;

	return estimate > UINT64_MAX - extra ? UINT64_MAX : estimate + extra;
}

static void u256_min_into(struct u256 *x, const struct u256 *cap)
{
	if (cap && u256_cmp(x, cap) > 0)
		*x = *cap;
}

int outbox_fees(const struct u256 *next_base_fee, const struct u256 *suggested_tip,
		const struct u256 *cap, struct u256 *max_fee, struct u256 *tip,
		bool *capped)
{
	*tip = *suggested_tip;
	if (eip1559_max_fee(next_base_fee, tip, max_fee))
		return -1;
	*capped = cap && u256_cmp(max_fee, cap) > 0;
	u256_min_into(max_fee, cap);
	u256_min_into(tip, max_fee);	/* the tip is part of the fee */
	return 0;
}

int outbox_bump_fees(const struct u256 *old_max_fee, const struct u256 *old_tip,
		     const struct u256 *market_max_fee, const struct u256 *market_tip,
		     const struct u256 *cap, struct u256 *max_fee, struct u256 *tip)
{
	struct u256 min_max, min_tip;

	if (eip1559_fee_bump(old_max_fee, OUTBOX_FEE_BUMP_PERCENT, &min_max) ||
	    eip1559_fee_bump(old_tip, OUTBOX_FEE_BUMP_PERCENT, &min_tip))
		return -1;
	*max_fee = u256_cmp(market_max_fee, &min_max) > 0 ? *market_max_fee : min_max;
	*tip = u256_cmp(market_tip, &min_tip) > 0 ? *market_tip : min_tip;
	u256_min_into(max_fee, cap);
	u256_min_into(tip, max_fee);
	/* The node takes a replacement only with both fees raised enough. */
	if (u256_cmp(max_fee, &min_max) < 0 || u256_cmp(tip, &min_tip) < 0)
		return 1;
	return 0;
}

double outbox_backoff(unsigned failures, double min, double max)
{
	double d;

	if (failures == 0)
		return 0;
	d = min * pow(2.0, failures > 62 ? 62 : (double)(failures - 1));
	return d > max ? max : d;
}

enum outbox_action outbox_judge_sent(const struct outbox_sent_view *v)
{
	unsigned conf = v->confirmations ? v->confirmations : 1;

	if (v->has_receipt) {
		if (!v->receipt_success)
			return OUTBOX_REVERTED;
		/* The receipt's block is not the one the node now has at that
		 * height: its view is moving (a reorg under way). */
		if (v->canonical_known && memcmp(v->canonical_hash, v->receipt_block_hash, 32))
			return OUTBOX_WAIT;
		if (v->canonical_known && v->head >= v->receipt_block &&
		    v->head - v->receipt_block + 1 >= conf)
			return OUTBOX_CONFIRM;
		if (!v->recorded || v->recorded_block != v->receipt_block ||
		    memcmp(v->recorded_block_hash, v->receipt_block_hash, 32))
			return OUTBOX_RECORD_MINED;
		return OUTBOX_WAIT;
	}
	if (v->recorded)
		return OUTBOX_REORGED;
	/* Mined nonces are past ours and none of our transactions has a
	 * receipt: another transaction took the nonce. */
	if (v->mined_nonce > v->nonce)
		return OUTBOX_NONCE_TAKEN;
	if (!v->known_to_node)
		return OUTBOX_REBROADCAST;
	/* The node holds it, but its run of minable nonces ends below ours:
	 * a lower nonce was dropped (not ours: ours go out one at a time). */
	if (v->pending_nonce < v->nonce)
		return OUTBOX_FILL_GAP;
	/* Only the next nonce to be mined is worth a higher fee: a later one
	 * waits for it, whatever it pays. */
	if (v->since_sent >= v->resend_after && v->mined_nonce == v->nonce)
		return OUTBOX_FEE_BUMP;
	return OUTBOX_WAIT;
}

const char *outbox_action_name(enum outbox_action a)
{
	switch (a) {
	case OUTBOX_WAIT: return "wait";
	case OUTBOX_RECORD_MINED: return "mined";
	case OUTBOX_CONFIRM: return "confirm";
	case OUTBOX_REVERTED: return "reverted";
	case OUTBOX_REORGED: return "reorg";
	case OUTBOX_NONCE_TAKEN: return "nonce_taken";
	case OUTBOX_REBROADCAST: return "rebroadcast";
	case OUTBOX_FILL_GAP: return "gap_fill";
	case OUTBOX_FEE_BUMP: return "fee_bump";
	}
	return "?";
}

/* ContributionLedger's and OpenZeppelin's errors that commitEpoch raises. */
static const struct {
	uint8_t selector[4];
	const char *name;
	int nargs;
	const char *args[2];	/* "epoch", "bytes32", "address" ... printed as */
	enum outbox_revert cls;
} ledger_errors[] = {
	{ { 0xa9, 0xdc, 0xd6, 0xff }, "EpochAlreadyCommitted", 1, { "epoch" }, OUTBOX_REVERT_ALREADY },
	{ { 0x22, 0x0b, 0x87, 0x62 }, "EpochNotAfterLast", 2, { "epoch", "last" }, OUTBOX_REVERT_FAIL },
	{ { 0xab, 0x95, 0x98, 0x3a }, "RootDoesNotMatchRecords", 2, { "root", "records" },
	  OUTBOX_REVERT_FAIL },
	{ { 0xd9, 0x3c, 0x06, 0x65 }, "EnforcedPause", 0, { NULL }, OUTBOX_REVERT_RETRY },
	{ { 0xe2, 0x51, 0x7d, 0x3f }, "AccessControlUnauthorizedAccount", 2, { "account", "role" },
	  OUTBOX_REVERT_RETRY },
};

enum outbox_revert outbox_classify_revert(const uint8_t *data, size_t len,
					  char *reason, size_t reasonlen)
{
	const uint8_t *args = data + ABI_SELECTOR_LEN;
	size_t alen;

	if (reasonlen)
		reason[0] = '\0';
	if (len < ABI_SELECTOR_LEN) {
		abi_revert_reason(data, len, reason, reasonlen);
		return OUTBOX_REVERT_FAIL;
	}
	alen = len - ABI_SELECTOR_LEN;
	for (size_t i = 0; i < sizeof(ledger_errors) / sizeof(ledger_errors[0]); i++) {
		size_t used;

		if (memcmp(data, ledger_errors[i].selector, 4))
			continue;
		if (alen != (size_t)ledger_errors[i].nargs * ABI_WORD)
			break;	/* not what that error carries: say so below */
		used = (size_t)snprintf(reason, reasonlen, "%s(", ledger_errors[i].name);
		for (int a = 0; a < ledger_errors[i].nargs && used < reasonlen; a++) {
			const char *label = ledger_errors[i].args[a];
			char text[U256_DEC_LEN + 1];
			struct eth_address addr;
			struct u256 x;

			memcpy(x.be, args + (size_t)a * ABI_WORD, 32);
			if (!strcmp(label, "account") && !abi_decode_address(args, alen, (size_t)a, &addr))
				eth_address_format(&addr, text);
			else if (!strcmp(label, "root") || !strcmp(label, "role"))
				bytes32_format(x.be, text);
			else
				u256_to_dec(&x, text);
			used += (size_t)snprintf(reason + used, reasonlen - used, "%s%s %s",
						 a ? ", " : "", label, text);
		}
		if (used < reasonlen)
			snprintf(reason + used, reasonlen - used, ")");
		return ledger_errors[i].cls;
	}
	abi_revert_reason(data, len, reason, reasonlen);
	return OUTBOX_REVERT_FAIL;
}

bool outbox_public_dev_account(const struct eth_address *addr)
{
	/* 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266, of the mnemonic
	 * "test test ... junk" that anvil and Hardhat start with. */
	static const uint8_t dev0[20] = {
		0xf3, 0x9f, 0xd6, 0xe5, 0x1a, 0xad, 0x88, 0xf6, 0xf4, 0xce,
		0x6a, 0xb8, 0x82, 0x72, 0x79, 0xcf, 0xff, 0xb9, 0x22, 0x66,
	};

	return !memcmp(addr->b, dev0, 20);
}
