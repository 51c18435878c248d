/*
 * qclient.h - talking to quorated: the client library of the SPANK plugin
 * (replica results from slurmstepd, verdicts in srun), the trainer
 * (contributions) and the quorate CLI.  doc/protocol.md describes the wire
 * format this speaks.
 *
 * Every call: connect (or reuse the handle's connection) with a timeout,
 * munge-encode the request through the handle's munge socket, send one
 * frame, read one JSON answer, all before a deadline.  No exit(), no
 * signals (writes use MSG_NOSIGNAL), no logging, no global state; a handle
 * serializes its calls with a mutex, so threads may share one, and
 * separate handles never interact.  Every failure is returned with a class
 * and a message:
 *
 *   QCLIENT_TRANSIENT  try again later: connection refused or reset,
 *                      timeout, munged unavailable, an expired credential,
 *                      quorated says "retry_later" (its database is down),
 *                      an answer that is not quorate's protocol (a wrong
 *                      port?), out of memory.  Spool and retry.
 *   QCLIENT_PERMANENT  retrying the same request cannot help: quorated
 *                      rejected it (unauthorized, forbidden, malformed,
 *                      conflict, replayed, too_large, ...) or the arguments
 *                      are invalid.  Log it and drop it.
 *
 * A request that failed transiently may still have been stored (the answer
 * was lost); sending it again is safe: a repeated replica result or
 * contribution is acknowledged as a duplicate.
 */
#ifndef QUORATE_QCLIENT_H
#define QUORATE_QCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QCLIENT_MAX_BATCH 64		/* results in one credential */

enum qclient_class {
	QCLIENT_OK = 0,
	QCLIENT_TRANSIENT = 1,
	QCLIENT_PERMANENT = 2,
};

struct qclient_error {
	enum qclient_class cls;
	/* quorated's error code (doc/protocol.md), or a local one: "connect",
	 * "timeout", "io", "munge", "protocol", "no_memory" (transient);
	 * "invalid_argument", "too_large" (permanent). */
	char code[32];
	char message[256];
};

struct qclient_options {
	const char *host;		/* quorated's address or host name */
	unsigned port;			/* its ListenPort */
	const char *munge_socket;	/* NULL: munge's default socket */
	int connect_timeout_ms;		/* 0: 3000 */
	int io_timeout_ms;		/* 0: 10000; per request, plus any verdict wait */
	size_t max_frame;		/* 0: 1 MiB (quorated's MaxFrameSize) */
	int credential_ttl;		/* seconds; 0: 60 (quorated keeps each until it expires) */
};

struct qclient;

/* A handle (no connection yet).  NULL with err set on bad options or ENOMEM. */
struct qclient *qclient_new(const struct qclient_options *opts,
			    struct qclient_error *err);
/* Close the connection and free the handle.  NULL is fine. */
void qclient_free(struct qclient *c);
/* Close the connection only; the next call reconnects. */
void qclient_disconnect(struct qclient *c);

/* One part (task) of one replica of a job step. */
struct qclient_result {
	const char *cluster;		/* NULL or "": quorated's own cluster */
	uint32_t job_id, step_id;
	int replica, replicas, quorum;	/* 0..N-1; N (1..64); K (1..N) */
	int part, parts;		/* task rank in the replica group; tasks per replica (0: 1) */
	const char *node;		/* the node this part ran on */
	const char *site;		/* NULL: quorated asks slurmctld */
	uint32_t uid;			/* the job's owner (who may read the verdict) */
	uint8_t sha256[32];		/* of the part's result */
	int exit_status;
	double runtime;			/* seconds */
	bool numeric;			/* compare outputs number by number */
	double tolerance;		/* relative, with numeric */
	const void *output;		/* NULL: not sent; else output_len bytes */
	size_t output_len;
	const char *const *layout;	/* NULL, or N strings "n1,n2": each replica's nodes */
};

/* The answer for one result (or contribution) of a request. */
struct qclient_ack {
	enum qclient_class cls;		/* QCLIENT_OK: stored, now or before */
	bool duplicate;			/* it had been stored before */
	char code[32];			/* when not OK */
	char message[256];
};

/* Send n (1..QCLIENT_MAX_BATCH) results in one credential.  Returns
 * QCLIENT_OK when quorated answered for each item (see acks[i]), or the
 * class of the failure of the whole request (err set; every acks[i] then
 * carries the same error, except when n itself is out of range). */
enum qclient_class qclient_send_results(struct qclient *c,
					const struct qclient_result *results,
					size_t n, struct qclient_ack *acks,
					struct qclient_error *err);

/* The trainer's per-rank contribution to a job step. */
struct qclient_contribution {
	const char *cluster;		/* NULL or "": quorated's own */
	uint32_t job_id, step_id;
	int rank;
	const char *node;
	double compute_seconds;
	uint64_t samples;
	uint64_t gradients_accepted;
	uint64_t gradients_rejected;
};

enum qclient_class qclient_send_contribution(struct qclient *c,
					     const struct qclient_contribution *k,
					     struct qclient_ack *ack,
					     struct qclient_error *err);

/* Spooling: an item as JSON text (malloc'd; NULL with err), to be kept on
 * disk and sent later, alone or with others, by qclient_send_items(). */
char *qclient_result_json(const struct qclient_result *r,
			  struct qclient_error *err);
char *qclient_contribution_json(const struct qclient_contribution *k,
				struct qclient_error *err);
/* Send n (1..QCLIENT_MAX_BATCH) spooled items in one credential.  An item
 * that does not parse gets a PERMANENT ack of its own ("invalid_argument")
 * and is not sent; the return value is as for qclient_send_results(). */
enum qclient_class qclient_send_items(struct qclient *c,
				      const char *const *items, size_t n,
				      struct qclient_ack *acks,
				      struct qclient_error *err);

enum qclient_verdict_state {
	QCLIENT_VERDICT_UNKNOWN = 0,	/* no report for this step (yet) */
	QCLIENT_VERDICT_PENDING,
	QCLIENT_VERDICT_ACCEPTED,
	QCLIENT_VERDICT_REJECTED,
};

struct qclient_part_output {
	int part;
	char node[64];
	uint8_t sha256[32];
	int exit_status;
	char *output;			/* NULL when the node did not send it */
	size_t output_len;
};

struct qclient_verdict {
	enum qclient_verdict_state state;
	int replicas, quorum;
	int reported;			/* replicas complete */
	int agree, disagree, missing;
	int canonical;			/* the canonical replica, -1 if none */
	bool has_digest;
	uint8_t digest[32];		/* of the canonical replica's result */
	char reason[128];		/* why REJECTED */
	size_t nparts;			/* the canonical replica's parts, in part */
	struct qclient_part_output *parts; /* order, when output was asked for */
};

/* The verdict of (cluster, job, step).  wait_s > 0 waits up to that many
 * seconds for a decision (0..3600); the I/O timeout grows by it.  Only the
 * job's owner, root and SlurmUser may read a verdict ("forbidden").
 * Free *v with qclient_verdict_free() whatever the result. */
enum qclient_class qclient_get_verdict(struct qclient *c, const char *cluster,
				       uint32_t job_id, uint32_t step_id,
				       int wait_s, bool want_output,
				       struct qclient_verdict *v,
				       struct qclient_error *err);
void qclient_verdict_free(struct qclient_verdict *v);

/* Any request, as JSON text ({"v":1,"type":...}); *response is the answer
 * (malloc'd JSON text) whenever one came, even an error answer, whose
 * class is returned with err set.  extra_wait_ms lengthens the deadline. */
enum qclient_class qclient_call(struct qclient *c, const char *request,
				int extra_wait_ms, char **response,
				struct qclient_error *err);

/* Send an already-encoded munge credential as it is (diagnostics and
 * tests: this is how a replay is provoked). */
enum qclient_class qclient_send_credential(struct qclient *c, const char *cred,
					   char **response,
					   struct qclient_error *err);

/* Encode a request as qclient_call() would, without sending it. */
enum qclient_class qclient_encode(struct qclient *c, const char *request,
				  char **cred, struct qclient_error *err);

const char *qclient_class_name(enum qclient_class cls);
const char *qclient_verdict_state_name(enum qclient_verdict_state st);

#endif
