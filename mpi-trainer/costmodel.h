/*
 * costmodel.h - which all-reduce algorithm is fastest on the links at hand:
 * the alpha-beta model (a message of n bytes over a link takes
 * alpha + n * beta seconds) applied to each algorithm's schedule of
 * messages, each step as slow as its slowest link.  Pure functions over a
 * measured (or, in tests, synthetic) link matrix.
 */
#ifndef QUORATE_TRAIN_COSTMODEL_H
#define QUORATE_TRAIN_COSTMODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "allreduce.h"

struct link_cost {
	double alpha;		/* seconds */
	double beta;		/* seconds per byte */
};

#define COST_MAX_CAL 8

struct cost_model {
	int size;
	struct topology topo;		/* a copy */
	struct link_cost *links;	/* [src * size + dst] */
	bool have_mpi;			/* MPI_Allreduce as a whole: alpha + bytes * beta */
	struct link_cost mpi;
	bool allow_mpi;			/* may AUTO choose it (not deterministic) */
	/* Calibration: each algorithm timed whole at a few sizes; where
	 * present it replaces the link-by-link estimate (between the sizes
	 * piecewise linear, beyond them along the last segment). */
	int ncal;
	size_t cal_bytes[COST_MAX_CAL];
	double cal_seconds[ALLREDUCE_CONCRETE][COST_MAX_CAL];
	bool cal_ok[ALLREDUCE_CONCRETE];
};

/* Links all at (alpha, beta); topo may be NULL (each rank its own node). */
int cost_model_init(struct cost_model *m, int size, const struct topology *topo,
		    double alpha, double beta);
void cost_model_free(struct cost_model *m);

static inline struct link_cost *cost_model_link(struct cost_model *m, int src, int dst)
{
	return &m->links[src * m->size + dst];
}

/* Modelled seconds of one all-reduce of BYTES with ALGO. */
double cost_model_time(const struct cost_model *m, enum allreduce_algo algo, size_t bytes);

/* The cheapest algorithm for BYTES (ring, rd, hier when some node holds
 * several ranks, mpi when allowed and fitted); ties go to the earlier one.
 * costs[] (may be NULL) receives every algorithm's time, < 0 when not a
 * candidate. */
enum allreduce_algo cost_model_choose(const struct cost_model *m, size_t bytes,
				      double costs[ALLREDUCE_CONCRETE]);

#endif
