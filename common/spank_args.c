/*
 * spank_args.c - see spank_args.h.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "spank_args.h"

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "--NAME=ARG: why; allowed: MIN..MAX" for an integer option. */
static int parse_count(const char *name, const char *arg, long min, long max,
		       const char *allowed, long *out, char *err, size_t errlen)
{
	char why[128];

	if (conf_parse_long(arg, LONG_MIN, LONG_MAX, out, why, sizeof(why))) {
		set_err(err, errlen, "--%s=%s: not an integer; allowed: %s",
			name, arg ? arg : "", allowed);
		return -1;
	}
	if (*out < min || *out > max) {
		set_err(err, errlen, "--%s=%s: out of range; allowed: %s",
			name, arg, allowed);
		return -1;
	}
	return 0;
}

int spank_set_replicas(struct spank_request *r, const char *arg,
		       char *err, size_t errlen)
{
	long v;

	if (parse_count("replicas", arg, SPANK_REPLICAS_MIN, SPANK_REPLICAS_MAX,
			"2..16", &v, err, errlen))
		return -1;
	r->replicas = (unsigned)v;
	return 0;
}

int spank_set_quorum(struct spank_request *r, const char *arg,
		     char *err, size_t errlen)
{
	long v;

	if (parse_count("quorum", arg, 1, SPANK_REPLICAS_MAX,
			"1..N (N from --replicas)", &v, err, errlen))
		return -1;
	r->quorum = (unsigned)v;
	return 0;
}

int spank_set_verify(struct spank_request *r, const char *arg,
		     char *err, size_t errlen)
{
	unsigned paths = 0;
	const char *p;
	char *copy;

	if (!arg || !*arg) {
		set_err(err, errlen,
			"--verify: empty value; allowed: stdout or PATH[,PATH...]");
		return -1;
	}
	if (strcmp(arg, "stdout") != 0) {
		for (p = arg;; p++) {
			const char *start = p;

			while (*p && *p != ',')
				p++;
			if (p == start) {
				set_err(err, errlen,
					"--verify=%s: empty path; allowed: stdout or PATH[,PATH...]",
					arg);
				return -1;
			}
			if ((size_t)(p - start) == 6 && !strncmp(start, "stdout", 6)) {
				set_err(err, errlen,
					"--verify=%s: stdout cannot be combined with paths (write ./stdout for a file of that name)",
					arg);
				return -1;
			}
			if ((size_t)(p - start) >= PATH_MAX) {
				set_err(err, errlen,
					"--verify: a path is longer than %d bytes",
					PATH_MAX - 1);
				return -1;
			}
			for (const char *q = start; q < p; q++) {
				if (*q != '%')
					continue;
				if (q + 1 < p && (q[1] == 'r' || q[1] == 'p' || q[1] == '%')) {
					q++;
					continue;
				}
				set_err(err, errlen,
					"--verify=%s: unknown %%%.1s in a path; allowed: %%r (replica), %%p (part), %%%% (a %%)",
					arg, q + 1 < p ? q + 1 : "");
				return -1;
			}
			if (++paths > SPANK_VERIFY_MAX_PATHS) {
				set_err(err, errlen,
					"--verify=%s: more than %d paths", arg,
					SPANK_VERIFY_MAX_PATHS);
				return -1;
			}
			if (!*p)
				break;
		}
	}
	copy = strdup(arg);
	if (!copy) {
		set_err(err, errlen, "--verify: out of memory");
		return -1;
	}
	free(r->verify);
	r->verify = copy;
	return 0;
}

int spank_set_tolerance(struct spank_request *r, const char *arg,
			char *err, size_t errlen)
{
	char why[128];
	double v;

	if (conf_parse_double(arg, -HUGE_VAL, HUGE_VAL, &v, why, sizeof(why))) {
		set_err(err, errlen,
			"--verify-tolerance=%s: not a number; allowed: a relative tolerance 0..1",
			arg ? arg : "");
		return -1;
	}
	if (v < 0.0 || v > 1.0) {
		set_err(err, errlen,
			"--verify-tolerance=%s: out of range; allowed: a relative tolerance 0..1",
			arg);
		return -1;
	}
	r->tolerance = v;
	r->has_tolerance = true;
	return 0;
}

int spank_request_finish(struct spank_request *r, char *err, size_t errlen)
{
	if (!r->replicas) {
		const char *given = r->quorum ? "--quorum" :
				    r->verify ? "--verify" :
				    r->has_tolerance ? "--verify-tolerance" : NULL;

		if (given) {
			set_err(err, errlen, "%s needs --replicas=N", given);
			return -1;
		}
		return 0;
	}
	if (!r->quorum)
		r->quorum = r->replicas / 2 + 1;
	if (r->quorum > r->replicas) {
		set_err(err, errlen,
			"--quorum=%u is more than --replicas=%u; allowed: 1..%u",
			r->quorum, r->replicas, r->replicas);
		return -1;
	}
	if (!r->verify) {
		r->verify = strdup("stdout");
		if (!r->verify) {
			set_err(err, errlen, "--verify: out of memory");
			return -1;
		}
	}
	return 0;
}

int spank_check_step_nodes(const struct spank_request *r, unsigned nnodes,
			   char *err, size_t errlen)
{
	if (!r->replicas)
		return 0;
	if (nnodes == 0 || nnodes % r->replicas) {
		set_err(err, errlen,
			"--replicas=%u: the step has %u node%s, not a multiple of %u; use -N with a multiple of %u",
			r->replicas, nnodes, nnodes == 1 ? "" : "s",
			r->replicas, r->replicas);
		return -1;
	}
	return 0;
}

void spank_request_free(struct spank_request *r)
{
	free(r->verify);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------ plugstack.conf -- */

static int parse_server(const char *value, struct spank_config *c,
			char *err, size_t errlen)
{
	const char *colon, *host = value;
	size_t hlen;
	long port;
	char why[128];

	if (value[0] == '[') {		/* [IPv6]:PORT */
		const char *close = strchr(value, ']');

		if (!close || close[1] != ':')
			goto bad;
		host = value + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(value, ':');
		if (!colon || strchr(value, ':') != colon)
			goto bad;
		hlen = (size_t)(colon - value);
	}
	if (hlen == 0)
		goto bad;
	if (conf_parse_long(colon + 1, 1, 65535, &port, why, sizeof(why))) {
		set_err(err, errlen, "server=%s: port %s; allowed: HOST:PORT, PORT 1..65535",
			value, why);
		return -1;
	}
	c->server_host = strndup(host, hlen);
	if (!c->server_host) {
		set_err(err, errlen, "server: out of memory");
		return -1;
	}
	c->server_port = (unsigned)port;
	return 0;
bad:
	set_err(err, errlen, "server=%s: expected HOST:PORT (or [IPv6]:PORT)", value);
	return -1;
}

static int parse_path(const char *key, const char *value, char **out,
		      char *err, size_t errlen)
{
	if (value[0] != '/') {
		set_err(err, errlen, "%s=%s: must be an absolute path", key, value);
		return -1;
	}
	if (strlen(value) >= PATH_MAX) {
		set_err(err, errlen, "%s: path longer than %d bytes", key,
			PATH_MAX - 1);
		return -1;
	}
	*out = strdup(value);
	if (!*out) {
		set_err(err, errlen, "%s: out of memory", key);
		return -1;
	}
	return 0;
}

static int parse_range(const char *key, const char *value, bool bytes,
		       long min, long max, long *out, char *err, size_t errlen)
{
	char why[128];
	int rc;

	rc = bytes ? conf_parse_bytes(value, out, why, sizeof(why)) :
		     conf_parse_seconds(value, out, why, sizeof(why));
	if (rc) {
		set_err(err, errlen, "%s=%s: %s", key, value, why);
		return -1;
	}
	if (*out < min || *out > max) {
		set_err(err, errlen, "%s=%s: out of range; allowed: %ld..%ld%s",
			key, value, min, max, bytes ? " bytes" : " seconds");
		return -1;
	}
	return 0;
}

#define CONFIG_KEYS "server, spool, max_output, timeout, wait, munge_socket"

int spank_config_parse(int argc, char *const *argv, struct spank_config *c,
		       char *err, size_t errlen)
{
	enum { K_SERVER, K_SPOOL, K_MAX_OUTPUT, K_TIMEOUT, K_WAIT, K_MUNGE, K_N };
	static const char *const names[K_N] = {
		"server", "spool", "max_output", "timeout", "wait", "munge_socket",
	};
	bool seen[K_N] = { false };
	int rv = -1;

	memset(c, 0, sizeof(*c));
	c->max_output = 16L * 1024 * 1024;
	c->timeout = 10;
	c->wait = 300;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		const char *value;
		size_t klen;
		int k;

		if (!eq || eq == arg) {
			set_err(err, errlen,
				"argument '%s' is not key=value (keys: " CONFIG_KEYS ")",
				arg);
			goto fail;
		}
		klen = (size_t)(eq - arg);
		value = eq + 1;
		for (k = 0; k < K_N; k++) {
			if (strlen(names[k]) == klen && !strncmp(arg, names[k], klen))
				break;
		}
		if (k == K_N) {
			set_err(err, errlen, "unknown argument '%.*s' (keys: " CONFIG_KEYS ")",
				(int)klen, arg);
			goto fail;
		}
		if (seen[k]) {
			set_err(err, errlen, "argument %s given twice", names[k]);
			goto fail;
		}
		seen[k] = true;
		if (!*value) {
			set_err(err, errlen, "%s= has no value", names[k]);
			goto fail;
		}
		switch (k) {
		case K_SERVER:
			if (parse_server(value, c, err, errlen))
				goto fail;
			break;
		case K_SPOOL:
			if (parse_path(names[k], value, &c->spool, err, errlen))
				goto fail;
			break;
		case K_MUNGE:
			if (parse_path(names[k], value, &c->munge_socket, err,
				       errlen))
				goto fail;
			break;
		case K_MAX_OUTPUT:
			if (parse_range(names[k], value, true, 1024,
					1024L * 1024 * 1024, &c->max_output,
					err, errlen))
				goto fail;
			break;
		case K_TIMEOUT:
			if (parse_range(names[k], value, false, 1, 3600,
					&c->timeout, err, errlen))
				goto fail;
			break;
		case K_WAIT:
			if (parse_range(names[k], value, false, 0, 7 * 86400,
					&c->wait, err, errlen))
				goto fail;
			break;
		}
	}
	if (!c->spool && !(c->spool = strdup(SPANK_DEFAULT_SPOOL)))
		goto oom;
	if (!c->munge_socket && !(c->munge_socket = strdup(SPANK_DEFAULT_MUNGE)))
		goto oom;
	rv = 0;
	return rv;
oom:
	set_err(err, errlen, "out of memory");
fail:
	spank_config_free(c);
	return rv;
}

void spank_config_free(struct spank_config *c)
{
	free(c->server_host);
	free(c->spool);
	free(c->munge_socket);
	memset(c, 0, sizeof(*c));
}
