/*
 * fuzz_frame - libFuzzer target for quorate's frame decoder (common/frame.c)
 * as quorated and qclient run it: the input is what a peer writes on the
 * connection.  It goes into one end of a socketpair, the writing end is shut
 * down, and frame_recv() reads frames from the other end until it stops;
 * each request payload then passes the checks quorated makes before munge
 * sees it (no NUL byte, replay key).  The first input byte picks the
 * maximum frame size, as MaxFrameSize does.
 *
 * Properties checked (abort on violation): a frame is returned only with
 * 0 < len <= max and NUL-terminated; FRAME_TOO_LARGE reports a length above
 * max; nothing is allocated for a refused frame (-malloc_limit_mb in
 * testsuite/fuzz/run catches a large allocation).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "replay.h"

#define MAX_INPUT 65536		/* fits a socketpair's buffer: no writer thread */

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxima[] = { 1, 16, 4096, FRAME_DEFAULT_MAX };
	int sv[2];
	size_t max, off = 0;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	max = maxima[data[0] % (sizeof(maxima) / sizeof(maxima[0]))];
	data++;
	size--;

	/* The header on its own, at every offset a frame may start. */
	for (size_t i = 0; i + FRAME_HEADER_LEN <= size && i < 64; i++) {
		uint32_t len;
		enum frame_status st = frame_header_decode(data + i, max, &len);

		check(st == FRAME_OK || st == FRAME_EMPTY || st == FRAME_TOO_LARGE);
		check(st != FRAME_OK || (len > 0 && len <= max));
		check(st != FRAME_TOO_LARGE || len > max);
		check(st != FRAME_EMPTY || len == 0);
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	{
		int sz = 4 * MAX_INPUT;

		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	while (off < size) {
		ssize_t n = send(sv[0], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			break;		/* buffer full: fuzz what went in */
		off += (size_t)n;
	}
	shutdown(sv[0], SHUT_WR);

	for (;;) {
		char *payload = NULL;
		size_t len = 0;
		enum frame_status st = frame_recv(sv[1], max, &payload, &len,
						  frame_now_ms() + 2000);

		if (st != FRAME_OK) {
			check(payload == NULL);
			check(st != FRAME_TOO_LARGE || len > max);
			check(st != FRAME_TIMEOUT);	/* the writer is shut: never waits */
			break;
		}
		check(payload != NULL && len > 0 && len <= max && payload[len] == '\0');
		/* quorated's checks before munge_decode (accounting/work.c) */
		if (!memchr(payload, '\0', len)) {
			uint8_t key[REPLAY_KEY_LEN];

			check(replay_key(payload, key) == 0);
		}
		free(payload);
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
