/*
 * contrib_store_bench - issue 11's performance item: N synthetic usage
 * records (default 1,000,000) written straight into quorated's store with
 * the ingest writer (COPY, then the idempotent insert and the watermark,
 * one transaction), then the epoch closed from the store (cursor read with
 * the joins, formula, records, Merkle tree, CSV hash, and the writes of
 * epochs, epoch_records, ledger, balances, chain_outbox, one transaction).
 *
 *   contrib_store_bench CONNINFO [N] [NODES]
 *
 * CONNINFO names a scratch database with schema 001-003 applied and no
 * epoch closed (contrib-store-bench.sh makes one).  Baseline, measured in
 * the same run: contrib_epoch_close over the same records in memory (what
 * the close costs without the store); "ratio" is ingest + close over it.
 * The root from the store must equal the in-memory root, and a second
 * ingest of the same records must insert nothing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "contrib.h"
#include "contrib_store.h"
#include "contrib_strpool.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	static const char *const sites[] = { "site_a", "site_b", "site_c" };
	static const char *const clusters[] = { "east", "west" };
	const int64_t day = 86400, epoch = 20000;	/* 2024-10-04, long over */
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	size_t nodes = argc > 3 ? strtoul(argv[3], NULL, 10) : 10000;
	struct contrib_policy p;
	struct contrib_strpool pool = { 0 };
	struct contrib_usage *u;
	struct contrib_epoch e = { 0 };
	struct cstore_ingest_stats st, st2;
	struct cstore_close_result r;
	struct rusage ru;
	char err[1024], conf[4096], name[64];
	const char **node_names, *accounts[50];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t off;
	double t, t_mem, t_ingest, t_close, t_again;
	PGconn *conn;
	enum cstore_close_rc rc;

	if (argc < 2 || !n || !nodes || nodes > n) {
		fprintf(stderr, "usage: contrib_store_bench CONNINFO [N] [NODES <= N]\n");
		return 1;
	}
	off = (size_t)snprintf(conf, sizeof(conf), "BillingWeights=cpu=1,gpu=8,node=0.1\n"
			       "IngestOverlap=3600\n"
			       "SitePayee=site_a=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n"
			       "SitePayee=site_b=0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\n"
			       "SitePayee=site_c=0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB\n");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(conf + off, sizeof(conf) - off, "AccountSite=acct%d=%s\n",
					i, sites[i % 3]);
	{
		struct quorate_conf qc;

		if (qconf_load_buffer("bench.conf", conf, off, &qc, err, sizeof(err)) ||
		    contrib_policy_from_conf(&p, &qc, "bench.conf", err, sizeof(err))) {
			fprintf(stderr, "contrib_store_bench: %s\n", err);
			return 1;
		}
		qconf_free(&qc);
	}
	u = calloc(n, sizeof(*u));
	node_names = calloc(nodes, sizeof(*node_names));
	if (!u || !node_names)
		return 1;
	for (size_t i = 0; i < nodes; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		node_names[i] = contrib_strpool_add(&pool, name);
	}
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "acct%d", i);
		accounts[i] = contrib_strpool_add(&pool, name);
	}
	/* Jobs of 4 nodes: record i is part i % 4 of job i / 4, on node
	 * i % NODES (distinct within a job), so that (db_index, cluster, node)
	 * is unique as slurmdbd's records are. */
	for (size_t i = 0; i < n; i++) {
		size_t node = i % nodes, job = i / 4;
		uint64_t elapsed = 60 + rnd(&seed) % 7200, cpus = 1 + rnd(&seed) % 64;

		u[i].cluster = clusters[job % 2];
		u[i].node = node_names[node];
		u[i].site = sites[node % 3];
		u[i].account = accounts[job % 50];
		u[i].user = "user";
		u[i].partition = "batch";
		u[i].qos = "normal";
		u[i].db_index = job + 1;
		u[i].job_id = (uint32_t)(job + 1);
		u[i].end_time = epoch * day + (int64_t)(rnd(&seed) % (uint64_t)day);
		u[i].start_time = u[i].end_time - (int64_t)elapsed;
		u[i].cpu_seconds = cpus * elapsed;
		u[i].gpu_seconds = rnd(&seed) % 8 == 0 ? (1 + rnd(&seed) % 4) * elapsed : 0;
		u[i].node_seconds = elapsed;
	}

	/* Baseline: the same close in memory. */
	t = now();
	if (contrib_epoch_close(&p, (uint64_t)epoch, u, n, &e, err, sizeof(err))) {
		fprintf(stderr, "contrib_store_bench: %s\n", err);
		return 1;
	}
	t_mem = now() - t;

	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "contrib_store_bench: %s", PQerrorMessage(conn));
		return 1;
	}
	if (cstore_check_schema(conn, err, sizeof(err))) {
		fprintf(stderr, "contrib_store_bench: %s\n", err);
		return 1;
	}
	t = now();
	if (cstore_ingest(conn, u, n, p.epoch_length, (epoch + 1) * day + p.ingest_overlap,
			  n / 4, &st, err, sizeof(err))) {
		fprintf(stderr, "contrib_store_bench: ingest: %s\n", err);
		return 1;
	}
	t_ingest = now() - t;
	t = now();
	rc = cstore_epoch_close(conn, &p, (uint64_t)epoch, true, &r, err, sizeof(err));
	t_close = now() - t;
	if (rc != CSTORE_CLOSED) {
		fprintf(stderr, "contrib_store_bench: close (%d): %s\n", (int)rc, err);
		return 1;
	}
	/* Checks: the store's root is the in-memory root; a second ingest of the
	 * same records (now in a closed epoch) stores nothing. */
	if (memcmp(r.root, e.root, 32) || memcmp(r.data_hash, e.data_hash, 32) ||
	    r.usage_records != n || (size_t)r.records != e.n_records || st.inserted != n) {
		fprintf(stderr, "contrib_store_bench: the store's epoch differs from the "
			"in-memory close (rows %zu/%zu, records %lld/%zu)\n", r.usage_records, n,
			(long long)r.records, e.n_records);
		return 1;
	}
	t = now();
	if (cstore_ingest(conn, u, n, p.epoch_length, (epoch + 1) * day + p.ingest_overlap,
			  n / 4, &st2, err, sizeof(err)) || st2.inserted != 0) {
		fprintf(stderr, "contrib_store_bench: second ingest stored %zu rows: %s\n",
			st2.inserted, err);
		return 1;
	}
	t_again = now() - t;
	getrusage(RUSAGE_SELF, &ru);
	printf("records            %zu (%zu nodes, %zu leaves)\n", n, nodes, e.n_records);
	printf("ingest (COPY+insert+watermark)  %8.2f s\n", t_ingest);
	printf("close  (read+close+write)       %8.2f s  (read %.2f, compute %.2f, write %.2f)\n",
	       t_close, r.load_s, r.compute_s, r.write_s);
	printf("ingest + close                  %8.2f s\n", t_ingest + t_close);
	printf("baseline: close in memory       %8.2f s\n", t_mem);
	printf("ratio (ingest + close) / baseline %6.1f\n", (t_ingest + t_close) / t_mem);
	printf("second ingest (all %zu rows duplicates or late: %zu, %zu)  %8.2f s\n",
	       n, st2.duplicate, st2.late, t_again);
	printf("peak RSS                        %8ld MiB\n", ru.ru_maxrss / 1024);
	PQfinish(conn);
	contrib_epoch_free(&e);
	contrib_policy_free(&p);
	contrib_strpool_free(&pool);
	free(node_names);
	free(u);
	return 0;
}
