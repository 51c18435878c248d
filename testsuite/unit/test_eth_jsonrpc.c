/* Unit tests for common/jsonrpc.c: how the client takes a node's faults.
 *
 * FAKE NODE: a thread here answers HTTP on loopback with canned, broken
 * answers (wrong ids, non-JSON, HTTP 503, oversized bodies, silence,
 * overflowing quantities).  It stands in for a misbehaving node, which anvil
 * cannot be made to be; the well-behaved paths are tested against real
 * anvil in testsuite/integration/t55-eth-anvil.sh. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "jsonrpc.h"
#include "test_eth_util.h"

enum fake_mode {
	FAKE_RESULT,		/* {"jsonrpc":"2.0","id":ID,"result":<answer>} */
	FAKE_RAW,		/* answer verbatim as the body, status 200 */
	FAKE_WRONG_ID,
	FAKE_HTTP_503,
	FAKE_HUGE,		/* 17 MiB of spaces before a valid answer */
	FAKE_SILENT,		/* read the request, never answer */
};

static struct {
	int listen_fd;
	int port;
	pthread_t thread;
	pthread_mutex_t lock;
	enum fake_mode mode;
	const char *answer;
	volatile int stop;
} fake;

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *body, size_t body_len)
{
	char head[256];

	snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, status == 200 ? "OK" : "Service Unavailable", body_len);
	send_all(fd, head, strlen(head));
	send_all(fd, body, body_len);
}

/* Read one request; return its JSON-RPC id (0 if none). */
static long read_request(int fd)
{
	char buf[65536];
	size_t n = 0;
	long id = 0;
	char *hdr_end = NULL, *cl;

	while (n < sizeof(buf) - 1) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if ((unsigned char)buf[0] == 0x16)	/* a TLS ClientHello: answer in plain HTTP */
			return 0;
		hdr_end = strstr(buf, "\r\n\r\n");
		if (hdr_end && (cl = strstr(buf, "Content-Length:")) &&
		    n >= (size_t)(hdr_end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			break;
	}
	if (hdr_end) {
		json_object *req = json_tokener_parse(hdr_end + 4), *v;

		if (req && json_object_object_get_ex(req, "id", &v))
			id = (long)json_object_get_int64(v);
		json_object_put(req);
	}
	return id;
}

static void *fake_node(void *arg)
{
	for (;;) {
		int fd = accept(fake.listen_fd, NULL, NULL);
		enum fake_mode mode;
		const char *answer;
		char body[4096];
		long id;

		if (fd < 0 || fake.stop) {
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		pthread_mutex_lock(&fake.lock);
		mode = fake.mode;
		answer = fake.answer;
		pthread_mutex_unlock(&fake.lock);
		id = read_request(fd);
		switch (mode) {
		case FAKE_RESULT:
			snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"result\":%s}", id, answer);
			respond(fd, 200, body, strlen(body));
			break;
		case FAKE_RAW:
			respond(fd, 200, answer, strlen(answer));
			break;
		case FAKE_WRONG_ID:
			snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"result\":\"0x1\"}", id + 1);
			respond(fd, 200, body, strlen(body));
			break;
		case FAKE_HTTP_503:
			respond(fd, 503, "upstream overloaded", 19);
			break;
		case FAKE_HUGE: {
			size_t big = 17u << 20;
			char *p = malloc(big);

			if (p) {
				memset(p, ' ', big);
				respond(fd, 200, p, big);
				free(p);
			}
			break;
		}
		case FAKE_SILENT:
			while (!fake.stop)
				usleep(10000);
			break;
		}
		close(fd);
	}
}

static int setup(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fake.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fake.listen_fd < 0 || bind(fake.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fake.listen_fd, 16) || getsockname(fake.listen_fd, (struct sockaddr *)&sa, &len))
		return -1;
	fake.port = ntohs(sa.sin_port);
	pthread_mutex_init(&fake.lock, NULL);
	if (jsonrpc_global_init())
		return -1;
	return pthread_create(&fake.thread, NULL, fake_node, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
	int fd;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fake.port) };

	fake.stop = 1;
	/* wake accept() */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			close(fd);
		else
			close(fd);
	}
	pthread_join(fake.thread, NULL);
	close(fake.listen_fd);
	jsonrpc_global_fini();
	return 0;
}

static void fake_set(enum fake_mode mode, const char *answer)
{
	pthread_mutex_lock(&fake.lock);
	fake.mode = mode;
	fake.answer = answer;
	pthread_mutex_unlock(&fake.lock);
}

static struct jsonrpc_client *client(long timeout_ms)
{
	char url[64];
	struct jsonrpc_options o = { .connect_timeout_ms = 2000, .timeout_ms = timeout_ms };
	struct jsonrpc_error err;
	struct jsonrpc_client *c;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", fake.port);
	c = jsonrpc_client_new(url, &o, &err);
	assert_non_null(c);
	return c;
}

static void expect(int rv, const struct jsonrpc_error *err, enum jsonrpc_error_kind kind,
		   const char *msg)
{
	assert_int_equal(rv, -1);
	if (err->kind != kind || !strstr(err->message, msg))
		fail_msg("got kind %d '%s', want kind %d containing '%s'", err->kind, err->message,
			 kind, msg);
}

static void test_well_formed(void **state)
{
	struct jsonrpc_client *c = client(5000);
	struct jsonrpc_error err;
	uint64_t v;
	struct u256 x;
	char dec[U256_DEC_LEN + 1];

	fake_set(FAKE_RESULT, "\"0x7a69\"");
	assert_int_equal(eth_chain_id(c, &v, &err), 0);
	assert_true(v == 31337);
	assert_int_equal(err.kind, JSONRPC_OK);
	fake_set(FAKE_RESULT, "\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"");
	assert_int_equal(eth_max_priority_fee_per_gas(c, &x, &err), 0);
	u256_to_dec(&x, dec);
	assert_string_equal(dec, "115792089237316195423570985008687907853269984665640564039457584007913129639935");
	/* trailing white space after the JSON is fine */
	fake_set(FAKE_RAW, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":\"0x10\"}\n");
	assert_int_equal(eth_block_number(c, &v, &err), 0);
	assert_true(v == 16);
	jsonrpc_client_free(c);
}

static void test_malformed_answers(void **state)
{
	struct jsonrpc_client *c = client(5000);
	struct jsonrpc_error err;
	uint64_t v;
	bool found;
	struct eth_receipt rc;
	uint8_t hash[32] = { 0 };

	fake_set(FAKE_WRONG_ID, NULL);
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "not a JSON-RPC 2.0 answer to request");
	fake_set(FAKE_RAW, "<html>bad gateway</html>");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "answer is not a JSON object: <html>");
	fake_set(FAKE_RAW, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":\"0x1\"} trailing");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "not a JSON object");
	fake_set(FAKE_RAW, "");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "not a JSON object");
	fake_set(FAKE_RAW, "{\"jsonrpc\":\"1.0\",\"id\":5,\"result\":\"0x1\"}");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "not a JSON-RPC 2.0 answer");
	/* quantities that overflow or are not quantities */
	fake_set(FAKE_RESULT, "\"0x10000000000000000\"");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "is not a 64-bit quantity");
	fake_set(FAKE_RESULT, "31337");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "result is not a string");
	fake_set(FAKE_RESULT, "\"31337\"");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "is not a 64-bit quantity");
	fake_set(FAKE_RESULT, "null");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "result is not a string");
	/* a receipt: null means not mined; a partial one is refused */
	fake_set(FAKE_RESULT, "null");
	assert_int_equal(eth_get_transaction_receipt(c, hash, &rc, &found, &err), 0);
	assert_false(found);
	fake_set(FAKE_RESULT, "{\"transactionHash\":\"0x00\",\"status\":\"0x1\"}");
	expect(eth_get_transaction_receipt(c, hash, &rc, &found, &err), &err, JSONRPC_ERR_PROTOCOL,
	       "receipt lacks a field");
	assert_false(found);
	fake_set(FAKE_HTTP_503, NULL);
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_HTTP, "HTTP status 503: upstream overloaded");
	assert_int_equal(err.code, 503);
	fake_set(FAKE_HUGE, NULL);
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_PROTOCOL, "answer larger than");
	jsonrpc_client_free(c);
}

static void test_rpc_error(void **state)
{
	struct jsonrpc_client *c = client(5000);
	struct jsonrpc_error err;
	uint64_t v;
	char reason[128];

	/* the shape geth and anvil give a revert: code 3, data = revert data */
	fake_set(FAKE_RAW, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,"
		 "\"message\":\"execution reverted: epoch already committed\",\"data\":\"0x08c379a0"
		 "0000000000000000000000000000000000000000000000000000000000000020"
		 "0000000000000000000000000000000000000000000000000000000000000017"
		 "65706f636820616c726561647920636f6d6d6974746564000000000000000000\"}}");
	expect(eth_estimate_gas(c, &(struct eth_call_request){ 0 }, &v, &err), &err, JSONRPC_ERR_RPC,
	       "eth_estimateGas: execution reverted: epoch already committed (code 3)");
	assert_int_equal(err.code, 3);
	jsonrpc_error_revert_reason(&err, reason, sizeof(reason));
	assert_string_equal(reason, "epoch already committed");
	fake_set(FAKE_RAW, "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32000,\"message\":\"nonce too low\"}}");
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_RPC, "nonce too low (code -32000)");
	assert_int_equal(err.code, -32000);
	jsonrpc_error_revert_reason(&err, reason, sizeof(reason));
	assert_string_equal(reason, "eth_chainId: nonce too low (code -32000)");
	jsonrpc_client_free(c);
}

/* The node accepts the request and never answers: the call gives up after
 * its timeout, not later. */
static void test_timeout(void **state)
{
	struct jsonrpc_client *c = client(700);
	struct jsonrpc_error err;
	struct timespec t0, t1;
	uint64_t v;
	double secs;

	fake_set(FAKE_SILENT, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_TRANSPORT, "Timeout");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.6 && secs < 5.0);
	jsonrpc_client_free(c);
	/* let the fake node's silent connection go */
	fake_set(FAKE_RESULT, "\"0x1\"");
	fake.stop = 1;
	usleep(50000);
	fake.stop = 0;
}

/* Real faults: nothing listens on the port (connection refused); a URL of
 * another scheme; https to a plain HTTP server (TLS handshake fails). */
static void test_transport(void **state)
{
	struct jsonrpc_error err;
	struct jsonrpc_client *c;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char url[64];
	uint64_t v;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* a port that was just free: bind, read it, close */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	c = jsonrpc_client_new(url, NULL, &err);
	assert_non_null(c);
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_TRANSPORT, "Couldn't connect to server");
	jsonrpc_client_free(c);

	assert_null(jsonrpc_client_new("file:///etc/passwd", NULL, &err));
	assert_int_equal(err.kind, JSONRPC_ERR_LOCAL);
	assert_non_null(strstr(err.message, "must start with http:// or https://"));
	assert_null(jsonrpc_client_new(NULL, NULL, &err));

	fake_set(FAKE_RESULT, "\"0x1\"");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", fake.port);
	c = jsonrpc_client_new(url, NULL, &err);
	assert_non_null(c);
	expect(eth_chain_id(c, &v, &err), &err, JSONRPC_ERR_TRANSPORT, "eth_chainId: SSL");
	jsonrpc_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_malformed_answers),
		cmocka_unit_test(test_rpc_error),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_transport),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
