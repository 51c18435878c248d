/* Helpers shared by the test_eth_* unit tests (include after cmocka.h). */
#ifndef TEST_ETH_UTIL_H
#define TEST_ETH_UTIL_H

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ethtypes.h"
#include "hash.h"

/* Bytes of a hex string without 0x; the test fails on bad hex. */
static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;

	if (s[0] == '0' && s[1] == 'x') {
		s += 2;
		n = strlen(s) / 2;
	}
	assert_true(n <= cap);
	assert_int_equal(hex_decode(s, out, n), 0);
	return n;
}

/* Lower-case hex of n bytes into a static buffer (one use per statement). */
static inline const char *tohex(const uint8_t *p, size_t n)
{
	static char buf[8192];

	assert_true(2 * n < sizeof(buf));
	hex_encode(p, n, buf);
	return buf;
}

/* A JSON file under the source tree (TOP_SRCDIR comes from eth.am). */
static inline json_object *load_json(const char *relpath)
{
	char path[4096];
	json_object *o;

	snprintf(path, sizeof(path), "%s/%s", TOP_SRCDIR, relpath);
	o = json_object_from_file(path);
	if (!o)
		fail_msg("cannot read %s: %s", path, json_util_get_last_err());
	return o;
}

static inline json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("JSON: no key '%s'", key);
	return v;
}

static inline const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

/* A decimal string, or a JSON integer, as a u256. */
static inline struct u256 get_u256(json_object *o, const char *key)
{
	json_object *v = get(o, key);
	struct u256 x;

	if (json_object_is_type(v, json_type_int))
		u256_from_u64(&x, (uint64_t)json_object_get_int64(v));
	else
		assert_int_equal(u256_from_dec(&x, json_object_get_string(v)), 0);
	return x;
}

static inline uint64_t get_u64(json_object *o, const char *key)
{
	struct u256 x = get_u256(o, key);
	uint64_t v;

	assert_int_equal(u256_to_u64(&x, &v), 0);
	return v;
}

#endif
