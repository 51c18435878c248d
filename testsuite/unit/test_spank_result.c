/* Unit tests for the pure parts spank_quorate added for its remote context:
 * common/spank_result.c (what a task's result hashes to), spank_spool.c
 * (names, atomic records, the directory's checks) and spank_groups.c's
 * tasks-per-node lists and replica parts.  Files live in a temporary
 * directory of the test. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "hash.h"
#include "spank_groups.h"
#include "spank_result.h"
#include "spank_spool.h"

static char tmpdir[64];

static int make_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_spank_result.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A file of the temporary directory with text, opened for reading. */
static int file_with(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return open(path, O_RDONLY);
}

static void hex_of(const uint8_t d[32], char out[65])
{
	hex_encode(d, 32, out);
}

static void test_result_of_fd(void **state)
{
	struct spank_result r;
	char err[128], hex[65];
	int fd;

	(void)state;
	fd = file_with("stdout", "42\n");
	assert_true(fd >= 0);
	assert_int_equal(spank_result_of_fd(fd, true, 1024, &r, err, sizeof(err)), 0);
	hex_of(r.sha256, hex);
	/* sha256sum's digest of "42\n" */
	assert_string_equal(hex, "084c799cd551dd1d8d5c5f9a5d593b2e931f5e36122ee5c793c1d08a19839cc0");
	assert_int_equal(r.size, 3);
	assert_int_equal(r.output_len, 3);
	assert_memory_equal(r.output, "42\n", 3);
	spank_result_free(&r);
	close(fd);

	/* above max_output: hashed, not kept */
	fd = file_with("big", "0123456789");
	assert_int_equal(spank_result_of_fd(fd, true, 4, &r, err, sizeof(err)), 0);
	assert_int_equal(r.size, 10);
	assert_null(r.output);
	spank_result_free(&r);
	close(fd);

	/* empty output: the digest of nothing, an empty (non-NULL) output */
	fd = file_with("empty", "");
	assert_int_equal(spank_result_of_fd(fd, true, 4, &r, err, sizeof(err)), 0);
	hex_of(r.sha256, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(r.size, 0);
	spank_result_free(&r);
	close(fd);

	/* a read error is reported, r stays empty */
	assert_int_equal(spank_result_of_fd(-1, true, 4, &r, err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);
	assert_null(r.output);
}

static void test_result_of_files(void **state)
{
	struct spank_result a, b, c;
	struct spank_file f[3];
	char err[128];

	(void)state;
	f[0] = (struct spank_file){ "res.%r", SPANK_FILE_PRESENT, file_with("r0", "7\n") };
	f[1] = (struct spank_file){ "missing", SPANK_FILE_ABSENT, -1 };
	f[2] = (struct spank_file){ "secret", SPANK_FILE_UNREADABLE, -1 };
	assert_int_equal(spank_result_of_files(f, 3, true, 100, &a, err, sizeof(err)), 0);
	assert_int_equal(a.size, 2);
	assert_memory_equal(a.output, "7\n", 2);

	/* the same content under the same names: the same hash */
	close(f[0].fd);
	f[0].fd = file_with("r1", "7\n");
	assert_int_equal(spank_result_of_files(f, 3, false, 100, &b, err, sizeof(err)), 0);
	assert_memory_equal(a.sha256, b.sha256, 32);
	assert_null(b.output);

	/* absent and unreadable differ */
	f[1].state = SPANK_FILE_UNREADABLE;
	close(f[0].fd);
	f[0].fd = file_with("r2", "7\n");
	assert_int_equal(spank_result_of_files(f, 3, false, 100, &c, err, sizeof(err)), 0);
	assert_memory_not_equal(a.sha256, c.sha256, 32);
	close(f[0].fd);
	spank_result_free(&a);
	spank_result_free(&b);
	spank_result_free(&c);

	/* the framing: magic, PATH '\0' 'A' */
	struct spank_file one = { "x", SPANK_FILE_ABSENT, -1 };
	uint8_t want[32];
	const char framed[] = SPANK_FILES_MAGIC "x\0A";

	assert_int_equal(sha256(framed, sizeof(framed) - 1, want), 0);
	assert_int_equal(spank_result_of_files(&one, 1, false, 0, &a, err, sizeof(err)), 0);
	assert_memory_equal(a.sha256, want, 32);
	spank_result_free(&a);

	assert_int_equal(spank_file_state_of_errno(ENOENT), SPANK_FILE_ABSENT);
	assert_int_equal(spank_file_state_of_errno(ENOTDIR), SPANK_FILE_ABSENT);
	assert_int_equal(spank_file_state_of_errno(EACCES), SPANK_FILE_UNREADABLE);
}

static void test_verify_paths(void **state)
{
	char **paths, buf[64];
	size_t n;

	(void)state;
	assert_int_equal(spank_verify_paths("a,b/c,d", &paths, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(paths[0], "a");
	assert_string_equal(paths[1], "b/c");
	assert_string_equal(paths[2], "d");
	free(paths);
	assert_int_equal(spank_verify_paths("a,,b", &paths, &n), -1);

	assert_int_equal(spank_verify_expand("out.%r.%p.%%", 2, 11, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "out.2.11.%");
	assert_int_equal(spank_verify_expand("plain", 0, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "plain");
	assert_int_equal(spank_verify_expand("bad%x", 0, 0, buf, sizeof(buf)), -1);
	assert_int_equal(spank_verify_expand("trailing%", 0, 0, buf, sizeof(buf)), -1);
	assert_int_equal(spank_verify_expand("%r%r%r%r", 1234567, 0, buf, 10), -1);
}

static void test_spool_names(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(spank_spool_record_name(buf, sizeof(buf), "qc1", 12, 3, 1, 0), 0);
	assert_string_equal(buf, "12.3.1.0@qc1.json");
	assert_int_equal(spank_spool_record_name(buf, sizeof(buf), "", 12, 3, 1, 0), 0);
	assert_string_equal(buf, "12.3.1.0@.json");
	assert_int_equal(spank_spool_record_name(buf, sizeof(buf), "../etc", 1, 0, 0, 0), -1);
	assert_int_equal(spank_spool_record_name(buf, 8, "qc1", 12, 3, 1, 0), -1);
	assert_int_equal(spank_spool_output_path(buf, sizeof(buf), "/s", 5, 0, 2), 0);
	assert_string_equal(buf, "/s/out/5.0.2");
	assert_int_equal(spank_spool_output_path(buf, 6, "/s", 5, 0, 2), -1);
}

static void test_spool_write(void **state)
{
	char dir[128], path[192], err[256], text[32];
	struct stat st;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/spool", tmpdir);
	assert_int_equal(spank_spool_prepare(dir, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/out", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* group/other access on an existing directory is taken away */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(spank_spool_prepare(dir, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* a link in its place is refused */
	snprintf(path, sizeof(path), "%s/link", tmpdir);
	assert_int_equal(symlink(dir, path), 0);
	assert_int_equal(spank_spool_prepare(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));

	/* writing the same record twice leaves one file, the last text */
	assert_int_equal(spank_spool_write(dir, NULL, "1.0.0.0@c.json", "{\"a\":1}", 7, err, sizeof(err)), 0);
	assert_int_equal(spank_spool_write(dir, NULL, "1.0.0.0@c.json", "{\"a\":2}", 7, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/1.0.0.0@c.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_string_equal(text, "{\"a\":2}");
	assert_int_equal(spank_spool_write(dir, SPANK_SPOOL_REJECTED, "x.json", "{}", 2, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/rejected/x.json", dir);
	assert_int_equal(stat(path, &st), 0);

	/* a directory that is not there: an error naming it, no temporary left */
	assert_int_equal(spank_spool_write(dir, "nosuch", "y.json", "{}", 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nosuch"));
}

static void test_tasks_per_node(void **state)
{
	unsigned c[6];
	char err[128];

	(void)state;
	assert_int_equal(spank_tasks_per_node("2,1(x2)", c, 3, err, sizeof(err)), 0);
	assert_int_equal(c[0], 2);
	assert_int_equal(c[1], 1);
	assert_int_equal(c[2], 1);
	assert_int_equal(spank_tasks_per_node("4(x6)", c, 6, err, sizeof(err)), 0);
	assert_int_equal(c[5], 4);
	assert_int_equal(spank_tasks_per_node("1(x2)", c, 3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "names 2 nodes, the step has 3"));
	assert_int_equal(spank_tasks_per_node("1(x4)", c, 3, err, sizeof(err)), -1);
	assert_int_equal(spank_tasks_per_node("1,x", c, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not N[(xR)]"));
	assert_int_equal(spank_tasks_per_node("1(x0)", c, 1, err, sizeof(err)), -1);
	assert_int_equal(spank_tasks_per_node("", c, 1, err, sizeof(err)), -1);
	assert_int_equal(spank_tasks_per_node("1234567890", c, 1, err, sizeof(err)), -1);
}

static void test_replica_parts(void **state)
{
	unsigned group_of[6], first[6], parts = 0;
	unsigned tasks[6] = { 2, 2, 2, 2, 2, 2 };
	const char *names[6] = { "n1", "n2", "n3", "n4", "n5", "n6" };
	char err[256], *s;

	(void)state;
	assert_int_equal(spank_replica_groups(6, NULL, 3, group_of), 0);
	assert_int_equal(spank_replica_parts(6, tasks, group_of, 3, first, &parts, err, sizeof(err)), 0);
	assert_int_equal(parts, 4);
	assert_int_equal(first[0], 0);	/* n1: parts 0,1 of replica 0 */
	assert_int_equal(first[1], 2);	/* n2: parts 2,3 of replica 0 */
	assert_int_equal(first[2], 0);	/* n3: first node of replica 1 */
	assert_int_equal(first[5], 2);

	s = spank_group_nodes(6, names, group_of, 1);
	assert_non_null(s);
	assert_string_equal(s, "n3,n4");
	free(s);
	assert_null(spank_group_nodes(6, names, group_of, 5));

	/* replicas of different task counts: an error that shows them */
	unsigned uneven[4] = { 2, 2, 1, 1 };
	assert_int_equal(spank_replica_groups(4, NULL, 2, group_of), 0);
	assert_int_equal(spank_replica_parts(4, uneven, group_of, 2, first, &parts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "different task counts (4, 2)"));

	/* a bad group index and too many parts */
	unsigned bad_group[2] = { 0, 7 };
	unsigned one[2] = { 1, 1 };
	assert_int_equal(spank_replica_parts(2, one, bad_group, 2, first, &parts, err, sizeof(err)), -1);
	unsigned huge[2] = { SPANK_MAX_PARTS + 1, SPANK_MAX_PARTS + 1 };
	assert_int_equal(spank_replica_groups(2, NULL, 2, group_of), 0);
	assert_int_equal(spank_replica_parts(2, huge, group_of, 2, first, &parts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "allowed: 1..1024"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_of_fd),
		cmocka_unit_test(test_result_of_files),
		cmocka_unit_test(test_verify_paths),
		cmocka_unit_test(test_spool_names),
		cmocka_unit_test(test_spool_write),
		cmocka_unit_test(test_tasks_per_node),
		cmocka_unit_test(test_replica_parts),
	};

	return cmocka_run_group_tests_name("spank_result", tests, make_tmp, remove_tmp);
}
