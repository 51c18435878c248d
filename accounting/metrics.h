/*
 * metrics.h - quorated's HTTP port for monitoring: GET /metrics in the
 * Prometheus text format (version 0.0.4) and GET /healthz.
 *
 * One thread, one connection at a time, every read and write under a
 * short deadline: a slow or hostile scraper delays the next scrape, never
 * the daemon.  What it reports: the counters of daemon.h (requests,
 * results, refusals by reason, verdicts, commits and their latency), and
 * from PostgreSQL through a connection of its own, node reputations and
 * the chain outbox by state.  doc/protocol.md lists every metric.
 */
#ifndef QUORATED_METRICS_H
#define QUORATED_METRICS_H

#include <stddef.h>

/* Bind address:port (port 0: no metrics port) before the threads start.
 * conninfo is PostgreSQL's, for the database metrics.  0, or -1 with err. */
int metrics_init(const char *address, long port, const char *conninfo,
		 char *err, size_t errlen);
/* Start the thread (nothing when the port is 0).  0, or -1 with errno. */
int metrics_start(void);
/* Stop the thread and close the socket. */
void metrics_stop(void);

/* Record one commit of the writer that took `seconds` (ingest.c). */
void metrics_observe_commit(double seconds);

#endif
