/*
 * chain.h - quorated's chain poster: commits each closed epoch's Merkle
 * root to ContributionLedger with EIP-1559 transactions signed here, from
 * a PostgreSQL outbox (chain_outbox) that survives restarts and never
 * holds two commits of an epoch.  A thread of its own (q-chain), with its
 * own database connection and JSON-RPC client; it runs only when
 * quorate.conf sets ChainRPC, ChainDeployment and ChainKeyFile.  The state
 * machine is in doc/chain.md, its decisions in common/outbox.c.
 */
#ifndef QUORATED_CHAIN_H
#define QUORATED_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "qconf.h"

/* 1 when the chain keys are all set, 0 when none is, -1 (err set) when
 * only some are. */
int chain_configured(const struct quorate_conf *conf, char *err, size_t errlen);

/* What can be checked without the network: the three keys together, the
 * deployment file, the key file (owner, mode, contents), the public
 * development key only on chain 31337.  0 with a one-line summary, or -1
 * with err.  For `quorated -t` and the start. */
int chain_check(const struct quorate_conf *conf, char *summary, size_t slen,
		char *err, size_t errlen);

/* Load the settings and the key (kept in locked memory until
 * chain_stop).  A configuration that chain_check refuses stops quorated
 * from starting; an unconfigured chain is no error (the poster stays
 * off).  0 or -1 with err. */
int chain_init(const struct quorate_conf *conf, char *err, size_t errlen);
int chain_start(void);
/* Finish the step in hand, stop the thread, wipe the key. */
void chain_stop(void);

#endif
