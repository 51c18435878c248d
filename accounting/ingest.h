/*
 * ingest.h - the single writer.  Reports (replica results, contributions)
 * from every worker are queued here; one thread takes whatever is queued,
 * runs the verifier and the reputation rules over it in memory, and
 * commits all of it in one transaction (group commit).  Each request is
 * answered only after that commit.  When the database is down, requests
 * are refused with "retry_later" while the thread reconnects with
 * back-off.  The same thread settles steps whose grace period is over and
 * re-admits quarantined nodes.
 */
#ifndef QUORATED_INGEST_H
#define QUORATED_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "qmsg.h"

struct conn;

enum ingest_kind {
	ITEM_RESULT,
	ITEM_CONTRIBUTION,
	ITEM_SITE,		/* a node's site, learnt from slurmctld */
	ITEM_NODE_ADMIN,	/* an admin's decision (the request's uid) */
	ITEM_NODE_FAIL,		/* Slurm's evidence of a node failure */
};

struct ingest_item {
	enum ingest_kind kind;
	struct qmsg_result r;
	struct qmsg_contribution k;
	char site[QMSG_NAME_MAX];	/* ITEM_SITE: k.cluster, k.node, site */
	struct qmsg_node_admin a;	/* ITEM_NODE_ADMIN */
	int action;			/* ... its enum rep_admin_action, parsed by the worker */
	struct qmsg_node_fail f;	/* ITEM_NODE_FAIL */
	bool duplicate;			/* ITEM_NODE_FAIL counted before (the writer) */
	bool invalid;			/* malformed: answered by the worker */
	json_object *answer;		/* set by the writer */
	int rows;
};

struct ingest_request {
	struct ingest_request *next;
	struct conn *conn;		/* NULL: nobody to answer */
	uid_t uid;
	bool batch;			/* answer with "results" */
	double received_at;
	size_t n;
	struct ingest_item items[];
};

struct ingest_request *ingest_request_new(size_t n);
void ingest_request_free(struct ingest_request *req);

/* Connect, migrate and load the state once.  -1 (fatal) only when the
 * schema cannot be applied; an unreachable database is retried later. */
int ingest_init(const char *conninfo, char *err, size_t errlen);
int ingest_start(void);
/* Commit and answer everything queued, then stop. */
void ingest_stop(void);

/* Whether reports can be taken now (database up, not stopping). */
bool ingest_available(void);

/* Queue req; the writer answers it and frees it.  -1: refused (database
 * down, queue full, stopping): the caller answers and frees. */
int ingest_submit(struct ingest_request *req);

/* Answer for one item (status ok/error), used by the writer and workers. */
json_object *ingest_item_error(const char *code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
