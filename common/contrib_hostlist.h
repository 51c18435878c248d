/*
 * contrib_hostlist.h - Slurm hostlist expressions ("n[1-4,7],gpu[01-02]a,login")
 * for quorate.conf's SiteMap, parsed strictly and matched without expanding:
 * a range of a million nodes costs a few bytes.
 *
 * Grammar: comma-separated terms; a term is a name, or a prefix, one
 * bracket group of comma-separated numbers or LO-HI ranges, and an optional
 * suffix.  Names use [A-Za-z0-9._-].  As in Slurm, a range's width is the
 * number of digits of LO (n[08-10] is n08 n09 n10, n[8-10] is n8 n9 n10).
 * Errors: empty terms, a second bracket group, HI < LO, numbers above
 * HOSTEXPR_MAX_NUMBER, any other character.  The prefix hostexpr_ keeps
 * these apart from Slurm's own hostlist_* symbols.
 */
#ifndef QUORATE_CONTRIB_HOSTLIST_H
#define QUORATE_CONTRIB_HOSTLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTEXPR_MAX_NUMBER 999999999UL
#define HOSTEXPR_MAX_NAME 255

struct hostexpr_range {
	unsigned long lo, hi;
	unsigned width;			/* digits of LO as written */
};

struct hostexpr_term {
	char *prefix;			/* the whole name when n_ranges == 0 */
	char *suffix;			/* "" when none */
	struct hostexpr_range *ranges;
	size_t n_ranges;
};

struct hostexpr {
	struct hostexpr_term *terms;
	size_t n_terms;
};

/* Parse S into h.  0, or -1 with err (what is wrong, and where). */
int hostexpr_parse(const char *s, struct hostexpr *h, char *err, size_t errlen);

/* Whether NAME is one of h's names (exact, width-aware). */
bool hostexpr_contains(const struct hostexpr *h, const char *name);

/* How many names h lists (duplicates counted). */
uint64_t hostexpr_count(const struct hostexpr *h);

/* The i-th name, in the order written, into out.  0, or -1 when i is out of
 * range or the name does not fit. */
int hostexpr_name(const struct hostexpr *h, uint64_t i, char *out, size_t outlen);

void hostexpr_free(struct hostexpr *h);

#endif
