/*
 * contrib_hostlist.c - strict Slurm hostlist expressions (see contrib_hostlist.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contrib_hostlist.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

/* Check that s[0..n) is made of name characters only. */
static int check_name_part(const char *s, size_t n, const char *term,
			   char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (!name_char(s[i])) {
			set_err(err, errlen, "'%s': character '%c' is not allowed "
				"in a node name", term, s[i]);
			return -1;
		}
	}
	return 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* One number of a bracket group: digits only, at most HOSTEXPR_MAX_NUMBER. */
static int parse_number(const char *s, size_t n, unsigned long *v,
			const char *term, char *err, size_t errlen)
{
	unsigned long x = 0;

	if (n == 0) {
		set_err(err, errlen, "'%s': empty number in [...]", term);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			set_err(err, errlen, "'%s': '%.*s' is not a number or LO-HI range",
				term, (int)n, s);
			return -1;
		}
		x = x * 10 + (unsigned long)(s[i] - '0');
		if (x > HOSTEXPR_MAX_NUMBER) {
			set_err(err, errlen, "'%s': %.*s is above %lu", term, (int)n, s,
				HOSTEXPR_MAX_NUMBER);
			return -1;
		}
	}
	*v = x;
	return 0;
}

/* The inside of "[...]": items "N" or "LO-HI", separated by commas. */
static int parse_group(const char *s, size_t n, struct hostexpr_term *t,
		       const char *term, char *err, size_t errlen)
{
	size_t count = 1, pos = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] == ',')
			count++;
	t->ranges = calloc(count, sizeof(*t->ranges));
	if (!t->ranges) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	while (t->n_ranges < count) {
		size_t start = pos, end, dash;
		struct hostexpr_range *r = &t->ranges[t->n_ranges];

		while (pos < n && s[pos] != ',')
			pos++;
		end = pos++;
		for (dash = start; dash < end && s[dash] != '-'; dash++)
			;
		if (parse_number(s + start, dash - start, &r->lo, term, err, errlen))
			return -1;
		r->width = (unsigned)(dash - start);
		if (dash < end) {
			if (parse_number(s + dash + 1, end - dash - 1, &r->hi, term,
					 err, errlen))
				return -1;
			if (r->hi < r->lo) {
				set_err(err, errlen, "'%s': range %.*s runs backwards",
					term, (int)(end - start), s + start);
				return -1;
			}
		} else {
			r->hi = r->lo;
		}
		t->n_ranges++;
	}
	return 0;
}

static int parse_term(const char *s, size_t n, struct hostexpr_term *t,
		      char *err, size_t errlen)
{
	char term[HOSTEXPR_MAX_NAME + 64];
	const char *open, *close;

	snprintf(term, sizeof(term), "%.*s", (int)n, s);
	if (n == 0) {
		set_err(err, errlen, "empty name in the list");
		return -1;
	}
	if (n > HOSTEXPR_MAX_NAME) {
		set_err(err, errlen, "'%.40s...': longer than %d characters", term,
			HOSTEXPR_MAX_NAME);
		return -1;
	}
	open = memchr(s, '[', n);
	if (!open) {
		if (memchr(s, ']', n)) {
			set_err(err, errlen, "'%s': ']' without '['", term);
			return -1;
		}
		if (check_name_part(s, n, term, err, errlen))
			return -1;
		t->prefix = dup_n(s, n);
		t->suffix = dup_n("", 0);
		goto done;
	}
	close = memchr(open, ']', n - (size_t)(open - s));
	if (!close) {
		set_err(err, errlen, "'%s': '[' without ']'", term);
		return -1;
	}
	if (memchr(open + 1, '[', (size_t)(close - open - 1))) {
		set_err(err, errlen, "'%s': nested '['", term);
		return -1;
	}
	if (memchr(close + 1, '[', n - (size_t)(close + 1 - s)) ||
	    memchr(close + 1, ']', n - (size_t)(close + 1 - s))) {
		set_err(err, errlen, "'%s': only one [...] group per name is supported",
			term);
		return -1;
	}
	if (check_name_part(s, (size_t)(open - s), term, err, errlen) ||
	    check_name_part(close + 1, n - (size_t)(close + 1 - s), term, err, errlen))
		return -1;
	if (parse_group(open + 1, (size_t)(close - open - 1), t, term, err, errlen))
		return -1;
	t->prefix = dup_n(s, (size_t)(open - s));
	t->suffix = dup_n(close + 1, n - (size_t)(close + 1 - s));
done:
	if (!t->prefix || !t->suffix) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int hostexpr_parse(const char *s, struct hostexpr *h, char *err, size_t errlen)
{
	size_t count = 1, len, pos = 0;
	int depth = 0;

	memset(h, 0, sizeof(*h));
	if (!s || !*s) {
		set_err(err, errlen, "empty node list");
		return -1;
	}
	len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '[')
			depth++;
		else if (s[i] == ']')
			depth--;
		else if (s[i] == ',' && depth == 0)
			count++;
	}
	h->terms = calloc(count, sizeof(*h->terms));
	if (!h->terms) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	while (h->n_terms < count) {
		size_t start = pos;

		depth = 0;
		while (pos < len && !(s[pos] == ',' && depth == 0)) {
			if (s[pos] == '[')
				depth++;
			else if (s[pos] == ']')
				depth--;
			pos++;
		}
		/* Counted before parsing, so that a failed term is freed too. */
		h->n_terms++;
		if (parse_term(s + start, pos - start, &h->terms[h->n_terms - 1],
			       err, errlen)) {
			hostexpr_free(h);
			return -1;
		}
		pos++;
	}
	return 0;
}

static unsigned digits_of(unsigned long v)
{
	unsigned d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

static bool term_contains(const struct hostexpr_term *t, const char *name,
			  size_t len)
{
	size_t plen = strlen(t->prefix), slen = strlen(t->suffix), mlen;
	const char *mid;
	unsigned long v = 0;

	if (!t->n_ranges)
		return !strcmp(t->prefix, name);
	if (len <= plen + slen || strncmp(name, t->prefix, plen) ||
	    strcmp(name + len - slen, t->suffix))
		return false;
	mid = name + plen;
	mlen = len - plen - slen;
	if (mlen > 10)
		return false;
	for (size_t i = 0; i < mlen; i++) {
		if (!isdigit((unsigned char)mid[i]))
			return false;
		v = v * 10 + (unsigned long)(mid[i] - '0');
	}
	for (size_t i = 0; i < t->n_ranges; i++) {
		const struct hostexpr_range *r = &t->ranges[i];
		unsigned want = digits_of(v);

		if (r->width > want)
			want = r->width;
		if (v >= r->lo && v <= r->hi && mlen == want)
			return true;
	}
	return false;
}

bool hostexpr_contains(const struct hostexpr *h, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < h->n_terms; i++)
		if (term_contains(&h->terms[i], name, len))
			return true;
	return false;
}

uint64_t hostexpr_count(const struct hostexpr *h)
{
	uint64_t n = 0;

	for (size_t i = 0; i < h->n_terms; i++) {
		const struct hostexpr_term *t = &h->terms[i];

		if (!t->n_ranges)
			n++;
		for (size_t j = 0; j < t->n_ranges; j++)
			n += t->ranges[j].hi - t->ranges[j].lo + 1;
	}
	return n;
}

int hostexpr_name(const struct hostexpr *h, uint64_t i, char *out, size_t outlen)
{
	for (size_t k = 0; k < h->n_terms; k++) {
		const struct hostexpr_term *t = &h->terms[k];
		int n;

		if (!t->n_ranges) {
			if (i-- > 0)
				continue;
			n = snprintf(out, outlen, "%s", t->prefix);
			return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
		}
		for (size_t j = 0; j < t->n_ranges; j++) {
			const struct hostexpr_range *r = &t->ranges[j];
			uint64_t span = r->hi - r->lo + 1;

			if (i >= span) {
				i -= span;
				continue;
			}
			n = snprintf(out, outlen, "%s%0*lu%s", t->prefix, (int)r->width,
				     r->lo + (unsigned long)i, t->suffix);
			return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
		}
	}
	return -1;
}

void hostexpr_free(struct hostexpr *h)
{
	for (size_t i = 0; i < h->n_terms; i++) {
		free(h->terms[i].prefix);
		free(h->terms[i].suffix);
		free(h->terms[i].ranges);
	}
	free(h->terms);
	memset(h, 0, sizeof(*h));
}
