/*
 * ingest.c - see ingest.h.  The verifier's and the reputation's state live
 * here, in memory, owned by the writer thread alone: open steps (struct
 * vstep) and every node (struct rep_node).  The database is the truth; the
 * memory is rebuilt from it at start, after a reconnection, and for a step
 * that a failed transaction touched.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "ingest.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "slurm_push.h"
#include "store.h"
#include "verdict.h"
#include "waiters.h"

#define MAX_BATCH_ITEMS 512		/* items per transaction */
#define MAX_QUEUED_ITEMS 65536		/* beyond: retry_later */
#define STEP_IDLE_EVICT 600.0		/* seconds a settled step stays cached */
#define MAX_CACHED_STEPS 200000
#define BACKOFF_MIN 0.25
#define BACKOFF_MAX 30.0

struct step_entry {
	struct step_entry *next;	/* hash chain */
	struct step_key key;
	uint64_t hash;
	struct vstep vs;
	int64_t owner;
	char **layout;			/* NULL or vs.replicas strings */
	double first_at, last_at;
	uint64_t batch;			/* last batch that touched it */
	bool in_db;			/* its row was committed */
	bool stored_settled;		/* `settled` as committed */
	bool verdict_dirty;
	bool notify;
	double decided_at;
};

struct node_entry {
	struct node_entry *next;
	char cluster[QMSG_NAME_MAX];
	char name[QMSG_NAME_MAX];
	uint64_t hash;
	char site[QMSG_NAME_MAX];
	struct rep_node rep;
	char last_verdict[64];
	double last_verdict_at;
	uint64_t batch;
	/* what slurmctld was last given */
	bool pushed;
	double pushed_score;
	enum node_state pushed_state;
};

struct table {
	void **buckets;
	size_t nbuckets, count;
};

struct max_key {
	char cluster[QMSG_NAME_MAX];
	int64_t job, step;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ingest_request *head, *tail;
	size_t queued_items;
	bool running, stop;
	atomic_bool up;
	pthread_t thread;

	/* the writer thread's own */
	char *conninfo;
	PGconn *conn;
	struct store_tx *tx;
	struct table steps, nodes;
	struct max_key *max_keys;
	size_t nmax_keys;
	uint64_t batch;
	bool batch_oom;
	struct step_entry **touched_steps;
	size_t ntouched_steps, cap_touched_steps;
	struct node_entry **touched_nodes;
	size_t ntouched_nodes, cap_touched_nodes;
	struct settings settings;
	struct rep_params evaluated_with;	/* the node states' rule */
	bool reevaluate;			/* a state was (re)loaded */
	double next_attempt, backoff, last_tick;
	bool warned_down;
} W = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* ------------------------------------------------------------ helpers -- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t step_hash(const struct step_key *k)
{
	uint64_t h = fnv1a(1469598103934665603ULL, k->cluster, strlen(k->cluster));

	h = fnv1a(h, &k->job, sizeof(k->job));
	return fnv1a(h, &k->step, sizeof(k->step));
}

static uint64_t node_hash(const char *cluster, const char *name)
{
	uint64_t h = fnv1a(1469598103934665603ULL, cluster, strlen(cluster) + 1);

	return fnv1a(h, name, strlen(name));
}

static bool same_key(const struct step_key *a, const struct step_key *b)
{
	return a->job == b->job && a->step == b->step && !strcmp(a->cluster, b->cluster);
}

/* Tables of entries whose first member is the chain pointer. */
static int table_grow(struct table *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : 1024;
	void **b = calloc(n, sizeof(void *));

	if (!b)
		return -1;
	for (size_t i = 0; i < t->nbuckets; i++) {
		void *e = t->buckets[i];

		while (e) {
			void *next = *(void **)e;
			uint64_t h = t == &W.steps ? ((struct step_entry *)e)->hash :
						     ((struct node_entry *)e)->hash;

			*(void **)e = b[h & (n - 1)];
			b[h & (n - 1)] = e;
			e = next;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

static struct step_entry *step_find(const struct step_key *k, uint64_t h)
{
	struct step_entry *e;

	if (!W.steps.nbuckets)
		return NULL;
	for (e = W.steps.buckets[h & (W.steps.nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && same_key(&e->key, k))
			return e;
	return NULL;
}

static void step_free(struct step_entry *e)
{
	if (e->layout) {
		for (int i = 0; i < e->vs.replicas; i++)
			free(e->layout[i]);
		free(e->layout);
	}
	vstep_free(&e->vs);
	free(e);
}

static int step_insert(struct step_entry *e)
{
	if (W.steps.count + 1 > W.steps.nbuckets && table_grow(&W.steps))
		return -1;
	e->next = W.steps.buckets[e->hash & (W.steps.nbuckets - 1)];
	W.steps.buckets[e->hash & (W.steps.nbuckets - 1)] = e;
	W.steps.count++;
	return 0;
}

static void step_remove(struct step_entry *e)
{
	struct step_entry **pp = (struct step_entry **)&W.steps.buckets[e->hash & (W.steps.nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			W.steps.count--;
			step_free(e);
			return;
		}
	}
}

static struct node_entry *node_find(const char *cluster, const char *name, uint64_t h)
{
	struct node_entry *e;

	if (!W.nodes.nbuckets)
		return NULL;
	for (e = W.nodes.buckets[h & (W.nodes.nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && !strcmp(e->name, name) && !strcmp(e->cluster, cluster))
			return e;
	return NULL;
}

static int node_insert(struct node_entry *e)
{
	if (W.nodes.count + 1 > W.nodes.nbuckets && table_grow(&W.nodes))
		return -1;
	e->next = W.nodes.buckets[e->hash & (W.nodes.nbuckets - 1)];
	W.nodes.buckets[e->hash & (W.nodes.nbuckets - 1)] = e;
	W.nodes.count++;
	return 0;
}

static void table_clear(struct table *t, bool steps)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		void *e = t->buckets[i];

		while (e) {
			void *next = *(void **)e;

			if (steps)
				step_free(e);
			else
				free(e);
			e = next;
		}
		t->buckets[i] = NULL;
	}
	t->count = 0;
}

static struct max_key *max_key_of(const char *cluster)
{
	struct max_key *grown;

	for (size_t i = 0; i < W.nmax_keys; i++)
		if (!strcmp(W.max_keys[i].cluster, cluster))
			return &W.max_keys[i];
	grown = realloc(W.max_keys, (W.nmax_keys + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	W.max_keys = grown;
	memset(&W.max_keys[W.nmax_keys], 0, sizeof(*grown));
	snprintf(W.max_keys[W.nmax_keys].cluster, QMSG_NAME_MAX, "%s", cluster);
	return &W.max_keys[W.nmax_keys++];
}

/* A key above every stored key of its cluster cannot be in the database:
 * Slurm hands out job ids in increasing order, so most new steps need no
 * lookup (a single writer keeps this bound exact or above). */
static bool key_is_new(const struct step_key *k)
{
	struct max_key *m = max_key_of(k->cluster);

	return m && (k->job > m->job || (k->job == m->job && k->step > m->step));
}

static void key_seen(const struct step_key *k)
{
	struct max_key *m = max_key_of(k->cluster);

	if (m && (k->job > m->job || (k->job == m->job && k->step > m->step))) {
		m->job = k->job;
		m->step = k->step;
	}
}

json_object *ingest_item_error(const char *code, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	if (!o)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "status", json_object_new_string("error"));
	json_object_object_add(o, "error", json_object_new_string(code));
	json_object_object_add(o, "retry", json_object_new_boolean(qmsg_code_is_transient(code)));
	json_object_object_add(o, "message", json_object_new_string(msg));
	return o;
}

static json_object *item_ok(const char *result)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "result", json_object_new_string(result));
	return o;
}

static void set_answer(struct ingest_item *it, json_object *answer)
{
	json_object_put(it->answer);
	it->answer = answer;
}

struct ingest_request *ingest_request_new(size_t n)
{
	return calloc(1, sizeof(struct ingest_request) + n * sizeof(struct ingest_item));
}

void ingest_request_free(struct ingest_request *req)
{
	if (!req)
		return;
	for (size_t i = 0; i < req->n; i++) {
		qmsg_result_free(&req->items[i].r);
		json_object_put(req->items[i].answer);
	}
	free(req);
}

/* Answer and free a request: one item is answered as itself, a batch
 * with "results" in item order. */
static void answer_request(struct ingest_request *req)
{
	json_object *ans = NULL;

	if (!req->conn) {
		ingest_request_free(req);
		return;
	}
	if (!req->batch && req->n == 1 && req->items[0].answer) {
		ans = req->items[0].answer;
		req->items[0].answer = NULL;
		json_object_object_add(ans, "v", json_object_new_int(QMSG_VERSION));
	} else {
		json_object *arr = json_object_new_array();

		ans = qmsg_response_ok();
		if (ans && arr && !json_object_object_add(ans, "results", arr)) {
			for (size_t i = 0; i < req->n; i++) {
				json_object *a = req->items[i].answer;

				req->items[i].answer = NULL;
				if (!a)
					a = ingest_item_error("internal", "no answer");
				json_object_array_add(arr, a);
			}
		} else {
			json_object_put(arr);
			json_object_put(ans);
			ans = NULL;
		}
	}
	if (!ans)
		ans = qmsg_response_error("retry_later", "out of memory");
	conn_respond(req->conn, ans);
	json_object_put(ans);
	ingest_request_free(req);
}

static void answer_all(struct ingest_request *req, const char *code, const char *msg)
{
	if (!strcmp(code, "retry_later"))
		atomic_fetch_add(&counters.refused_retry, 1);
	for (size_t i = 0; i < req->n; i++)
		if (!req->items[i].invalid)
			set_answer(&req->items[i], ingest_item_error(code, "%s", msg));
	answer_request(req);
}

/* ------------------------------------------------------ state rebuild -- */

static void restore_step(const struct stored_step *s, void *arg)
{
	struct step_entry *e = calloc(1, sizeof(*e)), *old;
	int *failures = arg;

	if (!e)
		goto fail;
	snprintf(e->key.cluster, sizeof(e->key.cluster), "%s", s->cluster);
	e->key.job = s->job;
	e->key.step = s->step;
	e->hash = step_hash(&e->key);
	if (vstep_init(&e->vs, s->replicas, s->quorum, s->parts, s->mode, s->tolerance)) {
		free(e);
		goto fail;
	}
	e->owner = s->owner_uid;
	e->first_at = s->first_at;
	e->last_at = s->last_at;
	if (s->layout) {
		e->layout = calloc((size_t)s->replicas, sizeof(char *));
		for (int i = 0; e->layout && i < s->replicas; i++)
			e->layout[i] = strdup(s->layout[i] ? s->layout[i] : "");
	}
	for (size_t i = 0; i < s->nparts; i++) {
		const struct stored_part *p = &s->part[i];
		bool completed;

		(void)vstep_add_part(&e->vs, p->replica, p->part, p->sha256, p->exit_status,
				     p->node, p->output, p->output_len, &completed);
	}
	vstep_restore(&e->vs, s->verdict, s->canonical, s->outcome);
	e->in_db = true;
	e->stored_settled = s->settled;
	old = step_find(&e->key, e->hash);
	if (old)
		step_remove(old);
	if (step_insert(e)) {
		step_free(e);
		goto fail;
	}
	key_seen(&e->key);
	return;
fail:
	(*failures)++;
}

static void restore_node(const struct stored_node *n, void *arg)
{
	struct node_entry *e = calloc(1, sizeof(*e));
	int *failures = arg;

	if (!e) {
		(*failures)++;
		return;
	}
	snprintf(e->cluster, sizeof(e->cluster), "%s", n->cluster);
	snprintf(e->name, sizeof(e->name), "%s", n->name);
	snprintf(e->site, sizeof(e->site), "%s", n->site);
	e->hash = node_hash(e->cluster, e->name);
	e->rep = n->rep;
	snprintf(e->last_verdict, sizeof(e->last_verdict), "%s", n->last_verdict);
	e->last_verdict_at = n->last_verdict_at;
	if (node_insert(e)) {
		free(e);
		(*failures)++;
	}
}

static void restore_max_key(const char *cluster, int64_t job, int64_t step, void *arg)
{
	struct step_key k;

	(void)arg;
	snprintf(k.cluster, sizeof(k.cluster), "%s", cluster);
	k.job = job;
	k.step = step;
	key_seen(&k);
}

/* Whether slurmctld should hear of the node: not while it is what a node
 * without quorate's words in Extra already is (no verdict, no decision). */
static bool worth_pushing(const struct node_entry *e)
{
	return e->rep.verdicts > 0 || e->rep.state != NODE_UNPROVEN || e->pushed;
}

/* Everything from the database: nodes, open steps, the key bounds. */
static int reload_state(char *err, size_t errlen)
{
	int failures = 0;
	bool lost;

	table_clear(&W.steps, true);
	table_clear(&W.nodes, false);
	W.nmax_keys = 0;
	if (store_load_nodes(W.conn, restore_node, &failures, err, errlen) ||
	    store_load_max_keys(W.conn, restore_max_key, NULL, err, errlen) ||
	    store_load_steps(W.conn, NULL, 0, restore_step, &failures, &lost, err, errlen))
		return -1;
	if (failures) {
		snprintf(err, errlen, "out of memory rebuilding the state");
		return -1;
	}
	log_verbose("state loaded: %zu nodes, %zu open steps", W.nodes.count, W.steps.count);
	W.reevaluate = true;	/* at the next tick, in a transaction */
	/* slurmctld may have lost or missed what we pushed: push every local node. */
	if (W.settings.push_reputation) {
		for (size_t i = 0; i < W.nodes.nbuckets; i++) {
			for (struct node_entry *e = W.nodes.buckets[i]; e; e = e->next) {
				if (strcmp(e->cluster, local_cluster) || !worth_pushing(e))
					continue;
				slurm_push_enqueue(e->name, e->rep.score, e->rep.state);
				e->pushed = true;
				e->pushed_score = round(e->rep.score * 10) / 10;
				e->pushed_state = e->rep.state;
			}
		}
	}
	return 0;
}

static void disconnect(void)
{
	if (W.conn)
		PQfinish(W.conn);
	W.conn = NULL;
	atomic_store(&W.up, false);
	table_clear(&W.steps, true);
	table_clear(&W.nodes, false);
	W.nmax_keys = 0;
}

/* One attempt to (re)connect, migrate and reload. */
static int connect_db(bool first, char *err, size_t errlen)
{
	int applied = 0;

	W.conn = store_connect(W.conninfo, false, err, errlen);
	if (!W.conn)
		return -1;
	if (store_migrate(W.conn, &applied, err, errlen)) {
		bool lost = PQstatus(W.conn) != CONNECTION_OK;

		PQfinish(W.conn);
		W.conn = NULL;
		return lost ? -1 : -2;
	}
	if (store_prepare(W.conn, err, errlen)) {
		PQfinish(W.conn);
		W.conn = NULL;
		return -1;
	}
	if (applied || first)
		log_info("database schema: %d migration%s applied", applied, applied == 1 ? "" : "s");
	if (reload_state(err, errlen)) {
		disconnect();
		return -1;
	}
	atomic_store(&W.up, true);
	return 0;
}

/* ---------------------------------------------------------- the batch -- */

static void touch_step(struct step_entry *e)
{
	if (e->batch == W.batch)
		return;
	if (W.ntouched_steps == W.cap_touched_steps) {
		size_t cap = W.cap_touched_steps ? 2 * W.cap_touched_steps : 256;
		struct step_entry **v = realloc(W.touched_steps, cap * sizeof(*v));

		if (!v) {
			W.batch_oom = true;	/* the batch must not commit half of it */
			return;
		}
		W.touched_steps = v;
		W.cap_touched_steps = cap;
	}
	e->batch = W.batch;
	W.touched_steps[W.ntouched_steps++] = e;
}

static void touch_node(struct node_entry *e)
{
	if (e->batch == W.batch)
		return;
	if (W.ntouched_nodes == W.cap_touched_nodes) {
		size_t cap = W.cap_touched_nodes ? 2 * W.cap_touched_nodes : 256;
		struct node_entry **v = realloc(W.touched_nodes, cap * sizeof(*v));

		if (!v) {
			W.batch_oom = true;
			return;
		}
		W.touched_nodes = v;
		W.cap_touched_nodes = cap;
	}
	e->batch = W.batch;
	W.touched_nodes[W.ntouched_nodes++] = e;
}

/* The node's entry, made (and its row written) on first sight.  touch:
 * its row will be written by this batch in any case. */
static struct node_entry *node_get(const char *cluster, const char *name, bool touch)
{
	uint64_t h = node_hash(cluster, name);
	struct node_entry *e = node_find(cluster, name, h);

	if (e) {
		if (touch)
			touch_node(e);
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->cluster, sizeof(e->cluster), "%s", cluster);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->hash = h;
	rep_node_init(&e->rep);
	if (node_insert(e)) {
		free(e);
		return NULL;
	}
	touch_node(e);
	if (!strcmp(cluster, local_cluster))
		slurm_push_want_sites();	/* learn where the new node is */
	return e;
}

static void add_site_op(const char *site)
{
	struct store_op *op = store_tx_add(W.tx, STMT_SITE);

	op_text(op, site);
}

/* admin_uid: the admin who decided, or -1 for the verifier's own events.
 * job: the job of an event without a step (node-fail), or 0. */
static void add_event_op_job(const struct node_entry *n, double now, const char *kind,
			     const char *reason, const struct step_entry *s, int replica,
			     int64_t job, const struct rep_node *before, int64_t admin_uid)
{
	struct store_op *op = store_tx_add(W.tx, STMT_EVENT);

	op_text(op, n->cluster);
	op_text(op, n->name);
	op_double(op, now);
	op_text(op, kind);
	op_text(op, reason);
	if (s) {
		op_int(op, s->key.job);
		op_int(op, s->key.step);
		op_int(op, replica);
	} else if (job > 0) {
		op_int(op, job);
		op_text(op, NULL);
		op_text(op, NULL);
	} else {
		op_text(op, NULL);
		op_text(op, NULL);
		op_text(op, NULL);
	}
	op_double(op, before->score);
	op_double(op, n->rep.score);
	op_text(op, node_state_name(before->state));
	op_text(op, node_state_name(n->rep.state));
	op_double(op, n->rep.agree);
	op_double(op, n->rep.disagree);
	op_double(op, n->rep.missing);
	if (admin_uid >= 0)
		op_int(op, admin_uid);
	else
		op_text(op, NULL);
}

static void add_event_op(const struct node_entry *n, double now, const char *kind,
			 const char *reason, const struct step_entry *s, int replica,
			 const struct rep_node *before, int64_t admin_uid)
{
	add_event_op_job(n, now, kind, reason, s, replica, 0, before, admin_uid);
}

/* The distinct nodes of a replica: those of its parts, then its layout. */
static size_t replica_nodes(const struct step_entry *s, int replica, char **out, size_t max,
			    char *buf, size_t buflen)
{
	size_t n = 0, used = 0;

	for (int p = 0; p < s->vs.parts && n < max; p++) {
		const struct vpart *part = &s->vs.r[replica].parts[p];
		bool dup = false;

		if (!part->present)
			continue;
		for (size_t i = 0; i < n; i++)
			dup |= !strcmp(out[i], part->node);
		if (!dup)
			out[n++] = (char *)part->node;
	}
	if (s->layout && s->layout[replica]) {
		char *copy = buf, *tok, *save = NULL;
		size_t len = strlen(s->layout[replica]);

		if (len + 1 > buflen)
			return n;
		memcpy(copy, s->layout[replica], len + 1);
		used = len + 1;
		(void)used;
		for (tok = strtok_r(copy, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
			bool dup = false;

			for (size_t i = 0; i < n; i++)
				dup |= !strcmp(out[i], tok);
			if (!dup)
				out[n++] = tok;
		}
	}
	return n;
}

static void apply_changes(struct step_entry *s, const struct vstep_change *ch, size_t nch,
			  double now)
{
	char reason[64];

	snprintf(reason, sizeof(reason), "%lld.%lld", (long long)s->key.job, (long long)s->key.step);
	for (size_t i = 0; i < nch; i++) {
		char *names[QMSG_MAX_PARTS + 64], buf[4200];
		size_t n = replica_nodes(s, ch[i].replica, names, sizeof(names) / sizeof(names[0]),
					 buf, sizeof(buf));
		enum rep_event ev = ch[i].outcome == OUTCOME_AGREE ? REP_AGREE :
				    ch[i].outcome == OUTCOME_DISAGREE ? REP_DISAGREE : REP_MISSING;
		struct store_op *op = store_tx_add(W.tx, STMT_OUTCOME);

		op_text(op, s->key.cluster);
		op_int(op, s->key.job);
		op_int(op, s->key.step);
		op_int(op, ch[i].replica);
		op_text(op, replica_outcome_name(ch[i].outcome));
		op_list(op, names, n, ',');
		op_double(op, now);
		if (n == 0)
			log_warning("step %s:%s replica %d is %s but its nodes are unknown "
				    "(no part reported and no layout): no reputation event",
				    s->key.cluster, reason, ch[i].replica,
				    replica_outcome_name(ch[i].outcome));
		for (size_t j = 0; j < n; j++) {
			struct node_entry *ne = node_get(s->key.cluster, names[j], true);
			struct rep_node before;

			if (!ne) {
				log_error("out of memory recording node %s", names[j]);
				continue;
			}
			before = ne->rep;
			(void)rep_apply(&ne->rep, ev, now, &W.settings.rep);
			snprintf(ne->last_verdict, sizeof(ne->last_verdict), "%s", reason);
			ne->last_verdict_at = now;
			add_event_op(ne, now, rep_event_name(ev), reason, s, ch[i].replica, &before, -1);
			if (before.state != ne->rep.state)
				log_info("node %s: %s -> %s (score %.1f, %s of %s)", ne->name,
					 node_state_name(before.state), node_state_name(ne->rep.state),
					 ne->rep.score, rep_event_name(ev), reason);
		}
	}
	if (nch && s->vs.verdict != VERDICT_PENDING)
		s->verdict_dirty = true;
}

static void decided(struct step_entry *s, double now)
{
	s->decided_at = now;
	s->verdict_dirty = true;
	s->notify = true;
	if (s->vs.verdict == VERDICT_ACCEPTED)
		atomic_fetch_add(&counters.verdicts_accepted, 1);
	else
		atomic_fetch_add(&counters.verdicts_rejected, 1);
	log_verbose("step %s:%lld.%lld %s (%d of %d needed)", s->key.cluster,
		    (long long)s->key.job, (long long)s->key.step,
		    verdict_state_name(s->vs.verdict), s->vs.quorum, s->vs.replicas);
}

static void resolve_cluster(char *cluster)
{
	if (!cluster[0])
		snprintf(cluster, QMSG_NAME_MAX, "%s", local_cluster);
}

static void apply_result(struct ingest_request *req, struct ingest_item *it, double now)
{
	struct qmsg_result *r = &it->r;
	struct step_key key;
	struct step_entry *s;
	struct node_entry *ne;
	struct vstep_change changes[QMSG_MAX_REPLICAS];
	enum vstep_add_status st;
	struct store_op *op;
	bool completed;
	size_t nch;
	uint64_t h;

	snprintf(key.cluster, sizeof(key.cluster), "%s", r->cluster);
	key.job = r->job;
	key.step = r->step;
	h = step_hash(&key);
	s = step_find(&key, h);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || vstep_init(&s->vs, r->replicas, r->quorum, r->parts, r->mode, r->tolerance)) {
			free(s);
			set_answer(it, ingest_item_error("retry_later", "out of memory"));
			return;
		}
		s->key = key;
		s->hash = h;
		s->owner = r->uid;
		s->first_at = now;
		s->layout = r->layout;	/* taken over */
		r->layout = NULL;
		if (step_insert(s)) {
			step_free(s);
			set_answer(it, ingest_item_error("retry_later", "out of memory"));
			return;
		}
		key_seen(&key);
	} else if (!vstep_same_shape(&s->vs, r->replicas, r->quorum, r->parts, r->mode, r->tolerance) ||
		   s->owner != r->uid) {
		atomic_fetch_add(&counters.results_rejected, 1);
		set_answer(it, ingest_item_error("conflict",
			"step %s:%lld.%lld was reported with replicas=%d quorum=%d parts=%d mode=%s uid=%lld",
			key.cluster, (long long)key.job, (long long)key.step, s->vs.replicas,
			s->vs.quorum, s->vs.parts, verify_mode_name(s->vs.mode), (long long)s->owner));
		return;
	}
	st = vstep_add_part(&s->vs, r->replica, r->part, r->sha256, r->exit_status, r->node,
			    r->output, r->output_len, &completed);
	if (st == VSTEP_DUPLICATE) {
		atomic_fetch_add(&counters.results_duplicate, 1);
		set_answer(it, item_ok("duplicate"));
		return;
	}
	if (st == VSTEP_CONFLICT) {
		atomic_fetch_add(&counters.results_rejected, 1);
		log_warning("conflicting report for %s:%lld.%lld replica %d part %d from %s (uid %u)",
			    key.cluster, (long long)key.job, (long long)key.step, r->replica, r->part,
			    r->node, (unsigned)req->uid);
		set_answer(it, ingest_item_error("conflict",
			"replica %d part %d of %s:%lld.%lld was reported before with another result",
			r->replica, r->part, key.cluster, (long long)key.job, (long long)key.step));
		return;
	}
	if (st != VSTEP_ADDED) {
		set_answer(it, ingest_item_error("retry_later", "out of memory"));
		return;
	}
	touch_step(s);
	s->last_at = now;

	op = store_tx_add(W.tx, STMT_RESULT);
	op_text(op, key.cluster);
	op_int(op, key.job);
	op_int(op, key.step);
	op_int(op, r->replica);
	op_int(op, r->part);
	op_text(op, r->node);
	op_bytes(op, r->sha256, sizeof(r->sha256));
	op_int(op, r->exit_status);
	op_double(op, r->runtime);
	if (r->output && (long)r->output_len <= W.settings.max_output) {
		op_bytes(op, r->output, r->output_len);
		op_int(op, (int64_t)r->output_len);
	} else {
		op_bytes(op, NULL, 0);
		if (r->output)
			op_int(op, (int64_t)r->output_len);
		else
			op_text(op, NULL);
	}
	op_int(op, req->uid);
	op_double(op, now);

	ne = node_get(key.cluster, r->node, false);
	if (ne && r->site[0] && strcmp(ne->site, r->site)) {
		touch_node(ne);
		snprintf(ne->site, sizeof(ne->site), "%s", r->site);
		add_site_op(ne->site);
	}
	if (completed) {
		bool changed = vstep_decide(&s->vs, changes, &nch);

		if (changed)
			decided(s, now);
		apply_changes(s, changes, nch, now);
	}
	atomic_fetch_add(&counters.results_stored, 1);
	set_answer(it, item_ok("stored"));
}

static void apply_contribution(struct ingest_request *req, struct ingest_item *it, double now)
{
	struct qmsg_contribution *k = &it->k;
	struct store_op *op = store_tx_add(W.tx, STMT_CONTRIBUTION);

	op_text(op, k->cluster);
	op_int(op, k->job);
	op_int(op, k->step);
	op_int(op, k->rank);
	op_text(op, k->node);
	op_double(op, k->compute_seconds);
	op_int(op, k->samples);
	op_int(op, k->gradients_accepted);
	op_int(op, k->gradients_rejected);
	op_int(op, req->uid);
	op_double(op, now);
	it->rows = -1;
	op_rows(op, &it->rows);
	/* The answer (stored or duplicate) comes from the commit. */
}

static void apply_site(struct ingest_item *it)
{
	struct node_entry *ne;

	if (!node_find(it->k.cluster, it->k.node, node_hash(it->k.cluster, it->k.node)))
		return;		/* sites are kept for nodes quorate knows */
	ne = node_get(it->k.cluster, it->k.node, false);
	if (ne && strcmp(ne->site, it->site)) {
		touch_node(ne);
		snprintf(ne->site, sizeof(ne->site), "%s", it->site);
		add_site_op(ne->site);
		log_verbose("node %s is at site %s", ne->name, ne->site);
	}
}

/* An admin's decision about a node quorated knows (not one it would
 * create: a mistyped name must not become a node). */
static void apply_node_admin(struct ingest_request *req, struct ingest_item *it, double now)
{
	const struct qmsg_node_admin *a = &it->a;
	struct node_entry *ne = node_find(a->cluster, a->node, node_hash(a->cluster, a->node));
	enum rep_admin_action action = (enum rep_admin_action)it->action;
	struct rep_node before;
	char kind[32];
	json_object *ans;

	if (!ne) {
		set_answer(it, ingest_item_error("unknown_node", "quorated has no record of node %s "
						 "in cluster %s", a->node, a->cluster));
		return;
	}
	touch_node(ne);
	before = ne->rep;
	(void)rep_admin(&ne->rep, action, now, &W.settings.rep);
	snprintf(kind, sizeof(kind), "admin-%s", rep_admin_name(action));
	add_event_op(ne, now, kind, a->reason, NULL, 0, &before, (int64_t)req->uid);
	log_info("node %s: %s by uid %u: %s -> %s (score %.1f): %s", ne->name,
		 rep_admin_name(action), (unsigned)req->uid, node_state_name(before.state),
		 node_state_name(ne->rep.state), ne->rep.score, a->reason);
	ans = item_ok("done");
	if (ans) {
		json_object_object_add(ans, "node", json_object_new_string(ne->name));
		json_object_object_add(ans, "state_before",
				       json_object_new_string(node_state_name(before.state)));
		json_object_object_add(ans, "state_after",
				       json_object_new_string(node_state_name(ne->rep.state)));
		json_object_object_add(ans, "score", qmsg_new_double(round(ne->rep.score * 10) / 10));
	}
	set_answer(it, ans);
}

/* Slurm's evidence that a node failed under a job (NodeFailMissing): one
 * missing outcome, once per (cluster, node, job, at); the event is dated
 * at the job's end.  A node quorated has not met yet is created: the
 * name comes from slurmdbd, not from a person's typing. */
static void apply_node_fail(struct ingest_item *it, double now)
{
	const struct qmsg_node_fail *f = &it->f;
	struct node_entry *ne;
	struct rep_node before;
	json_object *ans;

	if (it->duplicate) {
		set_answer(it, item_ok("duplicate"));
		return;
	}
	ne = node_get(f->cluster, f->node, true);
	if (!ne) {
		W.batch_oom = true;
		set_answer(it, ingest_item_error("retry_later", "out of memory"));
		return;
	}
	before = ne->rep;
	(void)rep_apply(&ne->rep, REP_MISSING, now, &W.settings.rep);
	add_event_op_job(ne, (double)f->at, "node-fail", f->reason, NULL, 0, f->job, &before, -1);
	log_info("node %s: failed under job %lld (Slurm): counted missing, %s -> %s "
		 "(score %.1f -> %.1f)", ne->name, (long long)f->job,
		 node_state_name(before.state), node_state_name(ne->rep.state), before.score,
		 ne->rep.score);
	ans = item_ok("stored");
	if (ans) {
		json_object_object_add(ans, "node", json_object_new_string(ne->name));
		json_object_object_add(ans, "state_after",
				       json_object_new_string(node_state_name(ne->rep.state)));
		json_object_object_add(ans, "score", qmsg_new_double(round(ne->rep.score * 10) / 10));
	}
	set_answer(it, ans);
}

/* The rule or its thresholds may differ from those the states were
 * decided by (a new quorated, a reload, a state rebuilt): decide again,
 * each change an event. */
static void reevaluate_nodes(double now)
{
	for (size_t i = 0; i < W.nodes.nbuckets; i++) {
		for (struct node_entry *n = W.nodes.buckets[i]; n; n = n->next) {
			struct rep_node before = n->rep;

			(void)rep_reevaluate(&n->rep, now, &W.settings.rep);
			if (n->rep.state == before.state && n->rep.score == before.score)
				continue;
			touch_node(n);
			if (n->rep.state == before.state)
				continue;
			add_event_op(n, now, "reevaluated", "reputation rule", NULL, 0, &before, -1);
			log_info("node %s: %s -> %s under the reputation rule (score %.1f)", n->name,
				 node_state_name(before.state), node_state_name(n->rep.state),
				 n->rep.score);
		}
	}
	W.evaluated_with = W.settings.rep;
	W.reevaluate = false;
}

/* Settle steps whose grace period is over; re-admit quarantined nodes. */
static void tick(double now)
{
	struct vstep_change changes[QMSG_MAX_REPLICAS];
	size_t nch;

	for (size_t i = 0; i < W.steps.nbuckets; i++) {
		for (struct step_entry *s = W.steps.buckets[i]; s; s = s->next) {
			bool changed;

			if (s->vs.settled || now < s->last_at + (double)W.settings.missing_grace)
				continue;
			touch_step(s);
			changed = vstep_settle(&s->vs, changes, &nch);
			if (changed)
				decided(s, now);
			apply_changes(s, changes, nch, now);
			log_verbose("step %s:%lld.%lld settled after %lds of silence: %d missing",
				    s->key.cluster, (long long)s->key.job, (long long)s->key.step,
				    W.settings.missing_grace, s->vs.missing);
		}
	}
	for (size_t i = 0; i < W.nodes.nbuckets; i++) {
		for (struct node_entry *n = W.nodes.buckets[i]; n; n = n->next) {
			struct rep_node before = n->rep;

			if (!rep_expire_quarantine(&n->rep, now, &W.settings.rep))
				continue;
			touch_node(n);
			add_event_op(n, now, "readmitted", "quarantine over", NULL, 0, &before, -1);
			log_info("node %s: quarantine over, now %s (score %.1f)",
				 n->name, node_state_name(n->rep.state), n->rep.score);
		}
	}
	if (W.reevaluate || memcmp(&W.evaluated_with, &W.settings.rep, sizeof(W.evaluated_with)))
		reevaluate_nodes(now);
}

/* Drop settled steps nobody reported to for a while (they reload on demand). */
static void evict(double now)
{
	double idle = W.steps.count > MAX_CACHED_STEPS ? 10 : STEP_IDLE_EVICT;

	for (size_t i = 0; i < W.steps.nbuckets; i++) {
		struct step_entry **pp = (struct step_entry **)&W.steps.buckets[i];

		while (*pp) {
			struct step_entry *s = *pp;

			if (s->vs.settled && s->vs.verdict != VERDICT_PENDING && now - s->last_at > idle) {
				*pp = s->next;
				W.steps.count--;
				step_free(s);
			} else {
				pp = &s->next;
			}
		}
	}
}

/* The verdict as it stands now: rewritten as late replicas come in. */
static const char *verdict_reason(const struct step_entry *s, char *buf, size_t len)
{
	const struct vstep *v = &s->vs;

	if (v->verdict == VERDICT_ACCEPTED) {
		int n = snprintf(buf, len, "%d of %d replicas agree (quorum %d)", v->agree,
				 v->replicas, v->quorum);

		if (n > 0 && (size_t)n < len && v->disagree)
			n += snprintf(buf + n, len - (size_t)n, ", %d disagree%s", v->disagree,
				      v->disagree == 1 ? "s" : "");
		if (n > 0 && (size_t)n < len && v->missing)
			snprintf(buf + n, len - (size_t)n, ", %d missing", v->missing);
	} else
		snprintf(buf, len, "no quorum of %d among %d replicas (%d reported, %d missing)",
			 v->quorum, v->replicas, v->completed, v->missing);
	return buf;
}

static void add_step_op(const struct step_entry *s)
{
	struct store_op *op = store_tx_add(W.tx, STMT_STEP);

	op_text(op, s->key.cluster);
	op_int(op, s->key.job);
	op_int(op, s->key.step);
	op_int(op, s->vs.replicas);
	op_int(op, s->vs.quorum);
	op_int(op, s->vs.parts);
	op_text(op, verify_mode_name(s->vs.mode));
	op_double(op, s->vs.tolerance);
	op_int(op, s->owner);
	op_list(op, s->layout, s->layout ? (size_t)s->vs.replicas : 0, '|');
	op_double(op, s->first_at);
	op_double(op, s->last_at);
	op_bool(op, s->vs.settled);
}

static void add_verdict_op(const struct step_entry *s, double now)
{
	struct store_op *op = store_tx_add(W.tx, STMT_VERDICT);
	uint8_t digest[32];
	char reason[160];
	bool has_digest = s->vs.canonical >= 0 &&
			  !vstep_replica_digest(&s->vs, s->vs.canonical, digest);

	op_text(op, s->key.cluster);
	op_int(op, s->key.job);
	op_int(op, s->key.step);
	op_text(op, verdict_state_name(s->vs.verdict));
	if (s->vs.canonical >= 0)
		op_int(op, s->vs.canonical);
	else
		op_text(op, NULL);
	op_bytes(op, has_digest ? digest : NULL, has_digest ? sizeof(digest) : 0);
	op_int(op, s->vs.agree);
	op_int(op, s->vs.disagree);
	op_int(op, s->vs.missing);
	op_text(op, verdict_reason(s, reason, sizeof(reason)));
	op_double(op, s->decided_at > 0 ? s->decided_at : now);
	op_double(op, now);
}

/* Rows for everything the batch touched. */
static void flush_touched(double now)
{
	for (size_t i = 0; i < W.ntouched_steps; i++) {
		struct step_entry *s = W.touched_steps[i];

		/* A step's row changes only when it is new or settles; each
		 * report's time is in its own row (last_report_at is rebuilt
		 * from them). */
		if (!s->in_db || s->stored_settled != s->vs.settled)
			add_step_op(s);
		if (s->verdict_dirty)
			add_verdict_op(s, now);
	}
	for (size_t i = 0; i < W.ntouched_nodes; i++) {
		struct node_entry *n = W.touched_nodes[i];
		struct store_op *op = store_tx_add(W.tx, STMT_NODE);

		op_text(op, n->cluster);
		op_text(op, n->name);
		op_text(op, n->site[0] ? n->site : NULL);
		op_double(op, n->rep.agree);
		op_double(op, n->rep.disagree);
		op_double(op, n->rep.missing);
		op_int(op, n->rep.verdicts);
		op_double(op, n->rep.score);
		op_text(op, node_state_name(n->rep.state));
		if (n->rep.state == NODE_QUARANTINED && !n->rep.held)
			op_double(op, n->rep.quarantined_until);
		else
			op_text(op, NULL);
		if (n->rep.updated_at > 0)
			op_double(op, n->rep.updated_at);
		else
			op_text(op, NULL);
		op_text(op, n->last_verdict[0] ? n->last_verdict : NULL);
		if (n->last_verdict_at > 0)
			op_double(op, n->last_verdict_at);
		else
			op_text(op, NULL);
		op_bool(op, n->rep.held);
	}
}

/* After the commit: wake waiters, queue pushes, forget the undo data. */
static void committed(void)
{
	for (size_t i = 0; i < W.ntouched_steps; i++) {
		struct step_entry *s = W.touched_steps[i];

		if (s->notify)
			waiters_notify(&s->key);
		s->notify = false;
		s->verdict_dirty = false;
		s->in_db = true;
		s->stored_settled = s->vs.settled;
	}
	for (size_t i = 0; i < W.ntouched_nodes; i++) {
		struct node_entry *n = W.touched_nodes[i];
		double shown = round(n->rep.score * 10) / 10;

		if (!W.settings.push_reputation || strcmp(n->cluster, local_cluster) ||
		    !worth_pushing(n))
			continue;
		if (!n->pushed || n->pushed_score != shown || n->pushed_state != n->rep.state) {
			slurm_push_enqueue(n->name, n->rep.score, n->rep.state);
			n->pushed = true;
			n->pushed_score = shown;
			n->pushed_state = n->rep.state;
		}
	}
}

/* The transaction failed: the memory is ahead of the database.  Rebuild
 * it from the database (rare: a failure of the database itself). */
static void rolled_back(void)
{
	char err[512];

	W.ntouched_nodes = 0;
	W.ntouched_steps = 0;
	if (reload_state(err, sizeof(err))) {
		log_error("database: cannot reload the state after a rollback: %s", err);
		disconnect();
		W.next_attempt = 0;
	}
}

/* Steps of the batch that are neither cached nor surely new. */
static int load_missing_steps(struct ingest_request *reqs, char *err, size_t errlen, bool *lost)
{
	struct step_key *keys = NULL;
	size_t n = 0, cap = 0;
	int failures = 0, rv;

	*lost = false;
	for (struct ingest_request *req = reqs; req; req = req->next) {
		for (size_t i = 0; i < req->n; i++) {
			struct ingest_item *it = &req->items[i];
			struct step_key k;
			bool dup = false;

			if (it->kind != ITEM_RESULT || it->invalid)
				continue;
			snprintf(k.cluster, sizeof(k.cluster), "%s", it->r.cluster);
			k.job = it->r.job;
			k.step = it->r.step;
			if (step_find(&k, step_hash(&k)) || key_is_new(&k))
				continue;
			for (size_t j = 0; j < n && !dup; j++)
				dup = same_key(&keys[j], &k);
			if (dup)
				continue;
			if (n == cap) {
				struct step_key *v = realloc(keys, (cap ? cap * 2 : 64) * sizeof(*v));

				if (!v) {
					free(keys);
					snprintf(err, errlen, "out of memory");
					return -1;
				}
				keys = v;
				cap = cap ? cap * 2 : 64;
			}
			keys[n++] = k;
		}
	}
	if (n == 0)
		return 0;	/* (keys == NULL would mean "every open step") */
	rv = store_load_steps(W.conn, keys, n, restore_step, &failures, lost, err, errlen);
	free(keys);
	if (!rv && failures) {
		snprintf(err, errlen, "out of memory rebuilding steps");
		rv = -1;
	}
	return rv;
}

static bool same_node_fail(const struct qmsg_node_fail *a, const struct qmsg_node_fail *b)
{
	return a->job == b->job && a->at == b->at && !strcmp(a->node, b->node) &&
	       !strcmp(a->cluster, b->cluster);
}

/* Mark the node failures of the batch that were counted before, in the
 * store or earlier in this batch. */
static int mark_counted_node_fails(struct ingest_request *reqs, char *err, size_t errlen,
				   bool *lost)
{
	*lost = false;
	for (struct ingest_request *req = reqs; req; req = req->next) {
		for (size_t i = 0; i < req->n; i++) {
			struct ingest_item *it = &req->items[i];

			if (it->kind != ITEM_NODE_FAIL || it->invalid)
				continue;
			it->duplicate = false;	/* (a batch may be processed again) */
			for (struct ingest_request *r2 = reqs; r2 && !it->duplicate; r2 = r2->next)
				for (size_t j = 0; j < r2->n && !(r2 == req && j >= i); j++)
					if (r2->items[j].kind == ITEM_NODE_FAIL && !r2->items[j].invalid &&
					    same_node_fail(&r2->items[j].f, &it->f)) {
						it->duplicate = true;
						break;
					}
			if (!it->duplicate &&
			    store_node_fail_counted(W.conn, it->f.cluster, it->f.node, it->f.job,
						    it->f.at, &it->duplicate, lost, err, errlen))
				return -1;
		}
	}
	return 0;
}

/* Run requests through the verifier and commit them; answer each.
 * Returns the store's verdict on the transaction. */
static enum store_rc process(struct ingest_request *reqs, bool with_tick, double now)
{
	char err[512];
	enum store_rc rc;
	bool lost;
	double t0;

	W.batch++;
	W.batch_oom = false;
	W.ntouched_steps = 0;
	W.ntouched_nodes = 0;
	store_tx_reset(W.tx);
	for (struct ingest_request *req = reqs; req; req = req->next)
		for (size_t i = 0; i < req->n; i++)
			if (req->items[i].kind == ITEM_RESULT)
				resolve_cluster(req->items[i].r.cluster);
			else if (req->items[i].kind == ITEM_NODE_ADMIN)
				resolve_cluster(req->items[i].a.cluster);
			else if (req->items[i].kind == ITEM_NODE_FAIL)
				resolve_cluster(req->items[i].f.cluster);
			else
				resolve_cluster(req->items[i].k.cluster);
	if (load_missing_steps(reqs, err, sizeof(err), &lost) ||
	    mark_counted_node_fails(reqs, err, sizeof(err), &lost)) {
		log_error("database: %s", err);
		return lost ? STORE_CONN_LOST : STORE_SQL_TRANSIENT;
	}
	for (struct ingest_request *req = reqs; req; req = req->next) {
		for (size_t i = 0; i < req->n; i++) {
			struct ingest_item *it = &req->items[i];

			if (it->invalid)
				continue;	/* malformed: answered by the worker */
			switch (it->kind) {
			case ITEM_RESULT: apply_result(req, it, now); break;
			case ITEM_CONTRIBUTION: apply_contribution(req, it, now); break;
			case ITEM_SITE: apply_site(it); break;
			case ITEM_NODE_ADMIN: apply_node_admin(req, it, now); break;
			case ITEM_NODE_FAIL: apply_node_fail(it, now); break;
			}
		}
	}
	if (with_tick)
		tick(now);
	flush_touched(now);
	if (W.batch_oom) {
		log_error("out of memory preparing a transaction");
		store_tx_reset(W.tx);
		rolled_back();
		return STORE_SQL_TRANSIENT;
	}
	if (store_tx_count(W.tx) == 0) {
		committed();
		return STORE_OK;
	}
	t0 = mono_seconds();
	rc = store_tx_commit(W.conn, W.tx, err, sizeof(err));
	if (rc == STORE_OK) {
		metrics_observe_commit(mono_seconds() - t0);
		store_tx_reset(W.tx);
		atomic_fetch_add(&counters.commits, 1);
		committed();
		return rc;
	}
	atomic_fetch_add(&counters.commit_failures, 1);
	log_error("commit of %zu operations failed: %s", store_tx_count(W.tx), err);
	store_tx_reset(W.tx);
	if (rc != STORE_CONN_LOST)
		rolled_back();
	return rc;
}

/* Answers once the requests are committed (contributions learn here
 * whether they were new). */
static void answer_committed(struct ingest_request *reqs)
{
	while (reqs) {
		struct ingest_request *next = reqs->next;

		for (size_t i = 0; i < reqs->n; i++) {
			struct ingest_item *it = &reqs->items[i];

			if (it->kind == ITEM_CONTRIBUTION && !it->invalid && !it->answer) {
				if (it->rows > 0)
					atomic_fetch_add(&counters.contributions_stored, 1);
				set_answer(it, item_ok(it->rows > 0 ? "stored" : "duplicate"));
			}
		}
		answer_request(reqs);
		reqs = next;
	}
}

static void clear_answers(struct ingest_request *req)
{
	for (size_t i = 0; i < req->n; i++)
		if (!req->items[i].invalid)
			set_answer(&req->items[i], NULL);
}

static void handle_batch(struct ingest_request *reqs, bool with_tick)
{
	double now = now_seconds();
	enum store_rc rc = process(reqs, with_tick, now);

	if (rc == STORE_OK) {
		answer_committed(reqs);
		return;
	}
	if (rc == STORE_CONN_LOST) {
		log_error("lost the database connection; refusing reports until it is back");
		disconnect();
		W.next_attempt = 0;
		while (reqs) {
			struct ingest_request *next = reqs->next;

			answer_all(reqs, "retry_later", "database unavailable");
			reqs = next;
		}
		return;
	}
	if (!reqs)
		return;		/* only the periodic work failed: next second again */
	/* Rolled back: find the request at fault by committing one at a time. */
	if (reqs->next) {
		while (reqs) {
			struct ingest_request *next = reqs->next;

			reqs->next = NULL;
			clear_answers(reqs);
			if (!W.conn) {
				answer_all(reqs, "retry_later", "database unavailable");
			} else {
				handle_batch(reqs, false);
			}
			reqs = next;
		}
		return;
	}
	if (rc == STORE_SQL_TRANSIENT)
		answer_all(reqs, "retry_later", "database busy, try again");
	else
		answer_all(reqs, "internal", "the database refused this request (see quorated's log)");
}

/* --------------------------------------------------------- the thread -- */

static struct ingest_request *take_batch(void)
{
	struct ingest_request *head = NULL, **tail = &head;
	size_t items = 0;

	while (W.head && (items == 0 || items + W.head->n <= MAX_BATCH_ITEMS)) {
		struct ingest_request *req = W.head;

		W.head = req->next;
		if (!W.head)
			W.tail = NULL;
		req->next = NULL;
		*tail = req;
		tail = &req->next;
		items += req->n;
		W.queued_items -= req->n;
	}
	return head;
}

static void refuse_all(struct ingest_request *reqs, const char *why)
{
	while (reqs) {
		struct ingest_request *next = reqs->next;

		answer_all(reqs, "retry_later", why);
		reqs = next;
	}
}

static void try_connect(double now)
{
	char err[512];
	int rc;

	if (now < W.next_attempt)
		return;
	rc = connect_db(false, err, sizeof(err));
	if (rc == 0) {
		log_info("database connection %s", W.warned_down ? "restored" : "established");
		W.warned_down = false;
		W.backoff = BACKOFF_MIN;
		return;
	}
	if (!W.warned_down || W.backoff >= BACKOFF_MAX)
		log_error("database unavailable (next try in %.1fs): %s", W.backoff, err);
	W.warned_down = true;
	W.next_attempt = now + W.backoff;
	W.backoff = fmin(W.backoff * 2, BACKOFF_MAX);
}

static void *ingest_main(void *arg)
{
	(void)arg;
	daemon_thread_init("q-writer");
	for (;;) {
		struct ingest_request *reqs;
		double now;
		bool stop, with_tick;

		pthread_mutex_lock(&W.lock);
		while (!W.head && !W.stop) {
			struct timespec until;
			double t = now_seconds(), wake = fmin(W.last_tick + 1, W.conn ? 1e18 : W.next_attempt);

			if (wake <= t)
				break;
			wake = fmin(wake, t + 1);
			until.tv_sec = (time_t)wake;
			until.tv_nsec = (long)((wake - (double)until.tv_sec) * 1e9);
			if (pthread_cond_timedwait(&W.cond, &W.lock, &until) == ETIMEDOUT)
				break;
		}
		stop = W.stop;
		reqs = take_batch();
		pthread_mutex_unlock(&W.lock);

		settings_get(&W.settings);
		now = now_seconds();
		if (!W.conn)
			try_connect(now);
		with_tick = now >= W.last_tick + 1;
		if (!W.conn) {
			refuse_all(reqs, "database unavailable");
		} else if (reqs || with_tick) {
			handle_batch(reqs, with_tick);
			if (with_tick) {
				W.last_tick = now;
				if (W.conn)
					evict(now);
			}
		}
		if (stop) {
			pthread_mutex_lock(&W.lock);
			bool empty = !W.head;
			pthread_mutex_unlock(&W.lock);
			if (empty)
				break;
		}
	}
	return NULL;
}

int ingest_init(const char *conninfo, char *err, size_t errlen)
{
	int rc;

	W.conninfo = strdup(conninfo);
	W.tx = store_tx_new();
	if (!W.conninfo || !W.tx) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	settings_get(&W.settings);
	W.backoff = BACKOFF_MIN;
	rc = connect_db(true, err, errlen);
	if (rc == -2)
		return -1;	/* the schema cannot be applied: nothing will work */
	if (rc == -1) {
		log_error("database unavailable at start (reports refused until it is back): %s", err);
		W.warned_down = true;
		W.next_attempt = now_seconds() + W.backoff;
	}
	return 0;
}

int ingest_start(void)
{
	W.last_tick = now_seconds();
	if (pthread_create(&W.thread, NULL, ingest_main, NULL))
		return -1;
	W.running = true;
	return 0;
}

void ingest_stop(void)
{
	if (W.running) {
		pthread_mutex_lock(&W.lock);
		W.stop = true;
		pthread_cond_signal(&W.cond);
		pthread_mutex_unlock(&W.lock);
		pthread_join(W.thread, NULL);
		W.running = false;
	}
	/* Anything queued after the thread's last look. */
	pthread_mutex_lock(&W.lock);
	refuse_all(W.head, "quorated is shutting down");
	W.head = W.tail = NULL;
	pthread_mutex_unlock(&W.lock);
	disconnect();
	table_clear(&W.steps, true);
	table_clear(&W.nodes, false);
	free(W.steps.buckets);
	free(W.nodes.buckets);
	free(W.max_keys);
	free(W.touched_steps);
	free(W.touched_nodes);
	store_tx_free(W.tx);
	free(W.conninfo);
	memset(&W.steps, 0, sizeof(W.steps));
	memset(&W.nodes, 0, sizeof(W.nodes));
	W.max_keys = NULL;
	W.touched_steps = NULL;
	W.touched_nodes = NULL;
	W.tx = NULL;
	W.conninfo = NULL;
}

bool ingest_available(void)
{
	return atomic_load(&W.up) && !atomic_load(&daemon_stopping);
}

int ingest_submit(struct ingest_request *req)
{
	int rv = -1;

	req->next = NULL;
	pthread_mutex_lock(&W.lock);
	if (atomic_load(&W.up) && !W.stop && W.queued_items + req->n <= MAX_QUEUED_ITEMS) {
		if (W.tail)
			W.tail->next = req;
		else
			W.head = req;
		W.tail = req;
		W.queued_items += req->n;
		pthread_cond_signal(&W.cond);
		rv = 0;
	}
	pthread_mutex_unlock(&W.lock);
	return rv;
}
