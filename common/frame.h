/*
 * frame.h - quorate's wire framing: a 4-byte big-endian length, then that
 * many bytes of payload.  A request's payload is a munge credential, a
 * response's is a JSON object (doc/protocol.md).
 *
 * The I/O functions work on stream sockets in any blocking mode: every wait
 * is a poll() bounded by an absolute deadline on CLOCK_MONOTONIC, and writes
 * use MSG_NOSIGNAL so that a closed peer never raises SIGPIPE in the caller
 * (slurmstepd, srun).  Nothing here allocates global state or logs.
 */
#ifndef QUORATE_FRAME_H
#define QUORATE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_LEN 4
#define FRAME_DEFAULT_MAX (1024 * 1024)

enum frame_status {
	FRAME_OK = 0,
	FRAME_EOF,		/* peer closed before the first byte of a frame */
	FRAME_TIMEOUT,		/* the deadline passed */
	FRAME_TOO_LARGE,	/* announced length above the maximum */
	FRAME_EMPTY,		/* announced length 0 */
	FRAME_IO_ERROR,		/* errno says why; includes a close mid-frame */
	FRAME_NO_MEMORY,
};

const char *frame_status_name(enum frame_status st);

/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
int64_t frame_now_ms(void);

void frame_header_encode(uint32_t len, uint8_t hdr[FRAME_HEADER_LEN]);

/* Decode a header; FRAME_OK with *len, FRAME_EMPTY or FRAME_TOO_LARGE. */
enum frame_status frame_header_decode(const uint8_t hdr[FRAME_HEADER_LEN],
				      size_t max, uint32_t *len);

/* Write one frame (header and payload) before deadline_ms (-1: none). */
enum frame_status frame_send(int fd, const void *payload, size_t len,
			     int64_t deadline_ms);

/* Read one frame of at most max bytes.  On FRAME_OK *payload is malloc'd,
 * NUL-terminated (not counted in *len) and the caller's to free.  On
 * FRAME_TOO_LARGE *len holds the announced length and nothing of the
 * payload has been read. */
enum frame_status frame_recv(int fd, size_t max, char **payload, size_t *len,
			     int64_t deadline_ms);

/* Write or read exactly len bytes before the deadline (building blocks,
 * also used for the header alone). */
enum frame_status frame_write_all(int fd, const void *buf, size_t len,
				  int64_t deadline_ms);
enum frame_status frame_read_all(int fd, void *buf, size_t len,
				 int64_t deadline_ms);

#endif
