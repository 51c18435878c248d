/* Unit tests for common/replay.c: the credential replay cache. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "replay.h"

static void key_of(unsigned i, uint8_t key[REPLAY_KEY_LEN])
{
	char cred[64];

	snprintf(cred, sizeof(cred), "MUNGE:credential-%u:", i);
	assert_int_equal(replay_key(cred, key), 0);
}

static void test_seen_until_expiry(void **state)
{
	struct replay_cache *rc = replay_create(100);
	uint8_t k[REPLAY_KEY_LEN];

	key_of(1, k);
	assert_false(replay_contains(rc, k, 1000));
	assert_int_equal(replay_insert(rc, k, 1300, 1000), REPLAY_NEW);
	assert_true(replay_contains(rc, k, 1000));
	assert_int_equal(replay_insert(rc, k, 1300, 1100), REPLAY_SEEN);
	assert_true(replay_contains(rc, k, 1299));
	/* Expired: the credential itself would be refused by munged now. */
	assert_false(replay_contains(rc, k, 1300));
	assert_int_equal(replay_insert(rc, k, 1600, 1300), REPLAY_NEW);
	replay_destroy(rc);
}

static void test_purge_and_growth(void **state)
{
	struct replay_cache *rc = replay_create(100000);
	uint8_t k[REPLAY_KEY_LEN];

	for (unsigned i = 0; i < 20000; i++) {
		key_of(i, k);
		assert_int_equal(replay_insert(rc, k, i < 10000 ? 2000 : 3000, 1000), REPLAY_NEW);
	}
	assert_int_equal(replay_count(rc), 20000);
	for (unsigned i = 0; i < 20000; i += 997) {
		key_of(i, k);
		assert_true(replay_contains(rc, k, 1500));
	}
	assert_int_equal(replay_purge(rc, 2500), 10000);
	key_of(5, k);
	assert_false(replay_contains(rc, k, 2500));
	key_of(15000, k);
	assert_true(replay_contains(rc, k, 2500));
	assert_int_equal(replay_purge(rc, 3000), 0);
	replay_destroy(rc);
}

/* A full cache refuses rather than forgets. */
static void test_full(void **state)
{
	struct replay_cache *rc = replay_create(1000);
	uint8_t k[REPLAY_KEY_LEN];
	unsigned i, refused = 0;

	for (i = 0; i < 5000; i++) {
		key_of(i, k);
		if (replay_insert(rc, k, 9999, 1000) == REPLAY_FULL)
			refused++;
	}
	assert_true(refused > 0);
	assert_int_equal(replay_count(rc), 1000);
	key_of(0, k);
	assert_int_equal(replay_insert(rc, k, 9999, 1000), REPLAY_SEEN);
	/* Once they expire there is room again. */
	key_of(99999, k);
	assert_int_equal(replay_insert(rc, k, 20000, 10000), REPLAY_NEW);
	replay_destroy(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seen_until_expiry),
		cmocka_unit_test(test_purge_and_growth),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
