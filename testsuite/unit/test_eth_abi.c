/* Unit tests for common/abi.c: selectors and calldata from the Solidity ABI
 * specification and ERC-20, the type checks of abi_encode_call, strict
 * decoding of return values, revert reasons. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "abi.h"
#include "test_eth_util.h"

static void check_selector(const char *sig, const char *want)
{
	uint8_t sel[ABI_SELECTOR_LEN];

	abi_selector(sig, sel);
	assert_string_equal(tohex(sel, sizeof(sel)), want);
}

/* Well-known selectors: ERC-20's, Solidity's Error and Panic, and the ABI
 * specification's example baz(uint32,bool). */
static void test_selectors(void **state)
{
	check_selector("transfer(address,uint256)", "a9059cbb");
	check_selector("balanceOf(address)", "70a08231");
	check_selector("approve(address,uint256)", "095ea7b3");
	check_selector("totalSupply()", "18160ddd");
	check_selector("transferFrom(address,address,uint256)", "23b872dd");
	check_selector("Error(string)", "08c379a0");
	check_selector("Panic(uint256)", "4e487b71");
	check_selector("baz(uint32,bool)", "cdcd77c0");
}

/* The ABI specification's example: baz(69, true). */
static void test_spec_example(void **state)
{
	struct abi_arg args[] = { abi_uint(32, 69), abi_bool(true) };
	uint8_t *data;
	size_t len;
	char err[256];

	assert_int_equal(abi_encode_call("baz(uint32,bool)", args, 2, &data, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 68);
	assert_string_equal(tohex(data, len),
		"cdcd77c0"
		"0000000000000000000000000000000000000000000000000000000000000045"
		"0000000000000000000000000000000000000000000000000000000000000001");
	free(data);
}

/* The calls quorated makes (contracts/FORMATS.md). */
static void test_quorate_calls(void **state)
{
	uint8_t root[32], leaf[32], proof[2][32], *data;
	struct eth_address acct;
	struct u256 big;
	size_t len;
	char err[256];

	memset(root, 0x11, 32);
	memset(leaf, 0x22, 32);
	memset(proof[0], 0x33, 32);
	memset(proof[1], 0x44, 32);
	memset(acct.b, 0x55, 20);
	assert_int_equal(u256_from_dec(&big, "340282366920938463463374607431768211455"), 0);	/* 2^128-1 */
	{
		struct abi_arg args[] = {
			abi_uint(64, 7), abi_bytes32(root), abi_uint_u256(128, &big),
			abi_uint(128, 5), abi_uint(32, 3), abi_bytes32(leaf),
		};

		assert_int_equal(abi_encode_call("commitEpoch(uint64,bytes32,uint128,uint128,uint32,bytes32)",
						 args, 6, &data, &len, err, sizeof(err)), 0);
		assert_int_equal(len, 4 + 6 * 32);
		check_selector("commitEpoch(uint64,bytes32,uint128,uint128,uint32,bytes32)", tohex(data, 4));
		assert_string_equal(tohex(data + 4 + 2 * 32, 32),
				    "00000000000000000000000000000000ffffffffffffffffffffffffffffffff");
		free(data);
	}
	{
		struct abi_arg args[] = { abi_uint(64, 7), abi_bytes32(leaf), abi_bytes32_array(proof, 2) };

		assert_int_equal(abi_encode_call("verify(uint64,bytes32,bytes32[])", args, 3,
						 &data, &len, err, sizeof(err)), 0);
		assert_int_equal(len, 4 + 3 * 32 + 32 + 2 * 32);
		/* head: epoch, leaf, offset 0x60; tail: length 2, the items */
		assert_string_equal(tohex(data + 4 + 2 * 32, 32),
				    "0000000000000000000000000000000000000000000000000000000000000060");
		assert_string_equal(tohex(data + 4 + 3 * 32, 32),
				    "0000000000000000000000000000000000000000000000000000000000000002");
		assert_memory_equal(data + 4 + 4 * 32, proof[0], 32);
		assert_memory_equal(data + 4 + 5 * 32, proof[1], 32);
		free(data);
	}
	{
		struct abi_arg args[] = {
			abi_uint(64, 9), abi_uint(256, 4), abi_address(&acct),
			abi_uint(256, 1000), abi_bytes32_array(NULL, 0),
		};

		assert_int_equal(abi_encode_call("claim(uint64,uint256,address,uint256,bytes32[])", args, 5,
						 &data, &len, err, sizeof(err)), 0);
		assert_int_equal(len, 4 + 5 * 32 + 32);
		assert_string_equal(tohex(data + 4 + 2 * 32, 32),
				    "0000000000000000000000005555555555555555555555555555555555555555");
		assert_string_equal(tohex(data + 4 + 4 * 32, 32),
				    "00000000000000000000000000000000000000000000000000000000000000a0");
		assert_string_equal(tohex(data + 4 + 5 * 32, 32),
				    "0000000000000000000000000000000000000000000000000000000000000000");
		free(data);
	}
	{
		struct abi_arg args[] = { abi_uint(64, 7) };

		assert_int_equal(abi_encode_call("epochs(uint64)", args, 1, &data, &len, err, sizeof(err)), 0);
		assert_int_equal(len, 36);
		free(data);
	}
}

static void check_refused(const char *sig, const struct abi_arg *args, size_t n, const char *msg)
{
	uint8_t *data = (uint8_t *)"x";
	size_t len = 99;
	char err[256] = "";

	assert_int_equal(abi_encode_call(sig, args, n, &data, &len, err, sizeof(err)), -1);
	assert_null(data);
	assert_int_equal(len, 0);
	if (!strstr(err, msg))
		fail_msg("error '%s' does not contain '%s'", err, msg);
}

static void test_type_checks(void **state)
{
	uint8_t b[32] = { 0 };
	struct u256 big;
	struct abi_arg two[] = { abi_uint(64, 1), abi_bytes32(b) };
	struct abi_arg wide[] = { abi_uint(32, 1ull << 32) };
	struct abi_arg u256arg[1];

	u256_from_u64(&big, 1);
	u256arg[0] = abi_uint_u256(256, &big);
	check_refused("f(uint64)", two, 2, "1 parameters declared, 2 arguments given");
	check_refused("f(uint64,bytes32,bool)", two, 2, "3 parameters declared, 2 arguments given");
	check_refused("f(uint32,bytes32)", two, 2, "parameter 1 is uint32, argument is uint64");
	check_refused("f(uint64,address)", two, 2, "parameter 2 is address, argument is bytes32");
	check_refused("f(uint32)", wide, 1, "does not fit uint32");
	check_refused("f(uint)", u256arg, 1, "non-canonical type 'uint'");
	check_refused("f(uint7)", u256arg, 1, "unsupported");
	check_refused("f(uint264)", u256arg, 1, "unsupported");
	check_refused("f(string)", u256arg, 1, "unsupported");
	check_refused("f(uint256,)", u256arg, 1, "empty parameter type");
	check_refused("f uint256", u256arg, 1, "not a function signature");
	check_refused("(uint256)", u256arg, 1, "not a function signature");
	check_refused("f(uint256)x", u256arg, 1, "not a function signature");
	check_refused("f( uint256)", u256arg, 1, "unsupported");
}

static void test_signature_types(void **state)
{
	enum abi_type t[8];
	unsigned bits[8];
	char err[256];

	assert_int_equal(abi_signature_types("claim(uint64,uint256,address,uint256,bytes32[])",
					     t, bits, 8, err, sizeof(err)), 5);
	assert_true(t[0] == ABI_UINT && bits[0] == 64 && t[1] == ABI_UINT && bits[1] == 256 &&
		    t[2] == ABI_ADDRESS && t[3] == ABI_UINT && t[4] == ABI_BYTES32_ARRAY);
	assert_int_equal(abi_signature_types("totalSupply()", t, bits, 8, err, sizeof(err)), 0);
	assert_int_equal(abi_signature_types("f(bool,bool,bool)", t, bits, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 2 parameters"));
}

static void test_decode(void **state)
{
	uint8_t ret[5 * 32];
	uint64_t v;
	struct u256 x;
	struct eth_address a;
	bool b;
	uint8_t b32[32];

	memset(ret, 0, sizeof(ret));
	ret[31] = 7;				/* uint64 7 */
	memset(ret + 32 + 16, 0xff, 16);	/* uint128 max */
	ret[2 * 32 + 31] = 1;			/* true */
	memset(ret + 3 * 32 + 12, 0xaa, 20);	/* address */
	memset(ret + 4 * 32, 0x5a, 32);		/* bytes32 */
	assert_int_equal(abi_decode_uint64(ret, sizeof(ret), 0, 64, &v), 0);
	assert_true(v == 7);
	assert_int_equal(abi_decode_uint(ret, sizeof(ret), 1, 128, &x), 0);
	assert_int_equal(u256_bits(&x), 128);
	assert_int_equal(abi_decode_uint(ret, sizeof(ret), 1, 120, &x), -1);	/* dirty bits */
	assert_int_equal(abi_decode_uint64(ret, sizeof(ret), 1, 64, &v), -1);
	assert_int_equal(abi_decode_bool(ret, sizeof(ret), 2, &b), 0);
	assert_true(b);
	assert_int_equal(abi_decode_bool(ret, sizeof(ret), 1, &b), -1);
	assert_int_equal(abi_decode_address(ret, sizeof(ret), 3, &a), 0);
	assert_int_equal(a.b[0], 0xaa);
	assert_int_equal(abi_decode_address(ret, sizeof(ret), 4, &a), -1);	/* high bytes set */
	assert_int_equal(abi_decode_bytes32(ret, sizeof(ret), 4, b32), 0);
	assert_int_equal(b32[31], 0x5a);
	/* past the end, or a short answer */
	assert_int_equal(abi_decode_bytes32(ret, sizeof(ret), 5, b32), -1);
	assert_int_equal(abi_decode_uint64(ret, 31, 0, 64, &v), -1);
	assert_int_equal(abi_decode_bool(NULL, 0, 0, &b), -1);
	ret[2 * 32 + 31] = 2;
	assert_int_equal(abi_decode_bool(ret, sizeof(ret), 2, &b), -1);
}

static void test_revert_reason(void **state)
{
	uint8_t data[200];
	char out[128];
	size_t n;

	/* Error("Ownable: caller is not the owner"), as solc encodes it */
	n = unhex("08c379a0"
		  "0000000000000000000000000000000000000000000000000000000000000020"
		  "0000000000000000000000000000000000000000000000000000000000000020"
		  "4f776e61626c653a2063616c6c6572206973206e6f7420746865206f776e6572", data, sizeof(data));
	abi_revert_reason(data, n, out, sizeof(out));
	assert_string_equal(out, "Ownable: caller is not the owner");
	/* the same text, cut short by a small buffer */
	abi_revert_reason(data, n, out, 8);
	assert_string_equal(out, "Ownable");
	/* a length running past the data is not believed */
	data[4 + 32 + 31] = 0x40;
	abi_revert_reason(data, n, out, sizeof(out));
	assert_string_equal(out, "custom error 0x08c379a0 (96 bytes of arguments)");
	/* Panic(0x11): arithmetic overflow */
	n = unhex("4e487b71"
		  "0000000000000000000000000000000000000000000000000000000000000011", data, sizeof(data));
	abi_revert_reason(data, n, out, sizeof(out));
	assert_string_equal(out, "panic 0x11");
	n = unhex("e450d38c" "0000000000000000000000000000000000000000000000000000000000000001",
		  data, sizeof(data));
	abi_revert_reason(data, n, out, sizeof(out));
	assert_string_equal(out, "custom error 0xe450d38c (32 bytes of arguments)");
	abi_revert_reason(data, 0, out, sizeof(out));
	assert_string_equal(out, "no reason given");
	abi_revert_reason(data, 3, out, sizeof(out));
	assert_string_equal(out, "malformed revert data (3 bytes)");
}

static void test_leaf_width(void **state)
{
	struct contribution_leaf leaf;
	uint8_t out[32];

	memset(&leaf, 0, sizeof(leaf));
	assert_int_equal(u256_from_dec(&leaf.cpu_seconds, "340282366920938463463374607431768211456"), 0);
	assert_int_equal(contribution_leaf_hash(&leaf, out), -1);	/* 2^128 */
	assert_int_equal(u256_from_dec(&leaf.cpu_seconds, "340282366920938463463374607431768211455"), 0);
	assert_int_equal(contribution_leaf_hash(&leaf, out), 0);
	leaf.gpu_seconds = leaf.cpu_seconds;
	leaf.gpu_seconds.be[15] = 1;
	assert_int_equal(contribution_leaf_hash(&leaf, out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_quorate_calls),
		cmocka_unit_test(test_type_checks),
		cmocka_unit_test(test_signature_types),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_revert_reason),
		cmocka_unit_test(test_leaf_width),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
