/*
 * qclient.c - see qclient.h and doc/protocol.md.
 */
#define _GNU_SOURCE	/* locale_t, uselocale */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "hash.h"
#include "qauth.h"
#include "qclient.h"
#include "qmsg.h"

struct qclient {
	pthread_mutex_t lock;
	char *host;
	char port[8];
	char *munge_socket;
	int connect_timeout_ms;
	int io_timeout_ms;
	size_t max_frame;
	int ttl;
	int fd;			/* -1: not connected */
	locale_t cloc;		/* the C locale, for json-c (see IN_C_LOCALE) */
};

static void set_err(struct qclient_error *err, enum qclient_class cls,
		    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_err(struct qclient_error *err, enum qclient_class cls,
		    const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->cls = cls;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static void clear_err(struct qclient_error *err)
{
	if (err) {
		err->cls = QCLIENT_OK;
		err->code[0] = '\0';
		err->message[0] = '\0';
	}
}

const char *qclient_class_name(enum qclient_class cls)
{
	switch (cls) {
	case QCLIENT_OK: return "ok";
	case QCLIENT_TRANSIENT: return "transient";
	case QCLIENT_PERMANENT: return "permanent";
	}
	return "unknown";
}

const char *qclient_verdict_state_name(enum qclient_verdict_state st)
{
	switch (st) {
	case QCLIENT_VERDICT_UNKNOWN: return "UNKNOWN";
	case QCLIENT_VERDICT_PENDING: return "PENDING";
	case QCLIENT_VERDICT_ACCEPTED: return "ACCEPTED";
	case QCLIENT_VERDICT_REJECTED: return "REJECTED";
	}
	return "UNKNOWN";
}

struct qclient *qclient_new(const struct qclient_options *opts,
			    struct qclient_error *err)
{
	struct qclient *c;

	clear_err(err);
	if (!opts || !opts->host || !*opts->host || opts->port < 1 || opts->port > 65535) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument",
			"qclient: a host and a port in 1..65535 are needed");
		return NULL;
	}
	if (opts->connect_timeout_ms < 0 || opts->io_timeout_ms < 0 || opts->credential_ttl < 0) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument",
			"qclient: negative timeout or TTL");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "qclient: out of memory");
		return NULL;
	}
	c->fd = -1;
	c->host = strdup(opts->host);
	c->munge_socket = opts->munge_socket ? strdup(opts->munge_socket) : NULL;
	if (!c->host || (opts->munge_socket && !c->munge_socket)) {
		qclient_free(c);
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "qclient: out of memory");
		return NULL;
	}
	snprintf(c->port, sizeof(c->port), "%u", opts->port);
	c->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 3000;
	c->io_timeout_ms = opts->io_timeout_ms ? opts->io_timeout_ms : 10000;
	c->max_frame = opts->max_frame ? opts->max_frame : FRAME_DEFAULT_MAX;
	/* Short-lived credentials: quorated remembers each until it expires. */
	c->ttl = opts->credential_ttl ? opts->credential_ttl : 60;
	c->cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);	/* NULL: no switching */
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void disconnect_locked(struct qclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void qclient_disconnect(struct qclient *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	disconnect_locked(c);
	pthread_mutex_unlock(&c->lock);
}

void qclient_free(struct qclient *c)
{
	if (!c)
		return;
	disconnect_locked(c);
	if (c->host)		/* fully built: the mutex was initialised */
		pthread_mutex_destroy(&c->lock);
	if (c->cloc)
		freelocale(c->cloc);
	free(c->host);
	free(c->munge_socket);
	free(c);
}

/* Non-blocking connect to each address in turn, bounded by deadline. */
static int connect_locked(struct qclient *c, int64_t deadline,
			  struct qclient_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL, *ai;
	int rc, last_errno = 0;

	rc = getaddrinfo(c->host, c->port, &hints, &res);
	if (rc) {
		set_err(err, QCLIENT_TRANSIENT, "connect", "cannot resolve %s: %s",
			c->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				ai->ai_protocol);
		int one = 1;

		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
			last_errno = errno;
			close(fd);
			continue;
		}
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int64_t left = deadline - frame_now_ms();
			int n, soerr = 0;
			socklen_t len = sizeof(soerr);

			if (left <= 0) {
				last_errno = ETIMEDOUT;
				break;
			}
			n = poll(&pfd, 1, (int)left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				last_errno = n ? errno : ETIMEDOUT;
				break;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
				last_errno = soerr ? soerr : errno;
				break;
			}
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			c->fd = fd;
			freeaddrinfo(res);
			return 0;
		}
		close(fd);
	}
	freeaddrinfo(res);
	set_err(err, QCLIENT_TRANSIENT, last_errno == ETIMEDOUT ? "timeout" : "connect",
		"cannot connect to quorated at %s:%s: %s", c->host, c->port,
		strerror(last_errno ? last_errno : ECONNREFUSED));
	return -1;
}

/* Send cred and read the answer.  *stale: a reused connection turned out to
 * be closed before anything came back (the request may be retried). */
static enum qclient_class exchange_locked(struct qclient *c, const char *cred,
					  int extra_ms, char **resp,
					  struct qclient_error *err, bool *stale)
{
	int64_t deadline = frame_now_ms() + c->io_timeout_ms + (extra_ms > 0 ? extra_ms : 0);
	int64_t connect_deadline = frame_now_ms() + c->connect_timeout_ms;
	bool reused = c->fd >= 0;
	size_t len = strlen(cred), rlen;
	enum frame_status st;

	*stale = false;
	*resp = NULL;
	if (len > c->max_frame) {
		set_err(err, QCLIENT_PERMANENT, "too_large",
			"request of %zu bytes is above the frame limit of %zu bytes "
			"(send fewer results or omit outputs)", len, c->max_frame);
		return QCLIENT_PERMANENT;
	}
	if (!reused && connect_locked(c, connect_deadline, err))
		return QCLIENT_TRANSIENT;
	st = frame_send(c->fd, cred, len, deadline);
	if (st == FRAME_OK)
		st = frame_recv(c->fd, c->max_frame, resp, &rlen, deadline);
	if (st == FRAME_OK)
		return QCLIENT_OK;
	disconnect_locked(c);
	if (reused && (st == FRAME_EOF || st == FRAME_IO_ERROR)) {
		*stale = true;
		set_err(err, QCLIENT_TRANSIENT, "io", "connection to %s:%s was closed",
			c->host, c->port);
		return QCLIENT_TRANSIENT;
	}
	if (st == FRAME_TIMEOUT)
		set_err(err, QCLIENT_TRANSIENT, "timeout",
			"no answer from quorated at %s:%s within %d ms", c->host, c->port,
			c->io_timeout_ms + (extra_ms > 0 ? extra_ms : 0));
	else if (st == FRAME_TOO_LARGE || st == FRAME_EMPTY)
		set_err(err, QCLIENT_TRANSIENT, "protocol",
			"answer from %s:%s is not a quorate frame (%s)", c->host, c->port,
			frame_status_name(st));
	else if (st == FRAME_NO_MEMORY)
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
	else
		set_err(err, QCLIENT_TRANSIENT, "io", "talking to quorated at %s:%s: %s",
			c->host, c->port, st == FRAME_EOF ? "connection closed" : strerror(errno));
	return QCLIENT_TRANSIENT;
}

static enum qclient_class encode_locked(struct qclient *c, const char *request,
					char **cred, struct qclient_error *err)
{
	char why[256];
	enum qauth_status st = qauth_encode(c->munge_socket, request, strlen(request),
					    c->ttl, cred, why, sizeof(why));

	if (st == QAUTH_OK)
		return QCLIENT_OK;
	if (st == QAUTH_INVALID) {
		set_err(err, QCLIENT_PERMANENT, "too_large", "%s", why);
		return QCLIENT_PERMANENT;
	}
	set_err(err, QCLIENT_TRANSIENT, "munge", "%s", why);
	return QCLIENT_TRANSIENT;
}

enum qclient_class qclient_encode(struct qclient *c, const char *request,
				  char **cred, struct qclient_error *err)
{
	enum qclient_class cls;

	clear_err(err);
	*cred = NULL;
	pthread_mutex_lock(&c->lock);
	cls = encode_locked(c, request, cred, err);
	pthread_mutex_unlock(&c->lock);
	return cls;
}

/* Read an answer's status: QCLIENT_OK for "ok", else the error's class. */
static enum qclient_class answer_class(json_object *o, struct qclient_error *err)
{
	json_object *st, *code, *retry, *msg;
	const char *code_s;
	bool transient;

	if (!json_object_object_get_ex(o, "status", &st) ||
	    !json_object_is_type(st, json_type_string)) {
		set_err(err, QCLIENT_TRANSIENT, "protocol", "answer without a status");
		return QCLIENT_TRANSIENT;
	}
	if (!strcmp(json_object_get_string(st), "ok"))
		return QCLIENT_OK;
	code_s = json_object_object_get_ex(o, "error", &code) &&
		 json_object_is_type(code, json_type_string) ?
		 json_object_get_string(code) : "internal";
	if (json_object_object_get_ex(o, "retry", &retry) &&
	    json_object_is_type(retry, json_type_boolean))
		transient = json_object_get_boolean(retry);
	else
		transient = qmsg_code_is_transient(code_s);
	set_err(err, transient ? QCLIENT_TRANSIENT : QCLIENT_PERMANENT, code_s, "quorated: %s",
		json_object_object_get_ex(o, "message", &msg) &&
		json_object_is_type(msg, json_type_string) ?
		json_object_get_string(msg) : code_s);
	return err ? err->cls : (transient ? QCLIENT_TRANSIENT : QCLIENT_PERMANENT);
}

/* Encode, send, receive; once more on a fresh connection (and with a fresh
 * credential: the first may have been consumed) when a reused connection
 * had been closed by quorated. */
static enum qclient_class request_locked(struct qclient *c, const char *request,
					 int extra_ms, char **resp,
					 struct qclient_error *err)
{
	enum qclient_class cls = QCLIENT_TRANSIENT;

	for (int attempt = 0; attempt < 2; attempt++) {
		char *cred = NULL;
		bool stale = false;

		cls = encode_locked(c, request, &cred, err);
		if (cls != QCLIENT_OK)
			return cls;
		cls = exchange_locked(c, cred, extra_ms, resp, err, &stale);
		free(cred);
		if (cls == QCLIENT_OK || !stale)
			return cls;
	}
	return cls;
}

static enum qclient_class call_impl(struct qclient *c, const char *request,
				int extra_wait_ms, char **response,
				struct qclient_error *err)
{
	enum qclient_class cls;
	json_object *o;
	char why[256];

	clear_err(err);
	*response = NULL;
	pthread_mutex_lock(&c->lock);
	cls = request_locked(c, request, extra_wait_ms, response, err);
	pthread_mutex_unlock(&c->lock);
	if (cls != QCLIENT_OK)
		return cls;
	o = qmsg_parse_object(*response, strlen(*response), why, sizeof(why));
	if (!o) {
		set_err(err, QCLIENT_TRANSIENT, "protocol", "answer is not quorate's: %s", why);
		return QCLIENT_TRANSIENT;
	}
	cls = answer_class(o, err);
	json_object_put(o);
	return cls;
}

static enum qclient_class send_credential_impl(struct qclient *c, const char *cred,
					   char **response,
					   struct qclient_error *err)
{
	enum qclient_class cls;
	bool stale;
	json_object *o;
	char why[256];

	clear_err(err);
	*response = NULL;
	pthread_mutex_lock(&c->lock);
	cls = exchange_locked(c, cred, 0, response, err, &stale);
	pthread_mutex_unlock(&c->lock);
	if (cls != QCLIENT_OK)
		return cls;
	o = qmsg_parse_object(*response, strlen(*response), why, sizeof(why));
	if (!o) {
		set_err(err, QCLIENT_TRANSIENT, "protocol", "answer is not quorate's: %s", why);
		return QCLIENT_TRANSIENT;
	}
	cls = answer_class(o, err);
	json_object_put(o);
	return cls;
}

/* ------------------------------------------------------------ results -- */

static int to_qmsg_result(const struct qclient_result *r, struct qmsg_result *m,
			  struct qclient_error *err)
{
	memset(m, 0, sizeof(*m));
	if (!r->node || (r->cluster && strlen(r->cluster) >= sizeof(m->cluster)) ||
	    strlen(r->node) >= sizeof(m->node) ||
	    (r->site && strlen(r->site) >= sizeof(m->site))) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument",
			"result: missing node or a name too long");
		return -1;
	}
	snprintf(m->cluster, sizeof(m->cluster), "%s", r->cluster ? r->cluster : "");
	snprintf(m->node, sizeof(m->node), "%s", r->node);
	snprintf(m->site, sizeof(m->site), "%s", r->site ? r->site : "");
	m->job = r->job_id;
	m->step = r->step_id;
	m->replica = r->replica;
	m->replicas = r->replicas;
	m->quorum = r->quorum;
	m->part = r->part;
	m->parts = r->parts > 0 ? r->parts : 1;
	m->uid = r->uid;
	memcpy(m->sha256, r->sha256, sizeof(m->sha256));
	m->exit_status = r->exit_status;
	m->runtime = r->runtime;
	m->mode = r->numeric ? VERIFY_NUMERIC : VERIFY_EXACT;
	m->tolerance = r->tolerance;
	/* The output and layout are borrowed, never freed through m. */
	m->output = (char *)r->output;
	m->output_len = r->output ? r->output_len : 0;
	m->layout = (char **)r->layout;
	return 0;
}

/* Build an item and check it as quorated will, so that a bad argument is
 * a local PERMANENT error rather than a rejected request. */
static json_object *result_item(const struct qclient_result *r,
				struct qclient_error *err)
{
	struct qmsg_result m;
	json_object *o;
	char why[256];

	if (to_qmsg_result(r, &m, err))
		return NULL;
	if (qmsg_result_check(&m, why, sizeof(why))) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument", "result: %s", why);
		return NULL;
	}
	o = qmsg_result_to_json(&m);
	if (!o) {
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
		return NULL;
	}
	return o;
}

static json_object *contribution_item(const struct qclient_contribution *k,
				      struct qclient_error *err)
{
	struct qmsg_contribution m, check;
	json_object *o;
	char why[256];

	memset(&m, 0, sizeof(m));
	if (!k->node || strlen(k->node) >= sizeof(m.node) ||
	    (k->cluster && strlen(k->cluster) >= sizeof(m.cluster)) ||
	    k->samples > INT64_MAX || k->gradients_accepted > INT64_MAX ||
	    k->gradients_rejected > INT64_MAX) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument",
			"contribution: missing node, name too long or count too large");
		return NULL;
	}
	snprintf(m.cluster, sizeof(m.cluster), "%s", k->cluster ? k->cluster : "");
	snprintf(m.node, sizeof(m.node), "%s", k->node);
	m.job = k->job_id;
	m.step = k->step_id;
	m.rank = k->rank;
	m.compute_seconds = k->compute_seconds;
	m.samples = (int64_t)k->samples;
	m.gradients_accepted = (int64_t)k->gradients_accepted;
	m.gradients_rejected = (int64_t)k->gradients_rejected;
	o = qmsg_contribution_to_json(&m);
	if (!o) {
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
		return NULL;
	}
	if (qmsg_contribution_from_json(o, &check, why, sizeof(why))) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument", "contribution: %s", why);
		json_object_put(o);
		return NULL;
	}
	return o;
}

static char *item_text(json_object *o, struct qclient_error *err)
{
	char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	if (!s)
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
	return s;
}

char *qclient_result_json(const struct qclient_result *r,
			  struct qclient_error *err)
{
	json_object *o;

	clear_err(err);
	o = result_item(r, err);
	return o ? item_text(o, err) : NULL;
}

char *qclient_contribution_json(const struct qclient_contribution *k,
				struct qclient_error *err)
{
	json_object *o;

	clear_err(err);
	o = contribution_item(k, err);
	return o ? item_text(o, err) : NULL;
}

static void ack_set(struct qclient_ack *a, enum qclient_class cls, bool dup,
		    const char *code, const char *msg)
{
	a->cls = cls;
	a->duplicate = dup;
	snprintf(a->code, sizeof(a->code), "%s", code ? code : "");
	snprintf(a->message, sizeof(a->message), "%s", msg ? msg : "");
}

/* Send items[] (objects, taken) for the slots in `slot` of acks. */
static enum qclient_class send_batch(struct qclient *c, json_object **items,
				     const size_t *slot, size_t n,
				     struct qclient_ack *acks,
				     struct qclient_error *err)
{
	json_object *req = qmsg_request_new(QMSG_BATCH), *arr = NULL, *ans = NULL, *results;
	enum qclient_class cls = QCLIENT_TRANSIENT;
	char *resp = NULL, why[256];
	size_t i;

	if (req)
		arr = json_object_new_array_ext((int)n);
	if (!req || !arr || json_object_object_add(req, "items", arr)) {
		json_object_put(arr);
		for (i = 0; i < n; i++)
			json_object_put(items[i]);
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (json_object_array_add(arr, items[i])) {
			for (; i < n; i++)
				json_object_put(items[i]);
			set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
			goto out;
		}
	}
	pthread_mutex_lock(&c->lock);
	cls = request_locked(c, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			     0, &resp, err);
	pthread_mutex_unlock(&c->lock);
	if (cls != QCLIENT_OK)
		goto out;
	ans = qmsg_parse_object(resp, strlen(resp), why, sizeof(why));
	if (!ans) {
		set_err(err, QCLIENT_TRANSIENT, "protocol", "answer is not quorate's: %s", why);
		cls = QCLIENT_TRANSIENT;
		goto out;
	}
	cls = answer_class(ans, err);
	if (cls != QCLIENT_OK)
		goto out;
	if (!json_object_object_get_ex(ans, "results", &results) ||
	    !json_object_is_type(results, json_type_array) ||
	    json_object_array_length(results) != n) {
		set_err(err, QCLIENT_TRANSIENT, "protocol", "answer has no results for %zu items", n);
		cls = QCLIENT_TRANSIENT;
		goto out;
	}
	for (i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(results, i), *res;
		struct qclient_error e;

		clear_err(&e);
		if (!r || !json_object_is_type(r, json_type_object)) {
			ack_set(&acks[slot[i]], QCLIENT_TRANSIENT, false, "protocol", "bad result entry");
			continue;
		}
		if (answer_class(r, &e) != QCLIENT_OK) {
			ack_set(&acks[slot[i]], e.cls, false, e.code, e.message);
			continue;
		}
		ack_set(&acks[slot[i]], QCLIENT_OK,
			json_object_object_get_ex(r, "result", &res) &&
			json_object_is_type(res, json_type_string) &&
			!strcmp(json_object_get_string(res), "duplicate"), NULL, NULL);
	}
out:
	if (cls != QCLIENT_OK && err)
		for (i = 0; i < n; i++)
			ack_set(&acks[slot[i]], err->cls, false, err->code, err->message);
	json_object_put(ans);
	json_object_put(req);
	free(resp);
	return cls;
}

static enum qclient_class send_results_impl(struct qclient *c,
					const struct qclient_result *results,
					size_t n, struct qclient_ack *acks,
					struct qclient_error *err)
{
	json_object *items[QCLIENT_MAX_BATCH];
	size_t slot[QCLIENT_MAX_BATCH];

	clear_err(err);
	if (n < 1 || n > QCLIENT_MAX_BATCH) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument",
			"%zu results (allowed 1..%d per request)", n, QCLIENT_MAX_BATCH);
		return QCLIENT_PERMANENT;	/* acks untouched: n is not their size */
	}
	for (size_t i = 0; i < n; i++) {
		items[i] = result_item(&results[i], err);
		slot[i] = i;
		if (!items[i]) {
			enum qclient_class cls = err ? err->cls : QCLIENT_PERMANENT;

			/* One bad result fails the request: the caller built them all. */
			for (size_t j = 0; j < i; j++)
				json_object_put(items[j]);
			for (size_t j = 0; j < n; j++)
				ack_set(&acks[j], cls, false, err ? err->code : "invalid_argument",
					err ? err->message : "invalid result");
			return cls;
		}
	}
	return send_batch(c, items, slot, n, acks, err);
}

static enum qclient_class send_contribution_impl(struct qclient *c,
					     const struct qclient_contribution *k,
					     struct qclient_ack *ack,
					     struct qclient_error *err)
{
	json_object *item;
	size_t slot = 0;

	clear_err(err);
	item = contribution_item(k, err);
	if (!item) {
		ack_set(ack, err ? err->cls : QCLIENT_PERMANENT, false,
			err ? err->code : "invalid_argument", err ? err->message : "");
		return err ? err->cls : QCLIENT_PERMANENT;
	}
	return send_batch(c, &item, &slot, 1, ack, err);
}

static enum qclient_class send_items_impl(struct qclient *c,
				      const char *const *items, size_t n,
				      struct qclient_ack *acks,
				      struct qclient_error *err)
{
	json_object *objs[QCLIENT_MAX_BATCH];
	size_t slot[QCLIENT_MAX_BATCH], m = 0;

	clear_err(err);
	if (n < 1 || n > QCLIENT_MAX_BATCH) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument",
			"%zu items (allowed 1..%d per request)", n, QCLIENT_MAX_BATCH);
		return QCLIENT_PERMANENT;
	}
	for (size_t i = 0; i < n; i++) {
		char why[256];
		json_object *o = items[i] ? qmsg_parse_object(items[i], strlen(items[i]),
							      why, sizeof(why)) : NULL;
		json_object *t;
		int bad = 0;

		if (!o) {
			ack_set(&acks[i], QCLIENT_PERMANENT, false, "invalid_argument",
				items[i] ? why : "NULL item");
			continue;
		}
		if (!json_object_object_get_ex(o, "type", &t) ||
		    !json_object_is_type(t, json_type_string)) {
			snprintf(why, sizeof(why), "type: missing");
			bad = 1;
		} else if (!strcmp(json_object_get_string(t), "replica_result")) {
			struct qmsg_result r;

			bad = qmsg_result_from_json(o, &r, why, sizeof(why));
			if (!bad)
				qmsg_result_free(&r);
		} else if (!strcmp(json_object_get_string(t), "contribution")) {
			struct qmsg_contribution k;

			bad = qmsg_contribution_from_json(o, &k, why, sizeof(why));
		} else {
			snprintf(why, sizeof(why), "type: '%.40s' cannot be sent as an item",
				 json_object_get_string(t));
			bad = 1;
		}
		if (bad) {
			ack_set(&acks[i], QCLIENT_PERMANENT, false, "invalid_argument", why);
			json_object_put(o);
			continue;
		}
		objs[m] = o;
		slot[m++] = i;
	}
	if (m == 0) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument", "no valid item to send");
		return QCLIENT_PERMANENT;
	}
	return send_batch(c, objs, slot, m, acks, err);
}

/* ------------------------------------------------------------ verdict -- */

static int get_int_field(json_object *o, const char *name, int dflt)
{
	json_object *v;

	if (json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_int))
		return (int)json_object_get_int64(v);
	return dflt;
}

static const char *get_str_field(json_object *o, const char *name)
{
	json_object *v;

	if (json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

void qclient_verdict_free(struct qclient_verdict *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nparts; i++)
		free(v->parts[i].output);
	free(v->parts);
	memset(v, 0, sizeof(*v));
	v->canonical = -1;
}

static int parse_verdict(json_object *o, struct qclient_verdict *v,
			 struct qclient_error *err)
{
	const char *s = get_str_field(o, "verdict");
	json_object *parts;

	if (!s) {
		set_err(err, QCLIENT_TRANSIENT, "protocol", "answer without a verdict");
		return -1;
	}
	if (!strcmp(s, "PENDING"))
		v->state = QCLIENT_VERDICT_PENDING;
	else if (!strcmp(s, "ACCEPTED"))
		v->state = QCLIENT_VERDICT_ACCEPTED;
	else if (!strcmp(s, "REJECTED"))
		v->state = QCLIENT_VERDICT_REJECTED;
	else
		v->state = QCLIENT_VERDICT_UNKNOWN;
	v->replicas = get_int_field(o, "replicas", 0);
	v->quorum = get_int_field(o, "quorum", 0);
	v->reported = get_int_field(o, "reported", 0);
	v->agree = get_int_field(o, "agree", 0);
	v->disagree = get_int_field(o, "disagree", 0);
	v->missing = get_int_field(o, "missing", 0);
	v->canonical = get_int_field(o, "canonical_replica", -1);
	s = get_str_field(o, "digest");
	v->has_digest = s && strlen(s) == 64 && !hex_decode(s, v->digest, sizeof(v->digest));
	s = get_str_field(o, "reason");
	snprintf(v->reason, sizeof(v->reason), "%s", s ? s : "");
	if (!json_object_object_get_ex(o, "parts", &parts) ||
	    !json_object_is_type(parts, json_type_array))
		return 0;
	v->nparts = json_object_array_length(parts);
	if (v->nparts == 0)
		return 0;
	v->parts = calloc(v->nparts, sizeof(*v->parts));
	if (!v->parts) {
		v->nparts = 0;
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < v->nparts; i++) {
		json_object *p = json_object_array_get_idx(parts, i);
		struct qclient_part_output *out = &v->parts[i];
		const char *b64;

		if (!p || !json_object_is_type(p, json_type_object)) {
			set_err(err, QCLIENT_TRANSIENT, "protocol", "parts[%zu] is not an object", i);
			return -1;
		}
		out->part = get_int_field(p, "part", (int)i);
		out->exit_status = get_int_field(p, "exit_status", 0);
		s = get_str_field(p, "node");
		snprintf(out->node, sizeof(out->node), "%s", s ? s : "");
		s = get_str_field(p, "sha256");
		if (!s || strlen(s) != 64 || hex_decode(s, out->sha256, sizeof(out->sha256))) {
			set_err(err, QCLIENT_TRANSIENT, "protocol", "parts[%zu].sha256 is bad", i);
			return -1;
		}
		b64 = get_str_field(p, "output_b64");
		if (b64 && qmsg_b64_decode(b64, &out->output, &out->output_len)) {
			set_err(err, QCLIENT_TRANSIENT, "protocol", "parts[%zu].output_b64 is bad", i);
			return -1;
		}
	}
	return 0;
}

static enum qclient_class get_verdict_impl(struct qclient *c, const char *cluster,
				       uint32_t job_id, uint32_t step_id,
				       int wait_s, bool want_output,
				       struct qclient_verdict *v,
				       struct qclient_error *err)
{
	json_object *req, *ans = NULL;
	enum qclient_class cls = QCLIENT_TRANSIENT;
	char *resp = NULL, why[256];
	int bad = 0;

	clear_err(err);
	memset(v, 0, sizeof(*v));
	v->canonical = -1;
	if (wait_s < 0 || wait_s > QMSG_MAX_WAIT || job_id == 0 ||
	    (cluster && *cluster && !qmsg_valid_cluster(cluster))) {
		set_err(err, QCLIENT_PERMANENT, "invalid_argument",
			"verdict: job must be > 0, wait 0..%d s, cluster a valid name", QMSG_MAX_WAIT);
		return QCLIENT_PERMANENT;
	}
	req = qmsg_request_new(QMSG_VERDICT_QUERY);
	if (!req) {
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
		return QCLIENT_TRANSIENT;
	}
	if (cluster && *cluster)
		bad |= json_object_object_add(req, "cluster", json_object_new_string(cluster));
	bad |= json_object_object_add(req, "job", json_object_new_int64(job_id));
	bad |= json_object_object_add(req, "step", json_object_new_int64(step_id));
	if (wait_s > 0)
		bad |= json_object_object_add(req, "wait", json_object_new_int(wait_s));
	bad |= json_object_object_add(req, "output", json_object_new_boolean(want_output));
	if (bad) {
		set_err(err, QCLIENT_TRANSIENT, "no_memory", "out of memory");
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	cls = request_locked(c, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			     wait_s * 1000, &resp, err);
	pthread_mutex_unlock(&c->lock);
	if (cls != QCLIENT_OK)
		goto out;
	ans = qmsg_parse_object(resp, strlen(resp), why, sizeof(why));
	if (!ans) {
		set_err(err, QCLIENT_TRANSIENT, "protocol", "answer is not quorate's: %s", why);
		cls = QCLIENT_TRANSIENT;
		goto out;
	}
	cls = answer_class(ans, err);
	if (cls == QCLIENT_OK && parse_verdict(ans, v, err))
		cls = err ? err->cls : QCLIENT_TRANSIENT;
out:
	json_object_put(ans);
	json_object_put(req);
	free(resp);
	return cls;
}

/* ------------------------------------------------- the public entries -- */

/* json-c switches locales around every parse (duplocale, newlocale), which
 * takes glibc's global locale lock unless the thread already runs in the C
 * locale: each call runs in the handle's C locale and then restores the
 * caller's. */
#define IN_C_LOCALE(c, call) do { \
		locale_t old_ = (c)->cloc ? uselocale((c)->cloc) : (locale_t)0; \
		enum qclient_class cls_ = (call); \
		if (old_) \
			uselocale(old_); \
		return cls_; \
	} while (0)

enum qclient_class qclient_call(struct qclient *c, const char *request, int extra_wait_ms, char **response, struct qclient_error *err)
{
	IN_C_LOCALE(c, call_impl(c, request, extra_wait_ms, response, err));
}

enum qclient_class qclient_send_credential(struct qclient *c, const char *cred, char **response, struct qclient_error *err)
{
	IN_C_LOCALE(c, send_credential_impl(c, cred, response, err));
}

enum qclient_class qclient_send_results(struct qclient *c, const struct qclient_result *results, size_t n, struct qclient_ack *acks, struct qclient_error *err)
{
	IN_C_LOCALE(c, send_results_impl(c, results, n, acks, err));
}

enum qclient_class qclient_send_contribution(struct qclient *c, const struct qclient_contribution *k, struct qclient_ack *ack, struct qclient_error *err)
{
	IN_C_LOCALE(c, send_contribution_impl(c, k, ack, err));
}

enum qclient_class qclient_send_items(struct qclient *c, const char *const *items, size_t n, struct qclient_ack *acks, struct qclient_error *err)
{
	IN_C_LOCALE(c, send_items_impl(c, items, n, acks, err));
}

enum qclient_class qclient_get_verdict(struct qclient *c, const char *cluster, uint32_t job_id, uint32_t step_id, int wait_s, bool want_output, struct qclient_verdict *v, struct qclient_error *err)
{
	IN_C_LOCALE(c, get_verdict_impl(c, cluster, job_id, step_id, wait_s, want_output, v, err));
}
