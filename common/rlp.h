/*
 * rlp.h - Recursive Length Prefix, Ethereum's serialization (yellow paper,
 * appendix B).  The encoder appends to a growable buffer; the decoder is a
 * pure function over a caller's buffer (no allocation, no recursion deeper
 * than the caller allows) and accepts only canonical encodings, so that one
 * value has exactly one byte string.
 */
#ifndef QUORATE_RLP_H
#define QUORATE_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- encoding --- */

struct rlp_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool failed;		/* sticky: an append ran out of memory */
};

void rlp_buf_init(struct rlp_buf *b);
void rlp_buf_free(struct rlp_buf *b);

/* Each appends one item and returns 0, or -1 (and sets b->failed) when out
 * of memory; checking b->failed once at the end is enough. */
int rlp_put_bytes(struct rlp_buf *b, const void *p, size_t n);	/* a string */
int rlp_put_uint(struct rlp_buf *b, uint64_t v);	/* 0 is the empty string */
/* A big-endian unsigned integer of any width (leading zeros dropped). */
int rlp_put_uint_be(struct rlp_buf *b, const uint8_t *be, size_t n);
/* Already encoded items, copied as they are. */
int rlp_put_raw(struct rlp_buf *b, const void *p, size_t n);

/* A list: everything appended between begin and end becomes its payload.
 * begin returns the mark to pass to end; lists nest. */
size_t rlp_list_begin(struct rlp_buf *b);
int rlp_list_end(struct rlp_buf *b, size_t mark);

/* --- decoding --- */

enum rlp_status {
	RLP_OK = 0,
	RLP_ERR_TRUNCATED = -1,		/* a length runs past the input */
	RLP_ERR_NONCANONICAL = -2,	/* a shorter encoding exists */
	RLP_ERR_TRAILING = -3,		/* bytes after the item */
	RLP_ERR_DEPTH = -4,		/* lists nested deeper than allowed */
	RLP_ERR_TYPE = -5,		/* a list where a string is wanted, ... */
	RLP_ERR_RANGE = -6,		/* an integer too wide, with leading zeros */
};

#define RLP_MAX_DEPTH 64

struct rlp_item {
	bool is_list;
	const uint8_t *payload;		/* string bytes or the list's items */
	size_t len;			/* payload length */
	size_t size;			/* header + payload: the whole encoding */
};

/* Decode the item at the start of buf (len bytes); trailing bytes are
 * allowed and item->size says where the next one starts. */
int rlp_decode_item(const uint8_t *buf, size_t len, struct rlp_item *item);

/* Exactly one item filling buf, and every list inside it well formed and
 * canonical down to max_depth levels (max_depth <= RLP_MAX_DEPTH). */
int rlp_decode(const uint8_t *buf, size_t len, unsigned max_depth,
	       struct rlp_item *item);

/* Walk a list's items: next returns 1 with an item, 0 at the end, or a
 * negative rlp_status. */
struct rlp_iter {
	const uint8_t *p;
	size_t left;
};
int rlp_iter_init(struct rlp_iter *it, const struct rlp_item *list);
int rlp_iter_next(struct rlp_iter *it, struct rlp_item *item);

/* Integers are strings without leading zero bytes (zero is the empty string). */
int rlp_item_uint64(const struct rlp_item *item, uint64_t *v);
/* Into out[width], right-aligned; RLP_ERR_RANGE when wider than width. */
int rlp_item_uint_be(const struct rlp_item *item, uint8_t *out, size_t width);
/* A string of exactly n bytes. */
int rlp_item_fixed(const struct rlp_item *item, uint8_t *out, size_t n);

const char *rlp_strerror(int status);

#endif
