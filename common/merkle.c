/*
 * merkle.c - see merkle.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "keccak.h"
#include "merkle.h"

void merkle_hash_pair(const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
	if (memcmp(a, b, 32) <= 0)
		keccak256_pair(a, b, out);
	else
		keccak256_pair(b, a, out);
}

int merkle_alloc(struct merkle_tree *tree, size_t n_leaves)
{
	size_t total = 0, n = n_leaves;
	unsigned levels = 0;

	memset(tree, 0, sizeof(*tree));
	/* Level sizes: n, ceil(n/2), ..., 1. */
	do {
		if (levels > MERKLE_MAX_DEPTH)
			return -1;
		tree->level_start[levels] = total;
		tree->level_len[levels] = n;
		total += n;
		levels++;
		n = n / 2 + n % 2;
	} while (tree->level_len[levels - 1] > 1);
	if (total > SIZE_MAX / 32)
		return -1;
	tree->nodes = malloc(total ? total * 32 : 32);
	if (!tree->nodes)
		return -1;
	tree->n_leaves = n_leaves;
	tree->n_levels = levels;
	return 0;
}

void merkle_compute(struct merkle_tree *tree)
{
	for (unsigned l = 1; l < tree->n_levels; l++) {
		const uint8_t (*below)[32] = tree->nodes + tree->level_start[l - 1];
		uint8_t (*level)[32] = tree->nodes + tree->level_start[l];
		size_t n = tree->level_len[l - 1];

		for (size_t i = 0; i + 1 < n; i += 2)
			merkle_hash_pair(below[i], below[i + 1], level[i / 2]);
		if (n % 2)
			memcpy(level[n / 2], below[n - 1], 32);
	}
}

int merkle_build(struct merkle_tree *tree, const uint8_t (*leaves)[32], size_t n)
{
	if (merkle_alloc(tree, n))
		return -1;
	if (n)
		memcpy(tree->nodes, leaves, n * 32);
	merkle_compute(tree);
	return 0;
}

void merkle_free(struct merkle_tree *tree)
{
	free(tree->nodes);
	memset(tree, 0, sizeof(*tree));
}

void merkle_root(const struct merkle_tree *tree, uint8_t out[32])
{
	if (tree->n_leaves == 0 || !tree->nodes) {
		memset(out, 0, 32);
		return;
	}
	memcpy(out, tree->nodes[tree->level_start[tree->n_levels - 1]], 32);
}

int merkle_proof(const struct merkle_tree *tree, size_t index,
		 uint8_t proof[][32])
{
	int n = 0;

	if (index >= tree->n_leaves)
		return -1;
	for (unsigned l = 0; l + 1 < tree->n_levels; l++, index /= 2) {
		size_t sibling = index ^ 1;

		if (sibling < tree->level_len[l])
			memcpy(proof[n++], tree->nodes[tree->level_start[l] + sibling], 32);
	}
	return n;
}

bool merkle_verify(const uint8_t leaf[32], const uint8_t (*proof)[32],
		   size_t n, const uint8_t root[32])
{
	uint8_t h[32];

	memcpy(h, leaf, 32);
	for (size_t i = 0; i < n; i++)
		merkle_hash_pair(h, proof[i], h);
	return memcmp(h, root, 32) == 0;
}
