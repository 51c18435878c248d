/* Unit tests of common/report_fmt.c: CSV fields, XML text, dates, overlap,
 * histogram and the SVG bar chart. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report_fmt.h"

/* Run FN(f, ARG) on a memory stream; the text it wrote (caller frees). */
static char *csv_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report_csv_field(f, s), 0);
	fclose(f);
	return buf;
}

static void test_csv_plain_and_quoted(void **state)
{
	static const char *const cases[][2] = {
		{ "alpha", "alpha" },
		{ "", "" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\r", "\"cr\r\"" },
		{ " lead", "\" lead\"" },
		{ "trail ", "\"trail \"" },
		{ "CPU Hours [h]", "CPU Hours [h]" },
		{ "Zürich", "Zürich" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = csv_of(cases[i][0]);

		assert_string_equal(got, cases[i][1]);
		free(got);
	}
	char *got = csv_of(NULL);
	assert_string_equal(got, "");
	free(got);
}

static void test_xml_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(report_xml_text(f, "<a href=\"x\">&'</a>"), 0);
	fclose(f);
	assert_string_equal(buf, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	free(buf);
}

static void test_parse_date(void **state)
{
	char err[128];
	time_t a, b;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(report_parse_date("2026-11-22", &a, err, sizeof(err)), 0);
	assert_int_equal((long long)a, 1795305600LL);
	assert_int_equal(report_parse_date("2026-11-22T01:02:03", &b, err, sizeof(err)), 0);
	assert_int_equal((long long)(b - a), 3723);
	assert_int_equal(report_parse_date("2026-11-22 01:02", &b, err, sizeof(err)), 0);
	assert_int_equal((long long)(b - a), 3720);
	static const char *const bad[] = {
		"", "2026-11", "2026-13-01", "2026-02-30", "2026-11-22T25:00",
		"2026-11-22T01:02:03x", "tomorrow", "2026-11-22T1:2", "2026-11-22X",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(report_parse_date(bad[i], &a, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "is not a date"));
	}
	char iso[40];
	report_iso_time(1795305600, iso, sizeof(iso));
	assert_string_equal(iso, "2026-11-22T00:00:00+00:00");
}

static void test_overlap(void **state)
{
	(void)state;
	assert_true(report_overlap_seconds(100, 200, 0, 1000) == 100);
	assert_true(report_overlap_seconds(100, 200, 150, 1000) == 50);
	assert_true(report_overlap_seconds(100, 200, 0, 120) == 20);
	assert_true(report_overlap_seconds(100, 200, 200, 300) == 0);
	assert_true(report_overlap_seconds(0, 200, 0, 300) == 0);	/* never started */
	assert_true(report_overlap_seconds(300, 200, 0, 1000) == 0);
}

static void test_number_and_histogram(void **state)
{
	char buf[32];
	double v[] = { 0, 0.1, 0.5, 0.99, 1.0, NAN, 2 }, bins[4];

	(void)state;
	report_fmt_number(1.0 / 3, 2, buf, sizeof(buf));
	assert_string_equal(buf, "0.33");
	report_fmt_number(NAN, 2, buf, sizeof(buf));
	assert_string_equal(buf, "");
	report_histogram(v, 7, 0, 1, bins, 4);
	assert_true(bins[0] == 2 && bins[1] == 0 && bins[2] == 1 && bins[3] == 2);
}

static void test_tres_count(void **state)
{
	(void)state;
	assert_int_equal(report_tres_count("1=4,2=2000,4=1,1001=2", 1), 4);
	assert_int_equal(report_tres_count("1=4,2=2000,4=1,1001=2", 1001), 2);
	assert_int_equal(report_tres_count("1=4,2=2000,4=1,1001=2", 3), 0);
	assert_int_equal(report_tres_count("", 1), 0);
	assert_int_equal(report_tres_count(NULL, 1), 0);
	assert_int_equal(report_tres_count("1=x", 1), 0);
	assert_int_equal(report_tres_count("garbage,1=3", 1), 0);
}

static char *chart(const struct svg_chart *c, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*rc = svg_bar_chart(f, c);
	fclose(f);
	return buf;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_svg_chart(void **state)
{
	const char *labels[] = { "site<a>", "b" };
	double used[] = { 4, 1 }, given[] = { 2, 3 }, bad[] = { 1, NAN };
	struct svg_chart c = {
		.title = "Contributed & consumed", .y_label = "Hours [h]",
		.n = 2, .labels = labels, .nseries = 2,
		.series_names = { "consumed", "contributed" },
		.values = { used, given }, .width = 600, .height = 300,
	};
	int rc;
	char *svg;

	(void)state;
	svg = chart(&c, &rc);
	assert_int_equal(rc, 0);
	assert_true(!strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
	assert_non_null(strstr(svg, "Contributed &amp; consumed"));
	assert_non_null(strstr(svg, "site&lt;a&gt;"));
	assert_null(strstr(svg, "site<a>"));
	/* 4 bars + 2 legend boxes; axis maximum 5 (nice ceiling of 4). */
	assert_int_equal(count(svg, "<rect "), 6);
	assert_non_null(strstr(svg, ">5</text>"));
	assert_non_null(strstr(svg, "</svg>\n"));
	free(svg);

	c.stacked = true;	/* stacked: the tallest bar is 4+2 = 6, axis to 10 */
	svg = chart(&c, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(svg, ">10</text>"));
	free(svg);

	c.values[1] = bad;
	free(chart(&c, &rc));
	assert_int_equal(rc, -1);
	c.values[1] = given;
	c.nseries = 0;
	free(chart(&c, &rc));
	assert_int_equal(rc, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_plain_and_quoted),
		cmocka_unit_test(test_xml_text),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_number_and_histogram),
		cmocka_unit_test(test_tres_count),
		cmocka_unit_test(test_svg_chart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
