/*
 * contrib_epoch_bench - the pure part of closing an epoch of N synthetic
 * usage records (default 1,000,000): the formula, the ledger, the close
 * (records in canonical order, leaves, Merkle tree, canonical CSV and its
 * SHA-256), the reward split; wall time of each, and peak memory.
 *
 *   contrib_epoch_bench [N] [NODES]
 *
 * NODES distinct nodes (default 10,000; N gives one leaf per record, the
 * worst case for the tree) over 3 sites and 2 clusters, 50 accounts of
 * which 40 have a home site, a tenth of the records with verified steps,
 * a twentieth from training jobs, every node with a reputation.
 *
 * Baseline, measured in the same run: what a close cannot avoid, in bare
 * loops: the hashing (two keccak256 per leaf, one per tree pair, SHA-256
 * over as many bytes as the CSV) and one qsort of N 64-bit keys (records
 * must be put in order); "ratio" is close / baseline, so the accounting's
 * own cost (string keys, sums, formatting, the ledger) shows as the excess
 * over 1.  The store (PostgreSQL) is not in this figure: it comes with
 * quorated.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "contrib.h"
#include "contrib_strpool.h"
#include "hash.h"
#include "keccak.h"

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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int count_bytes(void *ctx, const char *buf, size_t len)
{
	(void)buf;
	*(size_t *)ctx += len;
	return 0;
}

static int hash_bytes(void *ctx, const char *buf, size_t len)
{
	return sha256_update(ctx, buf, len);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t nodes = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	static const char *const sites[] = { "site_a", "site_b", "site_c" };
	static const char *const clusters[] = { "east", "west" };
	const int64_t day = 86400, epoch = 20414;
	struct contrib_policy p;
	struct contrib_strpool pool = { 0 };
	struct contrib_usage *u;
	struct contrib_usage_result *res;
	struct contrib_ledger l;
	struct contrib_epoch e;
	struct contrib_rewards rw;
	struct u256 amount;
	struct sha256_ctx sha;
	struct rusage ru;
	char err[256], conf[4096], name[64];
	const char **node_names, *accounts[50];
	uint8_t h[32], a[32];
	size_t csv_bytes = 0, off;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	double t, t_gen, t_formula, t_ledger, t_close, t_csv, t_tree, t_rewards, t_base, t_sort;

	if (!n || !nodes || nodes > n) {
		fprintf(stderr, "usage: contrib_epoch_bench [N] [NODES <= N]\n");
		return 1;
	}
	/* quorate.conf: 40 of the 50 accounts have a home site. */
	off = (size_t)snprintf(conf, sizeof(conf), "BillingWeights=cpu=1,gpu=8,node=0.1\n"
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
			fprintf(stderr, "contrib_epoch_bench: %s\n", err);
			return 1;
		}
		qconf_free(&qc);
	}

	t = now();
	u = calloc(n, sizeof(*u));
	res = calloc(n, sizeof(*res));
	node_names = calloc(nodes, sizeof(*node_names));
	if (!u || !res || !node_names)
		return 1;
	for (size_t i = 0; i < nodes; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		node_names[i] = contrib_strpool_add(&pool, name);
	}
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "acct%d", i);
		accounts[i] = contrib_strpool_add(&pool, name);
	}
	for (size_t i = 0; i < n; i++) {
		size_t node = nodes == n ? i : rnd(&seed) % nodes;
		uint64_t elapsed = 60 + rnd(&seed) % 7200, cpus = 1 + rnd(&seed) % 64;

		u[i].cluster = clusters[node % 2];
		u[i].node = node_names[node];
		u[i].site = sites[node % 3];
		u[i].account = accounts[rnd(&seed) % 50];
		u[i].user = "user";
		u[i].partition = "batch";
		u[i].qos = "normal";
		u[i].db_index = i / 4;			/* jobs of up to 4 nodes */
		u[i].job_id = (uint32_t)(i / 4);
		u[i].end_time = epoch * day + (int64_t)(rnd(&seed) % (uint64_t)day);
		u[i].start_time = u[i].end_time - (int64_t)elapsed;
		u[i].cpu_seconds = cpus * elapsed;
		u[i].gpu_seconds = rnd(&seed) % 8 == 0 ? (1 + rnd(&seed) % 4) * elapsed : 0;
		u[i].node_seconds = elapsed;
		if (rnd(&seed) % 10 == 0) {
			u[i].steps_agreed = (uint32_t)(rnd(&seed) % 4);
			u[i].steps_disagreed = (uint32_t)(rnd(&seed) % 2);
		}
		if (rnd(&seed) % 20 == 0) {
			u[i].trainer = true;
			u[i].trainer_compute_seconds = (double)(rnd(&seed) % 100000) / 10;
			u[i].gradients_accepted = rnd(&seed) % 1000;
			u[i].gradients_rejected = rnd(&seed) % 10;
		}
		u[i].has_reputation = true;
		u[i].reputation = (double)(rnd(&seed) % 10001) / 100;
	}
	t_gen = now() - t;

	t = now();
	if (contrib_compute(&p, u, n, res, err, sizeof(err)))
		goto fail;
	t_formula = now() - t;
	t = now();
	if (contrib_ledger_build(&p, u, res, n, &l, err, sizeof(err)))
		goto fail;
	t_ledger = now() - t;

	t = now();
	if (contrib_epoch_close(&p, (uint64_t)epoch, u, n, &e, err, sizeof(err)))
		goto fail;
	t_close = now() - t;

	/* Parts of the close, timed again on their own. */
	t = now();
	if (sha256_init(&sha) || contrib_epoch_csv(&e, hash_bytes, &sha) ||
	    sha256_final(&sha, h))
		goto fail;
	t_csv = now() - t;
	if (memcmp(h, e.data_hash, 32)) {
		fprintf(stderr, "contrib_epoch_bench: the CSV hash differs\n");
		return 1;
	}
	contrib_epoch_csv(&e, count_bytes, &csv_bytes);
	t = now();
	{
		struct merkle_tree tree;

		if (merkle_build(&tree, (const uint8_t (*)[32])e.tree.nodes, e.n_records))
			goto fail;
		merkle_root(&tree, h);
		merkle_free(&tree);
	}
	t_tree = now() - t;
	if (memcmp(h, e.root, 32)) {
		fprintf(stderr, "contrib_epoch_bench: the root differs\n");
		return 1;
	}
	t = now();
	u256_from_dec(&amount, "1000000000000000000000");
	if (contrib_rewards_split(&e, &amount, &rw, err, sizeof(err)))
		goto fail;
	t_rewards = now() - t;

	/* Baseline: the unavoidable hashing in bare loops. */
	t = now();
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < e.n_records; i++) {
		uint8_t w[7 * 32];

		memset(w, (int)i, sizeof(w));
		keccak256(w, sizeof(w), a);
		keccak256(a, 32, a);
	}
	for (size_t i = 1; i < e.n_records; i++)
		keccak256_pair(a, a, a);
	{
		char *buf = calloc(1, 65536);
		size_t left = csv_bytes;

		if (!buf || sha256_init(&sha))
			return 1;
		while (left) {
			size_t k = left < 65536 ? left : 65536;

			sha256_update(&sha, buf, k);
			left -= k;
		}
		sha256_final(&sha, h);
		free(buf);
	}
	t_base = now() - t;
	{
		uint64_t *keys = malloc(n * sizeof(*keys));

		if (!keys)
			return 1;
		for (size_t i = 0; i < n; i++)
			keys[i] = rnd(&seed);
		t = now();
		qsort(keys, n, sizeof(*keys), cmp_u64);
		t_sort = now() - t;
		free(keys);
	}
	getrusage(RUSAGE_SELF, &ru);

	printf("contrib epoch bench: %zu usage records, %zu nodes -> %zu contribution records "
	       "(leaves), %zu ledger entries, %zu CSV bytes\n",
	       n, nodes, e.n_records, l.n_entries, csv_bytes);
	printf("  generate records (not counted)  %8.3f s\n", t_gen);
	printf("  formula (contrib_compute)        %8.3f s\n", t_formula);
	printf("  ledger (contrib_ledger_build)    %8.3f s\n", t_ledger);
	printf("  epoch close (all of it)          %8.3f s\n", t_close);
	printf("    of which, timed alone: CSV + SHA-256 %.3f s, Merkle tree %.3f s, "
	       "formula + ledger %.3f s\n", t_csv, t_tree, t_formula + t_ledger);
	printf("  reward split (%zu sites)           %8.3f s\n", rw.n, t_rewards);
	printf("  baseline: bare hashing           %8.3f s  (2 keccak/leaf, 1 per pair, "
	       "SHA-256 of %zu bytes)\n", t_base, csv_bytes);
	printf("  baseline: qsort of %zu u64 keys  %8.3f s\n", n, t_sort);
	printf("  ratio close / baseline           %8.2f  (baseline = hashing + qsort, %.3f s)\n",
	       t_close / (t_base + t_sort), t_base + t_sort);
	printf("  peak memory (max RSS)            %8.1f MiB\n", (double)ru.ru_maxrss / 1024);
	printf("  root 0x");
	for (int i = 0; i < 32; i++)
		printf("%02x", e.root[i]);
	printf("\n");

	contrib_rewards_free(&rw);
	contrib_epoch_free(&e);
	contrib_ledger_free(&l);
	contrib_policy_free(&p);
	contrib_strpool_free(&pool);
	free(u);
	free(res);
	free(node_names);
	return 0;
fail:
	fprintf(stderr, "contrib_epoch_bench: %s\n", err);
	return 1;
}
