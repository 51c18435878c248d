/* Unit tests for common/contrib_hostlist.c: strict hostlist expressions. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "contrib_hostlist.h"

/* All names of h, comma-joined, through hostexpr_name. */
static void expand(const struct hostexpr *h, char *out, size_t outlen)
{
	uint64_t n = hostexpr_count(h);
	char name[64];

	out[0] = '\0';
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(hostexpr_name(h, i, name, sizeof(name)), 0);
		assert_true(hostexpr_contains(h, name));
		if (i)
			strncat(out, ",", outlen - strlen(out) - 1);
		strncat(out, name, outlen - strlen(out) - 1);
	}
	assert_int_equal(hostexpr_name(h, n, name, sizeof(name)), -1);
}

static void check_expansion(const char *expr, const char *want)
{
	struct hostexpr h;
	char err[256], got[1024];

	if (hostexpr_parse(expr, &h, err, sizeof(err)))
		fail_msg("'%s': %s", expr, err);
	expand(&h, got, sizeof(got));
	assert_string_equal(got, want);
	hostexpr_free(&h);
}

static void test_expansions(void **state)
{
	check_expansion("login", "login");
	check_expansion("n[1-4]", "n1,n2,n3,n4");
	check_expansion("n[1-2,7]", "n1,n2,n7");
	check_expansion("n[8-10]", "n8,n9,n10");
	check_expansion("n[08-10]", "n08,n09,n10");
	check_expansion("gpu[01-02]a,login,n[3]", "gpu01a,gpu02a,login,n3");
	check_expansion("[1-2]", "1,2");
	check_expansion("node-1.x,node_2", "node-1.x,node_2");
	check_expansion("rack1-n[1-2]", "rack1-n1,rack1-n2");
}

static void test_contains(void **state)
{
	struct hostexpr h;
	char err[256];

	assert_int_equal(hostexpr_parse("n[1-4,10],c[08-12]x,login", &h, err, sizeof(err)), 0);
	assert_true(hostexpr_contains(&h, "n1"));
	assert_true(hostexpr_contains(&h, "n4"));
	assert_true(hostexpr_contains(&h, "n10"));
	assert_false(hostexpr_contains(&h, "n5"));
	assert_false(hostexpr_contains(&h, "n01"));	/* width 1: n1, not n01 */
	assert_false(hostexpr_contains(&h, "n"));
	assert_false(hostexpr_contains(&h, "n1x"));
	assert_true(hostexpr_contains(&h, "c08x"));
	assert_true(hostexpr_contains(&h, "c12x"));
	assert_false(hostexpr_contains(&h, "c8x"));	/* width 2 */
	assert_false(hostexpr_contains(&h, "c008x"));
	assert_false(hostexpr_contains(&h, "c08"));
	assert_false(hostexpr_contains(&h, "c13x"));
	assert_true(hostexpr_contains(&h, "login"));
	assert_false(hostexpr_contains(&h, "login2"));
	assert_false(hostexpr_contains(&h, "nx1"));
	assert_false(hostexpr_contains(&h, "n99999999999999999999"));
	assert_int_equal(hostexpr_count(&h), 4 + 1 + 5 + 1);
	hostexpr_free(&h);
}

/* A huge range is matched without expanding it. */
static void test_large_range(void **state)
{
	struct hostexpr h;
	char err[256], name[32];

	assert_int_equal(hostexpr_parse("n[0-999999999]", &h, err, sizeof(err)), 0);
	assert_int_equal(hostexpr_count(&h), 1000000000ULL);
	assert_true(hostexpr_contains(&h, "n123456789"));
	assert_int_equal(hostexpr_name(&h, 999999999ULL, name, sizeof(name)), 0);
	assert_string_equal(name, "n999999999");
	hostexpr_free(&h);
}

static void check_error(const char *expr, const char *want)
{
	struct hostexpr h;
	char err[256] = "";

	assert_int_equal(hostexpr_parse(expr, &h, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' does not say '%s'", expr, err, want);
	assert_null(h.terms);
}

static void test_errors(void **state)
{
	check_error("", "empty node list");
	check_error("n1,,n2", "empty name");
	check_error("n1,", "empty name");
	check_error("n[1-4", "'[' without ']'");
	check_error("n1-4]", "']' without '['");
	check_error("n[4-1]", "range 4-1 runs backwards");
	check_error("n[1-]", "empty number");
	check_error("n[-3]", "empty number");
	check_error("n[a]", "'a' is not a number");
	check_error("n[1-2]x[3]", "only one [...] group");
	check_error("n[1[2]]", "nested '['");
	check_error("n 1", "character ' ' is not allowed");
	check_error("n/1", "character '/' is not allowed");
	check_error("n[1-1000000000]", "is above 999999999");
	check_error("n[1,,2]", "empty number");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expansions),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_large_range),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
