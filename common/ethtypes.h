/*
 * ethtypes.h - the value types of Ethereum code in C: 256-bit unsigned
 * integers kept as 32 big-endian bytes (never doubles), 20-byte addresses
 * with EIP-55 checksummed hex, and 0x-prefixed hex strings.
 */
#ifndef QUORATE_ETHTYPES_H
#define QUORATE_ETHTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u256 {
	uint8_t be[32];		/* big-endian */
};

struct eth_address {
	uint8_t b[20];
};

#define U256_DEC_LEN 78		/* digits of 2^256 - 1 */
#define U256_HEX_LEN 66		/* "0x" and 64 digits */
#define ETH_ADDRESS_HEX_LEN 42	/* "0x" and 40 digits */
#define BYTES32_HEX_LEN 66

/* --- u256 --- */
void u256_from_u64(struct u256 *x, uint64_t v);
/* 0, or -1 when x does not fit in 64 bits. */
int u256_to_u64(const struct u256 *x, uint64_t *v);
bool u256_is_zero(const struct u256 *x);
int u256_cmp(const struct u256 *a, const struct u256 *b);	/* -1, 0, 1 */
/* Number of significant bits (0 for zero): x fits uintN iff bits <= N. */
unsigned u256_bits(const struct u256 *x);
/* r = a + b; -1 on overflow (r then undefined).  r may alias a or b. */
int u256_add(struct u256 *r, const struct u256 *a, const struct u256 *b);
/* r = a - b; -1 when b > a (r then undefined).  r may alias a or b. */
int u256_sub(struct u256 *r, const struct u256 *a, const struct u256 *b);
/* r = a * m; -1 on overflow. */
int u256_mul_u32(struct u256 *r, const struct u256 *a, uint32_t m);
/* r = a / d (d > 0), returns the remainder. */
uint32_t u256_div_u32(struct u256 *r, const struct u256 *a, uint32_t d);

/* Decimal digits only (no sign, no spaces, at least one digit); -1 on
 * anything else or a value above 2^256 - 1. */
int u256_from_dec(struct u256 *x, const char *s);
void u256_to_dec(const struct u256 *x, char out[U256_DEC_LEN + 1]);
/* JSON-RPC quantity: "0x" and 1..64 hex digits (leading zeros tolerated
 * up to 64 digits); -1 on anything else. */
int u256_from_quantity(struct u256 *x, const char *s);
/* Compact quantity: "0x0", "0x1a", ... */
void u256_to_quantity(const struct u256 *x, char out[U256_HEX_LEN + 1]);

/* uint64 as a JSON-RPC quantity, both ways (overflow checked). */
int quantity_to_u64(const char *s, uint64_t *v);
void u64_to_quantity(uint64_t v, char out[19]);

/* --- addresses --- */
/* "0x" and 40 hex digits.  All-lower or all-upper hex is accepted as is;
 * mixed case must be a valid EIP-55 checksum.  Returns 0, -1 malformed,
 * -2 bad checksum. */
int eth_address_parse(const char *s, struct eth_address *a);
/* EIP-55 checksummed "0x..." (keccak of the lower-case hex picks the case). */
void eth_address_format(const struct eth_address *a, char out[ETH_ADDRESS_HEX_LEN + 1]);
bool eth_address_is_zero(const struct eth_address *a);
/* The address of a public key: last 20 bytes of keccak256 of the 64-byte
 * uncompressed key (x || y, without the 0x04 prefix). */
void eth_address_from_pubkey(const uint8_t pub[64], struct eth_address *a);

/* --- hex --- */
/* "0x" and exactly 64 hex digits. */
int bytes32_parse(const char *s, uint8_t out[32]);
void bytes32_format(const uint8_t in[32], char out[BYTES32_HEX_LEN + 1]);
/* "0x" and an even number of hex digits, into a malloc'd buffer (*out is
 * non-NULL even for "0x").  -1 malformed or out of memory. */
int eth_hex_decode(const char *s, uint8_t **out, size_t *len);
/* "0x..." of n bytes, malloc'd; NULL when out of memory. */
char *eth_hex_encode(const uint8_t *in, size_t n);

#endif
