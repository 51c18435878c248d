/* Unit tests for common/hash.c against FIPS 180-2 test vectors. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hash.h"

static void check(const char *msg, size_t len, const char *want)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];

	assert_int_equal(sha256(msg, len, d), 0);
	hex_encode(d, sizeof(d), hex);
	assert_string_equal(hex, want);
}

static void test_vectors(void **state)
{
	check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_incremental_and_fd(void **state)
{
	struct sha256_ctx ctx;
	uint8_t a[SHA256_LEN], b[SHA256_LEN], c[SHA256_LEN];
	char path[] = "/tmp/test_hash.XXXXXX";
	char *million = malloc(1000000);
	int fd;

	assert_non_null(million);
	memset(million, 'a', 1000000);
	assert_int_equal(sha256_init(&ctx), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sha256_update(&ctx, million, 1000), 0);
	assert_int_equal(sha256_final(&ctx, a), 0);
	assert_int_equal(sha256(million, 1000000, b), 0);
	assert_memory_equal(a, b, SHA256_LEN);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, million, 1000000), 1000000);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(sha256_fd(fd, c), 0);
	assert_memory_equal(a, c, SHA256_LEN);
	close(fd);
	unlink(path);
	free(million);

	/* FIPS 180-2: one million 'a' */
	char hex[SHA256_HEX_LEN + 1];
	hex_encode(a, SHA256_LEN, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_hex(void **state)
{
	uint8_t out[4];
	char hex[9];
	const uint8_t in[4] = { 0x00, 0xab, 0xCD, 0xff };

	hex_encode(in, 4, hex);
	assert_string_equal(hex, "00abcdff");
	assert_int_equal(hex_decode("00ABcdFF", out, 4), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(hex_decode("00abcd", out, 4), -1);
	assert_int_equal(hex_decode("00abcdfg", out, 4), -1);
	assert_int_equal(hex_decode("0x00abcd", out, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_incremental_and_fd),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
