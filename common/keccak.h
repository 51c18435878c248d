/*
 * keccak.h - Keccak-256 as Ethereum uses it (the original Keccak padding,
 * 0x01 ... 0x80, not FIPS 202 SHA3-256's 0x06), on nettle's Keccak-f[1600]
 * permutation: OpenSSL 3.0 has no Keccak-256 and nettle has only SHA3.
 */
#ifndef QUORATE_KECCAK_H
#define QUORATE_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha3.h>

#define KECCAK256_LEN 32
#define KECCAK256_RATE 136	/* bytes absorbed per permutation */

struct keccak256_ctx {
	struct sha3_state state;
	unsigned index;			/* bytes buffered in block */
	uint8_t block[KECCAK256_RATE];
};

/* Incremental hashing; none of these can fail. */
void keccak256_init(struct keccak256_ctx *ctx);
void keccak256_update(struct keccak256_ctx *ctx, const void *data, size_t len);
/* Writes the digest and resets ctx for reuse. */
void keccak256_final(struct keccak256_ctx *ctx, uint8_t out[KECCAK256_LEN]);

/* One-shot. */
void keccak256(const void *data, size_t len, uint8_t out[KECCAK256_LEN]);

/* keccak256(a || b) for two 32-byte words (Merkle nodes, double hashing):
 * one permutation, no buffering. */
void keccak256_pair(const uint8_t a[32], const uint8_t b[32],
		    uint8_t out[KECCAK256_LEN]);

#endif
