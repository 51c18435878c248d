/*
 * quorate-train - data-parallel training of a small network on Fashion-MNIST
 * (or MNIST), bit-reproducible and checkpointed.
 *
 * Read it top to bottom: options; setup (data, model, resume); the training
 * loop (per step: this rank's slice of the global batch, forward and
 * backward, gradient validation, one all-reduce of gradients and step
 * counters, the optimizer update); evaluation and the epoch line;
 * checkpoints on signals; the final digest and each rank's contribution.
 *
 * Every rank holds the same parameters at every step: the all-reduce gives
 * every rank the same bits, and every rank applies the same update.  Rank 0
 * of the replica group writes checkpoints and the metrics file and prints
 * the result on stdout (test accuracy and model digest, nothing that depends
 * on timing, so that replicas of a run print the same bytes).  Progress goes
 * to stderr.
 */
#define _GNU_SOURCE		/* sched_getaffinity, CPU_COUNT */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <json.h>

#include "adapt.h"
#include "allreduce.h"
#include "backend.h"
#ifdef HAVE_CUDA_BACKEND
#include "backend_cuda.h"
#endif
#include "balance.h"
#include "checkpoint.h"
#include "comm.h"
#include "costmodel.h"
#include "dataset.h"
#include "gpu_host.h"
#include "hash.h"
#include "linkemu.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "netprobe.h"
#include "optim.h"
#include "options.h"
#include "rng.h"
#include "shard.h"
#include "train.h"

#define EXIT_USAGE 2
/* Checkpointed on a signal; run again with --resume (sysexits' EX_TEMPFAIL). */
#define EXIT_INTERRUPTED 75
#define EVAL_CHUNK 128

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

double train_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the trainer ---- */

/* Counters that travel after the payload in the all-reduce: the step's (or
 * the local-SGD round's) totals, then three slots per rank (compute seconds
 * and samples since the last rebalancing point; compute seconds of the
 * local-SGD round), each written by its rank only, so that every rank reads
 * the same numbers. */
enum {
	META_SAMPLES, META_REJECTED, META_STOP, META_LOSS, META_CORRECT,
	META_STEP_SECONDS,	/* local SGD: compute seconds per local step */
	META_NET_SECONDS,	/* local SGD: the previous synchronisation's network time */
	META_RANKS = 8,
};
#define META_MAX_RANKS ((MODEL_GRAD_EXTRA - META_RANKS) / 3)

struct trainer {
	const struct options *o;
	struct comm *c;
	struct data_split data;
	struct model_config cfg;
	struct backend *b;
	struct transport *net;			/* the gradients' transport (maybe emulated) */
	struct cost_model model;		/* measured links, when probed */
	bool probed;
	enum allreduce_algo *choices;		/* per bucket, as last logged */
	struct aggregator agg;
	struct compressor compress;		/* --compress */
	struct balance bal;			/* --rebalance */
	double bal_compute;			/* this rank since the last rebalancing point */
	uint32_t bal_samples;
	int64_t last_rebalance, last_checkpoint, last_probe;	/* steps */
	bool local_sgd;				/* --local-steps or --adapt */
	int h;					/* local steps per round */
	float *anchor, *outer_m, *delta;	/* last synchronised parameters, outer momentum */
	struct {
		uint32_t samples, rejected, steps;
		double loss, compute;
		long correct;
	} round;				/* the local-SGD round in progress */
	double last_net;			/* network seconds of the last synchronisation */
	double net_ema, step_ema;		/* --adapt: smoothed network and step seconds */
	double last_update;			/* seconds of the last synchronous update */
	float meta[MODEL_GRAD_EXTRA];		/* the step's counters (see META_*) */
	float *grads_host;			/* device gradients' host copy, when needed */
	bool device_allreduce;			/* the backend sums its own gradients */
	double eval_seconds;			/* spent evaluating, this run */
	int64_t last_eval;			/* step of the last --eval-every-steps */
	bool stop_early;			/* --stop-at-accuracy or --time-limit */
	struct metrics metrics;
	struct train_state st;		/* identity and position; st.ranks: earlier runs (rank 0) */
	struct rng rng;
	uint32_t *perm;
	uint32_t steps_per_epoch;
	size_t nparams;
	float *host_params, *host_m, *host_v;	/* for digests and checkpoints */
	struct rank_contribution mine;		/* this rank, this run */
	double run_start;			/* train_now() minus earlier runs' time */
	bool leader;				/* rank 0 of the replica group */
	double last_test_acc;
	char ckpt_path[4096];
	char metrics_path[4096];
};

/* PATH with ".replicaN" before its extension when there are several replica
 * groups, so that replicas on a shared file system keep apart. */
static void replica_path(const char *path, const struct comm *c, char *out, size_t len)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');

	if (c->replicas <= 1) {
		snprintf(out, len, "%s", path);
		return;
	}
	if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
		snprintf(out, len, "%s.replica%d", path, c->replica);
	else
		snprintf(out, len, "%.*s.replica%d%s", (int)(dot - path), path, c->replica, dot);
}

/* Every rank learns whether all ranks succeeded. */
static bool all_ok(struct comm *c, bool ok)
{
	int64_t bad = !ok;

	if (comm_sum_i64(c, &bad, 1))
		return false;
	return bad == 0;
}

static int choose_threads(const struct comm *c, int requested)
{
	cpu_set_t set;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int avail;

	if (requested > 0)
		return requested;
	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	avail = CPU_COUNT(&set);
	if (online > 0 && avail < online)
		return avail > 0 ? avail : 1;	/* the launcher bound this rank to its CPUs */
	avail /= c->local_size > 0 ? c->local_size : 1;
	return avail > 0 ? avail : 1;
}

static void state_identity(const struct trainer *t, struct train_state *st)
{
	const struct options *o = t->o;

	memset(st, 0, sizeof(*st));
	snprintf(st->model, sizeof(st->model), "%s", model_kind_name(o->model));
	snprintf(st->optimizer, sizeof(st->optimizer), "%s", optim_kind_name(o->optim.kind));
	snprintf(st->schedule, sizeof(st->schedule), "%s", lr_schedule_name(o->optim.schedule));
	st->seed = o->seed;
	st->epochs = o->epochs;
	st->batch = o->batch;
	st->lr = o->optim.lr;
	st->momentum = o->optim.kind == OPTIM_SGD ? o->optim.momentum : 0;
	st->weight_decay = o->optim.weight_decay;
	st->warmup_steps = o->optim.warmup_steps;
	st->augment = o->augment_shift;
	st->local_steps = o->adapt ? -1 : o->local_steps;
	st->train_count = t->data.train.count;
	st->nparams = t->nparams;
	st->world_size = t->c->size;
}

/* The GPU backend on this rank's device, connected to the others by NCCL
 * (the unique id travels by MPI). */
static int create_gpu_backend(struct trainer *t, const struct optim_config *oc, int max_batch,
			      struct input_norm norm, char *err, size_t errlen)
{
#ifdef HAVE_CUDA_BACKEND
	unsigned char id[BACKEND_CUDA_ID_BYTES] = { 0 };
	int devices, device;
	char env[256];

	if (t->o->deterministic) {
		gpu_deterministic_env(env, sizeof(env));
		if (*env && t->leader)
			log_info("deterministic GPU run: %s", env);
	}
	devices = backend_cuda_devices();
	device = gpu_device_for(t->c->local_rank, devices);
	if (device < 0) {
		snprintf(err, errlen, "--device gpu: no CUDA device visible to this rank");
		return -1;
	}
	t->b = backend_cuda_create(&t->cfg, oc, max_batch, norm, t->o->seed, device, err, errlen);
	if (!t->b)
		return -1;
	if (t->leader && backend_cuda_nccl_id(id, sizeof(id))) {
		snprintf(err, errlen, "ncclGetUniqueId failed");
		return -1;
	}
	if (comm_bcast(t->c, id, sizeof(id), 0) ||
	    backend_cuda_connect(t->b, t->c->rank, t->c->size, id, err, errlen))
		return -1;
	log_verbose("rank %d: GPU %d of %d", t->c->rank, device, devices);
	return 0;
#else
	(void)t; (void)oc; (void)max_batch; (void)norm;
	snprintf(err, errlen, "--device gpu: built without CUDA");
	return -1;
#endif
}

static int setup(struct trainer *t, char *err, size_t errlen)
{
	const struct options *o = t->o;
	struct optim_config oc = o->optim;
	struct input_norm norm;
	int local_batch, threads;

	if (o->hdf5_unverified && t->c->rank == 0)
		log_warning("--hdf5-unverified: an HDF5 --data file without a quorate header is "
			 "parsed unchecked; Debian's libhdf5 1.10.8 can crash on a malformed one");
	if (dataset_load(o->data, o->hdf5_unverified ? DATASET_HDF5_UNVERIFIED : 0, &t->data,
			 err, errlen))
		return -1;
	dataset_limit(&t->data, o->limit);
	if (o->batch < t->c->size) {
		snprintf(err, errlen, "--batch: %d is fewer than the %d ranks of the group",
			 o->batch, t->c->size);
		return -1;
	}
	threads = choose_threads(t->c, o->threads);
	openblas_set_num_threads(threads);
	norm = input_norm_of(&t->data.train);
	model_config_default(&t->cfg, o->model, (int)t->data.train.rows,
			     (int)t->data.train.cols, DATASET_CLASSES);
	t->steps_per_epoch = shard_steps(t->data.train.count, (uint32_t)o->batch);
	oc.total_steps = (long)t->steps_per_epoch * o->epochs;
	local_batch = (o->batch + t->c->size - 1) / t->c->size;
	if (o->rebalance)
		local_batch = o->batch;		/* one rank may take the whole batch */
	if (o->gpu) {
		if (create_gpu_backend(t, &oc, local_batch > EVAL_CHUNK ? local_batch : EVAL_CHUNK,
				       norm, err, errlen))
			return -1;
	} else {
		t->b = backend_cpu_create(&t->cfg, &oc, local_batch > EVAL_CHUNK ? local_batch :
					  EVAL_CHUNK, norm, o->seed, err, errlen);
	}
	if (!t->b)
		return -1;
	t->nparams = t->b->layout.nparams;
	t->perm = malloc(t->data.train.count * sizeof(uint32_t));
	t->host_params = malloc(t->nparams * sizeof(float));
	t->host_m = malloc(t->nparams * sizeof(float));
	t->host_v = malloc(t->nparams * sizeof(float));
	if (!t->perm || !t->host_params || !t->host_m || !t->host_v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->net = t->c->transport;
	if (link_emu_active(&o->emu)) {
		t->net = transport_emu_create(t->c->transport, &t->c->topo, &o->emu);
		if (!t->net) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (aggregator_init(&t->agg, t->net, &t->c->topo, o->allreduce, o->bucket_bytes,
			    t->nparams + MODEL_GRAD_EXTRA)) {
		snprintf(err, errlen, "cannot set up the %s all-reduce%s", allreduce_algo_name(o->allreduce),
			 o->allreduce == ALLREDUCE_MPI ? " (no MPI_Allreduce here)" : "");
		return -1;
	}
	/* Gradients on a device are summed there (NCCL) unless something that
	 * works on host memory was asked for. */
	t->device_allreduce = t->b->grads_on_device && t->b->ops->allreduce &&
			      !o->allreduce_given && o->compress == COMPRESS_NONE &&
			      !link_emu_active(&o->emu);
	if (t->b->grads_on_device && !t->device_allreduce &&
	    !(t->grads_host = malloc((t->nparams + MODEL_GRAD_EXTRA) * sizeof(float)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (o->compress != COMPRESS_NONE &&
	    compressor_init(&t->compress, o->compress, o->compress_ratio, t->nparams, t->c->size)) {
		snprintf(err, errlen, "out of memory for --compress");
		return -1;
	}
	if (o->rebalance) {
		if (t->c->size > META_MAX_RANKS) {
			snprintf(err, errlen, "--rebalance: at most %d ranks, this group has %d",
				 META_MAX_RANKS, t->c->size);
			return -1;
		}
		if (balance_init(&t->bal, t->c->size, (uint32_t)o->batch)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->bal.threshold = o->straggler_threshold;
		t->bal.rounds = o->straggler_rounds;
		t->bal.probation = o->probation;
		for (int r = 0; r < t->c->size; r++)
			t->bal.next_probation[r] = o->probation;
	}
	t->local_sgd = o->local_steps > 0 || o->adapt;
	t->h = o->local_steps > 0 ? o->local_steps : 1;
	if (t->local_sgd) {
		t->anchor = malloc(t->nparams * sizeof(float));
		t->outer_m = calloc(t->nparams, sizeof(float));
		t->delta = malloc((t->nparams + MODEL_GRAD_EXTRA) * sizeof(float));
		if (!t->anchor || !t->outer_m || !t->delta) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	state_identity(t, &t->st);
	rng_seed(&t->rng, rng_mix(o->seed, 0x73687566));	/* "shuf" */
	memcpy(t->st.rng, t->rng.s, sizeof(t->st.rng));
	if (t->leader)
		log_info("%s (%zu parameters), %s lr %g %s, batch %d over %d rank%s, "
			 "%u training / %u test samples, %u steps per epoch, %d OpenBLAS "
			 "thread%s per rank, all-reduce %s%s",
			 model_kind_name(o->model), t->nparams, optim_kind_name(oc.kind),
			 (double)oc.lr, lr_schedule_name(oc.schedule), o->batch, t->c->size,
			 t->c->size > 1 ? "s" : "", t->data.train.count, t->data.test.count,
			 t->steps_per_epoch, threads, threads > 1 ? "s" : "",
			 t->device_allreduce ? "nccl (on the device)" : allreduce_algo_name(o->allreduce),
			 o->deterministic ? " (deterministic)" : "");
	if (t->leader && t->local_sgd)
		log_info("local SGD: %s local steps per round, outer Nesterov step lr %g momentum %g",
			 o->adapt ? "adaptive" : "fixed", (double)o->adapt_cfg.outer_lr,
			 (double)o->adapt_cfg.outer_momentum);
	if (t->leader && o->compress != COMPRESS_NONE)
		log_info("compression %s: %zu bytes sent per all-reduce instead of %zu",
			 o->compress == COMPRESS_FP16 ? "fp16" : "top-k",
			 compressed_bytes(&t->compress, t->nparams, t->c->size),
			 t->c->size > 1 ? 2 * (size_t)(t->c->size - 1) * (t->nparams / (size_t)t->c->size) *
			 sizeof(float) : 0);
	if (t->leader && o->rebalance)
		log_info("rebalancing every %ld steps; stragglers over %g x the median for %d points "
			 "are excluded, for %d points at first", o->rebalance_every,
			 o->straggler_threshold, o->straggler_rounds, o->probation);
	if (t->leader && link_emu_active(&o->emu)) {
		for (int i = 0; i < o->emu.nphases; i++)
			log_info("emulated links%s: profile %s from step %ld", o->emu.all_links ? "" :
				 " between nodes", o->emu.phase[i].name, o->emu.phase[i].from_step);
		if (o->emu.nrules)
			log_info("emulated links: %d per-link rule%s", o->emu.nrules,
				 o->emu.nrules > 1 ? "s" : "");
	}
	return 0;
}

/* Measure the links and let the cost model choose per bucket; log every
 * choice with its numbers (collective). */
static int measure_links(struct trainer *t, const char *when)
{
	const struct options *o = t->o;
	struct probe_opts po;
	size_t total = t->nparams + MODEL_GRAD_EXTRA, nbuckets, off;
	double t0 = train_now();

	if (!t->probed) {
		if (cost_model_init(&t->model, t->c->size, &t->c->topo, 0, 0))
			return -1;
		nbuckets = (total + t->agg.bucket_elems - 1) / t->agg.bucket_elems;
		t->choices = calloc(nbuckets, sizeof(*t->choices));
		if (!t->choices)
			return -1;
		for (size_t i = 0; i < nbuckets; i++)
			t->choices[i] = (enum allreduce_algo)-1;
	}
	probe_opts_default(&po);
	if (net_probe(t->net, &t->model, &po, !o->deterministic))
		return -1;
	t->model.allow_mpi = !o->deterministic;
	/* Calibrated up to the largest bucket, the largest message reduced. */
	if (net_calibrate(t->net, &t->c->topo, &t->model, sizeof(float) *
			  (total < t->agg.bucket_elems ? total : t->agg.bucket_elems),
			  NET_CALIBRATE_BUDGET) < 0)
		return -1;
	t->probed = true;
	t->last_probe = t->st.step;
	if (o->allreduce == ALLREDUCE_AUTO)
		t->agg.model = &t->model;
	if (!t->leader)
		return 0;
	log_info("%s: links measured in %.2f s%s", when, train_now() - t0, t->model.ncal ?
		 "; algorithms timed whole" : "; calibration skipped (links too slow to time "
		 "every algorithm): link-by-link model");
	if (o->net_report) {
		size_t sizes[] = { 4 << 10, 64 << 10, 1 << 20, total * sizeof(float) < (64u << 20) ?
				   total * sizeof(float) : 64u << 20, 64 << 20 };

		net_report(stderr, &t->model, sizes, 5);
	}
	if (o->allreduce != ALLREDUCE_AUTO)
		return 0;
	off = 0;
	for (size_t i = 0; off < total; i++, off += t->agg.bucket_elems) {
		size_t len = total - off < t->agg.bucket_elems ? total - off : t->agg.bucket_elems;
		double c[ALLREDUCE_CONCRETE];
		enum allreduce_algo a = cost_model_choose(&t->model, len * sizeof(float), c);

		if (a != t->choices[i]) {
			char costs[160] = "";
			size_t used = 0;

			for (int k = 0; k < ALLREDUCE_CONCRETE && used < sizeof(costs); k++) {
				if (c[k] < 0)
					used += (size_t)snprintf(costs + used, sizeof(costs) - used,
								 "%s%s -", k ? ", " : "",
								 allreduce_algo_name(k));
				else
					used += (size_t)snprintf(costs + used, sizeof(costs) - used,
								 "%s%s %.3f", k ? ", " : "",
								 allreduce_algo_name(k), c[k] * 1e3);
			}
			log_info("%s: bucket %zu (%zu KiB): %s%s%s (cost model, ms: %s)", when, i,
				 len * sizeof(float) >> 10, (int)t->choices[i] >= 0 ?
				 allreduce_algo_name(t->choices[i]) : "", (int)t->choices[i] >= 0 ?
				 " -> " : "", allreduce_algo_name(a), costs);
		}
		t->choices[i] = a;
	}
	return 0;
}

/* Rank 0 reads the checkpoint and hands it to the others, so that only rank 0
 * needs to see the file.  Returns 0 (resumed or fresh start) or -1. */
static int resume(struct trainer *t, char *err, size_t errlen)
{
	struct comm *c = t->c;
	struct train_state want = t->st, got;
	int64_t status = 0;	/* 0 fresh, 1 resumed, -1 error */
	bool have_v = t->o->optim.kind == OPTIM_ADAM;

	memset(&got, 0, sizeof(got));
	if (t->leader) {
		if (access(t->ckpt_path, F_OK) != 0) {
			log_info("no checkpoint %s yet: starting from the beginning", t->ckpt_path);
		} else if (checkpoint_read(t->ckpt_path, &want, &t->b->layout, &got, t->host_params,
					   t->host_m, have_v ? t->host_v : NULL, t->outer_m,
					   err, errlen)) {
			status = -1;
		} else {
			status = 1;
		}
	}
	if (comm_bcast(c, &status, sizeof(status), 0) || status < 0) {
		if (!t->leader)
			snprintf(err, errlen, "rank 0 could not read the checkpoint");
		return -1;
	}
	if (status == 0)
		return 0;
	/* Everything but the pointer travels as bytes. */
	{
		struct rank_contribution *ranks = got.ranks;

		got.ranks = NULL;
		if (comm_bcast(c, &got, sizeof(got), 0) ||
		    comm_bcast(c, t->host_params, t->nparams * sizeof(float), 0) ||
		    comm_bcast(c, t->host_m, t->nparams * sizeof(float), 0) ||
		    (have_v && comm_bcast(c, t->host_v, t->nparams * sizeof(float), 0)) ||
		    (t->outer_m && comm_bcast(c, t->outer_m, t->nparams * sizeof(float), 0))) {
			free(ranks);
			snprintf(err, errlen, "broadcasting the checkpoint failed");
			return -1;
		}
		got.ranks = t->leader ? ranks : NULL;
	}
	if (t->b->ops->write_params(t->b, t->host_params) ||
	    t->b->ops->write_optim(t->b, t->host_m, have_v ? t->host_v : NULL)) {
		train_state_free(&got);
		snprintf(err, errlen, "loading the checkpoint into the backend failed");
		return -1;
	}
	if (got.world_size != c->size) {
		if (t->leader)
			log_warning("%s was written by %d ranks, this run has %d: training goes on, "
				    "but not bit-identically to an uninterrupted run", t->ckpt_path,
				    got.world_size, c->size);
		free(got.ranks);	/* per-rank totals of another layout */
		got.ranks = NULL;
	}
	got.world_size = c->size;
	t->st = got;
	if (t->leader)
		log_info("resumed from %s: epoch %d, step %d of %u (global step %lld)",
			 t->ckpt_path, got.epoch + 1, got.epoch_step, t->steps_per_epoch,
			 (long long)got.step);
	return 0;
}

/* This run's contributions of every rank plus earlier runs', on rank 0. */
static struct rank_contribution *gather_contributions(struct trainer *t)
{
	struct comm *c = t->c;
	struct rank_contribution *all = NULL;
	int fail = 0;

	t->mine.comm_seconds = t->agg.comm_seconds;
	if (t->leader && !(all = calloc((size_t)c->size, sizeof(*all))))
		fail = 1;
	if (comm_gather(c, &t->mine, sizeof(t->mine), all, 0))
		fail = 1;
	if (fail) {
		free(all);
		return NULL;
	}
	if (t->leader && t->st.ranks)
		for (int r = 0; r < c->size; r++) {
			all[r].compute_seconds += t->st.ranks[r].compute_seconds;
			all[r].comm_seconds += t->st.ranks[r].comm_seconds;
			all[r].samples += t->st.ranks[r].samples;
			all[r].accepted += t->st.ranks[r].accepted;
			all[r].rejected += t->st.ranks[r].rejected;
		}
	return all;
}

/* Collective: rank 0 writes the checkpoint; everyone learns whether it worked. */
static int save_checkpoint(struct trainer *t)
{
	struct rank_contribution *all;
	char err[1024];
	int64_t ok = 1;
	bool have_v = t->o->optim.kind == OPTIM_ADAM;

	if (!t->o->checkpoint)
		return 0;
	t->last_checkpoint = t->st.step;
	all = gather_contributions(t);
	if (t->leader) {
		struct train_state st = t->st;

		st.ranks = all;
		st.elapsed_seconds = train_now() - t->run_start;
		if (!all || t->b->ops->read_params(t->b, t->host_params) ||
		    t->b->ops->read_optim(t->b, t->host_m, have_v ? t->host_v : NULL) ||
		    checkpoint_write(t->ckpt_path, &st, &t->b->layout, t->host_params, t->host_m,
				     have_v ? t->host_v : NULL, t->outer_m, err, sizeof(err))) {
			log_error("%s", all ? err : "out of memory gathering contributions");
			ok = 0;
		} else {
			log_verbose("checkpoint %s: epoch %d, step %d", t->ckpt_path,
				    st.epoch + 1, st.epoch_step);
		}
	}
	free(all);
	if (comm_bcast(t->c, &ok, sizeof(ok), 0))
		return -1;
	return ok ? 0 : -1;
}

/* Test accuracy over the whole test set, each rank taking a contiguous part. */
static double evaluate(struct trainer *t)
{
	struct comm *c = t->c;
	uint32_t n = t->data.test.count;
	uint32_t lo = (uint32_t)((uint64_t)n * c->rank / c->size);
	uint32_t hi = (uint32_t)((uint64_t)n * (c->rank + 1) / c->size);
	struct batch_result r = { 0, 0, 0 };
	int64_t counts[2];
	double t0 = train_now();

	t->b->ops->eval_range(t->b, &t->data.test, lo, hi - lo, &r);
	t->mine.compute_seconds += train_now() - t0;
	counts[0] = r.correct;
	counts[1] = r.count;
	if (comm_sum_i64(c, counts, 2))
		comm_abort(c, 1);
	t->eval_seconds += train_now() - t0;
	return counts[1] ? (double)counts[0] / (double)counts[1] : 0.0;
}

/* Whether a multiple of EVERY steps was passed since LAST. */
static bool passed(long every, int64_t last, int64_t now)
{
	return every > 0 && now / every > last / every;
}

/* Seconds of training so far (earlier runs included), evaluation excluded. */
static double train_seconds(const struct trainer *t)
{
	return train_now() - t->run_start - t->eval_seconds;
}

/* --eval-every-steps, --stop-at-accuracy and --time-limit, at a point where
 * every rank holds the same parameters.  Rank 0's clock decides the time
 * limit for everyone. */
static void check_progress(struct trainer *t)
{
	const struct options *o = t->o;
	double secs;

	if (o->eval_every_steps && passed(o->eval_every_steps, t->last_eval, t->st.step)) {
		double acc = evaluate(t);

		t->last_eval = t->st.step;
		t->last_test_acc = acc;
		secs = train_seconds(t);
		if (t->leader) {
			struct json_object *j = json_object_new_object();

			log_info("step %lld: test-acc %.4f after %.1f s of training",
				 (long long)t->st.step, acc, secs);
			if (j) {
				json_object_object_add(j, "event", json_object_new_string("eval"));
				json_object_object_add(j, "replica", json_object_new_int(t->c->replica));
				json_object_object_add(j, "step", json_object_new_int64(t->st.step));
				json_object_object_add(j, "test_acc", json_object_new_double(acc));
				json_object_object_add(j, "train_seconds", json_object_new_double(secs));
				metrics_write(&t->metrics, j);
				json_object_put(j);
			}
		}
		if (o->stop_at_accuracy > 0 && acc >= o->stop_at_accuracy) {
			if (t->leader)
				log_info("test accuracy %.4f reached %.4f at step %lld after %.1f s of "
					 "training", acc, o->stop_at_accuracy, (long long)t->st.step, secs);
			t->stop_early = true;
		}
	}
	if (o->time_limit > 0) {
		double elapsed = train_seconds(t);

		if (comm_bcast(t->c, &elapsed, sizeof(elapsed), 0))
			comm_abort(t->c, 1);
		if (elapsed >= o->time_limit) {
			if (t->leader)
				log_info("--time-limit %.0f s reached at step %lld", o->time_limit,
					 (long long)t->st.step);
			t->last_test_acc = -1;	/* evaluate the parameters as they are now */
			t->stop_early = true;
		}
	}
}

/* Log each rank's shard of this epoch (checksum of its sample indices), and
 * check that together they cover the training set once. */
static void log_shards(struct trainer *t, int epoch)
{
	struct comm *c = t->c;
	struct { uint8_t digest[SHA256_LEN]; uint32_t count; } mine, *all = NULL;

	memset(&mine, 0, sizeof(mine));
	shard_checksum(t->perm, t->data.train.count, (uint32_t)t->o->batch, c->rank, c->size,
		       mine.digest, &mine.count);
	if (t->leader)
		all = calloc((size_t)c->size, sizeof(*all));
	if (comm_gather(c, &mine, sizeof(mine), all, 0) || !t->leader || !all) {
		free(all);
		return;
	}
	{
		char line[2048], hex[SHA256_HEX_LEN + 1];
		size_t used = 0;
		uint64_t total = 0;
		struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

		for (int r = 0; r < c->size; r++) {
			hex_encode(all[r].digest, SHA256_LEN, hex);
			total += all[r].count;
			if (used < sizeof(line) - 64)
				used += (size_t)snprintf(line + used, sizeof(line) - used,
							 " %d:%u:%.16s", r, all[r].count, hex);
			if (arr) {
				struct json_object *s = json_object_new_object();

				json_object_object_add(s, "rank", json_object_new_int(r));
				json_object_object_add(s, "samples", json_object_new_int64(all[r].count));
				json_object_object_add(s, "sha256", json_object_new_string(hex));
				json_object_array_add(arr, s);
			}
		}
		log_info("epoch %d shards (rank:samples:sha256):%s", epoch + 1, line);
		if (total != t->data.train.count)
			log_error("epoch %d: shards hold %llu samples, the training set %u",
				  epoch + 1, (unsigned long long)total, t->data.train.count);
		if (o && arr) {
			json_object_object_add(o, "event", json_object_new_string("shards"));
			json_object_object_add(o, "replica", json_object_new_int(c->replica));
			json_object_object_add(o, "epoch", json_object_new_int(epoch + 1));
			json_object_object_add(o, "ranks", arr);
			arr = NULL;
			metrics_write(&t->metrics, o);
		}
		json_object_put(arr);
		json_object_put(o);
	}
	free(all);
}

enum step_outcome { STEP_DONE, STEP_STOP };

static size_t meta_len(const struct trainer *t)
{
	return META_RANKS + (t->o->rebalance || t->local_sgd ? 3 * (size_t)t->c->size : 0);
}

/* This rank's samples of step s: an even split, or the balanced shares. */
static struct shard_slice my_slice(const struct trainer *t, uint32_t s)
{
	const struct options *o = t->o;
	struct shard_slice g, sl;

	if (!o->rebalance)
		return shard_slice(t->data.train.count, (uint32_t)o->batch, s, t->c->rank, t->c->size);
	g = shard_global(t->data.train.count, (uint32_t)o->batch, s);
	balance_slice(t->bal.share, t->c->size, (uint32_t)o->batch, g.count, t->c->rank,
		      &sl.begin, &sl.count);
	sl.begin += g.begin;
	return sl;
}

static void sleep_seconds(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (s > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Forward and backward over this rank's slice, then validation.  Returns
 * whether the gradient may be used (false for an empty slice too). */
static bool compute_gradient(struct trainer *t, const struct shard_slice *sl,
			     struct batch_result *r, enum grad_verdict *verdict)
{
	const struct options *o = t->o;
	struct backend *b = t->b;
	struct augment aug = {
		.on = o->augment_shift >= 0,
		.shift = o->augment_shift,
		.key = rng_mix(o->seed, 0x6175670000000000ull + (uint64_t)t->st.epoch),	/* "aug" */
	};
	double t0 = train_now(), sumsq = 0, spent;

	*verdict = GRAD_OK;
	if (b->ops->train_batch(b, &t->data.train, t->perm + sl->begin, (int)sl->count, &aug, r))
		comm_abort(t->c, 1);
	if (sl->count > 0) {
		if (t->c->rank == o->fault_rank && t->st.step == o->fault_step)
			b->ops->scale_grads(b, NAN);	/* --fault-nan: a mock of a broken rank */
		b->ops->grad_sumsq(b, &sumsq);
		*verdict = grad_validate(sumsq, (long)sl->count, o->max_grad_norm);
		if (*verdict != GRAD_OK) {
			log_warning("step %lld: gradient %s (norm %g over %u samples): "
				    "left out of this step", (long long)t->st.step,
				    grad_verdict_name(*verdict), sqrt(sumsq), sl->count);
			b->ops->zero_grads(b);
		}
	}
	spent = train_now() - t0;
	if (t->c->rank == o->slow_rank && sl->count > 0) {
		/* --slow-rank: a mock of a slower machine. */
		sleep_seconds((o->slow_factor - 1) * spent);
		spent = train_now() - t0;
	}
	t->mine.compute_seconds += spent;
	t->bal_compute += spent;
	t->bal_samples += sl->count;
	t->mine.samples += sl->count;
	if (sl->count > 0 && *verdict == GRAD_OK)
		t->mine.accepted++;
	else if (sl->count > 0)
		t->mine.rejected++;
	return sl->count > 0 && *verdict == GRAD_OK;
}

/* Fill the counters; the caller sets the totals. */
static void fill_meta(struct trainer *t, float *meta)
{
	memset(meta, 0, meta_len(t) * sizeof(float));
	meta[META_STOP] = stop_signal ? 1.0f : 0.0f;
	if (t->o->rebalance || t->local_sgd) {
		meta[META_RANKS + 3 * t->c->rank] = (float)t->bal_compute;
		meta[META_RANKS + 3 * t->c->rank + 1] = (float)t->bal_samples;
		meta[META_RANKS + 3 * t->c->rank + 2] = (float)t->round.compute;
	}
}

/* Sum payload[0..n) and the counters after it across the ranks: through
 * the compressor, or the aggregator's algorithm. */
static void allreduce_payload(struct trainer *t, float *buf, size_t n)
{
	int rv;

	transport_set_step(t->net, t->st.step);
	if (t->compress.kind != COMPRESS_NONE) {
		double t0 = train_now();

		rv = compressed_allreduce(&t->compress, t->net, buf, n) ||
		     allreduce_ring(t->net, buf + n, meta_len(t), t->agg.tmp);
		t->agg.comm_seconds += train_now() - t0;
		t->agg.bytes += compressed_bytes(&t->compress, n, t->c->size);
		t->agg.calls++;
	} else {
		rv = aggregator_allreduce(&t->agg, buf, n + meta_len(t));
	}
	if (rv) {
		log_error("step %lld: all-reduce failed", (long long)t->st.step);
		comm_abort(t->c, 1);
	}
}

/* Sum the gradients and the counters in t->meta across the ranks, wherever
 * the backend keeps them: in host memory directly; on a device through its
 * own all-reduce (NCCL), or else through a host copy. */
static void sum_gradients(struct trainer *t)
{
	struct backend *b = t->b;
	size_t n = t->nparams, len = meta_len(t);
	float *g = b->ops->grad_buffer(b);

	if (g) {
		memcpy(g + n, t->meta, len * sizeof(float));
		allreduce_payload(t, g, n);
		memcpy(t->meta, g + n, len * sizeof(float));
		return;
	}
	if (t->device_allreduce) {
		double t0 = train_now();

		if (b->ops->set_grads(b, n, len, t->meta) || b->ops->allreduce(b, n + len) ||
		    b->ops->get_grads(b, n, len, t->meta)) {
			log_error("step %lld: device all-reduce failed", (long long)t->st.step);
			comm_abort(t->c, 1);
		}
		t->agg.comm_seconds += train_now() - t0;
		t->agg.bytes += (n + len) * sizeof(float);
		t->agg.calls++;
		return;
	}
	if (b->ops->get_grads(b, 0, n, t->grads_host))
		comm_abort(t->c, 1);
	memcpy(t->grads_host + n, t->meta, len * sizeof(float));
	allreduce_payload(t, t->grads_host, n);
	memcpy(t->meta, t->grads_host + n, len * sizeof(float));
	if (b->ops->set_grads(b, 0, n, t->grads_host))
		comm_abort(t->c, 1);
}

/* A rebalancing point: new shares from everyone's speed (same on all ranks). */
static void rebalance(struct trainer *t, const float *meta)
{
	int size = t->c->size;
	double secs[META_MAX_RANKS], samples[META_MAX_RANKS];
	char why[1024];

	for (int r = 0; r < size; r++) {
		secs[r] = meta[META_RANKS + 3 * r];
		samples[r] = meta[META_RANKS + 3 * r + 1];
	}
	if (balance_update(&t->bal, secs, samples, why, sizeof(why)) && t->leader)
		log_info("step %lld: rebalanced: %s", (long long)t->st.step, why);
	t->bal_compute = 0;
	t->bal_samples = 0;
	t->last_rebalance = t->st.step;
}

static void count_totals(struct trainer *t, const float *meta)
{
	t->st.epoch_loss += meta[META_LOSS];
	t->st.epoch_correct += (int64_t)meta[META_CORRECT];
	t->st.epoch_samples += (int64_t)meta[META_SAMPLES];
	t->st.epoch_rejected += (int64_t)meta[META_REJECTED];
}

/* The network's share of an all-reduce that started at T0: the wait for
 * the slowest rank's compute (from everyone's slots in meta) taken out. */
static double network_seconds(const struct trainer *t, const float *meta, double t0)
{
	double slowest = 0, net;

	for (int r = 0; r < t->c->size; r++)
		if (meta[META_RANKS + 3 * r + 2] > slowest)
			slowest = meta[META_RANKS + 3 * r + 2];
	net = train_now() - t0 - (slowest - t->round.compute);
	return net > 0 ? net : 0;
}

/* --adapt: H from the network seconds of a synchronisation and the compute
 * seconds of a step, smoothed, changed only by a clear margin; every rank
 * sees the same numbers, so every rank picks the same H. */
static void adapt_h(struct trainer *t, double net_s, double step_s)
{
	const struct options *o = t->o;
	int h;

	if (!o->adapt || step_s <= 0)
		return;
	t->net_ema = t->net_ema > 0 ? 0.7 * t->net_ema + 0.3 * net_s : net_s;
	t->step_ema = t->step_ema > 0 ? 0.7 * t->step_ema + 0.3 * step_s : step_s;
	h = adapt_choose_h(&o->adapt_cfg, t->net_ema, t->step_ema);
	if (abs(h - t->h) >= (t->h / 4 > 2 ? t->h / 4 : 2)) {
		if (t->leader)
			log_info("step %lld: local steps %d -> %d (network %.3f s per "
				 "synchronisation, local step %.2f ms; aiming at %.0f %% "
				 "communication)", (long long)t->st.step, t->h, h, t->net_ema,
				 t->step_ema * 1e3, 100 * o->adapt_cfg.target);
		t->h = h;
	}
}

/* --adapt moves between synchronous steps (H = 1: one optimizer on the
 * summed gradients) and local-SGD rounds.  Into rounds: the parameters now
 * are the anchor.  Out of them: the ranks' optimizer states, which drifted
 * apart in the rounds, are averaged so that the synchronous steps agree. */
static void enter_rounds(struct trainer *t)
{
	t->b->ops->read_params(t->b, t->anchor);
}

static void leave_rounds(struct trainer *t)
{
	struct backend *b = t->b;
	bool have_v = t->o->optim.kind == OPTIM_ADAM;
	float inv = 1.0f / (float)t->c->size;

	b->ops->read_optim(b, t->host_m, have_v ? t->host_v : NULL);
	if (aggregator_allreduce(&t->agg, t->host_m, t->nparams) ||
	    (have_v && aggregator_allreduce(&t->agg, t->host_v, t->nparams)))
		comm_abort(t->c, 1);
	for (size_t i = 0; i < t->nparams; i++) {
		t->host_m[i] *= inv;
		if (have_v)
			t->host_v[i] *= inv;
	}
	b->ops->write_optim(b, t->host_m, have_v ? t->host_v : NULL);
}

/* Synchronous data parallelism: every step sums the gradients. */
static enum step_outcome sync_step(struct trainer *t, uint32_t s)
{
	struct backend *b = t->b;
	struct shard_slice sl = my_slice(t, s);
	struct batch_result r;
	enum grad_verdict verdict;
	double t0 = train_now();
	bool ok = compute_gradient(t, &sl, &r, &verdict);
	float *meta = t->meta;

	t->round.compute = train_now() - t0;
	fill_meta(t, meta);
	meta[META_SAMPLES] = ok ? (float)sl.count : 0.0f;
	meta[META_REJECTED] = verdict != GRAD_OK ? 1.0f : 0.0f;
	meta[META_LOSS] = ok ? (float)r.loss_sum : 0.0f;
	meta[META_CORRECT] = ok ? (float)r.correct : 0.0f;
	/* A step's compute, as in local rounds: with the optimizer update. */
	meta[META_STEP_SECONDS] = (float)(t->round.compute + t->last_update);
	meta[META_NET_SECONDS] = (float)t->last_net;
	t0 = train_now();
	sum_gradients(t);
	if (t->o->adapt) {
		t->last_net = network_seconds(t, meta, t0);
		adapt_h(t, meta[META_NET_SECONDS] / t->c->size, meta[META_STEP_SECONDS] / t->c->size);
	}
	t->round.compute = 0;

	t0 = train_now();
	if (meta[META_SAMPLES] > 0)
		b->ops->apply_update(b, 1.0f / meta[META_SAMPLES],
				     optim_lr(&b->optim, t->st.step), t->st.step);
	t->last_update = train_now() - t0;
	t->mine.compute_seconds += t->last_update;
	t->st.step++;
	t->st.epoch_step = (int32_t)(s + 1);
	count_totals(t, meta);
	if (t->o->rebalance && t->st.step - t->last_rebalance >= t->o->rebalance_every)
		rebalance(t, meta);
	if (t->o->adapt && t->h > 1)
		enter_rounds(t);
	return meta[META_STOP] > 0 ? STEP_STOP : STEP_DONE;
}

/* Local SGD: the end of a round.  Average how far the ranks moved from the
 * last synchronised parameters (weighted by samples) and take the outer
 * Nesterov step from there; then choose the next round's length. */
static enum step_outcome sync_round(struct trainer *t)
{
	const struct options *o = t->o;
	struct backend *b = t->b;
	size_t n = t->nparams;
	float *meta = t->delta + n, w = (float)t->round.samples;
	double t0, step_s, sync_s;

	b->ops->read_params(b, t->host_params);
	for (size_t i = 0; i < n; i++)
		t->delta[i] = (t->anchor[i] - t->host_params[i]) * w;
	fill_meta(t, meta);
	meta[META_SAMPLES] = w;
	meta[META_REJECTED] = (float)t->round.rejected;
	meta[META_LOSS] = (float)t->round.loss;
	meta[META_CORRECT] = (float)t->round.correct;
	meta[META_STEP_SECONDS] = t->round.steps ? (float)(t->round.compute / t->round.steps) : 0;
	meta[META_NET_SECONDS] = (float)t->last_net;
	t0 = train_now();
	allreduce_payload(t, t->delta, n);
	t->last_net = network_seconds(t, meta, t0);
	if (meta[META_SAMPLES] > 0) {
		float inv = 1.0f / meta[META_SAMPLES];

		for (size_t i = 0; i < n; i++)
			t->delta[i] *= inv;
		adapt_outer_step(t->anchor, t->outer_m, t->delta, n, o->adapt_cfg.outer_lr,
				 o->adapt_cfg.outer_momentum);
	}
	b->ops->write_params(b, t->anchor);
	count_totals(t, meta);
	step_s = meta[META_STEP_SECONDS] / t->c->size;
	sync_s = meta[META_NET_SECONDS] / t->c->size;
	adapt_h(t, sync_s, step_s);
	if (o->adapt && t->h == 1)
		leave_rounds(t);
	if (o->rebalance && t->st.step - t->last_rebalance >= o->rebalance_every)
		rebalance(t, meta);
	memset(&t->round, 0, sizeof(t->round));
	return meta[META_STOP] > 0 ? STEP_STOP : STEP_DONE;
}

/* Local SGD: one step on this rank's slice with its own optimizer state. */
static enum step_outcome local_step(struct trainer *t, uint32_t s)
{
	struct backend *b = t->b;
	struct shard_slice sl = my_slice(t, s);
	struct batch_result r;
	enum grad_verdict verdict;
	double t0 = train_now();

	if (compute_gradient(t, &sl, &r, &verdict)) {
		b->ops->apply_update(b, 1.0f / (float)sl.count, optim_lr(&b->optim, t->st.step),
				     t->st.step);
		t->round.samples += sl.count;
		t->round.loss += r.loss_sum;
		t->round.correct += r.correct;
	}
	t->round.rejected += verdict != GRAD_OK;
	t->round.compute += train_now() - t0;
	t->round.steps++;
	t->st.step++;
	t->st.epoch_step = (int32_t)(s + 1);
	/* Rounds end at the end of each epoch too: evaluation and checkpoints
	 * see synchronised parameters. */
	if ((int)t->round.steps >= t->h || s + 1 == t->steps_per_epoch)
		return sync_round(t);
	return STEP_DONE;
}

/* Whether the parameters are the same on every rank now. */
static bool synchronised(const struct trainer *t)
{
	return !t->local_sgd || t->round.steps == 0;
}

/* Returns 0 when every epoch ran, EXIT_INTERRUPTED after a signal, 1 on error. */
static int train_loop(struct trainer *t)
{
	const struct options *o = t->o;

	for (int epoch = t->st.epoch; epoch < o->epochs; epoch++) {
		struct epoch_report rep;
		double t_epoch = train_now(), comm0 = t->agg.comm_seconds;
		double samples0 = (double)t->st.epoch_samples;
		char line[512];
		bool stop_early = false;

		/* The shuffling generator as it was when this epoch began. */
		memcpy(t->rng.s, t->st.rng, sizeof(t->rng.s));
		shard_permutation(&t->rng, t->perm, t->data.train.count);
		if (t->st.epoch_step == 0 || o->verbose)
			log_shards(t, epoch);

		for (uint32_t s = (uint32_t)t->st.epoch_step; s < t->steps_per_epoch; s++) {
			/* --adapt runs synchronous steps while H is 1. */
			bool rounds = t->local_sgd &&
				      (!o->adapt || t->h > 1 || t->round.steps > 0);
			enum step_outcome out = rounds ? local_step(t, s) : sync_step(t, s);

			if (!synchronised(t))
				continue;
			if (out == STEP_STOP) {
				int sig = stop_signal;

				if (save_checkpoint(t))
					return 1;
				if (t->leader)
					log_info("stopping on %s at epoch %d, step %u of %u%s%s; "
						 "run again with --resume to continue",
						 sig ? strsignal(sig) : "another rank's signal",
						 epoch + 1, s + 1, t->steps_per_epoch,
						 o->checkpoint ? ": checkpoint " : " (no --checkpoint: "
						 "progress is lost)", o->checkpoint ? t->ckpt_path : "");
				return EXIT_INTERRUPTED;
			}
			if (passed(o->checkpoint_every, t->last_checkpoint, t->st.step) &&
			    save_checkpoint(t))
				return 1;
			if (t->probed && passed(o->probe_every, t->last_probe, t->st.step)) {
				char when[64];

				snprintf(when, sizeof(when), "step %lld", (long long)t->st.step);
				if (measure_links(t, when))
					return 1;
			}
			check_progress(t);
			if (t->stop_early)
				return 0;
		}

		memset(&rep, 0, sizeof(rep));
		rep.seconds = train_now() - t_epoch;
		rep.comm_fraction = rep.seconds > 0 ? (t->agg.comm_seconds - comm0) / rep.seconds : 0;
		rep.samples_per_s = rep.seconds > 0 ?
			((double)t->st.epoch_samples - samples0) / rep.seconds : 0;
		rep.test_acc = -1;
		if ((o->eval_every && (epoch + 1) % o->eval_every == 0) || epoch + 1 == o->epochs) {
			rep.test_acc = evaluate(t);
			t->last_test_acc = rep.test_acc;
		}
		rep.replica = t->c->replica;
		rep.replicas = t->c->replicas;
		rep.epoch = epoch + 1;
		rep.epochs = o->epochs;
		rep.step = (long)t->st.step;
		rep.loss = t->st.epoch_samples ? t->st.epoch_loss / (double)t->st.epoch_samples : 0;
		rep.train_acc = t->st.epoch_samples ?
			(double)t->st.epoch_correct / (double)t->st.epoch_samples : 0;
		rep.elapsed = train_now() - t->run_start;
		rep.rejected = (long)t->st.epoch_rejected;
		if (t->leader) {
			struct json_object *j = epoch_report_json(&rep);

			epoch_report_line(&rep, line, sizeof(line));
			fprintf(stderr, "%s\n", line);
			if (metrics_write(&t->metrics, j))
				log_warning("cannot write the metrics file: %s", strerror(errno));
			json_object_put(j);
		}

		/* The next epoch starts from the generator as this one left it. */
		t->st.epoch = epoch + 1;
		t->st.epoch_step = 0;
		memcpy(t->st.rng, t->rng.s, sizeof(t->st.rng));
		t->st.epoch_loss = 0;
		t->st.epoch_correct = t->st.epoch_samples = t->st.epoch_rejected = 0;
		if (save_checkpoint(t))
			return 1;
		if (o->stop_at_accuracy > 0 && rep.test_acc >= o->stop_at_accuracy &&
		    !o->eval_every_steps) {
			if (t->leader)
				log_info("test accuracy %.4f reached %.4f after epoch %d (%.1f s)",
					 rep.test_acc, o->stop_at_accuracy, epoch + 1, rep.elapsed);
			stop_early = true;
		}
		if (stop_early)
			break;
	}
	return 0;
}

static int model_digest(struct trainer *t, char hex[SHA256_HEX_LEN + 1])
{
	uint8_t d[SHA256_LEN];

	/* The parameters' bytes as stored: little-endian IEEE floats on every
	 * platform quorate builds for. */
	if (t->b->ops->read_params(t->b, t->host_params) ||
	    sha256(t->host_params, t->nparams * sizeof(float), d))
		return -1;
	hex_encode(d, SHA256_LEN, hex);
	return 0;
}

static const char *node_name(char *buf, size_t len)
{
	const char *n = getenv("SLURMD_NODENAME");

	if (n && *n)
		snprintf(buf, len, "%s", n);
	else if (gethostname(buf, len))
		snprintf(buf, len, "unknown");
	buf[len - 1] = '\0';
	return buf;
}

/* The result on stdout, the contributions, the final metrics line. */
static int finish(struct trainer *t)
{
	struct comm *c = t->c;
	char hex[SHA256_HEX_LEN + 1];
	struct { char node[64]; long rss_kib; int world_rank; } me, *all = NULL;
	struct rank_contribution *contrib;
	struct rusage ru;
	double acc = t->last_test_acc;
	int rv = 0;

	if (acc < 0)
		acc = evaluate(t);
	if (model_digest(t, hex))
		return 1;
	memset(&me, 0, sizeof(me));
	node_name(me.node, sizeof(me.node));
	getrusage(RUSAGE_SELF, &ru);
	me.rss_kib = ru.ru_maxrss;
	me.world_rank = c->world_rank;
	if (t->leader)
		all = calloc((size_t)c->size, sizeof(*all));
	contrib = gather_contributions(t);
	if (comm_gather(c, &me, sizeof(me), all, 0))
		rv = 1;
	if (t->leader) {
		const char **nodes = calloc((size_t)c->size, sizeof(*nodes));
		long *rss = calloc((size_t)c->size, sizeof(*rss));
		int *world_ranks = calloc((size_t)c->size, sizeof(*world_ranks));
		struct contribution_context ctx = {
			.job_id = getenv("SLURM_JOB_ID"),
			.step_id = getenv("SLURM_STEP_ID"),
			.replica = c->replica,
			.replicas = c->replicas,
			.model_digest = hex,
			.nodes = nodes,
			.peak_rss_kib = rss,
			.world_ranks = world_ranks,
		};
		struct json_object *j = json_object_new_object();
		long max_rss = 0;

		if (all && nodes && rss && world_ranks && contrib) {
			for (int r = 0; r < c->size; r++) {
				nodes[r] = all[r].node;
				world_ranks[r] = all[r].world_rank;
				rss[r] = all[r].rss_kib;
				if (rss[r] > max_rss)
					max_rss = rss[r];
			}
			if (contribution_report(contrib, c->size, &ctx, &t->metrics) < 0) {
				log_error("cannot write the contributions to the metrics file");
				rv = 1;
			}
		} else {
			rv = 1;
		}
		if (j) {
			json_object_object_add(j, "event", json_object_new_string("final"));
			json_object_object_add(j, "replica", json_object_new_int(c->replica));
			json_object_object_add(j, "epochs", json_object_new_int(t->st.epoch));
			json_object_object_add(j, "steps", json_object_new_int64(t->st.step));
			json_object_object_add(j, "test_acc", json_object_new_double(acc));
			json_object_object_add(j, "elapsed", json_object_new_double(train_now() - t->run_start));
			json_object_object_add(j, "train_seconds", json_object_new_double(train_seconds(t)));
			json_object_object_add(j, "peak_rss_kib", json_object_new_int64(max_rss));
			json_object_object_add(j, "model_digest", json_object_new_string(hex));
			metrics_write(&t->metrics, j);
			json_object_put(j);
		}
		log_info("done: %d epochs, %lld steps, test accuracy %.4f, %.1f s, peak RSS %.0f MiB",
			 t->st.epoch, (long long)t->st.step, acc, train_now() - t->run_start,
			 max_rss / 1024.0);
		printf("test-accuracy: %.4f\nmodel-digest: %s\n", acc, hex);
		fflush(stdout);
		free(nodes);
		free(rss);
		free(world_ranks);
	}
	free(all);
	free(contrib);
	return rv;
}

static void trainer_free(struct trainer *t)
{
	aggregator_free(&t->agg);
	if (t->net && t->net != t->c->transport)
		transport_destroy(t->net);
	if (t->model.links)
		cost_model_free(&t->model);
	compressor_free(&t->compress);
	if (t->bal.share)
		balance_free(&t->bal);
	free(t->anchor);
	free(t->outer_m);
	free(t->delta);
	free(t->grads_host);
	free(t->choices);
	backend_destroy(t->b);
	dataset_free(&t->data);
	metrics_close(&t->metrics);
	train_state_free(&t->st);
	free(t->perm);
	free(t->host_params);
	free(t->host_m);
	free(t->host_v);
}

static int train_main(int argc, char **argv)
{
	struct comm c;
	struct options o;
	struct trainer t;
	struct log_options lo = { .stderr_level = LOG_LEVEL_INFO };
	struct sigaction sa;
	char err[2048] = "", ident[64];
	int rv = 1;

	if (comm_init(&argc, &argv, &c, err, sizeof(err))) {
		fprintf(stderr, "quorate-train: error: %s\n", err);
		return 1;
	}
	if (c.size > 1 && c.replicas > 1)
		snprintf(ident, sizeof(ident), "quorate-train replica %d rank %d", c.replica, c.rank);
	else if (c.size > 1)
		snprintf(ident, sizeof(ident), "quorate-train rank %d", c.rank);
	else if (c.replicas > 1)
		snprintf(ident, sizeof(ident), "quorate-train replica %d", c.replica);
	else
		snprintf(ident, sizeof(ident), "quorate-train");
	log_init(ident, &lo);
	if (parse_train_options(argc, argv, &o, err, sizeof(err))) {
		if (c.world_rank == 0)
			fprintf(stderr, "quorate-train: error: %s\n", err);
		options_free(&o);
		comm_fini(&c);
		return EXIT_USAGE;
	}
	if (comm_watch_peers(&c, o.peer_timeout, err, sizeof(err))) {
		fprintf(stderr, "%s: error: %s\n", ident, err);
		options_free(&o);
		comm_fini(&c);
		return 1;
	}
	if (c.rank != 0 && !o.verbose)
		log_set_stderr_level(LOG_LEVEL_WARNING);
	else if (o.verbose)
		log_set_stderr_level(o.verbose > 1 ? LOG_LEVEL_DEBUG : LOG_LEVEL_VERBOSE);

	memset(&t, 0, sizeof(t));
	t.o = &o;
	t.c = &c;
	t.leader = c.rank == 0;
	t.last_test_acc = -1;
	if (o.checkpoint)
		replica_path(o.checkpoint, &c, t.ckpt_path, sizeof(t.ckpt_path));
	if (o.metrics)
		replica_path(o.metrics, &c, t.metrics_path, sizeof(t.metrics_path));

	/* A failure on any rank stops all of them, each saying why. */
	if (!all_ok(&c, setup(&t, err, sizeof(err)) == 0)) {
		if (*err)
			log_error("%s", err);
		goto out;
	}
	if (t.leader && o.metrics && metrics_open(&t.metrics, t.metrics_path, err, sizeof(err))) {
		log_error("--metrics %s", err);
		t.metrics.f = NULL;
	}
	if (!all_ok(&c, !o.metrics || !t.leader || t.metrics.f))
		goto out;
	if (o.resume && !all_ok(&c, resume(&t, err, sizeof(err)) == 0)) {
		if (*err)
			log_error("%s", err);
		goto out;
	}
	if (t.local_sgd)
		t.b->ops->read_params(t.b, t.anchor);
	t.last_rebalance = t.last_checkpoint = t.last_probe = t.last_eval = t.st.step;
	if ((o.allreduce == ALLREDUCE_AUTO || o.net_report) &&
	    !all_ok(&c, measure_links(&t, "start") == 0)) {
		log_error("measuring the links failed");
		goto out;
	}
	t.run_start = train_now() - t.st.elapsed_seconds;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	rv = train_loop(&t);
	if (rv == 0)
		rv = finish(&t);
out:
	trainer_free(&t);
	options_free(&o);
	comm_fini(&c);
	return rv;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "convert"))
		return train_convert_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "roofline"))
		return train_roofline_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "allreduce-bench"))
		return train_allreduce_bench_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "nccl-bench"))
		return train_nccl_bench_main(argc - 1, argv + 1);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("quorate-train %s\n", PACKAGE_VERSION);
			return 0;
		}
	}
	return train_main(argc, argv);
}
