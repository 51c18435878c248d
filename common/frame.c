/*
 * frame.c - see frame.h.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

const char *frame_status_name(enum frame_status st)
{
	switch (st) {
	case FRAME_OK: return "ok";
	case FRAME_EOF: return "connection closed";
	case FRAME_TIMEOUT: return "timed out";
	case FRAME_TOO_LARGE: return "frame too large";
	case FRAME_EMPTY: return "empty frame";
	case FRAME_IO_ERROR: return "I/O error";
	case FRAME_NO_MEMORY: return "out of memory";
	}
	return "unknown";
}

int64_t frame_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void frame_header_encode(uint32_t len, uint8_t hdr[FRAME_HEADER_LEN])
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

enum frame_status frame_header_decode(const uint8_t hdr[FRAME_HEADER_LEN],
				      size_t max, uint32_t *len)
{
	*len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	       (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
	if (*len == 0)
		return FRAME_EMPTY;
	if (*len > max)
		return FRAME_TOO_LARGE;
	return FRAME_OK;
}

/* Wait for fd to become ready for events before the deadline. */
static enum frame_status wait_ready(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int timeout = -1, n;

		if (deadline_ms >= 0) {
			int64_t left = deadline_ms - frame_now_ms();

			if (left <= 0)
				return FRAME_TIMEOUT;
			timeout = left > 60000 ? 60000 : (int)left;
		}
		n = poll(&pfd, 1, timeout);
		if (n > 0)
			return FRAME_OK;	/* readable, writable or an error to read */
		if (n < 0 && errno != EINTR)
			return FRAME_IO_ERROR;
	}
}

enum frame_status frame_write_all(int fd, const void *buf, size_t len,
				  int64_t deadline_ms)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			enum frame_status st = wait_ready(fd, POLLOUT, deadline_ms);

			if (st != FRAME_OK)
				return st;
			continue;
		}
		return FRAME_IO_ERROR;
	}
	return FRAME_OK;
}

/* Read exactly len bytes; *got counts what arrived (to tell EOF from a
 * close in the middle of a frame). */
static enum frame_status read_exact(int fd, void *buf, size_t len,
				    int64_t deadline_ms, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n = recv(fd, p + *got, len - *got, MSG_DONTWAIT);

		if (n > 0) {
			*got += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return *got ? FRAME_IO_ERROR : FRAME_EOF;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			enum frame_status st = wait_ready(fd, POLLIN, deadline_ms);

			if (st != FRAME_OK)
				return st;
			continue;
		}
		return FRAME_IO_ERROR;
	}
	return FRAME_OK;
}

enum frame_status frame_read_all(int fd, void *buf, size_t len,
				 int64_t deadline_ms)
{
	size_t got;

	return read_exact(fd, buf, len, deadline_ms, &got);
}

enum frame_status frame_send(int fd, const void *payload, size_t len,
			     int64_t deadline_ms)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	enum frame_status st;

	if (len == 0)
		return FRAME_EMPTY;
	if (len > UINT32_MAX)
		return FRAME_TOO_LARGE;
	frame_header_encode((uint32_t)len, hdr);
	/* Small frames go out in one segment: fewer wakeups on the server. */
	if (len <= 4096) {
		char buf[FRAME_HEADER_LEN + 4096];

		memcpy(buf, hdr, FRAME_HEADER_LEN);
		memcpy(buf + FRAME_HEADER_LEN, payload, len);
		return frame_write_all(fd, buf, FRAME_HEADER_LEN + len, deadline_ms);
	}
	st = frame_write_all(fd, hdr, FRAME_HEADER_LEN, deadline_ms);
	if (st != FRAME_OK)
		return st;
	return frame_write_all(fd, payload, len, deadline_ms);
}

enum frame_status frame_recv(int fd, size_t max, char **payload, size_t *len,
			     int64_t deadline_ms)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	uint32_t n;
	size_t got;
	enum frame_status st;
	char *buf;

	*payload = NULL;
	*len = 0;
	st = read_exact(fd, hdr, sizeof(hdr), deadline_ms, &got);
	if (st != FRAME_OK)
		return st;
	st = frame_header_decode(hdr, max, &n);
	if (st != FRAME_OK) {
		*len = n;
		return st;
	}
	buf = malloc((size_t)n + 1);
	if (!buf)
		return FRAME_NO_MEMORY;
	st = read_exact(fd, buf, n, deadline_ms, &got);
	if (st != FRAME_OK) {
		free(buf);
		/* EOF after a header is a truncated frame, not a clean close. */
		return st == FRAME_EOF ? FRAME_IO_ERROR : st;
	}
	buf[n] = '\0';
	*payload = buf;
	*len = n;
	return FRAME_OK;
}
