/* Unit tests for common/conf.c: the strict Key=Value parser. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"

struct sample {
	char *server;
	long port;
	double threshold;
	bool enabled;
	long half_life;
	long max_frame;
	int sites;
};

static int add_site(void *dst, const struct conf_key *key, const char *value,
		    char *err, size_t errlen)
{
	struct sample *s = dst;

	if (strncmp(value, "site_", 5)) {
		snprintf(err, errlen, "'%s' does not start with site_", value);
		return -1;
	}
	s->sites++;
	return 0;
}

static const struct conf_key keys[] = {
	{ "Server", CONF_STRING, offsetof(struct sample, server), 0, -1, NULL, false },
	{ "Port", CONF_INT, offsetof(struct sample, port), 1, 65535, NULL, false },
	{ "Threshold", CONF_DOUBLE, offsetof(struct sample, threshold), 0, 100, NULL, false },
	{ "Enabled", CONF_BOOL, offsetof(struct sample, enabled), 0, -1, NULL, false },
	{ "HalfLife", CONF_SECONDS, offsetof(struct sample, half_life), 1, 1e9, NULL, false },
	{ "MaxFrame", CONF_BYTES, offsetof(struct sample, max_frame), 0, -1, NULL, false },
	{ "Site", CONF_CALLBACK, 0, 0, -1, add_site, true },
	{ NULL, 0, 0, 0, 0, NULL, false },
};

static int parse(const char *text, struct sample *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	return conf_parse_buffer("test.conf", text, strlen(text), keys, s,
				 err, errlen);
}

static void test_all_types(void **state)
{
	struct sample s;
	char err[256] = "";
	const char *text =
		"# a comment\n"
		"server = db.example.org   # trailing comment\n"
		"Port=6817\n"
		"\n"
		"  Threshold=42.5\n"
		"ENABLED=yes\n"
		"HalfLife=7d\n"
		"MaxFrame=1M\n"
		"Site=site_a\n"
		"Site=site_b\n";

	assert_int_equal(parse(text, &s, err, sizeof(err)), 0);
	assert_string_equal(s.server, "db.example.org");
	assert_int_equal(s.port, 6817);
	assert_true(s.threshold == 42.5);
	assert_true(s.enabled);
	assert_int_equal(s.half_life, 7 * 86400);
	assert_int_equal(s.max_frame, 1024 * 1024);
	assert_int_equal(s.sites, 2);
	conf_free(keys, &s);
	assert_null(s.server);
}

static void test_quoted_value_keeps_hash(void **state)
{
	struct sample s;
	char err[256];

	assert_int_equal(parse("Server=\"a # b\"\n", &s, err, sizeof(err)), 0);
	assert_string_equal(s.server, "a # b");
	conf_free(keys, &s);
}

/* Every error names the file, the line and the key. */
static void expect_error(const char *text, const char *want)
{
	struct sample s;
	char err[256] = "";

	assert_int_equal(parse(text, &s, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	conf_free(keys, &s);
}

static void test_errors_have_file_and_line(void **state)
{
	expect_error("Port=1\nColour=blue\n", "test.conf:2: unknown key 'Colour'");
	expect_error("\n\nPort=99999\n", "test.conf:3: Port: 99999 is out of range (1..65535)");
	expect_error("Port=12ab\n", "test.conf:1: Port: '12ab' is not an integer");
	expect_error("Threshold=abc\n", "test.conf:1: Threshold: 'abc' is not a number");
	expect_error("Threshold=101\n", "out of range");
	expect_error("Enabled=maybe\n", "test.conf:1: Enabled: 'maybe' is not a boolean");
	expect_error("HalfLife=3w\n", "HalfLife: '3w' is not a duration");
	expect_error("HalfLife=-5\n", "is not a duration");
	expect_error("MaxFrame=1T\n", "MaxFrame: '1T' is not a size");
	expect_error("just words\n", "test.conf:1: expected Key=Value");
	expect_error("=value\n", "missing key");
	expect_error("Port=1\nport=2\n", "test.conf:2: Port given twice");
	expect_error("Server=\"open\n", "unterminated quote");
	expect_error("Site=cluster_x\n", "Site: 'cluster_x' does not start with site_");
}

static void test_long_line_rejected(void **state)
{
	size_t n = 5000;
	char *text = malloc(n + 8);

	assert_non_null(text);
	memcpy(text, "Server=", 7);
	memset(text + 7, 'x', n);
	text[n + 7] = '\0';
	expect_error(text, "longer than");
	free(text);
}

static void test_file_errors(void **state)
{
	struct sample s = { 0 };
	char err[256] = "";
	char path[] = "/tmp/test_conf.XXXXXX";
	int fd;

	assert_int_equal(conf_parse_file("/nonexistent/quorate.conf", keys, &s,
					 err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/quorate.conf: No such file"));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "Port=80\nBogus=1\n", 16), 16);
	close(fd);
	assert_int_equal(conf_parse_file(path, keys, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: unknown key 'Bogus'"));
	assert_non_null(strstr(err, path));
	unlink(path);
}

static void test_value_parsers(void **state)
{
	long l;
	double d;
	bool b;
	char err[128];

	assert_int_equal(conf_parse_seconds("90", &l, err, sizeof(err)), 0);
	assert_int_equal(l, 90);
	assert_int_equal(conf_parse_seconds("2h", &l, err, sizeof(err)), 0);
	assert_int_equal(l, 7200);
	assert_int_equal(conf_parse_bytes("64k", &l, err, sizeof(err)), 0);
	assert_int_equal(l, 65536);
	assert_int_equal(conf_parse_bytes("99999999999999999999", &l, err, sizeof(err)), -1);
	assert_int_equal(conf_parse_long(" 5", 0, 10, &l, err, sizeof(err)), -1);
	assert_int_equal(conf_parse_double("1e-3", 0, 1, &d, err, sizeof(err)), 0);
	assert_true(d == 1e-3);
	assert_int_equal(conf_parse_double("nan", 0, 1, &d, err, sizeof(err)), -1);
	assert_int_equal(conf_parse_bool("OFF", &b, err, sizeof(err)), 0);
	assert_false(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_quoted_value_keeps_hash),
		cmocka_unit_test(test_errors_have_file_and_line),
		cmocka_unit_test(test_long_line_rejected),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_value_parsers),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
