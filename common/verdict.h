/*
 * verdict.h - k-of-n verification of one job step's replicas: the rules,
 * as pure functions over a plain struct (no I/O, no clock, no logging).
 *
 * A step has N replicas (0..N-1), each made of P parts (the tasks of its
 * replica group).  A replica is complete when all its parts are in.  Two
 * replicas agree when, part by part, their exit statuses are equal and
 * their results match: the same SHA-256 (exact mode) or, in numeric mode,
 * outputs equal number by number within a relative tolerance (parts
 * without an output fall back to their SHA-256).
 *
 * ACCEPTED once K complete replicas agree with one of them, the canonical
 * replica (the earliest to complete among those that reach K); REJECTED
 * once no replica can reach K agreeing ones even if every outstanding
 * replica agreed.  Outcomes per replica: AGREE / DISAGREE with the
 * canonical result (every replica of a REJECTED step DISAGREEs: none could
 * be verified), MISSING when the step was settled without it.  Once set, a
 * verdict and an outcome never change; a replica that completes after the
 * verdict (a late one) is compared with the canonical result then.
 */
#ifndef QUORATE_VERDICT_H
#define QUORATE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qmsg.h"

enum verdict_state {
	VERDICT_PENDING = 0,
	VERDICT_ACCEPTED,
	VERDICT_REJECTED,
};

enum replica_outcome {
	OUTCOME_NONE = 0,	/* not decided yet */
	OUTCOME_AGREE,
	OUTCOME_DISAGREE,
	OUTCOME_MISSING,
};

struct vpart {
	bool present;
	uint8_t sha256[32];
	int exit_status;
	char node[QMSG_NAME_MAX];
	char *output;		/* numeric mode only: the part's output, or NULL */
	size_t output_len;
};

struct vreplica {
	int parts_in;
	bool complete;		/* every part in */
	bool missing;		/* settled without it (final, even if it comes later) */
	enum replica_outcome outcome;
	int order;		/* 1, 2, ... in order of completion; 0 = not complete */
	struct vpart *parts;	/* [parts] */
};

struct vstep {
	int replicas, quorum, parts;
	enum verify_mode mode;
	double tolerance;
	enum verdict_state verdict;
	int canonical;		/* replica index when ACCEPTED, else -1 */
	int completed;		/* replicas completed (counting late ones) */
	int agree, disagree, missing;	/* outcomes so far */
	bool settled;		/* every replica complete or missing */
	struct vreplica *r;	/* [replicas] */
};

/* An outcome that vstep_decide() or vstep_settle() just assigned. */
struct vstep_change {
	int replica;
	enum replica_outcome outcome;
};

enum vstep_add_status {
	VSTEP_ADDED = 0,
	VSTEP_DUPLICATE,	/* the same part with the same content: nothing changes */
	VSTEP_CONFLICT,		/* the same part with other content, or a bad index */
	VSTEP_NO_MEMORY,
};

const char *verdict_state_name(enum verdict_state v);
int verdict_state_parse(const char *s, enum verdict_state *out);
const char *replica_outcome_name(enum replica_outcome o);
int replica_outcome_parse(const char *s, enum replica_outcome *out);

/* 0, or -1 for bad shape (1 <= quorum <= replicas <= QMSG_MAX_REPLICAS,
 * 1 <= parts <= QMSG_MAX_PARTS) or out of memory. */
int vstep_init(struct vstep *s, int replicas, int quorum, int parts,
	       enum verify_mode mode, double tolerance);
void vstep_free(struct vstep *s);

/* Whether a report's N, K, P, mode and tolerance are the step's. */
bool vstep_same_shape(const struct vstep *s, int replicas, int quorum,
		      int parts, enum verify_mode mode, double tolerance);

/* Record one part.  *completed tells whether its replica just became
 * complete (then call vstep_decide()).  output may be NULL; it is copied in
 * numeric mode only. */
enum vstep_add_status vstep_add_part(struct vstep *s, int replica, int part,
				     const uint8_t sha256[32], int exit_status,
				     const char *node, const char *output,
				     size_t output_len, bool *completed);

/* Decide what can be decided now.  changes must hold s->replicas entries;
 * *n is set to the number of outcomes assigned.  Returns whether the
 * verdict changed (PENDING to ACCEPTED or REJECTED). */
bool vstep_decide(struct vstep *s, struct vstep_change *changes, size_t *n);

/* The grace period is over: every incomplete replica becomes MISSING and
 * the step is decided for good.  Same outputs as vstep_decide(). */
bool vstep_settle(struct vstep *s, struct vstep_change *changes, size_t *n);

/* Rebuild a stored step: after its parts were added again in the order
 * they were reported, set the verdict and the outcomes as they were
 * decided (no new decision is taken). */
void vstep_restore(struct vstep *s, enum verdict_state verdict, int canonical,
		   const enum replica_outcome *outcomes);

bool vstep_replicas_agree(const struct vstep *s, int a, int b);

/* SHA-256 over the replica's parts (sha256 then exit status, big-endian,
 * in part order): the digest of a replica's result. */
int vstep_replica_digest(const struct vstep *s, int replica, uint8_t out[32]);

/* Numeric comparison of two outputs: the text between numbers must be
 * identical (a run of blanks matches any run of blanks), numbers a and b
 * must satisfy |a - b| <= tolerance * max(|a|, |b|). */
bool numeric_outputs_match(const char *a, size_t alen,
			   const char *b, size_t blen, double tolerance);

#endif
