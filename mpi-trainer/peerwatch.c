/*
 * peerwatch.c - see peerwatch.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "frame.h"
#include "peerwatch.h"

struct peerwatch {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* stop, or a new limit */
	int64_t limit_ms;
	int64_t since_ms;		/* start of the current wait; -1: none */
	const char *what;
	int depth;			/* nested enters count once */
	bool fired;			/* the current wait was reported */
	bool stop;
	peerwatch_expired_fn expired;
	void *arg;
};

bool peerwatch_overdue(int64_t since_ms, int64_t now_ms, int64_t limit_ms)
{
	return since_ms >= 0 && limit_ms > 0 && now_ms - since_ms > limit_ms;
}

/* Look a tenth of the bound apart, at most once a second: the wait ends
 * within 10 % (or 1 s) of the bound. */
static int64_t check_period_ms(int64_t limit_ms)
{
	int64_t p = limit_ms / 10;

	return p < 10 ? 10 : p > 1000 ? 1000 : p;
}

static void *watch_loop(void *p)
{
	struct peerwatch *w = p;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct timespec ts;
		int64_t period = check_period_ms(w->limit_ms), now = frame_now_ms();

		if (!w->fired && peerwatch_overdue(w->since_ms, now, w->limit_ms)) {
			const char *what = w->what;
			double waited = (double)(now - w->since_ms) / 1000;

			w->fired = true;
			pthread_mutex_unlock(&w->lock);
			w->expired(what, waited, w->arg);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += period / 1000;
		ts.tv_nsec += (long)(period % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->wake, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct peerwatch *peerwatch_start(double limit_s, peerwatch_expired_fn expired, void *arg)
{
	struct peerwatch *w;
	pthread_condattr_t ca;

	if (!(limit_s > 0) || !expired)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->limit_ms = (int64_t)(limit_s * 1000);
	w->since_ms = -1;
	w->expired = expired;
	w->arg = arg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, watch_loop, w)) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

void peerwatch_enter(struct peerwatch *w, const char *what)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->depth++ == 0) {
		w->since_ms = frame_now_ms();
		w->what = what;
		w->fired = false;
	}
	pthread_mutex_unlock(&w->lock);
}

void peerwatch_leave(struct peerwatch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->depth > 0 && --w->depth == 0)
		w->since_ms = -1;
	pthread_mutex_unlock(&w->lock);
}

void peerwatch_stop(struct peerwatch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
