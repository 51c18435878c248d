/*
 * comm.c - see comm.h.  The only file that talks to MPI; compiled with
 * USE_MPI for quorate-train and without it for the serial build and the
 * unit tests.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef USE_MPI
#include <mpi.h>
#endif

#include "comm.h"
#include "peerwatch.h"

#define REPLICAS_MAX 64

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int comm_parse_replica(const char *replica, const char *replicas, int *out_replica,
		       int *out_replicas, char *err, size_t errlen)
{
	long r = 0, n = 1;

	if (replicas && *replicas && parse_int(replicas, 1, REPLICAS_MAX, &n)) {
		snprintf(err, errlen, "QUORATE_REPLICAS='%s' is not a number of replicas "
			 "(allowed 1..%d)", replicas, REPLICAS_MAX);
		return -1;
	}
	if (replica && *replica) {
		if (!replicas || !*replicas)
			n = REPLICAS_MAX;	/* QUORATE_REPLICA alone: any group index */
		if (parse_int(replica, 0, n - 1, &r)) {
			snprintf(err, errlen, "QUORATE_REPLICA='%s' is not a replica index "
				 "(allowed 0..%ld)", replica, n - 1);
			return -1;
		}
		if (!replicas || !*replicas)
			n = r + 1;
	}
	*out_replica = (int)r;
	*out_replicas = (int)n;
	return 0;
}

#ifdef USE_MPI

static void node_name(char *buf, size_t len);

/* The bound on each wait for the other ranks (comm_watch_peers); NULL
 * until then and with --peer-timeout 0.  One per process, as MPI is. */
static struct peerwatch *watch;
static int watch_rank;

/* CALL, an MPI call that waits for other ranks, inside a watched wait;
 * 0 or -1.  The comma puts CALL's evaluation after the enter. */
#define watched(what, call) \
	(peerwatch_enter(watch, what), watched_end(call))

static int watched_end(int rc)
{
	peerwatch_leave(watch);
	return rc == MPI_SUCCESS ? 0 : -1;
}

struct mpi_transport {
	struct transport base;
	MPI_Comm comm;
};

/* Messages above this go in pieces: MPI counts are int. */
#define MPI_PIECE (1u << 30)

static int mpi_sendrecv(struct transport *t, const void *sbuf, size_t sbytes, int dest,
			void *rbuf, size_t rbytes, int src)
{
	MPI_Comm comm = ((struct mpi_transport *)t)->comm;
	size_t sdone = 0, rdone = 0;
	int rc = MPI_SUCCESS;

	peerwatch_enter(watch, "MPI_Sendrecv");
	do {
		size_t s = sbytes - sdone > MPI_PIECE ? MPI_PIECE : sbytes - sdone;
		size_t r = rbytes - rdone > MPI_PIECE ? MPI_PIECE : rbytes - rdone;

		rc = MPI_Sendrecv((const char *)sbuf + sdone, (int)s, MPI_BYTE,
				  dest < 0 ? MPI_PROC_NULL : dest, 7,
				  (char *)rbuf + rdone, (int)r, MPI_BYTE,
				  src < 0 ? MPI_PROC_NULL : src, 7, comm, MPI_STATUS_IGNORE);
		sdone += s;
		rdone += r;
	} while (rc == MPI_SUCCESS && (sdone < sbytes || rdone < rbytes));
	peerwatch_leave(watch);
	return rc == MPI_SUCCESS ? 0 : -1;
}

static int mpi_allreduce_native(struct transport *t, float *buf, size_t n)
{
	MPI_Comm comm = ((struct mpi_transport *)t)->comm;
	int rc = MPI_SUCCESS;

	peerwatch_enter(watch, "MPI_Allreduce");
	for (size_t off = 0; off < n && rc == MPI_SUCCESS; off += INT_MAX / 2) {
		size_t len = n - off > INT_MAX / 2 ? INT_MAX / 2 : n - off;

		rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)len, MPI_FLOAT, MPI_SUM, comm);
	}
	peerwatch_leave(watch);
	return rc == MPI_SUCCESS ? 0 : -1;
}

static int mpi_barrier(struct transport *t)
{
	return watched("MPI_Barrier", MPI_Barrier(((struct mpi_transport *)t)->comm));
}

static void mpi_transport_destroy(struct transport *t)
{
	free(t);
}

static const struct transport_ops mpi_ops = {
	.sendrecv = mpi_sendrecv,
	.allreduce_native = mpi_allreduce_native,
	.destroy = mpi_transport_destroy,
	.barrier = mpi_barrier,
};

/* Every rank's node name, gathered, as a topology. */
static int group_topology(MPI_Comm group, int size, struct topology *topo)
{
	char me[HOST_NAME_MAX + 1] = "", *all = calloc((size_t)size, sizeof(me));
	const char **names = calloc((size_t)size, sizeof(*names));
	int rv = -1;

	if (all && names) {
		node_name(me, sizeof(me));
		if (MPI_Allgather(me, sizeof(me), MPI_CHAR, all, sizeof(me), MPI_CHAR,
				  group) == MPI_SUCCESS) {
			for (int r = 0; r < size; r++)
				names[r] = all + (size_t)r * sizeof(me);
			rv = topology_from_names(topo, names, size);
		}
	}
	free(all);
	free(names);
	return rv;
}

struct transport *transport_mpi_create(void *mpi_comm)
{
	struct mpi_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->comm = *(MPI_Comm *)mpi_comm;
	MPI_Comm_rank(t->comm, &t->base.rank);
	MPI_Comm_size(t->comm, &t->base.size);
	t->base.ops = &mpi_ops;
	return &t->base;
}

struct mpi_impl {
	MPI_Comm group;
};

/* This rank's node: the Slurm node it runs on, else the host. */
static void node_name(char *buf, size_t len)
{
	const char *n = getenv("SLURMD_NODENAME");

	if (n && *n)
		snprintf(buf, len, "%s", n);
	else if (gethostname(buf, len))
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
}

/* Ranks of the group on this host, by host name: they share its CPUs.
 * (MPI_COMM_TYPE_SHARED would see the virtual cluster's nodes, which are
 * slurmds on one host, as different machines.) */
static int count_same_host(MPI_Comm group, int size, int rank, int *local_rank)
{
	char me[HOST_NAME_MAX + 1] = "", *all;
	int count = 0;

	*local_rank = 0;

	if (gethostname(me, sizeof(me)))
		return 1;
	all = calloc((size_t)size, sizeof(me));
	if (!all)
		return 1;
	if (MPI_Allgather(me, sizeof(me), MPI_CHAR, all, sizeof(me), MPI_CHAR, group) == MPI_SUCCESS)
		for (int r = 0; r < size; r++)
			if (!strncmp(all + (size_t)r * sizeof(me), me, sizeof(me))) {
				if (r < rank)
					(*local_rank)++;
				count++;
			}
	free(all);
	return count > 0 ? count : 1;
}

bool comm_have_mpi(void)
{
	return true;
}

int comm_init(int *argc, char ***argv, struct comm *c, char *err, size_t errlen)
{
	struct mpi_impl *impl;
	int sizes[2];

	memset(c, 0, sizeof(*c));
	/* More ranks than cores is common here (tests, a laptop): let a rank
	 * waiting for a message give its core to one that computes.  An
	 * explicit setting in the environment wins. */
	setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
	if (MPI_Init(argc, argv) != MPI_SUCCESS) {
		snprintf(err, errlen, "MPI_Init failed");
		return -1;
	}
	/* Errors come back as return codes, so they can be reported with context. */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_rank(MPI_COMM_WORLD, &c->world_rank);
	MPI_Comm_size(MPI_COMM_WORLD, &c->world_size);
	if (comm_parse_replica(getenv("QUORATE_REPLICA"), getenv("QUORATE_REPLICAS"),
			       &c->replica, &c->replicas, err, errlen))
		return -1;
	impl = calloc(1, sizeof(*impl));
	if (!impl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->impl = impl;
	if (MPI_Comm_split(MPI_COMM_WORLD, c->replica, c->world_rank, &impl->group) != MPI_SUCCESS) {
		snprintf(err, errlen, "MPI_Comm_split by QUORATE_REPLICA failed");
		return -1;
	}
	MPI_Comm_set_errhandler(impl->group, MPI_ERRORS_RETURN);
	MPI_Comm_rank(impl->group, &c->rank);
	MPI_Comm_size(impl->group, &c->size);
	c->local_size = count_same_host(impl->group, c->size, c->rank, &c->local_rank);
	if (group_topology(impl->group, c->size, &c->topo)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Every group must be as large as the others for replicas to agree. */
	sizes[0] = c->size;
	sizes[1] = -c->size;
	MPI_Allreduce(MPI_IN_PLACE, sizes, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	if (sizes[0] != -sizes[1]) {
		snprintf(err, errlen, "replica groups differ in size (%d to %d ranks): "
			 "QUORATE_REPLICA must split the tasks evenly", -sizes[1], sizes[0]);
		return -1;
	}
	c->transport = transport_mpi_create(&impl->group);
	if (!c->transport) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void comm_fini(struct comm *c)
{
	struct mpi_impl *impl = c->impl;

	transport_destroy(c->transport);
	c->transport = NULL;
	topology_free(&c->topo);
	if (impl) {
		if (impl->group != MPI_COMM_NULL)
			MPI_Comm_free(&impl->group);
		free(impl);
		c->impl = NULL;
	}
	peerwatch_enter(watch, "MPI_Finalize");
	MPI_Finalize();
	peerwatch_leave(watch);
	peerwatch_stop(watch);
	watch = NULL;
}

/* A wait past --peer-timeout: another rank died or stopped.  Open MPI
 * would wait for ever, so this rank ends itself; the others do the same
 * when their own waits run out. */
static void peer_gone(const char *what, double waited_s, void *arg)
{
	(void)arg;
	fprintf(stderr, "quorate-train rank %d: error: no answer from the other ranks for "
		"%.0f s in %s: a rank has died or stopped (--peer-timeout)\n",
		watch_rank, waited_s, what);
	fflush(stderr);
	_exit(EXIT_PEER_GONE);
}

int comm_watch_peers(struct comm *c, double limit_s, char *err, size_t errlen)
{
	if (!(limit_s > 0) || c->world_size < 2)
		return 0;
	watch_rank = c->world_rank;
	watch = peerwatch_start(limit_s, peer_gone, NULL);
	if (!watch) {
		snprintf(err, errlen, "cannot start the thread that bounds waits for other ranks");
		return -1;
	}
	return 0;
}

void comm_abort(struct comm *c, int status)
{
	(void)c;
	MPI_Abort(MPI_COMM_WORLD, status);
	exit(status);
}

static MPI_Comm group_of(struct comm *c)
{
	return ((struct mpi_impl *)c->impl)->group;
}

int comm_barrier(struct comm *c)
{
	return watched("MPI_Barrier", MPI_Barrier(group_of(c)));
}

int comm_bcast(struct comm *c, void *buf, size_t bytes, int root)
{
	if (bytes > INT_MAX)
		return -1;
	return watched("MPI_Bcast", MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, group_of(c)));
}

int comm_sum_i64(struct comm *c, int64_t *v, int n)
{
	return watched("MPI_Allreduce",
		       MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, MPI_SUM, group_of(c)));
}

int comm_max_f64(struct comm *c, double *v, int n)
{
	return watched("MPI_Allreduce",
		       MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_MAX, group_of(c)));
}

int comm_gather(struct comm *c, const void *send, size_t bytes, void *recv, int root)
{
	if (bytes > INT_MAX)
		return -1;
	return watched("MPI_Gather", MPI_Gather(send, (int)bytes, MPI_BYTE, recv, (int)bytes,
						MPI_BYTE, root, group_of(c)));
}

int comm_world_max_i64(struct comm *c, int64_t *v, int n)
{
	(void)c;
	return watched("MPI_Allreduce",
		       MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
}

#else /* !USE_MPI: rank 0 of 1 */

static void serial_destroy(struct transport *t)
{
	free(t);
}

static int serial_sendrecv(struct transport *t, const void *sbuf, size_t sbytes, int dest,
			   void *rbuf, size_t rbytes, int src)
{
	/* Only a rank talking to itself makes sense here. */
	if ((dest >= 0 && dest != 0) || (src >= 0 && src != 0))
		return -1;
	if (dest == 0 && src == 0 && sbytes == rbytes)
		memmove(rbuf, sbuf, rbytes);
	return 0;
}

static int serial_allreduce(struct transport *t, float *buf, size_t n)
{
	return 0;
}

static const struct transport_ops serial_ops = {
	.sendrecv = serial_sendrecv,
	.allreduce_native = serial_allreduce,
	.destroy = serial_destroy,
};

struct transport *transport_mpi_create(void *mpi_comm)
{
	struct transport *t = calloc(1, sizeof(*t));

	if (t) {
		t->ops = &serial_ops;
		t->rank = 0;
		t->size = 1;
	}
	return t;
}

bool comm_have_mpi(void)
{
	return false;
}

int comm_init(int *argc, char ***argv, struct comm *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->world_size = c->size = c->replicas = c->local_size = 1;
	if (comm_parse_replica(getenv("QUORATE_REPLICA"), getenv("QUORATE_REPLICAS"),
			       &c->replica, &c->replicas, err, errlen))
		return -1;
	c->transport = transport_mpi_create(NULL);
	if (!c->transport || topology_flat(&c->topo, 1)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void comm_fini(struct comm *c)
{
	transport_destroy(c->transport);
	c->transport = NULL;
	topology_free(&c->topo);
}

void comm_abort(struct comm *c, int status)
{
	exit(status);
}

int comm_watch_peers(struct comm *c, double limit_s, char *err, size_t errlen)
{
	return 0;
}

int comm_barrier(struct comm *c)
{
	return 0;
}

int comm_bcast(struct comm *c, void *buf, size_t bytes, int root)
{
	return 0;
}

int comm_sum_i64(struct comm *c, int64_t *v, int n)
{
	return 0;
}

int comm_max_f64(struct comm *c, double *v, int n)
{
	return 0;
}

int comm_gather(struct comm *c, const void *send, size_t bytes, void *recv, int root)
{
	memmove(recv, send, bytes);
	return 0;
}

int comm_world_max_i64(struct comm *c, int64_t *v, int n)
{
	return 0;
}

#endif
