/*
 * quorate_chain.h - `quorate chain status` and `quorate chain verify
 * EPOCH`: read quorated's outbox and the closed epochs from PostgreSQL
 * (quorate.conf's Database) and ask the node (ChainRPC) directly, so that
 * they answer even while quorated is down.  Exit statuses in quorate(1).
 */
#ifndef QUORATE_CHAIN_CLI_H
#define QUORATE_CHAIN_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "chain_store.h"
#include "deployment.h"
#include "jsonrpc.h"
#include "qconf.h"

enum chain_exit {
	CHAIN_EXIT_OK = 0,		/* status: all well; verify: everything matches */
	CHAIN_EXIT_MISMATCH = 1,	/* status: an epoch failed; verify: a mismatch */
	CHAIN_EXIT_USAGE = 2,		/* bad option or configuration */
	CHAIN_EXIT_UNREACHABLE = 3,	/* the database or the node cannot be asked */
	CHAIN_EXIT_NOT_COMMITTED = 4,	/* verify: the ledger does not hold the epoch (yet) */
	CHAIN_EXIT_UNKNOWN = 6,		/* verify: no such closed epoch in PostgreSQL */
};

/* What the chain commands and `quorate report --by epoch` ask: quorated's
 * database, and the node (ChainRPC) about the deployment's contracts. */
struct chain_session {
	struct chain_deployment dep;
	struct jsonrpc_client *rpc;	/* NULL: the chain cannot be asked (see chain_problem) */
	PGconn *db;
	bool curl_ready;		/* jsonrpc_global_init done: fini at close */
	char chain_problem[600];	/* why rpc is NULL */
};

/* Connect to CONF's Database and set up a client of its ChainRPC (each RPC
 * bounded by TIMEOUT_S).  Without NEED_CHAIN a missing ChainRPC or an
 * unreadable deployment leaves rpc NULL, the reason in chain_problem.
 * Returns a chain_exit status, the message in ERR when not OK; close the
 * session in every case. */
int chain_session_open(struct chain_session *s, const struct quorate_conf *conf, int timeout_s,
		       bool need_chain, char *err, size_t errlen);
void chain_session_close(struct chain_session *s);

/* An epoch's root recomputed from epoch_records, against epochs (root,
 * record count, totals) and the ledger's rootOf (eth_call, live). */
enum chain_reconciled {
	RECONCILED_YES,			/* store and ledger agree */
	RECONCILED_NO,			/* the store disagrees with itself or with the ledger */
	RECONCILED_NOT_COMMITTED,	/* the store agrees; the ledger does not hold the epoch */
	RECONCILED_UNKNOWN,		/* the store agrees; the ledger cannot be asked */
};
struct chain_reconciliation {
	enum chain_reconciled verdict;
	struct chain_recomputed rc;
	bool stored_ok;			/* recomputed root and count equal epochs' */
	bool totals_ok;			/* cpu and gpu sums equal epochs' */
	bool asked;			/* the ledger answered */
	bool committed;
	bool ledger_ok;			/* committed with the recomputed root */
	uint8_t ledger_root[32];
	char ledger_error[600];		/* why the ledger was not asked, when !asked */
	char detail[700];		/* what does not agree or could not be asked */
};
/* 0, or -1 when the database cannot be read (ERR). */
int chain_reconcile(struct chain_session *s, const struct chain_epoch *ep,
		    struct chain_reconciliation *out, char *err, size_t errlen);
const char *chain_reconciled_name(enum chain_reconciled v);

/* RewardVault.epochs(EPOCH): what was funded and what of it was paid out
 * to claimants (funded - remaining; after a sweep, funded - the Swept
 * event's amount). */
struct chain_vault_epoch {
	int asset;			/* 0 not funded, 1 ETH (wei), 2 the vault's token */
	struct u256 funded, remaining, paid;
	uint64_t deadline;
	bool swept;
};
/* 0, or -1 (E) when the node cannot be asked or the deployment has no
 * vault. */
int chain_vault_epoch(struct chain_session *s, uint64_t epoch, struct chain_vault_epoch *v,
		      struct jsonrpc_error *e);

/* The vault's Claimed events of EPOCH: who was paid what. */
struct chain_claim {
	uint64_t index;
	struct eth_address account;
	struct u256 amount;
};
int chain_vault_claims(struct chain_session *s, uint64_t epoch, struct chain_claim **claims,
		       size_t *nclaims, struct jsonrpc_error *e);

/* argv[0] is "chain"; timeout_s bounds each RPC. */
int quorate_chain_main(int argc, char **argv, const struct quorate_conf *conf,
		       bool json, int timeout_s);

#endif
