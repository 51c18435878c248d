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
	p->probation_below = 75;
}

void rep_node_init(struct rep_node *n)
{
	memset(n, 0, sizeof(*n));
	n->state = NODE_UNPROVEN;
}

/* The Wilson score interval is (centre -+ margin) / denom. */
static void wilson_interval(double successes, double total, double z,
			    double *centre, double *margin, double *denom)
{
	double p = successes / total, z2 = z * z;

	if (p < 0)
		p = 0;
	if (p > 1)
		p = 1;
	*denom = 1 + z2 / total;
	*centre = p + z2 / (2 * total);
	*margin = z * sqrt(p * (1 - p) / total + z2 / (4 * total * total));
}

double wilson_lower_bound(double successes, double total, double z)
{
	double centre, margin, denom, lb;

	if (!(total > 0))
		return 0;
	wilson_interval(successes, total, z, &centre, &margin, &denom);
	lb = (centre - margin) / denom;
	return lb < 0 ? 0 : lb;
}

double wilson_upper_bound(double successes, double total, double z)
{
	double centre, margin, denom, ub;

	if (!(total > 0))
		return 1;
	wilson_interval(successes, total, z, &centre, &margin, &denom);
	ub = (centre + margin) / denom;
	return ub > 1 ? 1 : ub;
}

double rep_decay_factor(double dt, double half_life)
{
	if (!(dt > 0) || !(half_life > 0))
		return 1;
	return exp2(-dt / half_life);
}

static double weighed_total(const struct rep_node *n, const struct rep_params *p)
{
	return n->agree + n->disagree + p->missing_weight * n->missing;
}

double rep_score(const struct rep_node *n, const struct rep_params *p)
{
	return 100 * wilson_lower_bound(n->agree, weighed_total(n, p), REPUTATION_Z);
}

double rep_agreement_bound(const struct rep_node *n, const struct rep_params *p)
{
	return 100 * wilson_upper_bound(n->agree, weighed_total(n, p), REPUTATION_Z);
}

/* Evidence against the node: outcomes other than agree, and so many of
 * them that even the best agreement share they allow is below the bar. */
static bool misbehaves(const struct rep_node *n, const struct rep_params *p)
{
	return n->disagree + n->missing > 0 &&
	       rep_agreement_bound(n, p) < p->probation_below;
}

enum node_state rep_next_state(const struct rep_node *n, int event,
			       double now, const struct rep_params *p)
{
	if (n->held)
		return NODE_QUARANTINED;
	bool evidence;

	if (n->state == NODE_QUARANTINED && now < n->quarantined_until)
		return NODE_QUARANTINED;
	evidence = misbehaves(n, p);
	if (evidence && event >= 0 && event != REP_AGREE && n->verdicts >= p->min_verdicts &&
	    n->score < p->quarantine_below)
		return NODE_QUARANTINED;
	if (evidence)
		return NODE_PROBATION;
	if (n->verdicts >= p->min_verdicts && n->score >= p->trust_above)
		return NODE_TRUSTED;
	return NODE_UNPROVEN;
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
	if (next == NODE_QUARANTINED && old != NODE_QUARANTINED && !n->held)
		n->quarantined_until = now + p->quarantine_seconds;
	if (next != NODE_QUARANTINED)
		n->quarantined_until = 0;
	n->state = next;
	return next != old;
}

/* The state the rule gives the node's outcomes, no quarantine in force. */
static void rule_state(struct rep_node *n, double now, const struct rep_params *p)
{
	n->quarantined_until = 0;
	n->state = NODE_UNPROVEN;
	n->state = rep_next_state(n, -1, now, p);
}

bool rep_expire_quarantine(struct rep_node *n, double now,
			   const struct rep_params *p)
{
	if (n->state != NODE_QUARANTINED || n->held || now < n->quarantined_until)
		return false;
	rule_state(n, now, p);
	return true;
}

bool rep_admin(struct rep_node *n, enum rep_admin_action action, double now,
	       const struct rep_params *p)
{
	enum node_state old = n->state;

	switch (action) {
	case REP_ADMIN_QUARANTINE:
		n->held = true;
		n->quarantined_until = 0;
		n->state = NODE_QUARANTINED;
		break;
	case REP_ADMIN_RELEASE:
		n->held = false;
		rule_state(n, now, p);
		break;
	case REP_ADMIN_RESET:
		n->agree = n->disagree = n->missing = 0;
		n->verdicts = 0;
		n->score = 0;
		n->held = false;
		if (now > n->updated_at)
			n->updated_at = now;
		rule_state(n, now, p);
		break;
	}
	return n->state != old;
}

bool rep_reevaluate(struct rep_node *n, double now, const struct rep_params *p)
{
	enum node_state old = n->state;

	n->score = rep_score(n, p);
	if (n->state == NODE_QUARANTINED)
		return false;
	n->state = rep_next_state(n, -1, now, p);
	return n->state != old;
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

static const char *const admin_names[] = {
	[REP_ADMIN_QUARANTINE] = "quarantine",
	[REP_ADMIN_RELEASE] = "release",
	[REP_ADMIN_RESET] = "reset",
};

const char *rep_admin_name(enum rep_admin_action action)
{
	if ((size_t)action < sizeof(admin_names) / sizeof(admin_names[0]))
		return admin_names[action];
	return "unknown";
}

int rep_admin_parse(const char *name, enum rep_admin_action *out)
{
	for (size_t i = 0; i < sizeof(admin_names) / sizeof(admin_names[0]); i++) {
		if (name && !strcmp(name, admin_names[i])) {
			*out = (enum rep_admin_action)i;
			return 0;
		}
	}
	return -1;
}
