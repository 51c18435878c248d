/*
 * reputation.c - see reputation.h.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "reputation.h"

void rep_params_default(struct rep_params *p)
{
	p->half_life = 7 * 86400.0;
	p->missing_weight = 0.5;
	p->min_verdicts = 5;
	p->trust_above = 80;
	p->quarantine_below = 40;
	p->quarantine_seconds = 86400;
}

void rep_node_init(struct rep_node *n)
{
	memset(n, 0, sizeof(*n));
	n->state = NODE_PROBATION;
}

double wilson_lower_bound(double successes, double total, double z)
{
	double p, z2, denom, centre, margin, lb;

	if (!(total > 0))
		return 0;
	p = successes / total;
	if (p < 0)
		p = 0;
	if (p > 1)
		p = 1;
	z2 = z * z;
	denom = 1 + z2 / total;
	centre = p + z2 / (2 * total);
	margin = z * sqrt(p * (1 - p) / total + z2 / (4 * total * total));
	lb = (centre - margin) / denom;
	return lb < 0 ? 0 : lb;
}

double rep_decay_factor(double dt, double half_life)
{
	if (!(dt > 0) || !(half_life > 0))
		return 1;
	return exp2(-dt / half_life);
}

double rep_score(const struct rep_node *n, const struct rep_params *p)
{
	double total = n->agree + n->disagree + p->missing_weight * n->missing;

	return 100 * wilson_lower_bound(n->agree, total, REPUTATION_Z);
}

enum node_state rep_next_state(const struct rep_node *n, int event,
			       double now, const struct rep_params *p)
{
	if (n->state == NODE_QUARANTINED && now < n->quarantined_until)
		return NODE_QUARANTINED;
	if (n->verdicts < p->min_verdicts)
		return NODE_PROBATION;
	if (n->score >= p->trust_above)
		return NODE_TRUSTED;
	if (n->score < p->quarantine_below && event >= 0 && event != REP_AGREE)
		return NODE_QUARANTINED;
	return NODE_PROBATION;
}

bool rep_apply(struct rep_node *n, enum rep_event ev, double now,
	       const struct rep_params *p)
{
	enum node_state old = n->state, next;
	double f = n->updated_at > 0 ? rep_decay_factor(now - n->updated_at, p->half_life) : 1;

	n->agree *= f;
	n->disagree *= f;
	n->missing *= f;
	if (now > n->updated_at)
		n->updated_at = now;
	switch (ev) {
	case REP_AGREE: n->agree += 1; break;
	case REP_DISAGREE: n->disagree += 1; break;
	case REP_MISSING: n->missing += 1; break;
	}
	n->verdicts++;
	n->score = rep_score(n, p);
	next = rep_next_state(n, (int)ev, now, p);
	if (next == NODE_QUARANTINED && old != NODE_QUARANTINED)
		n->quarantined_until = now + p->quarantine_seconds;
	if (next != NODE_QUARANTINED)
		n->quarantined_until = 0;
	n->state = next;
	return next != old;
}

bool rep_expire_quarantine(struct rep_node *n, double now)
{
	if (n->state != NODE_QUARANTINED || now < n->quarantined_until)
		return false;
	n->state = NODE_PROBATION;
	n->quarantined_until = 0;
	return true;
}

const char *rep_event_name(enum rep_event ev)
{
	switch (ev) {
	case REP_AGREE: return "agree";
	case REP_DISAGREE: return "disagree";
	case REP_MISSING: return "missing";
	}
	return "unknown";
}
