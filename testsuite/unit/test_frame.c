/* Unit tests for common/frame.c: the 4-byte length framing, over a real
 * socket pair. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "frame.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void test_header(void **state)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	uint32_t len;

	frame_header_encode(0x01020304, hdr);
	assert_int_equal(hdr[0], 1);
	assert_int_equal(hdr[3], 4);
	assert_int_equal(frame_header_decode(hdr, 0x7fffffff, &len), FRAME_OK);
	assert_int_equal(len, 0x01020304);
	assert_int_equal(frame_header_decode(hdr, 1000, &len), FRAME_TOO_LARGE);
	assert_int_equal(len, 0x01020304);
	frame_header_encode(0, hdr);
	assert_int_equal(frame_header_decode(hdr, 1000, &len), FRAME_EMPTY);
	frame_header_encode(1000, hdr);
	assert_int_equal(frame_header_decode(hdr, 1000, &len), FRAME_OK);
}

static void test_round_trip(void **state)
{
	int sv[2];
	char *got;
	size_t len;
	const char *msg = "MUNGE:AwQFAAB...:";

	pair(sv);
	assert_int_equal(frame_send(sv[0], msg, strlen(msg), frame_now_ms() + 1000), FRAME_OK);
	assert_int_equal(frame_recv(sv[1], 1024, &got, &len, frame_now_ms() + 1000), FRAME_OK);
	assert_int_equal(len, strlen(msg));
	assert_string_equal(got, msg);
	free(got);
	close(sv[0]);
	close(sv[1]);
}

/* A frame larger than the socket buffer goes through in pieces. */
static void test_large_frame(void **state)
{
	size_t n = 3 * 1024 * 1024;
	char *big = malloc(n), *got = NULL;
	size_t len;
	int sv[2];
	pid_t pid;

	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	pair(sv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[1]);
		_exit(frame_send(sv[0], big, n, frame_now_ms() + 10000) == FRAME_OK ? 0 : 1);
	}
	close(sv[0]);
	assert_int_equal(frame_recv(sv[1], n, &got, &len, frame_now_ms() + 10000), FRAME_OK);
	assert_int_equal(len, n);
	assert_memory_equal(got, big, n);
	{
		int status = -1;

		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	free(got);
	free(big);
	close(sv[1]);
}

static void test_limits_and_eof(void **state)
{
	int sv[2];
	char *got;
	size_t len;
	uint8_t hdr[FRAME_HEADER_LEN];

	/* Too large: refused before reading the payload. */
	pair(sv);
	assert_int_equal(frame_send(sv[0], "0123456789", 10, -1), FRAME_OK);
	assert_int_equal(frame_recv(sv[1], 9, &got, &len, frame_now_ms() + 1000), FRAME_TOO_LARGE);
	assert_null(got);
	assert_int_equal(len, 10);
	close(sv[0]);
	close(sv[1]);

	/* A clean close before a frame is EOF; in the middle, an error. */
	pair(sv);
	close(sv[0]);
	assert_int_equal(frame_recv(sv[1], 100, &got, &len, frame_now_ms() + 1000), FRAME_EOF);
	close(sv[1]);
	pair(sv);
	frame_header_encode(10, hdr);
	assert_int_equal(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	assert_int_equal(frame_recv(sv[1], 100, &got, &len, frame_now_ms() + 1000), FRAME_IO_ERROR);
	close(sv[1]);

	/* A zero-length frame is refused both ways. */
	pair(sv);
	assert_int_equal(frame_send(sv[0], "", 0, -1), FRAME_EMPTY);
	frame_header_encode(0, hdr);
	assert_int_equal(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(frame_recv(sv[1], 100, &got, &len, frame_now_ms() + 1000), FRAME_EMPTY);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that sends half a frame and then nothing: the deadline ends the
 * wait (the status is what is tested, not how long it took). */
static void test_deadline(void **state)
{
	int sv[2];
	char *got;
	size_t len;
	uint8_t hdr[FRAME_HEADER_LEN];

	pair(sv);
	frame_header_encode(10, hdr);
	assert_int_equal(write(sv[0], hdr, 2), 2);
	assert_int_equal(frame_recv(sv[1], 100, &got, &len, frame_now_ms() + 50), FRAME_TIMEOUT);
	assert_int_equal(frame_recv(sv[1], 100, &got, &len, frame_now_ms() - 1), FRAME_TIMEOUT);
	close(sv[0]);
	close(sv[1]);
}

/* Writing to a closed peer is an error, never SIGPIPE. */
static void test_no_sigpipe(void **state)
{
	int sv[2];
	char buf[65536];
	enum frame_status st = FRAME_OK;

	memset(buf, 'x', sizeof(buf));
	pair(sv);
	close(sv[1]);
	for (int i = 0; i < 4 && st == FRAME_OK; i++)
		st = frame_send(sv[0], buf, sizeof(buf), frame_now_ms() + 1000);
	assert_int_equal(st, FRAME_IO_ERROR);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_large_frame),
		cmocka_unit_test(test_limits_and_eof),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_no_sigpipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
