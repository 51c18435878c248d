/*
 * merkle.h - the Merkle trees of contracts/FORMATS.md, as OpenZeppelin's
 * MerkleProof verifies them: sorted-pair keccak256 of two children, an
 * unpaired last node carried up unchanged, the root of one leaf is that
 * leaf, the root of none is bytes32(0).
 *
 * Every level lives in one allocation (fewer than 2n nodes of 32 bytes) and
 * is computed in one pass over the level below: a million leaves need 64 MB
 * and about three million hashes (leaves double-hashed, then the pairs).
 */
#ifndef QUORATE_MERKLE_H
#define QUORATE_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_MAX_DEPTH 64	/* proof length bound: levels above the leaves */

struct merkle_tree {
	size_t n_leaves;
	unsigned n_levels;		/* 1 + number of levels above the leaves */
	uint8_t (*nodes)[32];		/* level 0 (the leaves), then level 1, ... */
	size_t level_start[MERKLE_MAX_DEPTH + 1];
	size_t level_len[MERKLE_MAX_DEPTH + 1];
};

/* keccak256 of the two nodes, smaller first (OpenZeppelin's hashPair). */
void merkle_hash_pair(const uint8_t a[32], const uint8_t b[32], uint8_t out[32]);

/* Two steps, so that a caller can write a million leaves in place:
 * merkle_alloc makes room (n may be 0), the caller fills
 * merkle_leaves(tree)[0..n-1], merkle_compute builds the levels above.
 * 0, or -1 out of memory (tree then empty, merkle_free still safe). */
int merkle_alloc(struct merkle_tree *tree, size_t n_leaves);
static inline uint8_t (*merkle_leaves(struct merkle_tree *tree))[32]
{
	return tree->nodes;
}
void merkle_compute(struct merkle_tree *tree);

/* Both steps from an array of leaves. */
int merkle_build(struct merkle_tree *tree, const uint8_t (*leaves)[32], size_t n);

void merkle_free(struct merkle_tree *tree);

/* The root; bytes32(0) for an empty tree. */
void merkle_root(const struct merkle_tree *tree, uint8_t out[32]);

/* The proof of leaf INDEX: siblings from the leaf upwards, levels where the
 * node was carried up skipped.  proof has room for MERKLE_MAX_DEPTH nodes.
 * Returns the number of nodes, or -1 when INDEX is out of range. */
int merkle_proof(const struct merkle_tree *tree, size_t index,
		 uint8_t proof[][32]);

/* MerkleProof.verify: fold the proof over the leaf and compare with root. */
bool merkle_verify(const uint8_t leaf[32], const uint8_t (*proof)[32],
		   size_t n, const uint8_t root[32]);

#endif
