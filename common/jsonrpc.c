/*
 * jsonrpc.c - see jsonrpc.h.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "abi.h"
#include "jsonrpc.h"

/* A node's answer larger than this is refused (blocks without transaction
 * bodies and receipts are far smaller). */
#define JSONRPC_MAX_RESPONSE (16u << 20)

struct jsonrpc_client {
	CURL *curl;
	struct curl_slist *headers;
	uint64_t next_id;
	char *body;
	size_t body_len;
	size_t body_cap;
	bool body_overflow;
	char curl_err[CURL_ERROR_SIZE];
};

static void set_error(struct jsonrpc_error *err, enum jsonrpc_error_kind kind,
		      long code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct jsonrpc_error *err, enum jsonrpc_error_kind kind,
		      long code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->kind = kind;
	err->code = code;
	err->data[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static void clear_error(struct jsonrpc_error *err)
{
	if (err) {
		err->kind = JSONRPC_OK;
		err->code = 0;
		err->message[0] = '\0';
		err->data[0] = '\0';
	}
}

int jsonrpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void jsonrpc_global_fini(void)
{
	curl_global_cleanup();
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct jsonrpc_client *c = arg;
	size_t n = size * nmemb, cap;
	char *nb;

	if (n > JSONRPC_MAX_RESPONSE - c->body_len) {
		c->body_overflow = true;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	if (c->body_len + n + 1 > c->body_cap) {
		cap = c->body_cap ? c->body_cap : 4096;
		while (cap < c->body_len + n + 1)
			cap *= 2;
		nb = realloc(c->body, cap);
		if (!nb)
			return 0;
		c->body = nb;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, p, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	return n;
}

struct jsonrpc_client *jsonrpc_client_new(const char *url,
					  const struct jsonrpc_options *opts,
					  struct jsonrpc_error *err)
{
	struct jsonrpc_client *c;
	long connect_ms = opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
	long total_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	struct curl_slist *h;
	bool ok = true;

	clear_error(err);
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		set_error(err, JSONRPC_ERR_LOCAL, 0, "RPC URL '%s': must start with http:// or https://",
			  url ? url : "(none)");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->curl = curl_easy_init())) {
		free(c);
		set_error(err, JSONRPC_ERR_LOCAL, 0, "out of memory");
		return NULL;
	}
	c->next_id = 1;
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	h = c->headers ? curl_slist_append(c->headers, "Accept: application/json") : NULL;
	if (!h) {
		jsonrpc_client_free(c);
		set_error(err, JSONRPC_ERR_LOCAL, 0, "out of memory");
		return NULL;
	}
	c->headers = h;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_URL, url) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_POST, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, total_ms) == CURLE_OK;
	/* No SIGALRM for name resolution timeouts: quorated is threaded. */
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c) == CURLE_OK;
	ok = ok && curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err) == CURLE_OK;
	if (ok && opts && opts->ca_file)
		ok = curl_easy_setopt(c->curl, CURLOPT_CAINFO, opts->ca_file) == CURLE_OK;
	if (!ok) {
		jsonrpc_client_free(c);
		set_error(err, JSONRPC_ERR_LOCAL, 0, "libcurl refused an option (built without http/https?)");
		return NULL;
	}
	return c;
}

void jsonrpc_client_free(struct jsonrpc_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c->body);
	free(c);
}

/* Copy error.data (usually a "0x..." string) into err->data. */
static void copy_error_data(struct jsonrpc_error *err, json_object *data)
{
	const char *s;

	if (!err || !data)
		return;
	s = json_object_is_type(data, json_type_string) ? json_object_get_string(data)
		: json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN);
	snprintf(err->data, sizeof(err->data), "%s", s ? s : "");
}

/* Printable prefix of a body that is not JSON-RPC, for the message. */
static void body_excerpt(const char *body, size_t len, char *out, size_t outlen)
{
	size_t k = 0;

	for (size_t i = 0; i < len && k + 1 < outlen && i < 160; i++)
		out[k++] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : ' ';
	out[k] = '\0';
}

/* Append V to array ARR, taking V (also when it fails); NULL V fails. */
static bool push(json_object *arr, json_object *v)
{
	if (!arr || !v)
		goto fail;
	if (json_object_array_add(arr, v))
		goto fail;
	return true;
fail:
	json_object_put(v);
	return false;
}

/* Set KEY of object O to V, taking V; NULL V fails. */
static bool put(json_object *o, const char *key, json_object *v)
{
	if (!o || !v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool only_space(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

int jsonrpc_call(struct jsonrpc_client *c, const char *method,
		 json_object *params, json_object **result,
		 struct jsonrpc_error *err)
{
	json_object *req = NULL, *resp = NULL, *v, *e;
	struct json_tokener *tok = NULL;
	const char *text;
	uint64_t id = c->next_id++;
	long status = 0;
	CURLcode cc;
	char excerpt[161];
	int rv = -1;

	*result = NULL;
	clear_error(err);
	if (!params)
		params = json_object_new_array();
	req = json_object_new_object();
	if (!req)
		json_object_put(params);
	if (!put(req, "jsonrpc", json_object_new_string("2.0")) ||
	    !put(req, "id", json_object_new_uint64(id)) ||
	    !put(req, "method", json_object_new_string(method)) ||
	    !put(req, "params", params)) {	/* put takes params, also on failure */
		set_error(err, JSONRPC_ERR_LOCAL, 0, "%s: out of memory", method);
		goto fail;
	}
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	c->body_len = 0;
	c->body_overflow = false;
	c->curl_err[0] = '\0';
	if (curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text)) != CURLE_OK) {
		set_error(err, JSONRPC_ERR_LOCAL, 0, "%s: libcurl refused the request", method);
		goto fail;
	}
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		if (c->body_overflow)
			set_error(err, JSONRPC_ERR_PROTOCOL, cc, "%s: answer larger than %u bytes",
				  method, JSONRPC_MAX_RESPONSE);
		else
			set_error(err, JSONRPC_ERR_TRANSPORT, cc, "%s: %s%s%s", method,
				  curl_easy_strerror(cc), c->curl_err[0] ? ": " : "", c->curl_err);
		goto fail;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	body_excerpt(c->body ? c->body : "", c->body_len, excerpt, sizeof(excerpt));
	if (status < 200 || status > 299) {
		set_error(err, JSONRPC_ERR_HTTP, status, "%s: HTTP status %ld%s%s", method, status,
			  excerpt[0] ? ": " : "", excerpt);
		goto fail;
	}
	tok = json_tokener_new();
	if (!tok) {
		set_error(err, JSONRPC_ERR_LOCAL, 0, "%s: out of memory", method);
		goto fail;
	}
	resp = c->body_len && c->body_len < INT_MAX ?
		json_tokener_parse_ex(tok, c->body, (int)c->body_len) : NULL;
	if (!resp || json_tokener_get_error(tok) != json_tokener_success ||
	    !only_space(c->body + json_tokener_get_parse_end(tok)) ||
	    !json_object_is_type(resp, json_type_object)) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: answer is not a JSON object: %s",
			  method, excerpt);
		goto fail;
	}
	if (!json_object_object_get_ex(resp, "jsonrpc", &v) ||
	    strcmp(json_object_get_string(v), "2.0") != 0 ||
	    !json_object_object_get_ex(resp, "id", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_uint64(v) != id) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: not a JSON-RPC 2.0 answer to request %llu: %s",
			  method, (unsigned long long)id, excerpt);
		goto fail;
	}
	if (json_object_object_get_ex(resp, "error", &e) && !json_object_is_type(e, json_type_null)) {
		json_object *code = NULL, *msg = NULL, *data = NULL;

		json_object_object_get_ex(e, "code", &code);
		json_object_object_get_ex(e, "message", &msg);
		json_object_object_get_ex(e, "data", &data);
		set_error(err, JSONRPC_ERR_RPC, code ? (long)json_object_get_int64(code) : 0,
			  "%s: %s (code %ld)", method,
			  msg ? json_object_get_string(msg) : "error without a message",
			  code ? (long)json_object_get_int64(code) : 0L);
		copy_error_data(err, data);
		goto fail;
	}
	if (!json_object_object_get_ex(resp, "result", &v)) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: answer has neither result nor error", method);
		goto fail;
	}
	*result = json_object_get(v);	/* NULL for a JSON null */
	rv = 0;
fail:
	if (tok)
		json_tokener_free(tok);
	json_object_put(resp);
	json_object_put(req);
	return rv;
}

void jsonrpc_error_revert_reason(const struct jsonrpc_error *err, char *out, size_t outlen)
{
	uint8_t *data = NULL;
	size_t len = 0;

	if (err->data[0] && !eth_hex_decode(err->data, &data, &len)) {
		abi_revert_reason(data, len, out, outlen);
		free(data);
		return;
	}
	snprintf(out, outlen, "%s", err->message);
}

/* --- typed calls --- */

/* Call METHOD and require a string result; *s lives as long as *holder. */
static int call_string(struct jsonrpc_client *c, const char *method, json_object *params,
		       json_object **holder, const char **s, struct jsonrpc_error *err)
{
	if (jsonrpc_call(c, method, params, holder, err))
		return -1;
	if (!*holder || !json_object_is_type(*holder, json_type_string)) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: result is not a string", method);
		json_object_put(*holder);
		*holder = NULL;
		return -1;
	}
	*s = json_object_get_string(*holder);
	return 0;
}

static int call_u64(struct jsonrpc_client *c, const char *method, json_object *params,
		    uint64_t *out, struct jsonrpc_error *err)
{
	json_object *r = NULL;
	const char *s;
	int rv = -1;

	if (call_string(c, method, params, &r, &s, err))
		return -1;
	if (quantity_to_u64(s, out))
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: '%.80s' is not a 64-bit quantity", method, s);
	else
		rv = 0;
	json_object_put(r);
	return rv;
}

static int call_u256(struct jsonrpc_client *c, const char *method, json_object *params,
		     struct u256 *out, struct jsonrpc_error *err)
{
	json_object *r = NULL;
	const char *s;
	int rv = -1;

	if (call_string(c, method, params, &r, &s, err))
		return -1;
	if (u256_from_quantity(out, s))
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: '%.80s' is not a 256-bit quantity", method, s);
	else
		rv = 0;
	json_object_put(r);
	return rv;
}

static json_object *new_address(const struct eth_address *a)
{
	char hex[ETH_ADDRESS_HEX_LEN + 1];

	eth_address_format(a, hex);
	return json_object_new_string(hex);
}

/* [A] or [A, B] (B may be NULL); takes A and B; NULL when out of memory. */
static json_object *params_of(json_object *a, json_object *b)
{
	json_object *p = json_object_new_array();

	if (!push(p, a)) {
		json_object_put(b);
		json_object_put(p);
		return NULL;
	}
	if (b && !push(p, b)) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

/* params for address-and-block methods: [address, block] */
static json_object *address_block_params(const struct eth_address *a, const char *block)
{
	return params_of(new_address(a), json_object_new_string(block ? block : "latest"));
}

/* The transaction object of eth_call / eth_estimateGas. */
static json_object *call_object(const struct eth_call_request *req)
{
	json_object *o = json_object_new_object();
	char q[U256_HEX_LEN + 1], *data;
	bool ok = o != NULL;

	if (ok && req->from)
		ok = put(o, "from", new_address(req->from));
	if (ok && req->to)
		ok = put(o, "to", new_address(req->to));
	if (ok && req->value) {
		u256_to_quantity(req->value, q);
		ok = put(o, "value", json_object_new_string(q));
	}
	if (ok && req->data_len) {
		/* Both names: newer nodes read "input", older ones only "data";
		 * geth accepts the two when they agree. */
		data = eth_hex_encode(req->data, req->data_len);
		ok = put(o, "input", data ? json_object_new_string(data) : NULL) &&
		     put(o, "data", data ? json_object_new_string(data) : NULL);
		free(data);
	}
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

#define NEED(params, method) do { \
	if (!(params)) { \
		set_error(err, JSONRPC_ERR_LOCAL, 0, "%s: out of memory", method); \
		return -1; \
	} } while (0)

int eth_chain_id(struct jsonrpc_client *c, uint64_t *chain_id, struct jsonrpc_error *err)
{
	return call_u64(c, "eth_chainId", NULL, chain_id, err);
}

int eth_block_number(struct jsonrpc_client *c, uint64_t *number, struct jsonrpc_error *err)
{
	return call_u64(c, "eth_blockNumber", NULL, number, err);
}

int eth_get_balance(struct jsonrpc_client *c, const struct eth_address *a,
		    const char *block, struct u256 *wei, struct jsonrpc_error *err)
{
	json_object *p = address_block_params(a, block);

	NEED(p, "eth_getBalance");
	return call_u256(c, "eth_getBalance", p, wei, err);
}

int eth_get_transaction_count(struct jsonrpc_client *c, const struct eth_address *a,
			      const char *block, uint64_t *count, struct jsonrpc_error *err)
{
	json_object *p = address_block_params(a, block);

	NEED(p, "eth_getTransactionCount");
	return call_u64(c, "eth_getTransactionCount", p, count, err);
}

int eth_estimate_gas(struct jsonrpc_client *c, const struct eth_call_request *req,
		     uint64_t *gas, struct jsonrpc_error *err)
{
	json_object *p = params_of(call_object(req), NULL);

	NEED(p, "eth_estimateGas");
	return call_u64(c, "eth_estimateGas", p, gas, err);
}

int eth_call(struct jsonrpc_client *c, const struct eth_call_request *req,
	     const char *block, uint8_t **ret, size_t *ret_len, struct jsonrpc_error *err)
{
	json_object *p = params_of(call_object(req), json_object_new_string(block ? block : "latest"));
	json_object *r = NULL;
	const char *s;
	int rv = -1;

	*ret = NULL;
	*ret_len = 0;
	NEED(p, "eth_call");
	if (call_string(c, "eth_call", p, &r, &s, err))
		return -1;
	if (eth_hex_decode(s, ret, ret_len))
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "eth_call: result is not 0x-prefixed hex bytes");
	else
		rv = 0;
	json_object_put(r);
	return rv;
}

int eth_max_priority_fee_per_gas(struct jsonrpc_client *c, struct u256 *tip,
				 struct jsonrpc_error *err)
{
	return call_u256(c, "eth_maxPriorityFeePerGas", NULL, tip, err);
}

static int cmp_u256(const void *a, const void *b)
{
	return u256_cmp(a, b);
}

int eth_fee_history(struct jsonrpc_client *c, unsigned blocks, double percentile,
		    struct eth_fee_history *fh, struct jsonrpc_error *err)
{
	static const char *m = "eth_feeHistory";
	json_object *p, *pct, *r = NULL, *v, *base, *reward;
	struct u256 *tips = NULL;
	size_t n_base, n_tips = 0;
	char q[19];
	int rv = -1;

	memset(fh, 0, sizeof(*fh));
	if (blocks < 1 || blocks > 1024 || !(percentile >= 0 && percentile <= 100)) {
		set_error(err, JSONRPC_ERR_LOCAL, 0, "%s: blocks must be 1..1024, percentile 0..100", m);
		return -1;
	}
	u64_to_quantity(blocks, q);
	pct = json_object_new_array();
	if (!push(pct, json_object_new_double(percentile))) {
		json_object_put(pct);
		pct = NULL;
	}
	p = pct ? params_of(json_object_new_string(q), json_object_new_string("latest")) : NULL;
	if (!pct)
		;
	else if (!p)
		json_object_put(pct);
	else if (!push(p, pct)) {
		json_object_put(p);
		p = NULL;
	}
	NEED(p, m);
	if (jsonrpc_call(c, m, p, &r, err))
		return -1;
	if (!r || !json_object_is_type(r, json_type_object) ||
	    !json_object_object_get_ex(r, "oldestBlock", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    quantity_to_u64(json_object_get_string(v), &fh->oldest_block) ||
	    !json_object_object_get_ex(r, "baseFeePerGas", &base) ||
	    !json_object_is_type(base, json_type_array) ||
	    (n_base = json_object_array_length(base)) < 1) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: no oldestBlock or baseFeePerGas", m);
		goto fail;
	}
	/* baseFeePerGas has one entry more than blocks: the next block's. */
	v = json_object_array_get_idx(base, n_base - 1);
	if (!json_object_is_type(v, json_type_string) ||
	    u256_from_quantity(&fh->next_base_fee, json_object_get_string(v))) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: bad baseFeePerGas entry", m);
		goto fail;
	}
	fh->blocks = n_base - 1;
	if (json_object_object_get_ex(r, "reward", &reward) &&
	    json_object_is_type(reward, json_type_array) && json_object_array_length(reward)) {
		size_t n = json_object_array_length(reward);

		tips = calloc(n, sizeof(*tips));
		if (!tips) {
			set_error(err, JSONRPC_ERR_LOCAL, 0, "%s: out of memory", m);
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			json_object *row = json_object_array_get_idx(reward, i), *t;

			if (!json_object_is_type(row, json_type_array) ||
			    json_object_array_length(row) != 1 ||
			    !(t = json_object_array_get_idx(row, 0)) ||
			    !json_object_is_type(t, json_type_string) ||
			    u256_from_quantity(&tips[n_tips++], json_object_get_string(t))) {
				set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: bad reward entry %zu", m, i);
				goto fail;
			}
		}
		qsort(tips, n_tips, sizeof(*tips), cmp_u256);
		fh->tip = tips[n_tips / 2];
	}
	rv = 0;
fail:
	free(tips);
	json_object_put(r);
	return rv;
}

int eth_send_raw_transaction(struct jsonrpc_client *c, const uint8_t *raw, size_t len,
			     uint8_t hash[32], struct jsonrpc_error *err)
{
	static const char *m = "eth_sendRawTransaction";
	char *hex = eth_hex_encode(raw, len);
	json_object *p = hex ? params_of(json_object_new_string(hex), NULL) : NULL, *r = NULL;
	const char *s;
	int rv = -1;

	free(hex);
	NEED(p, m);
	if (call_string(c, m, p, &r, &s, err))
		return -1;
	if (bytes32_parse(s, hash))
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: '%.80s' is not a transaction hash", m, s);
	else
		rv = 0;
	json_object_put(r);
	return rv;
}

static int get_string(json_object *o, const char *key, const char **s)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	return 0;
}

int eth_get_transaction_receipt(struct jsonrpc_client *c, const uint8_t hash[32],
				struct eth_receipt *rc, bool *found, struct jsonrpc_error *err)
{
	static const char *m = "eth_getTransactionReceipt";
	char hex[BYTES32_HEX_LEN + 1];
	json_object *p, *r = NULL, *v;
	const char *s;
	uint64_t status;
	int rv = -1;

	memset(rc, 0, sizeof(*rc));
	*found = false;
	bytes32_format(hash, hex);
	p = params_of(json_object_new_string(hex), NULL);
	NEED(p, m);
	if (jsonrpc_call(c, m, p, &r, err))
		return -1;
	if (!r) {		/* null: not mined (yet) */
		rv = 0;
		goto fail;
	}
	if (!json_object_is_type(r, json_type_object) ||
	    get_string(r, "transactionHash", &s) || bytes32_parse(s, rc->transaction_hash) ||
	    get_string(r, "blockNumber", &s) || quantity_to_u64(s, &rc->block_number) ||
	    get_string(r, "blockHash", &s) || bytes32_parse(s, rc->block_hash) ||
	    get_string(r, "status", &s) || quantity_to_u64(s, &status) || status > 1 ||
	    get_string(r, "gasUsed", &s) || quantity_to_u64(s, &rc->gas_used)) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: receipt lacks a field or has a malformed one", m);
		goto fail;
	}
	rc->success = status == 1;
	if (!get_string(r, "effectiveGasPrice", &s) && u256_from_quantity(&rc->effective_gas_price, s)) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: malformed effectiveGasPrice", m);
		goto fail;
	}
	if (json_object_object_get_ex(r, "contractAddress", &v) &&
	    json_object_is_type(v, json_type_string)) {
		if (eth_address_parse(json_object_get_string(v), &rc->contract_address)) {
			set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: malformed contractAddress", m);
			goto fail;
		}
		rc->has_contract_address = true;
	}
	*found = true;
	rv = 0;
fail:
	json_object_put(r);
	return rv;
}

int eth_get_block_hash(struct jsonrpc_client *c, uint64_t number, uint8_t hash[32],
		       bool *found, struct jsonrpc_error *err)
{
	static const char *m = "eth_getBlockByNumber";
	char q[19];
	json_object *p, *r = NULL;
	const char *s;
	int rv = -1;

	*found = false;
	u64_to_quantity(number, q);
	p = params_of(json_object_new_string(q), json_object_new_boolean(0));
	NEED(p, m);
	if (jsonrpc_call(c, m, p, &r, err))
		return -1;
	if (!r) {
		rv = 0;
		goto fail;
	}
	if (!json_object_is_type(r, json_type_object) || get_string(r, "hash", &s) ||
	    bytes32_parse(s, hash)) {
		set_error(err, JSONRPC_ERR_PROTOCOL, 0, "%s: block without a valid hash", m);
		goto fail;
	}
	*found = true;
	rv = 0;
fail:
	json_object_put(r);
	return rv;
}
