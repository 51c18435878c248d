/*
 * contrib_tres.c - TRES strings and the even split (see contrib_tres.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "contrib_tres.h"

static int parse_u64(const char **p, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	x = strtoull(*p, &end, 10);
	if (errno)
		return -1;
	*p = end;
	*v = x;
	return 0;
}

int contrib_tres_count(const char *tres, uint32_t id, uint64_t *count)
{
	const char *p = tres;
	uint64_t found = 0;

	*count = 0;
	if (!p || !*p)
		return 0;
	for (;;) {
		uint64_t k, v;

		if (parse_u64(&p, &k) || *p++ != '=' || parse_u64(&p, &v))
			return -1;
		if (k == id)
			found = v;
		if (!*p)
			break;
		if (*p++ != ',' || !*p)
			return -1;
	}
	*count = found;
	return 0;
}

uint64_t contrib_split_even(uint64_t total, size_t nodes, size_t i)
{
	if (!nodes || i >= nodes)
		return 0;
	return total / nodes + (i < total % nodes ? 1 : 0);
}
