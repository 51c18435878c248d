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

#include "allreduce.h"
#include "backend.h"
#include "checkpoint.h"
#include "comm.h"
#include "costmodel.h"
#include "dataset.h"
#include "hash.h"
#include "linkemu.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "netprobe.h"
#include "optim.h"
#include "rng.h"
#include "shard.h"
#include "train.h"

#define EXIT_USAGE 2
/* Checkpointed on a signal; run again with --resume (sysexits' EX_TEMPFAIL). */
#define EXIT_INTERRUPTED 75
#define EVAL_CHUNK 128

struct options {
	const char *data;
	const char *checkpoint;
	const char *metrics;
	enum model_kind model;
	struct optim_config optim;
	int epochs;
	int batch;			/* global */
	uint64_t seed;
	bool resume;
	int eval_every;			/* epochs; 0: only at the end */
	long checkpoint_every;		/* steps; 0: at the end of each epoch */
	uint32_t limit;
	int threads;
	bool deterministic;
	enum allreduce_algo allreduce;
	size_t bucket_bytes;
	bool net_report;		/* print the measured links */
	long probe_every;		/* steps; 0: only at the start */
	struct link_emu_config emu;	/* --link-profile, --link-file, --link-all */
	double max_grad_norm;
	double stop_at_accuracy;
	int augment_shift;		/* -1: no augmentation */
	int fault_rank;			/* testing: this rank's gradient ... */
	long fault_step;		/* ... becomes NaN at this step */
	int verbose;
};

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

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: quorate-train [OPTION]...             train (under srun: data parallel)\n"
"       quorate-train convert --output FILE.h5 [--data DIR] [--limit N]\n"
"       quorate-train roofline [--model M] [--batch B] [--optimizer O] [--threads N]\n"
"\n"
"  --data PATH            IDX(.gz) directory or HDF5 file (default %s)\n"
"  --model mlp|cnn        network (default mlp)\n"
"  --epochs E             epochs (default 10)\n"
"  --batch B              global batch, split over the ranks (default 64)\n"
"  --lr LR                peak learning rate (default: adam 0.001, sgd 0.05)\n"
"  --optimizer sgd|adam   (default adam)\n"
"  --momentum M           sgd momentum (default 0.9)\n"
"  --weight-decay WD      (default 0)\n"
"  --lr-schedule constant|cosine|step   (default cosine)\n"
"  --warmup-steps N       linear warm-up (default 0)\n"
"  --seed S               seed of initialisation and shuffling (default 1)\n"
"  --checkpoint FILE.h5   write checkpoints (each epoch, on SIGTERM/SIGUSR1)\n"
"  --checkpoint-every N   also every N steps\n"
"  --resume               continue from --checkpoint when it exists\n"
"  --eval-every N         test accuracy every N epochs (default 1; 0: at the end)\n"
"  --metrics FILE         JSON lines: epochs, contributions, result\n"
"  --limit N              use only the first N training and test samples\n"
"  --threads N            OpenBLAS threads per rank (default: CPUs / local ranks)\n"
"  --allreduce ring|rd|hier|mpi|auto   gradient all-reduce (default ring)\n"
"  --bucket-bytes N       all-reduce bucket size (default %u)\n"
"  --nondeterministic     allow --allreduce mpi and auto\n"
"  --net-report           measure the links and print them with the cost model\n"
"  --probe-every N        measure the links again every N steps (auto)\n"
"  --link-profile P[,P@STEP...]  emulate links between nodes: perfect, good,\n"
"                         average, poor, unstable (from STEP on)\n"
"  --link-file FILE       per-link emulation rules\n"
"  --link-all             emulate links inside a node too\n"
"  --max-grad-norm X      reject a rank's gradient whose per-sample norm\n"
"                         exceeds X (default 1000; 0: no bound)\n"
"  --augment[=SHIFT]      random mirror and shift by up to SHIFT pixels\n"
"                         (default 2) of each training sample\n"
"  --stop-at-accuracy A   stop once the test accuracy reaches A\n"
"  --fault-nan RANK:STEP  testing: make RANK's gradient NaN at STEP\n"
"  -v, --verbose          more messages (every rank)\n"
"  -h, --help             this help\n"
"  -V, --version          version\n",
		DATASET_DEFAULT_DIR, ALLREDUCE_DEFAULT_BUCKET_BYTES);
}

static int parse_long(const char *opt, const char *arg, long lo, long hi, long *out,
		      char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi) {
		snprintf(err, errlen, "%s: '%s' is not a whole number in %ld..%ld", opt, arg, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_double(const char *opt, const char *arg, double lo, double hi, double *out,
			char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < lo || v > hi) {
		snprintf(err, errlen, "%s: '%s' is not a number in %g..%g", opt, arg, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

enum {
	OPT_DATA = 256, OPT_MODEL, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_OPTIMIZER,
	OPT_MOMENTUM, OPT_WEIGHT_DECAY, OPT_SCHEDULE, OPT_WARMUP, OPT_SEED,
	OPT_CHECKPOINT, OPT_CHECKPOINT_EVERY, OPT_RESUME, OPT_EVAL_EVERY, OPT_METRICS,
	OPT_LIMIT, OPT_THREADS, OPT_ALLREDUCE, OPT_BUCKET, OPT_NONDET, OPT_MAX_NORM,
	OPT_STOP_AT, OPT_FAULT_NAN, OPT_AUGMENT, OPT_NET_REPORT, OPT_PROBE_EVERY,
	OPT_LINK_PROFILE, OPT_LINK_FILE, OPT_LINK_ALL,
};

static const struct option train_longopts[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "optimizer", required_argument, NULL, OPT_OPTIMIZER },
	{ "momentum", required_argument, NULL, OPT_MOMENTUM },
	{ "weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY },
	{ "lr-schedule", required_argument, NULL, OPT_SCHEDULE },
	{ "warmup-steps", required_argument, NULL, OPT_WARMUP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
	{ "checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "eval-every", required_argument, NULL, OPT_EVAL_EVERY },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "allreduce", required_argument, NULL, OPT_ALLREDUCE },
	{ "bucket-bytes", required_argument, NULL, OPT_BUCKET },
	{ "nondeterministic", no_argument, NULL, OPT_NONDET },
	{ "max-grad-norm", required_argument, NULL, OPT_MAX_NORM },
	{ "stop-at-accuracy", required_argument, NULL, OPT_STOP_AT },
	{ "fault-nan", required_argument, NULL, OPT_FAULT_NAN },
	{ "augment", optional_argument, NULL, OPT_AUGMENT },
	{ "net-report", no_argument, NULL, OPT_NET_REPORT },
	{ "probe-every", required_argument, NULL, OPT_PROBE_EVERY },
	{ "link-profile", required_argument, NULL, OPT_LINK_PROFILE },
	{ "link-file", required_argument, NULL, OPT_LINK_FILE },
	{ "link-all", no_argument, NULL, OPT_LINK_ALL },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* The option argv[optind - 1] getopt complained about, for the message. */
static const char *bad_option(char **argv)
{
	return argv[optind - 1] ? argv[optind - 1] : "?";
}

static int parse_train_options(int argc, char **argv, struct options *o,
			       char *err, size_t errlen)
{
	const char *optimizer = NULL, *schedule = NULL, *algo = NULL;
	double lr = -1, momentum = -1, wd = 0;
	long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->data = DATASET_DEFAULT_DIR;
	o->model = MODEL_MLP;
	o->epochs = 10;
	o->batch = 64;
	o->seed = 1;
	o->eval_every = 1;
	o->deterministic = true;
	o->bucket_bytes = ALLREDUCE_DEFAULT_BUCKET_BYTES;
	o->max_grad_norm = 1000;
	o->fault_rank = -1;
	o->fault_step = -1;
	o->augment_shift = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vhV", train_longopts, NULL)) != -1) {
		const char *opt = bad_option(argv);
		double d;

		switch (c) {
		case OPT_DATA: o->data = optarg; break;
		case OPT_MODEL:
			if (model_kind_parse(optarg, &o->model)) {
				snprintf(err, errlen, "--model: '%s' is not a model (allowed: mlp, cnn)", optarg);
				return -1;
			}
			break;
		case OPT_EPOCHS:
			if (parse_long("--epochs", optarg, 1, 100000, &v, err, errlen))
				return -1;
			o->epochs = (int)v;
			break;
		case OPT_BATCH:
			if (parse_long("--batch", optarg, 1, 65536, &v, err, errlen))
				return -1;
			o->batch = (int)v;
			break;
		case OPT_LR:
			if (parse_double("--lr", optarg, 1e-9, 100, &lr, err, errlen))
				return -1;
			break;
		case OPT_OPTIMIZER: optimizer = optarg; break;
		case OPT_MOMENTUM:
			if (parse_double("--momentum", optarg, 0, 0.9999, &momentum, err, errlen))
				return -1;
			break;
		case OPT_WEIGHT_DECAY:
			if (parse_double("--weight-decay", optarg, 0, 1, &wd, err, errlen))
				return -1;
			break;
		case OPT_SCHEDULE: schedule = optarg; break;
		case OPT_WARMUP:
			if (parse_long("--warmup-steps", optarg, 0, 100000000, &v, err, errlen))
				return -1;
			o->optim.warmup_steps = v;
			break;
		case OPT_SEED: {
			char *end;

			errno = 0;
			o->seed = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-') {
				snprintf(err, errlen, "--seed: '%s' is not a whole number in 0..%llu",
					 optarg, (unsigned long long)UINT64_MAX);
				return -1;
			}
			break;
		}
		case OPT_CHECKPOINT: o->checkpoint = optarg; break;
		case OPT_CHECKPOINT_EVERY:
			if (parse_long("--checkpoint-every", optarg, 0, 1000000000, &v, err, errlen))
				return -1;
			o->checkpoint_every = v;
			break;
		case OPT_RESUME: o->resume = true; break;
		case OPT_EVAL_EVERY:
			if (parse_long("--eval-every", optarg, 0, 100000, &v, err, errlen))
				return -1;
			o->eval_every = (int)v;
			break;
		case OPT_METRICS: o->metrics = optarg; break;
		case OPT_LIMIT:
			if (parse_long("--limit", optarg, 1, 100000000, &v, err, errlen))
				return -1;
			o->limit = (uint32_t)v;
			break;
		case OPT_THREADS:
			if (parse_long("--threads", optarg, 1, 1024, &v, err, errlen))
				return -1;
			o->threads = (int)v;
			break;
		case OPT_ALLREDUCE: algo = optarg; break;
		case OPT_BUCKET:
			if (parse_long("--bucket-bytes", optarg, 1024, 1L << 30, &v, err, errlen))
				return -1;
			o->bucket_bytes = (size_t)v;
			break;
		case OPT_NONDET: o->deterministic = false; break;
		case OPT_MAX_NORM:
			if (parse_double("--max-grad-norm", optarg, 0, 1e30, &o->max_grad_norm, err, errlen))
				return -1;
			break;
		case OPT_STOP_AT:
			if (parse_double("--stop-at-accuracy", optarg, 0, 1, &d, err, errlen))
				return -1;
			o->stop_at_accuracy = d;
			break;
		case OPT_FAULT_NAN: {
			int r, n = -1;
			long s;

			if (sscanf(optarg, "%d:%ld%n", &r, &s, &n) != 2 || n != (int)strlen(optarg) ||
			    r < 0 || s < 0) {
				snprintf(err, errlen, "--fault-nan: '%s' is not RANK:STEP", optarg);
				return -1;
			}
			o->fault_rank = r;
			o->fault_step = s;
			break;
		}
		case OPT_AUGMENT:
			if (!optarg)
				o->augment_shift = 2;
			else if (parse_long("--augment", optarg, 0, 8, &v, err, errlen))
				return -1;
			else
				o->augment_shift = (int)v;
			break;
		case OPT_NET_REPORT: o->net_report = true; break;
		case OPT_PROBE_EVERY:
			if (parse_long("--probe-every", optarg, 0, 1000000000, &v, err, errlen))
				return -1;
			o->probe_every = v;
			break;
		case OPT_LINK_PROFILE:
			if (link_emu_parse_profiles(optarg, &o->emu, err, errlen))
				return -1;
			break;
		case OPT_LINK_FILE:
			if (link_emu_parse_file(optarg, &o->emu, err, errlen))
				return -1;
			break;
		case OPT_LINK_ALL: o->emu.all_links = true; break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("quorate-train %s\n", PACKAGE_VERSION); exit(0);
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", opt);
			return -1;
		default:
			snprintf(err, errlen, "unknown option '%s' (see quorate-train --help)", opt);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see quorate-train --help)", argv[optind]);
		return -1;
	}
	{
		enum optim_kind kind = OPTIM_ADAM;
		struct optim_config oc;
		long warmup = o->optim.warmup_steps;

		if (optimizer && optim_kind_parse(optimizer, &kind)) {
			snprintf(err, errlen, "--optimizer: '%s' is not an optimizer (allowed: sgd, adam)",
				 optimizer);
			return -1;
		}
		optim_config_default(&oc, kind);
		if (lr > 0)
			oc.lr = (float)lr;
		if (momentum >= 0)
			oc.momentum = (float)momentum;
		oc.weight_decay = (float)wd;
		oc.warmup_steps = warmup;
		if (schedule && lr_schedule_parse(schedule, &oc.schedule)) {
			snprintf(err, errlen, "--lr-schedule: '%s' is not a schedule "
				 "(allowed: constant, cosine, step)", schedule);
			return -1;
		}
		o->optim = oc;
	}
	o->allreduce = o->deterministic ? ALLREDUCE_RING : ALLREDUCE_MPI;
	if (algo && allreduce_algo_parse(algo, &o->allreduce)) {
		snprintf(err, errlen, "--allreduce: '%s' is not an algorithm "
			 "(allowed: ring, rd, hier, mpi, auto)", algo);
		return -1;
	}
	if (o->deterministic && !allreduce_algo_deterministic(o->allreduce)) {
		snprintf(err, errlen, "--allreduce %s: %s; add --nondeterministic to use it", algo,
			 o->allreduce == ALLREDUCE_MPI ? "MPI_Allreduce's summation order is unspecified"
			 : "its choices follow measured timings, so runs may differ");
		return -1;
	}
	if (o->allreduce == ALLREDUCE_MPI && link_emu_active(&o->emu)) {
		snprintf(err, errlen, "--allreduce mpi: MPI_Allreduce's messages cannot be "
			 "delayed by --link-profile/--link-file");
		return -1;
	}
	o->emu.seed = rng_mix(o->seed, 0x6c696e6b);	/* "link" */
	if (o->resume && !o->checkpoint) {
		snprintf(err, errlen, "--resume needs --checkpoint FILE");
		return -1;
	}
	return 0;
}

/* ---- the trainer ---- */

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
	st->train_count = t->data.train.count;
	st->nparams = t->nparams;
	st->world_size = t->c->size;
}

static int setup(struct trainer *t, char *err, size_t errlen)
{
	const struct options *o = t->o;
	struct optim_config oc = o->optim;
	struct input_norm norm;
	int local_batch, threads;

	if (dataset_load(o->data, &t->data, err, errlen))
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
	t->b = backend_cpu_create(&t->cfg, &oc, local_batch > EVAL_CHUNK ? local_batch : EVAL_CHUNK,
				  norm, o->seed, err, errlen);
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
			 allreduce_algo_name(o->allreduce),
			 o->deterministic ? " (deterministic)" : "");
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
	t->probed = true;
	if (o->allreduce == ALLREDUCE_AUTO)
		t->agg.model = &t->model;
	if (!t->leader)
		return 0;
	log_info("%s: links measured in %.2f s", when, train_now() - t0);
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

		if (a != t->choices[i])
			log_info("%s: bucket %zu (%zu KiB): %s%s%s (cost model, ms: ring %.3f, "
				 "rd %.3f, hier %.3f, mpi %.3f; < 0: not a candidate)", when, i,
				 len * sizeof(float) >> 10, (int)t->choices[i] >= 0 ?
				 allreduce_algo_name(t->choices[i]) : "", (int)t->choices[i] >= 0 ?
				 " -> " : "", allreduce_algo_name(a), c[0] * 1e3, c[1] * 1e3,
				 c[2] * 1e3, c[3] * 1e3);
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
					   t->host_m, have_v ? t->host_v : NULL, err, errlen)) {
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
		    (have_v && comm_bcast(c, t->host_v, t->nparams * sizeof(float), 0))) {
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
	all = gather_contributions(t);
	if (t->leader) {
		struct train_state st = t->st;

		st.ranks = all;
		st.elapsed_seconds = train_now() - t->run_start;
		if (!all || t->b->ops->read_params(t->b, t->host_params) ||
		    t->b->ops->read_optim(t->b, t->host_m, have_v ? t->host_v : NULL) ||
		    checkpoint_write(t->ckpt_path, &st, &t->b->layout, t->host_params, t->host_m,
				     have_v ? t->host_v : NULL, err, sizeof(err))) {
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
	return counts[1] ? (double)counts[0] / (double)counts[1] : 0.0;
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

/* Per-step counters that travel after the gradients in the one all-reduce. */
enum { META_SAMPLES, META_REJECTED, META_STOP, META_LOSS, META_CORRECT };

static enum step_outcome train_step(struct trainer *t, uint32_t s)
{
	const struct options *o = t->o;
	struct comm *c = t->c;
	struct backend *b = t->b;
	struct shard_slice sl = shard_slice(t->data.train.count, (uint32_t)o->batch, s,
					    c->rank, c->size);
	struct augment aug = {
		.on = o->augment_shift >= 0,
		.shift = o->augment_shift,
		.key = rng_mix(o->seed, 0x6175670000000000ull + (uint64_t)t->st.epoch),	/* "aug" */
	};
	struct batch_result r;
	enum grad_verdict verdict = GRAD_OK;
	float *g, *meta;
	double t0 = train_now(), sumsq = 0;
	bool ok;

	if (b->ops->train_batch(b, &t->data.train, t->perm + sl.begin, (int)sl.count, &aug, &r))
		comm_abort(c, 1);
	g = b->ops->grad_buffer(b);
	meta = g + t->nparams;
	if (sl.count > 0) {
		if (c->rank == o->fault_rank && t->st.step == o->fault_step)
			g[0] = NAN;		/* --fault-nan: a mock of a broken rank */
		b->ops->grad_sumsq(b, &sumsq);
		verdict = grad_validate(sumsq, (long)sl.count, o->max_grad_norm);
		if (verdict != GRAD_OK) {
			log_warning("step %lld: gradient %s (norm %g over %u samples): "
				    "left out of this step", (long long)t->st.step,
				    grad_verdict_name(verdict), sqrt(sumsq), sl.count);
			memset(g, 0, t->nparams * sizeof(float));
		}
	}
	ok = sl.count > 0 && verdict == GRAD_OK;
	memset(meta, 0, MODEL_GRAD_EXTRA * sizeof(float));
	meta[META_SAMPLES] = ok ? (float)sl.count : 0.0f;
	meta[META_REJECTED] = verdict != GRAD_OK ? 1.0f : 0.0f;
	meta[META_STOP] = stop_signal ? 1.0f : 0.0f;
	meta[META_LOSS] = ok ? (float)r.loss_sum : 0.0f;
	meta[META_CORRECT] = ok ? (float)r.correct : 0.0f;
	t->mine.compute_seconds += train_now() - t0;

	transport_set_step(t->net, t->st.step);
	if (aggregator_allreduce(&t->agg, g, t->nparams + MODEL_GRAD_EXTRA)) {
		log_error("step %lld: gradient all-reduce failed", (long long)t->st.step);
		comm_abort(c, 1);
	}

	t0 = train_now();
	if (meta[META_SAMPLES] > 0)
		b->ops->apply_update(b, 1.0f / meta[META_SAMPLES],
				     optim_lr(&b->optim, t->st.step), t->st.step);
	t->mine.compute_seconds += train_now() - t0;
	t->mine.samples += sl.count;
	if (ok)
		t->mine.accepted++;
	else if (sl.count > 0)
		t->mine.rejected++;
	t->st.step++;
	t->st.epoch_step = (int32_t)(s + 1);
	t->st.epoch_loss += meta[META_LOSS];
	t->st.epoch_correct += (int64_t)meta[META_CORRECT];
	t->st.epoch_samples += (int64_t)meta[META_SAMPLES];
	t->st.epoch_rejected += (int64_t)meta[META_REJECTED];
	return meta[META_STOP] > 0 ? STEP_STOP : STEP_DONE;
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
			if (train_step(t, s) == STEP_STOP) {
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
			if (o->checkpoint_every && t->st.step % o->checkpoint_every == 0 &&
			    save_checkpoint(t))
				return 1;
			if (o->probe_every && t->probed && t->st.step % o->probe_every == 0) {
				char when[64];

				snprintf(when, sizeof(when), "step %lld", (long long)t->st.step);
				if (measure_links(t, when))
					return 1;
			}
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
		if (o->stop_at_accuracy > 0 && rep.test_acc >= o->stop_at_accuracy) {
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
	struct { char node[64]; long rss_kib; } me, *all = NULL;
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
	if (t->leader)
		all = calloc((size_t)c->size, sizeof(*all));
	contrib = gather_contributions(t);
	if (comm_gather(c, &me, sizeof(me), all, 0))
		rv = 1;
	if (t->leader) {
		const char **nodes = calloc((size_t)c->size, sizeof(*nodes));
		long *rss = calloc((size_t)c->size, sizeof(*rss));
		struct contribution_context ctx = {
			.job_id = getenv("SLURM_JOB_ID"),
			.step_id = getenv("SLURM_STEP_ID"),
			.replica = c->replica,
			.replicas = c->replicas,
			.model_digest = hex,
			.nodes = nodes,
			.peak_rss_kib = rss,
		};
		struct json_object *j = json_object_new_object();
		long max_rss = 0;

		if (all && nodes && rss && contrib) {
			for (int r = 0; r < c->size; r++) {
				nodes[r] = all[r].node;
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
		link_emu_config_free(&o.emu);
		comm_fini(&c);
		return EXIT_USAGE;
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
	link_emu_config_free(&o.emu);
	comm_fini(&c);
	return rv;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "convert"))
		return train_convert_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "roofline"))
		return train_roofline_main(argc - 1, argv + 1);
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
