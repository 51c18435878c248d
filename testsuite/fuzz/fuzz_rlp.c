/*
 * fuzz_rlp - libFuzzer target for the RLP decoder (common/rlp.c): the
 * strict rlp_decode() of a whole input, the list iterator down every
 * level, and the integer readers on every string.
 *
 * Properties checked (abort on violation): RLP's encoding is canonical, so
 * a decoded item encoded again with rlp_put_bytes / rlp_list_begin/end
 * gives back exactly the input bytes; every item lies inside the input;
 * rlp_decode_item agrees with rlp_decode on the outer item.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rlp.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

/* Encode item again into b; depth bounded by the decoder's check. */
static void reencode(struct rlp_buf *b, const struct rlp_item *item,
		     const uint8_t *buf, size_t len)
{
	check(item->payload >= buf && item->payload + item->len <= buf + len);
	check(item->size >= item->len && item->size <= len);
	if (!item->is_list) {
		uint8_t wide[32];
		uint64_t v;

		/* Integer readers: whatever they accept must be what the bytes say. */
		if (rlp_item_uint64(item, &v) == RLP_OK)
			check(item->len <= 8 && (item->len == 0 || item->payload[0] != 0));
		if (rlp_item_uint_be(item, wide, sizeof(wide)) == RLP_OK && item->len)
			check(!memcmp(wide + sizeof(wide) - item->len, item->payload, item->len));
		rlp_put_bytes(b, item->payload, item->len);
		return;
	}
	{
		struct rlp_iter it;
		struct rlp_item sub;
		size_t mark = rlp_list_begin(b);
		int rc;

		check(rlp_iter_init(&it, item) == RLP_OK);
		while ((rc = rlp_iter_next(&it, &sub)) == 1)
			reencode(b, &sub, buf, len);
		check(rc == 0);		/* rlp_decode checked every level */
		rlp_list_end(b, mark);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rlp_item item, first;
	struct rlp_buf b;
	int rc;

	rc = rlp_decode_item(data, size, &first);
	if (rc == RLP_OK)
		check(first.size <= size && first.payload + first.len <= data + size);
	rc = rlp_decode(data, size, RLP_MAX_DEPTH, &item);
	check(rc <= 0 && rlp_strerror(rc) != NULL);
	if (rc != RLP_OK)
		return 0;
	check(item.size == size);
	check(first.size == item.size && first.is_list == item.is_list && first.len == item.len);
	rlp_buf_init(&b);
	reencode(&b, &item, data, size);
	check(!b.failed);
	check(b.len == size && !memcmp(b.data, data, size));
	rlp_buf_free(&b);
	return 0;
}
