/*
 * netprobe.h - measuring the links between ranks: per pair, latency from
 * small-message ping-pongs and bandwidth from large ones (the median of a
 * few round trips, so a jittery link counts at its typical speed); pairs
 * are measured concurrently in a round-robin tournament.  Every rank ends
 * with the same matrix, ready for the cost model.
 */
#ifndef QUORATE_TRAIN_NETPROBE_H
#define QUORATE_TRAIN_NETPROBE_H

#include <stdio.h>

#include "costmodel.h"
#include "transport.h"

struct probe_opts {
	size_t small_bytes;		/* latency probe (default 8) */
	size_t large_bytes;		/* bandwidth probe (default 1 MiB) */
	int reps;			/* round trips of each (default 5) */
};

void probe_opts_default(struct probe_opts *o);

/* Fill m's links (m->size == t->size) from measurements over T; every rank
 * of T calls it.  With fit_mpi and a native all-reduce, MPI_Allreduce is
 * timed too (m->have_mpi).  0 or -1. */
int net_probe(struct transport *t, struct cost_model *m, const struct probe_opts *o,
	      bool fit_mpi);

/* Time every candidate algorithm whole at every power of four from 4 KiB
 * up to MAX_BYTES and at MAX_BYTES itself (rounds that take them in turn;
 * each run as slow as its slowest rank, the runs' net_trimmed_mean) and
 * store the times in m, unless the link
 * model says that would take longer than BUDGET seconds.  Every rank calls
 * it with the same arguments; returns 1 when calibrated, 0 when skipped,
 * -1 on error. */
int net_calibrate(struct transport *t, const struct topology *topo, struct cost_model *m,
		  size_t max_bytes, double budget);

/* The BUDGET the trainer gives net_calibrate, in seconds (else the link
 * model decides).  allreduce-bench uses it too, so that it times the auto
 * the trainer really gets. */
#define NET_CALIBRATE_BUDGET 3.0

/* The mean of V[0..N) without its fastest and slowest fifth (sorts V):
 * what a bucket's all-reduce costs on average, a rare stall of the
 * machine left out. */
double net_trimmed_mean(double *v, int n);

/* The order in which round ROUND of a timing loop runs N algorithms: a
 * permutation of 0..N-1 in ORDER, the same on every rank, different from
 * round to round, so that no algorithm always follows the same one (a
 * 64 MiB MPI_Allreduce slows whatever runs next on a shared machine). */
void net_round_order(int round, int n, int *order);

/* The pairs of round R of the tournament over SIZE ranks: partner[r] (-1:
 * none this round).  SIZE rounded up to even, minus one, rounds. */
int net_tournament_rounds(int size);
void net_tournament_round(int size, int round, int *partner);

/* The matrix and the model's choice for some message sizes, for people. */
void net_report(FILE *f, const struct cost_model *m, const size_t *sizes, int nsizes);

#endif
