/* Pure helpers of `quorate report`; see report_fmt.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"

int report_csv_field(FILE *f, const char *s)
{
	size_t len;
	bool quote;

	if (!s)
		s = "";
	len = strlen(s);
	quote = strpbrk(s, ",\"\r\n") || (len && (s[0] == ' ' || s[len - 1] == ' '));
	if (!quote)
		return fputs(s, f) < 0 ? -1 : 0;
	if (fputc('"', f) == EOF)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p == '"' && fputc('"', f) == EOF)
			return -1;
		if (fputc(*p, f) == EOF)
			return -1;
	}
	return fputc('"', f) == EOF ? -1 : 0;
}

int report_xml_text(FILE *f, const char *s)
{
	for (const char *p = s ? s : ""; *p; p++) {
		const char *e = NULL;

		switch (*p) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		}
		if (e ? fputs(e, f) < 0 : fputc(*p, f) == EOF)
			return -1;
	}
	return 0;
}

int report_parse_date(const char *s, time_t *out, char *err, size_t errlen)
{
	struct tm tm = { 0 }, check;
	int n = 0, y, mo, d, h = 0, mi = 0, sec = 0;

	if (!s || (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) || n != 10)
		goto bad;
	if (s[n]) {
		int m = 0;

		if (s[n] != 'T' && s[n] != ' ')
			goto bad;
		if (sscanf(s + n + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5)
			goto bad;
		n += 1 + m;
		if (s[n]) {
			if (sscanf(s + n, ":%2d%n", &sec, &m) != 1 || m != 3 || s[n + m])
				goto bad;
		}
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	check = tm;
	*out = mktime(&tm);
	if (*out == (time_t)-1 || tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon ||
	    h > 23 || mi > 59 || sec > 59)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS])",
		 s ? s : "");
	return -1;
}

void report_iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	char z[8];

	if (!localtime_r(&t, &tm) || !strftime(z, sizeof(z), "%z", &tm) || strlen(z) != 5) {
		snprintf(buf, len, "%s", "");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), "%.3s:%s", z, z + 3);
}

double report_overlap_seconds(time_t start, time_t end, time_t from, time_t to)
{
	time_t a = start > from ? start : from, b = end < to ? end : to;

	if (!start || b <= a)
		return 0;
	return (double)(b - a);
}

void report_fmt_number(double v, int digits, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%.*f", digits, v);
}

void report_histogram(const double *values, size_t n, double lo, double hi,
		      double *bins, size_t nbins)
{
	for (size_t i = 0; i < nbins; i++)
		bins[i] = 0;
	if (!nbins || !(hi > lo))
		return;
	for (size_t i = 0; i < n; i++) {
		double x = values[i];
		size_t b;

		if (isnan(x) || x < lo || x > hi)
			continue;
		b = (size_t)((x - lo) / (hi - lo) * (double)nbins);
		bins[b < nbins ? b : nbins - 1]++;
	}
}

unsigned long long report_tres_count(const char *tres, unsigned id)
{
	const char *p = tres;

	while (p && *p) {
		char *end;
		unsigned long k = strtoul(p, &end, 10);

		if (end == p || *end != '=')
			return 0;
		p = end + 1;
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p || (*end && *end != ','))
			return 0;
		if (k == id)
			return v;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* A "nice" axis maximum (1, 2 or 5 times a power of ten) above MAX. */
static double nice_ceiling(double max)
{
	double p;

	if (!(max > 0))
		return 1;
	p = pow(10, floor(log10(max)));
	for (double m = 1; ; m = m == 1 ? 2 : m == 2 ? 5 : 10)
		if (m * p >= max)
			return m * p;
}

static const char *const series_colour[SVG_MAX_SERIES] = {
	"#3465a4", "#f57900", "#cc0000", "#73d216",
};

int svg_bar_chart(FILE *f, const struct svg_chart *c)
{
	const double left = 60, right = 20, top = 40, bottom = 70;
	double max = 0, ymax, pw, ph, slot;
	int ok = 1;

	if (!c || !c->nseries || c->nseries > SVG_MAX_SERIES || c->width < 200 || c->height < 150)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		double sum = 0;

		for (size_t s = 0; s < c->nseries; s++) {
			double v = c->values[s][i];

			if (isnan(v) || v < 0)
				return -1;
			sum = c->stacked ? sum + v : fmax(sum, v);
		}
		max = fmax(max, sum);
	}
	ymax = nice_ceiling(max);
	pw = c->width - left - right;
	ph = c->height - top - bottom;
	slot = c->n ? pw / (double)c->n : pw;
	ok &= fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" "
		      "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n<title>",
		      c->width, c->height, c->width, c->height) > 0;
	ok &= !report_xml_text(f, c->title);
	ok &= fprintf(f, "</title>\n<text x=\"%d\" y=\"20\" text-anchor=\"middle\" "
		      "font-weight=\"bold\">", c->width / 2) > 0;
	ok &= !report_xml_text(f, c->title);
	ok &= fputs("</text>\n", f) >= 0;
	/* Axes and four gridlines with their values. */
	for (int g = 0; g <= 4; g++) {
		double y = top + ph - ph * g / 4.0;

		ok &= fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			      "stroke=\"%s\"/>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
			      "font-size=\"11\">%g</text>\n", left, y, left + pw, y,
			      g ? "#ddd" : "#000", left - 4, y + 4, ymax * g / 4.0) > 0;
	}
	ok &= fprintf(f, "<text x=\"14\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
		      "transform=\"rotate(-90 14 %.1f)\">", top + ph / 2, top + ph / 2) > 0;
	ok &= !report_xml_text(f, c->y_label);
	ok &= fputs("</text>\n", f) >= 0;
	for (size_t i = 0; i < c->n; i++) {
		double x0 = left + slot * (double)i, base = top + ph;
		double bw = slot * 0.8 / (c->stacked ? 1 : (double)c->nseries);

		for (size_t s = 0; s < c->nseries; s++) {
			double v = c->values[s][i], h = ph * v / ymax;
			double x = x0 + slot * 0.1 + (c->stacked ? 0 : bw * (double)s);

			ok &= fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				      "fill=\"%s\"><title>", x, base - h, bw, h, series_colour[s]) > 0;
			ok &= !report_xml_text(f, c->labels[i]);
			ok &= fputs(", ", f) >= 0;
			ok &= !report_xml_text(f, c->series_names[s]);
			ok &= fprintf(f, ": %g</title></rect>\n", v) > 0;
			if (c->stacked)
				base -= h;
		}
		ok &= fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">",
			      x0 + slot / 2, top + ph + 16) > 0;
		ok &= !report_xml_text(f, c->labels[i]);
		ok &= fputs("</text>\n", f) >= 0;
	}
	for (size_t s = 0; s < c->nseries; s++) {
		double x = left + 150.0 * (double)s, y = c->height - 20.0;

		ok &= fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			      "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", x, y - 10,
			      series_colour[s], x + 16, y) > 0;
		ok &= !report_xml_text(f, c->series_names[s]);
		ok &= fputs("</text>\n", f) >= 0;
	}
	ok &= fputs("</svg>\n", f) >= 0;
	return ok ? 0 : -1;
}
