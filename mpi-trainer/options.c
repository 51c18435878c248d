/*
 * options.c - see options.h.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "options.h"
#include "rng.h"

void usage(FILE *f)
{
	fprintf(f,
"Usage: quorate-train [OPTION]...             train (under srun: data parallel)\n"
"       quorate-train convert --output FILE.h5 [--data PATH] [--limit N]\n"
"                             [--hdf5-unverified]\n"
"       quorate-train roofline [--model M] [--batch B] [--optimizer O] [--threads N]\n"
"\n"
"  --data PATH            IDX(.gz) directory or HDF5 file (default %s)\n"
"  --hdf5-unverified      also load an HDF5 --data file not written by\n"
"                         quorate-train (no SHA-256 header: unchecked)\n"
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
"  --device cpu|gpu       where the model runs (gpu: quorate-train-gpu, NCCL)\n"
"  --allreduce ring|rd|hier|mpi|auto   gradient all-reduce (default ring)\n"
"  --bucket-bytes N       all-reduce bucket size (default %u)\n"
"  --nondeterministic     allow --allreduce mpi and auto, --adapt, --rebalance\n"
"  --net-report           measure the links and print them with the cost model\n"
"  --probe-every N        measure the links again every N steps (auto)\n"
"  --link-profile P[,P@STEP...]  emulate links between nodes: perfect, good,\n"
"                         average, poor, unstable (from STEP on)\n"
"  --link-file FILE       per-link emulation rules\n"
"  --link-all             emulate links inside a node too\n"
"  --local-steps H        local SGD: H steps per synchronisation, then an outer\n"
"                         Nesterov step (DiLoCo)\n"
"  --adapt                local SGD with H chosen from the measured communication\n"
"  --adapt-target F       communication share above which --adapt takes local\n"
"                         steps, and aims at (default 0.8)\n"
"  --adapt-max-steps H    at most H local steps (default 64)\n"
"  --outer-lr LR, --outer-momentum M   outer step (default 1.0, 0.5)\n"
"  --compress none|fp16|topk[:RATIO]   what the all-reduce sends (top-k: 1 %%)\n"
"  --rebalance            shares of the batch by measured speed, stragglers out\n"
"  --rebalance-every N    steps between rebalancing points (default 20)\n"
"  --straggler-threshold X  x the median time per sample (default 4)\n"
"  --straggler-rounds R   slow points before exclusion (default 3)\n"
"  --probation P          points excluded at first (default 4, then doubled)\n"
"  --slow-rank RANK:F     testing: RANK computes F times slower\n"
"  --max-grad-norm X      reject a rank's gradient whose per-sample norm\n"
"                         exceeds X (default 1000; 0: no bound)\n"
"  --augment[=SHIFT]      random mirror and shift by up to SHIFT pixels\n"
"                         (default 2) of each training sample\n"
"  --stop-at-accuracy A   stop once the test accuracy reaches A\n"
"  --eval-every-steps N   also evaluate every N steps (time to accuracy)\n"
"  --time-limit S         stop after S seconds of training (evaluation excluded)\n"
"  --peer-timeout S       exit with an error when one wait for the other ranks\n"
"                         lasts S seconds: a rank died (default 120; 0: none)\n"
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
	OPT_LINK_PROFILE, OPT_LINK_FILE, OPT_LINK_ALL, OPT_LOCAL_STEPS, OPT_ADAPT,
	OPT_ADAPT_TARGET, OPT_ADAPT_MAX, OPT_OUTER_LR, OPT_OUTER_MOM, OPT_COMPRESS,
	OPT_REBALANCE, OPT_REBALANCE_EVERY, OPT_STRAGGLER_THRESHOLD, OPT_STRAGGLER_ROUNDS,
	OPT_PROBATION, OPT_SLOW_RANK, OPT_EVAL_STEPS, OPT_TIME_LIMIT, OPT_PEER_TIMEOUT, OPT_DEVICE,
	OPT_HDF5_UNVERIFIED,
};

static const struct option train_longopts[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "hdf5-unverified", no_argument, NULL, OPT_HDF5_UNVERIFIED },
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
	{ "local-steps", required_argument, NULL, OPT_LOCAL_STEPS },
	{ "adapt", no_argument, NULL, OPT_ADAPT },
	{ "adapt-target", required_argument, NULL, OPT_ADAPT_TARGET },
	{ "adapt-max-steps", required_argument, NULL, OPT_ADAPT_MAX },
	{ "outer-lr", required_argument, NULL, OPT_OUTER_LR },
	{ "outer-momentum", required_argument, NULL, OPT_OUTER_MOM },
	{ "compress", required_argument, NULL, OPT_COMPRESS },
	{ "rebalance", no_argument, NULL, OPT_REBALANCE },
	{ "rebalance-every", required_argument, NULL, OPT_REBALANCE_EVERY },
	{ "straggler-threshold", required_argument, NULL, OPT_STRAGGLER_THRESHOLD },
	{ "straggler-rounds", required_argument, NULL, OPT_STRAGGLER_ROUNDS },
	{ "probation", required_argument, NULL, OPT_PROBATION },
	{ "slow-rank", required_argument, NULL, OPT_SLOW_RANK },
	{ "eval-every-steps", required_argument, NULL, OPT_EVAL_STEPS },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
	{ "peer-timeout", required_argument, NULL, OPT_PEER_TIMEOUT },
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

int parse_train_options(int argc, char **argv, struct options *o,
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
	o->peer_timeout = PEER_TIMEOUT_DEFAULT;
	o->fault_rank = -1;
	o->fault_step = -1;
	o->augment_shift = -1;
	adapt_config_default(&o->adapt_cfg);
	o->rebalance_every = 20;
	o->straggler_threshold = 4.0;
	o->straggler_rounds = 3;
	o->probation = 4;
	o->slow_rank = -1;
	o->slow_factor = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vhV", train_longopts, NULL)) != -1) {
		const char *opt = bad_option(argv);
		double d;

		switch (c) {
		case OPT_DATA: o->data = optarg; break;
		case OPT_HDF5_UNVERIFIED: o->hdf5_unverified = true; break;
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
		case OPT_LOCAL_STEPS:
			if (parse_long("--local-steps", optarg, 1, 100000, &v, err, errlen))
				return -1;
			o->local_steps = (int)v;
			break;
		case OPT_ADAPT: o->adapt = true; break;
		case OPT_ADAPT_TARGET:
			if (parse_double("--adapt-target", optarg, 0.001, 0.9, &o->adapt_cfg.target,
					 err, errlen))
				return -1;
			break;
		case OPT_ADAPT_MAX:
			if (parse_long("--adapt-max-steps", optarg, 1, 100000, &v, err, errlen))
				return -1;
			o->adapt_cfg.h_max = (int)v;
			break;
		case OPT_OUTER_LR:
			if (parse_double("--outer-lr", optarg, 1e-6, 10, &d, err, errlen))
				return -1;
			o->adapt_cfg.outer_lr = (float)d;
			break;
		case OPT_OUTER_MOM:
			if (parse_double("--outer-momentum", optarg, 0, 0.999, &d, err, errlen))
				return -1;
			o->adapt_cfg.outer_momentum = (float)d;
			break;
		case OPT_COMPRESS:
			if (compress_parse(optarg, &o->compress, &o->compress_ratio, err, errlen))
				return -1;
			break;
		case OPT_DEVICE:
			if (!strcmp(optarg, "cpu")) {
				o->gpu = false;
			} else if (!strcmp(optarg, "gpu")) {
#ifdef HAVE_CUDA_BACKEND
				o->gpu = true;
#else
				snprintf(err, errlen, "--device gpu: this quorate-train was built without "
					 "CUDA; run quorate-train-gpu (configure --with-cuda)");
				return -1;
#endif
			} else {
				snprintf(err, errlen, "--device: '%s' is not a device (allowed: cpu, gpu)",
					 optarg);
				return -1;
			}
			break;
		case OPT_EVAL_STEPS:
			if (parse_long("--eval-every-steps", optarg, 1, 1000000000, &v, err, errlen))
				return -1;
			o->eval_every_steps = v;
			break;
		case OPT_TIME_LIMIT:
			if (parse_double("--time-limit", optarg, 0.001, 1e9, &o->time_limit, err, errlen))
				return -1;
			break;
		case OPT_PEER_TIMEOUT:
			if (parse_double("--peer-timeout", optarg, 0, 1e6, &o->peer_timeout, err, errlen))
				return -1;
			break;
		case OPT_REBALANCE: o->rebalance = true; break;
		case OPT_REBALANCE_EVERY:
			if (parse_long("--rebalance-every", optarg, 1, 1000000, &v, err, errlen))
				return -1;
			o->rebalance_every = v;
			break;
		case OPT_STRAGGLER_THRESHOLD:
			if (parse_double("--straggler-threshold", optarg, 1.01, 1000,
					 &o->straggler_threshold, err, errlen))
				return -1;
			break;
		case OPT_STRAGGLER_ROUNDS:
			if (parse_long("--straggler-rounds", optarg, 1, 1000, &v, err, errlen))
				return -1;
			o->straggler_rounds = (int)v;
			break;
		case OPT_PROBATION:
			if (parse_long("--probation", optarg, 1, 1000, &v, err, errlen))
				return -1;
			o->probation = (int)v;
			break;
		case OPT_SLOW_RANK: {
			int r, n = -1;
			double f;

			if (sscanf(optarg, "%d:%lf%n", &r, &f, &n) != 2 || n != (int)strlen(optarg) ||
			    r < 0 || !(f >= 1 && f <= 100)) {
				snprintf(err, errlen, "--slow-rank: '%s' is not RANK:FACTOR (factor 1..100)",
					 optarg);
				return -1;
			}
			o->slow_rank = r;
			o->slow_factor = f;
			break;
		}
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
	o->allreduce = ALLREDUCE_RING;
	o->allreduce_given = algo != NULL;
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
	if (o->adapt && o->local_steps) {
		snprintf(err, errlen, "--adapt chooses the local steps itself; drop --local-steps");
		return -1;
	}
	if (o->deterministic && (o->adapt || o->rebalance)) {
		snprintf(err, errlen, "%s: its decisions follow measured timings, so runs may "
			 "differ; add --nondeterministic to use it", o->adapt ? "--adapt" : "--rebalance");
		return -1;
	}
	if (o->compress != COMPRESS_NONE && o->allreduce != ALLREDUCE_RING) {
		snprintf(err, errlen, "--compress %s brings its own all-reduce; drop --allreduce %s",
			 o->compress == COMPRESS_FP16 ? "fp16" : "topk", allreduce_algo_name(o->allreduce));
		return -1;
	}
	if (o->resume && !o->checkpoint) {
		snprintf(err, errlen, "--resume needs --checkpoint FILE");
		return -1;
	}
	return 0;
}


void options_free(struct options *o)
{
	link_emu_config_free(&o->emu);
}
