/*
 * ingest_load - a load generator for quorated's ingest (testsuite/bench/
 * quorated-ingest runs it).  THREADS senders, each with its own qclient
 * connection, send replica results for DURATION seconds, BATCH results per
 * munge credential, and time each request from send to answer (which
 * quorated gives only after the commit).  Every step has 3 replicas and a
 * quorum of 2; one step in ten has a disagreeing replica.
 *
 * With --count N it sends exactly N results (N/3 steps) instead, and with
 * --retry-for S retries a request that failed transiently (quorated down,
 * its database down: what a spooling sender does) for up to S seconds, so
 * that every result ends acknowledged or counted as an error
 * (testsuite/integration/t80 kills quorated and restarts PostgreSQL under
 * it).
 *
 * Prints one line of key=value: requests, results, errors, retries,
 * seconds, results_per_s, p50_ms, p99_ms (request latency).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qclient.h"

static struct {
	const char *host;
	unsigned port;
	const char *munge_socket;
	int threads, batch;
	double duration;
	uint32_t job_base;
	uint64_t count;			/* 0: for DURATION; else exactly this many results */
	double retry_for;		/* seconds to retry a transient failure; 0: never */
	atomic_uint_fast64_t next_step;	/* global step counter: job_base + n / 1000, n % 1000 */
	atomic_bool stop;
} O = { .host = "127.0.0.1", .threads = 8, .batch = 1, .duration = 10 };

struct worker {
	pthread_t thread;
	double *lat;		/* ms per request */
	size_t nlat, cap;
	uint64_t results, errors, retries;
	char first_error[320];
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct qclient_options opts = {
		.host = O.host, .port = O.port, .munge_socket = O.munge_socket,
		.io_timeout_ms = 30000,
	};
	struct qclient_error e;
	struct qclient *c = qclient_new(&opts, &e);
	struct qclient_result r[QCLIENT_MAX_BATCH];
	struct qclient_ack acks[QCLIENT_MAX_BATCH];
	uint64_t step = 0;
	int replica = 3;

	if (!c) {
		snprintf(w->first_error, sizeof(w->first_error), "%s", e.message);
		w->errors++;
		return NULL;
	}
	while (!atomic_load(&O.stop)) {
		double t0, first;
		int n = 0;
		bool again;

		for (int i = 0; i < O.batch; i++) {
			struct qclient_result *x = &r[i];

			if (replica == 3) {
				step = atomic_fetch_add(&O.next_step, 1);
				replica = 0;
			}
			if (O.count && step >= O.count / 3) {
				replica = 3;
				break;
			}
			n++;
			memset(x, 0, sizeof(*x));
			x->job_id = O.job_base + (uint32_t)(step / 1000);
			x->step_id = (uint32_t)(step % 1000);
			x->replica = replica;
			x->replicas = 3;
			x->quorum = 2;
			x->node = replica == 0 ? "n1" : replica == 1 ? "n2" : "n3";
			x->uid = 1000;
			memset(x->sha256, step % 10 == 0 && replica == 2 ? 0xbb : 0xaa, 32);
			x->runtime = 1;
			replica++;
		}
		if (n == 0)
			break;		/* --count reached */
		first = t0 = now_ms();
		do {
			enum qclient_class cls = qclient_send_results(c, r, (size_t)n, acks, &e);

			again = false;
			if (cls == QCLIENT_OK)
				for (int i = 0; i < n; i++)
					again |= acks[i].cls == QCLIENT_TRANSIENT;
			else
				again = cls == QCLIENT_TRANSIENT;
			if (again && O.retry_for > 0 && now_ms() - first < O.retry_for * 1e3) {
				/* Resend the whole request: a result already stored
				 * is acknowledged again as a duplicate. */
				w->retries++;
				qclient_disconnect(c);
				usleep(100000);
				t0 = now_ms();
				continue;
			}
			if (cls != QCLIENT_OK) {
				w->errors += (uint64_t)n;
				if (!w->first_error[0])
					snprintf(w->first_error, sizeof(w->first_error), "%s (%s)",
						 e.message, e.code);
				n = 0;
			}
			again = false;
		} while (again);
		if (n == 0)
			continue;
		if (w->nlat == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 4096;
			double *v = realloc(w->lat, cap * sizeof(double));

			if (!v)
				break;
			w->lat = v;
			w->cap = cap;
		}
		w->lat[w->nlat++] = now_ms() - t0;
		for (int i = 0; i < n; i++) {
			if (acks[i].cls == QCLIENT_OK) {
				w->results++;
			} else {
				w->errors++;
				if (!w->first_error[0])
					snprintf(w->first_error, sizeof(w->first_error), "%s (%s)",
						 acks[i].message, acks[i].code);
			}
		}
	}
	qclient_free(c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "munge-socket", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "duration", required_argument, NULL, 'd' },
		{ "job-base", required_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "retry-for", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct worker *w;
	double start, secs, *all;
	size_t n = 0;
	uint64_t results = 0, errors = 0, retries = 0;
	const char *first_error = "";
	int opt;

	while ((opt = getopt_long(argc, argv, "s:m:c:b:d:j:n:r:", opts, NULL)) != -1) {
		switch (opt) {
		case 's': {
			char *colon = strrchr(optarg, ':');

			if (!colon) {
				fprintf(stderr, "ingest_load: --server HOST:PORT\n");
				return 2;
			}
			*colon = '\0';
			O.host = optarg;
			O.port = (unsigned)atoi(colon + 1);
			break;
		}
		case 'm': O.munge_socket = optarg; break;
		case 'c': O.threads = atoi(optarg); break;
		case 'b': O.batch = atoi(optarg); break;
		case 'd': O.duration = atof(optarg); break;
		case 'j': O.job_base = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'n': O.count = strtoull(optarg, NULL, 10); break;
		case 'r': O.retry_for = atof(optarg); break;
		default:
			fprintf(stderr, "usage: ingest_load --server HOST:PORT [--munge-socket S] "
				"[--threads N] [--batch 1..64] [--duration S | --count N] [--retry-for S] "
				"--job-base J\n");
			return 2;
		}
	}
	if (!O.port || O.threads < 1 || O.threads > 512 || O.batch < 1 ||
	    O.batch > QCLIENT_MAX_BATCH || O.duration <= 0 || !O.job_base || O.retry_for < 0 ||
	    (O.count && O.count % 3)) {
		fprintf(stderr, "ingest_load: need --server, --job-base; threads 1..512, batch 1..64, "
			"--count a multiple of 3 (3 replicas a step)\n");
		return 2;
	}
	w = calloc((size_t)O.threads, sizeof(*w));
	if (!w)
		return 1;
	start = now_ms();
	for (int i = 0; i < O.threads; i++)
		if (pthread_create(&w[i].thread, NULL, run, &w[i]))
			return 1;
	if (!O.count) {
		struct timespec ts = { .tv_sec = (time_t)O.duration,
				       .tv_nsec = (long)((O.duration - (double)(time_t)O.duration) * 1e9) };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		atomic_store(&O.stop, true);
	}
	for (int i = 0; i < O.threads; i++) {
		pthread_join(w[i].thread, NULL);
		n += w[i].nlat;
		results += w[i].results;
		errors += w[i].errors;
		retries += w[i].retries;
		if (!first_error[0] && w[i].first_error[0])
			first_error = w[i].first_error;
	}
	secs = (now_ms() - start) / 1000;
	all = malloc((n + 1) * sizeof(double));
	if (!all)
		return 1;
	n = 0;
	for (int i = 0; i < O.threads; i++)
		for (size_t j = 0; j < w[i].nlat; j++)
			all[n++] = w[i].lat[j];
	qsort(all, n, sizeof(double), cmp_double);
	printf("requests=%zu results=%llu errors=%llu retries=%llu seconds=%.2f results_per_s=%.0f "
	       "p50_ms=%.2f p99_ms=%.2f\n", n, (unsigned long long)results,
	       (unsigned long long)errors, (unsigned long long)retries, secs, (double)results / secs,
	       n ? all[n / 2] : 0, n ? all[(size_t)((double)n * 0.99)] : 0);
	if (errors)
		fprintf(stderr, "ingest_load: first error: %s\n", first_error);
	for (int i = 0; i < O.threads; i++)
		free(w[i].lat);
	free(w);
	free(all);
	return errors ? 1 : 0;
}
