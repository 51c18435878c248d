/*
 * contrib_close.c - epoch close: contribution records in canonical order,
 * their leaves and Merkle root, totals, the canonical CSV and its SHA-256;
 * the reward split of a pool (see contrib.h, doc/contributions.md).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "contrib.h"
#include "hash.h"
#include "keccak.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static int cmp_str(const char *a, const char *b)
{
	return a == b ? 0 : strcmp(str_or_empty(a), str_or_empty(b));
}

/* Canonical order of records: site, cluster, node (bytewise). */
static int cmp_record_key(const struct contrib_usage *a, const struct contrib_usage *b)
{
	int c = cmp_str(a->site, b->site);

	if (!c)
		c = cmp_str(a->cluster, b->cluster);
	if (!c)
		c = cmp_str(a->node, b->node);
	return c;
}

/* qsort has no context argument: the array is passed in a thread-local. */
static _Thread_local const struct contrib_usage *sort_usage;

static int cmp_group_rep(const void *a, const void *b)
{
	return cmp_record_key(&sort_usage[*(const size_t *)a],
			      &sort_usage[*(const size_t *)b]);
}

static uint64_t hash_record_key(const struct contrib_usage *u)
{
	const char *parts[3] = { u->site, u->cluster, u->node };
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a, a 0 byte between */

	for (int k = 0; k < 3; k++) {
		for (const char *c = str_or_empty(parts[k]); *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		h = h * 1099511628211ULL;
	}
	return h;
}

static int add_u64(uint64_t *sum, uint64_t v)
{
	return __builtin_add_overflow(*sum, v, sum) ? -1 : 0;
}

/* Group the usage records by node: a hash table gives each record its
 * group, only the groups are sorted into canonical order. */
static int build_records(const struct contrib_usage *usage, size_t n,
			 const struct contrib_usage_result *results,
			 struct contrib_epoch *e, char *err, size_t errlen)
{
	size_t cap = 16, groups = 0;
	size_t *slots = NULL, *rep = NULL, *gid = NULL, *rank = NULL;
	int rv = -1;

	while (cap < 2 * n)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));	/* group + 1; 0 = empty */
	rep = malloc((n ? n : 1) * sizeof(*rep));	/* a record of each group */
	gid = malloc((n ? n : 1) * sizeof(*gid));
	if (!slots || !rep || !gid)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)hash_record_key(&usage[i]) & (cap - 1);

		while (slots[h] && cmp_record_key(&usage[rep[slots[h] - 1]], &usage[i]))
			h = (h + 1) & (cap - 1);
		if (!slots[h]) {
			rep[groups] = i;
			slots[h] = ++groups;
		}
		gid[i] = slots[h] - 1;
	}
	if (groups > UINT32_MAX) {
		set_err(err, errlen, "%zu records: more than a uint32 index allows", groups);
		goto fail;
	}
	/* rep sorted by key is the canonical order; rank maps a group to it */
	rank = malloc((groups ? groups : 1) * sizeof(*rank));
	e->records = calloc(groups ? groups : 1, sizeof(*e->records));
	if (!rank || !e->records)
		goto oom;
	sort_usage = usage;
	qsort(rep, groups, sizeof(*rep), cmp_group_rep);
	sort_usage = NULL;
	for (size_t k = 0; k < groups; k++) {
		struct contrib_record *rec = &e->records[k];

		rank[gid[rep[k]]] = k;
		rec->site = usage[rep[k]].site;
		rec->cluster = str_or_empty(usage[rep[k]].cluster);
		rec->node = str_or_empty(usage[rep[k]].node);
	}
	e->n_records = groups;
	for (size_t i = 0; i < n; i++) {
		const struct contrib_usage *u = &usage[i];
		const struct contrib_usage_result *r = &results[i];
		struct contrib_record *rec = &e->records[rank[gid[i]]];

		rec->usage_records++;
		if (add_u64(&rec->cpu_seconds, u->cpu_seconds) ||
		    add_u64(&rec->gpu_seconds, u->gpu_seconds) ||
		    add_u64(&rec->node_seconds, u->node_seconds) ||
		    add_u64(&rec->credits, r->credits) ||
		    add_u64(&rec->score, r->score)) {
			set_err(err, errlen, "node %s of cluster %s: sums overflow 64 bits",
				rec->node, rec->cluster);
			goto fail;
		}
	}
	rv = 0;
	goto done;
oom:
	set_err(err, errlen, "out of memory");
fail:
done:
	free(slots);
	free(rep);
	free(gid);
	free(rank);
	return rv;
}

static int sha256_sink(void *ctx, const char *buf, size_t len)
{
	return sha256_update(ctx, buf, len);
}

int contrib_epoch_close(const struct contrib_policy *p, uint64_t epoch,
			const struct contrib_usage *usage, size_t n,
			struct contrib_epoch *e, char *err, size_t errlen)
{
	struct sha256_ctx sha;
	const char *last_site = NULL;
	uint8_t site_id[32];
	const struct eth_address *payee = NULL;

	memset(e, 0, sizeof(*e));
	e->epoch = epoch;
	if (contrib_epoch_bounds(epoch, p->epoch_length, &e->start, &e->end)) {
		set_err(err, errlen, "epoch %llu does not exist for length %lld",
			(unsigned long long)epoch, (long long)p->epoch_length);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (usage[i].end_time < e->start || usage[i].end_time >= e->end) {
			set_err(err, errlen, "job %u of cluster %s ended at %lld, outside "
				"epoch %llu [%lld, %lld)", usage[i].job_id,
				str_or_empty(usage[i].cluster),
				(long long)usage[i].end_time, (unsigned long long)epoch,
				(long long)e->start, (long long)e->end);
			return -1;
		}
	}
	e->n_usage = n;
	e->results = calloc(n ? n : 1, sizeof(*e->results));
	if (!e->results) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	if (contrib_compute(p, usage, n, e->results, err, errlen) ||
	    contrib_ledger_build(p, usage, e->results, n, &e->ledger, err, errlen) ||
	    build_records(usage, n, e->results, e, err, errlen))
		goto fail;

	if (merkle_alloc(&e->tree, e->n_records)) {
		set_err(err, errlen, "out of memory (Merkle tree of %zu leaves)",
			e->n_records);
		goto fail;
	}
	for (size_t i = 0; i < e->n_records; i++) {
		struct contrib_record *rec = &e->records[i];
		struct contribution_leaf leaf;

		if (!last_site || strcmp(last_site, rec->site)) {
			last_site = rec->site;
			abi_site_id(rec->site, site_id);
			payee = contrib_site_payee(p, rec->site);
			if (!payee)
				e->n_sites_without_payee++;
		}
		memcpy(rec->site_id, site_id, 32);
		if (payee) {
			rec->payee = *payee;
			rec->has_payee = true;
		}
		if (add_u64(&e->cpu_seconds, rec->cpu_seconds) ||
		    add_u64(&e->gpu_seconds, rec->gpu_seconds) ||
		    add_u64(&e->node_seconds, rec->node_seconds) ||
		    add_u64(&e->credits, rec->credits) ||
		    add_u64(&e->score, rec->score)) {
			set_err(err, errlen, "epoch totals overflow 64 bits");
			goto fail;
		}
		memset(&leaf, 0, sizeof(leaf));
		leaf.epoch = epoch;
		leaf.index = (uint32_t)i;
		memcpy(leaf.site_id, site_id, 32);
		leaf.payee = rec->payee;
		u256_from_u64(&leaf.cpu_seconds, rec->cpu_seconds);
		u256_from_u64(&leaf.gpu_seconds, rec->gpu_seconds);
		leaf.score = rec->score;
		/* 64-bit amounts always fit the leaf's uint128 fields. */
		contribution_leaf_hash(&leaf, merkle_leaves(&e->tree)[i]);
	}
	merkle_compute(&e->tree);
	merkle_root(&e->tree, e->root);

	if (sha256_init(&sha)) {
		set_err(err, errlen, "SHA-256: out of memory");
		goto fail;
	}
	if (contrib_epoch_csv(e, sha256_sink, &sha) || sha256_final(&sha, e->data_hash)) {
		sha256_abort(&sha);
		set_err(err, errlen, "SHA-256 of the CSV failed");
		goto fail;
	}
	return 0;
fail:
	contrib_epoch_free(e);
	return -1;
}

void contrib_epoch_free(struct contrib_epoch *e)
{
	free(e->results);
	free(e->records);
	merkle_free(&e->tree);
	contrib_ledger_free(&e->ledger);
	memset(e, 0, sizeof(*e));
}

const uint8_t *contrib_epoch_leaf(const struct contrib_epoch *e, size_t index)
{
	return index < e->n_records ? e->tree.nodes[index] : NULL;
}

int contrib_epoch_proof(const struct contrib_epoch *e, size_t index,
			uint8_t proof[][32])
{
	return merkle_proof(&e->tree, index, proof);
}

/* --- the canonical CSV --- */

#define CSV_CHUNK 65536
#define CSV_ROW_MAX 1024	/* fields are bounded: names < 256, numbers */

struct csv_out {
	char *buf;
	size_t len;
	contrib_write_fn write;
	void *ctx;
	int rc;
};

static void csv_flush(struct csv_out *o)
{
	if (o->len && !o->rc)
		o->rc = o->write(o->ctx, o->buf, o->len);
	o->len = 0;
}

static void csv_put(struct csv_out *o, const char *s, size_t n)
{
	if (o->len + n > CSV_CHUNK)
		csv_flush(o);
	if (n > CSV_CHUNK) {		/* cannot happen with bounded names */
		if (!o->rc)
			o->rc = o->write(o->ctx, s, n);
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void csv_str(struct csv_out *o, const char *s)
{
	size_t n = strlen(s);

	if (!s[strcspn(s, ",\"\r\n")]) {
		csv_put(o, s, n);
		return;
	}
	csv_put(o, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			csv_put(o, "\"\"", 2);
		else
			csv_put(o, p, 1);
	}
	csv_put(o, "\"", 1);
}

static void csv_u64(struct csv_out *o, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	csv_put(o, d + i, sizeof(d) - i);
}

/* Micro-units as a decimal with exactly six decimals. */
static void csv_micro(struct csv_out *o, uint64_t v)
{
	char frac[7];
	uint64_t f = v % CONTRIB_MICRO;

	csv_u64(o, v / CONTRIB_MICRO);
	frac[0] = '.';
	for (int i = 6; i >= 1; i--) {
		frac[i] = (char)('0' + f % 10);
		f /= 10;
	}
	csv_put(o, frac, sizeof(frac));
}

static void csv_hex(struct csv_out *o, const uint8_t *b, size_t n)
{
	char h[2 + 2 * 32 + 1];

	h[0] = '0';
	h[1] = 'x';
	hex_encode(b, n, h + 2);
	csv_put(o, h, 2 + 2 * n);
}

int contrib_epoch_csv(const struct contrib_epoch *e, contrib_write_fn write,
		      void *ctx)
{
	static const char header[] =
		"epoch,index,site,site_id,payee,cluster,node,usage_records,"
		"cpu_seconds,gpu_seconds,node_seconds,credits,score,leaf\r\n";
	struct csv_out o = { .write = write, .ctx = ctx };

	o.buf = malloc(CSV_CHUNK);
	if (!o.buf)
		return -1;
	csv_put(&o, header, sizeof(header) - 1);
	for (size_t i = 0; i < e->n_records && !o.rc; i++) {
		const struct contrib_record *r = &e->records[i];

		csv_u64(&o, e->epoch);
		csv_put(&o, ",", 1);
		csv_u64(&o, i);
		csv_put(&o, ",", 1);
		csv_str(&o, r->site);
		csv_put(&o, ",", 1);
		csv_hex(&o, r->site_id, 32);
		csv_put(&o, ",", 1);
		csv_hex(&o, r->payee.b, 20);
		csv_put(&o, ",", 1);
		csv_str(&o, r->cluster);
		csv_put(&o, ",", 1);
		csv_str(&o, r->node);
		csv_put(&o, ",", 1);
		csv_u64(&o, r->usage_records);
		csv_put(&o, ",", 1);
		csv_u64(&o, r->cpu_seconds);
		csv_put(&o, ",", 1);
		csv_u64(&o, r->gpu_seconds);
		csv_put(&o, ",", 1);
		csv_u64(&o, r->node_seconds);
		csv_put(&o, ",", 1);
		csv_micro(&o, r->credits);
		csv_put(&o, ",", 1);
		csv_micro(&o, r->score);
		csv_put(&o, ",", 1);
		csv_hex(&o, e->tree.nodes[i], 32);
		csv_put(&o, "\r\n", 2);
	}
	csv_flush(&o);
	free(o.buf);
	return o.rc;
}

/* --- rewards --- */

struct site_share {
	const char *site;
	const struct eth_address *account;
	uint64_t score;
	BIGNUM *remainder;
	struct u256 amount;
};

static int cmp_share_remainder(const void *a, const void *b)
{
	const struct site_share *x = a, *y = b;
	int c = BN_cmp(y->remainder, x->remainder);	/* larger first */

	return c ? c : strcmp(x->site, y->site);
}

static int cmp_share_site(const void *a, const void *b)
{
	return strcmp(((const struct site_share *)a)->site,
		      ((const struct site_share *)b)->site);
}

int contrib_rewards_split(const struct contrib_epoch *e, const struct u256 *pool,
			  struct contrib_rewards *r, char *err, size_t errlen)
{
	struct site_share *shares = NULL;
	size_t n = 0;
	BN_CTX *bn = BN_CTX_new();
	BIGNUM *bpool = NULL, *total = NULL, *prod = NULL, *q = NULL, *sum = NULL;
	BIGNUM *left = NULL;
	int rv = -1;

	memset(r, 0, sizeof(*r));
	r->epoch = e->epoch;
	r->pool = *pool;
	if (!bn)
		goto oom;
	shares = calloc(e->n_records ? e->n_records : 1, sizeof(*shares));
	if (!shares)
		goto oom;
	/* Records come sorted by site: one share per site with a payee. */
	for (size_t i = 0; i < e->n_records; i++) {
		const struct contrib_record *rec = &e->records[i];

		if (!rec->has_payee)
			continue;
		if (n && !strcmp(shares[n - 1].site, rec->site)) {
			if (__builtin_add_overflow(shares[n - 1].score, rec->score,
						   &shares[n - 1].score))
				goto overflow;
			continue;
		}
		shares[n].site = rec->site;
		shares[n].account = &rec->payee;
		shares[n].score = rec->score;
		n++;
	}
	/* Sites whose score is 0 take nothing and get no leaf. */
	{
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (shares[i].score)
				shares[k++] = shares[i];
		n = k;
	}
	if (!n) {
		set_err(err, errlen, "epoch %llu: no site with a payee has a score; "
			"nothing to split", (unsigned long long)e->epoch);
		goto fail;
	}
	bpool = BN_bin2bn(pool->be, 32, NULL);
	total = BN_new();
	prod = BN_new();
	q = BN_new();
	sum = BN_new();
	left = BN_new();
	if (!bpool || !total || !prod || !q || !sum || !left)
		goto oom;
	BN_zero(total);
	BN_zero(sum);
	for (size_t i = 0; i < n; i++)
		if (!BN_add_word(total, shares[i].score))
			goto oom;
	for (size_t i = 0; i < n; i++) {
		shares[i].remainder = BN_new();
		if (!shares[i].remainder || !BN_set_word(prod, shares[i].score) ||
		    !BN_mul(prod, prod, bpool, bn) ||
		    !BN_div(q, shares[i].remainder, prod, total, bn) ||
		    !BN_add(sum, sum, q) ||
		    BN_bn2binpad(q, shares[i].amount.be, 32) != 32)
			goto oom;
	}
	if (!BN_sub(left, bpool, sum))
		goto oom;
	/* left < n: floor loses less than one unit per site. */
	qsort(shares, n, sizeof(*shares), cmp_share_remainder);
	for (BN_ULONG k = 0, units = BN_get_word(left); k < units && k < n; k++) {
		struct u256 one;

		u256_from_u64(&one, 1);
		if (u256_add(&shares[k].amount, &shares[k].amount, &one))
			goto overflow;
	}
	qsort(shares, n, sizeof(*shares), cmp_share_site);

	r->entries = calloc(n, sizeof(*r->entries));
	if (!r->entries || merkle_alloc(&r->tree, n))
		goto oom;
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		struct contrib_reward *w = &r->entries[i];
		struct reward_leaf leaf;

		w->site = shares[i].site;
		w->account = *shares[i].account;
		w->score = shares[i].score;
		w->amount = shares[i].amount;
		memset(&leaf, 0, sizeof(leaf));
		leaf.epoch = e->epoch;
		u256_from_u64(&leaf.index, i);
		leaf.account = w->account;
		leaf.amount = w->amount;
		reward_leaf_hash(&leaf, w->leaf);
		memcpy(merkle_leaves(&r->tree)[i], w->leaf, 32);
	}
	merkle_compute(&r->tree);
	merkle_root(&r->tree, r->root);
	rv = 0;
	goto done;
overflow:
	set_err(err, errlen, "reward sums overflow");
	goto fail;
oom:
	set_err(err, errlen, "out of memory");
fail:
	contrib_rewards_free(r);
done:
	if (shares)
		for (size_t i = 0; i < n; i++)
			BN_free(shares[i].remainder);
	free(shares);
	BN_free(bpool);
	BN_free(total);
	BN_free(prod);
	BN_free(q);
	BN_free(sum);
	BN_free(left);
	BN_CTX_free(bn);
	return rv;
}

void contrib_rewards_free(struct contrib_rewards *r)
{
	free(r->entries);
	merkle_free(&r->tree);
	memset(r, 0, sizeof(*r));
}
