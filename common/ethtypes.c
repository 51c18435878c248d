/*
 * ethtypes.c - see ethtypes.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ethtypes.h"
#include "hash.h"
#include "keccak.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool has_0x(const char *s)
{
	return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

void u256_from_u64(struct u256 *x, uint64_t v)
{
	memset(x->be, 0, 24);
	for (int i = 31; i >= 24; i--, v >>= 8)
		x->be[i] = (uint8_t)v;
}

int u256_to_u64(const struct u256 *x, uint64_t *v)
{
	uint64_t r = 0;

	for (int i = 0; i < 24; i++)
		if (x->be[i])
			return -1;
	for (int i = 24; i < 32; i++)
		r = (r << 8) | x->be[i];
	*v = r;
	return 0;
}

bool u256_is_zero(const struct u256 *x)
{
	for (int i = 0; i < 32; i++)
		if (x->be[i])
			return false;
	return true;
}

int u256_cmp(const struct u256 *a, const struct u256 *b)
{
	int c = memcmp(a->be, b->be, 32);

	return c < 0 ? -1 : c > 0;
}

unsigned u256_bits(const struct u256 *x)
{
	for (int i = 0; i < 32; i++) {
		if (x->be[i]) {
			unsigned bits = 8 * (unsigned)(31 - i);
			uint8_t b = x->be[i];

			while (b) {
				bits++;
				b >>= 1;
			}
			return bits;
		}
	}
	return 0;
}

int u256_add(struct u256 *r, const struct u256 *a, const struct u256 *b)
{
	unsigned carry = 0;

	for (int i = 31; i >= 0; i--) {
		unsigned s = (unsigned)a->be[i] + b->be[i] + carry;

		r->be[i] = (uint8_t)s;
		carry = s >> 8;
	}
	return carry ? -1 : 0;
}

int u256_sub(struct u256 *r, const struct u256 *a, const struct u256 *b)
{
	unsigned borrow = 0;

	for (int i = 31; i >= 0; i--) {
		unsigned d = (unsigned)a->be[i] - b->be[i] - borrow;

		r->be[i] = (uint8_t)d;
		borrow = (d >> 8) & 1;
	}
	return borrow ? -1 : 0;
}

int u256_mul_u32(struct u256 *r, const struct u256 *a, uint32_t m)
{
	uint64_t carry = 0;

	for (int i = 31; i >= 0; i--) {
		uint64_t p = (uint64_t)a->be[i] * m + carry;

		r->be[i] = (uint8_t)p;
		carry = p >> 8;
	}
	return carry ? -1 : 0;
}

uint32_t u256_div_u32(struct u256 *r, const struct u256 *a, uint32_t d)
{
	uint64_t rem = 0;

	for (int i = 0; i < 32; i++) {
		uint64_t cur = (rem << 8) | a->be[i];

		r->be[i] = (uint8_t)(cur / d);
		rem = cur % d;
	}
	return (uint32_t)rem;
}

int u256_from_dec(struct u256 *x, const char *s)
{
	struct u256 r, digit;

	if (!*s)
		return -1;
	memset(&r, 0, sizeof(r));
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		u256_from_u64(&digit, (uint64_t)(*s - '0'));
		if (u256_mul_u32(&r, &r, 10) || u256_add(&r, &r, &digit))
			return -1;
	}
	*x = r;
	return 0;
}

void u256_to_dec(const struct u256 *x, char out[U256_DEC_LEN + 1])
{
	char tmp[U256_DEC_LEN + 1];
	struct u256 q = *x;
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + u256_div_u32(&q, &q, 10));
	} while (!u256_is_zero(&q));
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

int u256_from_quantity(struct u256 *x, const char *s)
{
	size_t n;

	if (!has_0x(s))
		return -1;
	s += 2;
	n = strlen(s);
	if (n == 0 || n > 64)
		return -1;
	memset(x, 0, sizeof(*x));
	for (size_t i = 0; i < n; i++) {
		int v = hex_value(s[n - 1 - i]);

		if (v < 0)
			return -1;
		x->be[31 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
	}
	return 0;
}

void u256_to_quantity(const struct u256 *x, char out[U256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t n = 2;
	bool started = false;

	out[0] = '0';
	out[1] = 'x';
	for (int i = 0; i < 64; i++) {
		unsigned v = i % 2 ? x->be[i / 2] & 0xf : x->be[i / 2] >> 4;

		if (!v && !started)
			continue;
		started = true;
		out[n++] = digits[v];
	}
	if (!started)
		out[n++] = '0';
	out[n] = '\0';
}

int quantity_to_u64(const char *s, uint64_t *v)
{
	struct u256 x;

	if (u256_from_quantity(&x, s))
		return -1;
	return u256_to_u64(&x, v);
}

void u64_to_quantity(uint64_t v, char out[19])
{
	struct u256 x;
	char tmp[U256_HEX_LEN + 1];

	u256_from_u64(&x, v);
	u256_to_quantity(&x, tmp);
	memcpy(out, tmp, strlen(tmp) + 1);	/* at most "0x" + 16 digits */
}

/* EIP-55: hex digit i is upper case when nibble i of keccak256(lower-case
 * hex) is 8 or more. */
static void checksum_case(const char lower[40], char out[40])
{
	uint8_t h[KECCAK256_LEN];

	keccak256(lower, 40, h);
	for (int i = 0; i < 40; i++) {
		unsigned nib = i % 2 ? h[i / 2] & 0xf : h[i / 2] >> 4;
		char c = lower[i];

		out[i] = (c >= 'a' && c <= 'f' && nib >= 8) ? (char)(c - 'a' + 'A') : c;
	}
}

int eth_address_parse(const char *s, struct eth_address *a)
{
	char lower[41], want[40];
	bool has_lower = false, has_upper = false;

	if (!has_0x(s) || strlen(s) != ETH_ADDRESS_HEX_LEN)
		return -1;
	s += 2;
	for (int i = 0; i < 40; i++) {
		char c = s[i];

		if (hex_value(c) < 0)
			return -1;
		if (c >= 'a' && c <= 'f')
			has_lower = true;
		if (c >= 'A' && c <= 'F') {
			has_upper = true;
			c = (char)(c - 'A' + 'a');
		}
		lower[i] = c;
	}
	lower[40] = '\0';
	if (has_lower && has_upper) {
		checksum_case(lower, want);
		if (memcmp(want, s, 40) != 0)
			return -2;
	}
	return hex_decode(lower, a->b, sizeof(a->b));
}

void eth_address_format(const struct eth_address *a, char out[ETH_ADDRESS_HEX_LEN + 1])
{
	char lower[41];

	hex_encode(a->b, sizeof(a->b), lower);
	out[0] = '0';
	out[1] = 'x';
	checksum_case(lower, out + 2);
	out[ETH_ADDRESS_HEX_LEN] = '\0';
}

bool eth_address_is_zero(const struct eth_address *a)
{
	for (size_t i = 0; i < sizeof(a->b); i++)
		if (a->b[i])
			return false;
	return true;
}

void eth_address_from_pubkey(const uint8_t pub[64], struct eth_address *a)
{
	uint8_t h[KECCAK256_LEN];

	keccak256(pub, 64, h);
	memcpy(a->b, h + 12, sizeof(a->b));
}

int bytes32_parse(const char *s, uint8_t out[32])
{
	if (!has_0x(s) || strlen(s) != BYTES32_HEX_LEN)
		return -1;
	return hex_decode(s + 2, out, 32);
}

void bytes32_format(const uint8_t in[32], char out[BYTES32_HEX_LEN + 1])
{
	out[0] = '0';
	out[1] = 'x';
	hex_encode(in, 32, out + 2);
}

int eth_hex_decode(const char *s, uint8_t **out, size_t *len)
{
	size_t n;
	uint8_t *buf;

	if (!has_0x(s))
		return -1;
	s += 2;
	n = strlen(s);
	if (n % 2)
		return -1;
	buf = malloc(n / 2 + 1);	/* + 1: never malloc(0) */
	if (!buf)
		return -1;
	if (n && hex_decode(s, buf, n / 2)) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n / 2;
	return 0;
}

char *eth_hex_encode(const uint8_t *in, size_t n)
{
	char *s;

	if (n > (SIZE_MAX - 3) / 2)
		return NULL;
	s = malloc(2 * n + 3);
	if (!s)
		return NULL;
	s[0] = '0';
	s[1] = 'x';
	hex_encode(in, n, s + 2);
	s[2 * n + 2] = '\0';
	return s;
}
