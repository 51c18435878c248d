/*
 * store.h - quorated's PostgreSQL adapter (libpq): schema migrations, the
 * writer's transactions (pipelined, parameterized), the loads that rebuild
 * the writer's state, and the read-only answers served from a small pool
 * of connections.  Only the ingest thread writes.
 */
#ifndef QUORATED_STORE_H
#define QUORATED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "qmsg.h"
#include "verdict.h"
#include "reputation.h"

struct schema_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct schema_migration schema_migrations[];	/* schema_sql.c */

enum store_rc {
	STORE_OK = 0,
	STORE_SQL_ERROR,	/* the transaction was rolled back; the connection is fine */
	STORE_SQL_TRANSIENT,	/* rolled back for a reason that may pass (lock, timeout) */
	STORE_CONN_LOST,	/* the outcome is unknown; reconnect */
};

/* Connect, set the session up and prepare the writer's statements
 * (prepare = true).  NULL with err on failure. */
PGconn *store_connect(const char *conninfo, bool prepare, char *err, size_t errlen);

/* Prepare the writer's statements (after the migrations). */
int store_prepare(PGconn *conn, char *err, size_t errlen);

/* Apply every migration not yet in schema_migrations, in order, each in
 * the same transaction as its record.  0, or -1 with err. */
int store_migrate(PGconn *conn, int *applied, char *err, size_t errlen);

/* ---------------------------------------------------- the writer's side */

/* Statements, emitted in this order inside a transaction (foreign keys). */
enum store_stmt {
	STMT_SITE = 0,		/* name */
	STMT_STEP,		/* upsert a step's row */
	STMT_NODE,		/* upsert a node's reputation */
	STMT_RESULT,		/* insert a part, on conflict nothing */
	STMT_OUTCOME,		/* insert a replica's outcome */
	STMT_VERDICT,		/* upsert a verdict */
	STMT_EVENT,		/* insert a reputation event */
	STMT_CONTRIBUTION,	/* insert, on conflict nothing; returns a row if new */
	STMT_COUNT
};

struct store_op;
struct store_tx;

struct store_tx *store_tx_new(void);
void store_tx_free(struct store_tx *tx);
void store_tx_reset(struct store_tx *tx);
size_t store_tx_count(const struct store_tx *tx);

/* A new operation; then its parameters in the statement's order. */
struct store_op *store_tx_add(struct store_tx *tx, enum store_stmt stmt);
void op_text(struct store_op *op, const char *s);	/* NULL: SQL NULL */
void op_int(struct store_op *op, int64_t v);
void op_double(struct store_op *op, double v);
void op_bool(struct store_op *op, bool v);
void op_bytes(struct store_op *op, const void *p, size_t n);	/* NULL: SQL NULL */
/* A list as one value joined by sep (the statement splits it again). */
void op_list(struct store_op *op, char *const *items, size_t n, char sep);
/* Where to store the number of rows the operation returned (or NULL). */
void op_rows(struct store_op *op, int *rows);

/* BEGIN, every operation, COMMIT, in one pipeline; STORE_OK only when
 * COMMIT succeeded.  A tx that ran out of memory while being built fails
 * with STORE_SQL_ERROR without touching the database. */
enum store_rc store_tx_commit(PGconn *conn, struct store_tx *tx,
			      char *err, size_t errlen);

/* A step as stored, to rebuild the verifier's state. */
struct stored_part {
	int replica, part;
	char node[QMSG_NAME_MAX];
	uint8_t sha256[32];
	int exit_status;
	char *output;		/* numeric mode only */
	size_t output_len;
};

struct stored_step {
	char cluster[QMSG_NAME_MAX];
	int64_t job, step;
	int replicas, quorum, parts;
	enum verify_mode mode;
	double tolerance;
	int64_t owner_uid;
	char **layout;		/* NULL or `replicas` strings */
	double first_at, last_at;
	bool settled;
	size_t nparts;
	struct stored_part *part;	/* in the order they were reported */
	enum replica_outcome outcome[QMSG_MAX_REPLICAS];
	enum verdict_state verdict;
	int canonical;
};

struct step_key {
	char cluster[QMSG_NAME_MAX];
	int64_t job, step;
};

typedef void (*stored_step_fn)(const struct stored_step *s, void *arg);

/* Load the given steps (those that exist), or, with keys == NULL, every
 * step not yet settled.  Calls fn for each.  0, or -1 with err (*lost set
 * when the connection is gone). */
/* Whether a node failure (cluster, node, job, at) was counted before: a
 * 'node-fail' event.  0, or -1 with err (*lost: the connection is gone). */
int store_node_fail_counted(PGconn *conn, const char *cluster, const char *node,
			    int64_t job, int64_t at, bool *counted, bool *lost,
			    char *err, size_t errlen);

int store_load_steps(PGconn *conn, const struct step_key *keys, size_t nkeys,
		     stored_step_fn fn, void *arg, bool *lost,
		     char *err, size_t errlen);

struct stored_node {
	char cluster[QMSG_NAME_MAX];
	char name[QMSG_NAME_MAX];
	char site[QMSG_NAME_MAX];
	struct rep_node rep;
	char last_verdict[64];
	double last_verdict_at;
};

typedef void (*stored_node_fn)(const struct stored_node *n, void *arg);
int store_load_nodes(PGconn *conn, stored_node_fn fn, void *arg,
		     char *err, size_t errlen);

/* The highest (job, step) stored per cluster. */
typedef void (*max_key_fn)(const char *cluster, int64_t job, int64_t step, void *arg);
int store_load_max_keys(PGconn *conn, max_key_fn fn, void *arg,
			char *err, size_t errlen);

/* --------------------------------------------------- the readers' side */

/* A pool of `size` connections for queries, opened on demand. */
int store_pool_init(const char *conninfo, int size);
void store_pool_fini(void);

/* Answers to queries: the response object, or an error response
 * ("retry_later" when the database cannot be reached).  For verdicts,
 * *state is set (VERDICT_PENDING also when the step is unknown: *known
 * false) and *owner to the job's owner. */
json_object *store_answer_verdict(const char *cluster,
				  const struct qmsg_verdict_query *q,
				  uid_t uid, bool privileged,
				  enum verdict_state *state, bool *known,
				  bool *forbidden);
json_object *store_answer_nodes(const struct qmsg_reputation_query *q);
json_object *store_answer_events(const struct qmsg_events_query *q);

#endif
