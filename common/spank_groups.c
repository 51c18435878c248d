/*
 * spank_groups.c - see spank_groups.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

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
