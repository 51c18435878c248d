/*
 * Pure helpers of `quorate report`: CSV fields (RFC 4180), XML escaping,
 * dates, hours within a period, and SVG bar charts.  No I/O, no services.
 */
#ifndef QUORATE_REPORT_FMT_H
#define QUORATE_REPORT_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Write S to F as one CSV field: quoted (with "" for ") when it holds a
 * comma, quote, CR or LF, or begins or ends with a space.  -1 on write error. */
int report_csv_field(FILE *f, const char *s);

/* Write S to F with &, <, >, " and ' escaped for XML/HTML text and attributes. */
int report_xml_text(FILE *f, const char *s);

/* Parse YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] as local time (as sacct reads
 * --starttime).  0, or -1 with a message in ERR. */
int report_parse_date(const char *s, time_t *out, char *err, size_t errlen);

/* ISO 8601 local time with offset, e.g. 2026-11-22T07:00:00+00:00. */
void report_iso_time(time_t t, char *buf, size_t len);

/* Seconds of [start, end) inside [from, to); 0 if none or start is 0. */
double report_overlap_seconds(time_t start, time_t end, time_t from, time_t to);

/* A value with DIGITS decimals, or "" for NaN (a column with no data). */
void report_fmt_number(double v, int digits, char *buf, size_t len);

/* The count of TRES ID in a TRES string as slurmdbd stores it
 * ("1=4,2=2000,4=1,1001=2"); 0 if absent or malformed. */
unsigned long long report_tres_count(const char *tres, unsigned id);

#define SVG_MAX_SERIES 4

/* A bar chart: N categories, NSERIES series; stacked or side by side. */
struct svg_chart {
	const char *title;
	const char *y_label;
	size_t n;
	const char *const *labels;		/* n category labels */
	size_t nseries;
	const char *series_names[SVG_MAX_SERIES];
	const double *values[SVG_MAX_SERIES];	/* each n values, >= 0 */
	bool stacked;
	int width, height;
};

/* Write the chart to F as an inline <svg> element.  -1 on bad input or
 * write error. */
int svg_bar_chart(FILE *f, const struct svg_chart *c);

/* Count VALUES into NBINS equal bins over [lo, hi] (the last bin is closed). */
void report_histogram(const double *values, size_t n, double lo, double hi,
		      double *bins, size_t nbins);

#endif
