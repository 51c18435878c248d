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
#include "keyfile.h"
#include "quorate_chain.h"

#define STATUS_CONFIRMED_SHOWN 20	/* newest confirmed epochs listed */

struct cli {
	const struct quorate_conf *conf;
	bool json;
	struct chain_deployment dep;
	struct jsonrpc_client *rpc;
	PGconn *db;
	bool curl_ready;		/* jsonrpc_global_init done: fini at close */
};

static int cli_open(struct cli *c, int timeout_s)
{
	struct jsonrpc_options o = { .connect_timeout_ms = 5000,
				     .timeout_ms = (long)timeout_s * 1000 };
	struct jsonrpc_error e;
	char err[512];

	if (!c->conf->chain_rpc || !c->conf->chain_deployment) {
		fprintf(stderr, "quorate: error: chain: quorate.conf sets no ChainRPC and "
			"ChainDeployment\n");
		return CHAIN_EXIT_USAGE;
	}
	if (deployment_read(c->conf->chain_deployment, &c->dep, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: %s\n", err);
		return CHAIN_EXIT_USAGE;
	}
	o.ca_file = c->conf->chain_ca_file;
	if (jsonrpc_global_init()) {
		fprintf(stderr, "quorate: error: cannot initialise libcurl\n");
		return CHAIN_EXIT_UNREACHABLE;
	}
	c->curl_ready = true;
	c->rpc = jsonrpc_client_new(c->conf->chain_rpc, &o, &e);
	if (!c->rpc) {
		fprintf(stderr, "quorate: error: ChainRPC: %s\n", e.message);
		return CHAIN_EXIT_USAGE;
	}
	c->db = PQconnectdb(c->conf->database);
	if (PQstatus(c->db) != CONNECTION_OK) {
		fprintf(stderr, "quorate: error: database: %s", PQerrorMessage(c->db));
		return CHAIN_EXIT_UNREACHABLE;
	}
	return CHAIN_EXIT_OK;
}

static void cli_close(struct cli *c)
{
	if (c->db)
		PQfinish(c->db);
	jsonrpc_client_free(c->rpc);
	if (c->curl_ready)
		jsonrpc_global_fini();
}

/* One word of a view function of the ledger. */
static int ledger_word(struct cli *c, const char *sig, uint64_t epoch, uint8_t word[32],
		       struct jsonrpc_error *e)
{
	struct abi_arg a = abi_uint(64, epoch);
	struct eth_call_request req = { .to = &c->dep.ledger };
	uint8_t *data = NULL, *ret = NULL;
	size_t len, rlen = 0;
	char err[256];
	int rv = -1;

	if (abi_encode_call(sig, &a, 1, &data, &len, err, sizeof(err))) {
		e->kind = JSONRPC_ERR_LOCAL;
		snprintf(e->message, sizeof(e->message), "%s: %s", sig, err);
		return -1;
	}
	req.data = data;
	req.data_len = len;
	if (eth_call(c->rpc, &req, "latest", &ret, &rlen, e))
		goto out;
	if (abi_decode_bytes32(ret, rlen, 0, word)) {
		e->kind = JSONRPC_ERR_PROTOCOL;
		snprintf(e->message, sizeof(e->message), "%s: %zu bytes returned, not one word",
			 sig, rlen);
		goto out;
	}
	rv = 0;
out:
	free(data);
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
	if (!chain_store_last_sender(c->db, a, &found, err, sizeof(err)) && found) {
		*from = "last transaction";
		return true;
	}
	if (c->dep.has_poster) {
		*a = c->dep.poster;
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

	if (chain_store_list(c->db, STATUS_CONFIRMED_SHOWN, &rows, &n, &counts, err, sizeof(err))) {
		fprintf(stderr, "quorate: error: database: %s\n", err);
		return CHAIN_EXIT_UNREACHABLE;
	}
	have_acct = poster_account(c, &acct, &from);
	node_up = !eth_chain_id(c->rpc, &chain_id, &e) && !eth_block_number(c->rpc, &head, &e) &&
		  (!have_acct || (!eth_get_balance(c->rpc, &acct, "latest", &balance, &e) &&
				  !eth_get_transaction_count(c->rpc, &acct, "latest", &nonce, &e)));
	if (node_up && have_acct)
		u256_to_dec(&balance, bal);
	eth_address_format(&c->dep.ledger, ledger);
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
				       json_object_new_int64((int64_t)c->dep.chain_id));
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
			       chain_id == c->dep.chain_id ? "" : " (NOT the deployment's chain)");
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
	     chain_id != c->dep.chain_id ? CHAIN_EXIT_MISMATCH : CHAIN_EXIT_OK;
	chain_rows_free(rows, n);
	return rc;
}

static bool u256_eq(const struct u256 *a, const struct u256 *b)
{
	return u256_cmp(a, b) == 0;
}

static int chain_verify(struct cli *c, int64_t epoch)
{
	struct chain_epoch ep;
	struct chain_recomputed rc;
	struct jsonrpc_error e;
	uint8_t committed[32], onchain[32];
	char err[512], ours[BYTES32_HEX_LEN + 1], stored[BYTES32_HEX_LEN + 1];
	char theirs[BYTES32_HEX_LEN + 1];
	bool found = false, stored_ok, totals_ok, is_committed, chain_ok;
	int exit_rc;

	if (chain_store_epoch(c->db, epoch, &ep, &found, err, sizeof(err)) ||
	    (found && chain_store_recompute(c->db, epoch, &rc, err, sizeof(err)))) {
		fprintf(stderr, "quorate: error: database: %s\n", err);
		return CHAIN_EXIT_UNREACHABLE;
	}
	if (!found) {
		fprintf(stderr, "quorate: chain verify: no closed epoch %" PRId64 " in the database\n",
			epoch);
		return CHAIN_EXIT_UNKNOWN;
	}
	if (ledger_word(c, "isCommitted(uint64)", (uint64_t)epoch, committed, &e) ||
	    ledger_word(c, "rootOf(uint64)", (uint64_t)epoch, onchain, &e)) {
		fprintf(stderr, "quorate: error: ledger: %s\n", e.message);
		return CHAIN_EXIT_UNREACHABLE;
	}
	is_committed = committed[31] == 1;
	hex32(rc.root, ours);
	hex32(ep.root, stored);
	hex32(onchain, theirs);
	stored_ok = !rc.problem[0] && !memcmp(rc.root, ep.root, 32) && rc.rows == ep.records;
	totals_ok = u256_eq(&rc.cpu_seconds, &ep.cpu_seconds) &&
		    u256_eq(&rc.gpu_seconds, &ep.gpu_seconds);
	chain_ok = is_committed && !memcmp(onchain, rc.root, 32);
	exit_rc = !stored_ok || !totals_ok || (is_committed && !chain_ok) ? CHAIN_EXIT_MISMATCH :
		  !is_committed ? CHAIN_EXIT_NOT_COMMITTED : CHAIN_EXIT_OK;
	if (c->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "epoch", json_object_new_int64(epoch));
		json_object_object_add(o, "records", json_object_new_int64((int64_t)rc.rows));
		json_object_object_add(o, "recomputed_root", json_object_new_string(ours));
		json_object_object_add(o, "stored_root", json_object_new_string(stored));
		json_object_object_add(o, "ledger_root", json_object_new_string(theirs));
		json_object_object_add(o, "committed", json_object_new_boolean(is_committed));
		json_object_object_add(o, "stored_matches", json_object_new_boolean(stored_ok && totals_ok));
		json_object_object_add(o, "ledger_matches", json_object_new_boolean(chain_ok));
		if (rc.problem[0])
			json_object_object_add(o, "problem", json_object_new_string(rc.problem));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return exit_rc;
	}
	printf("epoch %" PRId64 ": %zu records, recomputed root %s\n", epoch, rc.rows, ours);
	if (rc.problem[0])
		printf("records: MISMATCH: %s\n", rc.problem);
	if (!stored_ok)
		printf("stored root: MISMATCH: epochs.root %s, records %u\n", stored, ep.records);
	else if (!totals_ok)
		printf("stored totals: MISMATCH: epochs' cpu or gpu seconds differ from the records' sums\n");
	else
		printf("stored root: matches\n");
	if (!is_committed)
		printf("ledger: epoch %" PRId64 " not committed (yet)\n", epoch);
	else if (!chain_ok)
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
	char err[128];
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
	rc = cli_open(&c, timeout_s);
	if (rc == CHAIN_EXIT_OK)
		rc = !strcmp(argv[1], "status") ? chain_status(&c) : chain_verify(&c, epoch);
	cli_close(&c);
	return rc;
}
