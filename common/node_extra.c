/*
 * node_extra.c - see node_extra.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "node_extra.h"

#define TOKEN_SCORE "reputation="
#define TOKEN_STATE "quorate_state="
#define KEY_SCORE "reputation"
#define KEY_STATE "quorate_state"
#define KEY_COMMENT "comment"	/* the admin's words of a non-JSON Extra */
#define JSON_DEPTH 32		/* json-c's default nesting limit */

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

static bool looks_like_json(const char *extra)
{
	while (extra && isspace((unsigned char)*extra))
		extra++;
	return extra && *extra == '{';
}

/* The JSON object that the whole of extra is, or NULL. */
static struct json_object *json_object_of(const char *extra)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t len = strlen(extra), end;

	if (len > INT_MAX)
		return NULL;
	/* Not JSON_TOKENER_STRICT: what slurmctld's json-c accepts as Extra
	 * (a trailing comma, say) is the admin's JSON here too. */
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, extra, (int)len);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (obj && end < len && isspace((unsigned char)extra[end]))
		end++;
	if (obj && (end != len || !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

static void parse_json(const char *extra, struct parse_state *ps)
{
	struct json_object *obj = json_object_of(extra), *v;

	if (!obj) {
		ps->malformed++;
		return;
	}
	if (json_object_object_get_ex(obj, KEY_SCORE, &v)) {
		bool number = json_object_is_type(v, json_type_double) ||
			      json_object_is_type(v, json_type_int);
		double d = number ? json_object_get_double(v) : NAN;

		if (isfinite(d) && d >= 0 && d <= 100) {
			ps->rep->has_score = true;
			ps->rep->score = d;
		} else {
			ps->malformed++;
		}
	}
	if (json_object_object_get_ex(obj, KEY_STATE, &v)) {
		enum node_state st;

		if (json_object_is_type(v, json_type_string) &&
		    !node_state_parse(json_object_get_string(v), &st) &&
		    st != NODE_NEUTRAL) {
			ps->rep->has_state = true;
			ps->rep->state = st;
		} else {
			ps->malformed++;
		}
	}
	json_object_put(obj);
}

void node_extra_parse(const char *extra, struct node_reputation *rep,
		      int *malformed)
{
	struct parse_state ps = { .rep = rep };

	memset(rep, 0, sizeof(*rep));
	if (looks_like_json(extra))
		parse_json(extra, &ps);
	else
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

static bool valid_ours(double score, enum node_state state)
{
	return isfinite(score) && score >= 0 && score <= 100 && state != NODE_NEUTRAL &&
	       (size_t)state < sizeof(state_names) / sizeof(state_names[0]);
}

/* The admin's part of an old JSON Extra as text, malloc'd ("" for none):
 * a lone "comment" string (what node_extra_format_json made of words) as
 * those words, any other keys as a JSON object.  NULL when out of memory. */
static char *json_admin_text(struct json_object *obj)
{
	struct json_object *comment;
	const char *text;

	json_object_object_del(obj, KEY_SCORE);
	json_object_object_del(obj, KEY_STATE);
	if (json_object_object_length(obj) == 0)
		return strdup("");
	if (json_object_object_length(obj) == 1 &&
	    json_object_object_get_ex(obj, KEY_COMMENT, &comment) &&
	    json_object_is_type(comment, json_type_string))
		return strdup(json_object_get_string(comment));
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	return text ? strdup(text) : NULL;
}

int node_extra_format(const char *old_extra, double score,
		      enum node_state state, char *out, size_t outlen)
{
	struct format_state fs = { .out = out, .outlen = outlen };
	struct json_object *obj = NULL;
	char ours[96], *admin = NULL;
	int n;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (!valid_ours(score, state))
		return -1;
	if (looks_like_json(old_extra) && (obj = json_object_of(old_extra))) {
		admin = json_admin_text(obj);
		json_object_put(obj);
		if (!admin)
			return -1;
	}
	each_token(admin ? admin : old_extra, keep_foreign_token, &fs);
	free(admin);
	n = snprintf(ours, sizeof(ours), TOKEN_SCORE "%.1f " TOKEN_STATE "%s",
		     score, node_state_name(state));
	if (!fs.overflow && fs.used && out[0] == '{') {
		/* read as JSON if it opened the Extra: ours go first */
		if (fs.used + (size_t)n + 1 > outlen) {
			out[0] = '\0';
			return -1;
		}
		memmove(out + n + 1, out, fs.used - 1);
		memcpy(out, ours, (size_t)n);
		out[n] = ' ';
		fs.used += (size_t)n;
		out[fs.used] = '\0';
		return (int)fs.used;
	}
	append(&fs, ours, (size_t)n);
	return fs.overflow ? -1 : (int)fs.used;
}

/* The admin's words of a non-JSON Extra (quorate's tokens dropped), joined
 * by single spaces, malloc'd; NULL when out of memory. */
static char *foreign_words(const char *old_extra)
{
	size_t cap = (old_extra ? strlen(old_extra) : 0) + 2;
	struct format_state fs = { .outlen = cap };

	fs.out = malloc(cap);
	if (!fs.out)
		return NULL;
	fs.out[0] = '\0';
	each_token(old_extra, keep_foreign_token, &fs);
	if (fs.used)
		fs.out[fs.used - 1] = '\0';	/* the last word's space */
	return fs.out;
}

int node_extra_format_json(const char *old_extra, double score,
			   enum node_state state, char *out, size_t outlen)
{
	struct json_object *obj = NULL, *v = NULL;
	char num[32], *words = NULL;
	const char *text;
	size_t len;
	int rv = -1;

	if (!outlen)
		return -1;
	out[0] = '\0';
	if (!valid_ours(score, state))
		return -1;
	if (looks_like_json(old_extra))
		obj = json_object_of(old_extra);
	if (!obj) {
		obj = json_object_new_object();
		words = foreign_words(old_extra);
		if (!obj || !words)
			goto fail;
		if (*words && (!(v = json_object_new_string(words)) ||
			       json_object_object_add(obj, KEY_COMMENT, v))) {
			json_object_put(v);
			goto fail;
		}
	}
	/* one decimal, as the tokens; the number is the text that is written */
	snprintf(num, sizeof(num), "%.1f", score);
	if (!(v = json_object_new_double_s(strtod(num, NULL), num)) ||
	    json_object_object_add(obj, KEY_SCORE, v)) {
		json_object_put(v);
		goto fail;
	}
	if (!(v = json_object_new_string(node_state_name(state))) ||
	    json_object_object_add(obj, KEY_STATE, v)) {
		json_object_put(v);
		goto fail;
	}
	text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!text || len + 1 > outlen)
		goto fail;
	memcpy(out, text, len + 1);
	rv = (int)len;
fail:
	json_object_put(obj);
	free(words);
	return rv;
}

bool sched_params_have_extra_constraints(const char *sched_params)
{
	static const char item[] = "extra_constraints";
	const char *p = sched_params;

	while (p && *p) {
		const char *start = p, *end = p + strcspn(p, ",");

		p = *end ? end + 1 : end;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		/* slurmctld reads SchedulerParameters without regard to case */
		if ((size_t)(end - start) == sizeof(item) - 1 &&
		    !strncasecmp(start, item, sizeof(item) - 1))
			return true;
	}
	return false;
}
