/* Unit tests for common/merkle.c and the leaf encodings of common/abi.c:
 * every leaf, root and proof of the independent reference
 * (eth_reference.json, js-sha3, in the layout of contracts/test/vectors.json),
 * then properties of larger trees. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "abi.h"
#include "keccak.h"
#include "merkle.h"
#include "test_eth_util.h"

/* Check one tree of a vectors file: LEAVES_KEY is "records" or "entries". */
static void check_tree(json_object *t, const char *leaves_key, bool contribution,
		       size_t *leaves_checked)
{
	json_object *items = get(t, leaves_key);
	size_t n = json_object_array_length(items);
	uint8_t (*leaves)[32] = calloc(n ? n : 1, 32), root[32], want[32];
	uint8_t proof[MERKLE_MAX_DEPTH][32], want_proof[MERKLE_MAX_DEPTH][32];
	struct merkle_tree tree;

	assert_non_null(leaves);
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(items, i);
		uint8_t want_leaf[32];

		if (contribution) {
			struct contribution_leaf c;
			uint8_t site_id[32];

			c.epoch = get_u64(r, "epoch");
			c.index = (uint32_t)get_u64(r, "index");
			assert_true(get_u64(r, "index") == i);
			assert_int_equal(bytes32_parse(get_str(r, "siteId"), c.site_id), 0);
			abi_site_id(get_str(r, "site"), site_id);
			assert_memory_equal(site_id, c.site_id, 32);
			assert_int_equal(eth_address_parse(get_str(r, "payee"), &c.payee), 0);
			c.cpu_seconds = get_u256(r, "cpuSeconds");
			c.gpu_seconds = get_u256(r, "gpuSeconds");
			c.score = get_u64(r, "score");
			assert_int_equal(contribution_leaf_hash(&c, leaves[i]), 0);
		} else {
			struct reward_leaf w;

			w.epoch = get_u64(r, "epoch");
			w.index = get_u256(r, "index");
			assert_int_equal(eth_address_parse(get_str(r, "account"), &w.account), 0);
			w.amount = get_u256(r, "amount");
			reward_leaf_hash(&w, leaves[i]);
		}
		assert_int_equal(bytes32_parse(get_str(r, "leaf"), want_leaf), 0);
		assert_memory_equal(leaves[i], want_leaf, 32);
		(*leaves_checked)++;
	}

	assert_int_equal(merkle_build(&tree, (const uint8_t (*)[32])leaves, n), 0);
	merkle_root(&tree, root);
	assert_int_equal(bytes32_parse(get_str(t, "root"), want), 0);
	assert_memory_equal(root, want, 32);
	for (size_t i = 0; i < n; i++) {
		json_object *jp = get(json_object_array_get_idx(items, i), "proof");
		size_t pn = json_object_array_length(jp);
		int got = merkle_proof(&tree, i, proof);

		assert_int_equal(got, (int)pn);
		for (size_t k = 0; k < pn; k++)
			assert_int_equal(bytes32_parse(json_object_get_string(
				json_object_array_get_idx(jp, k)), want_proof[k]), 0);
		assert_memory_equal(proof, want_proof, pn * 32);
		assert_true(merkle_verify(leaves[i], (const uint8_t (*)[32])proof, pn, root));
		/* A proof for one leaf does not prove another, nor a flipped bit. */
		if (n > 1)
			assert_false(merkle_verify(leaves[(i + 1) % n], (const uint8_t (*)[32])proof, pn, root));
		if (pn) {
			proof[pn - 1][0] ^= 1;
			assert_false(merkle_verify(leaves[i], (const uint8_t (*)[32])proof, pn, root));
		}
	}
	assert_int_equal(merkle_proof(&tree, n, proof), -1);
	merkle_free(&tree);
	free(leaves);
}

/* Every tree of a file laid out like contracts/test/vectors.json (a path
 * under the source tree, or an absolute one). */
static void check_vectors_file(const char *relpath, size_t min_trees)
{
	json_object *v = relpath[0] == '/' ? json_object_from_file(relpath) : load_json(relpath);
	json_object *contribution, *reward;
	size_t leaves = 0, sizes_seen = 0;

	if (!v)
		fail_msg("cannot read %s: %s", relpath, json_util_get_last_err());
	contribution = get(v, "contribution");
	reward = get(v, "reward");

	assert_true(json_object_array_length(contribution) >= min_trees);
	assert_true(json_object_array_length(reward) >= min_trees);
	for (size_t i = 0; i < json_object_array_length(contribution); i++) {
		json_object *t = json_object_array_get_idx(contribution, i);
		size_t n = json_object_array_length(get(t, "records"));

		/* FORMATS.md: trees of 1, 2, 3, 5 and 8 leaves at least */
		if (n == 1 || n == 2 || n == 3 || n == 5 || n == 8)
			sizes_seen++;
		check_tree(t, "records", true, &leaves);
	}
	assert_true(sizes_seen >= 5);
	for (size_t i = 0; i < json_object_array_length(reward); i++)
		check_tree(json_object_array_get_idx(reward, i), "entries", false, &leaves);
	print_message("%s: %zu leaves checked\n", relpath, leaves);
	json_object_put(v);
}

static void test_reference_vectors(void **state)
{
	check_vectors_file("testsuite/unit/eth_reference.json", 5);
}

/* QUORATE_ETH_VECTORS=FILE adds a check of another vectors file (a
 * developer's aid, e.g. a contracts branch's vectors.json before it lands). */
static void test_extra_vectors(void **state)
{
	check_vectors_file(getenv("QUORATE_ETH_VECTORS"), 1);
}

static void test_small_shapes(void **state)
{
	uint8_t l[3][32], root[32], proof[MERKLE_MAX_DEPTH][32], h01[32], zero[32] = { 0 };
	struct merkle_tree t;

	for (int i = 0; i < 3; i++)
		keccak256(&i, sizeof(i), l[i]);
	/* none: bytes32(0), no proofs */
	assert_int_equal(merkle_build(&t, NULL, 0), 0);
	merkle_root(&t, root);
	assert_memory_equal(root, zero, 32);
	assert_int_equal(merkle_proof(&t, 0, proof), -1);
	merkle_free(&t);
	/* one: the leaf itself, an empty proof */
	assert_int_equal(merkle_build(&t, (const uint8_t (*)[32])l, 1), 0);
	merkle_root(&t, root);
	assert_memory_equal(root, l[0], 32);
	assert_int_equal(merkle_proof(&t, 0, proof), 0);
	merkle_free(&t);
	/* three: hashPair(hashPair(l0, l1), l2); l2 carried up, proof of l2 is one node */
	assert_int_equal(merkle_build(&t, (const uint8_t (*)[32])l, 3), 0);
	merkle_hash_pair(l[0], l[1], h01);
	merkle_hash_pair(h01, l[2], h01);
	merkle_root(&t, root);
	assert_memory_equal(root, h01, 32);
	assert_int_equal(merkle_proof(&t, 2, proof), 1);
	assert_int_equal(merkle_proof(&t, 0, proof), 2);
	merkle_free(&t);
	/* hashPair sorts */
	merkle_hash_pair(l[0], l[1], h01);
	merkle_hash_pair(l[1], l[0], root);
	assert_memory_equal(root, h01, 32);
}

/* Random sizes up to 2^12 + 1 and one of 100,003 leaves: every proof checked
 * folds to the root and has at most ceil(log2 n) nodes. */
static void test_properties(void **state)
{
	static const size_t sizes[] = { 2, 4, 6, 7, 9, 15, 16, 17, 31, 33, 64, 100, 255, 257, 1000,
					 4096, 4097, 100003 };
	uint8_t proof[MERKLE_MAX_DEPTH][32], root[32];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s], depth = 0, step = n > 5000 ? 997 : 1;
		struct merkle_tree t;

		while (((size_t)1 << depth) < n)
			depth++;
		assert_int_equal(merkle_alloc(&t, n), 0);
		for (size_t i = 0; i < n; i++) {
			uint64_t v = i * 2654435761u;

			keccak256(&v, sizeof(v), merkle_leaves(&t)[i]);
		}
		merkle_compute(&t);
		merkle_root(&t, root);
		for (size_t i = 0; i < n; i += step) {
			int pn = merkle_proof(&t, i, proof);

			assert_true(pn >= 1 && (size_t)pn <= depth);
			assert_true(merkle_verify(t.nodes[i], (const uint8_t (*)[32])proof, (size_t)pn, root));
		}
		/* the last leaf, often the one carried up */
		{
			int pn = merkle_proof(&t, n - 1, proof);

			assert_true(merkle_verify(t.nodes[n - 1], (const uint8_t (*)[32])proof, (size_t)pn, root));
		}
		merkle_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_small_shapes),
		cmocka_unit_test(test_properties),
	};

	const struct CMUnitTest extra[] = {
		cmocka_unit_test(test_extra_vectors),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	if (getenv("QUORATE_ETH_VECTORS"))
		failed += cmocka_run_group_tests(extra, NULL, NULL);
	return failed;
}
