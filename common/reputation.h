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
 * States: probation while fewer than min_verdicts outcomes were recorded
 * or the score lies between the thresholds; trusted at score >=
 * trust_above; quarantined when an outcome other than agree leaves the
 * score below quarantine_below, for quarantine_seconds, then probation
 * again (timed re-admission).  An agreeing outcome never quarantines.
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
};

struct rep_node {
	double agree, disagree, missing;	/* decayed counts */
	long verdicts;				/* outcomes ever recorded */
	double updated_at;			/* time of the last decay (0: never) */
	double score;				/* 0..100 */
	enum node_state state;			/* PROBATION, TRUSTED or QUARANTINED */
	double quarantined_until;		/* when QUARANTINED */
};

enum rep_event {
	REP_AGREE = 0,
	REP_DISAGREE,
	REP_MISSING,
};

/* Defaults of quorate.conf(5): 7 days, 0.5, 5, 80, 40, 1 day. */
void rep_params_default(struct rep_params *p);

/* A new node: no counts, score 0, probation. */
void rep_node_init(struct rep_node *n);

/* Lower bound of the Wilson score interval for successes out of total
 * (both may be fractional), in 0..1; 0 when total <= 0. */
double wilson_lower_bound(double successes, double total, double z);

/* 2^(-dt / half_life); 1 for dt <= 0. */
double rep_decay_factor(double dt, double half_life);

/* 100 x Wilson lower bound of the node's current counts. */
double rep_score(const struct rep_node *n, const struct rep_params *p);

/* The state after an event (or a re-evaluation, event < 0) at time now. */
enum node_state rep_next_state(const struct rep_node *n, int event,
			       double now, const struct rep_params *p);

/* Record one outcome at time now: decay, count, score, state.  Returns
 * whether the state changed. */
bool rep_apply(struct rep_node *n, enum rep_event ev, double now,
	       const struct rep_params *p);

/* Timed re-admission: a quarantined node whose time is up goes back to
 * probation.  Returns whether it did. */
bool rep_expire_quarantine(struct rep_node *n, double now);

const char *rep_event_name(enum rep_event ev);

#endif
