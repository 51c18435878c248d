/*
 * qmsg.c - see qmsg.h and doc/protocol.md.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "hash.h"
#include "qmsg.h"

#define JSON_MAX_DEPTH 8

static const char *const type_names[] = {
	[QMSG_NONE] = "none",
	[QMSG_REPLICA_RESULT] = "replica_result",
	[QMSG_CONTRIBUTION] = "contribution",
	[QMSG_BATCH] = "batch",
	[QMSG_VERDICT_QUERY] = "verdict_query",
	[QMSG_REPUTATION_QUERY] = "reputation_query",
	[QMSG_EVENTS_QUERY] = "events_query",
	[QMSG_HEALTH] = "health",
	[QMSG_NODE_ADMIN] = "node_admin",
	[QMSG_NODE_FAIL] = "node_fail",
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *qmsg_type_name(enum qmsg_type type)
{
	return (size_t)type < NTYPES ? type_names[type] : "unknown";
}

static enum qmsg_type type_parse(const char *s)
{
	for (size_t i = 1; i < NTYPES; i++)
		if (!strcmp(s, type_names[i]))
			return (enum qmsg_type)i;
	return QMSG_NONE;
}

const char *verify_mode_name(enum verify_mode mode)
{
	return mode == VERIFY_NUMERIC ? "numeric" : "exact";
}

/* Error codes and whether a sender should retry (doc/protocol.md). */
static const struct {
	const char *code;
	bool transient;
} error_codes[] = {
	{ "malformed", false },
	{ "unsupported_version", false },
	{ "too_large", false },
	{ "bad_credential", false },
	{ "replayed", false },
	{ "expired", true },
	{ "rewound", true },
	{ "unauthorized", false },
	{ "forbidden", false },
	{ "conflict", false },
	{ "internal", false },
	{ "retry_later", true },
};

bool qmsg_code_is_transient(const char *code)
{
	for (size_t i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
		if (!strcmp(code, error_codes[i].code))
			return error_codes[i].transient;
	return false;
}

bool qmsg_code_is_known(const char *code)
{
	for (size_t i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
		if (!strcmp(code, error_codes[i].code))
			return true;
	return false;
}

static bool valid_name(const char *s, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n >= QMSG_NAME_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
			return false;
	return true;
}

bool qmsg_valid_cluster(const char *s)
{
	return valid_name(s, "_-");
}

bool qmsg_valid_node(const char *s)
{
	return valid_name(s, "._-");
}

/* ------------------------------------------------------------ base64 -- */

char *qmsg_b64_encode(const void *data, size_t len)
{
	size_t outlen = 4 * ((len + 2) / 3) + 1;
	char *out;

	if (len > (size_t)0x3fffffff)
		return NULL;
	out = malloc(outlen);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int qmsg_b64_decode(const char *s, char **out, size_t *outlen)
{
	size_t n = strlen(s), pad = 0;
	char *buf;
	int got;

	*out = NULL;
	*outlen = 0;
	if (n % 4 || n > (size_t)0x3fffffff)
		return -1;
	if (n >= 1 && s[n - 1] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=')
		pad++;
	if (pad == 1 && n >= 2 && s[n - 2] == '=')
		return -1;
	for (size_t i = 0; i < n - pad; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '+' && c != '/')
			return -1;
	}
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -1;
	got = n ? EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)s, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(buf);
		return -1;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	*outlen = (size_t)got - pad;
	buf[*outlen] = '\0';
	*out = buf;
	return 0;
}

/* ------------------------------------------------------------ parsing -- */

json_object *qmsg_parse_object(const char *text, size_t len,
			       char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *obj;
	size_t end;

	if (len > (size_t)0x7fffffff) {
		snprintf(err, errlen, "message too long");
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "NUL byte in the JSON text");
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		snprintf(err, errlen, "not JSON: %s",
			 e == json_tokener_continue ? "unexpected end of input" :
			 json_tokener_error_desc(e));
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && isspace((unsigned char)text[end]))
		end++;
	if (end != len) {
		snprintf(err, errlen, "trailing bytes after the JSON object");
		json_object_put(obj);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "not a JSON object");
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

int qmsg_parse_request(const char *text, size_t len, json_object **obj,
		       enum qmsg_type *type, const char **code,
		       char *err, size_t errlen)
{
	json_object *o, *v, *t;

	*obj = NULL;
	*type = QMSG_NONE;
	*code = "malformed";
	o = qmsg_parse_object(text, len, err, errlen);
	if (!o)
		return -1;
	if (!json_object_object_get_ex(o, "v", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "v: missing or not an integer");
		goto fail;
	}
	if (json_object_get_int64(v) != QMSG_VERSION) {
		snprintf(err, errlen, "v: version %lld is not supported (this quorate speaks %d)",
			 (long long)json_object_get_int64(v), QMSG_VERSION);
		*code = "unsupported_version";
		goto fail;
	}
	if (!json_object_object_get_ex(o, "type", &t) ||
	    !json_object_is_type(t, json_type_string)) {
		snprintf(err, errlen, "type: missing or not a string");
		goto fail;
	}
	*type = type_parse(json_object_get_string(t));
	if (*type == QMSG_NONE) {
		snprintf(err, errlen, "type: unknown message type '%.40s'",
			 json_object_get_string(t));
		goto fail;
	}
	*obj = o;
	return 0;
fail:
	json_object_put(o);
	return -1;
}

/* Every key of o must be in allowed (NULL-terminated). */
static int check_keys(json_object *o, const char *const *allowed,
		      char *err, size_t errlen)
{
	json_object_object_foreach(o, key, val) {
		const char *const *a;

		(void)val;
		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a) {
			snprintf(err, errlen, "%.40s: unknown field", key);
			return -1;
		}
	}
	return 0;
}

/* Field getters: 1 if present and set, 0 if absent (and not required),
 * -1 with err otherwise. */
static int get_int(json_object *o, const char *name, bool required,
		   int64_t min, int64_t max, int64_t *out,
		   char *err, size_t errlen)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing", name);
		return -1;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s: not an integer", name);
		return -1;
	}
	errno = 0;
	x = json_object_get_int64(v);
	if (x < min || x > max || errno) {
		snprintf(err, errlen, "%s: %lld is out of range (%lld..%lld)", name,
			 (long long)x, (long long)min, (long long)max);
		return -1;
	}
	*out = x;
	return 1;
}

static int get_double(json_object *o, const char *name, bool required,
		      double min, double max, double *out,
		      char *err, size_t errlen)
{
	json_object *v;
	double x;

	if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing", name);
		return -1;
	}
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)) {
		snprintf(err, errlen, "%s: not a number", name);
		return -1;
	}
	x = json_object_get_double(v);
	if (!isfinite(x) || x < min || x > max) {
		snprintf(err, errlen, "%s: %g is out of range (%g..%g)", name, x, min, max);
		return -1;
	}
	*out = x;
	return 1;
}

static int get_bool(json_object *o, const char *name, bool *out,
		    char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "%s: not true or false", name);
		return -1;
	}
	*out = json_object_get_boolean(v);
	return 1;
}

static const char *get_string_raw(json_object *o, const char *name,
				  bool required, char *err, size_t errlen,
				  int *rc)
{
	json_object *v;

	*rc = 0;
	if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null)) {
		if (required) {
			snprintf(err, errlen, "%s: missing", name);
			*rc = -1;
		}
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "%s: not a string", name);
		*rc = -1;
		return NULL;
	}
	*rc = 1;
	return json_object_get_string(v);
}

static int get_name(json_object *o, const char *name, bool required,
		    bool (*valid)(const char *), char *out,
		    char *err, size_t errlen)
{
	int rc;
	const char *s = get_string_raw(o, name, required, err, errlen, &rc);

	out[0] = '\0';
	if (rc <= 0)
		return rc;
	if (!valid(s)) {
		snprintf(err, errlen, "%s: '%.64s' is not a valid name", name, s);
		return -1;
	}
	snprintf(out, QMSG_NAME_MAX, "%s", s);
	return 1;
}

#define STEP_MAX 0xffffffffLL	/* Slurm's step ids are uint32_t (batch, extern: special values) */
#define JOB_MAX 0xffffffffLL

static const char *const result_keys[] = {
	"v", "type", "cluster", "job", "step", "replica", "replicas", "quorum",
	"part", "parts", "node", "site", "uid", "sha256", "exit_status",
	"runtime", "mode", "tolerance", "output_b64", "layout", NULL
};

static int parse_layout(json_object *o, struct qmsg_result *r,
			char *err, size_t errlen)
{
	json_object *v;
	size_t n;

	if (!json_object_object_get_ex(o, "layout", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array)) {
		snprintf(err, errlen, "layout: not an array");
		return -1;
	}
	n = json_object_array_length(v);
	if (n != (size_t)r->replicas) {
		snprintf(err, errlen, "layout: %zu entries for %d replicas", n, r->replicas);
		return -1;
	}
	r->layout = calloc(n, sizeof(char *));
	if (!r->layout) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		const char *s;
		char *copy, *tok, *save = NULL;

		if (!json_object_is_type(e, json_type_string)) {
			snprintf(err, errlen, "layout[%zu]: not a string", i);
			return -1;
		}
		s = json_object_get_string(e);
		if (!*s || strlen(s) > 4096) {
			snprintf(err, errlen, "layout[%zu]: empty or too long", i);
			return -1;
		}
		r->layout[i] = strdup(s);
		copy = strdup(s);
		if (!r->layout[i] || !copy) {
			free(copy);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (!qmsg_valid_node(tok)) {
				snprintf(err, errlen, "layout[%zu]: '%.64s' is not a node name", i, tok);
				free(copy);
				return -1;
			}
		}
		free(copy);
		if (s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,")) {
			snprintf(err, errlen, "layout[%zu]: empty node name", i);
			return -1;
		}
	}
	return 0;
}

int qmsg_result_from_json(json_object *o, struct qmsg_result *r,
			  char *err, size_t errlen)
{
	int64_t x;
	const char *s;
	int rc;

	memset(r, 0, sizeof(*r));
	if (check_keys(o, result_keys, err, errlen) ||
	    get_name(o, "cluster", false, qmsg_valid_cluster, r->cluster, err, errlen) < 0 ||
	    get_int(o, "job", true, 1, JOB_MAX, &r->job, err, errlen) < 0 ||
	    get_int(o, "step", true, 0, STEP_MAX, &r->step, err, errlen) < 0)
		goto fail;
	if (get_int(o, "replicas", true, 1, QMSG_MAX_REPLICAS, &x, err, errlen) < 0)
		goto fail;
	r->replicas = (int)x;
	if (get_int(o, "replica", true, 0, r->replicas - 1, &x, err, errlen) < 0)
		goto fail;
	r->replica = (int)x;
	if (get_int(o, "quorum", true, 1, r->replicas, &x, err, errlen) < 0)
		goto fail;
	r->quorum = (int)x;
	x = 1;
	if (get_int(o, "parts", false, 1, QMSG_MAX_PARTS, &x, err, errlen) < 0)
		goto fail;
	r->parts = (int)x;
	x = 0;
	if (get_int(o, "part", false, 0, r->parts - 1, &x, err, errlen) < 0)
		goto fail;
	r->part = (int)x;
	if (get_name(o, "node", true, qmsg_valid_node, r->node, err, errlen) < 0 ||
	    get_name(o, "site", false, qmsg_valid_node, r->site, err, errlen) < 0 ||
	    get_int(o, "uid", true, 0, 0xfffffffeLL, &r->uid, err, errlen) < 0)
		goto fail;
	s = get_string_raw(o, "sha256", true, err, errlen, &rc);
	if (rc < 0)
		goto fail;
	if (strlen(s) != 64 || hex_decode(s, r->sha256, sizeof(r->sha256))) {
		snprintf(err, errlen, "sha256: not 64 hex digits");
		goto fail;
	}
	if (get_int(o, "exit_status", true, -65535, 65535, &x, err, errlen) < 0)
		goto fail;
	r->exit_status = (int)x;
	if (get_double(o, "runtime", false, 0, 1e9, &r->runtime, err, errlen) < 0)
		goto fail;
	s = get_string_raw(o, "mode", false, err, errlen, &rc);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		if (!strcmp(s, "exact"))
			r->mode = VERIFY_EXACT;
		else if (!strcmp(s, "numeric"))
			r->mode = VERIFY_NUMERIC;
		else {
			snprintf(err, errlen, "mode: '%.20s' is not exact or numeric", s);
			goto fail;
		}
	}
	rc = get_double(o, "tolerance", false, 0, 1, &r->tolerance, err, errlen);
	if (rc < 0)
		goto fail;
	if (rc > 0 && r->mode != VERIFY_NUMERIC) {
		snprintf(err, errlen, "tolerance: only with mode numeric");
		goto fail;
	}
	s = get_string_raw(o, "output_b64", false, err, errlen, &rc);
	if (rc < 0)
		goto fail;
	if (rc > 0 && qmsg_b64_decode(s, &r->output, &r->output_len)) {
		snprintf(err, errlen, "output_b64: not base64");
		goto fail;
	}
	if (parse_layout(o, r, err, errlen))
		goto fail;
	return 0;
fail:
	qmsg_result_free(r);
	return -1;
}

int qmsg_result_check(const struct qmsg_result *r, char *err, size_t errlen)
{
#define RANGE(name, v, lo, hi) \
	if ((v) < (lo) || (v) > (hi)) { \
		snprintf(err, errlen, "%s: %lld is out of range (%lld..%lld)", name, \
			 (long long)(v), (long long)(lo), (long long)(hi)); \
		return -1; \
	}
	if (r->cluster[0] && !qmsg_valid_cluster(r->cluster)) {
		snprintf(err, errlen, "cluster: '%.64s' is not a valid name", r->cluster);
		return -1;
	}
	RANGE("job", r->job, 1, JOB_MAX);
	RANGE("step", r->step, 0, STEP_MAX);
	RANGE("replicas", r->replicas, 1, QMSG_MAX_REPLICAS);
	RANGE("replica", r->replica, 0, r->replicas - 1);
	RANGE("quorum", r->quorum, 1, r->replicas);
	RANGE("parts", r->parts, 1, QMSG_MAX_PARTS);
	RANGE("part", r->part, 0, r->parts - 1);
	if (!qmsg_valid_node(r->node)) {
		snprintf(err, errlen, "node: '%.64s' is not a valid name", r->node);
		return -1;
	}
	if (r->site[0] && !qmsg_valid_node(r->site)) {
		snprintf(err, errlen, "site: '%.64s' is not a valid name", r->site);
		return -1;
	}
	RANGE("uid", r->uid, 0, 0xfffffffeLL);
	RANGE("exit_status", r->exit_status, -65535, 65535);
	if (!isfinite(r->runtime) || r->runtime < 0 || r->runtime > 1e9) {
		snprintf(err, errlen, "runtime: %g is out of range (0..1e+09)", r->runtime);
		return -1;
	}
	if (r->mode != VERIFY_EXACT && r->mode != VERIFY_NUMERIC) {
		snprintf(err, errlen, "mode: not exact or numeric");
		return -1;
	}
	if (!isfinite(r->tolerance) || r->tolerance < 0 || r->tolerance > 1 ||
	    (r->mode != VERIFY_NUMERIC && r->tolerance != 0)) {
		snprintf(err, errlen, "tolerance: %g is out of range (0..1, numeric mode only)", r->tolerance);
		return -1;
	}
	if (r->layout) {
		for (int i = 0; i < r->replicas; i++) {
			const char *l = r->layout[i], *p;

			if (!l || !*l || strlen(l) > 4096 || *l == ',' || l[strlen(l) - 1] == ',' ||
			    strstr(l, ",,")) {
				snprintf(err, errlen, "layout[%d]: empty, too long or an empty node name", i);
				return -1;
			}
			for (p = l; *p; p++) {
				if (!isalnum((unsigned char)*p) && !strchr("._-,", *p)) {
					snprintf(err, errlen, "layout[%d]: '%.64s' is not a node list", i, l);
					return -1;
				}
			}
			/* Each name 1..63 characters. */
			for (p = l; *p;) {
				size_t n = strcspn(p, ",");

				if (n >= QMSG_NAME_MAX) {
					snprintf(err, errlen, "layout[%d]: a node name is too long", i);
					return -1;
				}
				p += n;
				if (*p)
					p++;
			}
		}
	}
	return 0;
#undef RANGE
}

void qmsg_result_free(struct qmsg_result *r)
{
	free(r->output);
	r->output = NULL;
	r->output_len = 0;
	if (r->layout) {
		for (int i = 0; i < r->replicas; i++)
			free(r->layout[i]);
		free(r->layout);
		r->layout = NULL;
	}
}

static const char *const contribution_keys[] = {
	"v", "type", "cluster", "job", "step", "rank", "node", "compute_seconds",
	"samples", "gradients_accepted", "gradients_rejected", NULL
};

int qmsg_contribution_from_json(json_object *o, struct qmsg_contribution *c,
				char *err, size_t errlen)
{
	int64_t x;

	memset(c, 0, sizeof(*c));
	if (check_keys(o, contribution_keys, err, errlen) ||
	    get_name(o, "cluster", false, qmsg_valid_cluster, c->cluster, err, errlen) < 0 ||
	    get_int(o, "job", true, 1, JOB_MAX, &c->job, err, errlen) < 0 ||
	    get_int(o, "step", true, 0, STEP_MAX, &c->step, err, errlen) < 0 ||
	    get_int(o, "rank", true, 0, 1 << 24, &x, err, errlen) < 0)
		return -1;
	c->rank = (int)x;
	if (get_name(o, "node", true, qmsg_valid_node, c->node, err, errlen) < 0 ||
	    get_double(o, "compute_seconds", true, 0, 1e12, &c->compute_seconds, err, errlen) < 0 ||
	    get_int(o, "samples", true, 0, INT64_MAX, &c->samples, err, errlen) < 0 ||
	    get_int(o, "gradients_accepted", false, 0, INT64_MAX, &c->gradients_accepted, err, errlen) < 0 ||
	    get_int(o, "gradients_rejected", false, 0, INT64_MAX, &c->gradients_rejected, err, errlen) < 0)
		return -1;
	return 0;
}

static const char *const verdict_query_keys[] = {
	"v", "type", "cluster", "job", "step", "wait", "output", NULL
};

int qmsg_verdict_query_from_json(json_object *o, struct qmsg_verdict_query *q,
				 char *err, size_t errlen)
{
	int64_t x = 0;

	memset(q, 0, sizeof(*q));
	q->output = true;
	if (check_keys(o, verdict_query_keys, err, errlen) ||
	    get_name(o, "cluster", false, qmsg_valid_cluster, q->cluster, err, errlen) < 0 ||
	    get_int(o, "job", true, 1, JOB_MAX, &q->job, err, errlen) < 0 ||
	    get_int(o, "step", true, 0, STEP_MAX, &q->step, err, errlen) < 0 ||
	    get_int(o, "wait", false, 0, QMSG_MAX_WAIT, &x, err, errlen) < 0 ||
	    get_bool(o, "output", &q->output, err, errlen) < 0)
		return -1;
	q->wait = (int)x;
	return 0;
}

static const char *const reputation_query_keys[] = {
	"v", "type", "cluster", "node", NULL
};

int qmsg_reputation_query_from_json(json_object *o,
				    struct qmsg_reputation_query *q,
				    char *err, size_t errlen)
{
	memset(q, 0, sizeof(*q));
	if (check_keys(o, reputation_query_keys, err, errlen) ||
	    get_name(o, "cluster", false, qmsg_valid_cluster, q->cluster, err, errlen) < 0 ||
	    get_name(o, "node", false, qmsg_valid_node, q->node, err, errlen) < 0)
		return -1;
	return 0;
}

static const char *const events_query_keys[] = {
	"v", "type", "cluster", "node", "limit", NULL
};

int qmsg_events_query_from_json(json_object *o, struct qmsg_events_query *q,
				char *err, size_t errlen)
{
	int64_t x = 50;

	memset(q, 0, sizeof(*q));
	if (check_keys(o, events_query_keys, err, errlen) ||
	    get_name(o, "cluster", false, qmsg_valid_cluster, q->cluster, err, errlen) < 0 ||
	    get_name(o, "node", true, qmsg_valid_node, q->node, err, errlen) < 0 ||
	    get_int(o, "limit", false, 1, QMSG_MAX_EVENTS, &x, err, errlen) < 0)
		return -1;
	q->limit = (int)x;
	return 0;
}

static const char *const node_admin_keys[] = {
	"v", "type", "cluster", "node", "action", "reason", NULL
};

int qmsg_check_text(const char *s, size_t max, char *err, size_t errlen)
{
	size_t len = strlen(s);

	if (len == 0 || len >= max) {
		snprintf(err, errlen, "%zu bytes (allowed 1..%zu)", len, max - 1);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "control character at byte %td", (const char *)p - s);
			return -1;
		}
	}
	return 0;
}

static int get_text(json_object *o, const char *name, char *out, size_t max,
		    char *err, size_t errlen)
{
	int rc;
	const char *s = get_string_raw(o, name, true, err, errlen, &rc);
	char why[64];

	if (rc <= 0)
		return -1;
	if (qmsg_check_text(s, max, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int qmsg_node_admin_from_json(json_object *o, struct qmsg_node_admin *a,
			      char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (check_keys(o, node_admin_keys, err, errlen) ||
	    get_name(o, "cluster", false, qmsg_valid_cluster, a->cluster, err, errlen) < 0 ||
	    get_name(o, "node", true, qmsg_valid_node, a->node, err, errlen) < 0 ||
	    get_text(o, "action", a->action, sizeof(a->action), err, errlen) ||
	    get_text(o, "reason", a->reason, sizeof(a->reason), err, errlen))
		return -1;
	return 0;
}

static const char *const node_fail_keys[] = {
	"v", "type", "cluster", "node", "job", "at", "reason", NULL
};

int qmsg_node_fail_from_json(json_object *o, struct qmsg_node_fail *f,
			     char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	if (check_keys(o, node_fail_keys, err, errlen) ||
	    get_name(o, "cluster", false, qmsg_valid_cluster, f->cluster, err, errlen) < 0 ||
	    get_name(o, "node", true, qmsg_valid_node, f->node, err, errlen) < 0 ||
	    get_int(o, "job", true, 1, JOB_MAX, &f->job, err, errlen) < 0 ||
	    get_int(o, "at", true, 1, INT64_C(253402300799), &f->at, err, errlen) < 0 ||
	    get_text(o, "reason", f->reason, sizeof(f->reason), err, errlen))
		return -1;
	return 0;
}

static const char *const batch_keys[] = { "v", "type", "items", NULL };

int qmsg_batch_items(json_object *o, json_object ***items,
		     enum qmsg_type *types, char *err, size_t errlen)
{
	json_object *arr;
	size_t n;

	*items = NULL;
	if (check_keys(o, batch_keys, err, errlen))
		return -1;
	if (!json_object_object_get_ex(o, "items", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "items: missing or not an array");
		return -1;
	}
	n = json_object_array_length(arr);
	if (n < 1 || n > QMSG_MAX_BATCH) {
		snprintf(err, errlen, "items: %zu items (allowed 1..%d)", n, QMSG_MAX_BATCH);
		return -1;
	}
	*items = calloc(n, sizeof(json_object *));
	if (!*items) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(arr, i), *t;
		enum qmsg_type type;

		if (!json_object_is_type(it, json_type_object) ||
		    !json_object_object_get_ex(it, "type", &t) ||
		    !json_object_is_type(t, json_type_string)) {
			snprintf(err, errlen, "items[%zu]: not an object with a type", i);
			goto fail;
		}
		type = type_parse(json_object_get_string(t));
		if (type != QMSG_REPLICA_RESULT && type != QMSG_CONTRIBUTION) {
			snprintf(err, errlen, "items[%zu]: type '%.40s' cannot be batched",
				 i, json_object_get_string(t));
			goto fail;
		}
		(*items)[i] = it;
		types[i] = type;
	}
	return (int)n;
fail:
	free(*items);
	*items = NULL;
	return -1;
}

/* ----------------------------------------------------------- building -- */

json_object *qmsg_new_double(double d)
{
	char buf[40];

	/* With its own text, json-c does not switch locales to print it (a
	 * global lock, taken on every number, in a threaded sender). */
	snprintf(buf, sizeof(buf), "%.17g", isfinite(d) ? d : 0.0);
	return json_object_new_double_s(isfinite(d) ? d : 0.0, buf);
}

/* json_object_object_add with a NULL check on the value. */
static int add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

json_object *qmsg_request_new(enum qmsg_type type)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (add(o, "v", json_object_new_int(QMSG_VERSION)) ||
	    add(o, "type", json_object_new_string(qmsg_type_name(type)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *qmsg_result_to_json(const struct qmsg_result *r)
{
	json_object *o = json_object_new_object();
	char hex[SHA256_HEX_LEN + 1];
	int bad = 0;

	if (!o)
		return NULL;
	hex_encode(r->sha256, sizeof(r->sha256), hex);
	bad |= add(o, "type", json_object_new_string("replica_result"));
	if (r->cluster[0])
		bad |= add(o, "cluster", json_object_new_string(r->cluster));
	bad |= add(o, "job", json_object_new_int64(r->job));
	bad |= add(o, "step", json_object_new_int64(r->step));
	bad |= add(o, "replica", json_object_new_int(r->replica));
	bad |= add(o, "replicas", json_object_new_int(r->replicas));
	bad |= add(o, "quorum", json_object_new_int(r->quorum));
	bad |= add(o, "part", json_object_new_int(r->part));
	bad |= add(o, "parts", json_object_new_int(r->parts > 0 ? r->parts : 1));
	bad |= add(o, "node", json_object_new_string(r->node));
	if (r->site[0])
		bad |= add(o, "site", json_object_new_string(r->site));
	bad |= add(o, "uid", json_object_new_int64(r->uid));
	bad |= add(o, "sha256", json_object_new_string(hex));
	bad |= add(o, "exit_status", json_object_new_int(r->exit_status));
	bad |= add(o, "runtime", qmsg_new_double(r->runtime));
	bad |= add(o, "mode", json_object_new_string(verify_mode_name(r->mode)));
	if (r->mode == VERIFY_NUMERIC)
		bad |= add(o, "tolerance", qmsg_new_double(r->tolerance));
	if (r->output) {
		char *b64 = qmsg_b64_encode(r->output, r->output_len);

		bad |= add(o, "output_b64", b64 ? json_object_new_string(b64) : NULL);
		free(b64);
	}
	if (r->layout) {
		json_object *arr = json_object_new_array();

		bad |= add(o, "layout", arr);
		for (int i = 0; !bad && i < r->replicas; i++) {
			json_object *s = json_object_new_string(r->layout[i] ? r->layout[i] : "");

			if (!s || json_object_array_add(arr, s)) {
				json_object_put(s);
				bad = 1;
			}
		}
	}
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *qmsg_contribution_to_json(const struct qmsg_contribution *c)
{
	json_object *o = json_object_new_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= add(o, "type", json_object_new_string("contribution"));
	if (c->cluster[0])
		bad |= add(o, "cluster", json_object_new_string(c->cluster));
	bad |= add(o, "job", json_object_new_int64(c->job));
	bad |= add(o, "step", json_object_new_int64(c->step));
	bad |= add(o, "rank", json_object_new_int(c->rank));
	bad |= add(o, "node", json_object_new_string(c->node));
	bad |= add(o, "compute_seconds", qmsg_new_double(c->compute_seconds));
	bad |= add(o, "samples", json_object_new_int64(c->samples));
	bad |= add(o, "gradients_accepted", json_object_new_int64(c->gradients_accepted));
	bad |= add(o, "gradients_rejected", json_object_new_int64(c->gradients_rejected));
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *qmsg_response_ok(void)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (add(o, "v", json_object_new_int(QMSG_VERSION)) ||
	    add(o, "status", json_object_new_string("ok"))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *qmsg_response_error(const char *code, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	if (!o)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (add(o, "v", json_object_new_int(QMSG_VERSION)) ||
	    add(o, "status", json_object_new_string("error")) ||
	    add(o, "error", json_object_new_string(code)) ||
	    add(o, "retry", json_object_new_boolean(qmsg_code_is_transient(code))) ||
	    add(o, "message", json_object_new_string(msg))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
