/*
 * fuzz_eip1559 - libFuzzer target for EIP-1559 transaction decoding
 * (common/eip1559.c: eip1559_decode, then sender recovery as a chain
 * reader would run it on a transaction fetched from a node).
 *
 * Properties checked (abort on violation): a decoded transaction without
 * an access list (quorate never writes one) encodes again, with its
 * signature, into exactly the input bytes, and its hash is keccak-256 of
 * them; the data pointer lies inside the input.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eip1559.h"
#include "keccak.h"
#include "rlp.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eip1559_decoded dec;
	struct eip1559_signed again;
	struct eth_address from;
	uint8_t hash[32];
	int rc = eip1559_decode(data, size, &dec);

	check(rc <= 0);
	if (rc != RLP_OK)
		return 0;
	check(dec.tx.data_len <= size);
	check(!dec.tx.data_len || (dec.tx.data >= data && dec.tx.data + dec.tx.data_len <= data + size));
	check(dec.sig.y_parity == 0 || dec.sig.y_parity == 1);
	(void)eip1559_recover_sender(&dec.tx, &dec.sig, &from);
	if (dec.access_list_len)
		return 0;
	check(eip1559_encode_signed(&dec.tx, &dec.sig, &again) == 0);
	check(again.raw_len == size && !memcmp(again.raw, data, size));
	keccak256(data, size, hash);
	check(!memcmp(hash, again.hash, 32));
	eip1559_signed_free(&again);
	return 0;
}
