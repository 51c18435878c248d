/*
 * linkemu.h - emulated network links, so that quorate-train's behaviour on
 * slow, lossy or jittery networks can be tested on one machine.  A message
 * of n bytes on an emulated link is held back, before it leaves, by
 *
 *   latency (drawn uniformly from [lat_lo, lat_hi] per message: jitter)
 *   + n / bandwidth
 *   + one round trip (2 x latency) for each 64 KiB window lost (probability
 *     `loss` per window), the time a retransmission costs;
 *
 * applied by the transport wrapper of transport_emu.c.  Links inside a node
 * are left alone unless every link is asked for.  The settings come from a
 * named profile, a schedule of profiles by step (degradation events), and
 * per-link rules from a file.
 */
#ifndef QUORATE_TRAIN_LINKEMU_H
#define QUORATE_TRAIN_LINKEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allreduce.h"
#include "rng.h"
#include "transport.h"

#define LINKEMU_WINDOW 65536
#define LINKEMU_MAX_PHASES 8

struct link_params {
	double lat_lo, lat_hi;		/* one-way latency, seconds */
	double bandwidth;		/* bytes per second; 0: no cap */
	double loss;			/* probability a window needs resending */
};

struct link_rule {
	int src, dst;			/* ranks; -1: any */
	struct link_params p;
};

struct link_emu_config {
	int nphases;			/* profile in force from a step on */
	struct {
		long from_step;
		char name[16];
		struct link_params p;
	} phase[LINKEMU_MAX_PHASES];
	int nrules;			/* per-link rules (a file); the last match wins */
	struct link_rule *rules;
	bool all_links;			/* links inside a node too */
	uint64_t seed;			/* jitter and loss draws */
};

/* The named profiles: perfect, good, average, poor, unstable. */
int link_profile_lookup(const char *name, struct link_params *p);

/* "poor" or "good,poor@500,perfect@900": profiles from the steps given
 * (the first from step 0).  0, or -1 with err naming what is wrong. */
int link_emu_parse_profiles(const char *spec, struct link_emu_config *c,
			    char *err, size_t errlen);

/* Per-link rules, one a line: "SRC DST PROFILE" or "SRC DST key=value..."
 * with keys latency=MS or latency=LO-HI (ms), bandwidth=MBIT (Mbit/s),
 * loss=PERCENT; SRC and DST a rank or '*'; '#' starts a comment.  Errors
 * say FILE:LINE. */
int link_emu_parse_file(const char *path, struct link_emu_config *c,
			char *err, size_t errlen);
int link_emu_parse_buffer(const char *name, const char *text, struct link_emu_config *c,
			  char *err, size_t errlen);

void link_emu_config_free(struct link_emu_config *c);

/* Whether C emulates anything at all. */
bool link_emu_active(const struct link_emu_config *c);

/* The settings of link SRC -> DST at STEP (a rule, else the profile). */
const struct link_params *link_emu_params(const struct link_emu_config *c, int src,
					  int dst, long step);

/* Seconds a message of BYTES is held back under P (draws from r). */
double link_emu_delay(const struct link_params *p, size_t bytes, struct rng *r);

/* A transport that delays INNER's messages as C says.  TOPO tells which
 * links stay inside a node.  Its native all-reduce is withdrawn: MPI's
 * internal messages cannot be delayed. */
struct transport *transport_emu_create(struct transport *inner, const struct topology *topo,
				       const struct link_emu_config *c);
/* Seconds this rank slept in emulated delays so far. */
double transport_emu_delayed(const struct transport *t);

#endif
