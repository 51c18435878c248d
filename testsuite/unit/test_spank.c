/* Unit tests for common/spank_args.c and common/spank_groups.c: the pure
 * parts of spank_quorate (options, plugstack.conf arguments, groups). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "spank_args.h"
#include "spank_groups.h"

static void test_replicas(void **state)
{
	struct spank_request r = { 0 };
	char err[256];

	assert_int_equal(spank_set_replicas(&r, "3", err, sizeof(err)), 0);
	assert_int_equal(r.replicas, 3);
	assert_int_equal(spank_set_replicas(&r, "16", err, sizeof(err)), 0);
	assert_int_equal(spank_set_replicas(&r, "2", err, sizeof(err)), 0);
	/* the later value replaces the earlier (env, then command line) */
	assert_int_equal(r.replicas, 2);

	assert_int_equal(spank_set_replicas(&r, "1", err, sizeof(err)), -1);
	assert_string_equal(err, "--replicas=1: out of range; allowed: 2..16");
	assert_int_equal(spank_set_replicas(&r, "17", err, sizeof(err)), -1);
	assert_int_equal(spank_set_replicas(&r, "three", err, sizeof(err)), -1);
	assert_string_equal(err, "--replicas=three: not an integer; allowed: 2..16");
	assert_int_equal(spank_set_replicas(&r, "", err, sizeof(err)), -1);
	assert_int_equal(spank_set_replicas(&r, NULL, err, sizeof(err)), -1);
	assert_int_equal(spank_set_replicas(&r, " 3", err, sizeof(err)), -1);
	assert_int_equal(r.replicas, 2);	/* unchanged by the failures */
	spank_request_free(&r);
}

static void test_quorum_and_finish(void **state)
{
	struct spank_request r = { 0 };
	char err[256];

	/* nothing asked: nothing to check */
	assert_int_equal(spank_request_finish(&r, err, sizeof(err)), 0);
	assert_int_equal(r.replicas, 0);

	/* default quorum floor(N/2)+1, default verify stdout */
	assert_int_equal(spank_set_replicas(&r, "4", err, sizeof(err)), 0);
	assert_int_equal(spank_request_finish(&r, err, sizeof(err)), 0);
	assert_int_equal(r.quorum, 3);
	assert_string_equal(r.verify, "stdout");
	spank_request_free(&r);

	assert_int_equal(spank_set_replicas(&r, "3", err, sizeof(err)), 0);
	assert_int_equal(spank_set_quorum(&r, "4", err, sizeof(err)), 0);
	assert_int_equal(spank_request_finish(&r, err, sizeof(err)), -1);
	assert_string_equal(err, "--quorum=4 is more than --replicas=3; allowed: 1..3");
	assert_int_equal(spank_set_quorum(&r, "0", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--quorum=0: out of range"));
	assert_int_equal(spank_set_quorum(&r, "3", err, sizeof(err)), 0);
	assert_int_equal(spank_request_finish(&r, err, sizeof(err)), 0);
	assert_int_equal(r.quorum, 3);
	spank_request_free(&r);

	/* options that only make sense with --replicas */
	assert_int_equal(spank_set_quorum(&r, "2", err, sizeof(err)), 0);
	assert_int_equal(spank_request_finish(&r, err, sizeof(err)), -1);
	assert_string_equal(err, "--quorum needs --replicas=N");
	spank_request_free(&r);
	assert_int_equal(spank_set_tolerance(&r, "1e-6", err, sizeof(err)), 0);
	assert_int_equal(spank_request_finish(&r, err, sizeof(err)), -1);
	assert_string_equal(err, "--verify-tolerance needs --replicas=N");
	spank_request_free(&r);
}

static void test_verify(void **state)
{
	struct spank_request r = { 0 };
	char err[256];

	assert_int_equal(spank_set_verify(&r, "stdout", err, sizeof(err)), 0);
	assert_string_equal(r.verify, "stdout");
	assert_int_equal(spank_set_verify(&r, "out/model.h5,log.txt", err, sizeof(err)), 0);
	assert_string_equal(r.verify, "out/model.h5,log.txt");
	assert_int_equal(spank_set_verify(&r, "", err, sizeof(err)), -1);
	assert_int_equal(spank_set_verify(&r, "a,,b", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--verify=a,,b: empty path"));
	assert_int_equal(spank_set_verify(&r, "a,", err, sizeof(err)), -1);
	assert_int_equal(spank_set_verify(&r, "stdout,a", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "stdout cannot be combined"));
	assert_int_equal(spank_set_verify(&r, "./stdout,a", err, sizeof(err)), 0);
	char many[128] = "";
	for (int i = 0; i < 17; i++)
		strcat(many, i ? ",f" : "f");
	assert_int_equal(spank_set_verify(&r, many, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 16 paths"));
	assert_string_equal(r.verify, "./stdout,a");

	assert_int_equal(spank_set_tolerance(&r, "0.001", err, sizeof(err)), 0);
	assert_true(r.has_tolerance && r.tolerance == 0.001);
	assert_int_equal(spank_set_tolerance(&r, "0", err, sizeof(err)), 0);
	assert_int_equal(spank_set_tolerance(&r, "1.5", err, sizeof(err)), -1);
	assert_string_equal(err, "--verify-tolerance=1.5: out of range; allowed: a relative tolerance 0..1");
	assert_int_equal(spank_set_tolerance(&r, "-1e-3", err, sizeof(err)), -1);
	assert_int_equal(spank_set_tolerance(&r, "nan", err, sizeof(err)), -1);
	assert_int_equal(spank_set_tolerance(&r, "tiny", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a number"));
	spank_request_free(&r);
}

static void test_step_nodes(void **state)
{
	struct spank_request r = { .replicas = 3 };
	char err[256];

	assert_int_equal(spank_check_step_nodes(&r, 3, err, sizeof(err)), 0);
	assert_int_equal(spank_check_step_nodes(&r, 6, err, sizeof(err)), 0);
	assert_int_equal(spank_check_step_nodes(&r, 4, err, sizeof(err)), -1);
	assert_string_equal(err, "--replicas=3: the step has 4 nodes, not a multiple of 3; use -N with a multiple of 3");
	assert_int_equal(spank_check_step_nodes(&r, 0, err, sizeof(err)), -1);
	r.replicas = 0;
	assert_int_equal(spank_check_step_nodes(&r, 5, err, sizeof(err)), 0);
}

static int parse(const char *line, struct spank_config *c, char *err, size_t n)
{
	char buf[512], *argv[16];
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *tok = strtok(buf, " "); tok && argc < 16; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	return spank_config_parse(argc, argv, c, err, n);
}

static void test_config(void **state)
{
	struct spank_config c;
	char err[256];

	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_null(c.server_host);
	assert_string_equal(c.spool, "/var/spool/quorate");
	assert_string_equal(c.munge_socket, "/run/munge/munge.socket.2");
	assert_int_equal(c.max_output, 16L * 1024 * 1024);
	assert_int_equal(c.timeout, 10);
	assert_int_equal(c.wait, 300);
	spank_config_free(&c);

	assert_int_equal(parse("server=127.0.0.1:6830 spool=/tmp/q max_output=1M timeout=30 wait=2m munge_socket=/tmp/m.sock",
			       &c, err, sizeof(err)), 0);
	assert_string_equal(c.server_host, "127.0.0.1");
	assert_int_equal(c.server_port, 6830);
	assert_string_equal(c.spool, "/tmp/q");
	assert_int_equal(c.max_output, 1024 * 1024);
	assert_int_equal(c.timeout, 30);
	assert_int_equal(c.wait, 120);
	assert_string_equal(c.munge_socket, "/tmp/m.sock");
	spank_config_free(&c);

	assert_int_equal(parse("server=[::1]:7000", &c, err, sizeof(err)), 0);
	assert_string_equal(c.server_host, "::1");
	assert_int_equal(c.server_port, 7000);
	spank_config_free(&c);

	/* strict: every mistake is an error naming the argument */
	assert_int_equal(parse("serve=h:1", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown argument 'serve' (keys: server, spool, max_output, timeout, wait, munge_socket)");
	assert_int_equal(parse("server", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not key=value"));
	assert_int_equal(parse("server=h:1 server=h:2", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "argument server given twice");
	assert_int_equal(parse("server=host", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "server=host: expected HOST:PORT"));
	assert_int_equal(parse("server=host:0", &c, err, sizeof(err)), -1);
	assert_int_equal(parse("server=host:99999", &c, err, sizeof(err)), -1);
	assert_int_equal(parse("server=:80", &c, err, sizeof(err)), -1);
	assert_int_equal(parse("server=a:b:80", &c, err, sizeof(err)), -1);
	assert_int_equal(parse("spool=var/spool", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "spool=var/spool: must be an absolute path");
	assert_int_equal(parse("max_output=12", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(parse("timeout=0", &c, err, sizeof(err)), -1);
	assert_int_equal(parse("wait=forever", &c, err, sizeof(err)), -1);
	assert_int_equal(parse("wait=", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "wait= has no value");
	assert_int_equal(parse("wait=0", &c, err, sizeof(err)), 0);
	spank_config_free(&c);
}

static void test_groups(void **state)
{
	unsigned g[6];

	/* no site information: contiguous runs */
	assert_int_equal(spank_replica_groups(6, NULL, 3, g), 0);
	assert_int_equal(g[0], 0);
	assert_int_equal(g[1], 0);
	assert_int_equal(g[2], 1);
	assert_int_equal(g[5], 2);

	/* sites interleaved in node order: groups still stay inside sites */
	uint32_t site[6] = { 7, 9, 7, 9, 3, 3 };
	assert_int_equal(spank_replica_groups(6, site, 3, g), 0);
	assert_int_equal(g[0], g[2]);
	assert_int_equal(g[1], g[3]);
	assert_int_equal(g[4], g[5]);
	assert_int_not_equal(g[0], g[1]);
	assert_int_not_equal(g[0], g[4]);
	assert_int_equal(g[0], 0);	/* sites in order of their first node */
	assert_int_equal(g[1], 1);
	assert_int_equal(g[4], 2);

	/* one node per replica */
	uint32_t three[3] = { 2, 1, 0 };
	assert_int_equal(spank_replica_groups(3, three, 3, g), 0);
	assert_int_equal(g[0], 0);
	assert_int_equal(g[1], 1);
	assert_int_equal(g[2], 2);

	errno = 0;
	assert_int_equal(spank_replica_groups(4, NULL, 3, g), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(spank_replica_groups(4, NULL, 0, g), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replicas),
		cmocka_unit_test(test_quorum_and_finish),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_step_nodes),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_groups),
	};

	return cmocka_run_group_tests_name("spank", tests, NULL, NULL);
}
