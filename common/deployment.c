/*
 * deployment.c - see deployment.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deployment.h"

#define MAX_FILE (64 * 1024)

enum dkey { K_CHAIN_ID, K_LEDGER, K_VAULT, K_TOKEN, K_ADMIN, K_POSTER, K_DEPLOY_BLOCK, K_COUNT };

static const char *const key_names[K_COUNT] = {
	"CHAIN_ID", "LEDGER_ADDRESS", "VAULT_ADDRESS", "TOKEN_ADDRESS",
	"ADMIN_ADDRESS", "POSTER_ADDRESS", "DEPLOY_BLOCK",
};

/* A decimal uint64 without sign, spaces or leading zeros beyond "0". */
static int parse_dec_u64(const char *s, uint64_t *v)
{
	struct u256 x;

	if (!*s || (s[0] == '0' && s[1]) || u256_from_dec(&x, s) || u256_to_u64(&x, v))
		return -1;
	return 0;
}

static int set_value(struct chain_deployment *d, enum dkey k, const char *value,
		     char *why, size_t whylen)
{
	struct eth_address *a = NULL;
	bool *flag = NULL;
	int rc;

	switch (k) {
	case K_CHAIN_ID:
		if (parse_dec_u64(value, &d->chain_id) || d->chain_id == 0) {
			snprintf(why, whylen, "CHAIN_ID: '%s' is not a chain id (a decimal number above 0)",
				 value);
			return -1;
		}
		return 0;
	case K_DEPLOY_BLOCK:
		if (parse_dec_u64(value, &d->deploy_block)) {
			snprintf(why, whylen, "DEPLOY_BLOCK: '%s' is not a block number (decimal)", value);
			return -1;
		}
		d->has_deploy_block = true;
		return 0;
	case K_LEDGER: a = &d->ledger; break;
	case K_VAULT: a = &d->vault; flag = &d->has_vault; break;
	case K_TOKEN: a = &d->token; flag = &d->has_token; break;
	case K_ADMIN: a = &d->admin; flag = &d->has_admin; break;
	case K_POSTER: a = &d->poster; flag = &d->has_poster; break;
	default: return -1;
	}
	rc = eth_address_parse(value, a);
	if (rc) {
		snprintf(why, whylen, "%s: '%s' is %s", key_names[k], value,
			 rc == -2 ? "not correctly checksummed (EIP-55)"
			 : "not an address (0x and 40 hex digits)");
		return -1;
	}
	if (k == K_LEDGER && eth_address_is_zero(a)) {
		snprintf(why, whylen, "LEDGER_ADDRESS is the zero address");
		return -1;
	}
	if (flag)
		*flag = true;
	return 0;
}

int deployment_parse(const char *name, const char *buf, size_t len,
		     struct chain_deployment *d, char *err, size_t errlen)
{
	bool seen[K_COUNT] = { false };
	size_t pos = 0;
	int line = 0;

	memset(d, 0, sizeof(*d));
	while (pos < len) {
		char text[512], why[384], *eq, *value;
		size_t end = pos, n;
		int k;

		while (end < len && buf[end] != '\n')
			end++;
		n = end - pos;
		line++;
		if (n && buf[pos + n - 1] == '\r')
			n--;
		if (n >= sizeof(text)) {
			snprintf(err, errlen, "%s:%d: line too long", name, line);
			return -1;
		}
		memcpy(text, buf + pos, n);
		text[n] = '\0';
		pos = end + 1;
		if (memchr(text, '\0', n)) {
			snprintf(err, errlen, "%s:%d: NUL byte", name, line);
			return -1;
		}
		if (!text[0] || text[0] == '#')
			continue;
		eq = strchr(text, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: not KEY=VALUE", name, line);
			return -1;
		}
		*eq = '\0';
		value = eq + 1;
		for (k = 0; k < K_COUNT; k++)
			if (!strcmp(text, key_names[k]))
				break;
		if (k == K_COUNT) {
			snprintf(err, errlen, "%s:%d: unknown key '%.64s' (allowed: CHAIN_ID, LEDGER_ADDRESS, "
				 "VAULT_ADDRESS, TOKEN_ADDRESS, ADMIN_ADDRESS, POSTER_ADDRESS, DEPLOY_BLOCK)",
				 name, line, text);
			return -1;
		}
		if (seen[k]) {
			snprintf(err, errlen, "%s:%d: %s given twice", name, line, key_names[k]);
			return -1;
		}
		seen[k] = true;
		if (set_value(d, (enum dkey)k, value, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", name, line, why);
			return -1;
		}
	}
	if (!seen[K_CHAIN_ID] || !seen[K_LEDGER]) {
		snprintf(err, errlen, "%s: %s is missing", name,
			 !seen[K_CHAIN_ID] ? "CHAIN_ID" : "LEDGER_ADDRESS");
		return -1;
	}
	return 0;
}

int deployment_read(const char *path, struct chain_deployment *d,
		    char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int rv;

	memset(d, 0, sizeof(*d));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	n = fread(buf, 1, MAX_FILE + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rv = -1;
	} else if (n > MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, MAX_FILE);
		rv = -1;
	} else {
		rv = deployment_parse(path, buf, n, d, err, errlen);
	}
	fclose(f);
	free(buf);
	return rv;
}
