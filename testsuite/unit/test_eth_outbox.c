/* Unit tests for common/outbox.c (the chain poster's decisions: every
 * judgement of a sent epoch, nonces, fees and fee bumps, back-off, revert
 * classes) and common/deployment.c (deployment.env). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "abi.h"
#include "deployment.h"
#include "outbox.h"
#include "test_eth_util.h"

#define GWEI 1000000000ull

static struct u256 U(uint64_t v)
{
	struct u256 x;

	u256_from_u64(&x, v);
	return x;
}

static uint64_t V(const struct u256 *x)
{
	uint64_t v;

	assert_int_equal(u256_to_u64(x, &v), 0);
	return v;
}

static void test_next_nonce(void **state)
{
	(void)state;
	assert_int_equal(outbox_next_nonce(5, false, 0), 5);	/* nothing held */
	assert_int_equal(outbox_next_nonce(5, true, 2), 5);	/* the account moved on elsewhere */
	assert_int_equal(outbox_next_nonce(5, true, 4), 5);	/* held one just below */
	/* The node forgot our transaction at 5 (restart, dropped): never reuse it. */
	assert_int_equal(outbox_next_nonce(5, true, 5), 6);
	assert_int_equal(outbox_next_nonce(3, true, 9), 10);
	assert_int_equal(outbox_next_nonce(0, true, UINT64_MAX), 0);	/* no overflow */
}

static void test_gas_limit(void **state)
{
	(void)state;
	assert_int_equal(outbox_gas_limit(100000), 125000);
	assert_int_equal(outbox_gas_limit(55779), 69724);	/* 55779 * 1.25 = 69723.75, up */
	assert_int_equal(outbox_gas_limit(1), 2);
	assert_int_equal(outbox_gas_limit(0), 0);
	assert_true(outbox_gas_limit(UINT64_MAX - 5) == UINT64_MAX);
}

static void test_fees(void **state)
{
	struct u256 base = U(10 * GWEI), tip = U(1 * GWEI), cap = U(15 * GWEI), mf, t;
	bool capped;

	(void)state;
	assert_int_equal(outbox_fees(&base, &tip, NULL, &mf, &t, &capped), 0);
	assert_int_equal(V(&mf), 21 * GWEI);	/* 2 * base + tip */
	assert_int_equal(V(&t), 1 * GWEI);
	assert_false(capped);
	assert_int_equal(outbox_fees(&base, &tip, &cap, &mf, &t, &capped), 0);
	assert_int_equal(V(&mf), 15 * GWEI);
	assert_int_equal(V(&t), 1 * GWEI);
	assert_true(capped);
	/* A tip above the cap is cut to the max fee. */
	tip = U(20 * GWEI);
	assert_int_equal(outbox_fees(&base, &tip, &cap, &mf, &t, &capped), 0);
	assert_int_equal(V(&mf), 15 * GWEI);
	assert_int_equal(V(&t), 15 * GWEI);
	/* Overflow of 2 * base. */
	memset(base.be, 0xff, 32);
	assert_int_equal(outbox_fees(&base, &tip, NULL, &mf, &t, &capped), -1);
}

static void test_fee_bump(void **state)
{
	struct u256 old_mf = U(20 * GWEI), old_tip = U(2 * GWEI), mkt_mf = U(1 * GWEI),
		    mkt_tip = U(1), cap = U(500 * GWEI), mf, t;

	(void)state;
	/* Market below: both old fees + 15%. */
	assert_int_equal(outbox_bump_fees(&old_mf, &old_tip, &mkt_mf, &mkt_tip, &cap, &mf, &t), 0);
	assert_int_equal(V(&mf), 23 * GWEI);
	assert_int_equal(V(&t), 2300000000ull);
	/* Market above: the market's fees. */
	mkt_mf = U(40 * GWEI);
	mkt_tip = U(3 * GWEI);
	assert_int_equal(outbox_bump_fees(&old_mf, &old_tip, &mkt_mf, &mkt_tip, &cap, &mf, &t), 0);
	assert_int_equal(V(&mf), 40 * GWEI);
	assert_int_equal(V(&t), 3 * GWEI);
	/* The cap cuts the market, but leaves room for a replacement. */
	cap = U(30 * GWEI);
	assert_int_equal(outbox_bump_fees(&old_mf, &old_tip, &mkt_mf, &mkt_tip, &cap, &mf, &t), 0);
	assert_int_equal(V(&mf), 30 * GWEI);
	/* A cap below old + 15%: no replacement the node would take. */
	cap = U(22 * GWEI);
	assert_int_equal(outbox_bump_fees(&old_mf, &old_tip, &mkt_mf, &mkt_tip, &cap, &mf, &t), 1);
	/* A tiny fee still rises by at least 1 wei. */
	old_mf = U(1);
	old_tip = U(1);
	mkt_mf = U(0);
	mkt_tip = U(0);
	assert_int_equal(outbox_bump_fees(&old_mf, &old_tip, &mkt_mf, &mkt_tip, NULL, &mf, &t), 0);
	assert_int_equal(V(&mf), 2);
	assert_int_equal(V(&t), 2);
	/* Repeated bumps keep rising: 3 bumps of 100 gwei. */
	old_mf = U(100 * GWEI);
	old_tip = U(10 * GWEI);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(outbox_bump_fees(&old_mf, &old_tip, &mkt_mf, &mkt_tip, NULL, &mf, &t), 0);
		assert_true(u256_cmp(&mf, &old_mf) > 0 && u256_cmp(&t, &old_tip) > 0);
		old_mf = mf;
		old_tip = t;
	}
	assert_int_equal(V(&mf), 152087500000ull);	/* 100 * 1.15^3 gwei */
}

static void test_backoff(void **state)
{
	(void)state;
	assert_true(outbox_backoff(0, 1, 60) == 0);
	assert_true(outbox_backoff(1, 1, 60) == 1);
	assert_true(outbox_backoff(2, 1, 60) == 2);
	assert_true(outbox_backoff(6, 1, 60) == 32);
	assert_true(outbox_backoff(7, 1, 60) == 60);
	assert_true(outbox_backoff(1000, 1, 60) == 60);
}

/* A sent epoch at nonce 7, broadcast 10 s ago, 2 confirmations wanted. */
static struct outbox_sent_view sent_view(void)
{
	struct outbox_sent_view v = {
		.nonce = 7, .confirmations = 2, .head = 100, .mined_nonce = 7,
		.pending_nonce = 8, .known_to_node = true, .since_sent = 10,
		.resend_after = 180,
	};
	return v;
}

static void mined_at(struct outbox_sent_view *v, uint64_t block, uint8_t hashbyte)
{
	v->has_receipt = true;
	v->receipt_success = true;
	v->receipt_block = block;
	memset(v->receipt_block_hash, hashbyte, 32);
	v->canonical_known = true;
	memset(v->canonical_hash, hashbyte, 32);
	v->mined_nonce = v->nonce + 1;
}

static void test_judge_unmined(void **state)
{
	struct outbox_sent_view v = sent_view();

	(void)state;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_WAIT);
	/* The node does not hold it (restarted, dropped it): send the bytes again. */
	v.known_to_node = false;
	v.pending_nonce = 7;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_REBROADCAST);
	/* Held, not mined after ChainResendSeconds: a fee bump. */
	v = sent_view();
	v.since_sent = 180;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_FEE_BUMP);
	v.since_sent = 179.9;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_WAIT);
	/* Not the next nonce to be mined (an earlier one waits): no bump. */
	v.since_sent = 1000;
	v.mined_nonce = 6;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_WAIT);
	/* Nonce gap: held, but the node's run of minable nonces stops at 5. */
	v = sent_view();
	v.mined_nonce = 5;
	v.pending_nonce = 5;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_FILL_GAP);
	/* The gap, and not known: rebroadcast first (the node must hold it). */
	v.known_to_node = false;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_REBROADCAST);
	/* Another transaction took nonce 7 (mined count past it, no receipt). */
	v = sent_view();
	v.mined_nonce = 8;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_NONCE_TAKEN);
	v.known_to_node = false;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_NONCE_TAKEN);
}

static void test_judge_mined(void **state)
{
	struct outbox_sent_view v = sent_view();

	(void)state;
	/* Mined in the head block: one confirmation of two. */
	mined_at(&v, 100, 0xaa);
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_RECORD_MINED);
	v.recorded = true;
	v.recorded_block = 100;
	memset(v.recorded_block_hash, 0xaa, 32);
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_WAIT);
	/* One block later: two confirmations. */
	v.head = 101;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_CONFIRM);
	/* Confirmations 0 counts as 1: confirmed in its own block. */
	v.head = 100;
	v.confirmations = 0;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_CONFIRM);
	/* A head behind the receipt (a node catching up): never confirmed. */
	v.confirmations = 2;
	v.head = 99;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_WAIT);
	/* Deep enough but the node has another block at that height: wait. */
	v.head = 110;
	memset(v.canonical_hash, 0xbb, 32);
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_WAIT);
	/* The block is unknown to the node (canonical_known false): no confirm. */
	v.canonical_known = false;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_WAIT);
	/* Status 0: reverted, whatever the depth. */
	v = sent_view();
	mined_at(&v, 90, 0xaa);
	v.receipt_success = false;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_REVERTED);
}

static void test_judge_reorg(void **state)
{
	struct outbox_sent_view v = sent_view();

	(void)state;
	/* Recorded as mined in block 100, then the receipt is gone (the block
	 * was reverted, evm_revert): forget it. */
	v.recorded = true;
	v.recorded_block = 100;
	memset(v.recorded_block_hash, 0xaa, 32);
	v.has_receipt = false;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_REORGED);
	/* Mined again after the reorg, in another block: record that one. */
	mined_at(&v, 102, 0xcc);
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_RECORD_MINED);
	/* Same height, other hash: recorded again too. */
	mined_at(&v, 100, 0xdd);
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_RECORD_MINED);
	/* Once stored, deep enough: confirmed. */
	memset(v.recorded_block_hash, 0xdd, 32);
	v.head = 101;
	assert_int_equal(outbox_judge_sent(&v), OUTBOX_CONFIRM);
}

static void test_action_names(void **state)
{
	(void)state;
	assert_string_equal(outbox_action_name(OUTBOX_WAIT), "wait");
	assert_string_equal(outbox_action_name(OUTBOX_FEE_BUMP), "fee_bump");
	assert_string_equal(outbox_action_name(OUTBOX_FILL_GAP), "gap_fill");
	assert_string_equal(outbox_action_name(OUTBOX_REORGED), "reorg");
	assert_string_equal(outbox_action_name((enum outbox_action)99), "?");
}

/* selector of SIG followed by NWORDS words, word i = words[i] (low bytes). */
static size_t revert_data(const char *sig, const uint64_t *words, size_t nwords, uint8_t *out)
{
	abi_selector(sig, out);
	for (size_t i = 0; i < nwords; i++) {
		memset(out + 4 + 32 * i, 0, 32);
		for (int b = 0; b < 8; b++)
			out[4 + 32 * i + 31 - b] = (uint8_t)(words[i] >> (8 * b));
	}
	return 4 + 32 * nwords;
}

static void test_classify_revert(void **state)
{
	uint8_t d[4 + 64];
	char why[256];
	uint64_t w[2] = { 10, 11 };
	size_t n;

	(void)state;
	/* The selectors of contracts/FORMATS.md, computed from the signatures. */
	n = revert_data("EpochAlreadyCommitted(uint64)", w, 1, d);
	assert_string_equal(tohex(d, 4), "a9dcd6ff");
	assert_int_equal(outbox_classify_revert(d, n, why, sizeof(why)), OUTBOX_REVERT_ALREADY);
	assert_string_equal(why, "EpochAlreadyCommitted(epoch 10)");
	n = revert_data("EpochNotAfterLast(uint64,uint64)", w, 2, d);
	assert_int_equal(outbox_classify_revert(d, n, why, sizeof(why)), OUTBOX_REVERT_FAIL);
	assert_string_equal(why, "EpochNotAfterLast(epoch 10, last 11)");
	n = revert_data("RootDoesNotMatchRecords(bytes32,uint32)", w, 2, d);
	assert_int_equal(outbox_classify_revert(d, n, why, sizeof(why)), OUTBOX_REVERT_FAIL);
	assert_non_null(strstr(why, "RootDoesNotMatchRecords(root 0x"));
	n = revert_data("EnforcedPause()", NULL, 0, d);
	assert_string_equal(tohex(d, 4), "d93c0665");
	assert_int_equal(outbox_classify_revert(d, n, why, sizeof(why)), OUTBOX_REVERT_RETRY);
	assert_string_equal(why, "EnforcedPause()");
	n = revert_data("AccessControlUnauthorizedAccount(address,bytes32)", w, 2, d);
	assert_string_equal(tohex(d, 4), "e2517d3f");
	assert_int_equal(outbox_classify_revert(d, n, why, sizeof(why)), OUTBOX_REVERT_RETRY);
	assert_non_null(strstr(why, "AccessControlUnauthorizedAccount(account 0x"));
	/* A known selector with the wrong length, an unknown one, no data. */
	n = revert_data("EpochAlreadyCommitted(uint64)", w, 2, d);
	assert_int_equal(outbox_classify_revert(d, n, why, sizeof(why)), OUTBOX_REVERT_FAIL);
	n = revert_data("SomethingElse(uint64)", w, 1, d);
	assert_int_equal(outbox_classify_revert(d, n, why, sizeof(why)), OUTBOX_REVERT_FAIL);
	assert_int_equal(outbox_classify_revert(d, 0, why, sizeof(why)), OUTBOX_REVERT_FAIL);
	assert_int_equal(outbox_classify_revert(d, 3, why, sizeof(why)), OUTBOX_REVERT_FAIL);
	/* A short buffer is cut, not overrun. */
	n = revert_data("EpochNotAfterLast(uint64,uint64)", w, 2, d);
	assert_int_equal(outbox_classify_revert(d, n, why, 8), OUTBOX_REVERT_FAIL);
	assert_true(strlen(why) < 8);
}

static void test_public_dev_account(void **state)
{
	struct eth_address a;

	(void)state;
	assert_int_equal(eth_address_parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", &a), 0);
	assert_true(outbox_public_dev_account(&a));
	assert_int_equal(eth_address_parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", &a), 0);
	assert_false(outbox_public_dev_account(&a));
}

static int parse(const char *text, struct chain_deployment *d, char *err)
{
	return deployment_parse("dep.env", text, strlen(text), d, err, 256);
}

static void test_deployment(void **state)
{
	struct chain_deployment d;
	char err[256];

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(parse("# from scripts/cluster\n\nCHAIN_ID=31337\n"
			       "LEDGER_ADDRESS=0x5FbDB2315678afecb367f032d93F642f64180aa3\n"
			       "POSTER_ADDRESS=0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n"
			       "DEPLOY_BLOCK=0\n", &d, err), 0);
	assert_int_equal(d.chain_id, 31337);
	assert_true(d.has_poster && d.has_deploy_block && !d.has_vault);
	assert_string_equal(tohex(d.ledger.b, 20), "5fbdb2315678afecb367f032d93f642f64180aa3");
	memset(&d, 0, sizeof(d));
	assert_int_equal(parse("CHAIN_ID=31337\n", &d, err), -1);
	assert_non_null(strstr(err, "LEDGER_ADDRESS"));
	assert_int_equal(parse("CHAIN_ID=31337\nLEDGER_ADDRESS=0x5FbDB2315678afecb367f032d93F642f64180aA3\n",
			       &d, err), -1);	/* one letter's case changed: checksum */
	assert_non_null(strstr(err, "dep.env:2:"));
	assert_int_equal(parse("CHAIN_ID=31337\nCHAIN_ID=1\n", &d, err), -1);
	assert_non_null(strstr(err, "dep.env:2:"));
	assert_int_equal(parse("\nCOLOUR=blue\n", &d, err), -1);
	assert_non_null(strstr(err, "dep.env:2:"));
	assert_int_equal(parse("CHAIN_ID=0\n", &d, err), -1);
	assert_non_null(strstr(err, "dep.env:1:"));
	assert_int_equal(parse("CHAIN_ID=x1\n", &d, err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_nonce),
		cmocka_unit_test(test_gas_limit),
		cmocka_unit_test(test_fees),
		cmocka_unit_test(test_fee_bump),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_judge_unmined),
		cmocka_unit_test(test_judge_mined),
		cmocka_unit_test(test_judge_reorg),
		cmocka_unit_test(test_action_names),
		cmocka_unit_test(test_classify_revert),
		cmocka_unit_test(test_public_dev_account),
		cmocka_unit_test(test_deployment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
