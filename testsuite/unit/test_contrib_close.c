/* Unit tests for epoch close (contrib_close.c): records in canonical order,
 * their leaves (contribution_leaf_hash of FORMATS.md), the root and proofs,
 * totals, the canonical CSV and its SHA-256; the reward split. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "contrib.h"
#include "hash.h"
#include "test_contrib_util.h"

#define DAY 86400
#define EPOCH 20414ULL
#define T0 ((int64_t)EPOCH * DAY)
#define ADDR_A "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
#define ADDR_B "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
#define ADDR_C "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"

static const char *conf_text =
	"AccountSite=phys=site_a\n"
	"AccountSite=chem=site_b\n"
	"SitePayee=site_a=" ADDR_A "\n"
	"SitePayee=site_b=" ADDR_B "\n";

struct buf {
	char *p;
	size_t len;
};

static int buf_write(void *ctx, const char *s, size_t n)
{
	struct buf *b = ctx;
	char *p = realloc(b->p, b->len + n + 1);

	if (!p)
		return -1;
	memcpy(p + b->len, s, n);
	b->len += n;
	p[b->len] = '\0';
	b->p = p;
	return 0;
}

static void close_epoch(const struct contrib_policy *p, const struct contrib_usage *u,
			size_t n, struct contrib_epoch *e)
{
	char err[256];

	if (contrib_epoch_close(p, EPOCH, u, n, e, err, sizeof(err)))
		fail_msg("contrib_epoch_close: %s", err);
}

/* Five usage records over three nodes of two sites, given out of order. */
static size_t sample(struct contrib_usage *u)
{
	u[0] = usage_rec("east", "n3", "site_b", "phys", 11, 2, 0, 3600, T0 + 5000);
	u[1] = usage_rec("east", "n1", "site_a", "phys", 12, 2, 1, 1800, T0 + 6000);
	u[2] = usage_rec("east", "n3", "site_b", "chem", 13, 1, 0, 600, T0 + 7000);
	u[3] = usage_rec("west", "n1", "site_a", "chem", 14, 4, 0, 100, T0 + 8000);
	u[4] = usage_rec("east", "n1", "site_a", "chem", 15, 2, 0, 3600, T0 + DAY - 1);
	u[4].has_reputation = true;
	u[4].reputation = 50;
	return 5;
}

static void test_records(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[5];
	struct contrib_epoch e;
	size_t n = sample(u);

	policy_from_text(&p, conf_text);
	close_epoch(&p, u, n, &e);
	assert_int_equal(e.epoch, EPOCH);
	assert_int_equal(e.start, T0);
	assert_int_equal(e.end, T0 + DAY);
	assert_int_equal(e.n_usage, 5);
	/* canonical order: site, cluster, node */
	assert_int_equal(e.n_records, 3);
	assert_string_equal(e.records[0].site, "site_a");
	assert_string_equal(e.records[0].cluster, "east");
	assert_string_equal(e.records[0].node, "n1");
	assert_string_equal(e.records[1].site, "site_a");
	assert_string_equal(e.records[1].cluster, "west");
	assert_string_equal(e.records[2].site, "site_b");
	assert_string_equal(e.records[2].node, "n3");
	/* east/n1: jobs 12 and 15 */
	assert_int_equal(e.records[0].usage_records, 2);
	assert_int_equal(e.records[0].cpu_seconds, 3600 + 7200);
	assert_int_equal(e.records[0].gpu_seconds, 1800);
	assert_int_equal(e.records[0].node_seconds, 1800 + 3600);
	assert_int_equal(e.records[0].credits, 1000000 + 2000000);
	assert_int_equal(e.records[0].score, 1000000 + 1000000);	/* reputation 50 */
	assert_int_equal(e.records[2].credits, 2000000 + 166666);
	/* totals */
	assert_int_equal(e.cpu_seconds, 10800 + 400 + 7800);
	assert_int_equal(e.gpu_seconds, 1800);
	assert_int_equal(e.credits, e.records[0].credits + e.records[1].credits +
			 e.records[2].credits);
	/* payees and site ids */
	for (size_t i = 0; i < e.n_records; i++) {
		uint8_t id[32];

		abi_site_id(e.records[i].site, id);
		assert_memory_equal(e.records[i].site_id, id, 32);
		assert_true(e.records[i].has_payee);
	}
	assert_int_equal(e.n_sites_without_payee, 0);
	/* the ledger came along: phys on site_b, chem on site_a */
	assert_int_equal(e.ledger.n_transfers, 2);
	contrib_epoch_free(&e);
	contrib_policy_free(&p);
}

/* The leaves are FORMATS.md's, the root is the tree's, every proof verifies. */
static void test_leaves_root_proofs(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[5];
	struct contrib_epoch e;
	uint8_t (*leaves)[32], root[32], proof[MERKLE_MAX_DEPTH][32];
	struct merkle_tree t;
	size_t n = sample(u);

	policy_from_text(&p, conf_text);
	close_epoch(&p, u, n, &e);
	leaves = calloc(e.n_records, 32);
	assert_non_null(leaves);
	for (size_t i = 0; i < e.n_records; i++) {
		struct contribution_leaf leaf;
		const struct contrib_record *r = &e.records[i];

		memset(&leaf, 0, sizeof(leaf));
		leaf.epoch = EPOCH;
		leaf.index = (uint32_t)i;
		abi_site_id(r->site, leaf.site_id);
		assert_int_equal(eth_address_parse(i < 2 ? ADDR_A : ADDR_B, &leaf.payee), 0);
		u256_from_u64(&leaf.cpu_seconds, r->cpu_seconds);
		u256_from_u64(&leaf.gpu_seconds, r->gpu_seconds);
		leaf.score = r->score;
		assert_int_equal(contribution_leaf_hash(&leaf, leaves[i]), 0);
		assert_memory_equal(contrib_epoch_leaf(&e, i), leaves[i], 32);
	}
	assert_null(contrib_epoch_leaf(&e, e.n_records));
	assert_int_equal(merkle_build(&t, (const uint8_t (*)[32])leaves, e.n_records), 0);
	merkle_root(&t, root);
	assert_memory_equal(e.root, root, 32);
	for (size_t i = 0; i < e.n_records; i++) {
		int k = contrib_epoch_proof(&e, i, proof);

		assert_true(k >= 0);
		assert_true(merkle_verify(leaves[i], (const uint8_t (*)[32])proof, (size_t)k,
					  e.root));
		/* a record with one field changed does not verify */
		leaves[i][0] ^= 1;
		assert_false(merkle_verify(leaves[i], (const uint8_t (*)[32])proof, (size_t)k,
					   e.root));
		leaves[i][0] ^= 1;
	}
	assert_int_equal(contrib_epoch_proof(&e, e.n_records, proof), -1);
	merkle_free(&t);
	free(leaves);
	contrib_epoch_free(&e);
	contrib_policy_free(&p);
}

static void hex0x(const uint8_t *b, size_t n, char *out)
{
	out[0] = '0';
	out[1] = 'x';
	hex_encode(b, n, out + 2);
}

/* The CSV, byte for byte, and data_hash = its SHA-256. */
static void test_csv(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[5];
	struct contrib_epoch e;
	struct buf b = { 0 };
	char want[4096], id[67], payee[43], leaf[67];
	uint8_t h[32];
	size_t n = sample(u), off;

	policy_from_text(&p, conf_text);
	close_epoch(&p, u, n, &e);
	assert_int_equal(contrib_epoch_csv(&e, buf_write, &b), 0);

	off = (size_t)snprintf(want, sizeof(want), "epoch,index,site,site_id,payee,cluster,"
			       "node,usage_records,cpu_seconds,gpu_seconds,node_seconds,"
			       "credits,score,leaf\r\n");
	for (size_t i = 0; i < e.n_records; i++) {
		const struct contrib_record *r = &e.records[i];
		static const char *const cols[3] = {
			"2,10800,1800,5400,3.000000,2.000000",
			"1,400,0,100,0.111111,0.111111",
			"2,7800,0,4200,2.166666,2.166666",
		};

		hex0x(r->site_id, 32, id);
		hex0x(r->payee.b, 20, payee);
		hex0x(contrib_epoch_leaf(&e, i), 32, leaf);
		off += (size_t)snprintf(want + off, sizeof(want) - off,
					"20414,%zu,%s,%s,%s,%s,%s,%s,%s\r\n", i, r->site, id,
					payee, r->cluster, r->node, cols[i], leaf);
	}
	assert_string_equal(b.p, want);
	/* payees in lower case */
	assert_non_null(strstr(b.p, ",0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed,"));
	assert_int_equal(sha256(b.p, b.len, h), 0);
	assert_memory_equal(e.data_hash, h, 32);
	free(b.p);
	contrib_epoch_free(&e);
	contrib_policy_free(&p);
}

/* RFC 4180 quoting of names that need it; a site without a payee. */
static void test_csv_quoting(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[1];
	struct contrib_epoch e;
	struct buf b = { 0 };

	policy_from_text(&p, conf_text);
	u[0] = usage_rec("a,b", "n\"1\"", "site_z", "phys", 1, 1, 0, 60, T0 + 60);
	close_epoch(&p, u, 1, &e);
	assert_int_equal(e.n_sites_without_payee, 1);
	assert_false(e.records[0].has_payee);
	assert_int_equal(contrib_epoch_csv(&e, buf_write, &b), 0);
	assert_non_null(strstr(b.p, ",0x0000000000000000000000000000000000000000,\"a,b\","
			       "\"n\"\"1\"\"\",1,60,0,60,0.016666,0.016666,0x"));
	free(b.p);
	contrib_epoch_free(&e);
	contrib_policy_free(&p);
}

/* Closing twice, or with the records in another order, gives the same. */
static void test_deterministic(void **state)
{
	enum { N = 5000 };
	static const char *const sites[] = { "site_a", "site_b", "site_c" };
	static const char *const accounts[] = { "phys", "chem", "x" };
	static const char *const clusters[] = { "east", "west" };
	char names[64][16], names2[64][16];
	struct contrib_policy p;
	struct contrib_usage *u = calloc(N, sizeof(*u)), *v = calloc(N, sizeof(*v));
	struct contrib_epoch e1, e2, e3;
	uint64_t seed = 7;

	assert_non_null(u);
	assert_non_null(v);
	for (int i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "n%d", i);
		memcpy(names2[i], names[i], sizeof(names2[i]));
	}
	policy_from_text(&p, conf_text);
	for (size_t i = 0; i < N; i++) {
		int node = (int)(test_rand(&seed) % 64);

		u[i] = usage_rec(clusters[node % 2], names[node], sites[node % 3],
				 accounts[test_rand(&seed) % 3], i, test_rand(&seed) % 8,
				 test_rand(&seed) % 2, test_rand(&seed) % 7200,
				 T0 + (int64_t)(test_rand(&seed) % DAY));
		u[i].steps_agreed = (uint32_t)(test_rand(&seed) % 2);
		u[i].steps_disagreed = (uint32_t)(test_rand(&seed) % 2);
		u[i].has_reputation = test_rand(&seed) % 2;
		u[i].reputation = (double)(test_rand(&seed) % 10001) / 100;
	}
	/* a shuffled copy whose strings are other copies of the same names */
	memcpy(v, u, N * sizeof(*v));
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = test_rand(&seed) % (i + 1);
		struct contrib_usage t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
	for (size_t i = 0; i < N; i++)
		v[i].node = names2[atoi(v[i].node + 1)];
	close_epoch(&p, u, N, &e1);
	close_epoch(&p, u, N, &e2);
	close_epoch(&p, v, N, &e3);
	assert_int_equal(e1.n_records, 64);	/* 64 nodes, each of one cluster and site */
	assert_memory_equal(e1.root, e2.root, 32);
	assert_memory_equal(e1.data_hash, e2.data_hash, 32);
	assert_memory_equal(e1.root, e3.root, 32);
	assert_memory_equal(e1.data_hash, e3.data_hash, 32);
	assert_int_equal(e1.score, e3.score);
	assert_int_equal(e1.ledger.n_entries, e3.ledger.n_entries);
	for (size_t i = 0; i < e1.ledger.n_balances; i++)
		assert_int_equal(e1.ledger.balances[i].balance, e3.ledger.balances[i].balance);
	contrib_epoch_free(&e1);
	contrib_epoch_free(&e2);
	contrib_epoch_free(&e3);
	contrib_policy_free(&p);
	free(u);
	free(v);
}

static void test_empty_and_errors(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[1];
	struct contrib_epoch e;
	struct buf b = { 0 };
	uint8_t zero[32] = { 0 }, h[32];
	char err[256];

	policy_from_text(&p, conf_text);
	close_epoch(&p, u, 0, &e);
	assert_int_equal(e.n_records, 0);
	assert_memory_equal(e.root, zero, 32);
	assert_int_equal(e.cpu_seconds, 0);
	assert_int_equal(contrib_epoch_csv(&e, buf_write, &b), 0);
	assert_int_equal(sha256(b.p, b.len, h), 0);
	assert_memory_equal(e.data_hash, h, 32);
	assert_int_equal(b.len, strlen("epoch,index,site,site_id,payee,cluster,node,"
				       "usage_records,cpu_seconds,gpu_seconds,node_seconds,"
				       "credits,score,leaf\r\n"));
	free(b.p);
	contrib_epoch_free(&e);

	/* a record of another epoch */
	u[0] = usage_rec("c", "n1", "site_a", "phys", 1, 1, 0, 60, T0 + DAY);
	assert_int_equal(contrib_epoch_close(&p, EPOCH, u, 1, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside epoch 20414"));
	u[0].end_time = T0 - 1;
	assert_int_equal(contrib_epoch_close(&p, EPOCH, u, 1, &e, err, sizeof(err)), -1);
	/* a record without a site */
	u[0] = usage_rec("c", "n1", NULL, "phys", 1, 1, 0, 60, T0 + 60);
	assert_int_equal(contrib_epoch_close(&p, EPOCH, u, 1, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has no site"));
	assert_null(e.records);
	contrib_policy_free(&p);
}

/* --- rewards --- */

static void split(const struct contrib_epoch *e, const char *pool_dec,
		  struct contrib_rewards *r)
{
	struct u256 pool;
	char err[256];

	assert_int_equal(u256_from_dec(&pool, pool_dec), 0);
	if (contrib_rewards_split(e, &pool, r, err, sizeof(err)))
		fail_msg("contrib_rewards_split: %s", err);
}

static void amount_is(const struct contrib_reward *w, const char *dec)
{
	char s[U256_DEC_LEN + 1];

	u256_to_dec(&w->amount, s);
	assert_string_equal(s, dec);
}

/* Records of three sites with scores 1, 1, 1 (micro-credits). */
static void three_equal_sites(struct contrib_usage *u, const struct contrib_policy *p,
			      struct contrib_epoch *e)
{
	for (int i = 0; i < 3; i++) {
		static const char *const sites[] = { "site_c", "site_a", "site_b" };

		/* 1 CPU for 0.0036 s is not possible: use 13 s x 1 CPU = 3611 */
		u[i] = usage_rec("c", sites[i], sites[i], "x", (uint64_t)i, 1, 0, 13, T0 + 13);
	}
	close_epoch(p, u, 3, e);
}

static void test_rewards(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[3];
	struct contrib_epoch e;
	struct contrib_rewards r;
	uint8_t proof[MERKLE_MAX_DEPTH][32];

	policy_from_text(&p, "SitePayee=site_a=" ADDR_A "\nSitePayee=site_b=" ADDR_B
			     "\nSitePayee=site_c=" ADDR_C "\n");
	three_equal_sites(u, &p, &e);
	assert_int_equal(e.records[0].score, e.records[1].score);

	/* 10 over three equal scores: 3 each, the unit left to site_a */
	split(&e, "10", &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.entries[0].site, "site_a");
	amount_is(&r.entries[0], "4");
	amount_is(&r.entries[1], "3");
	amount_is(&r.entries[2], "3");
	for (size_t i = 0; i < r.n; i++) {
		struct reward_leaf leaf;
		uint8_t h[32];
		int k;

		memset(&leaf, 0, sizeof(leaf));
		leaf.epoch = EPOCH;
		u256_from_u64(&leaf.index, i);
		leaf.account = r.entries[i].account;
		leaf.amount = r.entries[i].amount;
		reward_leaf_hash(&leaf, h);
		assert_memory_equal(r.entries[i].leaf, h, 32);
		k = merkle_proof(&r.tree, i, proof);
		assert_true(merkle_verify(h, (const uint8_t (*)[32])proof, (size_t)k, r.root));
	}
	contrib_rewards_free(&r);

	/* a pool near 2^256 is split exactly */
	split(&e, "115792089237316195423570985008687907853269984665640564039457584007913129639935", &r);
	{
		struct u256 sum, t;

		u256_from_u64(&sum, 0);
		for (size_t i = 0; i < r.n; i++) {
			t = r.entries[i].amount;
			assert_int_equal(u256_add(&sum, &sum, &t), 0);
		}
		assert_memory_equal(sum.be, r.pool.be, 32);
	}
	amount_is(&r.entries[2],
		  "38597363079105398474523661669562635951089994888546854679819194669304376546645");
	contrib_rewards_free(&r);
	contrib_epoch_free(&e);
	contrib_policy_free(&p);
}

/* Pro rata with remainders: scores 2:1 and a site without a payee. */
static void test_rewards_pro_rata(void **state)
{
	struct contrib_policy p;
	struct contrib_usage u[4];
	struct contrib_epoch e;
	struct contrib_rewards r;
	struct u256 pool;
	char err[256];

	policy_from_text(&p, "SitePayee=site_a=" ADDR_A "\nSitePayee=site_b=" ADDR_B "\n");
	u[0] = usage_rec("c", "a1", "site_a", "x", 1, 2, 0, 3600, T0 + 1);	/* 2 credits */
	u[1] = usage_rec("c", "b1", "site_b", "x", 2, 1, 0, 3600, T0 + 1);	/* 1 credit */
	u[2] = usage_rec("c", "z1", "site_z", "x", 3, 9, 0, 3600, T0 + 1);	/* no payee */
	u[3] = usage_rec("c", "b2", "site_b", "x", 4, 0, 0, 3600, T0 + 1);	/* 0 */
	close_epoch(&p, u, 4, &e);
	split(&e, "1000", &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.entries[0].site, "site_a");
	amount_is(&r.entries[0], "667");	/* 666.67: the larger remainder */
	amount_is(&r.entries[1], "333");
	assert_int_equal(r.entries[0].score, 2000000);
	contrib_rewards_free(&r);
	split(&e, "0", &r);
	amount_is(&r.entries[0], "0");
	contrib_rewards_free(&r);
	contrib_epoch_free(&e);

	/* nobody to pay */
	u[0] = usage_rec("c", "z1", "site_z", "x", 3, 9, 0, 3600, T0 + 1);
	close_epoch(&p, u, 1, &e);
	u256_from_u64(&pool, 5);
	assert_int_equal(contrib_rewards_split(&e, &pool, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nothing to split"));
	assert_null(r.entries);
	contrib_epoch_free(&e);
	contrib_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_leaves_root_proofs),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_empty_and_errors),
		cmocka_unit_test(test_rewards),
		cmocka_unit_test(test_rewards_pro_rata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
