/*
 * costmodel.c - see costmodel.h.  Each function walks the same schedule of
 * messages as the algorithm in allreduce.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "costmodel.h"

int cost_model_init(struct cost_model *m, int size, const struct topology *topo,
		    double alpha, double beta)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->links = malloc((size_t)size * size * sizeof(*m->links));
	if (!m->links)
		return -1;
	for (int i = 0; i < size * size; i++)
		m->links[i] = (struct link_cost){ alpha, beta };
	if (topo) {
		m->topo.size = topo->size;
		m->topo.nnodes = topo->nnodes;
		m->topo.node = malloc((size_t)size * sizeof(int));
		if (!m->topo.node)
			return -1;
		memcpy(m->topo.node, topo->node, (size_t)size * sizeof(int));
	} else if (topology_flat(&m->topo, size)) {
		return -1;
	}
	return 0;
}

void cost_model_free(struct cost_model *m)
{
	free(m->links);
	topology_free(&m->topo);
	m->links = NULL;
}

static double msg(const struct cost_model *m, int src, int dst, double bytes)
{
	const struct link_cost *l = &m->links[src * m->size + dst];

	return l->alpha + bytes * l->beta;
}

static double ring_time(const struct cost_model *m, const int *ranks, int count, double bytes)
{
	double slowest = 0;

	if (count < 2)
		return 0;
	for (int i = 0; i < count; i++) {
		double t = msg(m, ranks[i], ranks[(i + 1) % count], bytes / count);

		if (t > slowest)
			slowest = t;
	}
	return 2.0 * (count - 1) * slowest;
}

static double rd_time(const struct cost_model *m, double bytes)
{
	int size = m->size, p = 1, extra;
	double total = 0;

	if (size < 2)
		return 0;
	while (p * 2 <= size)
		p *= 2;
	extra = size - p;
	if (extra) {
		double fold = 0, unfold = 0;

		for (int r = 0; r < 2 * extra; r += 2) {
			double a = msg(m, r, r + 1, bytes), b = msg(m, r + 1, r, bytes);

			fold = a > fold ? a : fold;
			unfold = b > unfold ? b : unfold;
		}
		total += fold + unfold;
	}
	/* Halving sends bytes * mask / p to the partner at distance mask; the
	 * doubling all-gather mirrors it. */
	for (int mask = p / 2; mask >= 1; mask /= 2) {
		double slowest = 0;

		for (int q = 0; q < p; q++) {
			int a = q < extra ? 2 * q + 1 : q + extra;
			int pq = q ^ mask, b = pq < extra ? 2 * pq + 1 : pq + extra;
			double t = msg(m, a, b, bytes * mask / p);

			slowest = t > slowest ? t : slowest;
		}
		total += 2 * slowest;
	}
	return total;
}

static double hier_time(const struct cost_model *m, double bytes)
{
	const struct topology *topo = &m->topo;
	int *leaders = malloc((size_t)topo->nnodes * sizeof(int)), nleaders = 0;
	double up = 0, down = 0, across;

	if (!leaders)
		return 1e300;
	for (int node = 0; node < topo->nnodes; node++) {
		int leader = -1;
		double in = 0, out = 0;

		for (int r = 0; r < m->size; r++) {
			if (topo->node[r] != node)
				continue;
			if (leader < 0) {
				leader = r;
				leaders[nleaders++] = r;
				continue;
			}
			in += msg(m, r, leader, bytes);		/* one after the other */
			out += msg(m, leader, r, bytes);
		}
		up = in > up ? in : up;
		down = out > down ? out : down;
	}
	across = ring_time(m, leaders, nleaders, bytes);
	free(leaders);
	return up + across + down;
}

/* Piecewise linear through the calibrated points of one algorithm. */
static double calibrated_time(const struct cost_model *m, int algo, double bytes)
{
	const size_t *x = m->cal_bytes;
	const double *y = m->cal_seconds[algo];
	int i = 0;
	double slope, t;

	if (m->ncal == 1)
		return y[0];
	while (i + 2 < m->ncal && bytes > (double)x[i + 1])
		i++;
	slope = (y[i + 1] - y[i]) / ((double)x[i + 1] - (double)x[i]);
	if (slope < 0 && bytes > (double)x[i + 1])
		return y[i + 1];	/* beyond the points, never faster for more */
	t = y[i] + slope * (bytes - (double)x[i]);
	return t > 0 ? t : y[0] * 0.5;
}

double cost_model_time(const struct cost_model *m, enum allreduce_algo algo, size_t bytes)
{
	int *all;
	double t;

	if (algo < ALLREDUCE_CONCRETE && m->ncal > 0 && m->cal_ok[algo])
		return calibrated_time(m, algo, (double)bytes);
	switch (algo) {
	case ALLREDUCE_RING:
		all = malloc((size_t)m->size * sizeof(int));
		if (!all)
			return 1e300;
		for (int r = 0; r < m->size; r++)
			all[r] = r;
		t = ring_time(m, all, m->size, (double)bytes);
		free(all);
		return t;
	case ALLREDUCE_RD:
		return rd_time(m, (double)bytes);
	case ALLREDUCE_HIER:
		return hier_time(m, (double)bytes);
	case ALLREDUCE_MPI:
		return m->have_mpi ? m->mpi.alpha + (double)bytes * m->mpi.beta : 1e300;
	default:
		return 1e300;
	}
}

enum allreduce_algo cost_model_choose(const struct cost_model *m, size_t bytes,
				      double costs[ALLREDUCE_CONCRETE])
{
	enum allreduce_algo best = ALLREDUCE_RING;
	double best_t = 1e300;

	for (int a = 0; a < ALLREDUCE_CONCRETE; a++) {
		double t;
		bool candidate = a != ALLREDUCE_HIER || m->topo.nnodes < m->size;

		if (a == ALLREDUCE_MPI)
			candidate = m->allow_mpi && m->have_mpi;
		t = candidate ? cost_model_time(m, (enum allreduce_algo)a, bytes) : -1;
		if (costs)
			costs[a] = t;
		/* A clear win only: within 1 % the earlier (simpler) one stays. */
		if (candidate && t < best_t * 0.99) {
			best_t = t;
			best = (enum allreduce_algo)a;
		}
	}
	return best;
}
