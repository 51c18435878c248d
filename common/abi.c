/*
 * abi.c - see abi.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "keccak.h"

struct abi_arg abi_uint(unsigned bits, uint64_t v)
{
	struct abi_arg a = { .type = ABI_UINT, .bits = bits };

	u256_from_u64(&a.uint, v);
	return a;
}

struct abi_arg abi_uint_u256(unsigned bits, const struct u256 *v)
{
	struct abi_arg a = { .type = ABI_UINT, .bits = bits, .uint = *v };

	return a;
}

struct abi_arg abi_address(const struct eth_address *addr)
{
	struct abi_arg a = { .type = ABI_ADDRESS, .address = *addr };

	return a;
}

struct abi_arg abi_bytes32(const uint8_t b[32])
{
	struct abi_arg a = { .type = ABI_BYTES32 };

	memcpy(a.bytes32, b, 32);
	return a;
}

struct abi_arg abi_bool(bool b)
{
	struct abi_arg a = { .type = ABI_BOOL, .boolean = b };

	return a;
}

struct abi_arg abi_bytes32_array(const uint8_t (*items)[32], size_t n)
{
	struct abi_arg a = { .type = ABI_BYTES32_ARRAY, .items = items, .n_items = n };

	return a;
}

void abi_selector(const char *signature, uint8_t out[ABI_SELECTOR_LEN])
{
	uint8_t h[KECCAK256_LEN];

	keccak256(signature, strlen(signature), h);
	memcpy(out, h, ABI_SELECTOR_LEN);
}

/* Parse one canonical type name (len bytes at s). */
static int parse_type(const char *s, size_t len, enum abi_type *type, unsigned *bits)
{
	char name[16];
	unsigned n = 0;

	if (len == 0 || len >= sizeof(name))
		return -1;
	memcpy(name, s, len);
	name[len] = '\0';
	*bits = 0;
	if (!strcmp(name, "address"))
		*type = ABI_ADDRESS;
	else if (!strcmp(name, "bytes32"))
		*type = ABI_BYTES32;
	else if (!strcmp(name, "bool"))
		*type = ABI_BOOL;
	else if (!strcmp(name, "bytes32[]"))
		*type = ABI_BYTES32_ARRAY;
	else if (!strncmp(name, "uint", 4) && name[4] >= '1' && name[4] <= '9') {
		for (const char *p = name + 4; *p; p++) {
			if (*p < '0' || *p > '9' || n > 256)
				return -1;
			n = n * 10 + (unsigned)(*p - '0');
		}
		if (n == 0 || n > 256 || n % 8)
			return -1;
		*type = ABI_UINT;
		*bits = n;
	} else
		return -1;
	return 0;
}

static const char *type_name(enum abi_type t)
{
	switch (t) {
	case ABI_UINT: return "uint";
	case ABI_ADDRESS: return "address";
	case ABI_BYTES32: return "bytes32";
	case ABI_BOOL: return "bool";
	case ABI_BYTES32_ARRAY: return "bytes32[]";
	}
	return "?";
}

int abi_signature_types(const char *signature, enum abi_type *types,
			unsigned *bits, size_t max, char *err, size_t errlen)
{
	const char *open = strchr(signature, '('), *p, *end;
	size_t i = 0;

	end = open ? strchr(open, ')') : NULL;
	if (!open || open == signature || !end || end[1] != '\0') {
		snprintf(err, errlen, "%s: not a function signature NAME(TYPE,...)", signature);
		return -1;
	}
	for (p = open + 1; p < end; i++) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;

		if (i >= max) {
			snprintf(err, errlen, "%s: more than %zu parameters", signature, max);
			return -1;
		}
		if (parse_type(p, (size_t)(stop - p), &types[i], &bits[i])) {
			snprintf(err, errlen, "%s: parameter %zu: unsupported or non-canonical type '%.*s'",
				 signature, i + 1, (int)(stop - p), p);
			return -1;
		}
		p = comma ? comma + 1 : end;
		if (comma && p == end) {
			snprintf(err, errlen, "%s: empty parameter type", signature);
			return -1;
		}
	}
	return (int)i;
}

/* Check SIGNATURE's parameter list against args. */
static int check_signature(const char *signature, const struct abi_arg *args,
			   size_t nargs, char *err, size_t errlen)
{
	enum abi_type types[64];
	unsigned bits[64];
	int n = abi_signature_types(signature, types, bits, 64, err, errlen);

	if (n < 0)
		return -1;
	if ((size_t)n != nargs) {
		snprintf(err, errlen, "%s: %d parameters declared, %zu arguments given",
			 signature, n, nargs);
		return -1;
	}
	for (size_t i = 0; i < nargs; i++) {
		if (args[i].type != types[i] || args[i].bits != bits[i]) {
			snprintf(err, errlen, "%s: parameter %zu is %s%.0u, argument is %s%.0u",
				 signature, i + 1, type_name(types[i]), bits[i],
				 type_name(args[i].type), args[i].bits);
			return -1;
		}
		if (types[i] == ABI_UINT && u256_bits(&args[i].uint) > bits[i]) {
			snprintf(err, errlen, "%s: parameter %zu: value does not fit uint%u",
				 signature, i + 1, bits[i]);
			return -1;
		}
	}
	return 0;
}

static void word_u64(uint8_t w[32], uint64_t v)
{
	struct u256 x;

	u256_from_u64(&x, v);
	memcpy(w, x.be, 32);
}

static void encode_static(uint8_t w[32], const struct abi_arg *a)
{
	memset(w, 0, 32);
	switch (a->type) {
	case ABI_UINT:
		memcpy(w, a->uint.be, 32);
		break;
	case ABI_ADDRESS:
		memcpy(w + 12, a->address.b, 20);
		break;
	case ABI_BYTES32:
		memcpy(w, a->bytes32, 32);
		break;
	case ABI_BOOL:
		w[31] = a->boolean ? 1 : 0;
		break;
	case ABI_BYTES32_ARRAY:
		break;
	}
}

int abi_encode_call(const char *signature, const struct abi_arg *args,
		    size_t nargs, uint8_t **out, size_t *out_len,
		    char *err, size_t errlen)
{
	size_t total = ABI_SELECTOR_LEN + ABI_WORD * nargs, tail;
	uint8_t *buf, *w;

	*out = NULL;
	*out_len = 0;
	if (check_signature(signature, args, nargs, err, errlen))
		return -1;
	for (size_t i = 0; i < nargs; i++) {
		if (args[i].type != ABI_BYTES32_ARRAY)
			continue;
		if (args[i].n_items > (SIZE_MAX - total) / ABI_WORD - 1) {
			snprintf(err, errlen, "%s: argument %zu too long", signature, i + 1);
			return -1;
		}
		total += ABI_WORD * (1 + args[i].n_items);
	}
	buf = malloc(total);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", signature);
		return -1;
	}
	abi_selector(signature, buf);
	/* Offsets of dynamic data count from the start of the arguments. */
	tail = ABI_WORD * nargs;
	for (size_t i = 0; i < nargs; i++) {
		w = buf + ABI_SELECTOR_LEN + ABI_WORD * i;
		if (args[i].type != ABI_BYTES32_ARRAY) {
			encode_static(w, &args[i]);
			continue;
		}
		word_u64(w, tail);
		word_u64(buf + ABI_SELECTOR_LEN + tail, args[i].n_items);
		if (args[i].n_items)
			memcpy(buf + ABI_SELECTOR_LEN + tail + ABI_WORD, args[i].items,
			       ABI_WORD * args[i].n_items);
		tail += ABI_WORD * (1 + args[i].n_items);
	}
	*out = buf;
	*out_len = total;
	return 0;
}

static const uint8_t *word_at(const uint8_t *data, size_t len, size_t slot)
{
	if (slot >= len / ABI_WORD)
		return NULL;
	return data + ABI_WORD * slot;
}

int abi_decode_uint(const uint8_t *data, size_t len, size_t slot,
		    unsigned bits, struct u256 *out)
{
	const uint8_t *w = word_at(data, len, slot);
	struct u256 x;

	if (!w || bits == 0 || bits > 256 || bits % 8)
		return -1;
	memcpy(x.be, w, 32);
	if (u256_bits(&x) > bits)
		return -1;
	*out = x;
	return 0;
}

int abi_decode_uint64(const uint8_t *data, size_t len, size_t slot,
		      unsigned bits, uint64_t *out)
{
	struct u256 x;

	if (bits > 64 || abi_decode_uint(data, len, slot, bits, &x))
		return -1;
	return u256_to_u64(&x, out);
}

int abi_decode_address(const uint8_t *data, size_t len, size_t slot,
		       struct eth_address *out)
{
	const uint8_t *w = word_at(data, len, slot);

	if (!w)
		return -1;
	for (int i = 0; i < 12; i++)
		if (w[i])
			return -1;
	memcpy(out->b, w + 12, 20);
	return 0;
}

int abi_decode_bytes32(const uint8_t *data, size_t len, size_t slot,
		       uint8_t out[32])
{
	const uint8_t *w = word_at(data, len, slot);

	if (!w)
		return -1;
	memcpy(out, w, 32);
	return 0;
}

int abi_decode_bool(const uint8_t *data, size_t len, size_t slot, bool *out)
{
	uint64_t v;

	if (abi_decode_uint64(data, len, slot, 8, &v) || v > 1)
		return -1;
	*out = v == 1;
	return 0;
}

void abi_revert_reason(const uint8_t *data, size_t len, char *out, size_t outlen)
{
	static const uint8_t error_string[4] = { 0x08, 0xc3, 0x79, 0xa0 };	/* Error(string) */
	static const uint8_t panic_uint[4] = { 0x4e, 0x48, 0x7b, 0x71 };	/* Panic(uint256) */
	const uint8_t *args = data + ABI_SELECTOR_LEN;
	size_t alen = len >= ABI_SELECTOR_LEN ? len - ABI_SELECTOR_LEN : 0;
	uint64_t off, n;
	struct u256 code;
	char num[U256_HEX_LEN + 1];

	if (outlen == 0)
		return;
	if (len == 0) {
		snprintf(out, outlen, "no reason given");
		return;
	}
	if (len >= ABI_SELECTOR_LEN && !memcmp(data, error_string, 4) &&
	    !abi_decode_uint64(args, alen, 0, 64, &off) && off % ABI_WORD == 0 &&
	    off / ABI_WORD < alen / ABI_WORD &&
	    !abi_decode_uint64(args, alen, off / ABI_WORD, 64, &n) &&
	    n <= alen - off - ABI_WORD) {
		const uint8_t *s = args + off + ABI_WORD;
		size_t k = 0;

		/* Printable ASCII only: the text comes from the chain. */
		for (uint64_t i = 0; i < n && k + 1 < outlen; i++)
			out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
		out[k] = '\0';
		return;
	}
	if (len == ABI_SELECTOR_LEN + ABI_WORD && !memcmp(data, panic_uint, 4)) {
		memcpy(code.be, args, 32);
		u256_to_quantity(&code, num);
		snprintf(out, outlen, "panic %s", num);
		return;
	}
	if (len >= ABI_SELECTOR_LEN) {
		snprintf(out, outlen, "custom error 0x%02x%02x%02x%02x (%zu bytes of arguments)",
			 data[0], data[1], data[2], data[3], len - ABI_SELECTOR_LEN);
		return;
	}
	snprintf(out, outlen, "malformed revert data (%zu bytes)", len);
}

void abi_site_id(const char *site_name, uint8_t out[32])
{
	keccak256(site_name, strlen(site_name), out);
}

/* The double hash of FORMATS.md over an abi.encode of static words. */
static void leaf_hash(const uint8_t *words, size_t n, uint8_t out[32])
{
	uint8_t inner[KECCAK256_LEN];

	keccak256(words, n * ABI_WORD, inner);
	keccak256(inner, sizeof(inner), out);
}

int contribution_leaf_hash(const struct contribution_leaf *leaf, uint8_t out[32])
{
	uint8_t w[7][ABI_WORD];

	if (u256_bits(&leaf->cpu_seconds) > 128 || u256_bits(&leaf->gpu_seconds) > 128)
		return -1;
	word_u64(w[0], leaf->epoch);
	word_u64(w[1], leaf->index);
	memcpy(w[2], leaf->site_id, 32);
	memset(w[3], 0, 12);
	memcpy(w[3] + 12, leaf->payee.b, 20);
	memcpy(w[4], leaf->cpu_seconds.be, 32);
	memcpy(w[5], leaf->gpu_seconds.be, 32);
	word_u64(w[6], leaf->score);
	leaf_hash(&w[0][0], 7, out);
	return 0;
}

void reward_leaf_hash(const struct reward_leaf *leaf, uint8_t out[32])
{
	uint8_t w[4][ABI_WORD];

	word_u64(w[0], leaf->epoch);
	memcpy(w[1], leaf->index.be, 32);
	memset(w[2], 0, 12);
	memcpy(w[2] + 12, leaf->account.b, 20);
	memcpy(w[3], leaf->amount.be, 32);
	leaf_hash(&w[0][0], 4, out);
}
