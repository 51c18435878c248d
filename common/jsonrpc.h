/*
 * jsonrpc.h - a small JSON-RPC 2.0 client over HTTP(S) (libcurl, json-c)
 * and the Ethereum methods quorated uses, as typed calls.
 *
 * One curl handle per client (a client is not shared between threads
 * without a lock); no global state here.  libcurl wants curl_global_init
 * once per process before any thread starts: call jsonrpc_global_init()
 * early in main() and jsonrpc_global_fini() at exit.
 *
 * Every call returns 0, or -1 with *err filled: its kind says whether to
 * retry (TRANSPORT, HTTP) or not (RPC errors such as a revert, PROTOCOL).
 * Quantities are parsed strictly with overflow checks; 256-bit values stay
 * 32-byte big-endian integers.
 */
#ifndef QUORATE_JSONRPC_H
#define QUORATE_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ethtypes.h"

enum jsonrpc_error_kind {
	JSONRPC_OK = 0,
	JSONRPC_ERR_TRANSPORT,	/* connect, timeout, TLS, reset: try again later */
	JSONRPC_ERR_HTTP,	/* a status other than 2xx (code = status) */
	JSONRPC_ERR_PROTOCOL,	/* not a JSON-RPC 2.0 answer, or not the type expected */
	JSONRPC_ERR_RPC,	/* the node's error object (code, message, data) */
	JSONRPC_ERR_LOCAL,	/* out of memory, bad argument */
};

struct jsonrpc_error {
	enum jsonrpc_error_kind kind;
	long code;		/* RPC error code, HTTP status or CURLcode */
	char message[512];	/* "METHOD: what happened" */
	char data[2048];	/* the RPC error's data (revert data "0x..."), may be cut */
};

struct jsonrpc_options {
	long connect_timeout_ms;	/* 0: 5000 */
	long timeout_ms;		/* whole request; 0: 30000 */
	const char *ca_file;		/* NULL: the system's CA store */
};

struct jsonrpc_client;

int jsonrpc_global_init(void);
void jsonrpc_global_fini(void);

/* URL: http:// or https:// only (TLS peer and host verification always on;
 * no redirects followed).  NULL with err set on failure. */
struct jsonrpc_client *jsonrpc_client_new(const char *url,
					  const struct jsonrpc_options *opts,
					  struct jsonrpc_error *err);
void jsonrpc_client_free(struct jsonrpc_client *c);

/* METHOD(params): params (an array, or NULL for []) is consumed; *result is
 * the caller's to json_object_put. */
int jsonrpc_call(struct jsonrpc_client *c, const char *method,
		 json_object *params, json_object **result,
		 struct jsonrpc_error *err);

/* A revert reason from an RPC error's data (abi_revert_reason), or the
 * node's message when it carries no revert data. */
void jsonrpc_error_revert_reason(const struct jsonrpc_error *err, char *out, size_t outlen);

/* --- eth_* --- */

/* A call or transaction to estimate: from/to/value may be NULL. */
struct eth_call_request {
	const struct eth_address *from;
	const struct eth_address *to;	/* NULL: contract creation */
	const struct u256 *value;
	const uint8_t *data;
	size_t data_len;
};

struct eth_receipt {
	uint8_t transaction_hash[32];
	uint64_t block_number;
	uint8_t block_hash[32];
	bool success;				/* status 0x1 */
	uint64_t gas_used;
	struct u256 effective_gas_price;
	bool has_contract_address;
	struct eth_address contract_address;
};

struct eth_fee_history {
	uint64_t oldest_block;
	size_t blocks;			/* blocks the node reported */
	struct u256 next_base_fee;	/* base fee of the next block */
	struct u256 tip;		/* median of the blocks' tips at the percentile */
};

int eth_chain_id(struct jsonrpc_client *c, uint64_t *chain_id, struct jsonrpc_error *err);
int eth_block_number(struct jsonrpc_client *c, uint64_t *number, struct jsonrpc_error *err);
/* BLOCK: "latest", "pending", "safe", "finalized" or a quantity. */
int eth_get_balance(struct jsonrpc_client *c, const struct eth_address *a,
		    const char *block, struct u256 *wei, struct jsonrpc_error *err);
int eth_get_transaction_count(struct jsonrpc_client *c, const struct eth_address *a,
			      const char *block, uint64_t *count, struct jsonrpc_error *err);
int eth_estimate_gas(struct jsonrpc_client *c, const struct eth_call_request *req,
		     uint64_t *gas, struct jsonrpc_error *err);
/* *ret is malloc'd (non-NULL even when empty). */
int eth_call(struct jsonrpc_client *c, const struct eth_call_request *req,
	     const char *block, uint8_t **ret, size_t *ret_len, struct jsonrpc_error *err);
int eth_max_priority_fee_per_gas(struct jsonrpc_client *c, struct u256 *tip,
				 struct jsonrpc_error *err);
/* eth_feeHistory over the last BLOCKS blocks (1..1024) at PERCENTILE (0..100). */
int eth_fee_history(struct jsonrpc_client *c, unsigned blocks, double percentile,
		    struct eth_fee_history *fh, struct jsonrpc_error *err);
/* The node's transaction hash for the raw transaction. */
int eth_send_raw_transaction(struct jsonrpc_client *c, const uint8_t *raw, size_t len,
			     uint8_t hash[32], struct jsonrpc_error *err);
/* *found is false (and 0 returned) while the transaction is not mined. */
int eth_get_transaction_receipt(struct jsonrpc_client *c, const uint8_t hash[32],
				struct eth_receipt *r, bool *found, struct jsonrpc_error *err);
/* The hash of block NUMBER (reorg detection); *found false past the head. */
int eth_get_block_hash(struct jsonrpc_client *c, uint64_t number, uint8_t hash[32],
		       bool *found, struct jsonrpc_error *err);

#endif
