/*
 * tools.c - quorate-train's other subcommands: convert (IDX to HDF5) and
 * roofline (how close a training step comes to OpenBLAS sgemm's speed on
 * the step's own matrix shapes).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "allreduce.h"
#include "backend.h"
#include "comm.h"
#include "costmodel.h"
#include "dataset.h"
#include "model.h"
#include "netprobe.h"
#include "optim.h"
#include "rng.h"
#include "train.h"
#ifdef HAVE_CUDA_BACKEND
#include "backend_cuda.h"
#include "gpu_host.h"
#endif

#define ROOFLINE_ROUNDS 4

static int parse_count(const char *cmd, const char *opt, const char *arg, long lo, long hi,
		       long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi) {
		fprintf(stderr, "quorate-train %s: error: %s: '%s' is not a whole number in "
			"%ld..%ld\n", cmd, opt, arg, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static void unknown_option(const char *cmd, char **argv, int c)
{
	const char *opt = argv[optind - 1] ? argv[optind - 1] : "?";

	if (c == ':')
		fprintf(stderr, "quorate-train %s: error: option '%s' needs a value\n", cmd, opt);
	else
		fprintf(stderr, "quorate-train %s: error: unknown option '%s' "
			"(see quorate-train --help)\n", cmd, opt);
}

int train_convert_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'l' },
		{ "hdf5-unverified", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = DATASET_DEFAULT_DIR, *output = NULL;
	struct data_split d;
	char err[2048];
	long limit = 0;
	unsigned flags = 0;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'o': output = optarg; break;
		case 'u': flags |= DATASET_HDF5_UNVERIFIED; break;
		case 'l':
			if (parse_count("convert", "--limit", optarg, 1, 100000000, &limit))
				return 2;
			break;
		default:
			unknown_option("convert", argv, c);
			return 2;
		}
	}
	if (!output || optind < argc) {
		fprintf(stderr, "quorate-train convert: error: %s\n", optind < argc ?
			"unexpected argument" : "--output FILE.h5 is required");
		return 2;
	}
	if (flags & DATASET_HDF5_UNVERIFIED)
		fprintf(stderr, "quorate-train convert: warning: --hdf5-unverified: an HDF5 "
			"--data file without a quorate header is parsed unchecked; Debian's "
			"libhdf5 1.10.8 can crash on a malformed one\n");
	if (dataset_load(data, flags, &d, err, sizeof(err))) {
		fprintf(stderr, "quorate-train convert: error: %s\n", err);
		return 1;
	}
	dataset_limit(&d, (uint32_t)limit);
	if (dataset_write_hdf5(output, &d, err, sizeof(err))) {
		fprintf(stderr, "quorate-train convert: error: %s\n", err);
		dataset_free(&d);
		return 1;
	}
	printf("%s: %u training and %u test images of %ux%u\n", output, d.train.count,
	       d.test.count, d.train.rows, d.train.cols);
	dataset_free(&d);
	return 0;
}

/* Buffers for one sgemm shape, filled with small values. */
struct gemm_bench {
	struct gemm_shape s;
	float *a, *b, *c;
	double best;			/* fastest seconds per call seen */
};

static int gemm_bench_init(struct gemm_bench *g, const struct gemm_shape *s)
{
	size_t a = (size_t)s->m * s->k, b = (size_t)s->k * s->n, c = (size_t)s->m * s->n;

	g->s = *s;
	g->best = 1e30;
	g->a = malloc(a * sizeof(float));
	g->b = malloc(b * sizeof(float));
	g->c = malloc(c * sizeof(float));
	if (!g->a || !g->b || !g->c)
		return -1;
	for (size_t i = 0; i < a; i++)
		g->a[i] = (float)(i % 7) * 0.1f;
	for (size_t i = 0; i < b; i++)
		g->b[i] = (float)(i % 5) * 0.1f;
	return 0;
}

static void gemm_bench_call(struct gemm_bench *g)
{
	const struct gemm_shape *s = &g->s;

	cblas_sgemm(CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans,
		    s->trans_b ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f,
		    g->a, s->trans_a ? s->m : s->k, g->b, s->trans_b ? s->k : s->n,
		    0.0f, g->c, s->n);
}

/* Time calls of FN(ARG) for about BUDGET seconds; keep the fastest mean
 * over a burst of calls in *best.  Bursts, because a shared machine
 * interrupts some of them: the fastest burst is what the code can do. */
static void time_bursts(void (*fn)(void *), void *arg, double budget, double *best)
{
	double start = train_now();

	do {
		double t0 = train_now(), t;
		int calls = 0;

		do {
			fn(arg);
			calls++;
			t = train_now() - t0;
		} while (t < 0.02);
		if (t / calls < *best)
			*best = t / calls;
	} while (train_now() - start < budget);
}

static void gemm_burst(void *arg)
{
	gemm_bench_call(arg);
}

struct step_bench {
	struct backend *b;
	struct dataset *ds;
	uint32_t *idx;
	int batch;
	long step;
};

static void step_burst(void *arg)
{
	struct step_bench *sb = arg;
	struct batch_result r;

	sb->b->ops->train_batch(sb->b, sb->ds, sb->idx, sb->batch, NULL, &r);
	sb->b->ops->apply_update(sb->b, 1.0f / (float)sb->batch, 1e-4f, sb->step++);
}

int train_roofline_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },
		{ "optimizer", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	enum model_kind kind = MODEL_MLP;
	enum optim_kind okind = OPTIM_ADAM;
	long batch = 64, threads = 0, seconds = 2;
	bool json = false;
	struct model_config cfg;
	struct optim_config oc;
	struct input_norm norm = { 0.2860f, 0.3530f };
	struct gemm_shape shapes[3 * MODEL_MAX_LAYERS];
	struct data_split d;
	struct backend *b;
	struct rng rng;
	uint32_t *idx;
	struct gemm_bench gb[3 * MODEL_MAX_LAYERS];
	struct step_bench sb;
	double gemm_time = 0, gemm_flops = 0, step_time, flops;
	int nshapes, c;
	char err[1024];

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (model_kind_parse(optarg, &kind)) {
				fprintf(stderr, "quorate-train roofline: error: --model: '%s' is not "
					"a model (allowed: mlp, cnn)\n", optarg);
				return 2;
			}
			break;
		case 'o':
			if (optim_kind_parse(optarg, &okind)) {
				fprintf(stderr, "quorate-train roofline: error: --optimizer: '%s' is "
					"not an optimizer (allowed: sgd, adam)\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_count("roofline", "--batch", optarg, 1, 65536, &batch))
				return 2;
			break;
		case 't':
			if (parse_count("roofline", "--threads", optarg, 1, 1024, &threads))
				return 2;
			break;
		case 's':
			if (parse_count("roofline", "--seconds", optarg, 1, 600, &seconds))
				return 2;
			break;
		case 'j': json = true; break;
		default:
			unknown_option("roofline", argv, c);
			return 2;
		}
	}
	if (threads > 0)
		openblas_set_num_threads((int)threads);
	threads = openblas_get_num_threads();
	model_config_default(&cfg, kind, 28, 28, DATASET_CLASSES);
	optim_config_default(&oc, okind);
	oc.total_steps = 1000000;
	b = backend_cpu_create(&cfg, &oc, (int)batch, norm, 1, err, sizeof(err));
	if (!b) {
		fprintf(stderr, "quorate-train roofline: error: %s\n", err);
		return 1;
	}
	/* Synthetic images: the arithmetic does not depend on the pixels. */
	memset(&d, 0, sizeof(d));
	d.train.count = (uint32_t)batch;
	d.train.rows = d.train.cols = 28;
	d.train.images = malloc((size_t)batch * 784);
	d.train.labels = malloc((size_t)batch);
	idx = malloc((size_t)batch * sizeof(uint32_t));
	if (!d.train.images || !d.train.labels || !idx) {
		fprintf(stderr, "quorate-train roofline: error: out of memory\n");
		return 1;
	}
	rng_seed(&rng, 42);
	for (size_t i = 0; i < (size_t)batch * 784; i++)
		d.train.images[i] = (uint8_t)rng_below(&rng, 256);
	for (long i = 0; i < batch; i++) {
		d.train.labels[i] = (uint8_t)rng_below(&rng, DATASET_CLASSES);
		idx[i] = (uint32_t)i;
	}

	nshapes = model_gemm_shapes(&b->layout, (int)batch, shapes, 3 * MODEL_MAX_LAYERS);
	for (int i = 0; i < nshapes; i++)
		if (gemm_bench_init(&gb[i], &shapes[i])) {
			fprintf(stderr, "quorate-train roofline: error: out of memory\n");
			return 1;
		}
	sb = (struct step_bench){ b, &d.train, idx, (int)batch, 0 };
	/* Rounds that alternate the two measurements, so that a busy spell of
	 * the machine hits both alike. */
	step_time = 1e30;
	for (int round = 0; round < ROOFLINE_ROUNDS; round++) {
		double slice = (double)seconds / ROOFLINE_ROUNDS / 2;

		for (int i = 0; i < nshapes; i++)
			time_bursts(gemm_burst, &gb[i], slice / nshapes, &gb[i].best);
		time_bursts(step_burst, &sb, slice, &step_time);
	}
	for (int i = 0; i < nshapes; i++) {
		double f = 2.0 * shapes[i].m * shapes[i].n * shapes[i].k;

		gemm_time += gb[i].best;
		gemm_flops += f;
		if (!json)
			printf("  sgemm %c%c m=%-6d n=%-6d k=%-6d %8.1f GFLOP/s\n",
			       shapes[i].trans_a ? 'T' : 'N', shapes[i].trans_b ? 'T' : 'N',
			       shapes[i].m, shapes[i].n, shapes[i].k, f / gb[i].best * 1e-9);
		free(gb[i].a);
		free(gb[i].b);
		free(gb[i].c);
	}
	flops = model_train_flops(&b->layout) * (double)batch;
	if (json)
		printf("{\"model\":\"%s\",\"batch\":%ld,\"optimizer\":\"%s\",\"threads\":%ld,"
		       "\"gemm_gflops\":%.2f,\"step_gflops\":%.2f,\"fraction\":%.4f,"
		       "\"samples_per_s\":%.1f,\"step_ms\":%.4f,\"gemm_ms\":%.4f}\n",
		       model_kind_name(kind), batch, optim_kind_name(okind), threads,
		       gemm_flops / gemm_time * 1e-9, flops / step_time * 1e-9,
		       gemm_time / step_time, (double)batch / step_time, step_time * 1e3,
		       gemm_time * 1e3);
	else
		printf("%s, batch %ld, %s, %ld OpenBLAS thread%s (%s)\n"
		       "  sgemm on the step's %d shapes: %.1f GFLOP/s (%.3f ms per step)\n"
		       "  training step: %.1f GFLOP/s, %.3f ms, %.0f samples/s\n"
		       "  roofline: %.1f %% of sgemm's speed on the same shapes\n",
		       model_kind_name(kind), batch, optim_kind_name(okind), threads,
		       threads > 1 ? "s" : "", openblas_get_corename(), nshapes,
		       gemm_flops / gemm_time * 1e-9, gemm_time * 1e3, flops / step_time * 1e-9,
		       step_time * 1e3, (double)batch / step_time, 100.0 * gemm_time / step_time);
	backend_destroy(b);
	dataset_free(&d);
	free(idx);
	return 0;
}

/* ---- quorate-train allreduce-bench ---- */

/* Every algorithm, MPI_Allreduce and the cost model's choice on message
 * sizes from 4 KiB to 64 MiB: the mean time of 30 to 40 runs without
 * their fastest and slowest fifth (nccl-tests report a mean), algbw =
 * bytes / time and busbw = algbw x 2 (n - 1) / n as nccl-tests define them.
 * CSV on rank 0's stdout. */
int train_allreduce_bench_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "min-bytes", required_argument, NULL, 'a' },
		{ "max-bytes", required_argument, NULL, 'b' },
		{ "reps", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	long min_bytes = 4 << 10, max_bytes = 64 << 20, reps = 0;
	struct comm c;
	struct cost_model model;
	struct probe_opts po;
	char err[1024];
	float *buf = NULL, *tmp = NULL;
	int ch, calibrated, rv = 1;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (parse_count("allreduce-bench", "--min-bytes", optarg, 4, 1L << 30, &min_bytes))
				return 2;
			break;
		case 'b':
			if (parse_count("allreduce-bench", "--max-bytes", optarg, 4, 1L << 30, &max_bytes))
				return 2;
			break;
		case 'r':
			if (parse_count("allreduce-bench", "--reps", optarg, 1, 1000, &reps))
				return 2;
			break;
		default:
			unknown_option("allreduce-bench", argv, ch);
			return 2;
		}
	}
	if (comm_init(&argc, &argv, &c, err, sizeof(err))) {
		fprintf(stderr, "quorate-train allreduce-bench: error: %s\n", err);
		return 1;
	}
	buf = malloc((size_t)max_bytes);
	tmp = malloc((size_t)max_bytes);
	if (!buf || !tmp || cost_model_init(&model, c.size, &c.topo, 0, 0)) {
		fprintf(stderr, "quorate-train allreduce-bench: error: out of memory\n");
		goto out;
	}
	probe_opts_default(&po);
	if (net_probe(c.transport, &model, &po, true)) {
		fprintf(stderr, "quorate-train allreduce-bench: error: probing the links failed\n");
		goto out;
	}
	model.allow_mpi = true;
	/* Over the whole range measured below, with the trainer's budget: the
	 * trainer calibrates up to its largest message the same way. */
	calibrated = net_calibrate(c.transport, &c.topo, &model, (size_t)max_bytes,
				   NET_CALIBRATE_BUDGET);
	if (calibrated < 0) {
		fprintf(stderr, "quorate-train allreduce-bench: error: calibration failed\n");
		goto out;
	}
	if (c.rank == 0) {
		fprintf(stderr, "calibration up to %ld bytes, budget %g s: %s\n", max_bytes,
			NET_CALIBRATE_BUDGET, calibrated ? "algorithms timed whole" :
			"skipped (predicted over the budget): link-by-link model");
		size_t sizes[] = { 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20,
				   16 << 20, 64 << 20 };

		net_report(stderr, &model, sizes, 8);
		printf("ranks,nodes,bytes,algorithm,chosen,seconds,algbw_GBps,busbw_GBps\n");
	}
	for (long bytes = min_bytes; bytes <= max_bytes; bytes *= 4) {
		size_t n = (size_t)bytes / sizeof(float);
		int r = reps ? (int)reps : bytes <= (1 << 20) ? 40 : 30;
		enum allreduce_algo chosen = cost_model_choose(&model, (size_t)bytes, NULL);
		double *t = calloc((size_t)ALLREDUCE_CONCRETE * (size_t)r, sizeof(double));
		double mean[ALLREDUCE_CONCRETE], best = 1e30;
		int best_algo = 0;

		if (!t)
			goto out;
		/* Rounds that take every algorithm in turn, so that a busy spell of
		 * a shared machine hits them alike, in an order of their own (see
		 * net_round_order); one warm-up round. */
		for (int i = 0; i <= r; i++) {
			int order[ALLREDUCE_CONCRETE];

			net_round_order(i, ALLREDUCE_CONCRETE, order);
			for (int j = 0; j < ALLREDUCE_CONCRETE; j++) {
				int a = order[j];
				double t0;

				for (size_t k = 0; k < n; k++)
					buf[k] = (float)(k % 13) * 0.5f;
				comm_barrier(&c);
				t0 = train_now();
				if (allreduce_run((enum allreduce_algo)a, c.transport, &c.topo, buf, n, tmp)) {
					fprintf(stderr, "all-reduce %s failed\n",
						allreduce_algo_name((enum allreduce_algo)a));
					free(t);
					goto out;
				}
				if (i > 0)
					t[(size_t)a * r + (size_t)(i - 1)] = train_now() - t0;
			}
		}
		/* The slowest rank's time of each run decides. */
		comm_max_f64(&c, t, ALLREDUCE_CONCRETE * r);
		for (int a = 0; a < ALLREDUCE_CONCRETE; a++) {
			mean[a] = net_trimmed_mean(t + (size_t)a * r, r);
			if (mean[a] < best) {
				best = mean[a];
				best_algo = a;
			}
		}
		for (int a = 0; a <= ALLREDUCE_AUTO && c.rank == 0; a++) {
			/* auto runs the algorithm the cost model chose: its time is that
			 * algorithm's, measured in the same rounds. */
			double m = mean[a == ALLREDUCE_AUTO ? (int)chosen : a];
			double algbw = (double)bytes / m * 1e-9;

			printf("%d,%d,%ld,%s,%s,%.6g,%.4f,%.4f\n", c.size, c.topo.nnodes, bytes,
			       allreduce_algo_name((enum allreduce_algo)a),
			       allreduce_algo_name(a == ALLREDUCE_AUTO ? chosen : (enum allreduce_algo)a),
			       m, algbw, algbw * 2.0 * (c.size - 1) / c.size);
		}
		if (c.rank == 0)
			fprintf(stderr, "%9ld bytes: auto chose %s, %.3g s; best %s %.3g s: %+.1f %%\n",
				bytes, allreduce_algo_name(chosen), mean[chosen],
				allreduce_algo_name((enum allreduce_algo)best_algo), best,
				100.0 * (mean[chosen] / best - 1));
		free(t);
		fflush(stdout);
	}
	rv = 0;
out:
	free(buf);
	free(tmp);
	if (model.links)
		cost_model_free(&model);
	comm_fini(&c);
	return rv;
}

/* ---- quorate-train-gpu nccl-bench ---- */

/* NCCL all-reduce of 4 KiB .. 256 MiB on every rank's GPU: the slowest
 * rank's median, algbw and busbw as nccl-tests define them; CSV. */
int train_nccl_bench_main(int argc, char **argv)
{
#ifdef HAVE_CUDA_BACKEND
	struct comm c;
	struct model_config cfg;
	struct optim_config oc;
	struct input_norm norm = { 0.3f, 0.3f };
	struct backend *b = NULL;
	unsigned char id[BACKEND_CUDA_ID_BYTES] = { 0 };
	char err[1024];
	int rv = 1, device;

	if (comm_init(&argc, &argv, &c, err, sizeof(err))) {
		fprintf(stderr, "quorate-train nccl-bench: error: %s\n", err);
		return 1;
	}
	gpu_deterministic_env(NULL, 0);
	device = gpu_device_for(c.local_rank, backend_cuda_devices());
	model_config_default(&cfg, MODEL_MLP, 28, 28, DATASET_CLASSES);
	optim_config_default(&oc, OPTIM_SGD);
	if (device < 0) {
		fprintf(stderr, "quorate-train nccl-bench: error: no CUDA device\n");
		goto out;
	}
	b = backend_cuda_create(&cfg, &oc, 1, norm, 1, device, err, sizeof(err));
	if (!b || (c.rank == 0 && backend_cuda_nccl_id(id, sizeof(id))) ||
	    comm_bcast(&c, id, sizeof(id), 0) ||
	    backend_cuda_connect(b, c.rank, c.size, id, err, sizeof(err))) {
		fprintf(stderr, "quorate-train nccl-bench: error: %s\n", b ? err : "no backend");
		goto out;
	}
	if (c.rank == 0)
		printf("ranks,bytes,seconds,algbw_GBps,busbw_GBps\n");
	for (size_t bytes = 4 << 10; bytes <= (256u << 20); bytes *= 4) {
		double med = 0;

		if (backend_cuda_time_allreduce(b, bytes, 20, &med) || comm_max_f64(&c, &med, 1))
			goto out;
		if (c.rank == 0)
			printf("%d,%zu,%.6g,%.3f,%.3f\n", c.size, bytes, med, bytes / med * 1e-9,
			       bytes / med * 1e-9 * 2.0 * (c.size - 1) / c.size);
	}
	rv = 0;
out:
	backend_destroy(b);
	comm_fini(&c);
	return rv;
#else
	(void)argc; (void)argv;
	fprintf(stderr, "quorate-train nccl-bench: built without CUDA (quorate-train-gpu has it)\n");
	return 1;
#endif
}
