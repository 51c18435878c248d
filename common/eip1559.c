/*
 * eip1559.c - see eip1559.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "eip1559.h"
#include "keccak.h"
#include "rlp.h"

/* secp256k1's group order n, halved: the largest s EIP-2 allows. */
static const uint8_t half_order[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

static void put_fields(struct rlp_buf *b, const struct eip1559_tx *tx)
{
	rlp_put_uint(b, tx->chain_id);
	rlp_put_uint(b, tx->nonce);
	rlp_put_uint_be(b, tx->max_priority_fee_per_gas.be, 32);
	rlp_put_uint_be(b, tx->max_fee_per_gas.be, 32);
	rlp_put_uint(b, tx->gas_limit);
	if (tx->has_to)
		rlp_put_bytes(b, tx->to.b, sizeof(tx->to.b));
	else
		rlp_put_bytes(b, "", 0);
	rlp_put_uint_be(b, tx->value.be, 32);
	rlp_put_bytes(b, tx->data, tx->data_len);
	rlp_list_end(b, rlp_list_begin(b));	/* accessList: [] */
}

int eip1559_signing_hash(const struct eip1559_tx *tx, uint8_t out[32])
{
	struct rlp_buf b;
	uint8_t type = EIP1559_TX_TYPE;
	size_t mark;

	rlp_buf_init(&b);
	rlp_put_raw(&b, &type, 1);
	mark = rlp_list_begin(&b);
	put_fields(&b, tx);
	rlp_list_end(&b, mark);
	if (b.failed) {
		rlp_buf_free(&b);
		return -1;
	}
	keccak256(b.data, b.len, out);
	rlp_buf_free(&b);
	return 0;
}

int eip1559_encode_signed(const struct eip1559_tx *tx,
			  const struct eip1559_signature *sig,
			  struct eip1559_signed *out)
{
	struct rlp_buf b;
	uint8_t type = EIP1559_TX_TYPE;
	size_t mark;

	memset(out, 0, sizeof(*out));
	if (sig->y_parity != 0 && sig->y_parity != 1)
		return -1;
	rlp_buf_init(&b);
	rlp_put_raw(&b, &type, 1);
	mark = rlp_list_begin(&b);
	put_fields(&b, tx);
	rlp_put_uint(&b, (uint64_t)sig->y_parity);
	rlp_put_uint_be(&b, sig->r, 32);
	rlp_put_uint_be(&b, sig->s, 32);
	rlp_list_end(&b, mark);
	if (b.failed) {
		rlp_buf_free(&b);
		return -1;
	}
	out->raw = b.data;
	out->raw_len = b.len;
	out->sig = *sig;
	keccak256(out->raw, out->raw_len, out->hash);
	return 0;
}

/* A signing context blinded with fresh randomness (side-channel hardening,
 * as libsecp256k1 recommends). */
static secp256k1_context *signing_context(void)
{
	secp256k1_context *ctx;
	uint8_t seed[32];
	ssize_t n;

	do {
		n = getrandom(seed, sizeof(seed), 0);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(seed))
		return NULL;
	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (ctx && !secp256k1_context_randomize(ctx, seed)) {
		secp256k1_context_destroy(ctx);
		ctx = NULL;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	return ctx;
}

int eth_sign_digest(const uint8_t seckey[32], const uint8_t digest[32],
		    struct eip1559_signature *sig)
{
	secp256k1_context *ctx = signing_context();
	secp256k1_ecdsa_recoverable_signature rsig;
	uint8_t compact[64];
	int recid, rv = -1;

	if (!ctx || !secp256k1_ec_seckey_verify(ctx, seckey))
		goto fail;
	/* NULL nonce function: RFC 6979, deterministic; s comes out low. */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &rsig, digest, seckey, NULL, NULL))
		goto fail;
	secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact, &recid, &rsig);
	/* recid 2 or 3 (r above n) cannot be expressed in a yParity. */
	if (recid != 0 && recid != 1)
		goto fail;
	sig->y_parity = recid;
	memcpy(sig->r, compact, 32);
	memcpy(sig->s, compact + 32, 32);
	rv = 0;
fail:
	if (ctx)
		secp256k1_context_destroy(ctx);
	OPENSSL_cleanse(&rsig, sizeof(rsig));
	return rv;
}

int eip1559_sign(const struct eip1559_tx *tx, const uint8_t seckey[32],
		 struct eip1559_signed *out)
{
	struct eip1559_signature sig;
	uint8_t hash[32];

	memset(out, 0, sizeof(*out));
	if (eip1559_signing_hash(tx, hash) || eth_sign_digest(seckey, hash, &sig))
		return -1;
	return eip1559_encode_signed(tx, &sig, out);
}

void eip1559_signed_free(struct eip1559_signed *s)
{
	free(s->raw);
	memset(s, 0, sizeof(*s));
}

static int next_field(struct rlp_iter *it, struct rlp_item *item)
{
	int rv = rlp_iter_next(it, item);

	return rv == 1 ? RLP_OK : rv == 0 ? RLP_ERR_TRUNCATED : rv;
}

/* [[address, [storageKey, ...]], ...] */
static int check_access_list(const struct rlp_item *list, size_t *entries)
{
	struct rlp_iter it, pair_it, keys_it;
	struct rlp_item pair, addr, keys, key, extra;
	int rv;

	*entries = 0;
	if ((rv = rlp_iter_init(&it, list)))
		return rv;
	while ((rv = rlp_iter_next(&it, &pair)) == 1) {
		if ((rv = rlp_iter_init(&pair_it, &pair)) ||
		    (rv = next_field(&pair_it, &addr)) ||
		    (rv = next_field(&pair_it, &keys)))
			return rv;
		if (addr.is_list || addr.len != 20)
			return RLP_ERR_RANGE;
		if ((rv = rlp_iter_next(&pair_it, &extra)) != 0)
			return rv < 0 ? rv : RLP_ERR_TRAILING;
		if ((rv = rlp_iter_init(&keys_it, &keys)))
			return rv;
		while ((rv = rlp_iter_next(&keys_it, &key)) == 1)
			if (key.is_list || key.len != 32)
				return RLP_ERR_RANGE;
		if (rv)
			return rv;
		(*entries)++;
	}
	return rv;
}

int eip1559_decode(const uint8_t *raw, size_t len, struct eip1559_decoded *out)
{
	struct rlp_item list, f;
	struct rlp_iter it;
	uint64_t parity;
	int rv;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return RLP_ERR_TRUNCATED;
	if (raw[0] != EIP1559_TX_TYPE)
		return RLP_ERR_TYPE;
	/* Depth 4: the transaction, the access list, an entry, its keys. */
	if ((rv = rlp_decode(raw + 1, len - 1, 4, &list)))
		return rv;
	if ((rv = rlp_iter_init(&it, &list)))
		return rv;
	if ((rv = next_field(&it, &f)) || (rv = rlp_item_uint64(&f, &out->tx.chain_id)) ||
	    (rv = next_field(&it, &f)) || (rv = rlp_item_uint64(&f, &out->tx.nonce)) ||
	    (rv = next_field(&it, &f)) ||
	    (rv = rlp_item_uint_be(&f, out->tx.max_priority_fee_per_gas.be, 32)) ||
	    (rv = next_field(&it, &f)) ||
	    (rv = rlp_item_uint_be(&f, out->tx.max_fee_per_gas.be, 32)) ||
	    (rv = next_field(&it, &f)) || (rv = rlp_item_uint64(&f, &out->tx.gas_limit)) ||
	    (rv = next_field(&it, &f)))
		return rv;
	if (f.is_list)
		return RLP_ERR_TYPE;
	if (f.len == 20) {
		out->tx.has_to = true;
		memcpy(out->tx.to.b, f.payload, 20);
	} else if (f.len != 0)
		return RLP_ERR_RANGE;
	if ((rv = next_field(&it, &f)) || (rv = rlp_item_uint_be(&f, out->tx.value.be, 32)) ||
	    (rv = next_field(&it, &f)))
		return rv;
	if (f.is_list)
		return RLP_ERR_TYPE;
	out->tx.data = f.payload;
	out->tx.data_len = f.len;
	if ((rv = next_field(&it, &f)) || (rv = check_access_list(&f, &out->access_list_len)) ||
	    (rv = next_field(&it, &f)) || (rv = rlp_item_uint64(&f, &parity)) ||
	    (rv = next_field(&it, &f)) || (rv = rlp_item_uint_be(&f, out->sig.r, 32)) ||
	    (rv = next_field(&it, &f)) || (rv = rlp_item_uint_be(&f, out->sig.s, 32)))
		return rv;
	if (rlp_iter_next(&it, &f) != 0)
		return RLP_ERR_TRAILING;
	if (parity > 1)
		return RLP_ERR_RANGE;
	out->sig.y_parity = (int)parity;
	{
		static const uint8_t zero[32];

		if (!memcmp(out->sig.r, zero, 32) || !memcmp(out->sig.s, zero, 32) ||
		    memcmp(out->sig.s, half_order, 32) > 0)
			return RLP_ERR_RANGE;
	}
	return RLP_OK;
}

int eip1559_recover_sender(const struct eip1559_tx *tx,
			   const struct eip1559_signature *sig,
			   struct eth_address *from)
{
	secp256k1_ecdsa_recoverable_signature rsig;
	secp256k1_pubkey pub;
	uint8_t hash[32], compact[64], ser[65];
	size_t ser_len = sizeof(ser);

	if (sig->y_parity != 0 && sig->y_parity != 1)
		return -1;
	if (eip1559_signing_hash(tx, hash))
		return -1;
	memcpy(compact, sig->r, 32);
	memcpy(compact + 32, sig->s, 32);
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(secp256k1_context_static,
								 &rsig, compact, sig->y_parity) ||
	    !secp256k1_ecdsa_recover(secp256k1_context_static, &pub, &rsig, hash) ||
	    !secp256k1_ec_pubkey_serialize(secp256k1_context_static, ser, &ser_len, &pub,
					   SECP256K1_EC_UNCOMPRESSED) ||
	    ser_len != 65)
		return -1;
	eth_address_from_pubkey(ser + 1, from);
	return 0;
}

int eth_key_address(const uint8_t seckey[32], struct eth_address *addr)
{
	secp256k1_context *ctx = signing_context();
	secp256k1_pubkey pub;
	uint8_t ser[65];
	size_t ser_len = sizeof(ser);
	int rv = -1;

	if (!ctx)
		return -1;
	if (secp256k1_ec_pubkey_create(ctx, &pub, seckey) &&
	    secp256k1_ec_pubkey_serialize(ctx, ser, &ser_len, &pub, SECP256K1_EC_UNCOMPRESSED) &&
	    ser_len == 65) {
		eth_address_from_pubkey(ser + 1, addr);
		rv = 0;
	}
	secp256k1_context_destroy(ctx);
	return rv;
}

int eip1559_max_fee(const struct u256 *next_base_fee, const struct u256 *tip,
		    struct u256 *max_fee)
{
	struct u256 r;

	if (u256_mul_u32(&r, next_base_fee, 2) || u256_add(&r, &r, tip))
		return -1;
	*max_fee = r;
	return 0;
}

int eip1559_fee_bump(const struct u256 *old, unsigned percent, struct u256 *bumped)
{
	struct u256 inc, one, r;
	uint32_t rem;

	if (u256_mul_u32(&inc, old, percent))
		return -1;
	rem = u256_div_u32(&inc, &inc, 100);
	u256_from_u64(&one, 1);
	if ((rem || u256_is_zero(&inc)) && u256_add(&inc, &inc, &one))
		return -1;
	if (u256_add(&r, old, &inc))
		return -1;
	*bumped = r;
	return 0;
}
