/*
 * linkemu.c - see linkemu.h: profiles, rule files, the delay model, and the
 * transport wrapper that applies it.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linkemu.h"

#define MS 1e-3
#define MBIT (1e6 / 8)		/* bytes per second in one Mbit/s */

static const struct {
	const char *name;
	struct link_params p;
} profiles[] = {
	{ "perfect",  { 0, 0, 0, 0 } },
	{ "good",     { 10 * MS, 50 * MS, 1000 * MBIT, 0.001 } },
	{ "average",  { 50 * MS, 150 * MS, 100 * MBIT, 0.01 } },
	{ "poor",     { 150 * MS, 300 * MS, 20 * MBIT, 0.05 } },
	{ "unstable", { 50 * MS, 500 * MS, 50 * MBIT, 0.10 } },
};

int link_profile_lookup(const char *name, struct link_params *p)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (!strcmp(name, profiles[i].name)) {
			*p = profiles[i].p;
			return 0;
		}
	return -1;
}

int link_emu_parse_profiles(const char *spec, struct link_emu_config *c,
			    char *err, size_t errlen)
{
	char buf[256], *save = NULL, *item;
	long last = -1;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "--link-profile: '%s' is too long", spec);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	c->nphases = 0;
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *at = strchr(item, '@'), *end;
		long from = 0;

		if (at) {
			*at = '\0';
			errno = 0;
			from = strtol(at + 1, &end, 10);
			if (errno || end == at + 1 || *end || from < 0) {
				snprintf(err, errlen, "--link-profile: '%s' is not a step number", at + 1);
				return -1;
			}
		}
		if (c->nphases == 0 && from != 0) {
			snprintf(err, errlen, "--link-profile: the first profile starts at step 0, "
				 "not %ld", from);
			return -1;
		}
		if (c->nphases > 0 && from <= last) {
			snprintf(err, errlen, "--link-profile: step %ld does not come after %ld",
				 from, last);
			return -1;
		}
		if (c->nphases == LINKEMU_MAX_PHASES) {
			snprintf(err, errlen, "--link-profile: at most %d profiles", LINKEMU_MAX_PHASES);
			return -1;
		}
		if (link_profile_lookup(item, &c->phase[c->nphases].p)) {
			snprintf(err, errlen, "--link-profile: '%s' is not a profile (allowed: "
				 "perfect, good, average, poor, unstable)", item);
			return -1;
		}
		c->phase[c->nphases].from_step = from;
		snprintf(c->phase[c->nphases].name, sizeof(c->phase[0].name), "%s", item);
		c->nphases++;
		last = from;
	}
	if (c->nphases == 0) {
		snprintf(err, errlen, "--link-profile: empty");
		return -1;
	}
	return 0;
}

static int parse_endpoint(const char *s, int *out)
{
	char *end;
	long v;

	if (!strcmp(s, "*")) {
		*out = -1;
		return 0;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1 << 20)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_number(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*out) || *out < 0 ? -1 : 0;
}

/* key=value settings of one rule line. */
static int parse_setting(char *kv, struct link_params *p, char *why, size_t whylen)
{
	char *eq = strchr(kv, '='), *val;
	double a, b;

	if (!eq) {
		snprintf(why, whylen, "'%s' is neither a profile nor key=value", kv);
		return -1;
	}
	*eq = '\0';
	val = eq + 1;
	if (!strcmp(kv, "latency")) {
		char *dash = strchr(val, '-');

		if (dash)
			*dash = '\0';
		if (parse_number(val, &a) || (dash && parse_number(dash + 1, &b)) || (dash && b < a)) {
			snprintf(why, whylen, "latency: milliseconds, or LO-HI");
			return -1;
		}
		p->lat_lo = a * MS;
		p->lat_hi = (dash ? b : a) * MS;
	} else if (!strcmp(kv, "bandwidth")) {
		if (parse_number(val, &a)) {
			snprintf(why, whylen, "bandwidth: Mbit/s (0: no cap)");
			return -1;
		}
		p->bandwidth = a * MBIT;
	} else if (!strcmp(kv, "loss")) {
		if (parse_number(val, &a) || a > 100) {
			snprintf(why, whylen, "loss: a percentage, 0..100");
			return -1;
		}
		p->loss = a / 100;
	} else {
		snprintf(why, whylen, "unknown key '%s' (allowed: latency, bandwidth, loss)", kv);
		return -1;
	}
	return 0;
}

int link_emu_parse_buffer(const char *name, const char *text, struct link_emu_config *c,
			  char *err, size_t errlen)
{
	char *copy = strdup(text), *line, *save = NULL;
	int lineno = 0, rv = -1;

	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	for (line = copy; line; line = save) {
		char *nl = strchr(line, '\n'), *hash, *tok[16], *tsave = NULL;
		int ntok = 0;
		struct link_rule rule;
		char why[128] = "";
		struct link_rule *grown;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		for (char *t = strtok_r(line, " \t\r", &tsave); t && ntok < 16;
		     t = strtok_r(NULL, " \t\r", &tsave))
			tok[ntok++] = t;
		if (ntok == 0)
			continue;
		memset(&rule, 0, sizeof(rule));
		if (ntok < 3) {
			snprintf(why, sizeof(why), "want SRC DST PROFILE or SRC DST key=value...");
		} else if (parse_endpoint(tok[0], &rule.src) || parse_endpoint(tok[1], &rule.dst)) {
			snprintf(why, sizeof(why), "SRC and DST are ranks or '*'");
		} else if (ntok == 3 && !strchr(tok[2], '=')) {
			if (link_profile_lookup(tok[2], &rule.p))
				snprintf(why, sizeof(why), "'%s' is not a profile (allowed: perfect, "
					 "good, average, poor, unstable)", tok[2]);
		} else {
			for (int i = 2; i < ntok && !*why; i++)
				parse_setting(tok[i], &rule.p, why, sizeof(why));
		}
		if (*why) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			goto out;
		}
		grown = realloc(c->rules, (size_t)(c->nrules + 1) * sizeof(*c->rules));
		if (!grown) {
			snprintf(err, errlen, "%s: out of memory", name);
			goto out;
		}
		c->rules = grown;
		c->rules[c->nrules++] = rule;
	}
	rv = 0;
out:
	free(copy);
	return rv;
}

int link_emu_parse_file(const char *path, struct link_emu_config *c,
			char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;
	int rv = -1;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	text = malloc(1 << 20);
	if (text) {
		len = fread(text, 1, (1 << 20) - 1, f);
		text[len] = '\0';
		if (!ferror(f))
			rv = link_emu_parse_buffer(path, text, c, err, errlen);
		else
			snprintf(err, errlen, "%s: read error", path);
	} else {
		snprintf(err, errlen, "%s: out of memory", path);
	}
	free(text);
	fclose(f);
	return rv;
}

void link_emu_config_free(struct link_emu_config *c)
{
	free(c->rules);
	c->rules = NULL;
	c->nrules = 0;
}

bool link_emu_active(const struct link_emu_config *c)
{
	static const struct link_params none = { 0, 0, 0, 0 };

	if (c->nrules > 0)
		return true;
	for (int i = 0; i < c->nphases; i++)
		if (memcmp(&c->phase[i].p, &none, sizeof(none)))
			return true;
	return false;
}

const struct link_params *link_emu_params(const struct link_emu_config *c, int src,
					  int dst, long step)
{
	static const struct link_params none = { 0, 0, 0, 0 };
	const struct link_params *p = &none;

	for (int i = 0; i < c->nphases; i++)
		if (step >= c->phase[i].from_step)
			p = &c->phase[i].p;
	for (int i = 0; i < c->nrules; i++)
		if ((c->rules[i].src < 0 || c->rules[i].src == src) &&
		    (c->rules[i].dst < 0 || c->rules[i].dst == dst))
			p = &c->rules[i].p;
	return p;
}

double link_emu_delay(const struct link_params *p, size_t bytes, struct rng *r)
{
	double lat = p->lat_lo, delay;
	size_t windows = (bytes + LINKEMU_WINDOW - 1) / LINKEMU_WINDOW;

	if (p->lat_hi > p->lat_lo)
		lat += (p->lat_hi - p->lat_lo) * rng_uniform(r);
	delay = lat;
	if (p->bandwidth > 0)
		delay += (double)bytes / p->bandwidth;
	if (p->loss > 0)
		for (size_t w = 0; w < (windows ? windows : 1); w++)
			if (rng_uniform(r) < p->loss)
				delay += 2 * lat;
	return delay;
}

/* ---- the transport wrapper ---- */

struct emu_transport {
	struct transport base;
	struct transport *inner;
	const struct topology *topo;
	const struct link_emu_config *cfg;
	long step;
	struct rng *rngs;		/* one per destination */
	double delayed;
};

static void sleep_seconds(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int emu_sendrecv(struct transport *t, const void *sbuf, size_t sbytes, int dest,
			void *rbuf, size_t rbytes, int src)
{
	struct emu_transport *e = (struct emu_transport *)t;

	if (dest >= 0 && dest != t->rank &&
	    (e->cfg->all_links || !e->topo || e->topo->node[t->rank] != e->topo->node[dest])) {
		const struct link_params *p = link_emu_params(e->cfg, t->rank, dest, e->step);
		double d = link_emu_delay(p, sbytes, &e->rngs[dest]);

		sleep_seconds(d);
		e->delayed += d;
	}
	return transport_sendrecv(e->inner, sbuf, sbytes, dest, rbuf, rbytes, src);
}

static void emu_set_step(struct transport *t, long step)
{
	((struct emu_transport *)t)->step = step;
}

static void emu_destroy(struct transport *t)
{
	struct emu_transport *e = (struct emu_transport *)t;

	free(e->rngs);
	free(e);
}

static const struct transport_ops emu_ops = {
	.sendrecv = emu_sendrecv,
	.allreduce_native = NULL,
	.destroy = emu_destroy,
	.set_step = emu_set_step,
};

struct transport *transport_emu_create(struct transport *inner, const struct topology *topo,
				       const struct link_emu_config *c)
{
	struct emu_transport *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->rngs = calloc((size_t)inner->size, sizeof(*e->rngs));
	if (!e->rngs) {
		free(e);
		return NULL;
	}
	for (int d = 0; d < inner->size; d++)
		rng_seed(&e->rngs[d], rng_mix(c->seed, (uint64_t)inner->rank << 32 | (uint64_t)d));
	e->base.ops = &emu_ops;
	e->base.rank = inner->rank;
	e->base.size = inner->size;
	e->inner = inner;
	e->topo = topo;
	e->cfg = c;
	return &e->base;
}

double transport_emu_delayed(const struct transport *t)
{
	return t->ops == &emu_ops ? ((const struct emu_transport *)t)->delayed : 0;
}
