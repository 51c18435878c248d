/*
 * contrib.c - the contribution formula and the ledger (see contrib.h).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contrib.h"

/* 128-bit intermediates (GCC/Clang): products of 64-bit amounts and
 * micro-unit factors stay exact before the final division. */
typedef unsigned __int128 u128;

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

/* --- the formula --- */

static int cmp_job(const struct contrib_usage *a, const struct contrib_usage *b)
{
	int c = a->cluster == b->cluster ? 0 :
		strcmp(str_or_empty(a->cluster), str_or_empty(b->cluster));

	if (c)
		return c;
	return (a->db_index > b->db_index) - (a->db_index < b->db_index);
}

/* qsort has no context argument (qsort_r is a GNU extension): the array
 * being sorted is passed in a thread-local, so threads do not collide. */
static _Thread_local const struct contrib_usage *sort_usage;

static int cmp_job_index(const void *a, const void *b)
{
	const struct contrib_usage *ua = &sort_usage[*(const size_t *)a];
	const struct contrib_usage *ub = &sort_usage[*(const size_t *)b];
	int c = cmp_job(ua, ub);

	if (c)
		return c;
	return (*(const size_t *)a > *(const size_t *)b) -
	       (*(const size_t *)a < *(const size_t *)b);
}

/* Whether u's job is among the jobs of sorted[0..n). */
static bool find_job(const struct contrib_usage *usage, const size_t *sorted,
		     size_t n, const struct contrib_usage *u)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_job(&usage[sorted[mid]], u);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int weigh(const struct contrib_weights *w, const struct contrib_usage *u,
		 uint64_t *out)
{
	u128 x = (u128)w->cpu * u->cpu_seconds + (u128)w->gpu * u->gpu_seconds +
		 (u128)w->node * u->node_seconds;

	if (x > UINT64_MAX)
		return -1;
	*out = (uint64_t)x;
	return 0;
}

/* A rank's compute seconds in microseconds; -1 for NaN, negative, huge. */
static int compute_micro(double seconds, uint64_t *out)
{
	if (!isfinite(seconds) || seconds < 0 || seconds > 1e12)
		return -1;
	*out = (uint64_t)llround(seconds * 1e6);
	return 0;
}

/* Useful compute: compute x accepted / (accepted + rejected). */
static u128 useful_compute(const struct contrib_usage *u, uint64_t compute)
{
	u128 judged = (u128)u->gradients_accepted + u->gradients_rejected;

	if (!judged)
		return compute;
	return (u128)compute * u->gradients_accepted / judged;
}

/* Re-split the weighted amount of the job whose records are idx[0..n). */
static int split_training_job(const struct contrib_usage *usage, const size_t *idx,
			      size_t n, struct contrib_usage_result *out,
			      char *err, size_t errlen)
{
	u128 total = 0, reported = 0;
	bool trainer = false;

	for (size_t k = 0; k < n; k++) {
		const struct contrib_usage *u = &usage[idx[k]];
		uint64_t c = 0;

		total += out[idx[k]].weighted;
		if (!u->trainer)
			continue;
		trainer = true;
		if (compute_micro(u->trainer_compute_seconds, &c)) {
			set_err(err, errlen, "job %u of cluster %s on %s: trainer compute "
				"seconds %g is not a valid amount", u->job_id,
				str_or_empty(u->cluster), str_or_empty(u->node),
				u->trainer_compute_seconds);
			return -1;
		}
		reported += c;
	}
	if (!trainer || !reported)
		return 0;
	if (total > UINT64_MAX) {
		set_err(err, errlen, "job %u of cluster %s: weighted amount overflows",
			usage[idx[0]].job_id, str_or_empty(usage[idx[0]].cluster));
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		const struct contrib_usage *u = &usage[idx[k]];
		uint64_t c = 0;

		if (u->trainer)
			compute_micro(u->trainer_compute_seconds, &c);
		/* total < 2^64 and useful < 2^60: the product fits in 128 bits. */
		out[idx[k]].weighted = (uint64_t)(total * useful_compute(u, c) / reported);
	}
	return 0;
}

int contrib_compute(const struct contrib_policy *p,
		    const struct contrib_usage *usage, size_t n,
		    struct contrib_usage_result *out, char *err, size_t errlen)
{
	size_t *idx = NULL;
	bool any_trainer = false;
	int rv = -1;

	for (size_t i = 0; i < n; i++) {
		const struct contrib_usage *u = &usage[i];
		struct contrib_usage_result *r = &out[i];

		memset(r, 0, sizeof(*r));
		if (weigh(&p->weights, u, &r->weighted)) {
			set_err(err, errlen, "job %u of cluster %s on %s: weighted "
				"TRES-seconds overflow 64 bits", u->job_id,
				str_or_empty(u->cluster), str_or_empty(u->node));
			goto fail;
		}
		if (u->has_reputation && (!isfinite(u->reputation) ||
					  u->reputation < 0 || u->reputation > 100)) {
			set_err(err, errlen, "node %s of cluster %s: reputation %g is "
				"not in 0..100", str_or_empty(u->node),
				str_or_empty(u->cluster), u->reputation);
			goto fail;
		}
		any_trainer |= u->trainer;
	}

	if (any_trainer) {
		/* Only the records of jobs some rank reported for are regrouped:
		 * the reporting records, sorted, then every record whose job is
		 * among them, sorted again. */
		size_t nt = 0, nm = 0;

		idx = malloc(2 * (n ? n : 1) * sizeof(*idx));
		if (!idx) {
			set_err(err, errlen, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			if (usage[i].trainer)
				idx[nt++] = i;
		sort_usage = usage;
		qsort(idx, nt, sizeof(*idx), cmp_job_index);
		for (size_t i = 0; i < n; i++)
			if (find_job(usage, idx, nt, &usage[i]))
				idx[n + nm++] = i;
		qsort(idx + n, nm, sizeof(*idx), cmp_job_index);
		sort_usage = NULL;
		for (size_t s = n, e; s < n + nm; s = e) {
			for (e = s + 1; e < n + nm && !cmp_job(&usage[idx[s]], &usage[idx[e]]); e++)
				;
			if (split_training_job(usage, idx + s, e - s, out, err, errlen))
				goto fail;
		}
	}

	for (size_t i = 0; i < n; i++) {
		const struct contrib_usage *u = &usage[i];
		struct contrib_usage_result *r = &out[i];
		uint64_t verified = (uint64_t)u->steps_agreed + u->steps_disagreed +
				    u->steps_missing;

		if (verified) {
			r->delivered = (uint64_t)((u128)r->weighted * u->steps_agreed /
						  verified);
			r->quality = (uint32_t)((uint64_t)u->steps_agreed * CONTRIB_MICRO /
						verified);
		} else {
			r->delivered = r->weighted;
			r->quality = CONTRIB_MICRO;
		}
		r->reliability = u->has_reputation ?
			(uint32_t)llround(u->reputation * (CONTRIB_MICRO / 100)) :
			CONTRIB_MICRO;
		r->credits = r->delivered / CONTRIB_SECONDS_PER_CREDIT;
		r->score = (uint64_t)((u128)r->delivered * r->reliability /
				      (CONTRIB_MICRO * CONTRIB_SECONDS_PER_CREDIT));
	}
	rv = 0;
fail:
	free(idx);
	return rv;
}

/* --- a small string-keyed table for the ledger's sums --- */

/* Open addressing over (a, b) string pairs; values are indices into the
 * caller's array, in insertion order. */
struct pair_table {
	size_t *slots;			/* index + 1; 0 = empty */
	size_t cap;			/* a power of two */
	size_t n;
};

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

static uint64_t hash_pair(const char *a, const char *b)
{
	return hash_str(hash_str(14695981039346656037ULL, a), b ? b : "");
}

typedef void (*pair_key_fn)(const void *items, size_t i, const char **a,
			    const char **b);

static bool pair_equal(const char *a1, const char *b1, const char *a2,
		       const char *b2)
{
	return (a1 == a2 || !strcmp(a1, a2)) &&
	       (b1 == b2 || !strcmp(b1 ? b1 : "", b2 ? b2 : ""));
}

static int pair_table_grow(struct pair_table *t, const void *items, pair_key_fn key)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	size_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		const char *a, *b;
		size_t h;

		if (!t->slots[i])
			continue;
		key(items, t->slots[i] - 1, &a, &b);
		h = (size_t)hash_pair(a, b) & (cap - 1);
		while (slots[h])
			h = (h + 1) & (cap - 1);
		slots[h] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* The index of (a, b), or -1 with *slot set where a new index goes. */
static long pair_table_find(const struct pair_table *t, const void *items,
			    pair_key_fn key, const char *a, const char *b,
			    size_t *slot)
{
	size_t h = (size_t)hash_pair(a, b) & (t->cap - 1);

	while (t->slots[h]) {
		const char *ka, *kb;

		key(items, t->slots[h] - 1, &ka, &kb);
		if (pair_equal(a, b, ka, kb))
			return (long)(t->slots[h] - 1);
		h = (h + 1) & (t->cap - 1);
	}
	*slot = h;
	return -1;
}

/* A growable array with its table: find (a, b) or append a zeroed item. */
struct pair_sums {
	struct pair_table table;
	void *items;
	size_t size, n, cap;
	pair_key_fn key;
};

static void *pair_sums_get(struct pair_sums *s, const char *a, const char *b,
			   bool *added)
{
	size_t slot = 0;
	long i;

	if (s->table.n * 2 >= s->table.cap &&
	    pair_table_grow(&s->table, s->items, s->key))
		return NULL;
	i = pair_table_find(&s->table, s->items, s->key, a, b, &slot);
	if (i >= 0) {
		*added = false;
		return (char *)s->items + (size_t)i * s->size;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *p = realloc(s->items, cap * s->size);

		if (!p)
			return NULL;
		s->items = p;
		s->cap = cap;
	}
	memset((char *)s->items + s->n * s->size, 0, s->size);
	s->table.slots[slot] = s->n + 1;
	s->table.n++;
	*added = true;
	return (char *)s->items + s->n++ * s->size;
}

static void pair_sums_done(struct pair_sums *s)
{
	free(s->table.slots);
	s->table.slots = NULL;
}

static void balance_key(const void *items, size_t i, const char **a, const char **b)
{
	*a = ((const struct contrib_balance *)items)[i].site;
	*b = NULL;
}

static void transfer_key(const void *items, size_t i, const char **a, const char **b)
{
	*a = ((const struct contrib_transfer *)items)[i].from;
	*b = ((const struct contrib_transfer *)items)[i].to;
}

static void unassigned_key(const void *items, size_t i, const char **a,
			   const char **b)
{
	*a = ((const struct contrib_unassigned *)items)[i].account;
	*b = NULL;
}

static int cmp_balance(const void *a, const void *b)
{
	return strcmp(((const struct contrib_balance *)a)->site,
		      ((const struct contrib_balance *)b)->site);
}

static int cmp_transfer(const void *a, const void *b)
{
	const struct contrib_transfer *x = a, *y = b;
	int c = strcmp(x->from, y->from);

	return c ? c : strcmp(x->to, y->to);
}

static int cmp_unassigned(const void *a, const void *b)
{
	return strcmp(((const struct contrib_unassigned *)a)->account,
		      ((const struct contrib_unassigned *)b)->account);
}

static struct contrib_balance *balance_of(struct pair_sums *s, const char *site)
{
	bool added;
	struct contrib_balance *b = pair_sums_get(s, site, NULL, &added);

	if (b && added)
		b->site = site;
	return b;
}

int contrib_ledger_build(const struct contrib_policy *p,
			 const struct contrib_usage *usage,
			 const struct contrib_usage_result *results, size_t n,
			 struct contrib_ledger *ledger, char *err, size_t errlen)
{
	struct pair_sums balances = { .size = sizeof(struct contrib_balance),
				      .key = balance_key };
	struct pair_sums transfers = { .size = sizeof(struct contrib_transfer),
				       .key = transfer_key };
	struct pair_sums unassigned = { .size = sizeof(struct contrib_unassigned),
					.key = unassigned_key };
	size_t cap = 0;
	int rv = -1;

	memset(ledger, 0, sizeof(*ledger));
	for (size_t i = 0; i < n; i++) {
		const struct contrib_usage *u = &usage[i];
		const char *home, *site = u->site;
		int64_t credits;
		struct contrib_balance *from, *to;
		struct contrib_transfer *t;
		bool added;

		if (!site || !*site) {
			set_err(err, errlen, "job %u of cluster %s: node %s has no site",
				u->job_id, str_or_empty(u->cluster), str_or_empty(u->node));
			goto fail;
		}
		if (results[i].credits > INT64_MAX) {
			set_err(err, errlen, "job %u of cluster %s: credits overflow",
				u->job_id, str_or_empty(u->cluster));
			goto fail;
		}
		credits = (int64_t)results[i].credits;
		to = balance_of(&balances, site);
		if (!to)
			goto oom;
		home = contrib_account_home(p, u->account);
		if (!home) {
			struct contrib_unassigned *a =
				pair_sums_get(&unassigned, str_or_empty(u->account),
					      NULL, &added);

			if (!a)
				goto oom;
			if (added)
				a->account = str_or_empty(u->account);
			if (__builtin_add_overflow(a->credits, credits, &a->credits))
				goto overflow;
			a->records++;
			continue;
		}
		if (!strcmp(home, site) || !credits)
			continue;
		from = balance_of(&balances, home);
		to = balance_of(&balances, site);	/* the table may have moved */
		if (!from || !to)
			goto oom;
		if (__builtin_add_overflow(to->earned, credits, &to->earned) ||
		    __builtin_add_overflow(from->spent, credits, &from->spent))
			goto overflow;
		t = pair_sums_get(&transfers, home, site, &added);
		if (!t)
			goto oom;
		if (added) {
			t->from = home;
			t->to = site;
		}
		if (__builtin_add_overflow(t->credits, credits, &t->credits))
			goto overflow;
		t->records++;
		if (ledger->n_entries + 2 > cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct contrib_entry *e = realloc(ledger->entries,
							  ncap * sizeof(*e));

			if (!e)
				goto oom;
			ledger->entries = e;
			cap = ncap;
		}
		ledger->entries[ledger->n_entries++] = (struct contrib_entry){
			.usage = i, .site = home, .counterparty = site,
			.amount = -credits };
		ledger->entries[ledger->n_entries++] = (struct contrib_entry){
			.usage = i, .site = site, .counterparty = home,
			.amount = credits };
	}
	ledger->balances = balances.items;
	ledger->n_balances = balances.n;
	ledger->transfers = transfers.items;
	ledger->n_transfers = transfers.n;
	ledger->unassigned = unassigned.items;
	ledger->n_unassigned = unassigned.n;
	balances.items = transfers.items = unassigned.items = NULL;
	for (size_t i = 0; i < ledger->n_balances; i++) {
		struct contrib_balance *b = &ledger->balances[i];

		b->balance = b->earned - b->spent;
	}
	if (ledger->n_balances)
		qsort(ledger->balances, ledger->n_balances, sizeof(*ledger->balances),
		      cmp_balance);
	if (ledger->n_transfers)
		qsort(ledger->transfers, ledger->n_transfers,
		      sizeof(*ledger->transfers), cmp_transfer);
	if (ledger->n_unassigned)
		qsort(ledger->unassigned, ledger->n_unassigned,
		      sizeof(*ledger->unassigned), cmp_unassigned);
	rv = 0;
	goto done;
overflow:
	set_err(err, errlen, "ledger sums overflow 64 bits");
	goto fail;
oom:
	set_err(err, errlen, "out of memory");
fail:
	contrib_ledger_free(ledger);
done:
	pair_sums_done(&balances);
	pair_sums_done(&transfers);
	pair_sums_done(&unassigned);
	free(balances.items);
	free(transfers.items);
	free(unassigned.items);
	return rv;
}

void contrib_ledger_free(struct contrib_ledger *ledger)
{
	free(ledger->entries);
	free(ledger->balances);
	free(ledger->transfers);
	free(ledger->unassigned);
	memset(ledger, 0, sizeof(*ledger));
}
