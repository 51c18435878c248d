/*
 * netprobe.c - see netprobe.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netprobe.h"
#include "rng.h"

void probe_opts_default(struct probe_opts *o)
{
	o->small_bytes = 8;
	o->large_bytes = 1 << 20;
	o->reps = 5;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int net_tournament_rounds(int size)
{
	return size < 2 ? 0 : (size + (size & 1)) - 1;
}

/* The circle method: position 0 stays, the others rotate by one a round. */
void net_tournament_round(int size, int round, int *partner)
{
	int n = size + (size & 1);

	for (int r = 0; r < size; r++)
		partner[r] = -1;
	for (int i = 0; i < n / 2; i++) {
		int a = i == 0 ? 0 : 1 + (i - 1 + round) % (n - 1);
		int b = 1 + (n - 2 - i + round) % (n - 1);

		if (a < size && b < size) {
			partner[a] = b;
			partner[b] = a;
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median (and fastest) round trip of BYTES with PEER; the lower rank
 * starts each trip. */
static int round_trip(struct transport *t, int peer, void *buf, size_t bytes, int reps,
		      double *median, double *fastest)
{
	double times[16];

	if (reps > 16)
		reps = 16;
	for (int i = 0; i < reps; i++) {
		double t0 = now();

		if (t->rank < peer) {
			if (transport_sendrecv(t, buf, bytes, peer, NULL, 0, -1) ||
			    transport_sendrecv(t, NULL, 0, -1, buf, bytes, peer))
				return -1;
		} else {
			if (transport_sendrecv(t, NULL, 0, -1, buf, bytes, peer) ||
			    transport_sendrecv(t, buf, bytes, peer, NULL, 0, -1))
				return -1;
		}
		times[i] = now() - t0;
	}
	qsort(times, (size_t)reps, sizeof(double), cmp_double);
	*median = times[reps / 2];
	if (fastest)
		*fastest = times[0];
	return 0;
}

int net_probe(struct transport *t, struct cost_model *m, const struct probe_opts *o,
	      bool fit_mpi)
{
	int size = t->size, *partner = malloc((size_t)size * sizeof(int));
	size_t nmat = (size_t)size * size * 2 + 2;
	float *mat = calloc(nmat, sizeof(float)), *tmp = calloc(nmat, sizeof(float));
	void *buf = calloc(1, o->large_bytes > o->small_bytes ? o->large_bytes : o->small_bytes);
	int rv = -1;

	if (!partner || !mat || !tmp || !buf)
		goto out;
	/* Warm-up: open every connection the rounds will use. */
	for (int round = 0; round < net_tournament_rounds(size); round++) {
		double rtt_small, rtt_large, min_small, min_large;
		int p;

		net_tournament_round(size, round, partner);
		p = partner[t->rank];
		if (p < 0)
			continue;
		if (round_trip(t, p, buf, o->small_bytes, 1, &rtt_small, NULL) ||
		    round_trip(t, p, buf, o->small_bytes, o->reps, &rtt_small, &min_small) ||
		    round_trip(t, p, buf, o->large_bytes, o->reps, &rtt_large, &min_large))
			goto out;
		if (t->rank < p) {
			/* Latency: the typical trip.  Bandwidth: the fastest trips of
			 * each size, whose latencies are both near the link's least,
			 * so that jitter does not masquerade as transfer time. */
			double alpha = rtt_small / 2, beta;

			beta = (min_large - min_small) / 2 / (double)(o->large_bytes - o->small_bytes);
			(void)rtt_large;
			if (beta < 1e-13)
				beta = 1e-13;
			mat[2 * ((size_t)t->rank * size + p)] = (float)alpha;
			mat[2 * ((size_t)t->rank * size + p) + 1] = (float)beta;
			mat[2 * ((size_t)p * size + t->rank)] = (float)alpha;
			mat[2 * ((size_t)p * size + t->rank) + 1] = (float)beta;
		}
	}
	if (fit_mpi && t->ops->allreduce_native) {
		/* MPI_Allreduce as a whole at 4 KiB and 1 MiB: a line through both. */
		size_t n1 = 1024, n2 = 1 << 18;
		float *v = calloc(n2, sizeof(float));
		double t1[5], t2[5];

		if (!v)
			goto out;
		for (int i = 0; i < 5; i++) {
			double t0 = now();

			t->ops->allreduce_native(t, v, n1);
			t1[i] = now() - t0;
			t0 = now();
			t->ops->allreduce_native(t, v, n2);
			t2[i] = now() - t0;
		}
		free(v);
		qsort(t1, 5, sizeof(double), cmp_double);
		qsort(t2, 5, sizeof(double), cmp_double);
		if (t->rank == 0) {
			double beta = (t2[2] - t1[2]) / (double)((n2 - n1) * sizeof(float));

			if (beta < 1e-13)
				beta = 1e-13;
			mat[nmat - 2] = (float)(t1[2] - beta * (double)(n1 * sizeof(float)));
			mat[nmat - 1] = (float)beta;
			if (mat[nmat - 2] < 0)
				mat[nmat - 2] = 0;
		}
	}
	/* Each entry was written by one rank: the sum is exact and the same on
	 * every rank. */
	if (allreduce_ring(t, mat, nmat, tmp))
		goto out;
	for (int i = 0; i < size; i++)
		for (int j = 0; j < size; j++)
			if (i != j)
				*cost_model_link(m, i, j) = (struct link_cost){
					mat[2 * ((size_t)i * size + j)], mat[2 * ((size_t)i * size + j) + 1] };
	m->have_mpi = fit_mpi && t->ops->allreduce_native;
	if (m->have_mpi)
		m->mpi = (struct link_cost){ mat[nmat - 2], mat[nmat - 1] };
	rv = 0;
out:
	free(partner);
	free(mat);
	free(tmp);
	free(buf);
	return rv;
}

double net_trimmed_mean(double *v, int n)
{
	int cut = n / 5;
	double sum = 0;

	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	for (int i = cut; i < n - cut; i++)
		sum += v[i];
	return sum / (n - 2 * cut);
}

void net_round_order(int round, int n, int *order)
{
	struct rng r;

	rng_seed(&r, rng_mix(0x6e6574726f756e64ull, (uint64_t)round));
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {	/* Fisher-Yates */
		int j = (int)rng_below(&r, (uint32_t)i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
}

/* Everyone starts together: the library's barrier (a ring leaves the
 * ranks a message's latency apart, which small sizes would measure), else
 * a ring of one float each in SCRATCH (2 x size floats). */
static int start_together(struct transport *t, float *scratch)
{
	if (t->ops->barrier)
		return t->ops->barrier(t);
	memset(scratch, 0, 2 * (size_t)t->size * sizeof(float));
	return allreduce_ring(t, scratch, (size_t)t->size, scratch + t->size);
}

int net_calibrate(struct transport *t, const struct topology *topo, struct cost_model *m,
		  size_t max_bytes, double budget)
{
	enum { REPS = 15 };
	size_t sizes[COST_MAX_CAL], maxn, slots;
	int nalgo = 0, algos[ALLREDUCE_CONCRETE], nsizes = 0;
	double predicted = 0;
	float *buf = NULL, *tmp = NULL, *all = NULL, *scratch = NULL;
	int rv = -1;

	/* Every power of four from 4 KiB, so that a switch of MPI_Allreduce's
	 * own algorithm between two points is not lost to the interpolation,
	 * and MAX_BYTES, the largest message that will be reduced. */
	max_bytes -= max_bytes % sizeof(float);
	if (max_bytes < sizeof(float))
		max_bytes = sizeof(float);
	for (size_t b = 4 << 10; b < max_bytes && nsizes < COST_MAX_CAL - 1; b *= 4)
		sizes[nsizes++] = b;
	sizes[nsizes++] = max_bytes;
	maxn = max_bytes / sizeof(float);
	if (maxn < 2 * (size_t)t->size)
		maxn = 2 * (size_t)t->size;	/* start_together's scratch */

	for (int a = 0; a < ALLREDUCE_CONCRETE; a++) {
		double c[ALLREDUCE_CONCRETE];

		cost_model_choose(m, sizes[0], c);
		if (c[a] < 0)
			continue;
		algos[nalgo++] = a;
		for (int i = 0; i < nsizes; i++)
			predicted += (REPS + 1) *
				     cost_model_time(m, (enum allreduce_algo)a, sizes[i]);
	}
	m->ncal = 0;
	if (t->size < 2 || predicted > budget)
		return 0;
	/* Every rank's time of every run, in a slot of its own, so that one
	 * sum through the ring gives every rank all of them. */
	slots = (size_t)ALLREDUCE_CONCRETE * (size_t)nsizes * REPS * (size_t)t->size;
	all = calloc(slots, sizeof(float));
	scratch = calloc(slots, sizeof(float));
	buf = calloc(maxn, sizeof(float));
	tmp = calloc(maxn, sizeof(float));
	if (!all || !scratch || !buf || !tmp)
		goto out;
#define SLOT(a, i, rep, r) \
	((((size_t)(a) * (size_t)nsizes + (size_t)(i)) * REPS + (size_t)(rep)) * (size_t)t->size + (size_t)(r))
	/* Rounds that take every algorithm in turn, so that a busy spell of a
	 * shared machine hits them alike, in an order of their own (see
	 * net_round_order); one warm-up round per size. */
	for (int i = 0; i < nsizes; i++)
		for (int rep = 0; rep <= REPS; rep++) {
			int order[ALLREDUCE_CONCRETE];

			net_round_order(rep, nalgo, order);
			for (int j = 0; j < nalgo; j++) {
				int k = order[j];
				double t0;

				/* Fresh values, written just before, as a gradient
				 * bucket is by the backward pass. */
				for (size_t e = 0; e < sizes[i] / sizeof(float); e++)
					buf[e] = (float)(e % 13) * 0.5f;
				if (start_together(t, tmp))
					goto out;
				t0 = now();
				if (allreduce_run((enum allreduce_algo)algos[k], t, topo, buf,
						  sizes[i] / sizeof(float), tmp))
					goto out;
				if (rep > 0)
					all[SLOT(algos[k], i, rep - 1, t->rank)] = (float)(now() - t0);
			}
		}
	if (allreduce_ring(t, all, slots, scratch))
		goto out;
	/* A run takes as long as its slowest rank; the runs' trimmed mean
	 * counts. */
	for (int i = 0; i < nsizes; i++)
		m->cal_bytes[i] = sizes[i];
	for (int a = 0; a < ALLREDUCE_CONCRETE; a++) {
		m->cal_ok[a] = false;
		for (int k = 0; k < nalgo; k++)
			m->cal_ok[a] |= algos[k] == a;
		for (int i = 0; i < nsizes && m->cal_ok[a]; i++) {
			double worst[REPS];

			for (int rep = 0; rep < REPS; rep++) {
				worst[rep] = 0;
				for (int r = 0; r < t->size; r++) {
					double v = all[SLOT(a, i, rep, r)];

					worst[rep] = v > worst[rep] ? v : worst[rep];
				}
			}
			m->cal_seconds[a][i] = net_trimmed_mean(worst, REPS);
		}
	}
#undef SLOT
	m->ncal = nsizes;
	rv = 1;
out:
	free(all);
	free(scratch);
	free(buf);
	free(tmp);
	return rv;
}

void net_report(FILE *f, const struct cost_model *m, const size_t *sizes, int nsizes)
{
	fprintf(f, "network: %d ranks on %d node%s;", m->size, m->topo.nnodes,
		m->topo.nnodes > 1 ? "s" : "");
	for (int r = 0; r < m->size; r++)
		fprintf(f, " %d@%d", r, m->topo.node[r]);
	fprintf(f, " (rank@node)\nlatency us / bandwidth MB/s, from row to column:\n%6s", "");
	for (int j = 0; j < m->size; j++)
		fprintf(f, " %15d", j);
	fprintf(f, "\n");
	for (int i = 0; i < m->size; i++) {
		fprintf(f, "%6d", i);
		for (int j = 0; j < m->size; j++) {
			const struct link_cost *l = &m->links[i * m->size + j];

			if (i == j)
				fprintf(f, " %15s", "-");
			else
				fprintf(f, " %7.0f/%-7.0f", l->alpha * 1e6, 1e-6 / l->beta);
		}
		fprintf(f, "\n");
	}
	if (m->have_mpi)
		fprintf(f, "MPI_Allreduce: %.0f us + %.0f MB/s\n", m->mpi.alpha * 1e6, 1e-6 / m->mpi.beta);
	fprintf(f, "cost model (%s), ms:     ring       rd     hier      mpi   choice\n",
		m->ncal ? "calibrated" : "from the links");
	for (int i = 0; i < nsizes; i++) {
		double costs[ALLREDUCE_CONCRETE];
		enum allreduce_algo a = cost_model_choose(m, sizes[i], costs);

		fprintf(f, "%9zu KiB", sizes[i] >> 10);
		for (int k = 0; k < ALLREDUCE_CONCRETE; k++)
			if (costs[k] < 0)
				fprintf(f, " %8s", "-");
			else
				fprintf(f, " %8.3f", costs[k] * 1e3);
		fprintf(f, "   %s\n", allreduce_algo_name(a));
	}
}
