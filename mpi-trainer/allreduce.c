/*
 * allreduce.c - see allreduce.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allreduce.h"
#include "costmodel.h"

static const char *const algo_names[] = { "ring", "rd", "hier", "mpi", "auto" };

int allreduce_algo_parse(const char *s, enum allreduce_algo *algo)
{
	for (int i = 0; i <= ALLREDUCE_AUTO; i++)
		if (!strcmp(s, algo_names[i])) {
			*algo = (enum allreduce_algo)i;
			return 0;
		}
	return -1;
}

const char *allreduce_algo_name(enum allreduce_algo algo)
{
	return algo <= ALLREDUCE_AUTO ? algo_names[algo] : "?";
}

/* AUTO's choice depends on measured timings, so another run may choose
 * otherwise; MPI_Allreduce's order is unspecified. */
bool allreduce_algo_deterministic(enum allreduce_algo algo)
{
	return algo != ALLREDUCE_MPI && algo != ALLREDUCE_AUTO;
}

int topology_flat(struct topology *topo, int size)
{
	topo->size = topo->nnodes = size;
	topo->node = malloc((size_t)size * sizeof(int));
	if (!topo->node)
		return -1;
	for (int r = 0; r < size; r++)
		topo->node[r] = r;
	return 0;
}

int topology_from_names(struct topology *topo, const char *const *names, int size)
{
	topo->size = size;
	topo->nnodes = 0;
	topo->node = malloc((size_t)size * sizeof(int));
	if (!topo->node)
		return -1;
	for (int r = 0; r < size; r++) {
		int same = -1;

		for (int q = 0; q < r && same < 0; q++)
			if (!strcmp(names[q], names[r]))
				same = topo->node[q];
		topo->node[r] = same >= 0 ? same : topo->nnodes++;
	}
	return 0;
}

void topology_free(struct topology *topo)
{
	free(topo->node);
	topo->node = NULL;
}

static int view_sendrecv(struct transport *t, const void *sbuf, size_t sbytes, int dest,
			 void *rbuf, size_t rbytes, int src)
{
	struct transport_view *v = (struct transport_view *)t;

	return transport_sendrecv(v->parent, sbuf, sbytes, dest >= 0 ? v->ranks[dest] : -1,
				  rbuf, rbytes, src >= 0 ? v->ranks[src] : -1);
}

static void view_destroy(struct transport *t)
{
	(void)t;
}

static const struct transport_ops view_ops = {
	.sendrecv = view_sendrecv,
	.allreduce_native = NULL,
	.destroy = view_destroy,
};

void transport_view_init(struct transport_view *v, struct transport *parent,
			 const int *ranks, int count, int my_index)
{
	v->base.ops = &view_ops;
	v->base.rank = my_index;
	v->base.size = count;
	v->parent = parent;
	v->ranks = ranks;
}

size_t allreduce_chunk_begin(size_t n, int size, int i)
{
	size_t q = n / (size_t)size, r = n % (size_t)size;

	/* floor(n * i / size) without overflow */
	return q * (size_t)i + r * (size_t)i / (size_t)size;
}

static int mod(int a, int m)
{
	return ((a % m) + m) % m;
}

int allreduce_ring(struct transport *t, float *buf, size_t n, float *tmp)
{
	int size = t->size, rank = t->rank;
	int right = (rank + 1) % size, left = mod(rank - 1, size);

	if (size == 1 || n == 0)
		return 0;
	/* Reduce-scatter: after size-1 steps rank r holds the sum of chunk r+1. */
	for (int k = 0; k < size - 1; k++) {
		int sc = mod(rank - k, size), rc = mod(rank - k - 1, size);
		size_t sb = allreduce_chunk_begin(n, size, sc), se = allreduce_chunk_begin(n, size, sc + 1);
		size_t rb = allreduce_chunk_begin(n, size, rc), re = allreduce_chunk_begin(n, size, rc + 1);

		if (transport_sendrecv(t, buf + sb, (se - sb) * sizeof(float), right,
				       tmp, (re - rb) * sizeof(float), left))
			return -1;
		for (size_t i = 0; i < re - rb; i++)
			buf[rb + i] += tmp[i];
	}
	/* All-gather: pass the summed chunks around once more. */
	for (int k = 0; k < size - 1; k++) {
		int sc = mod(rank + 1 - k, size), rc = mod(rank - k, size);
		size_t sb = allreduce_chunk_begin(n, size, sc), se = allreduce_chunk_begin(n, size, sc + 1);
		size_t rb = allreduce_chunk_begin(n, size, rc), re = allreduce_chunk_begin(n, size, rc + 1);

		if (transport_sendrecv(t, buf + sb, (se - sb) * sizeof(float), right,
				       buf + rb, (re - rb) * sizeof(float), left))
			return -1;
	}
	return 0;
}

float allreduce_ring_reference(const float *values, int size, size_t n, size_t index)
{
	int c = 0;
	float s;

	while (c + 1 < size && allreduce_chunk_begin(n, size, c + 1) <= index)
		c++;
	s = values[c];
	for (int j = 1; j < size; j++)
		s = values[(c + j) % size] + s;
	return s;
}

static void add_into(float *restrict dst, const float *restrict src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

int allreduce_rd(struct transport *t, float *buf, size_t n, float *tmp)
{
	int size = t->size, rank = t->rank, p = 1, extra, q;

	if (size == 1 || n == 0)
		return 0;
	while (p * 2 <= size)
		p *= 2;
	extra = size - p;
	/* Fold: of the first 2*extra ranks, each even one hands its vector to
	 * the odd one above it and waits. */
	if (rank < 2 * extra) {
		if (rank % 2 == 0) {
			if (transport_sendrecv(t, buf, n * sizeof(float), rank + 1, NULL, 0, -1))
				return -1;
			q = -1;
		} else {
			if (transport_sendrecv(t, NULL, 0, -1, tmp, n * sizeof(float), rank - 1))
				return -1;
			add_into(buf, tmp, n);
			q = rank / 2;
		}
	} else {
		q = rank - extra;
	}
	if (q >= 0) {
		/* Rank of power-of-two position j in the transport. */
#define RD_RANK(j) ((j) < extra ? 2 * (j) + 1 : (j) + extra)
		int clo = 0, chi = p;

		for (int mask = p / 2; mask >= 1; mask /= 2) {
			int partner = q ^ mask, cmid = (clo + chi) / 2;
			int keep_lo = q < partner ? clo : cmid, keep_hi = q < partner ? cmid : chi;
			int send_lo = q < partner ? cmid : clo, send_hi = q < partner ? chi : cmid;
			size_t kb = allreduce_chunk_begin(n, p, keep_lo), ke = allreduce_chunk_begin(n, p, keep_hi);
			size_t sb = allreduce_chunk_begin(n, p, send_lo), se = allreduce_chunk_begin(n, p, send_hi);

			if (transport_sendrecv(t, buf + sb, (se - sb) * sizeof(float), RD_RANK(partner),
					       tmp, (ke - kb) * sizeof(float), RD_RANK(partner)))
				return -1;
			add_into(buf + kb, tmp, ke - kb);
			clo = keep_lo;
			chi = keep_hi;
		}
		for (int mask = 1; mask < p; mask *= 2) {
			int partner = q ^ mask;
			/* The partner holds the neighbouring block of the same size. */
			int width = chi - clo, plo = (q & mask) ? clo - width : chi, phi = plo + width;
			size_t mb = allreduce_chunk_begin(n, p, clo), me = allreduce_chunk_begin(n, p, chi);
			size_t pb = allreduce_chunk_begin(n, p, plo), pe = allreduce_chunk_begin(n, p, phi);

			if (transport_sendrecv(t, buf + mb, (me - mb) * sizeof(float), RD_RANK(partner),
					       buf + pb, (pe - pb) * sizeof(float), RD_RANK(partner)))
				return -1;
			clo = clo < plo ? clo : plo;
			chi = chi > phi ? chi : phi;
		}
#undef RD_RANK
	}
	/* Unfold: the odd ranks return the result to their even partners. */
	if (rank < 2 * extra) {
		if (rank % 2 == 1)
			return transport_sendrecv(t, buf, n * sizeof(float), rank - 1, NULL, 0, -1);
		return transport_sendrecv(t, NULL, 0, -1, buf, n * sizeof(float), rank + 1);
	}
	return 0;
}

int allreduce_hier(struct transport *t, const struct topology *topo, float *buf,
		   size_t n, float *tmp)
{
	int size = t->size, rank = t->rank, me = topo->node[rank];
	int leader = -1, *leaders = NULL, nleaders = 0, my_index = -1, rv = -1;
	struct transport_view v;

	if (size == 1 || n == 0)
		return 0;
	if (topo->size != size)
		return -1;
	for (int r = 0; r < size && leader < 0; r++)
		if (topo->node[r] == me)
			leader = r;
	if (rank != leader)
		/* Up to the node's leader, and the result back. */
		return transport_sendrecv(t, buf, n * sizeof(float), leader, NULL, 0, -1) ||
		       transport_sendrecv(t, NULL, 0, -1, buf, n * sizeof(float), leader) ? -1 : 0;

	for (int r = rank + 1; r < size; r++)
		if (topo->node[r] == me) {
			if (transport_sendrecv(t, NULL, 0, -1, tmp, n * sizeof(float), r))
				return -1;
			add_into(buf, tmp, n);
		}
	leaders = calloc((size_t)topo->nnodes, sizeof(int));
	if (!leaders)
		return -1;
	for (int r = 0; r < size; r++) {
		bool first = true;

		for (int q = 0; q < r && first; q++)
			first = topo->node[q] != topo->node[r];
		if (first) {
			if (r == rank)
				my_index = nleaders;
			leaders[nleaders++] = r;
		}
	}
	transport_view_init(&v, t, leaders, nleaders, my_index);
	if (allreduce_ring(&v.base, buf, n, tmp))
		goto fail;
	for (int r = rank + 1; r < size; r++)
		if (topo->node[r] == me &&
		    transport_sendrecv(t, buf, n * sizeof(float), r, NULL, 0, -1))
			goto fail;
	rv = 0;
fail:
	free(leaders);
	return rv;
}

int allreduce_run(enum allreduce_algo algo, struct transport *t,
		  const struct topology *topo, float *buf, size_t n, float *tmp)
{
	switch (algo) {
	case ALLREDUCE_RING:
		return allreduce_ring(t, buf, n, tmp);
	case ALLREDUCE_RD:
		return allreduce_rd(t, buf, n, tmp);
	case ALLREDUCE_HIER:
		if (topo)
			return allreduce_hier(t, topo, buf, n, tmp);
		return allreduce_ring(t, buf, n, tmp);	/* every rank its own node */
	case ALLREDUCE_MPI:
		return t->ops->allreduce_native ? t->ops->allreduce_native(t, buf, n) : -1;
	default:
		return -1;
	}
}

int aggregator_init(struct aggregator *a, struct transport *t, const struct topology *topo,
		    enum allreduce_algo algo, size_t bucket_bytes, size_t max_elems)
{
	memset(a, 0, sizeof(*a));
	a->t = t;
	a->topo = topo;
	a->algo = algo;
	a->bucket_elems = bucket_bytes / sizeof(float);
	if (a->bucket_elems == 0)
		a->bucket_elems = 1;
	if (a->bucket_elems > max_elems)
		a->bucket_elems = max_elems ? max_elems : 1;
	if (algo == ALLREDUCE_MPI && !t->ops->allreduce_native)
		return -1;
	a->tmp = malloc(a->bucket_elems * sizeof(float));
	return a->tmp ? 0 : -1;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int aggregator_allreduce(struct aggregator *a, float *buf, size_t n)
{
	double t0 = now_seconds();
	int rv = 0;

	for (size_t off = 0; off < n && rv == 0; off += a->bucket_elems) {
		size_t len = n - off < a->bucket_elems ? n - off : a->bucket_elems;
		enum allreduce_algo algo = a->algo;

		if (algo == ALLREDUCE_AUTO)
			algo = a->model ? cost_model_choose(a->model, len * sizeof(float), NULL)
					: ALLREDUCE_RING;
		a->last_choice = algo;
		a->buckets[algo]++;
		rv = allreduce_run(algo, a->t, a->topo, buf + off, len, a->tmp);
	}
	a->comm_seconds += now_seconds() - t0;
	a->bytes += n * sizeof(float);
	a->calls++;
	return rv;
}

void aggregator_free(struct aggregator *a)
{
	free(a->tmp);
	a->tmp = NULL;
}
