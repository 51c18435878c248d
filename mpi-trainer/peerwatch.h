/*
 * peerwatch.h - a bound on how long a rank waits for the other ranks.
 *
 * Open MPI 4.1's TCP transport does not fail a call whose peer process has
 * died: it prints "An MPI communication peer process has unexpectedly
 * disconnected" and waits for ever, spinning.  The trainer marks each wait
 * on the other ranks (peerwatch_enter/leave); a thread calls the expiry
 * function once a single wait has lasted longer than the bound.
 */
#ifndef QUORATE_TRAIN_PEERWATCH_H
#define QUORATE_TRAIN_PEERWATCH_H

#include <stdbool.h>
#include <stdint.h>

struct peerwatch;

/* Called from the watching thread with what the rank waits in and for how
 * long; quorate-train's prints the error and ends the process. */
typedef void (*peerwatch_expired_fn)(const char *what, double waited_s, void *arg);

/* Whether a wait that began at SINCE_MS (frame_now_ms(); -1: no wait) has
 * lasted more than LIMIT_MS at NOW_MS.  Pure. */
bool peerwatch_overdue(int64_t since_ms, int64_t now_ms, int64_t limit_ms);

/* Start watching with LIMIT_S > 0; NULL when out of memory or the thread
 * cannot start. */
struct peerwatch *peerwatch_start(double limit_s, peerwatch_expired_fn expired, void *arg);
/* Mark the start and the end of a wait (W NULL: nothing).  WHAT must stay
 * valid until the leave; a string literal. */
void peerwatch_enter(struct peerwatch *w, const char *what);
void peerwatch_leave(struct peerwatch *w);
/* Stop the thread and free W (NULL: nothing). */
void peerwatch_stop(struct peerwatch *w);

#endif
