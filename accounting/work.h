/*
 * work.h - the worker threads: wait for a connection with a request
 * (listener_next()), read the request frame, check its munge
 * credential (replay cache, munged), authorize the sender, route the
 * message (reports to the writer, queries to the store, waits to the
 * waiters) and answer.
 */
#ifndef QUORATED_WORK_H
#define QUORATED_WORK_H

#include <stddef.h>

/* Start the workers; each takes requests from listener_next(). */
int work_init(int threads, const char *munge_socket, char *err, size_t errlen);
/* After listener_stop(): wait for the requests in hand, stop the threads. */
void work_fini(void);

/* Periodic housekeeping (idle connections, the replay cache); called by
 * the main thread every second. */
void work_tick(void);

#endif
