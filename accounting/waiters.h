/*
 * waiters.h - verdict queries that wait.  A worker parks the connection
 * here; the writer notifies a step's waiters once its verdict is committed
 * and the waiters' thread answers them (or when their wait is over).
 */
#ifndef QUORATED_WAITERS_H
#define QUORATED_WAITERS_H

#include <stdbool.h>
#include <sys/types.h>

#include "qmsg.h"
#include "store.h"

struct conn;
struct waiter;

int waiters_start(void);
/* Answer every waiter "retry_later" and stop. */
void waiters_stop(void);

/* Park c until the verdict of q (in cluster) is decided or q->wait passes.
 * NULL when too many are waiting (answer the query at once). */
struct waiter *waiters_park(struct conn *c, const char *cluster,
			    const struct qmsg_verdict_query *q, uid_t uid,
			    bool privileged);
/* Take a parked waiter back (the verdict was there after all); false when
 * the waiters' thread has already taken it to answer. */
bool waiters_cancel(struct waiter *w);

/* The verdict of key was committed. */
void waiters_notify(const struct step_key *key);

#endif
