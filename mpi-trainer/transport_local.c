/*
 * transport_local.c - ranks as threads of one process (unit tests, and any
 * algorithm check that must not need mpirun).  A message is copied into the
 * (source, destination) mailbox; receives wait on a condition variable.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

struct message {
	struct message *next;
	size_t len;
	unsigned char data[];
};

struct mailbox {
	struct message *head, *tail;
};

struct local_transport {
	struct transport base;
	struct local_world *world;
};

struct local_world {
	int size;
	pthread_mutex_t lock;
	pthread_cond_t arrived;
	struct mailbox *boxes;			/* [src * size + dst] */
	struct local_transport *ranks;
};

static int local_sendrecv(struct transport *t, const void *sbuf, size_t sbytes, int dest,
			  void *rbuf, size_t rbytes, int src)
{
	struct local_world *w = ((struct local_transport *)t)->world;
	int rv = 0;

	if (dest >= w->size || src >= w->size)
		return -1;
	if (dest >= 0) {
		struct message *msg = malloc(sizeof(*msg) + sbytes);
		struct mailbox *box = &w->boxes[t->rank * w->size + dest];

		if (!msg)
			return -1;
		msg->next = NULL;
		msg->len = sbytes;
		if (sbytes)
			memcpy(msg->data, sbuf, sbytes);
		pthread_mutex_lock(&w->lock);
		if (box->tail)
			box->tail->next = msg;
		else
			box->head = msg;
		box->tail = msg;
		pthread_cond_broadcast(&w->arrived);
		pthread_mutex_unlock(&w->lock);
	}
	if (src >= 0) {
		struct mailbox *box = &w->boxes[src * w->size + t->rank];
		struct message *msg;

		pthread_mutex_lock(&w->lock);
		while (!box->head)
			pthread_cond_wait(&w->arrived, &w->lock);
		msg = box->head;
		box->head = msg->next;
		if (!box->head)
			box->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		if (msg->len != rbytes)
			rv = -1;
		else if (rbytes)
			memcpy(rbuf, msg->data, rbytes);
		free(msg);
	}
	return rv;
}

static void local_destroy(struct transport *t)
{
	(void)t;	/* owned by the world */
}

static const struct transport_ops local_ops = {
	.sendrecv = local_sendrecv,
	.allreduce_native = NULL,
	.destroy = local_destroy,
};

struct local_world *local_world_create(int size)
{
	struct local_world *w = calloc(1, sizeof(*w));

	if (!w || size < 1)
		goto fail;
	w->size = size;
	w->boxes = calloc((size_t)size * size, sizeof(*w->boxes));
	w->ranks = calloc((size_t)size, sizeof(*w->ranks));
	if (!w->boxes || !w->ranks)
		goto fail;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->arrived, NULL);
	for (int r = 0; r < size; r++) {
		w->ranks[r].base.ops = &local_ops;
		w->ranks[r].base.rank = r;
		w->ranks[r].base.size = size;
		w->ranks[r].world = w;
	}
	return w;
fail:
	if (w) {
		free(w->boxes);
		free(w->ranks);
		free(w);
	}
	return NULL;
}

struct transport *local_world_transport(struct local_world *w, int rank)
{
	return rank >= 0 && rank < w->size ? &w->ranks[rank].base : NULL;
}

void local_world_free(struct local_world *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->size * w->size; i++) {
		struct message *msg = w->boxes[i].head;

		while (msg) {
			struct message *next = msg->next;

			free(msg);
			msg = next;
		}
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->arrived);
	free(w->boxes);
	free(w->ranks);
	free(w);
}
