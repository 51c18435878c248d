/*
 * spank_groups.c - see spank_groups.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spank_groups.h"

int spank_replica_groups(size_t n, const uint32_t *site, unsigned groups,
			 unsigned *group_of)
{
	size_t *order, *site_first, per, k = 0;

	if (!groups || !n || n % groups) {
		errno = EINVAL;
		return -1;
	}
	per = n / groups;
	if (!site) {
		for (size_t i = 0; i < n; i++)
			group_of[i] = (unsigned)(i / per);
		return 0;
	}
	order = malloc(n * sizeof(*order));
	site_first = malloc(n * sizeof(*site_first));
	if (!order || !site_first) {
		free(order);
		free(site_first);
		errno = ENOMEM;
		return -1;
	}
	/* Each node's site rank is the position of the site's first node;
	 * walking the first nodes in order and collecting their site's nodes
	 * gives a stable site-major order.  O(n * sites), n is a step. */
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < i && site[j] != site[i]; j++)
			;
		site_first[i] = j;
	}
	for (size_t i = 0; i < n; i++) {
		if (site_first[i] != i)
			continue;
		for (size_t j = i; j < n; j++) {
			if (site_first[j] == i)
				order[k++] = j;
		}
	}
	for (size_t p = 0; p < n; p++)
		group_of[order[p]] = (unsigned)(p / per);
	free(order);
	free(site_first);
	return 0;
}

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A decimal number of at most 9 digits at *p; advances p. */
static int read_count(const char **p, unsigned long *out)
{
	const char *s = *p;
	unsigned long v = 0;
	int digits = 0;

	while (*s >= '0' && *s <= '9' && digits < 10) {
		v = v * 10 + (unsigned long)(*s - '0');
		s++;
		digits++;
	}
	if (digits == 0 || digits > 9)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

int spank_tasks_per_node(const char *spec, unsigned *counts, size_t n,
			 char *err, size_t errlen)
{
	const char *p = spec;
	size_t filled = 0;

	if (!spec || !*spec) {
		set_err(err, errlen, "no tasks-per-node list");
		return -1;
	}
	for (;;) {
		unsigned long count, repeat = 1;

		if (read_count(&p, &count))
			goto bad;
		if (*p == '(') {
			p++;
			if (*p++ != 'x' || read_count(&p, &repeat) || *p++ != ')' ||
			    repeat == 0)
				goto bad;
		}
		if (count > 65535 || repeat > n - filled) {
			set_err(err, errlen,
				"tasks-per-node list '%.64s' does not fit %zu nodes",
				spec, n);
			return -1;
		}
		for (unsigned long i = 0; i < repeat; i++)
			counts[filled++] = (unsigned)count;
		if (!*p)
			break;
		if (*p++ != ',')
			goto bad;
	}
	if (filled != n) {
		set_err(err, errlen,
			"tasks-per-node list '%.64s' names %zu nodes, the step has %zu",
			spec, filled, n);
		return -1;
	}
	return 0;
bad:
	set_err(err, errlen, "tasks-per-node list '%.64s' is not N[(xR)],...",
		spec);
	return -1;
}

int spank_replica_parts(size_t n, const unsigned *tasks,
			const unsigned *group_of, unsigned groups,
			unsigned *first_part, unsigned *parts,
			char *err, size_t errlen)
{
	unsigned long *sum;
	int rv = -1;

	if (!groups || !n) {
		set_err(err, errlen, "no nodes or no replicas");
		return -1;
	}
	sum = calloc(groups, sizeof(*sum));
	if (!sum) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (group_of[i] >= groups) {
			set_err(err, errlen, "node %zu is in group %u of %u", i,
				group_of[i], groups);
			goto fail;
		}
		first_part[i] = (unsigned)sum[group_of[i]];
		sum[group_of[i]] += tasks[i];
	}
	for (unsigned g = 1; g < groups; g++) {
		if (sum[g] != sum[0]) {
			char *e = err;
			size_t left = errlen;
			int k;

			k = snprintf(e, left, "replicas would run different task counts (");
			for (unsigned h = 0; h < groups && k > 0 && (size_t)k < left; h++) {
				e += k;
				left -= (size_t)k;
				k = snprintf(e, left, "%s%lu", h ? ", " : "", sum[h]);
			}
			if (k > 0 && (size_t)k < left)
				snprintf(e + k, left - (size_t)k,
					 "); give every replica the same, e.g. with --ntasks-per-node");
			goto fail;
		}
	}
	if (sum[0] == 0 || sum[0] > SPANK_MAX_PARTS) {
		set_err(err, errlen, "%lu tasks per replica; allowed: 1..%d",
			sum[0], SPANK_MAX_PARTS);
		goto fail;
	}
	*parts = (unsigned)sum[0];
	rv = 0;
fail:
	free(sum);
	return rv;
}

char *spank_group_nodes(size_t n, const char *const *names,
			const unsigned *group_of, unsigned g)
{
	size_t len = 0, at = 0;
	char *s;

	for (size_t i = 0; i < n; i++)
		if (group_of[i] == g)
			len += strlen(names[i]) + 1;
	if (!len)
		return NULL;
	s = malloc(len);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t l;

		if (group_of[i] != g)
			continue;
		if (at)
			s[at++] = ',';
		l = strlen(names[i]);
		memcpy(s + at, names[i], l);
		at += l;
	}
	s[at] = '\0';
	return s;
}
