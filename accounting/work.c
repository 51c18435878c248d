/*
 * work.c - see work.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "frame.h"
#include "ingest.h"
#include "listener.h"
#include "log.h"
#include "qauth.h"
#include "qmsg.h"
#include "replay.h"
#include "store.h"
#include "waiters.h"
#include "work.h"

#define REQUEST_TIMEOUT_MS 10000	/* to receive a whole request once it began */
#define REPLAY_MAX_ENTRIES (1u << 20)	/* 48 MiB of table at most */
#define MAX_CREDENTIAL_TTL 600		/* longer-lived credentials would crowd the cache */
#define REJECT_LOGS_PER_SECOND 20
#define DRAIN_MAX (16u << 20)		/* an oversized request up to this is read and dropped */

static struct {
	pthread_t *threads;
	int nthreads;
	char *munge_socket;
	struct replay_cache *replay;
	time_t started;
	time_t last_purge;
	/* rate limit of rejection messages */
	pthread_mutex_t log_lock;
	time_t log_second;
	int log_count;
	unsigned long suppressed;
} K = {
	.log_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* A rejected request is logged with its reason; a flood is summarized. */
static void log_rejection(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_rejection(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	time_t now = time(NULL);
	unsigned long suppressed = 0;
	bool show;

	pthread_mutex_lock(&K.log_lock);
	if (now != K.log_second) {
		suppressed = K.suppressed;
		K.suppressed = 0;
		K.log_second = now;
		K.log_count = 0;
	}
	show = K.log_count++ < REJECT_LOGS_PER_SECOND;
	if (!show)
		K.suppressed++;
	pthread_mutex_unlock(&K.log_lock);
	if (suppressed)
		log_warning("%lu more rejected requests were not logged", suppressed);
	if (!show)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warning("%s", msg);
}

/* Read and drop len bytes; whether they all came. */
static bool drain(int fd, size_t len, int64_t deadline)
{
	char buf[65536];

	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (frame_read_all(fd, buf, n, deadline) != FRAME_OK)
			return false;
		len -= n;
	}
	return true;
}

static void respond(struct conn *c, json_object *ans)
{
	if (!ans)
		ans = qmsg_response_error("retry_later", "out of memory");
	if (!ans) {
		conn_close(c);
		return;
	}
	conn_respond(c, ans);
	json_object_put(ans);
}

/* Answer, then close: after a framing error the stream cannot be trusted. */
static void respond_and_close(struct conn *c, json_object *ans)
{
	if (ans) {
		size_t len;
		const char *text = json_object_to_json_string_length(ans, JSON_C_TO_STRING_PLAIN, &len);

		if (text)
			(void)frame_send(conn_fd(c), text, len, frame_now_ms() + 2000);
		json_object_put(ans);
	}
	conn_close(c);
}

static json_object *health_answer(uid_t uid)
{
	json_object *ans = qmsg_response_ok(), *cnt = json_object_new_object();

	if (!ans || !cnt) {
		json_object_put(ans);
		json_object_put(cnt);
		return NULL;
	}
#define C(name) json_object_object_add(cnt, #name, json_object_new_int64((int64_t)atomic_load(&counters.name)))
	C(requests); C(results_stored); C(results_duplicate); C(results_rejected);
	C(contributions_stored); C(commits); C(commit_failures); C(refused_retry);
	C(cred_expired); C(cred_rewound); C(cred_replayed); C(cred_invalid);
	C(unauthorized); C(forbidden); C(malformed); C(too_large);
	C(verdicts_accepted); C(verdicts_rejected); C(slurm_pushes); C(slurm_push_failures);
#undef C
	json_object_object_add(ans, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(ans, "cluster", json_object_new_string(local_cluster));
	json_object_object_add(ans, "uptime", json_object_new_int64((int64_t)(time(NULL) - K.started)));
	json_object_object_add(ans, "database", json_object_new_string(ingest_available() ? "up" : "down"));
	json_object_object_add(ans, "uid", json_object_new_int64(uid));
	json_object_object_add(ans, "privileged", json_object_new_boolean(settings_privileged(uid)));
	json_object_object_add(ans, "replay_cache", json_object_new_int64((int64_t)replay_count(K.replay)));
	json_object_object_add(ans, "counters", cnt);
	return ans;
}

/* Reports: parse every item, hand the valid ones to the writer. */
static void handle_reports(struct conn *c, json_object *msg, enum qmsg_type type,
			   uid_t uid)
{
	json_object **items = NULL, *one[1] = { msg };
	enum qmsg_type types[QMSG_MAX_BATCH] = { type };
	struct ingest_request *req;
	char err[512];
	int n = 1, valid = 0;

	if (!settings_privileged(uid)) {
		atomic_fetch_add(&counters.unauthorized, 1);
		log_rejection("unauthorized %s from uid %u at %s: only root, SlurmUser and "
			      "AuthorizedUsers may report", qmsg_type_name(type), (unsigned)uid,
			      conn_peer(c));
		respond(c, qmsg_response_error("unauthorized",
			"uid %u may not send %s (only root, SlurmUser and AuthorizedUsers)",
			(unsigned)uid, qmsg_type_name(type)));
		return;
	}
	if (type == QMSG_BATCH) {
		n = qmsg_batch_items(msg, &items, types, err, sizeof(err));
		if (n < 0) {
			atomic_fetch_add(&counters.malformed, 1);
			log_rejection("malformed batch from uid %u at %s: %s", (unsigned)uid,
				      conn_peer(c), err);
			respond(c, qmsg_response_error("malformed", "%s", err));
			return;
		}
	} else {
		items = one;
	}
	req = ingest_request_new((size_t)n);
	if (!req) {
		if (items != one)
			free(items);
		respond(c, qmsg_response_error("retry_later", "out of memory"));
		return;
	}
	req->conn = c;
	req->uid = uid;
	req->batch = type == QMSG_BATCH;
	req->received_at = now_seconds();
	req->n = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct ingest_item *it = &req->items[i];
		int bad;

		if (types[i] == QMSG_REPLICA_RESULT) {
			it->kind = ITEM_RESULT;
			bad = qmsg_result_from_json(items[i], &it->r, err, sizeof(err));
		} else {
			it->kind = ITEM_CONTRIBUTION;
			bad = qmsg_contribution_from_json(items[i], &it->k, err, sizeof(err));
		}
		if (bad) {
			atomic_fetch_add(&counters.malformed, 1);
			log_rejection("malformed %s from uid %u at %s: %s", qmsg_type_name(types[i]),
				      (unsigned)uid, conn_peer(c), err);
			it->invalid = true;
			it->answer = ingest_item_error("malformed", "%s", err);
			if (!it->answer)
				it->answer = json_object_new_object();
		} else {
			valid++;
		}
	}
	if (items != one)
		free(items);
	if (valid == 0) {
		/* Nothing for the writer: answer now, in the same shape. */
		json_object *ans;

		if (!req->batch) {
			ans = req->items[0].answer;
			req->items[0].answer = NULL;
			json_object_object_add(ans, "v", json_object_new_int(QMSG_VERSION));
		} else {
			json_object *arr = json_object_new_array();

			ans = qmsg_response_ok();
			json_object_object_add(ans, "results", arr);
			for (size_t i = 0; i < req->n; i++) {
				json_object_array_add(arr, req->items[i].answer);
				req->items[i].answer = NULL;
			}
		}
		ingest_request_free(req);
		respond(c, ans);
		return;
	}
	if (!ingest_available() || ingest_submit(req)) {
		atomic_fetch_add(&counters.refused_retry, 1);
		ingest_request_free(req);
		respond(c, qmsg_response_error("retry_later", "%s",
			atomic_load(&daemon_stopping) ? "quorated is shutting down" :
			"the database is unavailable or quorated is busy; try again later"));
	}
}

/* A request only root and SlurmUser may make about a node's reputation:
 * refused for anyone else, parsed (parse returns 0 or -1 with err) into a
 * one-item request of KIND, and queued for the writer, which answers. */
static void handle_node_request(struct conn *c, json_object *msg, uid_t uid,
				enum ingest_kind kind, const char *what,
				int (*parse)(json_object *, struct ingest_item *, char *, size_t))
{
	struct ingest_request *req;
	char err[512];

	if (!settings_admin(uid)) {
		atomic_fetch_add(&counters.forbidden, 1);
		log_rejection("%s from uid %u at %s refused: only root and SlurmUser may "
			      "change a node's reputation", what, (unsigned)uid, conn_peer(c));
		respond(c, qmsg_response_error("forbidden",
			"uid %u may not change a node's reputation (only root and SlurmUser)",
			(unsigned)uid));
		return;
	}
	req = ingest_request_new(1);
	if (!req) {
		respond(c, qmsg_response_error("retry_later", "out of memory"));
		return;
	}
	req->items[0].kind = kind;
	if (parse(msg, &req->items[0], err, sizeof(err))) {
		atomic_fetch_add(&counters.malformed, 1);
		log_rejection("malformed %s from uid %u at %s: %s", what, (unsigned)uid,
			      conn_peer(c), err);
		ingest_request_free(req);
		respond(c, qmsg_response_error("malformed", "%s", err));
		return;
	}
	req->conn = c;
	req->uid = uid;
	req->received_at = now_seconds();
	req->n = 1;
	if (!ingest_available() || ingest_submit(req)) {
		atomic_fetch_add(&counters.refused_retry, 1);
		ingest_request_free(req);
		respond(c, qmsg_response_error("retry_later", "the database is unavailable or "
					       "quorated is busy; try again later"));
	}
}

/* An admin's decision about a node. */
static int parse_node_admin(json_object *msg, struct ingest_item *it, char *err, size_t errlen)
{
	enum rep_admin_action action;

	if (qmsg_node_admin_from_json(msg, &it->a, err, errlen))
		return -1;
	if (rep_admin_parse(it->a.action, &action)) {
		snprintf(err, errlen, "action: '%s' is not quarantine, release or reset",
			 it->a.action);
		return -1;
	}
	it->action = (int)action;
	return 0;
}

/* Slurm's evidence of a node failure, from `quorate ingest`. */
static int parse_node_fail(json_object *msg, struct ingest_item *it, char *err, size_t errlen)
{
	return qmsg_node_fail_from_json(msg, &it->f, err, errlen);
}

static void handle_verdict(struct conn *c, json_object *msg, uid_t uid)
{
	struct qmsg_verdict_query q;
	char err[512], cluster[QMSG_NAME_MAX];
	enum verdict_state state;
	bool known, forbidden, privileged = settings_privileged(uid);
	struct waiter *w = NULL;
	json_object *ans, *st;

	if (qmsg_verdict_query_from_json(msg, &q, err, sizeof(err))) {
		atomic_fetch_add(&counters.malformed, 1);
		respond(c, qmsg_response_error("malformed", "%s", err));
		return;
	}
	snprintf(cluster, sizeof(cluster), "%s", q.cluster[0] ? q.cluster : local_cluster);
	/* Park first, then look: a verdict committed in between wakes us. */
	if (q.wait > 0)
		w = waiters_park(c, cluster, &q, uid, privileged);
	ans = store_answer_verdict(cluster, &q, uid, privileged, &state, &known, &forbidden);
	if (forbidden) {
		atomic_fetch_add(&counters.forbidden, 1);
		log_rejection("verdict of %s:%lld.%lld refused to uid %u at %s (not the job's owner)",
			      cluster, (long long)q.job, (long long)q.step, (unsigned)uid, conn_peer(c));
	}
	if (w) {
		bool answerable = forbidden || state != VERDICT_PENDING ||
			!json_object_object_get_ex(ans, "status", &st) ||
			strcmp(json_object_get_string(st), "ok");

		if (!answerable) {
			json_object_put(ans);	/* the waiters' thread answers */
			return;
		}
		if (!waiters_cancel(w)) {
			json_object_put(ans);	/* already being answered */
			return;
		}
	}
	respond(c, ans);
}

static void handle_message(struct conn *c, const char *text, size_t len, uid_t uid)
{
	json_object *msg;
	enum qmsg_type type;
	const char *code;
	char err[512];

	if (qmsg_parse_request(text, len, &msg, &type, &code, err, sizeof(err))) {
		atomic_fetch_add(&counters.malformed, 1);
		log_rejection("malformed request from uid %u at %s: %s", (unsigned)uid, conn_peer(c), err);
		respond(c, qmsg_response_error(code, "%s", err));
		return;
	}
	switch (type) {
	case QMSG_REPLICA_RESULT:
	case QMSG_CONTRIBUTION:
	case QMSG_BATCH:
		handle_reports(c, msg, type, uid);
		break;
	case QMSG_VERDICT_QUERY:
		handle_verdict(c, msg, uid);
		break;
	case QMSG_REPUTATION_QUERY: {
		struct qmsg_reputation_query q;

		if (qmsg_reputation_query_from_json(msg, &q, err, sizeof(err))) {
			atomic_fetch_add(&counters.malformed, 1);
			respond(c, qmsg_response_error("malformed", "%s", err));
		} else {
			respond(c, store_answer_nodes(&q));
		}
		break;
	}
	case QMSG_EVENTS_QUERY: {
		struct qmsg_events_query q;

		if (qmsg_events_query_from_json(msg, &q, err, sizeof(err))) {
			atomic_fetch_add(&counters.malformed, 1);
			respond(c, qmsg_response_error("malformed", "%s", err));
		} else {
			if (!q.cluster[0])
				snprintf(q.cluster, sizeof(q.cluster), "%s", local_cluster);
			respond(c, store_answer_events(&q));
		}
		break;
	}
	case QMSG_HEALTH:
		respond(c, health_answer(uid));
		break;
	case QMSG_NODE_ADMIN:
		handle_node_request(c, msg, uid, ITEM_NODE_ADMIN, "node_admin", parse_node_admin);
		break;
	case QMSG_NODE_FAIL:
		handle_node_request(c, msg, uid, ITEM_NODE_FAIL, "node_fail", parse_node_fail);
		break;
	case QMSG_NONE:
		respond(c, qmsg_response_error("malformed", "no message type"));
		break;
	}
	json_object_put(msg);
}

static void handle_connection(struct conn *c)
{
	struct settings set;
	struct qauth_info info;
	uint8_t key[REPLAY_KEY_LEN];
	enum frame_status fst;
	enum qauth_status ast;
	char *cred = NULL, *payload = NULL, err[256];
	size_t len, plen;
	time_t now;

	settings_get(&set);
	fst = frame_recv(conn_fd(c), (size_t)set.max_frame, &cred, &len,
			 frame_now_ms() + REQUEST_TIMEOUT_MS);
	if (fst == FRAME_EOF) {
		conn_close(c);
		return;
	}
	if (fst == FRAME_TOO_LARGE) {
		json_object *ans;

		atomic_fetch_add(&counters.too_large, 1);
		log_rejection("request of %zu bytes from %s is above MaxFrameSize (%ld)", len,
			      conn_peer(c), set.max_frame);
		ans = qmsg_response_error("too_large",
			"request of %zu bytes is above the limit of %ld bytes", len, set.max_frame);
		/* A sender that is still writing would see our close as a reset,
		 * not our answer: read what it announced (up to a bound) first. */
		if (len <= DRAIN_MAX && drain(conn_fd(c), len, frame_now_ms() + REQUEST_TIMEOUT_MS)) {
			respond(c, ans);
			return;
		}
		respond_and_close(c, ans);
		return;
	}
	if (fst != FRAME_OK) {
		if (fst == FRAME_EMPTY)
			atomic_fetch_add(&counters.malformed, 1);
		log_debug("request from %s: %s", conn_peer(c), frame_status_name(fst));
		if (fst == FRAME_EMPTY)
			respond_and_close(c, qmsg_response_error("malformed", "empty frame"));
		else
			conn_close(c);
		return;
	}
	atomic_fetch_add(&counters.requests, 1);
	now = time(NULL);
	if (memchr(cred, '\0', len) || replay_key(cred, key)) {
		atomic_fetch_add(&counters.cred_invalid, 1);
		log_rejection("undecodable credential from %s: NUL byte", conn_peer(c));
		respond(c, qmsg_response_error("bad_credential", "not a munge credential"));
		goto out;
	}
	if (replay_contains(K.replay, key, now)) {
		atomic_fetch_add(&counters.cred_replayed, 1);
		log_rejection("replayed credential from %s", conn_peer(c));
		respond(c, qmsg_response_error("replayed", "this credential was used before"));
		goto out;
	}
	ast = qauth_decode(K.munge_socket, cred, &payload, &plen, &info, err, sizeof(err));
	if (ast != QAUTH_OK) {
		static const char *const code[] = {
			[QAUTH_EXPIRED] = "expired", [QAUTH_REWOUND] = "rewound",
			[QAUTH_REPLAYED] = "replayed", [QAUTH_INVALID] = "bad_credential",
			[QAUTH_UNAVAILABLE] = "retry_later",
		};

		switch (ast) {
		case QAUTH_EXPIRED: atomic_fetch_add(&counters.cred_expired, 1); break;
		case QAUTH_REWOUND: atomic_fetch_add(&counters.cred_rewound, 1); break;
		case QAUTH_REPLAYED: atomic_fetch_add(&counters.cred_replayed, 1); break;
		case QAUTH_INVALID: atomic_fetch_add(&counters.cred_invalid, 1); break;
		default: atomic_fetch_add(&counters.refused_retry, 1); break;
		}
		if (ast == QAUTH_UNAVAILABLE)
			log_error("munged: %s", err);
		else
			log_rejection("%s credential from %s: %s", qauth_status_name(ast),
				      conn_peer(c), err);
		respond(c, qmsg_response_error(code[ast], "credential %s: %s",
					       qauth_status_name(ast), err));
		goto out;
	}
	if (info.ttl > MAX_CREDENTIAL_TTL) {
		atomic_fetch_add(&counters.cred_invalid, 1);
		log_rejection("credential with a TTL of %d s from %s (uid %u): at most %d s",
			      info.ttl, conn_peer(c), (unsigned)info.uid, MAX_CREDENTIAL_TTL);
		respond(c, qmsg_response_error("bad_credential",
			"credential TTL of %d s is above %d s", info.ttl, MAX_CREDENTIAL_TTL));
		goto out;
	}
	switch (replay_insert(K.replay, key, info.encode_time + info.ttl, now)) {
	case REPLAY_NEW:
		break;
	case REPLAY_SEEN:
		atomic_fetch_add(&counters.cred_replayed, 1);
		log_rejection("replayed credential from %s (uid %u)", conn_peer(c), (unsigned)info.uid);
		respond(c, qmsg_response_error("replayed", "this credential was used before"));
		goto out;
	case REPLAY_FULL:
		atomic_fetch_add(&counters.refused_retry, 1);
		log_rejection("replay cache full; refusing a request from %s", conn_peer(c));
		respond(c, qmsg_response_error("retry_later", "too many requests; try again later"));
		goto out;
	}
	handle_message(c, payload, plen, info.uid);
out:
	free(payload);
	free(cred);
}

static void *worker_main(void *arg)
{
	struct conn *c;

	(void)arg;
	daemon_thread_init("q-worker");
	while ((c = listener_next()))
		handle_connection(c);
	return NULL;
}

int work_init(int threads, const char *munge_socket, char *err, size_t errlen)
{
	K.started = time(NULL);
	K.last_purge = K.started;
	K.munge_socket = munge_socket ? strdup(munge_socket) : NULL;
	K.replay = replay_create(REPLAY_MAX_ENTRIES);
	K.threads = calloc((size_t)threads, sizeof(pthread_t));
	if ((munge_socket && !K.munge_socket) || !K.replay || !K.threads) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&K.threads[i], NULL, worker_main, NULL)) {
			snprintf(err, errlen, "cannot start worker thread: %s", strerror(errno));
			return -1;
		}
		K.nthreads++;
	}
	return 0;
}

void work_fini(void)
{
	for (int i = 0; i < K.nthreads; i++)
		pthread_join(K.threads[i], NULL);
	free(K.threads);
	K.threads = NULL;
	K.nthreads = 0;
	replay_destroy(K.replay);
	K.replay = NULL;
	free(K.munge_socket);
	K.munge_socket = NULL;
}

void work_tick(void)
{
	time_t now = time(NULL);

	listener_tick();
	if (K.replay && now - K.last_purge >= 10) {
		size_t left = replay_purge(K.replay, now);

		K.last_purge = now;
		log_debug2("replay cache: %zu credentials", left);
	}
}
