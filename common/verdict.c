/*
 * verdict.c - see verdict.h.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "verdict.h"

static const char *const verdict_names[] = {
	[VERDICT_PENDING] = "PENDING",
	[VERDICT_ACCEPTED] = "ACCEPTED",
	[VERDICT_REJECTED] = "REJECTED",
};

static const char *const outcome_names[] = {
	[OUTCOME_NONE] = "none",
	[OUTCOME_AGREE] = "agree",
	[OUTCOME_DISAGREE] = "disagree",
	[OUTCOME_MISSING] = "missing",
};

const char *verdict_state_name(enum verdict_state v)
{
	return (size_t)v < 3 ? verdict_names[v] : "UNKNOWN";
}

int verdict_state_parse(const char *s, enum verdict_state *out)
{
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(s, verdict_names[i])) {
			*out = (enum verdict_state)i;
			return 0;
		}
	}
	return -1;
}

const char *replica_outcome_name(enum replica_outcome o)
{
	return (size_t)o < 4 ? outcome_names[o] : "unknown";
}

int replica_outcome_parse(const char *s, enum replica_outcome *out)
{
	for (size_t i = 0; i < 4; i++) {
		if (!strcmp(s, outcome_names[i])) {
			*out = (enum replica_outcome)i;
			return 0;
		}
	}
	return -1;
}

int vstep_init(struct vstep *s, int replicas, int quorum, int parts,
	       enum verify_mode mode, double tolerance)
{
	memset(s, 0, sizeof(*s));
	s->canonical = -1;
	if (replicas < 1 || replicas > QMSG_MAX_REPLICAS || quorum < 1 ||
	    quorum > replicas || parts < 1 || parts > QMSG_MAX_PARTS ||
	    !isfinite(tolerance) || tolerance < 0)
		return -1;
	s->replicas = replicas;
	s->quorum = quorum;
	s->parts = parts;
	s->mode = mode;
	s->tolerance = mode == VERIFY_NUMERIC ? tolerance : 0;
	s->r = calloc((size_t)replicas, sizeof(*s->r));
	if (!s->r)
		return -1;
	for (int i = 0; i < replicas; i++) {
		s->r[i].parts = calloc((size_t)parts, sizeof(struct vpart));
		if (!s->r[i].parts) {
			vstep_free(s);
			return -1;
		}
	}
	return 0;
}

void vstep_free(struct vstep *s)
{
	if (s->r) {
		for (int i = 0; i < s->replicas; i++) {
			if (!s->r[i].parts)
				continue;
			for (int p = 0; p < s->parts; p++)
				free(s->r[i].parts[p].output);
			free(s->r[i].parts);
		}
		free(s->r);
	}
	memset(s, 0, sizeof(*s));
	s->canonical = -1;
}

bool vstep_same_shape(const struct vstep *s, int replicas, int quorum,
		      int parts, enum verify_mode mode, double tolerance)
{
	return s->replicas == replicas && s->quorum == quorum &&
	       s->parts == parts && s->mode == mode &&
	       (mode != VERIFY_NUMERIC || s->tolerance == tolerance);
}

static void update_settled(struct vstep *s)
{
	for (int i = 0; i < s->replicas; i++)
		if (!s->r[i].complete && !s->r[i].missing)
			return;
	s->settled = true;
}

enum vstep_add_status vstep_add_part(struct vstep *s, int replica, int part,
				     const uint8_t sha256[32], int exit_status,
				     const char *node, const char *output,
				     size_t output_len, bool *completed)
{
	struct vreplica *r;
	struct vpart *p;

	*completed = false;
	if (replica < 0 || replica >= s->replicas || part < 0 || part >= s->parts)
		return VSTEP_CONFLICT;
	r = &s->r[replica];
	p = &r->parts[part];
	if (p->present) {
		if (!memcmp(p->sha256, sha256, sizeof(p->sha256)) &&
		    p->exit_status == exit_status && !strcmp(p->node, node))
			return VSTEP_DUPLICATE;
		return VSTEP_CONFLICT;
	}
	if (s->mode == VERIFY_NUMERIC && output) {
		p->output = malloc(output_len + 1);
		if (!p->output)
			return VSTEP_NO_MEMORY;
		memcpy(p->output, output, output_len);
		p->output[output_len] = '\0';
		p->output_len = output_len;
	}
	p->present = true;
	memcpy(p->sha256, sha256, sizeof(p->sha256));
	p->exit_status = exit_status;
	snprintf(p->node, sizeof(p->node), "%s", node);
	if (++r->parts_in == s->parts) {
		r->complete = true;
		r->order = ++s->completed;
		*completed = true;
		update_settled(s);
	}
	return VSTEP_ADDED;
}

static bool parts_agree(const struct vstep *s, const struct vpart *a,
			const struct vpart *b)
{
	if (a->exit_status != b->exit_status)
		return false;
	if (!memcmp(a->sha256, b->sha256, sizeof(a->sha256)))
		return true;
	if (s->mode == VERIFY_NUMERIC && a->output && b->output)
		return numeric_outputs_match(a->output, a->output_len,
					     b->output, b->output_len, s->tolerance);
	return false;
}

bool vstep_replicas_agree(const struct vstep *s, int a, int b)
{
	if (a == b)
		return true;
	for (int p = 0; p < s->parts; p++)
		if (!parts_agree(s, &s->r[a].parts[p], &s->r[b].parts[p]))
			return false;
	return true;
}

/* Complete replicas that take part in the decision, in completion order. */
static int candidates(const struct vstep *s, int *idx)
{
	int n = 0;

	for (int i = 0; i < s->replicas; i++) {
		if (!s->r[i].complete || s->r[i].missing)
			continue;
		int j = n++;

		while (j > 0 && s->r[idx[j - 1]].order > s->r[i].order) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	return n;
}

static void assign(struct vstep *s, int replica, enum replica_outcome o,
		   struct vstep_change *changes, size_t *n)
{
	s->r[replica].outcome = o;
	if (o == OUTCOME_AGREE)
		s->agree++;
	else if (o == OUTCOME_DISAGREE)
		s->disagree++;
	else if (o == OUTCOME_MISSING)
		s->missing++;
	changes[*n].replica = replica;
	changes[*n].outcome = o;
	(*n)++;
}

static bool decide(struct vstep *s, struct vstep_change *changes, size_t *n)
{
	int idx[QMSG_MAX_REPLICAS];
	bool changed = false;

	if (s->verdict == VERDICT_PENDING) {
		int ncand = candidates(s, idx), best = 0, outstanding = 0;

		for (int c = 0; c < ncand && s->verdict == VERDICT_PENDING; c++) {
			int count = 0;

			for (int x = 0; x < ncand; x++)
				if (vstep_replicas_agree(s, idx[c], idx[x]))
					count++;
			if (count >= s->quorum) {
				s->verdict = VERDICT_ACCEPTED;
				s->canonical = idx[c];
				changed = true;
			}
			if (count > best)
				best = count;
		}
		for (int i = 0; i < s->replicas; i++)
			if (!s->r[i].complete && !s->r[i].missing)
				outstanding++;
		if (s->verdict == VERDICT_PENDING && best + outstanding < s->quorum) {
			s->verdict = VERDICT_REJECTED;
			changed = true;
		}
	}
	if (s->verdict == VERDICT_PENDING)
		return changed;
	for (int i = 0; i < s->replicas; i++) {
		struct vreplica *r = &s->r[i];

		if (!r->complete || r->missing || r->outcome != OUTCOME_NONE)
			continue;
		if (s->verdict == VERDICT_ACCEPTED && vstep_replicas_agree(s, s->canonical, i))
			assign(s, i, OUTCOME_AGREE, changes, n);
		else
			assign(s, i, OUTCOME_DISAGREE, changes, n);
	}
	return changed;
}

bool vstep_decide(struct vstep *s, struct vstep_change *changes, size_t *n)
{
	*n = 0;
	return decide(s, changes, n);
}

bool vstep_settle(struct vstep *s, struct vstep_change *changes, size_t *n)
{
	*n = 0;
	for (int i = 0; i < s->replicas; i++) {
		struct vreplica *r = &s->r[i];

		if (r->complete || r->missing)
			continue;
		r->missing = true;
		assign(s, i, OUTCOME_MISSING, changes, n);
	}
	s->settled = true;
	return decide(s, changes, n);
}

void vstep_restore(struct vstep *s, enum verdict_state verdict, int canonical,
		   const enum replica_outcome *outcomes)
{
	s->verdict = verdict;
	s->canonical = verdict == VERDICT_ACCEPTED && canonical >= 0 &&
		       canonical < s->replicas ? canonical : -1;
	if (verdict == VERDICT_ACCEPTED && s->canonical < 0)
		s->verdict = VERDICT_PENDING;	/* inconsistent: decide again */
	s->agree = s->disagree = s->missing = 0;
	for (int i = 0; i < s->replicas; i++) {
		enum replica_outcome o = outcomes[i];

		s->r[i].outcome = o;
		if (o == OUTCOME_AGREE)
			s->agree++;
		else if (o == OUTCOME_DISAGREE)
			s->disagree++;
		else if (o == OUTCOME_MISSING) {
			s->missing++;
			s->r[i].missing = true;
		}
	}
	s->settled = false;
	update_settled(s);
}

int vstep_replica_digest(const struct vstep *s, int replica, uint8_t out[32])
{
	struct sha256_ctx ctx;

	if (replica < 0 || replica >= s->replicas || sha256_init(&ctx))
		return -1;
	for (int p = 0; p < s->parts; p++) {
		const struct vpart *part = &s->r[replica].parts[p];
		uint32_t e = (uint32_t)part->exit_status;
		uint8_t be[4] = { (uint8_t)(e >> 24), (uint8_t)(e >> 16),
				  (uint8_t)(e >> 8), (uint8_t)e };

		if (sha256_update(&ctx, part->sha256, sizeof(part->sha256)) ||
		    sha256_update(&ctx, be, sizeof(be))) {
			sha256_abort(&ctx);
			return -1;
		}
	}
	return sha256_final(&ctx, out);
}

/* ----------------------------------------------------- numeric compare -- */

/* Length of a decimal number at p (sign, digits, fraction, exponent), or 0.
 * Only plain decimal forms: no hex, inf or nan, which strtod would take. */
static size_t number_len(const char *p, const char *end)
{
	const char *q = p;
	bool digits = false;

	if (q < end && (*q == '+' || *q == '-'))
		q++;
	while (q < end && isdigit((unsigned char)*q)) {
		q++;
		digits = true;
	}
	if (q < end && *q == '.') {
		const char *f = q + 1;

		while (f < end && isdigit((unsigned char)*f)) {
			f++;
			digits = true;
		}
		if (digits)
			q = f;
	}
	if (!digits)
		return 0;
	if (q < end && (*q == 'e' || *q == 'E')) {
		const char *e = q + 1;

		if (e < end && (*e == '+' || *e == '-'))
			e++;
		if (e < end && isdigit((unsigned char)*e)) {
			while (e < end && isdigit((unsigned char)*e))
				e++;
			q = e;
		}
	}
	return (size_t)(q - p);
}

static bool number_at(const char *p, const char *end, size_t *len, double *v)
{
	char buf[128];
	size_t n = number_len(p, end);

	if (n == 0)
		return false;
	*len = n;
	if (n >= sizeof(buf)) {
		*v = NAN;	/* absurdly long: compared as text */
		return true;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	return true;
}

static bool close_enough(double a, double b, double tol)
{
	if (a == b)
		return true;
	if (!isfinite(a) || !isfinite(b))
		return false;
	return fabs(a - b) <= tol * fmax(fabs(a), fabs(b));
}

bool numeric_outputs_match(const char *a, size_t alen,
			   const char *b, size_t blen, double tolerance)
{
	const char *pa = a, *ea = a + alen, *pb = b, *eb = b + blen;

	while (pa < ea && pb < eb) {
		size_t la, lb;
		double va, vb;
		bool na, nb;

		if (isspace((unsigned char)*pa) && isspace((unsigned char)*pb)) {
			while (pa < ea && isspace((unsigned char)*pa))
				pa++;
			while (pb < eb && isspace((unsigned char)*pb))
				pb++;
			continue;
		}
		na = number_at(pa, ea, &la, &va);
		nb = number_at(pb, eb, &lb, &vb);
		if (na && nb) {
			if (isnan(va) || isnan(vb)) {
				if (la != lb || memcmp(pa, pb, la))
					return false;
			} else if (!close_enough(va, vb, tolerance)) {
				return false;
			}
			pa += la;
			pb += lb;
			continue;
		}
		if (na != nb || *pa != *pb)
			return false;
		pa++;
		pb++;
	}
	/* Trailing blanks do not matter either. */
	while (pa < ea && isspace((unsigned char)*pa))
		pa++;
	while (pb < eb && isspace((unsigned char)*pb))
		pb++;
	return pa == ea && pb == eb;
}
