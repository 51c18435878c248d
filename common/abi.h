/*
 * abi.h - the parts of Solidity's contract ABI that quorate uses: calls with
 * static arguments (uintN, address, bytes32, bool) and bytes32[] (Merkle
 * proofs), return values of views, revert reasons, and the two Merkle leaf
 * encodings of contracts/FORMATS.md.
 */
#ifndef QUORATE_ABI_H
#define QUORATE_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ethtypes.h"

#define ABI_WORD 32
#define ABI_SELECTOR_LEN 4

enum abi_type {
	ABI_UINT,		/* uintN, N = bits */
	ABI_ADDRESS,
	ABI_BYTES32,
	ABI_BOOL,
	ABI_BYTES32_ARRAY,	/* bytes32[] (dynamic) */
};

struct abi_arg {
	enum abi_type type;
	unsigned bits;				/* ABI_UINT: 8, 16, ..., 256 */
	struct u256 uint;			/* ABI_UINT */
	struct eth_address address;		/* ABI_ADDRESS */
	uint8_t bytes32[32];			/* ABI_BYTES32 */
	bool boolean;				/* ABI_BOOL */
	const uint8_t (*items)[32];		/* ABI_BYTES32_ARRAY */
	size_t n_items;
};

/* Argument constructors. */
struct abi_arg abi_uint(unsigned bits, uint64_t v);
struct abi_arg abi_uint_u256(unsigned bits, const struct u256 *v);
struct abi_arg abi_address(const struct eth_address *a);
struct abi_arg abi_bytes32(const uint8_t b[32]);
struct abi_arg abi_bool(bool b);
struct abi_arg abi_bytes32_array(const uint8_t (*items)[32], size_t n);

/* First 4 bytes of keccak256 of the canonical signature, e.g.
 * "commitEpoch(uint64,bytes32,uint128,uint128,uint32,bytes32)". */
void abi_selector(const char *signature, uint8_t out[ABI_SELECTOR_LEN]);

/* The parameter types of a canonical signature NAME(T1,T2,...): at most
 * max of them into types/bits (bits 0 except for uintN).  Returns the count,
 * or -1 with err set (malformed, unsupported type, more than max). */
int abi_signature_types(const char *signature, enum abi_type *types,
			unsigned *bits, size_t max, char *err, size_t errlen);

/* Calldata for SIGNATURE(args): selector, head, tail.  The signature's
 * parameter types are checked against args (type, width, count) and each
 * uint against its width.  *out is malloc'd.  0, or -1 with err set. */
int abi_encode_call(const char *signature, const struct abi_arg *args,
		    size_t nargs, uint8_t **out, size_t *out_len,
		    char *err, size_t errlen);

/* Return values: word SLOT (0-based) of a static tuple.  Each checks that
 * the data holds the word and that its unused high bits are zero (what
 * Solidity's own decoder requires); 0 or -1. */
int abi_decode_uint(const uint8_t *data, size_t len, size_t slot,
		    unsigned bits, struct u256 *out);
int abi_decode_uint64(const uint8_t *data, size_t len, size_t slot,
		      unsigned bits, uint64_t *out);	/* bits <= 64 */
int abi_decode_address(const uint8_t *data, size_t len, size_t slot,
		       struct eth_address *out);
int abi_decode_bytes32(const uint8_t *data, size_t len, size_t slot,
		       uint8_t out[32]);
int abi_decode_bool(const uint8_t *data, size_t len, size_t slot, bool *out);

/* A human-readable revert reason from revert data: Error(string) gives its
 * text, Panic(uint256) its code, a custom error its selector, empty data
 * "no reason".  Always writes a NUL-terminated string into out. */
void abi_revert_reason(const uint8_t *data, size_t len, char *out, size_t outlen);

/* --- the leaves of contracts/FORMATS.md --- */

/* keccak256(bytes(name)): a site's id on chain. */
void abi_site_id(const char *site_name, uint8_t out[32]);

struct contribution_leaf {
	uint64_t epoch;
	uint32_t index;
	uint8_t site_id[32];
	struct eth_address payee;
	struct u256 cpu_seconds;	/* uint128 */
	struct u256 gpu_seconds;	/* uint128 */
	uint64_t score;			/* micro-units */
};

struct reward_leaf {
	uint64_t epoch;
	struct u256 index;
	struct eth_address account;
	struct u256 amount;
};

/* keccak256(bytes.concat(keccak256(abi.encode(fields...)))).
 * contribution_leaf_hash: -1 when cpu or gpu seconds exceed uint128. */
int contribution_leaf_hash(const struct contribution_leaf *leaf, uint8_t out[32]);
void reward_leaf_hash(const struct reward_leaf *leaf, uint8_t out[32]);

#endif
