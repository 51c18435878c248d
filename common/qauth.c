/*
 * qauth.c - see qauth.h.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <munge.h>

#include "qauth.h"

const char *qauth_status_name(enum qauth_status st)
{
	switch (st) {
	case QAUTH_OK: return "ok";
	case QAUTH_EXPIRED: return "expired";
	case QAUTH_REWOUND: return "rewound";
	case QAUTH_REPLAYED: return "replayed";
	case QAUTH_INVALID: return "invalid";
	case QAUTH_UNAVAILABLE: return "unavailable";
	}
	return "unknown";
}

static enum qauth_status status_of(munge_err_t e)
{
	switch (e) {
	case EMUNGE_SUCCESS: return QAUTH_OK;
	case EMUNGE_CRED_EXPIRED: return QAUTH_EXPIRED;
	case EMUNGE_CRED_REWOUND: return QAUTH_REWOUND;
	case EMUNGE_CRED_REPLAYED: return QAUTH_REPLAYED;
	case EMUNGE_SOCKET:
	case EMUNGE_TIMEOUT:
	case EMUNGE_SNAFU:
	case EMUNGE_NO_MEMORY:
		return QAUTH_UNAVAILABLE;
	default:
		return QAUTH_INVALID;
	}
}

static munge_ctx_t make_ctx(const char *socket, char *err, size_t errlen)
{
	munge_ctx_t ctx = munge_ctx_create();

	if (!ctx) {
		snprintf(err, errlen, "munge: cannot create a context (out of memory)");
		return NULL;
	}
	if (socket && *socket &&
	    munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket) != EMUNGE_SUCCESS) {
		snprintf(err, errlen, "munge: cannot use socket %s: %s", socket,
			 munge_ctx_strerror(ctx) ? munge_ctx_strerror(ctx) : "error");
		munge_ctx_destroy(ctx);
		return NULL;
	}
	return ctx;
}

enum qauth_status qauth_encode(const char *socket, const void *payload,
			       size_t len, int ttl, char **cred,
			       char *err, size_t errlen)
{
	enum qauth_status st = QAUTH_UNAVAILABLE;
	munge_ctx_t ctx;
	munge_err_t e;

	*cred = NULL;
	if (len > INT_MAX) {
		snprintf(err, errlen, "munge: payload of %zu bytes is too long", len);
		return QAUTH_INVALID;
	}
	ctx = make_ctx(socket, err, errlen);
	if (!ctx)
		return QAUTH_UNAVAILABLE;
	if (ttl > 0 && munge_ctx_set(ctx, MUNGE_OPT_TTL, ttl) != EMUNGE_SUCCESS) {
		snprintf(err, errlen, "munge: cannot set TTL %d", ttl);
		goto out;
	}
	e = munge_encode(cred, ctx, payload, (int)len);
	if (e != EMUNGE_SUCCESS) {
		const char *why = munge_ctx_strerror(ctx);

		snprintf(err, errlen, "munge_encode: %s", why ? why : munge_strerror(e));
		*cred = NULL;
		/* Encoding fails for munged's reasons, never for the payload's. */
		st = e == EMUNGE_BAD_LENGTH ? QAUTH_INVALID : QAUTH_UNAVAILABLE;
		goto out;
	}
	st = QAUTH_OK;
out:
	munge_ctx_destroy(ctx);
	return st;
}

enum qauth_status qauth_decode(const char *socket, const char *cred,
			       char **payload, size_t *len,
			       struct qauth_info *info,
			       char *err, size_t errlen)
{
	enum qauth_status st;
	munge_ctx_t ctx;
	munge_err_t e;
	void *buf = NULL;
	int n = 0;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	*payload = NULL;
	*len = 0;
	memset(info, 0, sizeof(*info));
	ctx = make_ctx(socket, err, errlen);
	if (!ctx)
		return QAUTH_UNAVAILABLE;
	e = munge_decode(cred, ctx, &buf, &n, &uid, &gid);
	st = status_of(e);
	if (st != QAUTH_OK) {
		const char *why = munge_ctx_strerror(ctx);

		snprintf(err, errlen, "%s", why ? why : munge_strerror(e));
		free(buf);
		goto out;
	}
	info->uid = uid;
	info->gid = gid;
	{
		time_t t = 0;
		int ttl = 0;

		if (munge_ctx_get(ctx, MUNGE_OPT_ENCODE_TIME, &t) == EMUNGE_SUCCESS)
			info->encode_time = t;
		if (munge_ctx_get(ctx, MUNGE_OPT_TTL, &ttl) == EMUNGE_SUCCESS)
			info->ttl = ttl;
	}
	if (!buf) {		/* a credential without payload */
		buf = calloc(1, 1);
		if (!buf) {
			snprintf(err, errlen, "out of memory");
			st = QAUTH_UNAVAILABLE;
			goto out;
		}
	}
	*payload = buf;
	*len = (size_t)n;
out:
	munge_ctx_destroy(ctx);
	return st;
}
