/*
 * listener.h - quorated's TCP socket and its connections, watched with
 * epoll (one-shot).  The worker threads (work.h) wait in listener_next()
 * themselves, so a request goes from the socket to its worker without a
 * hand-over.  Whoever holds a connection answers it: conn_respond() writes
 * the answer and arms the connection again, conn_close() ends it.
 */
#ifndef QUORATED_LISTENER_H
#define QUORATED_LISTENER_H

#include <stddef.h>
#include <json-c/json.h>

struct conn;

/* Bind and listen (before the threads start).  0, or -1 with err. */
int listener_init(const char *address, long port, char *err, size_t errlen);
/* The next connection with a request to read; NULL when stopping. */
struct conn *listener_next(void);
/* Stop handing out requests (workers return from listener_next()); the
 * requests in flight go on. */
void listener_stop(void);
/* Shut down connections idle for too long (called every second). */
void listener_tick(void);
/* Close the socket and every connection left (after the workers and the
 * writer stopped). */
void listener_fini(void);

/* Write answer (not consumed) within a short deadline, then watch the
 * connection for its next request; on a write error, close it. */
void conn_respond(struct conn *c, json_object *answer);
void conn_close(struct conn *c);
int conn_fd(const struct conn *c);
const char *conn_peer(const struct conn *c);

#endif
