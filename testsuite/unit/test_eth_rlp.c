/* Unit tests for common/rlp.c: the examples of the Ethereum wiki's RLP page
 * and the yellow paper's appendix B, the EIP-155 example transaction, and
 * the decoder's refusal of every non-canonical or truncated form. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rlp.h"
#include "test_eth_util.h"

static void check_buf(struct rlp_buf *b, const char *want_hex)
{
	assert_false(b->failed);
	assert_string_equal(tohex(b->data, b->len), want_hex);
}

static void test_wiki_examples(void **state)
{
	static const char lorem[] = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
	struct rlp_buf b;
	size_t outer, inner;
	uint8_t be1024[] = { 0x00, 0x00, 0x04, 0x00 };

	/* "dog" */
	rlp_buf_init(&b);
	rlp_put_bytes(&b, "dog", 3);
	check_buf(&b, "83646f67");
	rlp_buf_free(&b);

	/* ["cat", "dog"] */
	outer = rlp_list_begin(&b);
	rlp_put_bytes(&b, "cat", 3);
	rlp_put_bytes(&b, "dog", 3);
	rlp_list_end(&b, outer);
	check_buf(&b, "c88363617483646f67");
	rlp_buf_free(&b);

	/* the empty string, the empty list */
	rlp_put_bytes(&b, "", 0);
	check_buf(&b, "80");
	rlp_buf_free(&b);
	rlp_list_end(&b, rlp_list_begin(&b));
	check_buf(&b, "c0");
	rlp_buf_free(&b);

	/* integers 0, 15, 1024 (and 1024 given as zero-padded big-endian) */
	rlp_put_uint(&b, 0);
	rlp_put_uint(&b, 15);
	rlp_put_uint(&b, 1024);
	rlp_put_uint_be(&b, be1024, sizeof(be1024));
	check_buf(&b, "800f820400820400");
	rlp_buf_free(&b);

	/* the byte 0x00 is itself; 0x7f too; 0x80 needs a header */
	rlp_put_bytes(&b, "\x00", 1);
	rlp_put_bytes(&b, "\x7f", 1);
	rlp_put_bytes(&b, "\x80", 1);
	check_buf(&b, "007f8180");
	rlp_buf_free(&b);

	/* the set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ] */
	outer = rlp_list_begin(&b);
	rlp_list_end(&b, rlp_list_begin(&b));
	inner = rlp_list_begin(&b);
	rlp_list_end(&b, rlp_list_begin(&b));
	rlp_list_end(&b, inner);
	inner = rlp_list_begin(&b);
	rlp_list_end(&b, rlp_list_begin(&b));
	{
		size_t m = rlp_list_begin(&b);

		rlp_list_end(&b, rlp_list_begin(&b));
		rlp_list_end(&b, m);
	}
	rlp_list_end(&b, inner);
	rlp_list_end(&b, outer);
	check_buf(&b, "c7c0c1c0c3c0c1c0");
	rlp_buf_free(&b);

	/* a 56-byte string: the first that needs the long form */
	assert_int_equal(strlen(lorem), 56);
	rlp_put_bytes(&b, lorem, 56);
	assert_int_equal(b.len, 58);
	assert_int_equal(b.data[0], 0xb8);
	assert_int_equal(b.data[1], 0x38);
	assert_memory_equal(b.data + 2, lorem, 56);
	rlp_buf_free(&b);

	/* a 55-byte string still has the short form */
	rlp_put_bytes(&b, lorem, 55);
	assert_int_equal(b.data[0], 0xb7);
	rlp_buf_free(&b);
}

/* Lists long enough for the long form, nested (memmove of the payload). */
static void test_long_lists(void **state)
{
	struct rlp_buf b;
	struct rlp_item it, child, grand;
	struct rlp_iter iter, iter2;
	uint8_t big[70000];
	size_t outer, inner;
	int n = 0;

	memset(big, 0xab, sizeof(big));
	rlp_buf_init(&b);
	outer = rlp_list_begin(&b);
	inner = rlp_list_begin(&b);
	rlp_put_bytes(&b, big, 60);
	rlp_list_end(&b, inner);
	rlp_put_bytes(&b, big, sizeof(big));
	rlp_list_end(&b, outer);
	assert_false(b.failed);
	/* outer: f9 or fa? payload = (2 + 62) + (1 + 3 + 70000) = 70068 -> 3 bytes */
	assert_int_equal(b.data[0], 0xfa);
	assert_int_equal(rlp_decode(b.data, b.len, RLP_MAX_DEPTH, &it), RLP_OK);
	assert_true(it.is_list);
	assert_int_equal(it.len, 70068);
	rlp_iter_init(&iter, &it);
	assert_int_equal(rlp_iter_next(&iter, &child), 1);
	assert_true(child.is_list);
	assert_int_equal(child.size, 64);
	rlp_iter_init(&iter2, &child);
	assert_int_equal(rlp_iter_next(&iter2, &grand), 1);
	assert_int_equal(grand.len, 60);
	assert_int_equal(rlp_iter_next(&iter2, &grand), 0);
	while (rlp_iter_next(&iter, &child) == 1)
		n++;
	assert_int_equal(n, 1);
	assert_int_equal(child.len, sizeof(big));
	assert_memory_equal(child.payload, big, sizeof(big));
	rlp_buf_free(&b);
}

/* EIP-155's example: the signing data of the unsigned transaction (nonce 9,
 * 20 gwei, 21000 gas, to 0x3535..., 1 ether, chain id 1) and the signed one. */
static void test_eip155_example(void **state)
{
	struct rlp_buf b;
	uint8_t to[20], r[32], s[32], wei[8] = { 0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00 };
	size_t m;

	memset(to, 0x35, sizeof(to));
	rlp_buf_init(&b);
	m = rlp_list_begin(&b);
	rlp_put_uint(&b, 9);
	rlp_put_uint(&b, 20000000000ull);
	rlp_put_uint(&b, 21000);
	rlp_put_bytes(&b, to, sizeof(to));
	rlp_put_uint_be(&b, wei, sizeof(wei));
	rlp_put_bytes(&b, "", 0);
	rlp_put_uint(&b, 1);
	rlp_put_uint(&b, 0);
	rlp_put_uint(&b, 0);
	rlp_list_end(&b, m);
	check_buf(&b, "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080");
	rlp_buf_free(&b);

	unhex("28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276", r, 32);
	unhex("67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83", s, 32);
	m = rlp_list_begin(&b);
	rlp_put_uint(&b, 9);
	rlp_put_uint(&b, 20000000000ull);
	rlp_put_uint(&b, 21000);
	rlp_put_bytes(&b, to, sizeof(to));
	rlp_put_uint_be(&b, wei, sizeof(wei));
	rlp_put_bytes(&b, "", 0);
	rlp_put_uint(&b, 37);
	rlp_put_uint_be(&b, r, 32);
	rlp_put_uint_be(&b, s, 32);
	rlp_list_end(&b, m);
	check_buf(&b, "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
	rlp_buf_free(&b);
}

static int decode_hex(const char *hex, unsigned depth)
{
	uint8_t buf[512];
	size_t n = unhex(hex, buf, sizeof(buf));
	struct rlp_item it;

	return rlp_decode(buf, n, depth, &it);
}

static void test_decode_examples(void **state)
{
	uint8_t buf[128];
	size_t n = unhex("c88363617483646f67", buf, sizeof(buf));
	struct rlp_item it, a;
	struct rlp_iter iter;
	uint64_t v;
	uint8_t wide[4];

	assert_int_equal(rlp_decode(buf, n, 8, &it), RLP_OK);
	assert_true(it.is_list);
	assert_int_equal(rlp_iter_init(&iter, &it), RLP_OK);
	assert_int_equal(rlp_iter_next(&iter, &a), 1);
	assert_false(a.is_list);
	assert_memory_equal(a.payload, "cat", 3);
	assert_int_equal(rlp_iter_next(&iter, &a), 1);
	assert_memory_equal(a.payload, "dog", 3);
	assert_int_equal(rlp_iter_next(&iter, &a), 0);

	n = unhex("820400", buf, sizeof(buf));
	assert_int_equal(rlp_decode(buf, n, 0, &it), RLP_OK);
	assert_int_equal(rlp_item_uint64(&it, &v), RLP_OK);
	assert_true(v == 1024);
	assert_int_equal(rlp_item_uint_be(&it, wide, sizeof(wide)), RLP_OK);
	assert_string_equal(tohex(wide, 4), "00000400");
	n = unhex("80", buf, sizeof(buf));
	assert_int_equal(rlp_decode(buf, n, 0, &it), RLP_OK);
	assert_int_equal(rlp_item_uint64(&it, &v), RLP_OK);
	assert_true(v == 0);
	n = unhex("0f", buf, sizeof(buf));
	assert_int_equal(rlp_decode(buf, n, 0, &it), RLP_OK);
	assert_int_equal(rlp_item_uint64(&it, &v), RLP_OK);
	assert_true(v == 15);
	assert_int_equal(decode_hex("c7c0c1c0c3c0c1c0", 4), RLP_OK);
	assert_int_equal(decode_hex("c7c0c1c0c3c0c1c0", 3), RLP_ERR_DEPTH);
	assert_int_equal(decode_hex("c0", 1), RLP_OK);
}

static void test_decode_refusals(void **state)
{
	uint8_t buf[128];
	struct rlp_item it;
	uint64_t v;
	size_t n;

	/* a single byte below 0x80 written with a header */
	assert_int_equal(decode_hex("8100", 1), RLP_ERR_NONCANONICAL);
	assert_int_equal(decode_hex("817f", 1), RLP_ERR_NONCANONICAL);
	assert_int_equal(decode_hex("8180", 1), RLP_OK);
	/* the long form for a short string or list */
	assert_int_equal(decode_hex("b800", 1), RLP_ERR_NONCANONICAL);
	assert_int_equal(decode_hex("b83761", 1), RLP_ERR_NONCANONICAL);
	assert_int_equal(decode_hex("f800", 1), RLP_ERR_NONCANONICAL);
	/* a length with a leading zero byte */
	assert_int_equal(decode_hex("b90038", 1), RLP_ERR_NONCANONICAL);
	/* truncated: string, list, an item running past its list */
	assert_int_equal(decode_hex("83646f", 1), RLP_ERR_TRUNCATED);
	assert_int_equal(decode_hex("c883636174", 1), RLP_ERR_TRUNCATED);
	assert_int_equal(decode_hex("c283616263", 1), RLP_ERR_TRAILING);
	assert_int_equal(decode_hex("c28361", 1), RLP_ERR_TRUNCATED);
	assert_int_equal(decode_hex("b8", 1), RLP_ERR_TRUNCATED);
	assert_int_equal(decode_hex("", 1), RLP_ERR_TRUNCATED);
	/* lengths near 2^64: no overflow, just truncated */
	assert_int_equal(decode_hex("bfffffffffffffffff", 1), RLP_ERR_TRUNCATED);
	assert_int_equal(decode_hex("fffffffffffffffff0", 1), RLP_ERR_TRUNCATED);
	/* trailing bytes after the item */
	assert_int_equal(decode_hex("8080", 1), RLP_ERR_TRAILING);
	/* depth */
	assert_int_equal(decode_hex("c3c2c1c0", 4), RLP_OK);
	assert_int_equal(decode_hex("c3c2c1c0", 3), RLP_ERR_DEPTH);
	assert_int_equal(decode_hex("c0", 0), RLP_ERR_DEPTH);
	{
		uint8_t deep[64];
		size_t len = 0;

		/* 50 nested lists: [[[...[]...]]] is c0+49, c0+48, ..., c0 */
		for (int i = 49; i >= 0; i--)
			deep[len++] = (uint8_t)(0xc0 + i);
		assert_int_equal(rlp_decode(deep, len, RLP_MAX_DEPTH, &it), RLP_OK);
		assert_int_equal(rlp_decode(deep, len, 49, &it), RLP_ERR_DEPTH);
	}
	/* integers: leading zeros, too wide, a list */
	n = unhex("00", buf, sizeof(buf));
	assert_int_equal(rlp_decode(buf, n, 0, &it), RLP_OK);
	assert_int_equal(rlp_item_uint64(&it, &v), RLP_ERR_RANGE);
	n = unhex("820001", buf, sizeof(buf));
	assert_int_equal(rlp_decode(buf, n, 0, &it), RLP_OK);
	assert_int_equal(rlp_item_uint64(&it, &v), RLP_ERR_RANGE);
	n = unhex("89010000000000000000", buf, sizeof(buf));
	assert_int_equal(rlp_decode(buf, n, 0, &it), RLP_OK);
	assert_int_equal(rlp_item_uint64(&it, &v), RLP_ERR_RANGE);
	n = unhex("c0", buf, sizeof(buf));
	assert_int_equal(rlp_decode(buf, n, 1, &it), RLP_OK);
	assert_int_equal(rlp_item_uint64(&it, &v), RLP_ERR_TYPE);
	assert_string_equal(rlp_strerror(RLP_ERR_NONCANONICAL), "non-canonical encoding");
}

/* Random nested structures: what is encoded decodes to the same, and every
 * proper prefix of an encoding is refused. */
static unsigned lcg = 12345;
static unsigned next_rand(void)
{
	lcg = lcg * 1103515245u + 12345u;
	return lcg >> 16;
}

static void encode_random(struct rlp_buf *b, int depth, uint8_t *scratch)
{
	unsigned kind = next_rand() % 4, n;

	if (depth == 0 || kind < 2) {
		n = next_rand() % 4 == 0 ? next_rand() % 300 : next_rand() % 4;
		for (unsigned i = 0; i < n; i++)
			scratch[i] = (uint8_t)next_rand();
		rlp_put_bytes(b, scratch, n);
	} else if (kind == 2) {
		rlp_put_uint(b, (uint64_t)next_rand() << (next_rand() % 40));
	} else {
		size_t m = rlp_list_begin(b);

		n = next_rand() % 5;
		for (unsigned i = 0; i < n; i++)
			encode_random(b, depth - 1, scratch);
		rlp_list_end(b, m);
	}
}

/* Re-encode a decoded item: must give back the same bytes. */
static void reencode(struct rlp_buf *b, const struct rlp_item *it)
{
	if (!it->is_list) {
		rlp_put_bytes(b, it->payload, it->len);
	} else {
		struct rlp_iter iter;
		struct rlp_item child;
		size_t m = rlp_list_begin(b);

		rlp_iter_init(&iter, it);
		while (rlp_iter_next(&iter, &child) == 1)
			reencode(b, &child);
		rlp_list_end(b, m);
	}
}

static void test_round_trip(void **state)
{
	uint8_t scratch[300];

	for (int round = 0; round < 500; round++) {
		struct rlp_buf b, again;
		struct rlp_item it;
		size_t m;

		rlp_buf_init(&b);
		rlp_buf_init(&again);
		m = rlp_list_begin(&b);
		encode_random(&b, 6, scratch);
		encode_random(&b, 6, scratch);
		rlp_list_end(&b, m);
		assert_false(b.failed);
		assert_int_equal(rlp_decode(b.data, b.len, RLP_MAX_DEPTH, &it), RLP_OK);
		reencode(&again, &it);
		assert_int_equal(again.len, b.len);
		assert_memory_equal(again.data, b.data, b.len);
		for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 64)
			assert_int_not_equal(rlp_decode(b.data, cut, RLP_MAX_DEPTH, &it), RLP_OK);
		rlp_buf_free(&b);
		rlp_buf_free(&again);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wiki_examples),
		cmocka_unit_test(test_long_lists),
		cmocka_unit_test(test_eip155_example),
		cmocka_unit_test(test_decode_examples),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
