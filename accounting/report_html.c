/*
 * quorate report --format html: one self-contained page (inline CSS with a
 * print style, SVG charts drawn by report_fmt.c, no external assets).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_fmt.h"

const char report_html_css[] =
	"body{font-family:sans-serif;margin:2em;color:#222}"
	"h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}"
	"table{border-collapse:collapse;font-size:.9em}"
	"th,td{border:1px solid #bbb;padding:.25em .6em}td.n{text-align:right}"
	"th{background:#eee}.chart{display:block;margin:1em 0}.note{color:#666}"
	"@media print{body{margin:0;font-size:10pt}h2{page-break-after:avoid}"
	".chart,table{page-break-inside:avoid}th{background:none}}";

static int chart(FILE *f, struct svg_chart *c)
{
	c->width = 900;
	c->height = 340;
	return svg_bar_chart(f, c);
}

int report_write_html(FILE *f, const struct report *r)
{
	char from[40], to[40], buf[64];
	const char **labels = calloc(r->nrows + 1, sizeof(char *));
	double *a = calloc(r->nrows + 1, sizeof(double)), *b = calloc(r->nrows + 1, sizeof(double));
	double *m = calloc(r->nrows + 1, sizeof(double));
	int rv = -1;

	if (!labels || !a || !b || !m)
		goto fail;
	report_iso_time(r->from, from, sizeof(from));
	report_iso_time(r->to, to, sizeof(to));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>quorate report ", f);
	report_xml_text(f, r->cluster);
	fprintf(f, "</title>\n<style>%s</style></head><body>\n<h1>quorate report: cluster ", report_html_css);
	report_xml_text(f, r->cluster);
	fprintf(f, "</h1>\n<p>Period %s to %s, by %s.</p>\n", from, to, report_by_name(r->by));

	fputs("<table><thead><tr><th>", f);
	report_xml_text(f, report_by_name(r->by));
	fputs("</th>", f);
	for (size_t c = 0; c < report_ncolumns; c++) {
		fputs("<th>", f);
		report_xml_text(f, report_columns[c].header);
		if (report_columns[c].unit)
			fprintf(f, " [%s]", report_columns[c].unit);
		fputs("</th>", f);
	}
	fputs("</tr></thead><tbody>\n", f);
	for (size_t i = 0; i < r->nrows; i++) {
		fputs("<tr><td>", f);
		report_xml_text(f, r->rows[i].key);
		fputs("</td>", f);
		for (size_t c = 0; c < report_ncolumns; c++) {
			const struct report_column *col = &report_columns[c];

			report_fmt_number(col->value(&r->rows[i], col->opt), col->digits, buf, sizeof(buf));
			fprintf(f, "<td class=\"n\">%s</td>", buf);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);

	for (size_t i = 0; i < r->nrows; i++) {
		labels[i] = r->rows[i].key;
		a[i] = r->rows[i].cpu_s / 3600;
		b[i] = isnan(r->rows[i].opt[1]) ? 0 : r->rows[i].opt[1];
	}
	if (r->by == BY_SITE) {
		bool credits = false;

		for (size_t i = 0; i < r->nrows; i++)
			credits |= !isnan(r->rows[i].opt[1]);
		fputs("<h2>Contributed vs consumed per site</h2>\n", f);
		struct svg_chart c = {
			.title = "Contributed (CPU hours on the site's nodes) vs consumed (credits spent)",
			.y_label = credits ? "CPU hours / credits" : "CPU hours",
			.n = r->nrows, .labels = labels, .nseries = credits ? 2 : 1,
			.series_names = { "contributed [CPU h]", "consumed [credits]" },
			.values = { a, b },
		};
		if (chart(f, &c))
			goto fail;
		if (!credits)
			fputs("<p class=\"note\">Consumed: no credit data (contrib tables absent).</p>\n", f);
	}

	for (size_t i = 0; i < r->nrows; i++) {
		a[i] = r->rows[i].agree;
		b[i] = r->rows[i].disagree;
		m[i] = r->rows[i].missing;
	}
	fputs("<h2>Verification outcomes</h2>\n", f);
	struct svg_chart v = {
		.title = "Replica outcomes", .y_label = "replicas",
		.n = r->nrows, .labels = labels, .nseries = 3, .stacked = true,
		.series_names = { "verified", "rejected", "missing" },
		.values = { a, b, m },
	};
	if (chart(f, &v))
		goto fail;

	fputs("<h2>Reputation distribution</h2>\n", f);
	{
		static const char *const bl[10] = { "0-10", "10-20", "20-30", "30-40", "40-50",
						    "50-60", "60-70", "70-80", "80-90", "90-100" };
		double bins[10];
		struct svg_chart h = {
			.title = "Nodes by reputation score", .y_label = "nodes",
			.n = 10, .labels = bl, .nseries = 1, .series_names = { "nodes" },
			.values = { bins },
		};
		report_histogram(r->scores, r->nscores, 0, 100, bins, 10);
		if (chart(f, &h))
			goto fail;
		fprintf(f, "<p class=\"note\">%zu nodes in quorated's database.</p>\n", r->nscores);
	}

	fputs("<h2>Credits over time</h2>\n", f);
	if (r->nepochs) {
		struct svg_chart cr = {
			.title = "Credits per epoch", .y_label = "credits",
			.n = r->nepochs, .labels = (const char *const *)r->epochs, .nseries = 2,
			.series_names = { "earned", "spent" }, .values = { r->earned, r->spent },
		};
		if (chart(f, &cr))
			goto fail;
	} else {
		fputs("<p class=\"note\">No credit ledger in this database.</p>\n", f);
	}
	for (size_t i = 0; i < r->nnotes; i++) {
		fputs("<p class=\"note\">", f);
		report_xml_text(f, r->notes[i]);
		fputs("</p>\n", f);
	}
	fputs("</body></html>\n", f);
	rv = ferror(f) ? -1 : 0;
fail:
	free(labels);
	free(a);
	free(b);
	free(m);
	return rv;
}
