/*
 * contrib_strpool.c - interned strings (see contrib_strpool.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "contrib_strpool.h"

static size_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

static int grow(struct contrib_strpool *p)
{
	size_t cap = p->cap ? p->cap * 2 : 64;
	char **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < p->cap; i++) {
		size_t h;

		if (!p->slots[i])
			continue;
		h = hash_str(p->slots[i]) & (cap - 1);
		while (slots[h])
			h = (h + 1) & (cap - 1);
		slots[h] = p->slots[i];
	}
	free(p->slots);
	p->slots = slots;
	p->cap = cap;
	return 0;
}

const char *contrib_strpool_add(struct contrib_strpool *p, const char *s)
{
	size_t h;

	if (p->n * 2 >= p->cap && grow(p))
		return NULL;
	h = hash_str(s) & (p->cap - 1);
	while (p->slots[h]) {
		if (!strcmp(p->slots[h], s))
			return p->slots[h];
		h = (h + 1) & (p->cap - 1);
	}
	p->slots[h] = strdup(s);
	if (!p->slots[h])
		return NULL;
	p->n++;
	return p->slots[h];
}

void contrib_strpool_free(struct contrib_strpool *p)
{
	for (size_t i = 0; i < p->cap; i++)
		free(p->slots[i]);
	free(p->slots);
	memset(p, 0, sizeof(*p));
}
