/*
 * comm.h - the trainer's view of its fellow ranks.  With MPI (USE_MPI) the
 * ranks of MPI_COMM_WORLD, split into replica groups when the SPANK plugin
 * set QUORATE_REPLICA / QUORATE_REPLICAS; without MPI the program is rank 0
 * of 1 and every call is trivial.  The collectives here carry small
 * bookkeeping whose sum does not depend on the order (integers) or whose
 * result is only informative; gradients go through allreduce.h.
 */
#ifndef QUORATE_TRAIN_COMM_H
#define QUORATE_TRAIN_COMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allreduce.h"
#include "transport.h"

struct comm {
	int world_rank, world_size;
	int rank, size;			/* within this replica group */
	int replica, replicas;		/* QUORATE_REPLICA, QUORATE_REPLICAS; 0, 1 without */
	int local_size;			/* ranks of this group on this host */
	int local_rank;			/* this rank's place among them */
	struct topology topo;		/* the group's ranks by node (SLURMD_NODENAME, else host) */
	struct transport *transport;	/* point-to-point within the group */
	void *impl;
};

/* True when built with MPI. */
bool comm_have_mpi(void);

/* MPI_Init (or nothing), then the replica split.  0, or -1 with err. */
int comm_init(int *argc, char ***argv, struct comm *c, char *err, size_t errlen);
void comm_fini(struct comm *c);

/* Exit status of a rank whose wait for the others outlasted
 * comm_watch_peers's bound. */
#define EXIT_PEER_GONE 1

/* Bound every later wait for the other ranks to LIMIT_S seconds (0: no
 * bound): past it the rank prints which call it waited in and exits with
 * EXIT_PEER_GONE.  0, or -1 with err. */
int comm_watch_peers(struct comm *c, double limit_s, char *err, size_t errlen);

/* Stop every rank of the job (MPI_Abort) with STATUS. */
void comm_abort(struct comm *c, int status) __attribute__((noreturn));

/* Parse QUORATE_REPLICA and QUORATE_REPLICAS (either may be NULL).
 * Pure; 0, or -1 with err naming the variable and what is allowed. */
int comm_parse_replica(const char *replica, const char *replicas, int *out_replica,
		       int *out_replicas, char *err, size_t errlen);

/* Collectives over the replica group. */
int comm_barrier(struct comm *c);
int comm_bcast(struct comm *c, void *buf, size_t bytes, int root);
int comm_sum_i64(struct comm *c, int64_t *v, int n);
int comm_max_f64(struct comm *c, double *v, int n);
/* Gather BYTES from every rank into recv (size * bytes, on root only). */
int comm_gather(struct comm *c, const void *send, size_t bytes, void *recv, int root);
/* The same over the whole world (across replica groups). */
int comm_world_max_i64(struct comm *c, int64_t *v, int n);

/* The MPI point-to-point transport over an MPI communicator (MPI builds). */
struct transport *transport_mpi_create(void *mpi_comm);

#endif
