/*
 * rlp.c - see rlp.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rlp.h"

void rlp_buf_init(struct rlp_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void rlp_buf_free(struct rlp_buf *b)
{
	free(b->data);
	rlp_buf_init(b);
}

static int reserve(struct rlp_buf *b, size_t extra)
{
	size_t cap;
	uint8_t *p;

	if (b->failed)
		return -1;
	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		goto fail;
	cap = b->cap ? b->cap : 64;
	while (cap - b->len < extra)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		goto fail;
	b->data = p;
	b->cap = cap;
	return 0;
fail:
	b->failed = true;
	return -1;
}

/* Big-endian bytes of n without leading zeros; returns their count. */
static size_t be_length(size_t n, uint8_t out[sizeof(size_t)])
{
	size_t k = 0;
	uint8_t tmp[sizeof(size_t)];

	for (; n; n >>= 8)
		tmp[k++] = (uint8_t)n;
	for (size_t i = 0; i < k; i++)
		out[i] = tmp[k - 1 - i];
	return k;
}

/* The header of a string (base 0x80) or list (base 0xc0) of n bytes. */
static size_t header(uint8_t base, size_t n, uint8_t out[1 + sizeof(size_t)])
{
	size_t k;

	if (n < 56) {
		out[0] = (uint8_t)(base + n);
		return 1;
	}
	k = be_length(n, out + 1);
	out[0] = (uint8_t)(base + 55 + k);
	return 1 + k;
}

int rlp_put_bytes(struct rlp_buf *b, const void *p, size_t n)
{
	uint8_t h[1 + sizeof(size_t)];
	size_t hn;

	if (n == 1 && ((const uint8_t *)p)[0] < 0x80)
		return rlp_put_raw(b, p, 1);
	hn = header(0x80, n, h);
	if (reserve(b, hn + n))
		return -1;
	memcpy(b->data + b->len, h, hn);
	if (n)
		memcpy(b->data + b->len + hn, p, n);
	b->len += hn + n;
	return 0;
}

int rlp_put_uint_be(struct rlp_buf *b, const uint8_t *be, size_t n)
{
	while (n && be[0] == 0) {
		be++;
		n--;
	}
	return rlp_put_bytes(b, be, n);
}

int rlp_put_uint(struct rlp_buf *b, uint64_t v)
{
	uint8_t be[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		be[i] = (uint8_t)v;
	return rlp_put_uint_be(b, be, sizeof(be));
}

int rlp_put_raw(struct rlp_buf *b, const void *p, size_t n)
{
	if (reserve(b, n))
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

size_t rlp_list_begin(struct rlp_buf *b)
{
	return b->len;
}

int rlp_list_end(struct rlp_buf *b, size_t mark)
{
	uint8_t h[1 + sizeof(size_t)];
	size_t n, hn;

	if (mark > b->len)
		b->failed = true;
	if (b->failed)
		return -1;
	n = b->len - mark;
	hn = header(0xc0, n, h);
	if (reserve(b, hn))
		return -1;
	/* The payload moves up to make room for its header. */
	memmove(b->data + mark + hn, b->data + mark, n);
	memcpy(b->data + mark, h, hn);
	b->len += hn;
	return 0;
}

int rlp_decode_item(const uint8_t *buf, size_t len, struct rlp_item *item)
{
	uint8_t b0;
	size_t hn, n = 0, k;

	if (len == 0)
		return RLP_ERR_TRUNCATED;
	b0 = buf[0];
	if (b0 < 0x80) {		/* a single byte is its own encoding */
		item->is_list = false;
		item->payload = buf;
		item->len = 1;
		item->size = 1;
		return RLP_OK;
	}
	item->is_list = b0 >= 0xc0;
	if ((b0 & 0x3f) < 56) {		/* short form: 0x80..0xb7, 0xc0..0xf7 */
		n = b0 & 0x3f;
		hn = 1;
		if (len - hn < n)
			return RLP_ERR_TRUNCATED;
		/* One byte below 0x80 must be written as itself. */
		if (!item->is_list && n == 1 && buf[1] < 0x80)
			return RLP_ERR_NONCANONICAL;
	} else {			/* long form: length of the length follows */
		k = (size_t)(b0 & 0x3f) - 55;
		hn = 1 + k;
		if (k > sizeof(size_t))
			return RLP_ERR_RANGE;
		if (len < hn)
			return RLP_ERR_TRUNCATED;
		if (buf[1] == 0)
			return RLP_ERR_NONCANONICAL;
		for (size_t i = 0; i < k; i++)
			n = (n << 8) | buf[1 + i];
		if (n < 56)
			return RLP_ERR_NONCANONICAL;
		if (len - hn < n)
			return RLP_ERR_TRUNCATED;
	}
	item->payload = buf + hn;
	item->len = n;
	item->size = hn + n;
	return RLP_OK;
}

static int validate_list(const struct rlp_item *list, unsigned depth_left)
{
	struct rlp_iter it;
	struct rlp_item child;
	int rv;

	if (depth_left == 0)
		return RLP_ERR_DEPTH;
	rlp_iter_init(&it, list);
	while ((rv = rlp_iter_next(&it, &child)) == 1) {
		if (child.is_list && (rv = validate_list(&child, depth_left - 1)))
			return rv;
	}
	return rv;
}

int rlp_decode(const uint8_t *buf, size_t len, unsigned max_depth,
	       struct rlp_item *item)
{
	int rv = rlp_decode_item(buf, len, item);

	if (rv)
		return rv;
	if (item->size != len)
		return RLP_ERR_TRAILING;
	if (max_depth > RLP_MAX_DEPTH)
		max_depth = RLP_MAX_DEPTH;
	return item->is_list ? validate_list(item, max_depth) : RLP_OK;
}

int rlp_iter_init(struct rlp_iter *it, const struct rlp_item *list)
{
	it->p = list->payload;
	it->left = list->is_list ? list->len : 0;
	return list->is_list ? RLP_OK : RLP_ERR_TYPE;
}

int rlp_iter_next(struct rlp_iter *it, struct rlp_item *item)
{
	int rv;

	if (it->left == 0)
		return 0;
	rv = rlp_decode_item(it->p, it->left, item);
	if (rv)
		return rv;
	it->p += item->size;
	it->left -= item->size;
	return 1;
}

int rlp_item_uint64(const struct rlp_item *item, uint64_t *v)
{
	uint8_t be[8];
	int rv = rlp_item_uint_be(item, be, sizeof(be));

	if (rv)
		return rv;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = (*v << 8) | be[i];
	return RLP_OK;
}

int rlp_item_uint_be(const struct rlp_item *item, uint8_t *out, size_t width)
{
	if (item->is_list)
		return RLP_ERR_TYPE;
	if (item->len > width || (item->len > 0 && item->payload[0] == 0))
		return RLP_ERR_RANGE;
	memset(out, 0, width - item->len);
	memcpy(out + width - item->len, item->payload, item->len);
	return RLP_OK;
}

int rlp_item_fixed(const struct rlp_item *item, uint8_t *out, size_t n)
{
	if (item->is_list)
		return RLP_ERR_TYPE;
	if (item->len != n)
		return RLP_ERR_RANGE;
	memcpy(out, item->payload, n);
	return RLP_OK;
}

const char *rlp_strerror(int status)
{
	switch (status) {
	case RLP_OK: return "ok";
	case RLP_ERR_TRUNCATED: return "truncated input";
	case RLP_ERR_NONCANONICAL: return "non-canonical encoding";
	case RLP_ERR_TRAILING: return "trailing bytes after the item";
	case RLP_ERR_DEPTH: return "lists nested too deeply";
	case RLP_ERR_TYPE: return "wrong item type (list or string)";
	case RLP_ERR_RANGE: return "value out of range";
	default: return "unknown RLP error";
	}
}
