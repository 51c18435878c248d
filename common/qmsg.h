/*
 * qmsg.h - the messages quorate's clients and quorated exchange: what goes
 * inside a request's munge credential (a versioned JSON object) and what
 * comes back (a JSON object).  doc/protocol.md is the reference; this is
 * its one implementation, shared by quorated, the quorate CLI and qclient.
 *
 * Parsing is strict: a missing or unknown field, a wrong type or a value
 * out of range is an error naming the field.  Nothing here logs.
 */
#ifndef QUORATE_QMSG_H
#define QUORATE_QMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define QMSG_VERSION 1
#define QMSG_MAX_BATCH 64		/* results in one credential */
#define QMSG_MAX_REPLICAS 64
#define QMSG_MAX_PARTS 1024		/* tasks in one replica */
#define QMSG_NAME_MAX 64		/* cluster, node, site names, with NUL */
#define QMSG_MAX_WAIT 3600		/* seconds a verdict query may wait */
#define QMSG_MAX_EVENTS 1000

enum qmsg_type {
	QMSG_NONE = 0,
	QMSG_REPLICA_RESULT,
	QMSG_CONTRIBUTION,
	QMSG_BATCH,
	QMSG_VERDICT_QUERY,
	QMSG_REPUTATION_QUERY,
	QMSG_EVENTS_QUERY,
	QMSG_HEALTH,
	QMSG_NODE_ADMIN,
	QMSG_NODE_FAIL,
};

enum verify_mode {
	VERIFY_EXACT = 0,	/* identical SHA-256 and exit status */
	VERIFY_NUMERIC,		/* outputs equal number by number within a tolerance */
};

/* One part (task) of one replica of a job step, as a node reports it. */
struct qmsg_result {
	char cluster[QMSG_NAME_MAX];	/* "" = quorated's own cluster */
	int64_t job, step;
	int replica, replicas, quorum;	/* 0..replicas-1; N; K */
	int part, parts;		/* 0..parts-1; tasks per replica */
	char node[QMSG_NAME_MAX];
	char site[QMSG_NAME_MAX];	/* "" = unknown (quorated asks slurmctld) */
	int64_t uid;			/* the job's owner */
	uint8_t sha256[32];
	int exit_status;
	double runtime;			/* seconds */
	enum verify_mode mode;
	double tolerance;		/* relative, numeric mode only */
	char *output;			/* NULL: not sent; else output_len bytes + NUL */
	size_t output_len;
	char **layout;			/* NULL, or `replicas` strings "n1,n2" */
};

/* The trainer's per-rank contribution to a job step. */
struct qmsg_contribution {
	char cluster[QMSG_NAME_MAX];
	int64_t job, step;
	int rank;
	char node[QMSG_NAME_MAX];
	double compute_seconds;
	int64_t samples;
	int64_t gradients_accepted;
	int64_t gradients_rejected;
};

struct qmsg_verdict_query {
	char cluster[QMSG_NAME_MAX];
	int64_t job, step;
	int wait;			/* seconds, 0..QMSG_MAX_WAIT */
	bool output;			/* return the canonical output */
};

struct qmsg_reputation_query {
	char cluster[QMSG_NAME_MAX];	/* "" = all */
	char node[QMSG_NAME_MAX];	/* "" = all */
};

struct qmsg_events_query {
	char cluster[QMSG_NAME_MAX];
	char node[QMSG_NAME_MAX];
	int limit;
};

#define QMSG_REASON_MAX 256		/* an admin's reason, with NUL */

/* An admin's decision about a node: "quarantine", "release" or "reset"
 * (rep_admin_parse), with a reason for the node's event log. */
struct qmsg_node_admin {
	char cluster[QMSG_NAME_MAX];	/* "" = quorated's own cluster */
	char node[QMSG_NAME_MAX];
	char action[16];
	char reason[QMSG_REASON_MAX];
};

/* Slurm's evidence that a node failed under a job: the job ended
 * NODE_FAIL and slurmdbd recorded the node going DOWN while it ran
 * (`quorate ingest` with NodeFailMissing=yes).  Counted once per (cluster,
 * node, job, at) as a missing outcome. */
struct qmsg_node_fail {
	char cluster[QMSG_NAME_MAX];	/* "" = quorated's own cluster */
	char node[QMSG_NAME_MAX];
	int64_t job;
	int64_t at;			/* the job's end, Unix seconds */
	char reason[QMSG_REASON_MAX];
};

const char *qmsg_type_name(enum qmsg_type type);
const char *verify_mode_name(enum verify_mode mode);

/* Parse a request: a JSON object with "v": 1 and a known "type".  On
 * success *obj is the caller's (json_object_put).  Returns 0, or -1 with
 * err; *code is then "malformed" or "unsupported_version". */
int qmsg_parse_request(const char *text, size_t len, json_object **obj,
		       enum qmsg_type *type, const char **code,
		       char *err, size_t errlen);

/* Parse any JSON object (responses too); strict about trailing bytes. */
json_object *qmsg_parse_object(const char *text, size_t len,
			       char *err, size_t errlen);

/* Field validation of each message; `o` is the message or a batch item.
 * Each returns 0 or -1 with err ("field: why"). */
int qmsg_result_from_json(json_object *o, struct qmsg_result *r,
			  char *err, size_t errlen);
void qmsg_result_free(struct qmsg_result *r);
/* The same rules on a struct a sender filled (no JSON round trip). */
int qmsg_result_check(const struct qmsg_result *r, char *err, size_t errlen);
int qmsg_contribution_from_json(json_object *o, struct qmsg_contribution *c,
				char *err, size_t errlen);
int qmsg_verdict_query_from_json(json_object *o, struct qmsg_verdict_query *q,
				 char *err, size_t errlen);
int qmsg_reputation_query_from_json(json_object *o,
				    struct qmsg_reputation_query *q,
				    char *err, size_t errlen);
/* Text for a log line (an admin's reason): 1..max-1 bytes, no control
 * characters.  0, or -1 with err. */
int qmsg_check_text(const char *s, size_t max, char *err, size_t errlen);
int qmsg_node_admin_from_json(json_object *o, struct qmsg_node_admin *a,
			      char *err, size_t errlen);
int qmsg_events_query_from_json(json_object *o, struct qmsg_events_query *q,
				char *err, size_t errlen);
int qmsg_node_fail_from_json(json_object *o, struct qmsg_node_fail *f,
			     char *err, size_t errlen);

/* The items of a batch: 1..QMSG_MAX_BATCH objects, each with its "type"
 * (replica_result or contribution).  Returns the count, or -1 with err. */
int qmsg_batch_items(json_object *o, json_object ***items,
		     enum qmsg_type *types, char *err, size_t errlen);

/* Build messages (NULL when out of memory or r is invalid).  Items carry
 * "type" but no "v"; qmsg_request() wraps one object into a request. */
json_object *qmsg_result_to_json(const struct qmsg_result *r);
json_object *qmsg_contribution_to_json(const struct qmsg_contribution *c);
json_object *qmsg_request_new(enum qmsg_type type);
/* A JSON number for d (0 for NaN and infinities), printed without json-c's
 * locale switching. */
json_object *qmsg_new_double(double d);

/* Responses. */
json_object *qmsg_response_ok(void);
json_object *qmsg_response_error(const char *code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Whether an error code means "try again later" (doc/protocol.md). */
bool qmsg_code_is_transient(const char *code);
/* Whether code is one of the protocol's error codes. */
bool qmsg_code_is_known(const char *code);

/* Names: cluster [A-Za-z0-9_-], node and site [A-Za-z0-9._-], 1..63. */
bool qmsg_valid_cluster(const char *s);
bool qmsg_valid_node(const char *s);

/* Base64 without line breaks.  encode: malloc'd string, NULL on ENOMEM.
 * decode: 0 and *out (malloc'd, NUL-terminated) or -1 on bad input. */
char *qmsg_b64_encode(const void *data, size_t len);
int qmsg_b64_decode(const char *s, char **out, size_t *outlen);

#endif
