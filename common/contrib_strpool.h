/*
 * contrib_strpool.h - interned strings: equal names share one copy, so that
 * a million usage records carry pointers to a few hundred names, and the
 * contribution code's comparisons can stop at pointer equality.
 */
#ifndef QUORATE_CONTRIB_STRPOOL_H
#define QUORATE_CONTRIB_STRPOOL_H

#include <stddef.h>

struct contrib_strpool {
	char **slots;			/* open addressing; NULL = empty */
	size_t cap;			/* a power of two */
	size_t n;
};

/* The pool's copy of s (added when new); NULL out of memory.  Copies live
 * until contrib_strpool_free. */
const char *contrib_strpool_add(struct contrib_strpool *p, const char *s);

void contrib_strpool_free(struct contrib_strpool *p);

#endif
