/*
 * qauth.h - munge credentials around quorate's requests.
 *
 * A request's payload travels inside a munge credential, so the daemon
 * learns the sender's uid and gid from munged, with integrity and a TTL,
 * as Slurm authenticates its RPCs.  Every call makes its own munge context:
 * no shared state, safe from any thread.  libmunge bounds its own waits
 * for munged (a few retries with back-off).
 */
#ifndef QUORATE_QAUTH_H
#define QUORATE_QAUTH_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum qauth_status {
	QAUTH_OK = 0,
	QAUTH_EXPIRED,		/* older than its TTL */
	QAUTH_REWOUND,		/* encoded in the future (clock skew) */
	QAUTH_REPLAYED,		/* munged has decoded it before */
	QAUTH_INVALID,		/* not a credential, bad MAC, other key, ... */
	QAUTH_UNAVAILABLE,	/* munged unreachable or failing: try later */
};

struct qauth_info {
	uid_t uid;
	gid_t gid;
	time_t encode_time;
	int ttl;		/* seconds */
};

const char *qauth_status_name(enum qauth_status st);

/* Encode payload (len bytes) into a credential (*cred, malloc'd string).
 * socket: munged's socket, NULL for munge's default; ttl: seconds, 0 for
 * munged's default.  Returns QAUTH_OK, or another status with err set. */
enum qauth_status qauth_encode(const char *socket, const void *payload,
			       size_t len, int ttl, char **cred,
			       char *err, size_t errlen);

/* Decode cred.  On QAUTH_OK *payload (malloc'd, NUL-terminated, *len bytes)
 * and *info are set; otherwise *payload is NULL and err says why. */
enum qauth_status qauth_decode(const char *socket, const char *cred,
			       char **payload, size_t *len,
			       struct qauth_info *info,
			       char *err, size_t errlen);

#endif
