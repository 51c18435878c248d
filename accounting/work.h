/*
 * work.h - the worker threads: read a request frame, check its munge
 * credential (replay cache, munged), authorize the sender, route the
 * message (reports to the writer, queries to the store, waits to the
 * waiters) and answer.
 */
#ifndef QUORATED_WORK_H
#define QUORATED_WORK_H

#include <stddef.h>

struct conn;

int work_init(int threads, const char *munge_socket, char *err, size_t errlen);
/* A connection with a request to read. */
void work_submit(struct conn *c);
/* Finish what was submitted, then stop the threads. */
void work_fini(void);

/* Periodic housekeeping (the replay cache); called by the main thread. */
void work_tick(void);

#endif
