/* Unit tests for mpi-trainer/quorated_report.c: Slurm's job and step ids
 * are parsed or refused by name; a rank's record carries its rank in the
 * job (not in its replica group) and its numbers; a quorate.conf whose
 * quorated does not listen (a real closed port on loopback) costs a
 * failure code, not the run (here munged is not running either: the
 * credential fails first, as transiently), and a broken quorate.conf is
 * named. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "qclient.h"
#include "quorated_report.h"

static void test_step_ids(void **state)
{
	uint32_t job = 0, step = 0;
	char err[256];

	(void)state;
	assert_int_equal(report_step_ids("4242", "7", &job, &step, err, sizeof(err)), 0);
	assert_int_equal(job, 4242);
	assert_int_equal(step, 7);
	assert_int_equal(report_step_ids("4294967295", "0", &job, &step, err, sizeof(err)), 0);
	assert_int_equal(job, UINT32_MAX);
	assert_int_equal(step, 0);
	assert_int_equal(report_step_ids(NULL, "0", &job, &step, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SLURM_JOB_ID is not set"));
	assert_int_equal(report_step_ids("0", "0", &job, &step, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SLURM_JOB_ID: "));
	assert_int_equal(report_step_ids("12x", "0", &job, &step, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SLURM_JOB_ID: "));
	assert_int_equal(report_step_ids("12", "", &job, &step, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SLURM_STEP_ID is not set"));
	assert_int_equal(report_step_ids("12", "-1", &job, &step, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SLURM_STEP_ID: "));
}

static void test_record(void **state)
{
	struct rank_contribution c = { 12.5, 3.0, 16000, 249, 1 };
	const char *nodes[] = { "n1", "n2" };
	const int world[] = { 2, 3 };
	struct contribution_context ctx = { .nodes = nodes, .world_ranks = world };
	struct qclient_contribution k;

	(void)state;
	report_contribution(&c, 1, &ctx, 99, 4, &k);
	assert_int_equal(k.job_id, 99);
	assert_int_equal(k.step_id, 4);
	assert_int_equal(k.rank, 3);
	assert_string_equal(k.node, "n2");
	assert_true(k.compute_seconds == 12.5);
	assert_int_equal(k.samples, 16000);
	assert_int_equal(k.gradients_accepted, 249);
	assert_int_equal(k.gradients_rejected, 1);
	assert_null(k.cluster);
	/* Without world ranks (no replica split) the group rank is the rank. */
	ctx.world_ranks = NULL;
	report_contribution(&c, 1, &ctx, 99, 4, &k);
	assert_int_equal(k.rank, 1);
}

/* A loopback port nobody listens on: bound, then closed. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void write_conf(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_unreachable(void **state)
{
	char dir[] = "/tmp/test_trainer_report.XXXXXX", path[128], text[256];
	struct rank_contribution c[2] = { { 1.0, 0.5, 100, 2, 0 }, { 1.5, 0.5, 100, 2, 0 } };
	const char *nodes[] = { "n1", "n1" };
	struct contribution_context ctx = { .job_id = "17", .step_id = "0", .nodes = nodes };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/quorate.conf", dir);
	snprintf(text, sizeof(text), "ListenAddress=127.0.0.1\nListenPort=%d\n", closed_port());
	write_conf(path, text);
	assert_int_equal(setenv("QUORATE_CONF", path, 1), 0);
	assert_int_equal(report_to_quorated(c, 2, &ctx), -1);

	/* Not a job step: nothing to send, not a failure. */
	ctx.job_id = NULL;
	assert_int_equal(report_to_quorated(c, 2, &ctx), 0);

	/* A quorate.conf with a mistake is a failure (named in the warning). */
	ctx.job_id = "17";
	write_conf(path, "ListenPort=seventy\n");
	assert_int_equal(report_to_quorated(c, 2, &ctx), -1);
	unsetenv("QUORATE_CONF");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_ids),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
