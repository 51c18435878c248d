/* Unit tests for common/keyfile.c: the key file is read only when it is a
 * regular file of the reading user with mode 0600 or 0400 and holds exactly
 * one valid key; every refusal names the path and the reason. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "eip1559.h"
#include "keyfile.h"
#include "test_eth_util.h"

static char dir[] = "/tmp/test_eth_keyfile.XXXXXX";

static const char *anvil_key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

static const char *write_key(const char *name, const char *content, mode_t mode)
{
	static char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void expect_refused(const char *path, const char *why)
{
	uint8_t key[KEYFILE_KEY_LEN], zero[KEYFILE_KEY_LEN] = { 0 };
	char err[512] = "";

	memset(key, 0x77, sizeof(key));
	assert_int_equal(keyfile_read(path, key, err, sizeof(err)), -1);
	assert_memory_equal(key, zero, sizeof(key));	/* nothing half-read left */
	if (!strstr(err, path) || !strstr(err, why))
		fail_msg("error '%s' should name '%s' and say '%s'", err, path, why);
}

static void expect_key(const char *path)
{
	uint8_t key[KEYFILE_KEY_LEN];
	struct eth_address a;
	char err[512] = "", addr[ETH_ADDRESS_HEX_LEN + 1];

	if (keyfile_read(path, key, err, sizeof(err)))
		fail_msg("%s refused: %s", path, err);
	assert_string_equal(tohex(key, sizeof(key)), anvil_key);
	assert_int_equal(eth_key_address(key, &a), 0);
	eth_address_format(&a, addr);
	assert_string_equal(addr, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
	keyfile_wipe(key, sizeof(key));
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_accepted_forms(void **state)
{
	char buf[200];

	snprintf(buf, sizeof(buf), "%s\n", anvil_key);
	expect_key(write_key("plain", buf, 0600));
	snprintf(buf, sizeof(buf), "0x%s\n", anvil_key);
	expect_key(write_key("prefixed", buf, 0400));
	snprintf(buf, sizeof(buf), "%s", anvil_key);
	expect_key(write_key("no-newline", buf, 0600));
	snprintf(buf, sizeof(buf), "0X%s\r\n", anvil_key);
	expect_key(write_key("crlf", buf, 0600));
	{
		char upper[65];

		for (int i = 0; i < 64; i++)
			upper[i] = (char)(anvil_key[i] >= 'a' ? anvil_key[i] - 32 : anvil_key[i]);
		upper[64] = '\0';
		expect_key(write_key("upper", upper, 0600));
	}
}

static void test_modes(void **state)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0700, 0601, 0610, 0666, 04600, 01600, 0200 };
	char buf[200], want[64];

	snprintf(buf, sizeof(buf), "%s\n", anvil_key);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "mode %04o, must be 0600 or 0400", (unsigned)bad[i]);
		/* 0200: root opens it anyway and the mode check refuses it; any
		 * other user cannot open it at all */
		if (bad[i] == 0200 && geteuid() != 0)
			snprintf(want, sizeof(want), "cannot open: Permission denied");
		expect_refused(write_key("mode", buf, bad[i]), want);
	}
}

static void test_owner(void **state)
{
	char buf[200];
	const char *path;

	snprintf(buf, sizeof(buf), "%s\n", anvil_key);
	path = write_key("foreign", buf, 0600);
	if (geteuid() == 0) {
		/* root: give the file to nobody; root can still open it */
		assert_int_equal(chown(path, 65534, 65534), 0);
		expect_refused(path, "owned by uid 65534, not by the user reading it (uid 0)");
	} else {
		/* not root: a root-owned readable file stands for a foreign one */
		expect_refused("/etc/hostname", "owned by uid 0");
	}
}

static void test_not_regular(void **state)
{
	char path[4096];

	expect_refused(dir, "not a regular file");
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_refused(path, "not a regular file");	/* and does not hang */
	expect_refused("/dev/null", "not a regular file");
	snprintf(path, sizeof(path), "%s/missing", dir);
	expect_refused(path, "cannot open: No such file or directory");
}

static void test_content(void **state)
{
	char buf[300];

	expect_refused(write_key("empty", "", 0600), "expected 64 hex digits");
	snprintf(buf, sizeof(buf), "%.63s\n", anvil_key);
	expect_refused(write_key("short", buf, 0600), "expected 64 hex digits");
	snprintf(buf, sizeof(buf), "%s0\n", anvil_key);
	expect_refused(write_key("long", buf, 0600), "expected 64 hex digits");
	snprintf(buf, sizeof(buf), "%s\n\n", anvil_key);
	expect_refused(write_key("two-newlines", buf, 0600), "unexpected content after");
	snprintf(buf, sizeof(buf), " %s\n", anvil_key);
	expect_refused(write_key("space", buf, 0600), "expected 64 hex digits");
	snprintf(buf, sizeof(buf), "%s\n%s\n", anvil_key, anvil_key);
	expect_refused(write_key("twice", buf, 0600), "unexpected content after");
	snprintf(buf, sizeof(buf), "%.31sg%s\n", anvil_key, anvil_key + 32);
	expect_refused(write_key("not-hex", buf, 0600), "expected 64 hex digits");
	expect_refused(write_key("zero", "0000000000000000000000000000000000000000000000000000000000000000\n", 0600),
		       "not a valid secp256k1 private key");
	expect_refused(write_key("order", "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141\n", 0600),
		       "not a valid secp256k1 private key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_content),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
