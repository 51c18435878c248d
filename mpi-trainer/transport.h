/*
 * transport.h - how ranks exchange bytes: the one thing the gradient
 * all-reduce algorithms (allreduce.h) need.  Implementations: MPI
 * point-to-point over a communicator (transport_mpi.c), threads in one
 * process for the unit tests (transport_local.c); a link-emulation layer can
 * wrap either and add delay, bandwidth limits and loss per link.
 */
#ifndef QUORATE_TRAIN_TRANSPORT_H
#define QUORATE_TRAIN_TRANSPORT_H

#include <stddef.h>

struct transport;

struct transport_ops {
	/* Send sbytes to DEST and receive exactly rbytes from SRC, together
	 * (so that a ring cannot deadlock).  DEST or SRC -1: that half is
	 * skipped.  Returns 0 or -1. */
	int (*sendrecv)(struct transport *t, const void *sbuf, size_t sbytes, int dest,
			void *rbuf, size_t rbytes, int src);
	/* The communication library's own float sum all-reduce in place
	 * (MPI_Allreduce), or NULL when there is none. */
	int (*allreduce_native)(struct transport *t, float *buf, size_t n);
	void (*destroy)(struct transport *t);
	/* Optional: the training step the caller is at (link emulation
	 * changes its profile by step). */
	void (*set_step)(struct transport *t, long step);
	/* Optional: the library's own barrier (MPI_Barrier), which lets the
	 * ranks out closer together than any exchange of messages; 0 or -1. */
	int (*barrier)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	int rank, size;
};

static inline int transport_sendrecv(struct transport *t, const void *sbuf, size_t sbytes,
				     int dest, void *rbuf, size_t rbytes, int src)
{
	return t->ops->sendrecv(t, sbuf, sbytes, dest, rbuf, rbytes, src);
}

static inline void transport_set_step(struct transport *t, long step)
{
	if (t->ops->set_step)
		t->ops->set_step(t, step);
}

static inline void transport_destroy(struct transport *t)
{
	if (t)
		t->ops->destroy(t);
}

/* In-process transport: SIZE ranks as threads of one process, connected by
 * unbounded mailboxes (a send never blocks). */
struct local_world;
struct local_world *local_world_create(int size);
/* The transport of RANK; valid until local_world_free. */
struct transport *local_world_transport(struct local_world *w, int rank);
void local_world_free(struct local_world *w);

#endif
