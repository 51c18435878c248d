/*
 * waiters.c - see waiters.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "frame.h"
#include "listener.h"
#include "log.h"
#include "waiters.h"

#define MAX_WAITERS 4096

struct waiter {
	struct waiter *prev, *next;
	struct conn *conn;
	struct step_key key;
	struct qmsg_verdict_query q;
	uid_t uid;
	bool privileged;
	int64_t deadline_ms;
	bool ready;		/* its verdict was committed */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct waiter *list;
	size_t count;
	bool stop, running;
	pthread_t thread;
} V = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void unlink_locked(struct waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		V.list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	V.count--;
}

static void answer(struct waiter *w)
{
	enum verdict_state state;
	bool known, forbidden;
	json_object *ans = store_answer_verdict(w->key.cluster, &w->q, w->uid, w->privileged,
						&state, &known, &forbidden);

	if (!ans)
		ans = qmsg_response_error("retry_later", "out of memory");
	if (ans) {
		conn_respond(w->conn, ans);
		json_object_put(ans);
	} else {
		conn_close(w->conn);
	}
	free(w);
}

static void *waiters_main(void *arg)
{
	(void)arg;
	daemon_thread_init("q-waiters");
	pthread_mutex_lock(&V.lock);
	while (!V.stop) {
		struct waiter *due = NULL;
		int64_t now = frame_now_ms(), next = now + 1000;

		for (struct waiter *w = V.list, *nx; w; w = nx) {
			nx = w->next;
			if (w->ready || w->deadline_ms <= now) {
				unlink_locked(w);
				w->next = due;
				due = w;
			} else if (w->deadline_ms < next) {
				next = w->deadline_ms;
			}
		}
		if (due) {
			pthread_mutex_unlock(&V.lock);
			while (due) {
				struct waiter *nx = due->next;

				answer(due);
				due = nx;
			}
			pthread_mutex_lock(&V.lock);
			continue;
		}
		{
			struct timespec until;
			int64_t left = next - frame_now_ms();

			clock_gettime(CLOCK_REALTIME, &until);
			if (left < 1)
				left = 1;
			until.tv_sec += left / 1000;
			until.tv_nsec += (left % 1000) * 1000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&V.cond, &V.lock, &until);
		}
	}
	/* Shutting down: the verdicts will come from the next quorated. */
	while (V.list) {
		struct waiter *w = V.list;
		json_object *ans = qmsg_response_error("retry_later", "quorated is shutting down");

		unlink_locked(w);
		pthread_mutex_unlock(&V.lock);
		if (ans) {
			conn_respond(w->conn, ans);
			json_object_put(ans);
		} else {
			conn_close(w->conn);
		}
		free(w);
		pthread_mutex_lock(&V.lock);
	}
	pthread_mutex_unlock(&V.lock);
	return NULL;
}

int waiters_start(void)
{
	if (pthread_create(&V.thread, NULL, waiters_main, NULL))
		return -1;
	V.running = true;
	return 0;
}

void waiters_stop(void)
{
	if (!V.running)
		return;
	pthread_mutex_lock(&V.lock);
	V.stop = true;
	pthread_cond_signal(&V.cond);
	pthread_mutex_unlock(&V.lock);
	pthread_join(V.thread, NULL);
	V.running = false;
}

struct waiter *waiters_park(struct conn *c, const char *cluster,
			    const struct qmsg_verdict_query *q, uid_t uid,
			    bool privileged)
{
	struct waiter *w;

	pthread_mutex_lock(&V.lock);
	if (V.count >= MAX_WAITERS || V.stop) {
		pthread_mutex_unlock(&V.lock);
		log_warning("%zu verdict queries wait already; answering at once", V.count);
		return NULL;
	}
	pthread_mutex_unlock(&V.lock);
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->conn = c;
	snprintf(w->key.cluster, sizeof(w->key.cluster), "%s", cluster);
	w->key.job = q->job;
	w->key.step = q->step;
	w->q = *q;
	w->uid = uid;
	w->privileged = privileged;
	w->deadline_ms = frame_now_ms() + (int64_t)q->wait * 1000;
	pthread_mutex_lock(&V.lock);
	w->next = V.list;
	if (V.list)
		V.list->prev = w;
	V.list = w;
	V.count++;
	pthread_cond_signal(&V.cond);
	pthread_mutex_unlock(&V.lock);
	return w;
}

bool waiters_cancel(struct waiter *w)
{
	bool found = false;

	pthread_mutex_lock(&V.lock);
	for (struct waiter *x = V.list; x; x = x->next) {
		if (x == w) {
			unlink_locked(w);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&V.lock);
	if (found)
		free(w);
	return found;
}

void waiters_notify(const struct step_key *key)
{
	bool any = false;

	pthread_mutex_lock(&V.lock);
	for (struct waiter *w = V.list; w; w = w->next) {
		if (w->key.job == key->job && w->key.step == key->step &&
		    !strcmp(w->key.cluster, key->cluster)) {
			w->ready = true;
			any = true;
		}
	}
	if (any)
		pthread_cond_signal(&V.cond);
	pthread_mutex_unlock(&V.lock);
}
