/*
 * quorate_chain.c - see quorate_chain.h.  `status` lists the node's view
 * (chain id, the poster's account and balance, the head) and the outbox;
 * `verify EPOCH` recomputes the contribution root from epoch_records and
 * compares it with epochs.root and with the ledger's rootOf(EPOCH).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "abi.h"
#include "chain_store.h"
#include "conf.h"
#include "deployment.h"
#include "eip1559.h"
#include "jsonrpc.h"
#include "keccak.h"
#include "keyfile.h"
#include "quorate_chain.h"

#define STATUS_CONFIRMED_SHOWN 20	/* newest confirmed epochs listed */

struct cli {
	const struct quorate_conf *conf;
	bool json;
	struct chain_session s;
};

int chain_session_open(struct chain_session *s, const struct quorate_conf *conf, int timeout_s,
		       bool need_chain, char *err, size_t errlen)
{
	struct jsonrpc_options o = { .connect_timeout_ms = 5000,
				     .timeout_ms = (long)timeout_s * 1000 };
	struct jsonrpc_error e;
	char why[sizeof(s->chain_problem)] = "";

	memset(s, 0, sizeof(*s));
	if (!conf->chain_rpc || !conf->chain_deployment) {
		snprintf(why, sizeof(why), "quorate.conf sets no ChainRPC and ChainDeployment");
	} else if (deployment_read(conf->chain_deployment, &s->dep, why, sizeof(why))) {
		;
	} else if (jsonrpc_global_init()) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return CHAIN_EXIT_UNREACHABLE;
	} else {
		s->curl_ready = true;
		o.ca_file = conf->chain_ca_file;
		if (!(s->rpc = jsonrpc_client_new(conf->chain_rpc, &o, &e)))
			snprintf(why, sizeof(why), "ChainRPC: %s", e.message);
	}
	if (!s->rpc) {
		snprintf(s->chain_problem, sizeof(s->chain_problem), "%s", why);
		if (need_chain) {
			snprintf(err, errlen, "chain: %s", why);
			return CHAIN_EXIT_USAGE;
		}
	}
	s->db = PQconnectdb(conf->database ? conf->database : "");
	if (PQstatus(s->db) != CONNECTION_OK) {
		snprintf(err, errlen, "database: %s", PQerrorMessage(s->db));
		err[strcspn(err, "\n")] = '\0';
		return CHAIN_EXIT_UNREACHABLE;
	}
	return CHAIN_EXIT_OK;
}

void chain_session_close(struct chain_session *s)
{
	if (s->db)
		PQfinish(s->db);
	s->db = NULL;
	jsonrpc_client_free(s->rpc);
	s->rpc = NULL;
	if (s->curl_ready)
		jsonrpc_global_fini();
	s->curl_ready = false;
}

/* A view function of TO taking one uint64; its return data (malloc'd). */
static int view_call(struct chain_session *s, const struct eth_address *to, const char *sig,
		     uint64_t epoch, uint8_t **ret, size_t *rlen, struct jsonrpc_error *e)
{
	struct abi_arg a = abi_uint(64, epoch);
	struct eth_call_request req = { .to = to };
	uint8_t *data = NULL;
	size_t len;
	char err[256];
	int rv;

	*ret = NULL;
	*rlen = 0;
	if (abi_encode_call(sig, &a, 1, &data, &len, err, sizeof(err))) {
		e->kind = JSONRPC_ERR_LOCAL;
		snprintf(e->message, sizeof(e->message), "%s: %s", sig, err);
		return -1;
	}
	req.data = data;
	req.data_len = len;
	rv = eth_call(s->rpc, &req, "latest", ret, rlen, e);
	free(data);
	return rv;
}

/* One word of a view function of the ledger. */
static int ledger_word(struct chain_session *s, const char *sig, uint64_t epoch, uint8_t word[32],
		       struct jsonrpc_error *e)
{
	uint8_t *ret = NULL;
	size_t rlen = 0;
	int rv = -1;

	if (view_call(s, &s->dep.ledger, sig, epoch, &ret, &rlen, e))
		goto out;
	if (abi_decode_bytes32(ret, rlen, 0, word)) {
		e->kind = JSONRPC_ERR_PROTOCOL;
		snprintf(e->message, sizeof(e->message), "%s: %zu bytes returned, not one word",
			 sig, rlen);
		goto out;
	}
	rv = 0;
out:
	free(ret);
	return rv;
}

/* The poster's account: from the key file when readable, else the
 * newest transaction's sender, else the deployment's POSTER_ADDRESS. */
static bool poster_account(struct cli *c, struct eth_address *a, const char **from)
{
	uint8_t key[KEYFILE_KEY_LEN];
	char err[512];
	bool found = false;

	if (c->conf->chain_key_file && !keyfile_read(c->conf->chain_key_file, key, err, sizeof(err))) {
		int bad = eth_key_address(key, a);

		keyfile_wipe(key, sizeof(key));
		if (!bad) {
			*from = "ChainKeyFile";
			return true;
		}
	}
	if (!chain_store_last_sender(c->s.db, a, &found, err, sizeof(err)) && found) {
		*from = "last transaction";
		return true;
	}
	if (c->s.dep.has_poster) {
		*a = c->s.dep.poster;
		*from = "deployment";
		return true;
	}
	return false;
}

static const char *hex32(const uint8_t b[32], char out[BYTES32_HEX_LEN + 1])
{
	bytes32_format(b, out);
	return out;
}

static json_object *row_json(const struct chain_outbox_row *r)
{
	json_object *o = json_object_new_object();
	char h[BYTES32_HEX_LEN + 1];

	json_object_object_add(o, "epoch", json_object_new_int64(r->e.epoch));
	json_object_object_add(o, "state", json_object_new_string(r->state));
	json_object_object_add(o, "root", json_object_new_string(hex32(r->e.root, h)));
	json_object_object_add(o, "records", json_object_new_int64(r->e.records));
	json_object_object_add(o, "attempts", json_object_new_int(r->attempts));
	if (r->has_nonce)
		json_object_object_add(o, "nonce", json_object_new_int64((int64_t)r->nonce));
	if (r->has_tx)
		json_object_object_add(o, "tx_hash", json_object_new_string(hex32(r->tx_hash, h)));
	if (r->has_block)
		json_object_object_add(o, "block", json_object_new_int64((int64_t)r->block_number));
	if (r->last_error[0])
		json_object_object_add(o, "last_error", json_object_new_string(r->last_error));
	return o;
}

static void row_print(const struct chain_outbox_row *r)
{
	char h[BYTES32_HEX_LEN + 1];

	printf("  epoch %" PRId64 ": %s", r->e.epoch, r->state);
	if (r->has_nonce)
		printf(" nonce %" PRIu64, r->nonce);
	if (r->has_tx)
		printf(" tx %s", hex32(r->tx_hash, h));
	if (r->has_block)
		printf(" block %" PRIu64, r->block_number);
	printf(" attempts %d", r->attempts);
	if (r->last_error[0])
		printf(" error: %s", r->last_error);
	printf("\n");
}

static int chain_status(struct cli *c)
{
	struct chain_outbox_row *rows = NULL;
	struct chain_counts counts;
	struct jsonrpc_error e;
	struct eth_address acct;
	struct u256 balance;
	uint64_t chain_id = 0, head = 0, nonce = 0;
	char err[512], a[ETH_ADDRESS_HEX_LEN + 1], ledger[ETH_ADDRESS_HEX_LEN + 1];
	char bal[U256_DEC_LEN + 1] = "";
	const char *from = NULL;
	bool have_acct, node_up;
	size_t n = 0;
	int rc;

	if (chain_store_list(c->s.db, STATUS_CONFIRMED_SHOWN, &rows, &n, &counts, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: database: %s\n", err);
		return CHAIN_EXIT_UNREACHABLE;
	}
	have_acct = poster_account(c, &acct, &from);
	node_up = !eth_chain_id(c->s.rpc, &chain_id, &e) && !eth_block_number(c->s.rpc, &head, &e) &&
		  (!have_acct || (!eth_get_balance(c->s.rpc, &acct, "latest", &balance, &e) &&
				  !eth_get_transaction_count(c->s.rpc, &acct, "latest", &nonce, &e)));
	if (node_up && have_acct)
		u256_to_dec(&balance, bal);
	eth_address_format(&c->s.dep.ledger, ledger);
	if (have_acct)
		eth_address_format(&acct, a);
	if (c->json) {
		json_object *o = json_object_new_object(), *arr = json_object_new_array();

		json_object_object_add(o, "node", json_object_new_string(node_up ? "up" : "down"));
		if (!node_up)
			json_object_object_add(o, "node_error", json_object_new_string(e.message));
		else
			json_object_object_add(o, "chain_id", json_object_new_int64((int64_t)chain_id));
		json_object_object_add(o, "deployment_chain_id",
				       json_object_new_int64((int64_t)c->s.dep.chain_id));
		json_object_object_add(o, "ledger", json_object_new_string(ledger));
		if (have_acct) {
			json_object_object_add(o, "account", json_object_new_string(a));
			json_object_object_add(o, "account_from", json_object_new_string(from));
		}
		if (node_up) {
			json_object_object_add(o, "head", json_object_new_int64((int64_t)head));
			if (have_acct) {
				json_object_object_add(o, "balance_wei", json_object_new_string(bal));
				json_object_object_add(o, "nonce", json_object_new_int64((int64_t)nonce));
			}
		}
		json_object_object_add(o, "pending", json_object_new_int64(counts.pending));
		json_object_object_add(o, "sent", json_object_new_int64(counts.sent));
		json_object_object_add(o, "confirmed", json_object_new_int64(counts.confirmed));
		json_object_object_add(o, "failed", json_object_new_int64(counts.failed));
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, row_json(&rows[i]));
		json_object_object_add(o, "epochs", arr);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		if (node_up)
			printf("chain id: %" PRIu64 "%s\n", chain_id,
			       chain_id == c->s.dep.chain_id ? "" : " (NOT the deployment's chain)");
		else
			printf("node: unreachable: %s\n", e.message);
		printf("ledger: %s\n", ledger);
		if (have_acct)
			printf("account: %s (from %s)\n", a, from);
		else
			printf("account: unknown (no readable ChainKeyFile, no transaction yet)\n");
		if (node_up) {
			printf("head: %" PRIu64 "\n", head);
			if (have_acct)
				printf("balance: %s wei\nnonce: %" PRIu64 "\n", bal, nonce);
		}
		printf("epochs: %ld pending, %ld sent, %ld confirmed, %ld failed\n",
		       counts.pending, counts.sent, counts.confirmed, counts.failed);
		for (size_t i = 0; i < n; i++)
			row_print(&rows[i]);
	}
	rc = counts.failed ? CHAIN_EXIT_MISMATCH :
	     !node_up ? CHAIN_EXIT_UNREACHABLE :
	     chain_id != c->s.dep.chain_id ? CHAIN_EXIT_MISMATCH : CHAIN_EXIT_OK;
	chain_rows_free(rows, n);
	return rc;
}

static bool u256_eq(const struct u256 *a, const struct u256 *b)
{
	return u256_cmp(a, b) == 0;
}

const char *chain_reconciled_name(enum chain_reconciled v)
{
	static const char *const names[] = { "yes", "no", "not committed", "unknown" };
	return names[v];
}

int chain_reconcile(struct chain_session *s, const struct chain_epoch *ep,
		    struct chain_reconciliation *out, char *err, size_t errlen)
{
	struct jsonrpc_error e;
	uint8_t committed[32] = { 0 };
	char a[BYTES32_HEX_LEN + 1], b[BYTES32_HEX_LEN + 1];

	memset(out, 0, sizeof(*out));
	if (chain_store_recompute(s->db, ep->epoch, &out->rc, err, errlen))
		return -1;
	out->stored_ok = !out->rc.problem[0] && !memcmp(out->rc.root, ep->root, 32) &&
			 out->rc.rows == ep->records;
	out->totals_ok = u256_eq(&out->rc.cpu_seconds, &ep->cpu_seconds) &&
			 u256_eq(&out->rc.gpu_seconds, &ep->gpu_seconds);
	if (!s->rpc) {
		snprintf(out->ledger_error, sizeof(out->ledger_error), "%s", s->chain_problem);
	} else if (ledger_word(s, "isCommitted(uint64)", (uint64_t)ep->epoch, committed, &e) ||
		   ledger_word(s, "rootOf(uint64)", (uint64_t)ep->epoch, out->ledger_root, &e)) {
		snprintf(out->ledger_error, sizeof(out->ledger_error), "%s", e.message);
	} else {
		out->asked = true;
		out->committed = committed[31] == 1;
		out->ledger_ok = out->committed && !memcmp(out->ledger_root, out->rc.root, 32);
	}
	if (out->rc.problem[0])
		snprintf(out->detail, sizeof(out->detail), "epoch_records: %s", out->rc.problem);
	else if (!out->stored_ok)
		snprintf(out->detail, sizeof(out->detail),
			 "epoch_records give root %s over %zu records; epochs holds %s over %u",
			 hex32(out->rc.root, a), out->rc.rows, hex32(ep->root, b), ep->records);
	else if (!out->totals_ok)
		snprintf(out->detail, sizeof(out->detail),
			 "epochs' cpu or gpu seconds differ from the sums of epoch_records");
	else if (!out->asked)
		snprintf(out->detail, sizeof(out->detail), "ledger not asked: %s", out->ledger_error);
	else if (!out->committed)
		snprintf(out->detail, sizeof(out->detail), "the ledger does not hold epoch %" PRId64
			 " (yet)", ep->epoch);
	else if (!out->ledger_ok)
		snprintf(out->detail, sizeof(out->detail), "rootOf(%" PRId64 ") is %s",
			 ep->epoch, hex32(out->ledger_root, a));
	out->verdict = !out->stored_ok || !out->totals_ok ? RECONCILED_NO :
		       !out->asked ? RECONCILED_UNKNOWN :
		       !out->committed ? RECONCILED_NOT_COMMITTED :
		       !out->ledger_ok ? RECONCILED_NO : RECONCILED_YES;
	return 0;
}

/* The vault's events SIG for EPOCH (its first indexed argument), from the
 * deployment block: *logs is the JSON array eth_getLogs returns. */
static int vault_logs(struct chain_session *s, const char *sig, uint64_t epoch,
		      json_object **logs, struct jsonrpc_error *e)
{
	uint8_t topic0[32], topic1[32] = { 0 };
	char t0[BYTES32_HEX_LEN + 1], t1[BYTES32_HEX_LEN + 1], from[24];
	char addr[ETH_ADDRESS_HEX_LEN + 1];
	json_object *filter = json_object_new_object(), *topics = json_object_new_array();
	json_object *params = json_object_new_array();

	*logs = NULL;
	if (!filter || !topics || !params) {
		json_object_put(filter);
		json_object_put(topics);
		json_object_put(params);
		e->kind = JSONRPC_ERR_LOCAL;
		snprintf(e->message, sizeof(e->message), "out of memory");
		return -1;
	}
	keccak256(sig, strlen(sig), topic0);
	for (int i = 0; i < 8; i++)
		topic1[31 - i] = (uint8_t)(epoch >> (8 * i));
	eth_address_format(&s->dep.vault, addr);
	snprintf(from, sizeof(from), "0x%" PRIx64, s->dep.has_deploy_block ? s->dep.deploy_block : 0);
	json_object_array_add(topics, json_object_new_string(hex32(topic0, t0)));
	json_object_array_add(topics, json_object_new_string(hex32(topic1, t1)));
	json_object_object_add(filter, "address", json_object_new_string(addr));
	json_object_object_add(filter, "fromBlock", json_object_new_string(from));
	json_object_object_add(filter, "toBlock", json_object_new_string("latest"));
	json_object_object_add(filter, "topics", topics);
	json_object_array_add(params, filter);
	if (jsonrpc_call(s->rpc, "eth_getLogs", params, logs, e))
		return -1;
	if (!json_object_is_type(*logs, json_type_array)) {
		json_object_put(*logs);
		*logs = NULL;
		e->kind = JSONRPC_ERR_PROTOCOL;
		snprintf(e->message, sizeof(e->message), "eth_getLogs: %s: not an array", sig);
		return -1;
	}
	return 0;
}

/* Word SLOT of a log's data. */
static int log_data_uint(json_object *log, size_t slot, struct u256 *out)
{
	json_object *d;
	uint8_t *data = NULL;
	size_t len = 0;
	int rv;

	if (!json_object_object_get_ex(log, "data", &d) ||
	    eth_hex_decode(json_object_get_string(d), &data, &len))
		return -1;
	rv = abi_decode_uint(data, len, slot, 256, out);
	free(data);
	return rv;
}

/* The amount of the vault's Swept event for EPOCH. */
static int swept_amount(struct chain_session *s, uint64_t epoch, struct u256 *amount,
			struct jsonrpc_error *e)
{
	json_object *logs;
	size_t n;
	int rv = 0;

	if (vault_logs(s, "Swept(uint64,address,uint256)", epoch, &logs, e))
		return -1;
	n = json_object_array_length(logs);
	if (n != 1 || log_data_uint(json_object_array_get_idx(logs, 0), 0, amount)) {
		e->kind = JSONRPC_ERR_PROTOCOL;
		snprintf(e->message, sizeof(e->message),
			 "eth_getLogs: %zu Swept events for epoch %" PRIu64 ", expected one", n, epoch);
		rv = -1;
	}
	json_object_put(logs);
	return rv;
}

int chain_vault_claims(struct chain_session *s, uint64_t epoch, struct chain_claim **claims,
		       size_t *nclaims, struct jsonrpc_error *e)
{
	json_object *logs, *topics, *t2;
	size_t n;
	uint8_t acct[32];
	int rv = -1;

	*claims = NULL;
	*nclaims = 0;
	if (vault_logs(s, "Claimed(uint64,uint256,address,uint256)", epoch, &logs, e))
		return -1;
	n = json_object_array_length(logs);
	if (n && !(*claims = calloc(n, sizeof(**claims)))) {
		e->kind = JSONRPC_ERR_LOCAL;
		snprintf(e->message, sizeof(e->message), "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *log = json_object_array_get_idx(logs, i);
		struct chain_claim *c = &(*claims)[i];
		struct u256 index;

		if (!json_object_object_get_ex(log, "topics", &topics) ||
		    !(t2 = json_object_array_get_idx(topics, 2)) ||
		    bytes32_parse(json_object_get_string(t2), acct) ||
		    log_data_uint(log, 0, &index) || u256_to_u64(&index, &c->index) ||
		    log_data_uint(log, 1, &c->amount)) {
			e->kind = JSONRPC_ERR_PROTOCOL;
			snprintf(e->message, sizeof(e->message),
				 "eth_getLogs: Claimed event %zu of epoch %" PRIu64 " is malformed", i, epoch);
			free(*claims);
			*claims = NULL;
			goto out;
		}
		memcpy(c->account.b, acct + 12, 20);
	}
	*nclaims = n;
	rv = 0;
out:
	json_object_put(logs);
	return rv;
}

int chain_vault_epoch(struct chain_session *s, uint64_t epoch, struct chain_vault_epoch *v,
		      struct jsonrpc_error *e)
{
	uint8_t *ret = NULL;
	size_t rlen = 0;
	uint64_t asset = 0, swept = 0;
	struct u256 left;
	int rv = -1;

	memset(v, 0, sizeof(*v));
	if (!s->rpc || !s->dep.has_vault) {
		e->kind = JSONRPC_ERR_LOCAL;
		snprintf(e->message, sizeof(e->message), "%.*s", (int)sizeof(e->message) - 1,
			 !s->rpc ? s->chain_problem : "the deployment names no VAULT_ADDRESS");
		return -1;
	}
	/* epochs(uint64) -> (bytes32 root, uint8 asset, uint128 funded,
	 * uint128 remaining, uint64 deadline, bool swept) */
	if (view_call(s, &s->dep.vault, "epochs(uint64)", epoch, &ret, &rlen, e))
		goto out;
	if (abi_decode_uint64(ret, rlen, 1, 8, &asset) || asset > 2 ||
	    abi_decode_uint(ret, rlen, 2, 128, &v->funded) ||
	    abi_decode_uint(ret, rlen, 3, 128, &v->remaining) ||
	    abi_decode_uint64(ret, rlen, 4, 64, &v->deadline) ||
	    abi_decode_uint64(ret, rlen, 5, 8, &swept) || swept > 1) {
		e->kind = JSONRPC_ERR_PROTOCOL;
		snprintf(e->message, sizeof(e->message),
			 "RewardVault.epochs(%" PRIu64 "): malformed answer (%zu bytes)", epoch, rlen);
		goto out;
	}
	v->asset = (int)asset;
	v->swept = swept;
	left = v->remaining;
	if (v->swept && swept_amount(s, epoch, &left, e))
		goto out;
	if (u256_sub(&v->paid, &v->funded, &left)) {
		e->kind = JSONRPC_ERR_PROTOCOL;
		snprintf(e->message, sizeof(e->message),
			 "RewardVault epoch %" PRIu64 ": more left than funded", epoch);
		goto out;
	}
	rv = 0;
out:
	free(ret);
	return rv;
}

static int chain_verify(struct cli *c, int64_t epoch)
{
	struct chain_epoch ep;
	struct chain_reconciliation r;
	char err[512], ours[BYTES32_HEX_LEN + 1], stored[BYTES32_HEX_LEN + 1];
	char theirs[BYTES32_HEX_LEN + 1];
	bool found = false;
	int exit_rc;

	if (chain_store_epoch(c->s.db, epoch, &ep, &found, err, sizeof(err)) ||
	    (found && chain_reconcile(&c->s, &ep, &r, err, sizeof(err)))) {
		fprintf(stderr, "quorate: error: database: %s\n", err);
		return CHAIN_EXIT_UNREACHABLE;
	}
	if (!found) {
		fprintf(stderr, "quorate: chain verify: no closed epoch %" PRId64 " in the database\n",
			epoch);
		return CHAIN_EXIT_UNKNOWN;
	}
	if (!r.asked) {
		fprintf(stderr, "quorate: error: ledger: %s\n", r.ledger_error);
		return CHAIN_EXIT_UNREACHABLE;
	}
	hex32(r.rc.root, ours);
	hex32(ep.root, stored);
	hex32(r.ledger_root, theirs);
	exit_rc = r.verdict == RECONCILED_NO ? CHAIN_EXIT_MISMATCH :
		  r.verdict == RECONCILED_NOT_COMMITTED ? CHAIN_EXIT_NOT_COMMITTED : CHAIN_EXIT_OK;
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "epoch", json_object_new_int64(epoch));
		json_object_object_add(o, "records", json_object_new_int64((int64_t)r.rc.rows));
		json_object_object_add(o, "recomputed_root", json_object_new_string(ours));
		json_object_object_add(o, "stored_root", json_object_new_string(stored));
		json_object_object_add(o, "ledger_root", json_object_new_string(theirs));
		json_object_object_add(o, "committed", json_object_new_boolean(r.committed));
		json_object_object_add(o, "stored_matches",
				       json_object_new_boolean(r.stored_ok && r.totals_ok));
		json_object_object_add(o, "ledger_matches", json_object_new_boolean(r.ledger_ok));
		if (r.rc.problem[0])
			json_object_object_add(o, "problem", json_object_new_string(r.rc.problem));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return exit_rc;
	}
	printf("epoch %" PRId64 ": %zu records, recomputed root %s\n", epoch, r.rc.rows, ours);
	if (r.rc.problem[0])
		printf("records: MISMATCH: %s\n", r.rc.problem);
	if (!r.stored_ok)
		printf("stored root: MISMATCH: epochs.root %s, records %u\n", stored, ep.records);
	else if (!r.totals_ok)
		printf("stored totals: MISMATCH: epochs' cpu or gpu seconds differ from the records' sums\n");
	else
		printf("stored root: matches\n");
	if (!r.committed)
		printf("ledger: epoch %" PRId64 " not committed (yet)\n", epoch);
	else if (!r.ledger_ok)
		printf("ledger: MISMATCH: rootOf(%" PRId64 ") = %s\n", epoch, theirs);
	else
		printf("ledger: matches (rootOf(%" PRId64 ") = %s)\n", epoch, theirs);
	return exit_rc;
}

int quorate_chain_main(int argc, char **argv, const struct quorate_conf *conf,
		       bool json, int timeout_s)
{
	struct cli c = { .conf = conf, .json = json };
	long epoch = 0;
	char err[128], err2[512];
	int rc;

	if (argc < 2) {
		fprintf(stderr, "quorate: chain: no subcommand (allowed: status, verify EPOCH) "
			"(see quorate --help)\n");
		return CHAIN_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "status")) {
		if (argc != 2) {
			fprintf(stderr, "quorate: chain status: unexpected argument '%s' "
				"(see quorate --help)\n", argv[2]);
			return CHAIN_EXIT_USAGE;
		}
	} else if (!strcmp(argv[1], "verify")) {
		if (argc != 3) {
			fprintf(stderr, "quorate: chain verify: %s (see quorate --help)\n",
				argc < 3 ? "EPOCH missing" : "one EPOCH only");
			return CHAIN_EXIT_USAGE;
		}
		if (conf_parse_long(argv[2], 0, INT64_MAX, &epoch, err, sizeof(err))) {
			fprintf(stderr, "quorate: chain verify: EPOCH '%s': %s (allowed 0..%" PRId64
				") (see quorate --help)\n", argv[2], err, INT64_MAX);
			return CHAIN_EXIT_USAGE;
		}
	} else {
		fprintf(stderr, "quorate: chain: unknown subcommand '%s' (allowed: status, verify "
			"EPOCH) (see quorate --help)\n", argv[1]);
		return CHAIN_EXIT_USAGE;
	}
	rc = chain_session_open(&c.s, conf, timeout_s, true, err2, sizeof(err2));
	if (rc != CHAIN_EXIT_OK)
		fprintf(stderr, "quorate: error: %s\n", err2);
	else
		rc = !strcmp(argv[1], "status") ? chain_status(&c) : chain_verify(&c, epoch);
	chain_session_close(&c.s);
	return rc;
}
