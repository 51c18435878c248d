/*
 * listener.h - quorated's TCP socket and its connections.  One thread
 * accepts and watches idle connections (epoll, one-shot); a connection
 * with a request to read goes to a worker (work.h).  Whoever holds a
 * connection answers it: conn_respond() writes the answer and hands the
 * connection back to the listener, conn_close() ends it.
 */
#ifndef QUORATED_LISTENER_H
#define QUORATED_LISTENER_H

#include <stddef.h>
#include <json-c/json.h>

struct conn;

/* Bind and listen (before the threads start).  0, or -1 with err. */
int listener_init(const char *address, long port, char *err, size_t errlen);
int listener_start(void);
/* Stop accepting and dispatching; in-flight requests go on. */
void listener_stop(void);
/* Close every connection left (after the workers and the writer stopped). */
void listener_fini(void);

/* Write answer (not consumed) within a short deadline, then watch the
 * connection for its next request; on a write error, close it. */
void conn_respond(struct conn *c, json_object *answer);
void conn_close(struct conn *c);
int conn_fd(const struct conn *c);
const char *conn_peer(const struct conn *c);

#endif
