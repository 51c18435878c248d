/*
 * deployment.h - the deployment file of contracts/FORMATS.md
 * (deployment.env): KEY=VALUE lines naming the chain and the contracts'
 * addresses, read by quorated's chain poster and `quorate chain`.
 *
 * CHAIN_ID and LEDGER_ADDRESS are required; VAULT_ADDRESS, TOKEN_ADDRESS,
 * ADMIN_ADDRESS, POSTER_ADDRESS and DEPLOY_BLOCK are optional.  Blank lines
 * and lines starting with '#' are skipped; anything else (an unknown key, a
 * repeated key, a malformed value, a bad EIP-55 checksum) is an error that
 * names FILE:LINE.
 */
#ifndef QUORATE_DEPLOYMENT_H
#define QUORATE_DEPLOYMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ethtypes.h"

struct chain_deployment {
	uint64_t chain_id;
	struct eth_address ledger;
	bool has_vault, has_token, has_admin, has_poster, has_deploy_block;
	struct eth_address vault, token, admin, poster;
	uint64_t deploy_block;
};

/* Parse BUF (from NAME, for messages).  0, or -1 with "NAME:LINE: why". */
int deployment_parse(const char *name, const char *buf, size_t len,
		     struct chain_deployment *d, char *err, size_t errlen);

/* Read and parse PATH (at most 64 KiB). */
int deployment_read(const char *path, struct chain_deployment *d,
		    char *err, size_t errlen);

#endif
