/*
 * eip1559.h - EIP-1559 (type 2) transactions: building, signing with
 * libsecp256k1 (recoverable ECDSA, RFC 6979 nonces, low s), the raw bytes
 * for eth_sendRawTransaction and the transaction hash; strict decoding and
 * sender recovery (tests, fuzzing); keys to addresses; fee arithmetic.
 *
 *   raw  = 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas,
 *                       gasLimit, to, value, data, accessList,
 *                       yParity, r, s])
 *   signed over keccak256(0x02 || rlp([... the first nine ...]))
 *   hash = keccak256(raw)
 */
#ifndef QUORATE_EIP1559_H
#define QUORATE_EIP1559_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ethtypes.h"

#define EIP1559_TX_TYPE 0x02

struct eip1559_tx {
	uint64_t chain_id;
	uint64_t nonce;
	struct u256 max_priority_fee_per_gas;
	struct u256 max_fee_per_gas;
	uint64_t gas_limit;
	bool has_to;			/* false: contract creation */
	struct eth_address to;
	struct u256 value;		/* wei */
	const uint8_t *data;		/* calldata (not owned) */
	size_t data_len;
	/* The access list is always empty when encoding. */
};

struct eip1559_signature {
	int y_parity;			/* 0 or 1 */
	uint8_t r[32];
	uint8_t s[32];			/* at most n/2 (EIP-2) */
};

struct eip1559_signed {
	uint8_t *raw;			/* malloc'd; eip1559_signed_free */
	size_t raw_len;
	uint8_t hash[32];		/* the transaction hash */
	struct eip1559_signature sig;
};

/* keccak256(0x02 || rlp(unsigned fields)).  0, or -1 out of memory. */
int eip1559_signing_hash(const struct eip1559_tx *tx, uint8_t out[32]);

/* Sign with a 32-byte secret key.  0, or -1 (invalid key, out of memory,
 * no randomness for blinding the context). */
int eip1559_sign(const struct eip1559_tx *tx, const uint8_t seckey[32],
		 struct eip1559_signed *out);

/* Sign a 32-byte digest (RFC 6979 nonce, low s, y parity 0/1): the
 * primitive under eip1559_sign.  0 or -1 as eip1559_sign. */
int eth_sign_digest(const uint8_t seckey[32], const uint8_t digest[32],
		    struct eip1559_signature *sig);

/* The raw transaction for a signature made elsewhere (test vectors). */
int eip1559_encode_signed(const struct eip1559_tx *tx,
			  const struct eip1559_signature *sig,
			  struct eip1559_signed *out);

void eip1559_signed_free(struct eip1559_signed *s);

/* Decode a raw type-2 transaction: canonical RLP, no trailing bytes, every
 * field in range, access list well formed, y parity 0/1, 0 < r, 0 < s <= n/2.
 * tx->data points into raw.  Returns 0 or a negative rlp_status; a pure
 * function over the buffer (fuzzing target). */
struct eip1559_decoded {
	struct eip1559_tx tx;
	struct eip1559_signature sig;
	size_t access_list_len;		/* entries (accepted, not kept) */
};
int eip1559_decode(const uint8_t *raw, size_t len, struct eip1559_decoded *out);

/* The signer's address from the signing hash and the signature; 0 or -1. */
int eip1559_recover_sender(const struct eip1559_tx *tx,
			   const struct eip1559_signature *sig,
			   struct eth_address *from);

/* A secret key's address; -1 when the key is not valid for secp256k1 (zero,
 * or not below the group order). */
int eth_key_address(const uint8_t seckey[32], struct eth_address *addr);

/* Fees.  maxFeePerGas = 2 * baseFee + tip: room for the base fee to double
 * before inclusion.  -1 on overflow. */
int eip1559_max_fee(const struct u256 *next_base_fee, const struct u256 *tip,
		    struct u256 *max_fee);
/* A replacement's fee: old + ceil(old * percent / 100), at least old + 1
 * (nodes want both fees raised by 10% or more to replace a transaction). */
int eip1559_fee_bump(const struct u256 *old, unsigned percent, struct u256 *bumped);

#endif
