/*
 * placement.c - see placement.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

uint32_t place_weight_base(uint32_t weight)
{
	if (place_weight_is_ours(weight))
		return (weight & ~PLACE_WEIGHT_FLAG) >> PLACE_WEIGHT_RANK_BITS;
	return weight > PLACE_WEIGHT_BASE_MAX ? PLACE_WEIGHT_BASE_MAX : weight;
}

uint32_t place_weight(uint32_t base, unsigned rank)
{
	if (base > PLACE_WEIGHT_BASE_MAX)
		base = PLACE_WEIGHT_BASE_MAX;
	return PLACE_WEIGHT_FLAG | base << PLACE_WEIGHT_RANK_BITS |
	       (rank & PLACE_WEIGHT_RANK_MASK);
}

static bool no_features(const char *f)
{
	return !f || !*f || !strcmp(f, "(null)");
}

bool place_has_feature(const char *features, const char *name)
{
	size_t len = strlen(name);

	if (no_features(features))
		return false;
	for (const char *p = features; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && !strncmp(p, name, len))
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}

/* Append "sep word" to out (used so far *len); -1 when it does not fit. */
static int append(char *out, size_t outlen, size_t *len, const char *sep,
		  const char *word, size_t wlen)
{
	size_t slen = *len ? strlen(sep) : 0;

	if (*len + slen + wlen + 1 > outlen)
		return -1;
	memcpy(out + *len, sep, slen);
	memcpy(out + *len + slen, word, wlen);
	*len += slen + wlen;
	out[*len] = '\0';
	return 0;
}

int place_node_features(const char *features, enum node_state state,
			char *out, size_t outlen)
{
	size_t len = 0;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (!no_features(features)) {
		for (const char *p = features; *p;) {
			size_t n = strcspn(p, ",");

			if (n && !(n == strlen(PLACE_FEATURE_PLAIN) &&
				   !strncmp(p, PLACE_FEATURE_PLAIN, n)) &&
			    !(n == strlen(PLACE_FEATURE_REPLICA) &&
			      !strncmp(p, PLACE_FEATURE_REPLICA, n)) &&
			    append(out, outlen, &len, ",", p, n))
				return -1;
			p += n;
			if (*p)
				p++;
		}
	}
	if (place_takes_plain(state) &&
	    append(out, outlen, &len, ",", PLACE_FEATURE_PLAIN, strlen(PLACE_FEATURE_PLAIN)))
		return -1;
	if (place_takes_replica(state) &&
	    append(out, outlen, &len, ",", PLACE_FEATURE_REPLICA, strlen(PLACE_FEATURE_REPLICA)))
		return -1;
	return (int)len;
}

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Best site first: room for a group of g now, then rank, size, name. */
static int site_cmp(const struct place_site *x, const struct place_site *y,
		    unsigned group_size)
{
	bool xroom = x->idle >= group_size, yroom = y->idle >= group_size;
	bool xfits = x->eligible >= group_size, yfits = y->eligible >= group_size;

	if (xfits != yfits)
		return xfits ? -1 : 1;
	if (xroom != yroom)
		return xroom ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->eligible != y->eligible)
		return x->eligible > y->eligible ? -1 : 1;
	return strcmp(x->name, y->name);
}

int place_plan_sites(struct place_site *sites, size_t nsites,
		     unsigned replicas, unsigned nodes, char *err, size_t errlen)
{
	unsigned g, want, fit = 0, with_nodes = 0, left;

	if (replicas < 2 || nodes < replicas || nodes % replicas) {
		say(err, errlen, "%u node(s) do not split into %u replica groups of equal size",
		    nodes, replicas);
		return 0;
	}
	g = nodes / replicas;
	for (size_t i = 0; i < nsites; i++) {
		sites[i].take = 0;
		if (sites[i].eligible)
			with_nodes++;
		if (sites[i].eligible >= g)
			fit++;
	}
	want = replicas < with_nodes ? replicas : with_nodes;
	if (!want) {
		say(err, errlen, "no site has a node that takes replicated jobs");
		return 0;
	}
	if (fit < want) {
		say(err, errlen, "--replicas=%u needs %u site(s) with room for a group of %u node(s); %u of the %u site(s) with eligible nodes have it",
		    replicas, want, g, fit, with_nodes);
		return 0;
	}
	/* insertion sort: a handful of sites, and no global for qsort */
	for (size_t i = 1; i < nsites; i++) {
		struct place_site s = sites[i];
		size_t j = i;

		for (; j > 0 && site_cmp(&s, &sites[j - 1], g) < 0; j--)
			sites[j] = sites[j - 1];
		sites[j] = s;
	}
	/* One group on each of the best `want` sites, then the rest round
	 * robin over them, wherever a site has room for one more. */
	for (unsigned i = 0; i < want; i++)
		sites[i].take = g;
	left = replicas - want;
	while (left) {
		bool placed = false;

		for (unsigned i = 0; i < want && left; i++) {
			if (sites[i].eligible >= sites[i].take + g) {
				sites[i].take += g;
				left--;
				placed = true;
			}
		}
		if (!placed) {
			say(err, errlen, "--replicas=%u with %u node(s) each does not fit on the %u site(s) chosen",
			    replicas, g, want);
			return 0;
		}
	}
	return (int)want;
}

int place_plan_describe(const struct place_site *plan, size_t nplan,
			unsigned replicas, char *out, size_t outlen)
{
	unsigned nodes = 0;
	size_t len;
	int n;

	for (size_t i = 0; i < nplan; i++)
		nodes += plan[i].take;
	if (!nplan || !replicas || !outlen)
		return -1;
	n = snprintf(out, outlen, "quorate: %u replica groups of %u node(s) on ", replicas,
		     nodes / replicas);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	len = (size_t)n;
	for (size_t i = 0; i < nplan; i++)
		if (append(out, outlen, &len, i ? ", " : "", plan[i].name, strlen(plan[i].name)))
			return -1;
	return (int)len;
}

static bool feature_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	       c == ':' || c == '=' || c == '+';
}

bool place_constraint_names_prefix(const char *user, const char *prefix)
{
	size_t plen = strlen(prefix);

	if (!user || !plen)
		return false;
	for (const char *p = user; *p;) {
		size_t n;

		while (*p && !feature_char(*p))
			p++;
		n = 0;
		while (feature_char(p[n]))
			n++;
		if (n > plen && !strncmp(p, prefix, plen) &&
		    (p == user || p[-1] != '*'))	/* not a count */
			return true;
		p += n;
	}
	return false;
}

/* Every term of expr (a feature or a parenthesised group, with or without
 * a count) gets "&marker" inside parentheses: "[a*2&(b|c)*1]" becomes
 * "[(a&M)*2&(b|c&M)*1]".  Slurm allows no nested parentheses, so a group
 * holds none. */
static int mark_terms(const char *expr, const char *marker, char *out,
		      size_t outlen, char *err, size_t errlen)
{
	size_t len = 0, mlen = strlen(marker);
	const char *p = expr;

	out[0] = '\0';
	while (*p) {
		const char *body;
		size_t n;

		if (strchr("&|[]", *p)) {
			if (append(out, outlen, &len, "", p, 1))
				goto long_;
			p++;
			continue;
		}
		if (*p == '(') {
			const char *close = strchr(p, ')');

			if (!close) {
				say(err, errlen, "--constraint '%s' has unbalanced parentheses", expr);
				return -1;
			}
			body = p + 1;
			n = (size_t)(close - body);
			p = close + 1;
		} else if (feature_char(*p)) {
			body = p;
			n = 0;
			while (feature_char(p[n]))
				n++;
			p += n;
		} else {
			say(err, errlen, "--constraint '%s': unexpected '%c'", expr, *p);
			return -1;
		}
		if (append(out, outlen, &len, "", "(", 1) ||
		    append(out, outlen, &len, "", body, n) ||
		    append(out, outlen, &len, "", "&", 1) ||
		    append(out, outlen, &len, "", marker, mlen) ||
		    append(out, outlen, &len, "", ")", 1))
			goto long_;
		if (*p == '*') {
			n = 1;
			while (p[n] >= '0' && p[n] <= '9')
				n++;
			if (append(out, outlen, &len, "", p, n))
				goto long_;
			p += n;
		}
	}
	return 0;
long_:
	say(err, errlen, "--constraint '%s' is too long to add quorate's features", expr);
	return -1;
}

int place_constraint(const char *user, bool replicated,
		     const struct place_site *plan, size_t nplan,
		     char *out, size_t outlen, char *err, size_t errlen)
{
	const char *marker = replicated ? PLACE_FEATURE_REPLICA : PLACE_FEATURE_PLAIN;
	char *mine = NULL;
	size_t len = 0;
	int rv = -1;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (user && *user) {
		/* Slurm reads ',' as '&' */
		mine = strdup(user);
		if (!mine) {
			say(err, errlen, "out of memory");
			return -1;
		}
		for (char *c = mine; *c; c++) {
			if (*c == ',')
				*c = '&';
			else if (!feature_char(*c) && !strchr("&|[]()*", *c)) {
				say(err, errlen, "--constraint '%s': unexpected '%c'", user, *c);
				goto fail;
			}
		}
	}
	if (nplan) {
		if (mine && strpbrk(mine, "|()[]*")) {
			say(err, errlen, "--replicas spreads the job over sites with a constraint of its own; "
				    "a --constraint beside it may only join features with '&' (got '%s')", user);
			goto fail;
		}
		if (append(out, outlen, &len, "", "[", 1))
			goto long_;
		for (size_t i = 0; i < nplan; i++) {
			char term[512];

			snprintf(term, sizeof(term), "%s(%s&%s%s%s)*%u", i ? "&" : "",
				 plan[i].name, marker, mine ? "&" : "", mine ? mine : "",
				 plan[i].take);
			if (append(out, outlen, &len, "", term, strlen(term)))
				goto long_;
		}
		if (append(out, outlen, &len, "", "]", 1))
			goto long_;
		rv = 0;
	} else if (!mine) {
		if (append(out, outlen, &len, "", marker, strlen(marker)))
			goto long_;
		rv = 0;
	} else if (strpbrk(mine, "[*")) {
		rv = mark_terms(mine, marker, out, outlen, err, errlen);
	} else {
		if (append(out, outlen, &len, "", mine, strlen(mine)) ||
		    append(out, outlen, &len, "", "&", 1) ||
		    append(out, outlen, &len, "", marker, strlen(marker)))
			goto long_;
		rv = 0;
	}
	free(mine);
	return rv;
long_:
	say(err, errlen, "the constraint is too long to add quorate's features");
fail:
	free(mine);
	out[0] = '\0';
	return -1;
}
