/* Unit tests of quorated's keys in the quorate.conf table (common/qconf.c):
 * their defaults, bounds and errors with FILE:LINE. */
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

static void expect_error(const char *text, const char *want)
{
	struct quorate_conf c;
	char err[256];

	if (load(text, &c, err, sizeof(err)) == 0) {
		qconf_free(&c);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_defaults(void **state)
{
	struct quorate_conf c;
	char err[256];

	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.worker_threads, 8);
	assert_int_equal(c.max_output, 64 * 1024);
	assert_int_equal(c.missing_grace, 60);
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.syslog_level, "error");
	assert_null(c.server_address);
	assert_string_equal(qconf_server_address(&c), "127.0.0.1");	/* ListenAddress 0.0.0.0 */
	qconf_free(&c);
}

/* The keys scripts/cluster writes, and then some. */
static void test_harness_file(void **state)
{
	struct quorate_conf c;
	char err[256];
	const char *text =
		"# quorate.conf written by scripts/cluster\n"
		"ListenAddress=127.0.0.1\n"
		"ListenPort=20005\n"
		"MetricsPort=20006\n"
		"MungeSocket=/tmp/q/munge/munge.socket\n"
		"Database=\"host=/tmp/q/pg port=20003 user=quorate dbname=quorate\"\n"
		"SlurmConf=/tmp/q/etc/slurm.conf\n"
		"LogFile=/tmp/q/log/quorated.log\n"
		"PidFile=/tmp/q/run/quorated.pid\n"
		"SpoolDir=/tmp/q/spool/quorate\n"
		"ChainRPC=http://127.0.0.1:20004\n"
		"LogLevel=debug\n"
		"SyslogLevel=quiet\n"
		"WorkerThreads=16\n"
		"MaxOutputSize=128K\n"
		"MissingGrace=2m\n";

	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_string_equal(qconf_server_address(&c), "127.0.0.1");
	assert_int_equal(c.worker_threads, 16);
	assert_int_equal(c.max_output, 128 * 1024);
	assert_int_equal(c.missing_grace, 120);
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(qconf_log_level(c.log_level), 5);
	assert_int_equal(qconf_log_level(c.syslog_level), 0);
	qconf_free(&c);
	assert_int_equal(load("ListenAddress=10.1.2.3\n", &c, err, sizeof(err)), 0);
	assert_string_equal(qconf_server_address(&c), "10.1.2.3");
	qconf_free(&c);
	assert_int_equal(load("ServerAddress=head.example\n", &c, err, sizeof(err)), 0);
	assert_string_equal(qconf_server_address(&c), "head.example");
	qconf_free(&c);
}

static void test_errors(void **state)
{
	expect_error("LogLevel=info\nLogLevel=loud\n", "quorate.conf:2: LogLevel given twice");
	expect_error("LogLevel=loud\n", "quorate.conf:1: LogLevel: 'loud' is not a log level");
	expect_error("SyslogLevel=7\n", "quorate.conf:1: SyslogLevel:");
	expect_error("WorkerThreads=0\n", "quorate.conf:1: WorkerThreads: 0 is out of range (1..256)");
	expect_error("\n\nWorkerThreads=many\n", "quorate.conf:3: WorkerThreads:");
	expect_error("MaxFrameSize=64K\nMaxOutputSize=128K\n", "MaxOutputSize (131072) is above MaxFrameSize (65536)");
	expect_error("MissingGrace=2y\n", "quorate.conf:1: MissingGrace:");
	expect_error("HalfLife=10\n", "quorate.conf:1: HalfLife: 10 is out of range");
	expect_error("Workerthreads 4\n", "quorate.conf:1: expected Key=Value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_harness_file),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
