/*
 * metrics.c - GET /metrics (Prometheus text format 0.0.4) and GET /healthz
 * on quorated's MetricsPort.  See metrics.h.
 */
#define _GNU_SOURCE	/* accept4, open_memstream */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define REQUEST_MAX 4096	/* bytes of request head read; more is refused */
#define IO_DEADLINE_MS 2000	/* to read the request, and to write the answer */
#define DB_TIMEOUT "2s"		/* statement_timeout of the metrics' own queries */

/* Commit latency buckets (seconds); +Inf is implicit. */
static const double commit_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				    0.1, 0.25, 0.5, 1, 2.5, 10 };
#define NBUCKETS (sizeof(commit_le) / sizeof(commit_le[0]))
static atomic_ulong commit_bucket[NBUCKETS + 1];
static atomic_ulong commit_count, commit_sum_us;

static struct {
	int fd;
	char *conninfo;
	PGconn *db;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	double started_at;
	unsigned long scrapes;
} M = { .fd = -1 };

void metrics_observe_commit(double seconds)
{
	size_t i = 0;

	while (i < NBUCKETS && seconds > commit_le[i])
		i++;
	atomic_fetch_add(&commit_bucket[i], 1);
	atomic_fetch_add(&commit_count, 1);
	atomic_fetch_add(&commit_sum_us, (unsigned long)(seconds * 1e6));
}

/* -------------------------------------------------------------- render -- */

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* NAME{cluster="..",node=".." of row i (columns 0 and 1), brace left open. */
static void put_node(FILE *f, const char *name, const PGresult *nodes, int i)
{
	fprintf(f, "%s{cluster=\"", name);
	put_label(f, PQgetvalue(nodes, i, 0));
	fputs("\",node=\"", f);
	put_label(f, PQgetvalue(nodes, i, 1));
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *f, const char *name, const char *help, unsigned long v)
{
	family(f, name, "counter", help);
	fprintf(f, "%s %lu\n", name, v);
}

#define LOAD(x) atomic_load(&counters.x)

static void render_counters(FILE *f)
{
	static const struct { const char *reason; size_t off; } refusals[] = {
		{ "expired", offsetof(struct counters, cred_expired) },
		{ "rewound", offsetof(struct counters, cred_rewound) },
		{ "replayed", offsetof(struct counters, cred_replayed) },
		{ "bad_credential", offsetof(struct counters, cred_invalid) },
		{ "unauthorized", offsetof(struct counters, unauthorized) },
		{ "forbidden", offsetof(struct counters, forbidden) },
		{ "malformed", offsetof(struct counters, malformed) },
		{ "too_large", offsetof(struct counters, too_large) },
		{ "retry_later", offsetof(struct counters, refused_retry) },
	};
	unsigned long cum = 0;

	counter(f, "quorate_requests_total",
		"Requests received with a credential (every message type).", LOAD(requests));
	family(f, "quorate_requests_rejected_total", "counter",
	       "Requests or items refused, by reason (doc/protocol.md's error codes).");
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		fprintf(f, "quorate_requests_rejected_total{reason=\"%s\"} %lu\n", refusals[i].reason,
			atomic_load((atomic_ulong *)((char *)&counters + refusals[i].off)));
	family(f, "quorate_results_total", "counter", "Replica results answered, by outcome.");
	fprintf(f, "quorate_results_total{outcome=\"stored\"} %lu\n", LOAD(results_stored));
	fprintf(f, "quorate_results_total{outcome=\"duplicate\"} %lu\n", LOAD(results_duplicate));
	fprintf(f, "quorate_results_total{outcome=\"rejected\"} %lu\n", LOAD(results_rejected));
	counter(f, "quorate_contributions_stored_total",
		"Trainer contributions stored.", LOAD(contributions_stored));
	family(f, "quorate_verdicts_total", "counter", "Verdicts decided, by outcome.");
	fprintf(f, "quorate_verdicts_total{verdict=\"ACCEPTED\"} %lu\n", LOAD(verdicts_accepted));
	fprintf(f, "quorate_verdicts_total{verdict=\"REJECTED\"} %lu\n", LOAD(verdicts_rejected));
	counter(f, "quorate_commit_failures_total",
		"Transactions of the writer that failed.", LOAD(commit_failures));
	family(f, "quorate_slurm_pushes_total", "counter",
	       "Node reputations written to slurmctld's Extra field, by outcome.");
	fprintf(f, "quorate_slurm_pushes_total{outcome=\"ok\"} %lu\n", LOAD(slurm_pushes));
	fprintf(f, "quorate_slurm_pushes_total{outcome=\"failed\"} %lu\n", LOAD(slurm_push_failures));

	family(f, "quorate_database_commit_seconds", "histogram",
	       "Time of each committed transaction of the writer (group commit).");
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += atomic_load(&commit_bucket[i]);
		fprintf(f, "quorate_database_commit_seconds_bucket{le=\"%g\"} %lu\n", commit_le[i], cum);
	}
	cum += atomic_load(&commit_bucket[NBUCKETS]);
	fprintf(f, "quorate_database_commit_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	fprintf(f, "quorate_database_commit_seconds_sum %.6f\n",
		(double)atomic_load(&commit_sum_us) / 1e6);
	fprintf(f, "quorate_database_commit_seconds_count %lu\n", cum);
}

/* ------------------------------------------------------------ database -- */

static bool db_ready(void)
{
	char err[256];

	if (M.db && PQstatus(M.db) == CONNECTION_OK)
		return true;
	if (M.db) {
		PQfinish(M.db);
		M.db = NULL;
	}
	M.db = store_connect(M.conninfo, false, err, sizeof(err));
	if (!M.db) {
		log_debug("metrics: database: %s", err);
		return false;
	}
	PQclear(PQexec(M.db, "SET statement_timeout = '" DB_TIMEOUT "'"));
	return true;
}

static PGresult *db_query(const char *sql)
{
	PGresult *res = PQexecParams(M.db, sql, 0, NULL, NULL, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_debug("metrics: %s", PQerrorMessage(M.db));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* The database's part; returns whether the database answered. */
static bool render_database(FILE *f)
{
	PGresult *nodes = NULL, *outbox = NULL, *has_outbox = NULL, *last = NULL;
	double t0 = mono_seconds(), took;
	bool up = db_ready();

	if (up)
		nodes = db_query("SELECT cluster, name, coalesce(site, ''), score, state "
				 "FROM nodes ORDER BY cluster, name");
	/* The chain outbox exists once its migration ran (schema 002). */
	if (up && nodes)
		has_outbox = db_query("SELECT to_regclass('chain_outbox') IS NOT NULL");
	if (has_outbox && PQntuples(has_outbox) == 1 && PQgetvalue(has_outbox, 0, 0)[0] == 't')
		outbox = db_query("SELECT s.state, count(o.epoch) "
				  "FROM unnest(ARRAY['pending','sent','confirmed','failed']) AS s(state) "
				  "LEFT JOIN chain_outbox o ON o.state = s.state "
				  "GROUP BY s.state ORDER BY s.state");
	if (outbox)
		last = db_query("SELECT coalesce(max(epoch), -1) FROM epochs");
	up = up && nodes;
	took = mono_seconds() - t0;

	family(f, "quorate_database_up", "gauge",
	       "Whether the metrics' own database query succeeded (1) or not (0).");
	fprintf(f, "quorate_database_up %d\n", up ? 1 : 0);
	family(f, "quorate_database_query_seconds", "gauge",
	       "Time of this scrape's database queries.");
	fprintf(f, "quorate_database_query_seconds %.6f\n", took);
	if (nodes) {
		family(f, "quorate_node_reputation", "gauge",
		       "A node's reputation score (0-100), as pushed to its Extra field.");
		for (int i = 0; i < PQntuples(nodes); i++) {
			put_node(f, "quorate_node_reputation", nodes, i);
			fputs(",site=\"", f);
			put_label(f, PQgetvalue(nodes, i, 2));
			fprintf(f, "\"} %s\n", PQgetvalue(nodes, i, 3));
		}
		family(f, "quorate_node_quarantined", "gauge",
		       "1 when the node is quarantined, else 0.");
		for (int i = 0; i < PQntuples(nodes); i++) {
			put_node(f, "quorate_node_quarantined", nodes, i);
			fprintf(f, "} %d\n", strcmp(PQgetvalue(nodes, i, 4), "quarantined") == 0);
		}
	}
	if (outbox && PQntuples(outbox) > 0) {
		family(f, "quorate_chain_outbox_epochs", "gauge",
		       "Closed epochs in the chain outbox, by state (pending and sent: the depth).");
		for (int i = 0; i < PQntuples(outbox); i++)
			fprintf(f, "quorate_chain_outbox_epochs{state=\"%s\"} %s\n",
				PQgetvalue(outbox, i, 0), PQgetvalue(outbox, i, 1));
	}
	if (last && PQntuples(last) == 1) {
		struct settings set;

		settings_get(&set);
		family(f, "quorate_epoch_last_closed", "gauge",
		       "The latest closed contribution epoch (-1: none yet).");
		fprintf(f, "quorate_epoch_last_closed %s\n", PQgetvalue(last, 0, 0));
		family(f, "quorate_epoch_length_seconds", "gauge",
		       "EpochLength: epoch N covers [N, N+1) times this, in Unix seconds.");
		fprintf(f, "quorate_epoch_length_seconds %ld\n", set.epoch_length);
	}
	PQclear(nodes);
	PQclear(has_outbox);
	PQclear(outbox);
	PQclear(last);
	return up;
}

/* ---------------------------------------------------------------- HTTP -- */

static bool wait_fd(int fd, short events, double deadline)
{
	int ms = (int)((deadline - mono_seconds()) * 1000);
	struct pollfd p = { .fd = fd, .events = events };

	return ms > 0 && poll(&p, 1, ms) == 1 && !(p.revents & POLLNVAL);
}

static void send_all(int fd, const char *buf, size_t len, double deadline)
{
	while (len > 0 && wait_fd(fd, POLLOUT, deadline)) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void answer(int fd, int status, const char *reason, const char *type,
		   const char *body, size_t len, bool head_only, double deadline)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, reason, type, len);

	send_all(fd, head, (size_t)n, deadline);
	if (!head_only)
		send_all(fd, body, len, deadline);
}

static void serve(int fd)
{
	char req[REQUEST_MAX + 1], method[8], path[256];
	size_t len = 0;
	double deadline = mono_seconds() + IO_DEADLINE_MS / 1000.0;
	bool head;

	/* Read up to the end of the request head. */
	while (len < REQUEST_MAX && !memmem(req, len, "\r\n\r\n", 4) &&
	       !memmem(req, len, "\n\n", 2)) {
		ssize_t n;

		if (!wait_fd(fd, POLLIN, deadline))
			return;
		n = recv(fd, req + len, REQUEST_MAX - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return;
		len += (size_t)n;
	}
	req[len] = '\0';
	if (sscanf(req, "%7s %255s HTTP/1.%*[01]", method, path) != 2) {
		static const char bad[] = "bad request\n";

		answer(fd, 400, "Bad Request", "text/plain", bad, sizeof(bad) - 1, false, deadline);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		static const char body[] = "only GET and HEAD\n";

		answer(fd, 405, "Method Not Allowed", "text/plain", body, sizeof(body) - 1, false,
		       deadline);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		char *text = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&text, &n);

		if (!f)
			return;
		M.scrapes++;
		render_counters(f);
		render_database(f);
		family(f, "quorate_up_seconds", "gauge", "Seconds since quorated started.");
		fprintf(f, "quorate_up_seconds %.3f\n", mono_seconds() - M.started_at);
		family(f, "quorate_build_info", "gauge", "quorated's version, as a label; always 1.");
		fprintf(f, "quorate_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
		if (fclose(f) == 0)
			answer(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, n,
			       head, mono_seconds() + IO_DEADLINE_MS / 1000.0);
		free(text);
	} else if (strcmp(path, "/healthz") == 0) {
		/* Healthy: accepting reports, i.e. the database answers. */
		PGresult *r = db_ready() ? db_query("SELECT 1") : NULL;
		bool ok = r != NULL;
		const char *body = ok ? "ok\n" : "database unavailable\n";

		PQclear(r);
		answer(fd, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", "text/plain",
		       body, strlen(body), head, deadline);
	} else {
		static const char body[] = "not found: try /metrics or /healthz\n";

		answer(fd, 404, "Not Found", "text/plain", body, sizeof(body) - 1, head, deadline);
	}
}

static void *metrics_thread(void *arg)
{
	(void)arg;
	daemon_thread_init("q-metrics");
	while (!atomic_load(&M.stop)) {
		struct pollfd p = { .fd = M.fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 500) != 1)
			continue;
		c = accept4(M.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
	return NULL;
}

/* ----------------------------------------------------------- lifecycle -- */

int metrics_init(const char *address, long port, const char *conninfo,
		 char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char portstr[16];
	int one = 1, rc;

	if (port == 0)
		return 0;
	M.conninfo = strdup(conninfo ? conninfo : "");
	if (!M.conninfo) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%ld", port);
	rc = getaddrinfo(address, portstr, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "MetricsAddress %s: %s", address ? address : "(any)",
			 gai_strerror(rc));
		return -1;
	}
	M.fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
	if (M.fd < 0 || setsockopt(M.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(M.fd, ai->ai_addr, ai->ai_addrlen) || listen(M.fd, 16)) {
		snprintf(err, errlen, "metrics port %s:%ld: %s", address ? address : "*", port,
			 strerror(errno));
		if (M.fd >= 0)
			close(M.fd);
		M.fd = -1;
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

int metrics_start(void)
{
	M.started_at = mono_seconds();
	if (M.fd < 0)
		return 0;
	if (pthread_create(&M.thread, NULL, metrics_thread, NULL) != 0)
		return -1;
	M.started = true;
	return 0;
}

void metrics_stop(void)
{
	atomic_store(&M.stop, true);
	if (M.started)
		pthread_join(M.thread, NULL);
	M.started = false;
	if (M.fd >= 0)
		close(M.fd);
	M.fd = -1;
	if (M.db)
		PQfinish(M.db);
	M.db = NULL;
	free(M.conninfo);
	M.conninfo = NULL;
}
