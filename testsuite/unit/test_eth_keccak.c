/* Unit tests for common/keccak.c and common/ethtypes.c: Keccak-256 against
 * published digests and the independent js-sha3 reference
 * (eth_reference.json), 256-bit integers, EIP-55 addresses. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "keccak.h"
#include "ethtypes.h"
#include "test_eth_util.h"

static void check_keccak(const void *msg, size_t len, const char *want)
{
	uint8_t d[KECCAK256_LEN];

	keccak256(msg, len, d);
	assert_string_equal(tohex(d, sizeof(d)), want);
}

/* Published Keccak-256 digests (Ethereum's keccak256, the Keccak team's
 * pre-FIPS padding): the empty string, "abc", the pangram. */
static void test_published(void **state)
{
	check_keccak("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	check_keccak(NULL, 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	check_keccak("abc", 3, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
	check_keccak("The quick brown fox jumps over the lazy dog", 43,
		     "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

/* SHA3-256 of "" is a7ffc6f8...: the 0x06 padding must not be what we do. */
static void test_not_sha3(void **state)
{
	uint8_t d[KECCAK256_LEN];

	keccak256("", 0, d);
	assert_string_not_equal(tohex(d, sizeof(d)),
				"a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

/* js-sha3 digests of inputs around the 136-byte rate, in one piece and fed
 * in every split (incremental absorption across block boundaries). */
static void test_reference(void **state)
{
	json_object *ref = load_json("testsuite/unit/eth_reference.json");
	json_object *cases = get(ref, "keccak");
	size_t n = json_object_array_length(cases);
	uint8_t in[2048], d[KECCAK256_LEN], d2[KECCAK256_LEN];

	assert_true(n >= 15);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(cases, i);
		size_t len = unhex(get_str(c, "input"), in, sizeof(in));
		const char *want = get_str(c, "hash") + 2;

		check_keccak(in, len, want);
		for (size_t split = 0; split <= len; split += (len > 300 ? 37 : 1)) {
			struct keccak256_ctx ctx;

			keccak256_init(&ctx);
			keccak256_update(&ctx, in, split);
			keccak256_update(&ctx, in + split, 0);
			keccak256_update(&ctx, in + split, len - split);
			keccak256_final(&ctx, d);
			assert_string_equal(tohex(d, sizeof(d)), want);
		}
		/* The context is reusable after final. */
		{
			struct keccak256_ctx ctx;

			keccak256_init(&ctx);
			keccak256_update(&ctx, "x", 1);
			keccak256_final(&ctx, d2);
			keccak256_update(&ctx, in, len);
			keccak256_final(&ctx, d);
			assert_string_equal(tohex(d, sizeof(d)), want);
		}
	}
	{
		char *million = malloc(1000000);
		struct keccak256_ctx ctx;

		assert_non_null(million);
		memset(million, 'a', 1000000);
		check_keccak(million, 1000000, get_str(ref, "keccakMillionA") + 2);
		keccak256_init(&ctx);
		for (int i = 0; i < 1000; i++)
			keccak256_update(&ctx, million + 1000 * i, 1000);
		keccak256_final(&ctx, d);
		assert_string_equal(tohex(d, sizeof(d)), get_str(ref, "keccakMillionA") + 2);
		free(million);
	}
	json_object_put(ref);
}

static void test_pair(void **state)
{
	uint8_t a[32], b[32], ab[64], d1[32], d2[32];

	for (int i = 0; i < 32; i++) {
		a[i] = (uint8_t)(i * 7 + 1);
		b[i] = (uint8_t)(255 - i * 3);
	}
	memcpy(ab, a, 32);
	memcpy(ab + 32, b, 32);
	keccak256(ab, 64, d1);
	keccak256_pair(a, b, d2);
	assert_memory_equal(d1, d2, 32);
	keccak256_pair(a, b, a);	/* out may alias an input */
	assert_memory_equal(a, d1, 32);
}

static void test_u256(void **state)
{
	struct u256 x, y, z;
	char dec[U256_DEC_LEN + 1], q[U256_HEX_LEN + 1];
	uint64_t v;
	const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";

	assert_int_equal(u256_from_dec(&x, max), 0);
	u256_to_dec(&x, dec);
	assert_string_equal(dec, max);
	assert_int_equal(u256_bits(&x), 256);
	u256_to_quantity(&x, q);
	assert_string_equal(q, "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	assert_int_equal(u256_from_dec(&y, "115792089237316195423570985008687907853269984665640564039457584007913129639936"), -1);
	assert_int_equal(u256_from_dec(&y, ""), -1);
	assert_int_equal(u256_from_dec(&y, "12a"), -1);
	assert_int_equal(u256_from_dec(&y, "-1"), -1);
	assert_int_equal(u256_from_dec(&y, " 1"), -1);
	u256_from_u64(&y, 1);
	assert_int_equal(u256_add(&z, &x, &y), -1);		/* overflow */
	assert_int_equal(u256_mul_u32(&z, &x, 2), -1);
	assert_int_equal(u256_to_u64(&x, &v), -1);

	assert_int_equal(u256_from_dec(&x, "18446744073709551615"), 0);	/* 2^64 - 1 */
	assert_int_equal(u256_to_u64(&x, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(u256_add(&x, &x, &y), 0);
	assert_int_equal(u256_to_u64(&x, &v), -1);
	u256_to_dec(&x, dec);
	assert_string_equal(dec, "18446744073709551616");
	assert_int_equal(u256_bits(&x), 65);
	assert_int_equal(u256_cmp(&x, &y), 1);
	assert_int_equal(u256_cmp(&y, &x), -1);
	assert_int_equal(u256_div_u32(&z, &x, 1000), 616);
	u256_to_dec(&z, dec);
	assert_string_equal(dec, "18446744073709551");
	assert_int_equal(u256_sub(&z, &x, &y), 0);		/* 2^64 - 1: borrows over 8 bytes */
	u256_to_dec(&z, dec);
	assert_string_equal(dec, "18446744073709551615");
	assert_int_equal(u256_sub(&z, &y, &x), -1);		/* below zero */
	assert_int_equal(u256_sub(&z, &x, &x), 0);
	assert_true(u256_is_zero(&z));

	u256_from_u64(&x, 0);
	u256_to_dec(&x, dec);
	assert_string_equal(dec, "0");
	u256_to_quantity(&x, q);
	assert_string_equal(q, "0x0");
	assert_int_equal(u256_bits(&x), 0);
	assert_true(u256_is_zero(&x));
}

static void test_quantity(void **state)
{
	uint64_t v;
	struct u256 x;
	char q[19];

	assert_int_equal(quantity_to_u64("0x0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(quantity_to_u64("0x7a69", &v), 0);
	assert_true(v == 31337);
	assert_int_equal(quantity_to_u64("0xFFFFFFFFFFFFFFFF", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(quantity_to_u64("0x10000000000000000", &v), -1);	/* 2^64 */
	assert_int_equal(quantity_to_u64("0x", &v), -1);
	assert_int_equal(quantity_to_u64("7a69", &v), -1);
	assert_int_equal(quantity_to_u64("0x7g", &v), -1);
	assert_int_equal(quantity_to_u64("0x-1", &v), -1);
	assert_int_equal(quantity_to_u64("0x 1", &v), -1);
	assert_int_equal(u256_from_quantity(&x, "0x1" "0000000000000000000000000000000000000000000000000000000000000000"), -1);
	u64_to_quantity(0, q);
	assert_string_equal(q, "0x0");
	u64_to_quantity(UINT64_MAX, q);
	assert_string_equal(q, "0xffffffffffffffff");
	u64_to_quantity(1024, q);
	assert_string_equal(q, "0x400");
}

/* EIP-55's own examples: each is its own checksummed form. */
static void test_eip55(void **state)
{
	static const char *const examples[] = {
		"0x52908400098527886E0F7030069857D2E4169EE7",
		"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
		"0xde709f2102306220921060314715629080e2fb77",
		"0x27b1fdb04752bbc536007a920d24acb045561c26",
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	};
	struct eth_address a;
	char out[ETH_ADDRESS_HEX_LEN + 1];

	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		assert_int_equal(eth_address_parse(examples[i], &a), 0);
		eth_address_format(&a, out);
		assert_string_equal(out, examples[i]);
	}
	/* A mixed-case address with one letter's case flipped is refused. */
	assert_int_equal(eth_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", &a), -2);
	/* All lower case carries no checksum and is accepted. */
	assert_int_equal(eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", &a), 0);
	eth_address_format(&a, out);
	assert_string_equal(out, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
	assert_int_equal(eth_address_parse("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", &a), -1);
	assert_int_equal(eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", &a), -1);
	assert_int_equal(eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedd", &a), -1);
	assert_int_equal(eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", &a), -1);
}

static void test_hex(void **state)
{
	uint8_t *p, b32[32];
	size_t n;
	char *s, f[BYTES32_HEX_LEN + 1];

	assert_int_equal(eth_hex_decode("0x", &p, &n), 0);
	assert_non_null(p);
	assert_int_equal(n, 0);
	free(p);
	assert_int_equal(eth_hex_decode("0x00ff10", &p, &n), 0);
	assert_int_equal(n, 3);
	s = eth_hex_encode(p, n);
	assert_string_equal(s, "0x00ff10");
	free(s);
	free(p);
	assert_int_equal(eth_hex_decode("0x0", &p, &n), -1);
	assert_int_equal(eth_hex_decode("00", &p, &n), -1);
	assert_int_equal(eth_hex_decode("0xzz", &p, &n), -1);
	assert_int_equal(bytes32_parse("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", b32), 0);
	bytes32_format(b32, f);
	assert_string_equal(f, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	assert_int_equal(bytes32_parse("0xc5d2", b32), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published),
		cmocka_unit_test(test_not_sha3),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_pair),
		cmocka_unit_test(test_u256),
		cmocka_unit_test(test_quantity),
		cmocka_unit_test(test_eip55),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
