/*
 * netprobe.c - see netprobe.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netprobe.h"

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

int net_calibrate(struct transport *t, const struct topology *topo, struct cost_model *m,
		  double budget)
{
	static const size_t sizes[] = { 4 << 10, 64 << 10, 1 << 20, 8 << 20 };
	enum { NSIZES = 4, REPS = 5 };
	int nalgo = 0, algos[ALLREDUCE_CONCRETE];
	double predicted = 0, *times;
	float *buf, *tmp;
	size_t maxn = sizes[NSIZES - 1] / sizeof(float);
	int rv = -1;

	for (int a = 0; a < ALLREDUCE_CONCRETE; a++) {
		double c[ALLREDUCE_CONCRETE];

		cost_model_choose(m, sizes[0], c);
		if (c[a] < 0)
			continue;
		algos[nalgo++] = a;
		for (int i = 0; i < NSIZES; i++)
			predicted += (REPS + 1) * cost_model_time(m, (enum allreduce_algo)a, sizes[i]);
	}
	m->ncal = 0;
	if (t->size < 2 || predicted > budget)
		return 0;
	times = calloc((size_t)ALLREDUCE_CONCRETE * NSIZES * REPS, sizeof(double));
	buf = calloc(maxn, sizeof(float));
	tmp = calloc(maxn, sizeof(float));
	if (!times || !buf || !tmp)
		goto out;
	for (int i = 0; i < NSIZES; i++)
		for (int rep = 0; rep <= REPS; rep++)
			for (int k = 0; k < nalgo; k++) {
				double t0;

				/* Everyone starts together: a ring of one float each. */
				if (allreduce_ring(t, buf, (size_t)t->size, tmp))
					goto out;
				t0 = now();
				if (allreduce_run((enum allreduce_algo)algos[k], t, topo, buf,
						  sizes[i] / sizeof(float), tmp))
					goto out;
				if (rep > 0)
					times[((size_t)algos[k] * NSIZES + (size_t)i) * REPS + (size_t)(rep - 1)] =
						now() - t0;
			}
	/* The slowest rank decides: a max through the float sum is not
	 * available, so each rank's median goes through the ring as a sum of
	 * one-hot slots. */
	{
		size_t slots = (size_t)ALLREDUCE_CONCRETE * NSIZES * (size_t)t->size;
		float *all = calloc(slots, sizeof(float)), *scratch = calloc(slots, sizeof(float));

		if (!all || !scratch) {
			free(all);
			free(scratch);
			goto out;
		}
		for (int a = 0; a < ALLREDUCE_CONCRETE; a++)
			for (int i = 0; i < NSIZES; i++) {
				double *v = times + ((size_t)a * NSIZES + (size_t)i) * REPS;

				qsort(v, REPS, sizeof(double), cmp_double);
				all[((size_t)a * NSIZES + (size_t)i) * (size_t)t->size + (size_t)t->rank] =
					(float)v[REPS / 2];
			}
		if (allreduce_ring(t, all, slots, scratch)) {
			free(all);
			free(scratch);
			goto out;
		}
		for (int i = 0; i < NSIZES; i++)
			m->cal_bytes[i] = sizes[i];
		for (int a = 0; a < ALLREDUCE_CONCRETE; a++) {
			m->cal_ok[a] = false;
			for (int k = 0; k < nalgo; k++)
				m->cal_ok[a] |= algos[k] == a;
			for (int i = 0; i < NSIZES; i++) {
				double worst = 0;

				for (int r = 0; r < t->size; r++) {
					double v = all[((size_t)a * NSIZES + (size_t)i) * (size_t)t->size + (size_t)r];

					worst = v > worst ? v : worst;
				}
				m->cal_seconds[a][i] = worst;
			}
		}
		m->ncal = NSIZES;
		free(all);
		free(scratch);
	}
	rv = 1;
out:
	free(times);
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
