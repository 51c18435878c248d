/*
 * eth_tool - libquorate_eth from the command line, for the integration
 * tests (t55-t59) and for debugging a chain setup by hand.  Not installed;
 * the user-facing commands are `quorate chain ...`.
 *
 *   eth_tool address --key FILE
 *   eth_tool keccak [--hex] TEXT
 *   eth_tool info --rpc URL (--address ADDR | --key FILE)
 *   eth_tool send --rpc URL --key FILE [--to ADDR] [--value WEI]
 *                 [--data HEX | --sig SIG [ARG...]] [--gas N] [--nonce N]
 *                 [--tip WEI] [--max-fee WEI] [--wait SECS] [--no-send] [--print-raw]
 *   eth_tool call --rpc URL --to ADDR --sig SIG [ARG...] [--returns T1,T2,...]
 *   eth_tool rpc --rpc URL METHOD [JSON-PARAMS]
 *   eth_tool block-hash --rpc URL N
 *   eth_tool decode-tx HEX
 *   eth_tool fee-bump WEI PERCENT
 *   eth_tool merkle-bench N
 *
 * Common options: --timeout MS, --ca-file PEM (trust anchors for https).
 *
 * Exit status: 0 done; 1 bad usage or local failure; 2 transport or HTTP
 * failure (worth retrying); 3 the node's error (a revert, a refused
 * transaction) or a malformed answer; 4 mined but reverted; 5 the node's
 * transaction hash differs from ours.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "eip1559.h"
#include "ethtypes.h"
#include "jsonrpc.h"
#include "keccak.h"
#include "keyfile.h"
#include "log.h"
#include "merkle.h"
#include "rlp.h"

enum { EXIT_USAGE = 1, EXIT_TRANSPORT = 2, EXIT_RPC = 3, EXIT_REVERTED = 4, EXIT_MISMATCH = 5 };

struct opts {
	const char *rpc, *key, *to, *value, *data, *sig, *address, *tip, *max_fee, *returns, *ca_file;
	long timeout_ms;
	long wait_s;
	bool have_gas, have_nonce, no_send, print_raw, hex;
	uint64_t gas, nonce;
	char **args;		/* positional arguments after the options */
	int nargs;
};

static int rpc_exit(const struct jsonrpc_error *err)
{
	char reason[512];

	log_error("%s", err->message);
	if (err->kind == JSONRPC_ERR_RPC && err->data[0]) {
		jsonrpc_error_revert_reason(err, reason, sizeof(reason));
		log_error("revert: %s", reason);
	}
	return err->kind == JSONRPC_ERR_TRANSPORT || err->kind == JSONRPC_ERR_HTTP ? EXIT_TRANSPORT
	       : err->kind == JSONRPC_ERR_LOCAL ? EXIT_USAGE : EXIT_RPC;
}

static int parse_u64(const char *opt, const char *s, uint64_t *v)
{
	struct u256 x;

	if ((strncmp(s, "0x", 2) ? u256_from_dec(&x, s) : u256_from_quantity(&x, s)) ||
	    u256_to_u64(&x, v)) {
		log_error("%s: '%s' is not an unsigned 64-bit number", opt, s);
		return -1;
	}
	return 0;
}

static int parse_u256(const char *opt, const char *s, struct u256 *x)
{
	if (strncmp(s, "0x", 2) ? u256_from_dec(x, s) : u256_from_quantity(x, s)) {
		log_error("%s: '%s' is not an unsigned 256-bit number (decimal or 0x)", opt, s);
		return -1;
	}
	return 0;
}

static int parse_address(const char *opt, const char *s, struct eth_address *a)
{
	int rv = eth_address_parse(s, a);

	if (rv)
		log_error("%s: '%s' is %s", opt, s, rv == -2 ? "not correctly checksummed (EIP-55)"
			  : "not an address (0x and 40 hex digits)");
	return rv ? -1 : 0;
}

/* Calldata from --data HEX or --sig SIG ARG...; *data malloc'd. */
static int build_calldata(const struct opts *o, uint8_t **data, size_t *len)
{
	enum abi_type types[32];
	unsigned bits[32];
	struct abi_arg args[32];
	uint8_t (*arrays[32])[32] = { 0 };
	char err[512];
	int n, rv = -1;

	*data = NULL;
	*len = 0;
	if (o->data) {
		if (eth_hex_decode(o->data, data, len)) {
			log_error("--data: '%s' is not 0x-prefixed hex bytes", o->data);
			return -1;
		}
		return 0;
	}
	if (!o->sig)
		return 0;
	n = abi_signature_types(o->sig, types, bits, 32, err, sizeof(err));
	if (n < 0) {
		log_error("--sig: %s", err);
		return -1;
	}
	if (n != o->nargs) {
		log_error("--sig %s takes %d arguments, %d given", o->sig, n, o->nargs);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *s = o->args[i];

		args[i].type = types[i];
		args[i].bits = bits[i];
		switch (types[i]) {
		case ABI_UINT:
			if (parse_u256("argument", s, &args[i].uint))
				goto fail;
			break;
		case ABI_ADDRESS:
			if (parse_address("argument", s, &args[i].address))
				goto fail;
			break;
		case ABI_BYTES32:
			if (bytes32_parse(s, args[i].bytes32)) {
				log_error("argument %d: '%s' is not a bytes32 (0x and 64 hex digits)", i + 1, s);
				goto fail;
			}
			break;
		case ABI_BOOL:
			if (strcmp(s, "true") && strcmp(s, "false")) {
				log_error("argument %d: '%s' is not true or false", i + 1, s);
				goto fail;
			}
			args[i].boolean = !strcmp(s, "true");
			break;
		case ABI_BYTES32_ARRAY: {
			/* comma-separated; "" or "[]" for none */
			size_t k = 0, cap = 1;

			for (const char *c = s; *c; c++)
				cap += *c == ',';
			arrays[i] = calloc(cap, 32);
			if (!arrays[i])
				goto fail;
			if (*s && strcmp(s, "[]")) {
				char *copy = strdup(s), *save = NULL, *tok;

				for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
				     tok = strtok_r(NULL, ",", &save)) {
					if (bytes32_parse(tok, arrays[i][k++])) {
						log_error("argument %d: '%s' is not a bytes32", i + 1, tok);
						free(copy);
						goto fail;
					}
				}
				free(copy);
			}
			args[i].items = (const uint8_t (*)[32])arrays[i];
			args[i].n_items = k;
			break;
		}
		}
	}
	if (abi_encode_call(o->sig, args, (size_t)n, data, len, err, sizeof(err))) {
		log_error("%s", err);
		goto fail;
	}
	rv = 0;
fail:
	for (int i = 0; i < 32; i++)
		free(arrays[i]);
	return rv;
}

static struct jsonrpc_client *connect_rpc(const struct opts *o)
{
	struct jsonrpc_options jo = { .timeout_ms = o->timeout_ms, .ca_file = o->ca_file };
	struct jsonrpc_error err;
	struct jsonrpc_client *c;

	if (!o->rpc) {
		log_error("--rpc URL is required");
		return NULL;
	}
	c = jsonrpc_client_new(o->rpc, &jo, &err);
	if (!c)
		log_error("%s", err.message);
	return c;
}

static int cmd_address(const struct opts *o)
{
	uint8_t key[32];
	struct eth_address a;
	char err[512], hex[ETH_ADDRESS_HEX_LEN + 1];
	int rv;

	if (!o->key) {
		log_error("--key FILE is required");
		return EXIT_USAGE;
	}
	if (keyfile_read(o->key, key, err, sizeof(err))) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	rv = eth_key_address(key, &a);
	keyfile_wipe(key, sizeof(key));
	if (rv)
		return EXIT_USAGE;
	eth_address_format(&a, hex);
	printf("%s\n", hex);
	return 0;
}

static int cmd_keccak(const struct opts *o)
{
	uint8_t d[32], *bytes = NULL;
	size_t len;
	char hex[BYTES32_HEX_LEN + 1];

	if (o->nargs != 1) {
		log_error("keccak takes one argument");
		return EXIT_USAGE;
	}
	if (o->hex) {
		if (eth_hex_decode(o->args[0], &bytes, &len)) {
			log_error("--hex: '%s' is not 0x-prefixed hex", o->args[0]);
			return EXIT_USAGE;
		}
		keccak256(bytes, len, d);
		free(bytes);
	} else {
		keccak256(o->args[0], strlen(o->args[0]), d);
	}
	bytes32_format(d, hex);
	printf("%s\n", hex);
	return 0;
}

static int account_of(const struct opts *o, struct eth_address *a)
{
	uint8_t key[32];
	char err[512];
	int rv;

	if (o->address)
		return parse_address("--address", o->address, a);
	if (!o->key) {
		log_error("--address ADDR or --key FILE is required");
		return -1;
	}
	if (keyfile_read(o->key, key, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	rv = eth_key_address(key, a);
	keyfile_wipe(key, sizeof(key));
	return rv;
}

static int cmd_info(const struct opts *o)
{
	struct jsonrpc_client *c;
	struct jsonrpc_error err;
	struct eth_address a;
	struct eth_fee_history fh;
	struct u256 balance, tip;
	uint64_t chain, block, nonce_latest, nonce_pending;
	char hex[ETH_ADDRESS_HEX_LEN + 1], dec[U256_DEC_LEN + 1];
	int rv = EXIT_USAGE;

	if (account_of(o, &a) || !(c = connect_rpc(o)))
		return EXIT_USAGE;
	if (eth_chain_id(c, &chain, &err) || eth_block_number(c, &block, &err) ||
	    eth_get_balance(c, &a, "latest", &balance, &err) ||
	    eth_get_transaction_count(c, &a, "latest", &nonce_latest, &err) ||
	    eth_get_transaction_count(c, &a, "pending", &nonce_pending, &err) ||
	    eth_fee_history(c, 5, 50, &fh, &err) || eth_max_priority_fee_per_gas(c, &tip, &err)) {
		rv = rpc_exit(&err);
		goto out;
	}
	eth_address_format(&a, hex);
	printf("chain-id %llu\nblock %llu\naccount %s\n", (unsigned long long)chain,
	       (unsigned long long)block, hex);
	u256_to_dec(&balance, dec);
	printf("balance %s\nnonce %llu\nnonce-pending %llu\n", dec,
	       (unsigned long long)nonce_latest, (unsigned long long)nonce_pending);
	u256_to_dec(&fh.next_base_fee, dec);
	printf("next-base-fee %s\n", dec);
	u256_to_dec(&fh.tip, dec);
	printf("fee-history-tip %s\n", dec);
	u256_to_dec(&tip, dec);
	printf("max-priority-fee %s\n", dec);
	rv = 0;
out:
	jsonrpc_client_free(c);
	return rv;
}

static int wait_receipt(struct jsonrpc_client *c, const uint8_t hash[32], long wait_s)
{
	struct jsonrpc_error err;
	struct eth_receipt rc;
	bool found = false;
	char hex[ETH_ADDRESS_HEX_LEN + 1], dec[U256_DEC_LEN + 1];

	for (long i = 0; i <= wait_s * 10; i++) {
		if (eth_get_transaction_receipt(c, hash, &rc, &found, &err))
			return rpc_exit(&err);
		if (found)
			break;
		usleep(100000);
	}
	if (!found) {
		log_error("no receipt after %ld s", wait_s);
		return EXIT_TRANSPORT;
	}
	u256_to_dec(&rc.effective_gas_price, dec);
	printf("status %s\nblock %llu\ngas-used %llu\neffective-gas-price %s\n",
	       rc.success ? "success" : "reverted", (unsigned long long)rc.block_number,
	       (unsigned long long)rc.gas_used, dec);
	if (rc.has_contract_address) {
		eth_address_format(&rc.contract_address, hex);
		printf("contract %s\n", hex);
	}
	return rc.success ? 0 : EXIT_REVERTED;
}

static int cmd_send(const struct opts *o)
{
	struct jsonrpc_client *c = NULL;
	struct jsonrpc_error err;
	struct eip1559_tx tx = { 0 };
	struct eip1559_signed st = { 0 };
	struct eth_address from;
	struct eth_fee_history fh;
	uint8_t key[32], *data = NULL, node_hash[32];
	char msg[512], hex[BYTES32_HEX_LEN + 1], addr[ETH_ADDRESS_HEX_LEN + 1], *raw_hex;
	int rv = EXIT_USAGE;
	bool have_key = false;

	if (!o->key) {
		log_error("--key FILE is required");
		return EXIT_USAGE;
	}
	if (o->to && parse_address("--to", o->to, &tx.to))
		return EXIT_USAGE;
	tx.has_to = o->to != NULL;
	if (o->value && parse_u256("--value", o->value, &tx.value))
		return EXIT_USAGE;
	if ((o->tip && parse_u256("--tip", o->tip, &tx.max_priority_fee_per_gas)) ||
	    (o->max_fee && parse_u256("--max-fee", o->max_fee, &tx.max_fee_per_gas)))
		return EXIT_USAGE;
	if (build_calldata(o, &data, &tx.data_len))
		return EXIT_USAGE;
	tx.data = data;
	if (keyfile_read(o->key, key, msg, sizeof(msg))) {
		log_error("%s", msg);
		goto out;
	}
	have_key = true;
	if (eth_key_address(key, &from) || !(c = connect_rpc(o)))
		goto out;
	eth_address_format(&from, addr);
	printf("from %s\n", addr);
	if (eth_chain_id(c, &tx.chain_id, &err))
		goto rpc_fail;
	tx.nonce = o->nonce;
	if (!o->have_nonce && eth_get_transaction_count(c, &from, "pending", &tx.nonce, &err))
		goto rpc_fail;
	if (!o->tip && eth_max_priority_fee_per_gas(c, &tx.max_priority_fee_per_gas, &err))
		goto rpc_fail;
	if (!o->max_fee) {
		if (eth_fee_history(c, 1, 50, &fh, &err))
			goto rpc_fail;
		if (eip1559_max_fee(&fh.next_base_fee, &tx.max_priority_fee_per_gas, &tx.max_fee_per_gas)) {
			log_error("fee overflow");
			goto out;
		}
	}
	tx.gas_limit = o->gas;
	if (!o->have_gas) {
		struct eth_call_request req = {
			.from = &from, .to = tx.has_to ? &tx.to : NULL, .value = &tx.value,
			.data = tx.data, .data_len = tx.data_len,
		};

		if (eth_estimate_gas(c, &req, &tx.gas_limit, &err))
			goto rpc_fail;
	}
	if (eip1559_sign(&tx, key, &st)) {
		log_error("signing failed");
		goto out;
	}
	keyfile_wipe(key, sizeof(key));
	have_key = false;
	printf("chain-id %llu\nnonce %llu\ngas %llu\n", (unsigned long long)tx.chain_id,
	       (unsigned long long)tx.nonce, (unsigned long long)tx.gas_limit);
	bytes32_format(st.hash, hex);
	printf("computed %s\n", hex);
	if (o->print_raw) {
		raw_hex = eth_hex_encode(st.raw, st.raw_len);
		printf("raw %s\n", raw_hex ? raw_hex : "(out of memory)");
		free(raw_hex);
	}
	fflush(stdout);
	if (o->no_send) {
		rv = 0;
		goto out;
	}
	if (eth_send_raw_transaction(c, st.raw, st.raw_len, node_hash, &err))
		goto rpc_fail;
	bytes32_format(node_hash, hex);
	printf("node %s\n", hex);
	fflush(stdout);
	if (memcmp(node_hash, st.hash, 32)) {
		log_error("the node's transaction hash differs from ours");
		rv = EXIT_MISMATCH;
		goto out;
	}
	rv = o->wait_s > 0 ? wait_receipt(c, st.hash, o->wait_s) : 0;
	goto out;
rpc_fail:
	rv = rpc_exit(&err);
out:
	if (have_key)
		keyfile_wipe(key, sizeof(key));
	eip1559_signed_free(&st);
	free(data);
	jsonrpc_client_free(c);
	return rv;
}

/* Print static return words by type, one a line. */
static int print_returns(const char *types, const uint8_t *ret, size_t len)
{
	char sig[512], err[256];
	enum abi_type t[32];
	unsigned bits[32];
	int n;

	snprintf(sig, sizeof(sig), "r(%s)", types);
	n = abi_signature_types(sig, t, bits, 32, err, sizeof(err));
	if (n < 0) {
		log_error("--returns: %s", err);
		return EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		struct u256 x;
		struct eth_address a;
		uint8_t b[32];
		bool flag;
		char s[U256_DEC_LEN + 1], h[BYTES32_HEX_LEN + 1];
		int bad = 0;

		switch (t[i]) {
		case ABI_UINT:
			if (!(bad = abi_decode_uint(ret, len, (size_t)i, bits[i], &x))) {
				u256_to_dec(&x, s);
				printf("%s\n", s);
			}
			break;
		case ABI_ADDRESS:
			if (!(bad = abi_decode_address(ret, len, (size_t)i, &a))) {
				eth_address_format(&a, s);
				printf("%s\n", s);
			}
			break;
		case ABI_BYTES32:
			if (!(bad = abi_decode_bytes32(ret, len, (size_t)i, b))) {
				bytes32_format(b, h);
				printf("%s\n", h);
			}
			break;
		case ABI_BOOL:
			if (!(bad = abi_decode_bool(ret, len, (size_t)i, &flag)))
				printf("%s\n", flag ? "true" : "false");
			break;
		case ABI_BYTES32_ARRAY:
			log_error("--returns: only static types");
			return EXIT_USAGE;
		}
		if (bad) {
			log_error("return value %d does not decode as type %d of --returns", i + 1, i + 1);
			return EXIT_RPC;
		}
	}
	return 0;
}

static int cmd_call(const struct opts *o)
{
	struct jsonrpc_client *c;
	struct jsonrpc_error err;
	struct eth_address to;
	uint8_t *data = NULL, *ret = NULL;
	size_t len = 0, ret_len = 0;
	char *hex;
	int rv;

	if (!o->to || parse_address("--to", o->to, &to)) {
		if (!o->to)
			log_error("--to ADDR is required");
		return EXIT_USAGE;
	}
	if (build_calldata(o, &data, &len) || !(c = connect_rpc(o))) {
		free(data);
		return EXIT_USAGE;
	}
	{
		struct eth_call_request req = { .to = &to, .data = data, .data_len = len };

		if (eth_call(c, &req, "latest", &ret, &ret_len, &err)) {
			rv = rpc_exit(&err);
			goto out;
		}
	}
	if (o->returns) {
		rv = print_returns(o->returns, ret, ret_len);
	} else {
		hex = eth_hex_encode(ret, ret_len);
		printf("%s\n", hex ? hex : "(out of memory)");
		free(hex);
		rv = 0;
	}
out:
	free(ret);
	free(data);
	jsonrpc_client_free(c);
	return rv;
}

static int cmd_rpc(const struct opts *o)
{
	struct jsonrpc_client *c;
	struct jsonrpc_error err;
	json_object *params = NULL, *result = NULL;
	int rv;

	if (o->nargs < 1 || o->nargs > 2) {
		log_error("rpc takes METHOD and optional JSON params");
		return EXIT_USAGE;
	}
	if (o->nargs == 2 && !(params = json_tokener_parse(o->args[1]))) {
		log_error("params: '%s' is not JSON", o->args[1]);
		return EXIT_USAGE;
	}
	if (!(c = connect_rpc(o))) {
		json_object_put(params);
		return EXIT_USAGE;
	}
	if (jsonrpc_call(c, o->args[0], params, &result, &err)) {
		rv = rpc_exit(&err);
	} else {
		printf("%s\n", result ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN)
				      : "null");
		rv = 0;
	}
	json_object_put(result);
	jsonrpc_client_free(c);
	return rv;
}

/* The hash of block N, or "none" past the head (eth_get_block_hash). */
static int cmd_block_hash(const struct opts *o)
{
	struct jsonrpc_client *c;
	struct jsonrpc_error err;
	uint64_t n;
	uint8_t h[32];
	bool found;
	char hex[BYTES32_HEX_LEN + 1];
	int rv = 0;

	if (o->nargs != 1 || parse_u64("N", o->args[0], &n)) {
		log_error("block-hash takes a block number");
		return EXIT_USAGE;
	}
	if (!(c = connect_rpc(o)))
		return EXIT_USAGE;
	if (eth_get_block_hash(c, n, h, &found, &err)) {
		rv = rpc_exit(&err);
	} else if (found) {
		bytes32_format(h, hex);
		printf("%s\n", hex);
	} else {
		printf("none\n");
	}
	jsonrpc_client_free(c);
	return rv;
}

static int cmd_decode_tx(const struct opts *o)
{
	struct eip1559_decoded d;
	struct eth_address from;
	uint8_t *raw, h[32];
	size_t len;
	char s[U256_DEC_LEN + 1], hx[BYTES32_HEX_LEN + 1];
	int rv;

	if (o->nargs != 1 || eth_hex_decode(o->args[0], &raw, &len)) {
		log_error("decode-tx takes one 0x-prefixed raw transaction");
		return EXIT_USAGE;
	}
	rv = eip1559_decode(raw, len, &d);
	if (rv) {
		log_error("not a valid EIP-1559 transaction: %s", rlp_strerror(rv));
		free(raw);
		return EXIT_RPC;
	}
	keccak256(raw, len, h);
	bytes32_format(h, hx);
	printf("hash %s\nchain-id %llu\nnonce %llu\ngas %llu\n", hx,
	       (unsigned long long)d.tx.chain_id, (unsigned long long)d.tx.nonce,
	       (unsigned long long)d.tx.gas_limit);
	u256_to_dec(&d.tx.max_priority_fee_per_gas, s);
	printf("max-priority-fee %s\n", s);
	u256_to_dec(&d.tx.max_fee_per_gas, s);
	printf("max-fee %s\n", s);
	if (d.tx.has_to) {
		eth_address_format(&d.tx.to, s);
		printf("to %s\n", s);
	} else {
		printf("to (contract creation)\n");
	}
	u256_to_dec(&d.tx.value, s);
	printf("value %s\ndata-bytes %zu\naccess-list %zu\ny-parity %d\n", s, d.tx.data_len,
	       d.access_list_len, d.sig.y_parity);
	if (eip1559_recover_sender(&d.tx, &d.sig, &from) == 0) {
		eth_address_format(&from, s);
		printf("from %s\n", s);
	}
	free(raw);
	return 0;
}

static int cmd_fee_bump(const struct opts *o)
{
	struct u256 old, bumped;
	uint64_t pct;
	char dec[U256_DEC_LEN + 1];

	if (o->nargs != 2 || parse_u256("WEI", o->args[0], &old) ||
	    parse_u64("PERCENT", o->args[1], &pct) || pct > 1000) {
		log_error("fee-bump takes WEI and PERCENT (0..1000)");
		return EXIT_USAGE;
	}
	if (eip1559_fee_bump(&old, (unsigned)pct, &bumped)) {
		log_error("fee-bump: overflow");
		return EXIT_USAGE;
	}
	u256_to_dec(&bumped, dec);
	printf("%s\n", dec);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Contribution records of one epoch, made up, into leaves; then the tree.
 * Baseline: the same keccak256 calls (two per leaf over 224 and 32 bytes,
 * one per pair over 64 bytes) in a loop without any tree. */
static int cmd_merkle_bench(const struct opts *o)
{
	uint64_t n;
	struct merkle_tree t;
	struct contribution_leaf leaf = { .epoch = 42, .score = 1000000 };
	uint8_t root[32], buf[224], d[32], proof[MERKLE_MAX_DEPTH][32];
	double t0, t_leaves, t_tree, t_base;
	char hex[BYTES32_HEX_LEN + 1];
	int bad = 0;

	if (o->nargs != 1 || parse_u64("N", o->args[0], &n) || n == 0 || n > 100000000) {
		log_error("merkle-bench takes a number of leaves, 1..100000000");
		return EXIT_USAGE;
	}
	abi_site_id("site_a", leaf.site_id);
	memset(leaf.payee.b, 0xab, 20);
	t0 = now_s();
	if (merkle_alloc(&t, (size_t)n)) {
		log_error("out of memory for %llu leaves", (unsigned long long)n);
		return EXIT_USAGE;
	}
	for (uint64_t i = 0; i < n; i++) {
		leaf.index = (uint32_t)i;
		u256_from_u64(&leaf.cpu_seconds, 3600 + i);
		u256_from_u64(&leaf.gpu_seconds, i % 7);
		contribution_leaf_hash(&leaf, merkle_leaves(&t)[i]);
	}
	t_leaves = now_s() - t0;
	t0 = now_s();
	merkle_compute(&t);
	t_tree = now_s() - t0;
	merkle_root(&t, root);
	/* every 1000th proof folds back to the root */
	for (uint64_t i = 0; i < n; i += 1000) {
		int pn = merkle_proof(&t, (size_t)i, proof);

		bad += !merkle_verify(t.nodes[i], (const uint8_t (*)[32])proof, (size_t)pn, root);
	}
	merkle_free(&t);

	memset(buf, 0x5a, sizeof(buf));
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		buf[0] = (uint8_t)i;
		keccak256(buf, 224, d);
		keccak256(d, 32, buf + 32);
	}
	for (uint64_t i = 0; i + 1 < n; i++) {
		buf[0] = (uint8_t)i;
		keccak256(buf, 64, buf + 64);
	}
	t_base = now_s() - t0;

	bytes32_format(root, hex);
	printf("leaves %llu\nroot %s\nleaf-hashing-s %.3f\ntree-s %.3f\ntotal-s %.3f\n"
	       "tree-memory-mib %.1f\nbaseline-s %.3f\nratio %.2f\nproofs-failed %d\n",
	       (unsigned long long)n, hex, t_leaves, t_tree, t_leaves + t_tree,
	       (double)(2 * n) * 32 / (1 << 20), t_base, (t_leaves + t_tree) / t_base, bad);
	return bad ? EXIT_USAGE : 0;
}

static void usage(FILE *f)
{
	fputs("usage: eth_tool COMMAND [OPTIONS] [ARGS]\n"
	      "  address --key FILE\n"
	      "  keccak [--hex] TEXT\n"
	      "  info --rpc URL (--address ADDR | --key FILE)\n"
	      "  send --rpc URL --key FILE [--to ADDR] [--value WEI] [--data HEX | --sig SIG ARG...]\n"
	      "       [--gas N] [--nonce N] [--tip WEI] [--max-fee WEI] [--wait SECS] [--no-send] [--print-raw]\n"
	      "  call --rpc URL --to ADDR --sig SIG [ARG...] [--returns TYPES]\n"
	      "  rpc --rpc URL METHOD [JSON-PARAMS]\n"
	      "  block-hash --rpc URL N\n"
	      "  decode-tx HEX\n"
	      "  fee-bump WEI PERCENT\n"
	      "  merkle-bench N\n"
	      "common: --timeout MS (RPC request timeout, default 30000), --ca-file PEM (https)\n", f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rpc", required_argument, NULL, 'r' },
		{ "key", required_argument, NULL, 'k' },
		{ "to", required_argument, NULL, 't' },
		{ "value", required_argument, NULL, 'v' },
		{ "data", required_argument, NULL, 'd' },
		{ "sig", required_argument, NULL, 's' },
		{ "gas", required_argument, NULL, 'g' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "tip", required_argument, NULL, 'p' },
		{ "max-fee", required_argument, NULL, 'm' },
		{ "wait", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "address", required_argument, NULL, 'a' },
		{ "returns", required_argument, NULL, 'R' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "no-send", no_argument, NULL, 'N' },
		{ "print-raw", no_argument, NULL, 'P' },
		{ "hex", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct log_options lo = { .stderr_level = LOG_LEVEL_INFO };
	struct opts o = { .timeout_ms = 30000 };
	const char *cmd;
	uint64_t v;
	int c, rv;

	log_init("eth_tool", &lo);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	cmd = argv[1];
	argv++;
	argc--;
	/* "+": options first, then the arguments (which may start with 0x or -) */
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o.rpc = optarg; break;
		case 'k': o.key = optarg; break;
		case 't': o.to = optarg; break;
		case 'v': o.value = optarg; break;
		case 'd': o.data = optarg; break;
		case 's': o.sig = optarg; break;
		case 'a': o.address = optarg; break;
		case 'p': o.tip = optarg; break;
		case 'm': o.max_fee = optarg; break;
		case 'R': o.returns = optarg; break;
		case 'C': o.ca_file = optarg; break;
		case 'N': o.no_send = true; break;
		case 'P': o.print_raw = true; break;
		case 'x': o.hex = true; break;
		case 'g':
			if (parse_u64("--gas", optarg, &o.gas))
				return EXIT_USAGE;
			o.have_gas = true;
			break;
		case 'n':
			if (parse_u64("--nonce", optarg, &o.nonce))
				return EXIT_USAGE;
			o.have_nonce = true;
			break;
		case 'w':
		case 'T':
			if (parse_u64(c == 'w' ? "--wait" : "--timeout", optarg, &v) || v > 86400000)
				return EXIT_USAGE;
			if (c == 'w')
				o.wait_s = (long)v;
			else
				o.timeout_ms = (long)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	o.args = argv + optind;
	o.nargs = argc - optind;
	if (o.data && o.sig) {
		log_error("--data and --sig exclude each other");
		return EXIT_USAGE;
	}
	if (jsonrpc_global_init()) {
		log_error("curl_global_init failed");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "address"))
		rv = cmd_address(&o);
	else if (!strcmp(cmd, "keccak"))
		rv = cmd_keccak(&o);
	else if (!strcmp(cmd, "info"))
		rv = cmd_info(&o);
	else if (!strcmp(cmd, "send"))
		rv = cmd_send(&o);
	else if (!strcmp(cmd, "call"))
		rv = cmd_call(&o);
	else if (!strcmp(cmd, "rpc"))
		rv = cmd_rpc(&o);
	else if (!strcmp(cmd, "block-hash"))
		rv = cmd_block_hash(&o);
	else if (!strcmp(cmd, "decode-tx"))
		rv = cmd_decode_tx(&o);
	else if (!strcmp(cmd, "fee-bump"))
		rv = cmd_fee_bump(&o);
	else if (!strcmp(cmd, "merkle-bench"))
		rv = cmd_merkle_bench(&o);
	else {
		log_error("unknown command '%s' (allowed: address, keccak, info, send, call, rpc, "
			  "block-hash, decode-tx, fee-bump, merkle-bench)", cmd);
		rv = EXIT_USAGE;
	}
	jsonrpc_global_fini();
	log_fini();
	return rv;
}
