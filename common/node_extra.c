/*
 * node_extra.c - see node_extra.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_extra.h"

#define TOKEN_SCORE "reputation="
#define TOKEN_STATE "quorate_state="

static const char *const state_names[] = {
	[NODE_NEUTRAL] = "neutral",
	[NODE_PROBATION] = "probation",
	[NODE_TRUSTED] = "trusted",
	[NODE_QUARANTINED] = "quarantined",
	[NODE_UNPROVEN] = "unproven",
};

const char *node_state_name(enum node_state state)
{
	if ((size_t)state < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[state];
	return "unknown";
}

int node_state_parse(const char *name, enum node_state *out)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (!strcmp(name, state_names[i])) {
			*out = (enum node_state)i;
			return 0;
		}
	}
	return -1;
}

/* Calls fn for each whitespace- or comma-separated token of extra. */
static void each_token(const char *extra,
		       void (*fn)(const char *tok, size_t len, void *arg),
		       void *arg)
{
	const char *p = extra;

	if (!p)
		return;
	while (*p) {
		const char *start;

		while (*p && (isspace((unsigned char)*p) || *p == ','))
			p++;
		start = p;
		while (*p && !isspace((unsigned char)*p) && *p != ',')
			p++;
		if (p > start)
			fn(start, (size_t)(p - start), arg);
	}
}

static bool has_prefix(const char *tok, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !strncmp(tok, prefix, n);
}

struct parse_state {
	struct node_reputation *rep;
	int malformed;
};

static void parse_token(const char *tok, size_t len, void *arg)
{
	struct parse_state *ps = arg;
	char value[64];
	size_t n;

	if (has_prefix(tok, len, TOKEN_SCORE)) {
		char *end;
		double v;

		n = len - strlen(TOKEN_SCORE);
		if (n == 0 || n >= sizeof(value)) {
			ps->malformed++;
			return;
		}
		memcpy(value, tok + strlen(TOKEN_SCORE), n);
		value[n] = '\0';
		errno = 0;
		v = strtod(value, &end);
		if (errno || *end || !isfinite(v) || v < 0 || v > 100) {
			ps->malformed++;
			return;
		}
		ps->rep->has_score = true;
		ps->rep->score = v;
	} else if (has_prefix(tok, len, TOKEN_STATE)) {
		enum node_state st;

		n = len - strlen(TOKEN_STATE);
		if (n == 0 || n >= sizeof(value)) {
			ps->malformed++;
			return;
		}
		memcpy(value, tok + strlen(TOKEN_STATE), n);
		value[n] = '\0';
		if (node_state_parse(value, &st) || st == NODE_NEUTRAL) {
			ps->malformed++;
			return;
		}
		ps->rep->has_state = true;
		ps->rep->state = st;
	}
}

void node_extra_parse(const char *extra, struct node_reputation *rep,
		      int *malformed)
{
	struct parse_state ps = { .rep = rep };

	memset(rep, 0, sizeof(*rep));
	each_token(extra, parse_token, &ps);
	if (malformed)
		*malformed = ps.malformed;
}

enum node_state node_effective_state(const struct node_reputation *rep,
				     double trust_above)
{
	if (!rep->has_score)
		return NODE_NEUTRAL;
	if (rep->has_state)
		return rep->state;
	if (rep->score >= trust_above)
		return NODE_TRUSTED;
	return NODE_UNPROVEN;
}

struct format_state {
	char *out;
	size_t outlen, used;
	bool overflow;
};

static void append(struct format_state *fs, const char *s, size_t len)
{
	if (fs->overflow || fs->used + len + 1 > fs->outlen) {
		fs->overflow = true;
		return;
	}
	memcpy(fs->out + fs->used, s, len);
	fs->used += len;
	fs->out[fs->used] = '\0';
}

static void keep_foreign_token(const char *tok, size_t len, void *arg)
{
	struct format_state *fs = arg;

	if (has_prefix(tok, len, TOKEN_SCORE) || has_prefix(tok, len, TOKEN_STATE))
		return;
	append(fs, tok, len);
	append(fs, " ", 1);
}

int node_extra_format(const char *old_extra, double score,
		      enum node_state state, char *out, size_t outlen)
{
	struct format_state fs = { .out = out, .outlen = outlen };
	char ours[96];
	int n;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (!isfinite(score) || score < 0 || score > 100 ||
	    state == NODE_NEUTRAL || (size_t)state >= sizeof(state_names) / sizeof(state_names[0]))
		return -1;
	each_token(old_extra, keep_foreign_token, &fs);
	n = snprintf(ours, sizeof(ours), TOKEN_SCORE "%.1f " TOKEN_STATE "%s",
		     score, node_state_name(state));
	append(&fs, ours, (size_t)n);
	return fs.overflow ? -1 : (int)fs.used;
}
