/*
 * node_extra.h - quorate's words in a Slurm node's Extra field.
 *
 * quorated writes, and select/reputation reads, two whitespace-separated
 * tokens in the node's Extra string (scontrol show node: Extra=...):
 *
 *     reputation=NN.N            score, 0..100
 *     quorate_state=STATE        unproven | trusted | probation | quarantined
 *
 * Anything else in Extra belongs to the admin and is kept as it is.  A node
 * without a reputation token is "neutral": scheduled as cons_tres would.
 */
#ifndef QUORATE_NODE_EXTRA_H
#define QUORATE_NODE_EXTRA_H

#include <stdbool.h>
#include <stddef.h>

enum node_state {
	NODE_NEUTRAL = 0,	/* no score: quorate has no opinion */
	NODE_PROBATION,
	NODE_TRUSTED,
	NODE_QUARANTINED,
	NODE_UNPROVEN,		/* no evidence against it, not yet trusted */
};

struct node_reputation {
	bool has_score;
	double score;		/* 0..100 when has_score */
	bool has_state;
	enum node_state state;	/* as quorated decided it, when has_state */
};

const char *node_state_name(enum node_state state);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int node_state_parse(const char *name, enum node_state *out);

/* Parse quorate's tokens out of an Extra string (NULL or "" allowed).
 * Malformed quorate tokens are ignored (the node stays neutral for that
 * part) and counted in *malformed when it is not NULL. */
void node_extra_parse(const char *extra, struct node_reputation *rep,
		      int *malformed);

/* The state a node is scheduled by: quorated's when it wrote one, else
 * trusted at score >= trust_above and unproven below (a score alone is no
 * evidence of misbehaviour); NODE_NEUTRAL without a score. */
enum node_state node_effective_state(const struct node_reputation *rep,
				     double trust_above);

/* Write into out (size outlen) a new Extra string: the old one without
 * quorate's tokens, followed by reputation=score and quorate_state=state.
 * Returns the length written, or -1 when it does not fit. */
int node_extra_format(const char *old_extra, double score,
		      enum node_state state, char *out, size_t outlen);

#endif
