/*
 * allreduce.h - gradient aggregation: sum a flat float buffer across the
 * ranks of a transport, in buckets (slices of the fused gradient tensors),
 * with a chosen algorithm.
 *
 * Deterministic algorithms fix the order in which every element's
 * contributions are added, whatever the timing of the messages, and give
 * every rank the same bits; MPI_Allreduce's order is unspecified, so "mpi"
 * is offered only when determinism is not asked for.
 */
#ifndef QUORATE_TRAIN_ALLREDUCE_H
#define QUORATE_TRAIN_ALLREDUCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

enum allreduce_algo {
	ALLREDUCE_RING,		/* reduce-scatter + all-gather around a ring */
	ALLREDUCE_RD,		/* recursive halving, then recursive doubling */
	ALLREDUCE_HIER,		/* reduce in each node, ring across nodes, broadcast */
	ALLREDUCE_MPI,		/* the transport's native all-reduce */
	ALLREDUCE_AUTO,		/* chosen per bucket by the cost model */
};
#define ALLREDUCE_CONCRETE 4	/* the algorithms before ALLREDUCE_AUTO */

/* Which node each rank runs on (a Slurm node, or a host): the hierarchical
 * algorithm and the cost model group ranks by it. */
struct topology {
	int size;
	int nnodes;
	int *node;		/* per rank, 0..nnodes-1 in order of first rank */
};

/* Every rank on its own node (what a bare transport implies). */
int topology_flat(struct topology *topo, int size);
/* From a node name per rank. */
int topology_from_names(struct topology *topo, const char *const *names, int size);
void topology_free(struct topology *topo);

#define ALLREDUCE_DEFAULT_BUCKET_BYTES (4u << 20)

int allreduce_algo_parse(const char *s, enum allreduce_algo *algo);
const char *allreduce_algo_name(enum allreduce_algo algo);
bool allreduce_algo_deterministic(enum allreduce_algo algo);

/* Chunk i of a buffer of n floats split SIZE ways: [begin, end). */
size_t allreduce_chunk_begin(size_t n, int size, int i);

/* Ring all-reduce of buf[0..n) in place.  Chunk c is summed in the order
 * x[c] + x[c+1] + ... + x[c+size-1] (ranks modulo size, each addition
 * applied to the running sum).  tmp holds n / size + 1 floats. */
int allreduce_ring(struct transport *t, float *buf, size_t n, float *tmp);

/* What the ring computes, for one element, from every rank's value:
 * the reference the unit tests compare against. */
float allreduce_ring_reference(const float *values, int size, size_t n, size_t index);

/* Rabenseifner's all-reduce: recursive halving reduce-scatter and
 * recursive doubling all-gather over the largest power of two of ranks;
 * with other sizes the first 2r ranks are folded pairwise first and
 * unfolded at the end.  tmp holds n floats. */
int allreduce_rd(struct transport *t, float *buf, size_t n, float *tmp);

/* Hierarchical: the ranks of each node send to the node's first rank,
 * which adds them in rank order; those leaders run the ring among
 * themselves; each leader sends the result back to its node.  tmp holds n
 * floats. */
int allreduce_hier(struct transport *t, const struct topology *topo, float *buf,
		   size_t n, float *tmp);

/* One concrete algorithm (not AUTO) on buf[0..n); tmp holds n floats. */
int allreduce_run(enum allreduce_algo algo, struct transport *t,
		  const struct topology *topo, float *buf, size_t n, float *tmp);

/* A transport over some of PARENT's ranks: rank i of the view is ranks[i]
 * of the parent; MY_INDEX is this rank's place in ranks[]. */
struct transport_view {
	struct transport base;
	struct transport *parent;
	const int *ranks;
};
void transport_view_init(struct transport_view *v, struct transport *parent,
			 const int *ranks, int count, int my_index);

struct cost_model;

struct aggregator {
	struct transport *t;
	const struct topology *topo;
	enum allreduce_algo algo;
	const struct cost_model *model;	/* AUTO: chooses per bucket; set by the caller */
	size_t bucket_elems;
	float *tmp;
	/* accounting */
	double comm_seconds;
	uint64_t bytes;			/* payload summed, per rank */
	uint64_t calls;
	uint64_t buckets[ALLREDUCE_CONCRETE];	/* buckets run by each algorithm */
	enum allreduce_algo last_choice;
};

/* A gradient aggregator over T for buffers of up to MAX_ELEMS floats.
 * TOPO may be NULL (every rank its own node). */
int aggregator_init(struct aggregator *a, struct transport *t, const struct topology *topo,
		    enum allreduce_algo algo, size_t bucket_bytes, size_t max_elems);
/* Sum buf[0..n) across the ranks, bucket by bucket; 0 or -1. */
int aggregator_allreduce(struct aggregator *a, float *buf, size_t n);
void aggregator_free(struct aggregator *a);

#endif
