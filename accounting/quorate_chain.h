/*
 * quorate_chain.h - `quorate chain status` and `quorate chain verify
 * EPOCH`: read quorated's outbox and the closed epochs from PostgreSQL
 * (quorate.conf's Database) and ask the node (ChainRPC) directly, so that
 * they answer even while quorated is down.  Exit statuses in quorate(1).
 */
#ifndef QUORATE_CHAIN_CLI_H
#define QUORATE_CHAIN_CLI_H

#include <stdbool.h>

#include "qconf.h"

enum chain_exit {
	CHAIN_EXIT_OK = 0,		/* status: all well; verify: everything matches */
	CHAIN_EXIT_MISMATCH = 1,	/* status: an epoch failed; verify: a mismatch */
	CHAIN_EXIT_USAGE = 2,		/* bad option or configuration */
	CHAIN_EXIT_UNREACHABLE = 3,	/* the database or the node cannot be asked */
	CHAIN_EXIT_NOT_COMMITTED = 4,	/* verify: the ledger does not hold the epoch (yet) */
	CHAIN_EXIT_UNKNOWN = 6,		/* verify: no such closed epoch in PostgreSQL */
};

/* argv[0] is "chain"; timeout_s bounds each RPC. */
int quorate_chain_main(int argc, char **argv, const struct quorate_conf *conf,
		       bool json, int timeout_s);

#endif
