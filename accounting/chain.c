/*
 * chain.c - see chain.h.  One round every ChainPollSeconds: load the
 * outbox's pending and sent rows, look at each sent one again
 * (outbox_judge_sent), then sign and send the next pending one.  Every
 * transition is committed in PostgreSQL before the next action: a commit
 * is stored as 'sent' (nonce, hash, raw bytes) before it is broadcast, so
 * that a crash can only lead to the same bytes being sent again.
 */
#define _GNU_SOURCE	/* strcasestr */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "abi.h"
#include "chain.h"
#include "chain_store.h"
#include "daemon.h"
#include "deployment.h"
#include "eip1559.h"
#include "jsonrpc.h"
#include "keccak.h"
#include "keyfile.h"
#include "log.h"
#include "outbox.h"
#include "store.h"

#define COMMIT_SIG "commitEpoch(uint64,bytes32,uint128,uint128,uint32,bytes32)"
#define BACKOFF_MIN 1.0		/* seconds, first retry after an RPC or database failure */
#define BACKOFF_MAX 60.0
#define HOLD_MAX 300.0		/* an epoch a revert holds back is retried at most this far apart */
#define RECHECK_CHAIN 60.0	/* a wrong chain or a missing ledger is looked at again */
#define RPC_TIMEOUT_MS 15000
#define ANVIL_CHAIN_ID 31337
#define MAX_HOLDS 32
#define KEY_PAGE 4096

enum step_rc {
	STEP_OK = 0,
	STEP_RPC,		/* the node could not be asked: back off */
	STEP_DB,		/* the database failed: reconnect, back off */
};

/* An epoch held back after an error that may pass (a pause, a send the
 * node refused): retried with its own back-off. */
struct hold {
	int64_t epoch;
	unsigned failures;
	double until;
};

static struct {
	/* settings */
	bool configured;
	char *conninfo, *rpc_url, *ca_file;
	struct chain_deployment dep;
	uint8_t *key;			/* KEYFILE_KEY_LEN bytes on a page of its own */
	bool key_locked;
	struct eth_address sender;
	char sender_hex[ETH_ADDRESS_HEX_LEN + 1], ledger_hex[ETH_ADDRESS_HEX_LEN + 1];
	unsigned confirmations;
	double poll, resend;
	struct u256 cap;
	/* thread */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, running;
	/* connections */
	PGconn *db;
	bool db_locked, db_lock_warned;
	unsigned db_failures;
	double db_next;
	struct jsonrpc_client *rpc;
	unsigned rpc_failures;
	double rpc_next;
	bool chain_ready;
	double chain_next;
	struct hold holds[MAX_HOLDS];
	int64_t verified_epoch;		/* epochs.root checked against its records */
	bool have_verified;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

/* What one round learnt from the node, asked once. */
struct round {
	bool have_head, have_mined, have_pending;
	uint64_t head, mined_nonce, pending_nonce;
	bool requeued;		/* a sent epoch went back to pending: send nothing newer now */
};

/* ------------------------------------------------------ configuration -- */

int chain_configured(const struct quorate_conf *conf, char *err, size_t errlen)
{
	bool rpc = conf->chain_rpc && *conf->chain_rpc;
	bool dep = conf->chain_deployment && *conf->chain_deployment;
	bool key = conf->chain_key_file && *conf->chain_key_file;

	if (!rpc && !dep && !key)
		return 0;
	if (!(rpc && dep && key)) {
		snprintf(err, errlen, "ChainRPC, ChainDeployment and ChainKeyFile go together (%s is "
			 "missing)", !rpc ? "ChainRPC" : !dep ? "ChainDeployment" : "ChainKeyFile");
		return -1;
	}
	if (strncmp(conf->chain_rpc, "http://", 7) && strncmp(conf->chain_rpc, "https://", 8)) {
		snprintf(err, errlen, "ChainRPC: '%s' is not an http:// or https:// URL", conf->chain_rpc);
		return -1;
	}
	return 1;
}

/* Load the deployment and the key; the key stays in KEY (wiped by the
 * caller). */
static int load_chain(const struct quorate_conf *conf, struct chain_deployment *dep,
		      uint8_t key[KEYFILE_KEY_LEN], struct eth_address *sender,
		      char *err, size_t errlen)
{
	char msg[512], addr[ETH_ADDRESS_HEX_LEN + 1];

	if (deployment_read(conf->chain_deployment, dep, msg, sizeof(msg))) {
		snprintf(err, errlen, "ChainDeployment: %s", msg);
		return -1;
	}
	if (keyfile_read(conf->chain_key_file, key, msg, sizeof(msg))) {
		snprintf(err, errlen, "ChainKeyFile: %s", msg);
		return -1;
	}
	if (eth_key_address(key, sender)) {
		keyfile_wipe(key, KEYFILE_KEY_LEN);
		snprintf(err, errlen, "ChainKeyFile: %s: not a valid secp256k1 key", conf->chain_key_file);
		return -1;
	}
	if (outbox_public_dev_account(sender) && dep->chain_id != ANVIL_CHAIN_ID) {
		eth_address_format(sender, addr);
		keyfile_wipe(key, KEYFILE_KEY_LEN);
		snprintf(err, errlen, "ChainKeyFile: %s is the public development key of anvil (%s); "
			 "refused for chain %" PRIu64 " (only anvil's %d)", conf->chain_key_file, addr,
			 dep->chain_id, ANVIL_CHAIN_ID);
		return -1;
	}
	return 0;
}

int chain_check(const struct quorate_conf *conf, char *summary, size_t slen,
		char *err, size_t errlen)
{
	struct chain_deployment dep;
	struct eth_address sender;
	uint8_t key[KEYFILE_KEY_LEN];
	char ledger[ETH_ADDRESS_HEX_LEN + 1], account[ETH_ADDRESS_HEX_LEN + 1];
	int c = chain_configured(conf, err, errlen);

	if (c <= 0) {
		if (c == 0)
			snprintf(summary, slen, "chain: not configured (no ChainRPC): epochs are not posted");
		return c;
	}
	if (load_chain(conf, &dep, key, &sender, err, errlen))
		return -1;
	keyfile_wipe(key, sizeof(key));
	eth_address_format(&dep.ledger, ledger);
	eth_address_format(&sender, account);
	snprintf(summary, slen, "chain: ledger %s on chain %" PRIu64 " via %s, account %s, "
		 "%ld confirmation%s", ledger, dep.chain_id, conf->chain_rpc, account,
		 conf->confirmations, conf->confirmations == 1 ? "" : "s");
	return 0;
}

static void key_release(void)
{
	if (!P.key)
		return;
	keyfile_wipe(P.key, KEYFILE_KEY_LEN);
	if (P.key_locked)
		munlock(P.key, KEY_PAGE);
	munmap(P.key, KEY_PAGE);
	P.key = NULL;
	P.key_locked = false;
}

int chain_init(const struct quorate_conf *conf, char *err, size_t errlen)
{
	struct jsonrpc_options o = {
		.connect_timeout_ms = 5000,
		.timeout_ms = RPC_TIMEOUT_MS,
		.ca_file = conf->chain_ca_file,
	};
	struct jsonrpc_error e;
	int c = chain_configured(conf, err, errlen);

	if (c <= 0)
		return c;
	/* The key on a page of its own, kept out of swap and core dumps where
	 * the system lets us. */
	P.key = mmap(NULL, KEY_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (P.key == MAP_FAILED) {
		P.key = NULL;
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		return -1;
	}
	P.key_locked = mlock(P.key, KEY_PAGE) == 0;
	(void)madvise(P.key, KEY_PAGE, MADV_DONTDUMP);
	if (load_chain(conf, &P.dep, P.key, &P.sender, err, errlen))
		goto fail;
	if (jsonrpc_global_init()) {
		snprintf(err, errlen, "libcurl: global initialization failed");
		goto fail;
	}
	P.rpc = jsonrpc_client_new(conf->chain_rpc, &o, &e);
	if (!P.rpc) {
		snprintf(err, errlen, "ChainRPC: %s", e.message);
		goto fail;
	}
	P.conninfo = strdup(conf->database);
	P.rpc_url = strdup(conf->chain_rpc);
	if (!P.conninfo || !P.rpc_url) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	eth_address_format(&P.sender, P.sender_hex);
	eth_address_format(&P.dep.ledger, P.ledger_hex);
	P.confirmations = (unsigned)conf->confirmations;
	P.poll = (double)conf->chain_poll;
	P.resend = (double)conf->chain_resend;
	{
		/* ChainMaxFeeGwei in wei (at most 10^15: fits 64 bits). */
		double wei = floor(conf->chain_max_fee_gwei * 1e9 + 0.5);

		u256_from_u64(&P.cap, wei < 1 ? 1 : (uint64_t)wei);
	}
	P.configured = true;
	return 0;
fail:
	key_release();
	jsonrpc_client_free(P.rpc);
	P.rpc = NULL;
	free(P.conninfo);
	free(P.rpc_url);
	P.conninfo = P.rpc_url = NULL;
	return -1;
}

/* ----------------------------------------------------------- helpers -- */

static bool stopping(void)
{
	bool s;

	pthread_mutex_lock(&P.lock);
	s = P.stop;
	pthread_mutex_unlock(&P.lock);
	return s;
}

static struct hold *hold_find(int64_t epoch)
{
	for (int i = 0; i < MAX_HOLDS; i++)
		if (P.holds[i].failures && P.holds[i].epoch == epoch)
			return &P.holds[i];
	return NULL;
}

static bool held(int64_t epoch)
{
	struct hold *h = hold_find(epoch);

	return h && now_seconds() < h->until;
}

/* Hold EPOCH back for its next back-off period; returns the delay. */
static double hold_epoch(int64_t epoch)
{
	struct hold *h = hold_find(epoch);

	if (!h) {
		for (int i = 0; i < MAX_HOLDS && !h; i++)
			if (!P.holds[i].failures)
				h = &P.holds[i];
		if (!h)
			h = &P.holds[0];	/* more than MAX_HOLDS: forget the oldest slot */
		h->epoch = epoch;
		h->failures = 0;
	}
	h->failures++;
	h->until = now_seconds() + outbox_backoff(h->failures, P.poll, HOLD_MAX);
	return h->until - now_seconds();
}

static void hold_clear(int64_t epoch)
{
	struct hold *h = hold_find(epoch);

	if (h)
		memset(h, 0, sizeof(*h));
}

static const char *hex32(const uint8_t b[32], char out[BYTES32_HEX_LEN + 1])
{
	bytes32_format(b, out);
	return out;
}

static void gwei(const struct u256 *wei, char *out, size_t len)
{
	struct u256 q;
	uint32_t frac = u256_div_u32(&q, wei, 1000000000u);
	char d[U256_DEC_LEN + 1];

	u256_to_dec(&q, d);
	if (frac)
		snprintf(out, len, "%s.%09u gwei", d, frac);
	else
		snprintf(out, len, "%s gwei", d);
}

/* A failed RPC: STEP_RPC when worth retrying later with back-off (the node
 * or the path to it); the caller handles the node's own errors. */
static bool rpc_unavailable(const struct jsonrpc_error *e)
{
	return e->kind != JSONRPC_ERR_RPC;
}

static enum step_rc rpc_down(const struct jsonrpc_error *e)
{
	P.rpc_failures++;
	P.rpc_next = now_seconds() + outbox_backoff(P.rpc_failures, BACKOFF_MIN, BACKOFF_MAX);
	log_warning("chain: RPC endpoint %s unavailable (failure %u): %s; next try in %.0fs",
		    P.rpc_url, P.rpc_failures, e->message, P.rpc_next - now_seconds());
	return STEP_RPC;
}

static enum step_rc db_failed(const char *err)
{
	log_error("chain: database: %s", err);
	if (P.db && PQstatus(P.db) != CONNECTION_OK) {
		PQfinish(P.db);
		P.db = NULL;
		P.db_locked = false;
	}
	P.db_failures++;
	P.db_next = now_seconds() + outbox_backoff(P.db_failures, BACKOFF_MIN, BACKOFF_MAX);
	return STEP_DB;
}

static enum step_rc round_head(struct round *rd)
{
	struct jsonrpc_error e;

	if (!rd->have_head) {
		if (eth_block_number(P.rpc, &rd->head, &e))
			return rpc_down(&e);
		rd->have_head = true;
	}
	return STEP_OK;
}

static enum step_rc round_nonces(struct round *rd)
{
	struct jsonrpc_error e;

	if (!rd->have_mined) {
		if (eth_get_transaction_count(P.rpc, &P.sender, "latest", &rd->mined_nonce, &e))
			return rpc_down(&e);
		rd->have_mined = true;
	}
	if (!rd->have_pending) {
		if (eth_get_transaction_count(P.rpc, &P.sender, "pending", &rd->pending_nonce, &e))
			return rpc_down(&e);
		rd->have_pending = true;
	}
	return STEP_OK;
}

/* A view of the ledger: SIG with one uint64 argument (or none), one word back. */
static int ledger_view(const char *sig, const struct abi_arg *args, size_t nargs,
		       const char *block, uint8_t word[32], struct jsonrpc_error *e)
{
	struct eth_call_request req = { .from = &P.sender, .to = &P.dep.ledger };
	uint8_t *data = NULL, *ret = NULL;
	size_t len, rlen;
	char err[256];
	int rv = -1;

	if (abi_encode_call(sig, args, nargs, &data, &len, err, sizeof(err))) {
		e->kind = JSONRPC_ERR_LOCAL;
		snprintf(e->message, sizeof(e->message), "%s: %s", sig, err);
		return -1;
	}
	req.data = data;
	req.data_len = len;
	if (eth_call(P.rpc, &req, block, &ret, &rlen, e))
		goto out;
	if (abi_decode_bytes32(ret, rlen, 0, word)) {
		e->kind = JSONRPC_ERR_PROTOCOL;
		snprintf(e->message, sizeof(e->message), "%s: %zu bytes returned, not one word", sig, rlen);
		goto out;
	}
	rv = 0;
out:
	free(data);
	free(ret);
	return rv;
}

/* Whether the ledger holds EPOCH, and its root there. */
static int ledger_epoch(int64_t epoch, bool *committed, uint8_t root[32], struct jsonrpc_error *e)
{
	struct abi_arg a = abi_uint(64, (uint64_t)epoch);
	uint8_t w[32];

	if (ledger_view("isCommitted(uint64)", &a, 1, "latest", w, e) ||
	    ledger_view("rootOf(uint64)", &a, 1, "latest", root, e))
		return -1;
	*committed = w[31] == 1;
	return 0;
}

static int commit_calldata(const struct chain_epoch *ep, uint8_t **data, size_t *len,
			   char *err, size_t errlen)
{
	struct abi_arg args[6] = {
		abi_uint(64, (uint64_t)ep->epoch),
		abi_bytes32(ep->root),
		abi_uint_u256(128, &ep->cpu_seconds),
		abi_uint_u256(128, &ep->gpu_seconds),
		abi_uint(32, ep->records),
		abi_bytes32(ep->data_hash),
	};

	return abi_encode_call(COMMIT_SIG, args, 6, data, len, err, errlen);
}

/* The ledger already holds EPOCH: confirmed when with our root, else failed. */
static enum step_rc settle_committed(const struct chain_outbox_row *row, const uint8_t root[32],
				     const char *how)
{
	char err[512], msg[512], ours[BYTES32_HEX_LEN + 1], theirs[BYTES32_HEX_LEN + 1];
	int64_t ep = row->e.epoch;

	if (!memcmp(root, row->e.root, 32)) {
		snprintf(msg, sizeof(msg), "the ledger already holds epoch %" PRId64 " with this root "
			 "(%s)", ep, how);
		log_info("chain: epoch %" PRId64 ": %s: confirmed", ep, msg);
		if (chain_store_confirmed(P.db, ep, NULL, msg, err, sizeof(err)))
			return db_failed(err);
		return STEP_OK;
	}
	snprintf(msg, sizeof(msg), "the ledger holds epoch %" PRId64 " with another root %s (ours %s)",
		 ep, hex32(root, theirs), hex32(row->e.root, ours));
	log_error("chain: epoch %" PRId64 " failed: %s", ep, msg);
	if (chain_store_failed(P.db, ep, NULL, msg, err, sizeof(err)))
		return db_failed(err);
	return STEP_OK;
}

/* Market fees, capped by ChainMaxFeeGwei. */
static enum step_rc market_fees(struct u256 *max_fee, struct u256 *tip, bool *capped)
{
	struct jsonrpc_error e;
	struct eth_fee_history fh;
	struct u256 suggested;

	if (eth_max_priority_fee_per_gas(P.rpc, &suggested, &e) ||
	    eth_fee_history(P.rpc, 1, 50, &fh, &e))
		return rpc_down(&e);
	if (outbox_fees(&fh.next_base_fee, &suggested, &P.cap, max_fee, tip, capped)) {
		e.kind = JSONRPC_ERR_PROTOCOL;
		snprintf(e.message, sizeof(e.message), "fees: the node's base fee overflows");
		return rpc_down(&e);
	}
	return STEP_OK;
}

/* Send raw bytes already stored; the node's answer decides what is noted. */
static enum step_rc broadcast(int64_t epoch, const uint8_t hash[32], const uint8_t *raw,
			      size_t len, bool again, bool filler)
{
	struct jsonrpc_error e;
	uint8_t node_hash[32];
	char err[512], h[BYTES32_HEX_LEN + 1], msg[700];

	if (eth_send_raw_transaction(P.rpc, raw, len, node_hash, &e)) {
		if (rpc_unavailable(&e))
			return rpc_down(&e);
		/* The node has it already (a resend after a restart): sent. */
		if (strcasestr(e.message, "already known") || strcasestr(e.message, "known transaction") ||
		    strcasestr(e.message, "alreadyknown")) {
			memcpy(node_hash, hash, 32);
		} else {
			double delay = hold_epoch(epoch);

			snprintf(msg, sizeof(msg), "eth_sendRawTransaction refused %s: %s", hex32(hash, h),
				 e.message);
			log_warning("chain: epoch %" PRId64 ": %s; next try in %.0fs", epoch, msg, delay);
			if (!filler && chain_store_note_error(P.db, epoch, msg, err, sizeof(err)))
				return db_failed(err);
			return STEP_OK;
		}
	}
	if (memcmp(node_hash, hash, 32))
		log_error("chain: epoch %" PRId64 ": the node's hash %s differs from ours %s", epoch,
			  hex32(node_hash, msg), hex32(hash, h));
	if (filler) {
		if (chain_store_filler_broadcast(P.db, hash, err, sizeof(err)))
			return db_failed(err);
		return STEP_OK;
	}
	if (chain_store_broadcast(P.db, epoch, hash, again, err, sizeof(err)))
		return db_failed(err);
	hold_clear(epoch);
	return STEP_OK;
}

/* Sign the epoch's commit with NONCE and these fees, store it, send it. */
static enum step_rc sign_store_send(const struct chain_outbox_row *row, uint64_t nonce,
				    uint64_t gas_limit, const struct u256 *max_fee,
				    const struct u256 *tip, const char *reason)
{
	struct eip1559_tx tx = {
		.chain_id = P.dep.chain_id, .nonce = nonce, .max_priority_fee_per_gas = *tip,
		.max_fee_per_gas = *max_fee, .gas_limit = gas_limit, .has_to = true,
		.to = P.dep.ledger,
	};
	struct eip1559_signed st = { 0 };
	struct chain_signed_tx stx;
	uint8_t *data = NULL;
	char err[512], detail[256], fee[96], tipg[96], h[BYTES32_HEX_LEN + 1];
	enum step_rc rc = STEP_OK;

	if (commit_calldata(&row->e, &data, &tx.data_len, err, sizeof(err))) {
		log_error("chain: epoch %" PRId64 ": %s", row->e.epoch, err);
		if (chain_store_failed(P.db, row->e.epoch, NULL, err, err, sizeof(err)))
			rc = db_failed(err);
		return rc;
	}
	tx.data = data;
	if (eip1559_sign(&tx, P.key, &st)) {
		log_error("chain: epoch %" PRId64 ": signing failed", row->e.epoch);
		free(data);
		return STEP_OK;	/* no randomness? tried again next round */
	}
	gwei(max_fee, fee, sizeof(fee));
	gwei(tip, tipg, sizeof(tipg));
	snprintf(detail, sizeof(detail), "nonce %" PRIu64 ", gas limit %" PRIu64 ", max fee %s, tip %s",
		 nonce, gas_limit, fee, tipg);
	stx = (struct chain_signed_tx){
		.chain_id = P.dep.chain_id, .sender = P.sender, .nonce = nonce, .raw = st.raw,
		.raw_len = st.raw_len, .max_fee = *max_fee, .max_tip = *tip, .gas_limit = gas_limit,
		.reason = reason,
	};
	memcpy(stx.hash, st.hash, 32);
	if (chain_store_signed(P.db, row->e.epoch, &stx, detail, err, sizeof(err))) {
		rc = db_failed(err);
		goto out;
	}
	log_info("chain: epoch %" PRId64 ": %s %s (%s)", row->e.epoch,
		 !strcmp(reason, "fee_bump") ? "replacement" : "commit", hex32(st.hash, h), detail);
	rc = broadcast(row->e.epoch, st.hash, st.raw, st.raw_len, false, false);
out:
	eip1559_signed_free(&st);
	free(data);
	return rc;
}

/* ----------------------------------------------------------- pending -- */

/* epochs.root must be the root of the frozen records before it goes out. */
static enum step_rc check_records(const struct chain_outbox_row *row, bool *ok)
{
	struct chain_recomputed rc;
	char err[512], msg[700], a[BYTES32_HEX_LEN + 1], b[BYTES32_HEX_LEN + 1];

	*ok = true;
	if (P.have_verified && P.verified_epoch == row->e.epoch)
		return STEP_OK;
	if (chain_store_recompute(P.db, row->e.epoch, &rc, err, sizeof(err)))
		return db_failed(err);
	msg[0] = '\0';
	if (rc.problem[0])
		snprintf(msg, sizeof(msg), "epoch_records: %s", rc.problem);
	else if (rc.rows != row->e.records)
		snprintf(msg, sizeof(msg), "epochs.records is %u but epoch_records holds %zu rows",
			 row->e.records, rc.rows);
	else if (memcmp(rc.root, row->e.root, 32))
		snprintf(msg, sizeof(msg), "epochs.root %s is not the root of its records (%s)",
			 hex32(row->e.root, a), hex32(rc.root, b));
	else if (u256_cmp(&rc.cpu_seconds, &row->e.cpu_seconds) ||
		 u256_cmp(&rc.gpu_seconds, &row->e.gpu_seconds))
		snprintf(msg, sizeof(msg), "epochs.cpu_seconds/gpu_seconds are not the sums of its records");
	if (msg[0]) {
		*ok = false;
		log_error("chain: epoch %" PRId64 " failed: %s; not posted", row->e.epoch, msg);
		if (chain_store_failed(P.db, row->e.epoch, NULL, msg, err, sizeof(err)))
			return db_failed(err);
		return STEP_OK;
	}
	P.verified_epoch = row->e.epoch;
	P.have_verified = true;
	return STEP_OK;
}

/* A revert of the commit (estimate or mined): settle, hold or fail. */
static enum step_rc handle_revert(const struct chain_outbox_row *row, const uint8_t *data,
				  size_t len, const uint8_t *mined_tx, const char *where)
{
	char reason[384], msg[700], err[512];
	enum outbox_revert cls = outbox_classify_revert(data, len, reason, sizeof(reason));
	int64_t ep = row->e.epoch;
	struct jsonrpc_error e;

	if (cls == OUTBOX_REVERT_ALREADY) {
		uint8_t root[32];
		bool committed;

		if (ledger_epoch(ep, &committed, root, &e))
			return rpc_down(&e);
		if (mined_tx && chain_store_requeue(P.db, ep, "reverted", mined_tx, reason, err,
						    sizeof(err)))
			return db_failed(err);
		return settle_committed(row, root, reason);
	}
	snprintf(msg, sizeof(msg), "%s: %s", where, reason);
	if (cls == OUTBOX_REVERT_RETRY) {
		double delay = hold_epoch(ep);

		log_warning("chain: epoch %" PRId64 ": %s; an admin can fix this: next try in %.0fs",
			    ep, msg, delay);
		if (mined_tx) {
			if (chain_store_requeue(P.db, ep, "retry", mined_tx, msg, err, sizeof(err)))
				return db_failed(err);
		} else if (chain_store_note_error(P.db, ep, msg, err, sizeof(err))) {
			return db_failed(err);
		}
		return STEP_OK;
	}
	log_error("chain: epoch %" PRId64 " failed: %s", ep, msg);
	if (chain_store_failed(P.db, ep, mined_tx, msg, err, sizeof(err)))
		return db_failed(err);
	return STEP_OK;
}

static enum step_rc process_pending(struct round *rd, const struct chain_outbox_row *row)
{
	struct eth_call_request req = { .from = &P.sender, .to = &P.dep.ledger };
	struct jsonrpc_error e;
	struct u256 max_fee, tip;
	uint8_t root[32], *data = NULL;
	uint64_t estimate, highest, nonce;
	bool committed, ok, any, capped;
	char err[512], msg[600];
	enum step_rc rc;

	if ((rc = check_records(row, &ok)) || !ok)
		return rc;
	if (ledger_epoch(row->e.epoch, &committed, root, &e))
		return rpc_down(&e);
	if (committed)
		return settle_committed(row, root, "found before sending");
	if (commit_calldata(&row->e, &data, &req.data_len, err, sizeof(err))) {
		log_error("chain: epoch %" PRId64 ": %s", row->e.epoch, err);
		if (chain_store_failed(P.db, row->e.epoch, NULL, err, err, sizeof(err)))
			return db_failed(err);
		return STEP_OK;
	}
	req.data = data;
	if (eth_estimate_gas(P.rpc, &req, &estimate, &e)) {
		uint8_t *rdata = NULL;
		size_t rlen = 0;

		free(data);
		if (rpc_unavailable(&e))
			return rpc_down(&e);
		if (e.data[0] && !eth_hex_decode(e.data, &rdata, &rlen)) {
			rc = handle_revert(row, rdata, rlen, NULL, "eth_estimateGas reverts");
			free(rdata);
			return rc;
		}
		/* No revert data: the node's message is all there is. */
		snprintf(msg, sizeof(msg), "eth_estimateGas: %s", e.message);
		log_warning("chain: epoch %" PRId64 ": %s; next try in %.0fs", row->e.epoch, msg,
			    hold_epoch(row->e.epoch));
		if (chain_store_note_error(P.db, row->e.epoch, msg, err, sizeof(err)))
			return db_failed(err);
		return STEP_OK;
	}
	free(data);
	if ((rc = round_nonces(rd)) || (rc = market_fees(&max_fee, &tip, &capped)))
		return rc;
	if (chain_store_highest_nonce(P.db, P.dep.chain_id, &P.sender, &any, &highest, err, sizeof(err)))
		return db_failed(err);
	nonce = outbox_next_nonce(rd->pending_nonce, any, highest);
	if (nonce != rd->pending_nonce)
		log_warning("chain: epoch %" PRId64 ": the node's pending nonce is %" PRIu64 " but the "
			    "outbox already holds %" PRIu64 ": using %" PRIu64, row->e.epoch,
			    rd->pending_nonce, highest, nonce);
	if (capped)
		log_warning("chain: epoch %" PRId64 ": fees capped by ChainMaxFeeGwei", row->e.epoch);
	rc = sign_store_send(row, nonce, outbox_gas_limit(estimate), &max_fee, &tip,
			     row->attempts ? "new_nonce" : "first");
	/* The next epoch's nonce is above this one: ask the node again. */
	rd->have_pending = false;
	return rc;
}

/* -------------------------------------------------------------- sent -- */

/* The first receipt among the epoch's transactions at its nonce (the
 * current one and those it replaced: any of them may be mined). */
static enum step_rc find_receipt(const struct chain_outbox_row *row, struct eth_receipt *r,
				 bool *found)
{
	uint8_t (*hashes)[32] = NULL;
	size_t n = 0;
	struct jsonrpc_error e;
	char err[512];
	bool current = false;

	*found = false;
	if (chain_store_tx_hashes(P.db, row->e.epoch, row->nonce, &hashes, &n, err, sizeof(err)))
		return db_failed(err);
	for (size_t i = 0; i < n; i++)
		current |= !memcmp(hashes[i], row->tx_hash, 32);
	if (!current && eth_get_transaction_receipt(P.rpc, row->tx_hash, r, found, &e)) {
		free(hashes);
		return rpc_down(&e);
	}
	for (size_t i = 0; i < n && !*found; i++) {
		if (eth_get_transaction_receipt(P.rpc, hashes[i], r, found, &e)) {
			free(hashes);
			return rpc_down(&e);
		}
	}
	free(hashes);
	return STEP_OK;
}

static enum step_rc node_knows(const uint8_t hash[32], bool *known)
{
	char h[BYTES32_HEX_LEN + 1];
	json_object *params = json_object_new_array(), *res = NULL;
	struct jsonrpc_error e;

	if (!params || json_object_array_add(params, json_object_new_string(hex32(hash, h)))) {
		json_object_put(params);
		e.kind = JSONRPC_ERR_LOCAL;
		snprintf(e.message, sizeof(e.message), "out of memory");
		return rpc_down(&e);
	}
	if (jsonrpc_call(P.rpc, "eth_getTransactionByHash", params, &res, &e))
		return rpc_down(&e);
	*known = res && json_object_is_type(res, json_type_object);
	json_object_put(res);
	return STEP_OK;
}

/* Why a mined commit reverted: the same call replayed on the state of its block. */
static enum step_rc revert_data(const struct chain_outbox_row *row, uint64_t block,
				uint8_t **data, size_t *len, bool *have)
{
	struct eth_call_request req = { .from = &P.sender, .to = &P.dep.ledger };
	struct jsonrpc_error e;
	uint8_t *calldata = NULL, *ret = NULL;
	size_t rlen;
	char q[19], err[256];

	*have = false;
	*data = NULL;
	*len = 0;
	if (commit_calldata(&row->e, &calldata, &req.data_len, err, sizeof(err)))
		return STEP_OK;
	req.data = calldata;
	u64_to_quantity(block, q);
	if (eth_call(P.rpc, &req, q, &ret, &rlen, &e)) {
		free(calldata);
		if (rpc_unavailable(&e))
			return rpc_down(&e);
		*have = e.data[0] && !eth_hex_decode(e.data, data, len);
		return STEP_OK;
	}
	free(ret);
	free(calldata);
	return STEP_OK;
}

/* Fill a nonce gap below the epoch's transaction with no-op transfers to
 * ourselves, so that the commit waiting behind it can be mined. */
static enum step_rc fill_gap(const struct chain_outbox_row *row, uint64_t from)
{
	struct u256 max_fee, tip;
	bool capped;
	char err[512], h[BYTES32_HEX_LEN + 1];
	enum step_rc rc;

	if ((rc = market_fees(&max_fee, &tip, &capped)))
		return rc;
	for (uint64_t k = from; k < row->nonce; k++) {
		struct eip1559_tx tx = {
			.chain_id = P.dep.chain_id, .nonce = k, .max_priority_fee_per_gas = tip,
			.max_fee_per_gas = max_fee, .gas_limit = 21000, .has_to = true, .to = P.sender,
		};
		struct eip1559_signed st = { 0 };
		struct chain_signed_tx stx;

		if (eip1559_sign(&tx, P.key, &st))
			return STEP_OK;
		stx = (struct chain_signed_tx){
			.chain_id = P.dep.chain_id, .sender = P.sender, .nonce = k, .raw = st.raw,
			.raw_len = st.raw_len, .max_fee = max_fee, .max_tip = tip, .gas_limit = 21000,
			.reason = "gap_fill",
		};
		memcpy(stx.hash, st.hash, 32);
		log_warning("chain: epoch %" PRId64 ": nonce gap: nothing the node can mine at nonce %"
			    PRIu64 " below ours (%" PRIu64 "): filling it with a transfer to ourselves %s",
			    row->e.epoch, k, row->nonce, hex32(st.hash, h));
		if (chain_store_filler(P.db, row->e.epoch, &stx, err, sizeof(err))) {
			eip1559_signed_free(&st);
			return db_failed(err);
		}
		rc = broadcast(row->e.epoch, st.hash, st.raw, st.raw_len, false, true);
		eip1559_signed_free(&st);
		if (rc)
			return rc;
	}
	return STEP_OK;
}

/* Before the epoch is confirmed: whether its gap fillers were mined. */
static enum step_rc settle_fillers(int64_t epoch)
{
	uint8_t (*hashes)[32] = NULL;
	size_t n = 0;
	struct jsonrpc_error e;
	char err[512];
	enum step_rc rc = STEP_OK;

	if (chain_store_fillers(P.db, epoch, &hashes, &n, err, sizeof(err)))
		return db_failed(err);
	for (size_t i = 0; i < n && !rc; i++) {
		struct eth_receipt r;
		struct chain_receipt_info info = { 0 };
		bool found;

		if (eth_get_transaction_receipt(P.rpc, hashes[i], &r, &found, &e)) {
			rc = rpc_down(&e);
			break;
		}
		memcpy(info.tx_hash, hashes[i], 32);
		info.block_number = r.block_number;
		memcpy(info.block_hash, r.block_hash, 32);
		info.gas_used = r.gas_used;
		info.effective_gas_price = r.effective_gas_price;
		if (chain_store_filler_outcome(P.db, hashes[i], found ? &info : NULL, err, sizeof(err)))
			rc = db_failed(err);
	}
	free(hashes);
	return rc;
}

static enum step_rc confirm(const struct chain_outbox_row *row, const struct eth_receipt *r,
			    const struct chain_receipt_info *info, unsigned depth)
{
	char err[512], msg[256], h[BYTES32_HEX_LEN + 1], price[96];
	enum step_rc rc = settle_fillers(row->e.epoch);

	if (rc)
		return rc;
	gwei(&r->effective_gas_price, price, sizeof(price));
	snprintf(msg, sizeof(msg), "block %" PRIu64 ", %u confirmation%s, gas used %" PRIu64
		 ", price %s", r->block_number, depth, depth == 1 ? "" : "s", r->gas_used, price);
	if (chain_store_confirmed(P.db, row->e.epoch, info, msg, err, sizeof(err)))
		return db_failed(err);
	log_info("chain: epoch %" PRId64 " confirmed: %s (%s)", row->e.epoch,
		 hex32(r->transaction_hash, h), msg);
	hold_clear(row->e.epoch);
	return STEP_OK;
}

static enum step_rc process_sent(struct round *rd, const struct chain_outbox_row *row)
{
	struct outbox_sent_view v = {
		.nonce = row->nonce, .confirmations = P.confirmations, .resend_after = P.resend,
		.recorded = row->has_block, .recorded_block = row->block_number,
		.known_to_node = true,
	};
	struct chain_receipt_info info = { 0 };
	struct eth_receipt r;
	struct jsonrpc_error e;
	char err[512], msg[512], h[BYTES32_HEX_LEN + 1], b[BYTES32_HEX_LEN + 1];
	enum outbox_action a;
	enum step_rc rc;
	bool found;

	if (held(row->e.epoch))
		return STEP_OK;
	memcpy(v.recorded_block_hash, row->block_hash, 32);
	/* Nonces before receipts: a nonce past ours and then no receipt means
	 * another transaction took it (ours would have shown its receipt). */
	if ((rc = round_head(rd)) || (rc = round_nonces(rd)) || (rc = find_receipt(row, &r, &found)))
		return rc;
	v.head = rd->head;
	v.mined_nonce = rd->mined_nonce;
	v.has_receipt = found;
	if (found) {
		v.receipt_success = r.success;
		v.receipt_block = r.block_number;
		memcpy(v.receipt_block_hash, r.block_hash, 32);
		if (r.block_number > v.head)
			v.head = r.block_number;	/* the receipt is newer than our head */
		if (eth_get_block_hash(P.rpc, r.block_number, v.canonical_hash, &v.canonical_known, &e))
			return rpc_down(&e);
		memcpy(info.tx_hash, r.transaction_hash, 32);
		info.block_number = r.block_number;
		memcpy(info.block_hash, r.block_hash, 32);
		info.gas_used = r.gas_used;
		info.effective_gas_price = r.effective_gas_price;
	} else if (!row->has_block && rd->mined_nonce <= row->nonce) {
		if ((rc = node_knows(row->tx_hash, &v.known_to_node)))
			return rc;
	}
	v.pending_nonce = rd->pending_nonce;
	v.since_sent = row->last_sent_at < 0 ? -1 : now_seconds() - row->last_sent_at;
	a = outbox_judge_sent(&v);
	log_debug("chain: epoch %" PRId64 ": nonce %" PRIu64 ", head %" PRIu64 ", mined nonce %"
		  PRIu64 ", receipt %s: %s", row->e.epoch, row->nonce, v.head, v.mined_nonce,
		  found ? "yes" : "no", outbox_action_name(a));
	switch (a) {
	case OUTBOX_WAIT:
		return STEP_OK;
	case OUTBOX_RECORD_MINED:
		if (chain_store_mined(P.db, row->e.epoch, &info, err, sizeof(err)))
			return db_failed(err);
		log_info("chain: epoch %" PRId64 ": %s mined in block %" PRIu64 " (%s); waiting for %u "
			 "confirmation%s", row->e.epoch, hex32(r.transaction_hash, h), r.block_number,
			 hex32(r.block_hash, b), P.confirmations, P.confirmations == 1 ? "" : "s");
		return STEP_OK;
	case OUTBOX_CONFIRM:
		return confirm(row, &r, &info, (unsigned)(v.head - r.block_number + 1));
	case OUTBOX_REVERTED: {
		uint8_t *data = NULL;
		size_t len = 0;
		bool have;

		if ((rc = revert_data(row, r.block_number, &data, &len, &have)))
			return rc;
		snprintf(msg, sizeof(msg), "transaction %s reverted in block %" PRIu64,
			 hex32(r.transaction_hash, h), r.block_number);
		if (!have) {
			/* The same call passes on the block's final state: the
			 * reason is not known; never spend gas on it again. */
			strncat(msg, " (no reason: the same call succeeds on that block's state)",
				sizeof(msg) - strlen(msg) - 1);
			log_error("chain: epoch %" PRId64 " failed: %s", row->e.epoch, msg);
			if (chain_store_failed(P.db, row->e.epoch, r.transaction_hash, msg, err, sizeof(err)))
				return db_failed(err);
			return STEP_OK;
		}
		rc = handle_revert(row, data, len, r.transaction_hash, msg);
		free(data);
		rd->requeued = true;
		return rc;
	}
	case OUTBOX_REORGED:
		snprintf(msg, sizeof(msg), "block %" PRIu64 " (%s) no longer holds %s",
			 row->block_number, hex32(row->block_hash, b), hex32(row->tx_hash, h));
		log_warning("chain: epoch %" PRId64 ": reorg: %s", row->e.epoch, msg);
		if (chain_store_reorged(P.db, row->e.epoch, msg, err, sizeof(err)))
			return db_failed(err);
		return STEP_OK;	/* the next round sees it unmined */
	case OUTBOX_NONCE_TAKEN: {
		uint8_t root[32];
		bool committed;

		if (ledger_epoch(row->e.epoch, &committed, root, &e))
			return rpc_down(&e);
		if (committed)
			return settle_committed(row, root, "by a transaction not ours");
		snprintf(msg, sizeof(msg), "nonce %" PRIu64 " was mined by a transaction not of this "
			 "epoch; signing again with a new nonce", row->nonce);
		log_warning("chain: epoch %" PRId64 ": %s", row->e.epoch, msg);
		if (chain_store_requeue(P.db, row->e.epoch, "nonce_taken", NULL, msg, err, sizeof(err)))
			return db_failed(err);
		rd->requeued = true;
		return STEP_OK;
	}
	case OUTBOX_REBROADCAST:
		log_info("chain: epoch %" PRId64 ": the node does not hold %s: sending the stored bytes "
			 "again", row->e.epoch, hex32(row->tx_hash, h));
		return broadcast(row->e.epoch, row->tx_hash, row->raw_tx, row->raw_len, true, false);
	case OUTBOX_FILL_GAP:
		return fill_gap(row, rd->pending_nonce);
	case OUTBOX_FEE_BUMP: {
		struct u256 mmax, mtip, max_fee, tip;
		bool capped;
		int b2;

		if ((rc = market_fees(&mmax, &mtip, &capped)))
			return rc;
		b2 = outbox_bump_fees(&row->max_fee, &row->max_tip, &mmax, &mtip, &P.cap, &max_fee, &tip);
		if (b2) {
			snprintf(msg, sizeof(msg), "not mined after %.0fs, and ChainMaxFeeGwei leaves no room "
				 "for a replacement: waiting", v.since_sent);
			log_warning("chain: epoch %" PRId64 ": %s", row->e.epoch, msg);
			hold_epoch(row->e.epoch);
			if (chain_store_note_error(P.db, row->e.epoch, msg, err, sizeof(err)))
				return db_failed(err);
			return STEP_OK;
		}
		log_info("chain: epoch %" PRId64 ": %s not mined after %.0fs: replacing it (same nonce "
			 "%" PRIu64 ", fees +%d%% or more)", row->e.epoch, hex32(row->tx_hash, h),
			 v.since_sent, row->nonce, OUTBOX_FEE_BUMP_PERCENT);
		return sign_store_send(row, row->nonce, row->gas_limit, &max_fee, &tip, "fee_bump");
	}
	}
	return STEP_OK;
}

/* ------------------------------------------------------------ rounds -- */

static bool ensure_db(void)
{
	char err[512];
	PGresult *r;

	if (P.db && P.db_locked)
		return true;
	if (now_seconds() < P.db_next)
		return false;
	if (!P.db) {
		P.db = store_connect(P.conninfo, false, err, sizeof(err));
		if (!P.db) {
			db_failed(err);
			return false;
		}
	}
	/* One poster per database: a second quorated waits. */
	r = PQexec(P.db, "SELECT pg_try_advisory_lock(7151824)");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, sizeof(err), "advisory lock: %s", PQresultErrorMessage(r));
		PQclear(r);
		db_failed(err);
		return false;
	}
	P.db_locked = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	if (!P.db_locked) {
		if (!P.db_lock_warned)
			log_warning("chain: another quorated posts from this database; waiting for it to stop");
		P.db_lock_warned = true;
		P.db_next = now_seconds() + RECHECK_CHAIN;
		return false;
	}
	if (P.db_failures || P.db_lock_warned)
		log_info("chain: database connection %s", P.db_failures ? "restored" : "and poster lock taken");
	P.db_failures = 0;
	P.db_lock_warned = false;
	return true;
}

/* The node is the chain of the deployment, the ledger is there. */
static enum step_rc ensure_chain(void)
{
	struct jsonrpc_error e;
	uint64_t id;
	uint8_t role[32], w[32];
	json_object *params, *res = NULL;
	struct abi_arg args[2];

	if (P.chain_ready)
		return STEP_OK;
	if (now_seconds() < P.chain_next)
		return STEP_RPC;
	if (eth_chain_id(P.rpc, &id, &e))
		return rpc_down(&e);
	if (id != P.dep.chain_id) {
		log_error("chain: %s is chain %" PRIu64 ", the deployment's is %" PRIu64 ": not posting "
			  "(looked at again in %.0fs)", P.rpc_url, id, P.dep.chain_id, RECHECK_CHAIN);
		P.chain_next = now_seconds() + RECHECK_CHAIN;
		return STEP_RPC;
	}
	params = json_object_new_array();
	if (params) {
		json_object_array_add(params, json_object_new_string(P.ledger_hex));
		json_object_array_add(params, json_object_new_string("latest"));
	}
	if (jsonrpc_call(P.rpc, "eth_getCode", params, &res, &e))
		return rpc_down(&e);
	if (!res || !json_object_is_type(res, json_type_string) ||
	    strlen(json_object_get_string(res)) <= 2) {
		log_error("chain: no contract at LEDGER_ADDRESS %s on chain %" PRIu64 ": not posting "
			  "(looked at again in %.0fs)", P.ledger_hex, id, RECHECK_CHAIN);
		json_object_put(res);
		P.chain_next = now_seconds() + RECHECK_CHAIN;
		return STEP_RPC;
	}
	json_object_put(res);
	keccak256("POSTER_ROLE", strlen("POSTER_ROLE"), role);
	args[0] = abi_bytes32(role);
	args[1] = abi_address(&P.sender);
	if (ledger_view("hasRole(bytes32,address)", args, 2, "latest", w, &e)) {
		if (rpc_unavailable(&e))
			return rpc_down(&e);
		log_warning("chain: hasRole: %s", e.message);
	} else if (w[31] != 1) {
		log_error("chain: account %s does not hold POSTER_ROLE on ledger %s: its commits will "
			  "revert until the admin grants it", P.sender_hex, P.ledger_hex);
	}
	log_info("chain: posting to ledger %s on chain %" PRIu64 " via %s from %s (%u confirmation%s)",
		 P.ledger_hex, id, P.rpc_url, P.sender_hex, P.confirmations,
		 P.confirmations == 1 ? "" : "s");
	P.chain_ready = true;
	return STEP_OK;
}

static enum step_rc chain_round(void)
{
	struct chain_outbox_row *rows = NULL;
	struct round rd = { 0 };
	size_t n = 0;
	char err[512];
	enum step_rc rc = STEP_OK;
	bool blocked = false;

	if (chain_store_active(P.db, &rows, &n, err, sizeof(err)))
		return db_failed(err);
	for (size_t i = 0; i < n && !rc && !stopping(); i++) {
		if (!strcmp(rows[i].state, "sent")) {
			rc = process_sent(&rd, &rows[i]);
			/* Commits go out in epoch order, one unmined at a time. */
			if (!rows[i].has_block)
				blocked = true;
		} else if (!blocked && !rd.requeued) {
			if (held(rows[i].e.epoch)) {
				blocked = true;
				continue;
			}
			rc = process_pending(&rd, &rows[i]);
			blocked = true;
		}
	}
	chain_rows_free(rows, n);
	if (rc == STEP_OK && P.rpc_failures) {
		log_info("chain: RPC endpoint %s answers again after %u failure%s", P.rpc_url,
			 P.rpc_failures, P.rpc_failures == 1 ? "" : "s");
		P.rpc_failures = 0;
	}
	return rc;
}

static void *chain_main(void *arg)
{
	(void)arg;
	daemon_thread_init("q-chain");
	while (!stopping()) {
		double now = now_seconds(), wake = now + P.poll;
		struct timespec until;

		if (now >= P.rpc_next && ensure_db() && ensure_chain() == STEP_OK)
			(void)chain_round();
		if (P.rpc_failures && P.rpc_next > now_seconds())
			wake = P.rpc_next;
		if (!P.db_locked && P.db_next > now_seconds())
			wake = P.db_next;
		if (!P.chain_ready && P.chain_next > now_seconds() && !P.rpc_failures)
			wake = P.chain_next;
		if (wake < now_seconds() + 0.05)
			wake = now_seconds() + 0.05;
		until.tv_sec = (time_t)wake;
		until.tv_nsec = (long)((wake - (double)until.tv_sec) * 1e9);
		pthread_mutex_lock(&P.lock);
		while (!P.stop && pthread_cond_timedwait(&P.cond, &P.lock, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&P.lock);
	}
	return NULL;
}

int chain_start(void)
{
	if (!P.configured)
		return 0;
	if (pthread_create(&P.thread, NULL, chain_main, NULL))
		return -1;
	P.running = true;
	return 0;
}

void chain_stop(void)
{
	if (P.running) {
		pthread_mutex_lock(&P.lock);
		P.stop = true;
		pthread_cond_signal(&P.cond);
		pthread_mutex_unlock(&P.lock);
		pthread_join(P.thread, NULL);
		P.running = false;
	}
	if (!P.configured)
		return;
	key_release();
	if (P.db)
		PQfinish(P.db);
	P.db = NULL;
	jsonrpc_client_free(P.rpc);
	P.rpc = NULL;
	jsonrpc_global_fini();
	free(P.conninfo);
	free(P.rpc_url);
	P.conninfo = P.rpc_url = NULL;
	P.configured = false;
}
