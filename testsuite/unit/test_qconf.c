/* Unit tests for common/qconf.c: quorate.conf's keys and defaults. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "qconf.h"

static int load(const char *text, struct quorate_conf *c, char *err, size_t n)
{
	return qconf_load_buffer("quorate.conf", text, strlen(text), c, err, n);
}

static void test_defaults(void **state)
{
	struct quorate_conf c;
	char err[256];

	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.listen_port, 6830);
	assert_int_equal(c.half_life, 7 * 86400);
	assert_true(c.missing_weight == 0.5);
	assert_int_equal(c.min_verdicts, 5);
	assert_true(c.trust_above == 80);
	assert_true(c.quarantine_below == 40);
	assert_true(c.probation_below == 75);
	assert_false(c.push_placement);
	assert_int_equal(c.placement_interval, 60);
	assert_int_equal(c.max_frame, 1024 * 1024);
	assert_int_equal(c.confirmations, 2);
	assert_string_equal(c.site_feature_prefix, "site_");
	assert_string_equal(c.authorized_users, "root,slurm");
	assert_null(c.chain_rpc);
	qconf_free(&c);
}

static void test_settings(void **state)
{
	struct quorate_conf c;
	char err[256];
	const char *text =
		"ListenPort=7000\n"
		"Database=\"host=/tmp/pg port=5433 dbname=q\"\n"
		"HalfLife=1d\n"
		"TrustAbove=90\n"
		"QuarantineBelow=30.5\n"
		"ProbationBelow=60\n"
		"PushReputation=no\n"
		"PushPlacement=yes\n"
		"PlacementInterval=2m\n"
		"MaxFrameSize=256K\n";

	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.listen_port, 7000);
	assert_string_equal(c.database, "host=/tmp/pg port=5433 dbname=q");
	assert_int_equal(c.half_life, 86400);
	assert_true(c.trust_above == 90);
	assert_true(c.quarantine_below == 30.5);
	assert_true(c.probation_below == 60);
	assert_false(c.push_reputation);
	assert_true(c.push_placement);
	assert_int_equal(c.placement_interval, 120);
	assert_int_equal(c.max_frame, 256 * 1024);
	qconf_free(&c);
}

static void test_errors(void **state)
{
	struct quorate_conf c;
	char err[256];

	assert_int_equal(load("ListenPort=6830\nListenPrt=1\n", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "quorate.conf:2: unknown key 'ListenPrt'");
	assert_int_equal(load("TrustAbove=30\nQuarantineBelow=50\n", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "QuarantineBelow (50) is above TrustAbove (30)"));
	assert_int_equal(load("PlacementInterval=0\n", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "quorate.conf:1: PlacementInterval"));
	assert_int_equal(load("MaxFrameSize=10\n", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "quorate.conf:1: MaxFrameSize: 10 is out of range"));
	assert_int_equal(load("MissingWeight=2\n", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "MissingWeight: 2 is out of range (0..1)"));
	assert_int_equal(load("\nProbationBelow=101\n", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "quorate.conf:2: ProbationBelow: 101 is out of range (0..100)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("qconf", tests, NULL, NULL);
}
