/*
 * replay.c - see replay.h.  Open addressing with linear probing; a slot
 * whose time is up counts as free for insertion, and replay_purge()
 * rebuilds the table without them.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "replay.h"

#define INITIAL_SLOTS 4096

struct slot {
	uint8_t key[REPLAY_KEY_LEN];
	int64_t expires;	/* 0: empty */
};

struct replay_cache {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t nslots;		/* a power of two */
	size_t used;		/* slots with expires != 0, live or not */
	size_t max_entries;
	time_t last_rebuild;
};

struct replay_cache *replay_create(size_t max_entries)
{
	struct replay_cache *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->slots = calloc(INITIAL_SLOTS, sizeof(struct slot));
	if (!rc->slots) {
		free(rc);
		return NULL;
	}
	rc->nslots = INITIAL_SLOTS;
	rc->max_entries = max_entries ? max_entries : 1;
	pthread_mutex_init(&rc->lock, NULL);
	return rc;
}

void replay_destroy(struct replay_cache *rc)
{
	if (!rc)
		return;
	pthread_mutex_destroy(&rc->lock);
	free(rc->slots);
	free(rc);
}

/* nettle rather than OpenSSL's EVP: no provider lookup and no lock per
 * call, and this runs for every request. */
int replay_key(const char *cred, uint8_t key[REPLAY_KEY_LEN])
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, strlen(cred), (const uint8_t *)cred);
	sha256_digest(&ctx, sizeof(digest), digest);
	memcpy(key, digest, REPLAY_KEY_LEN);
	return 0;
}

static size_t home(const struct replay_cache *rc, const uint8_t *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));	/* keys are hash output already */
	return (size_t)h & (rc->nslots - 1);
}

/* The slot holding key (live or not), or NULL. */
static struct slot *find(struct replay_cache *rc, const uint8_t *key)
{
	for (size_t i = home(rc, key), n = 0; n < rc->nslots; i = (i + 1) & (rc->nslots - 1), n++) {
		struct slot *s = &rc->slots[i];

		if (!s->expires)
			return NULL;
		if (!memcmp(s->key, key, REPLAY_KEY_LEN))
			return s;
	}
	return NULL;
}

/* Move live entries into a table of nslots. */
static int rebuild(struct replay_cache *rc, size_t nslots, time_t now)
{
	struct slot *old = rc->slots, *fresh = calloc(nslots, sizeof(struct slot));
	size_t oldn = rc->nslots;

	if (!fresh)
		return -1;
	rc->slots = fresh;
	rc->nslots = nslots;
	rc->used = 0;
	for (size_t i = 0; i < oldn; i++) {
		size_t j;

		if (!old[i].expires || old[i].expires <= now)
			continue;
		for (j = home(rc, old[i].key); rc->slots[j].expires; j = (j + 1) & (nslots - 1))
			;
		rc->slots[j] = old[i];
		rc->used++;
	}
	free(old);
	return 0;
}

bool replay_contains(struct replay_cache *rc, const uint8_t key[REPLAY_KEY_LEN],
		     time_t now)
{
	struct slot *s;
	bool found;

	pthread_mutex_lock(&rc->lock);
	s = find(rc, key);
	found = s && s->expires > now;
	pthread_mutex_unlock(&rc->lock);
	return found;
}

enum replay_status replay_insert(struct replay_cache *rc,
				 const uint8_t key[REPLAY_KEY_LEN],
				 time_t expires, time_t now)
{
	enum replay_status st = REPLAY_NEW;
	struct slot *s;

	if (expires <= now)
		expires = now + 1;	/* keep it at least until the next second */
	pthread_mutex_lock(&rc->lock);
	s = find(rc, key);
	if (s) {
		if (s->expires > now)
			st = REPLAY_SEEN;
		else
			s->expires = expires;	/* an old entry of the same key */
		goto out;
	}
	if ((rc->used + 1) * 2 > rc->nslots) {
		/* Drop the dead first (at most once a second: a full table must
		 * not cost a rebuild per insert), then grow if the living need it. */
		if (now != rc->last_rebuild) {
			rc->last_rebuild = now;
			(void)rebuild(rc, rc->nslots, now);
		}
		if ((rc->used + 1) * 2 > rc->nslots &&
		    (rc->nslots >= 2 * rc->max_entries ||
		     rebuild(rc, rc->nslots * 2, now))) {
			st = REPLAY_FULL;
			goto out;
		}
	}
	if (rc->used + 1 > rc->max_entries && now != rc->last_rebuild) {
		rc->last_rebuild = now;
		(void)rebuild(rc, rc->nslots, now);
	}
	if (rc->used + 1 > rc->max_entries) {
		st = REPLAY_FULL;
		goto out;
	}
	{
		size_t j;

		for (j = home(rc, key); rc->slots[j].expires; j = (j + 1) & (rc->nslots - 1))
			;
		memcpy(rc->slots[j].key, key, REPLAY_KEY_LEN);
		rc->slots[j].expires = expires;
		rc->used++;
	}
out:
	pthread_mutex_unlock(&rc->lock);
	return st;
}

size_t replay_purge(struct replay_cache *rc, time_t now)
{
	size_t n;

	pthread_mutex_lock(&rc->lock);
	(void)rebuild(rc, rc->nslots, now);	/* on ENOMEM the old table stays */
	/* Shrink a table that a burst made large. */
	while (rc->nslots > INITIAL_SLOTS && rc->used * 8 < rc->nslots) {
		if (rebuild(rc, rc->nslots / 2, now))
			break;
	}
	n = rc->used;
	pthread_mutex_unlock(&rc->lock);
	return n;
}

size_t replay_count(struct replay_cache *rc)
{
	size_t n;

	pthread_mutex_lock(&rc->lock);
	n = rc->used;
	pthread_mutex_unlock(&rc->lock);
	return n;
}
