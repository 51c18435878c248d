/*
 * replay.h - a cache of credentials already accepted, kept until each one
 * expires, so that a captured credential cannot be sent twice.  munged keeps
 * a cache of its own, but only in memory and only for what it decoded; this
 * one is quorated's and is checked before munged is asked.
 *
 * Keys are 16 bytes (a prefix of the credential's SHA-256).  Times are
 * passed in.  Thread-safe (one mutex); memory is bounded by max_entries.
 */
#ifndef QUORATE_REPLAY_H
#define QUORATE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define REPLAY_KEY_LEN 16

enum replay_status {
	REPLAY_NEW = 0,		/* inserted */
	REPLAY_SEEN,		/* already there: a replay */
	REPLAY_FULL,		/* max_entries live entries: refuse for now */
};

struct replay_cache;

struct replay_cache *replay_create(size_t max_entries);
void replay_destroy(struct replay_cache *rc);

/* The key of a credential string. */
int replay_key(const char *cred, uint8_t key[REPLAY_KEY_LEN]);

/* Whether key is cached and not yet expired at now. */
bool replay_contains(struct replay_cache *rc, const uint8_t key[REPLAY_KEY_LEN],
		     time_t now);

/* Insert key, to be kept until expires. */
enum replay_status replay_insert(struct replay_cache *rc,
				 const uint8_t key[REPLAY_KEY_LEN],
				 time_t expires, time_t now);

/* Drop expired entries; returns how many remain. */
size_t replay_purge(struct replay_cache *rc, time_t now);
size_t replay_count(struct replay_cache *rc);

#endif
