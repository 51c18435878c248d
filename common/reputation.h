/*
 * reputation.h - a node's reputation from its verified outcomes, as pure
 * functions over a plain struct (times are passed in, in seconds).
 *
 * Each node keeps decayed counts of agree / disagree / missing outcomes:
 * before an event every count is multiplied by 2^(-dt / half_life).  The
 * score is 100 x the Wilson lower bound (z = 1.96) of "agree" among all
 * outcomes, a missing outcome weighing missing_weight (default 0.5) both
 * in the total and as a failure.
 *
 * States, and what a node may run in each (quorate.conf(5)):
 *   unproven     no evidence against the node, not yet trusted: every job;
 *   trusted      at least min_verdicts outcomes and score >= trust_above:
 *                every job, placed first;
 *   probation    the node's own outcomes show misbehaviour with confidence:
 *                the upper Wilson bound of its agreement share lies below
 *                probation_below.  Replicated jobs only, where its results
 *                are checked against others';
 *   quarantined  an outcome other than agree left the score below
 *                quarantine_below after at least min_verdicts outcomes (for
 *                quarantine_seconds, then the rule again), or an admin said
 *                so (until an admin releases it).  No job.
 * Absence of evidence is not evidence: an agreeing outcome never moves a
 * node to probation or quarantine, so a node whose outcomes all agree is
 * unproven or trusted, never excluded.
 */
#ifndef QUORATE_REPUTATION_H
#define QUORATE_REPUTATION_H

#include <stdbool.h>

#include "node_extra.h"

#define REPUTATION_Z 1.96

struct rep_params {
	double half_life;		/* seconds, > 0 */
	double missing_weight;		/* 0..1 */
	long min_verdicts;
	double trust_above;		/* score, 0..100 */
	double quarantine_below;	/* score, 0..100 */
	double quarantine_seconds;
	double probation_below;		/* upper bound of agreement, 0..100 */
};

struct rep_node {
	double agree, disagree, missing;	/* decayed counts */
	long verdicts;				/* outcomes ever recorded */
	double updated_at;			/* time of the last decay (0: never) */
	double score;				/* 0..100 */
	enum node_state state;			/* UNPROVEN, TRUSTED, PROBATION or QUARANTINED */
	double quarantined_until;		/* when QUARANTINED by the rule */
	bool held;				/* QUARANTINED by an admin, until released */
};

enum rep_event {
	REP_AGREE = 0,
	REP_DISAGREE,
	REP_MISSING,
};

enum rep_admin_action {
	REP_ADMIN_QUARANTINE = 0,	/* hold in quarantine until released */
	REP_ADMIN_RELEASE,		/* end a quarantine, the rule decides */
	REP_ADMIN_RESET,		/* forget every outcome: a new node */
};

/* Defaults of quorate.conf(5): 7 days, 0.5, 5, 80, 40, 1 day, 75. */
void rep_params_default(struct rep_params *p);

/* A new node: no counts, score 0, unproven. */
void rep_node_init(struct rep_node *n);

/* Lower bound of the Wilson score interval for successes out of total
 * (both may be fractional), in 0..1; 0 when total <= 0. */
double wilson_lower_bound(double successes, double total, double z);

/* Upper bound of the same interval, in 0..1; 1 when total <= 0. */
double wilson_upper_bound(double successes, double total, double z);

/* 2^(-dt / half_life); 1 for dt <= 0. */
double rep_decay_factor(double dt, double half_life);

/* 100 x Wilson lower bound of the node's current counts. */
double rep_score(const struct rep_node *n, const struct rep_params *p);

/* 100 x the upper Wilson bound of the node's agreement share, weighed
 * as in rep_score(): what its outcomes still allow it to be at best. */
double rep_agreement_bound(const struct rep_node *n, const struct rep_params *p);

/* The state after an event (or a re-evaluation, event < 0) at time now. */
enum node_state rep_next_state(const struct rep_node *n, int event,
			       double now, const struct rep_params *p);

/* Record one outcome at time now: decay, count, score, state.  Returns
 * whether the state changed. */
bool rep_apply(struct rep_node *n, enum rep_event ev, double now,
	       const struct rep_params *p);

/* Timed re-admission: a node quarantined by the rule whose time is up
 * gets the state the rule gives its outcomes.  Returns whether it did. */
bool rep_expire_quarantine(struct rep_node *n, double now,
			   const struct rep_params *p);

/* An admin's decision at time now.  Returns whether the state changed. */
bool rep_admin(struct rep_node *n, enum rep_admin_action action, double now,
	       const struct rep_params *p);

/* Re-evaluate with p (the rule or its thresholds changed).  Returns
 * whether the state changed; a quarantine in force is kept. */
bool rep_reevaluate(struct rep_node *n, double now, const struct rep_params *p);

const char *rep_event_name(enum rep_event ev);
/* "quarantine", "release", "reset"; the event kinds are "admin-" + it. */
const char *rep_admin_name(enum rep_admin_action action);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int rep_admin_parse(const char *name, enum rep_admin_action *out);

#endif
