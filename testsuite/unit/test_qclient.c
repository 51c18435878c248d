/* Unit tests for common/qclient.c: argument checks, and how failures are
 * classed (transient / permanent), against a scripted server on a real
 * loopback socket.  No munged is needed: requests go out as ready-made
 * credentials (qclient_send_credential), as a replayed one would. */
#include "config.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "frame.h"
#include "qclient.h"

struct server {
	int lfd;
	unsigned port;
	const char *answer;	/* NULL: close without answering */
	bool answered;
	pthread_t thread;
};

static void *serve_once(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	char *req;
	size_t len;

	if (fd < 0)
		return NULL;
	if (frame_recv(fd, 1 << 20, &req, &len, frame_now_ms() + 5000) == FRAME_OK) {
		free(req);
		if (s->answer)
			s->answered = frame_send(fd, s->answer, strlen(s->answer),
						 frame_now_ms() + 5000) == FRAME_OK;
	}
	close(fd);
	return NULL;
}

static void server_start(struct server *s, const char *answer)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->answer = answer;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &salen), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve_once, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

static struct qclient *client(unsigned port)
{
	struct qclient_options o = { .host = "127.0.0.1", .port = port, .io_timeout_ms = 5000 };
	struct qclient_error e;
	struct qclient *c = qclient_new(&o, &e);

	assert_non_null(c);
	return c;
}

static enum qclient_class exchange(const char *answer, struct qclient_error *e, char **resp)
{
	struct server s;
	struct qclient *c;
	enum qclient_class cls;

	server_start(&s, answer);
	c = client(s.port);
	cls = qclient_send_credential(c, "MUNGE:not-really:", resp, e);
	qclient_free(c);
	server_stop(&s);
	return cls;
}

static void test_answers(void **state)
{
	struct qclient_error e;
	char *resp;

	assert_int_equal(exchange("{\"v\":1,\"status\":\"ok\",\"result\":\"stored\"}", &e, &resp), QCLIENT_OK);
	assert_non_null(strstr(resp, "stored"));
	free(resp);

	assert_int_equal(exchange("{\"v\":1,\"status\":\"error\",\"error\":\"retry_later\",\"retry\":true,"
				  "\"message\":\"database unavailable\"}", &e, &resp), QCLIENT_TRANSIENT);
	assert_string_equal(e.code, "retry_later");
	assert_non_null(strstr(e.message, "database unavailable"));
	free(resp);

	assert_int_equal(exchange("{\"v\":1,\"status\":\"error\",\"error\":\"unauthorized\",\"retry\":false,"
				  "\"message\":\"uid 1000 may not\"}", &e, &resp), QCLIENT_PERMANENT);
	assert_string_equal(e.code, "unauthorized");
	free(resp);

	/* Without "retry", the code decides. */
	assert_int_equal(exchange("{\"v\":1,\"status\":\"error\",\"error\":\"expired\"}", &e, &resp),
			 QCLIENT_TRANSIENT);
	free(resp);

	/* Not quorate's protocol (a wrong port?): transient, keep the report. */
	assert_int_equal(exchange("HTTP/1.0 400 Bad Request", &e, &resp), QCLIENT_TRANSIENT);
	assert_string_equal(e.code, "protocol");
	free(resp);

	/* Closed without an answer. */
	assert_int_equal(exchange(NULL, &e, &resp), QCLIENT_TRANSIENT);
	assert_string_equal(e.code, "io");
	assert_null(resp);
}

static void test_connection_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	struct qclient *c;
	struct qclient_error e;
	char *resp;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port that was just free: bound, never listened on, closed. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	close(fd);
	c = client(ntohs(sa.sin_port));
	assert_int_equal(qclient_send_credential(c, "MUNGE:x:", &resp, &e), QCLIENT_TRANSIENT);
	assert_string_equal(e.code, "connect");
	assert_non_null(strstr(e.message, "cannot connect"));
	qclient_free(c);
}

static void test_bad_arguments(void **state)
{
	struct qclient_options o = { .host = "127.0.0.1", .port = 0 };
	struct qclient_error e;
	struct qclient_result r;
	struct qclient_ack acks[2];
	struct qclient_verdict v;
	const char *items[2] = { "{\"type\":\"replica_result\"}", "not json" };
	struct qclient *c;
	char *json;

	assert_null(qclient_new(&o, &e));
	assert_int_equal(e.cls, QCLIENT_PERMANENT);
	assert_string_equal(e.code, "invalid_argument");
	o.port = 1;
	c = qclient_new(&o, &e);
	assert_non_null(c);

	memset(&r, 0, sizeof(r));
	r.job_id = 5;
	r.replicas = 3;
	r.quorum = 2;
	r.node = "bad node";
	r.uid = 1000;
	assert_null(qclient_result_json(&r, &e));
	assert_int_equal(e.cls, QCLIENT_PERMANENT);
	assert_non_null(strstr(e.message, "node"));
	r.node = "n1";
	r.quorum = 4;
	assert_null(qclient_result_json(&r, &e));
	assert_non_null(strstr(e.message, "quorum"));
	r.quorum = 2;
	{
		const char *layout[3] = { "n1", NULL, "n3" };
		const char *bad_list[3] = { "n1", "n2,,n4", "n3" };

		r.layout = layout;
		assert_null(qclient_result_json(&r, &e));
		assert_non_null(strstr(e.message, "layout[1]"));
		r.layout = bad_list;
		assert_null(qclient_result_json(&r, &e));
		assert_non_null(strstr(e.message, "layout[1]"));
		r.layout = NULL;
	}
	json = qclient_result_json(&r, &e);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"replica_result\""));
	free(json);

	/* Items that do not parse are refused one by one, without a request. */
	assert_int_equal(qclient_send_items(c, items, 2, acks, &e), QCLIENT_PERMANENT);
	assert_int_equal(acks[0].cls, QCLIENT_PERMANENT);
	assert_non_null(strstr(acks[0].message, "missing"));
	assert_int_equal(acks[1].cls, QCLIENT_PERMANENT);
	assert_int_equal(qclient_send_results(c, &r, 65, acks, &e), QCLIENT_PERMANENT);
	assert_int_equal(qclient_get_verdict(c, NULL, 0, 0, 0, false, &v, &e), QCLIENT_PERMANENT);
	qclient_verdict_free(&v);
	assert_int_equal(qclient_get_verdict(c, NULL, 1, 0, 3601, false, &v, &e), QCLIENT_PERMANENT);
	qclient_verdict_free(&v);
	qclient_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
