/*
 * node_extra.h - quorate's words in a Slurm node's Extra field.
 *
 * quorated writes, and select/reputation reads, a node's score and state in
 * its Extra string (scontrol show node: Extra=...), in one of two forms:
 *
 * Tokens (the default): two whitespace-separated words beside the admin's,
 *
 *     reputation=NN.N            score, 0..100
 *     quorate_state=STATE        unproven | trusted | probation | quarantined
 *
 * JSON, where slurm.conf's SchedulerParameters has extra_constraints (Slurm
 * 23.11 and later; slurmctld then refuses an Extra that is not JSON, and
 * users select nodes with sbatch --extra "reputation>=80"):
 *
 *     {"reputation":87.5,"quorate_state":"trusted"}
 *
 * An Extra whose first non-blank character is '{' is read as JSON, any other
 * as tokens.  Anything else in Extra belongs to the admin and is kept: other
 * words beside the tokens, other keys of the JSON object.  Going from
 * tokens (or free text) to JSON, the admin's words are kept, joined by
 * single spaces, as the string "comment"; going back, such a lone comment
 * becomes words again.  A node without a score is "neutral": scheduled as
 * cons_tres would.
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

/* Parse quorate's score and state out of an Extra string (NULL or ""
 * allowed), tokens or JSON.  A malformed token or JSON value (not a number
 * in 0..100, not a known state), or JSON that does not parse as an object,
 * is ignored (the node stays neutral for that part) and counted in
 * *malformed when it is not NULL. */
void node_extra_parse(const char *extra, struct node_reputation *rep,
		      int *malformed);

/* The state a node is scheduled by: quorated's when it wrote one, else
 * trusted at score >= trust_above and unproven below (a score alone is no
 * evidence of misbehaviour); NODE_NEUTRAL without a score. */
enum node_state node_effective_state(const struct node_reputation *rep,
				     double trust_above);

/* Write into out (size outlen) a new Extra string: the old one without
 * quorate's tokens, followed by reputation=score and quorate_state=state
 * (score with one decimal).  An old JSON object gives its other keys as
 * text, and an Extra whose admin's part opens with '{' gets quorate's
 * tokens first, so that it is not read as JSON.  Returns the length
 * written, or -1 when it does not fit or score or state is invalid. */
int node_extra_format(const char *old_extra, double score,
		      enum node_state state, char *out, size_t outlen);

/* The same, as a JSON object: an old JSON object keeps every other key and
 * gets "reputation" (a number, one decimal) and "quorate_state" set; any
 * other old Extra becomes {"comment":"...","reputation":...,
 * "quorate_state":"..."} with the admin's words, without quorate's tokens,
 * as the comment (no comment when there are none).  Returns the length
 * written, or -1 when it does not fit or score or state is invalid. */
int node_extra_format_json(const char *old_extra, double score,
			   enum node_state state, char *out, size_t outlen);

/* Whether slurm.conf's SchedulerParameters (a comma-separated list, as
 * scontrol show config prints it; NULL allowed) has the item
 * extra_constraints, which makes slurmctld want node Extra as JSON. */
bool sched_params_have_extra_constraints(const char *sched_params);

#endif
