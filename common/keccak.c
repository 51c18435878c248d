/*
 * keccak.c - see keccak.h.  Lanes are little-endian 64-bit words, as in
 * nettle's own SHA3 code; reading them byte by byte keeps this right on
 * big-endian hosts too.
 */
#include "config.h"

#include <string.h>

#include "keccak.h"

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void store_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void absorb_block(struct sha3_state *state, const uint8_t *block)
{
	for (unsigned i = 0; i < KECCAK256_RATE / 8; i++)
		state->a[i] ^= load_le64(block + 8 * i);
	sha3_permute(state);
}

void keccak256_init(struct keccak256_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

void keccak256_update(struct keccak256_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (len == 0)		/* data may be NULL then */
		return;
	if (ctx->index > 0) {
		size_t take = KECCAK256_RATE - ctx->index;

		if (take > len)
			take = len;
		memcpy(ctx->block + ctx->index, p, take);
		ctx->index += (unsigned)take;
		p += take;
		len -= take;
		if (ctx->index < KECCAK256_RATE)
			return;
		absorb_block(&ctx->state, ctx->block);
		ctx->index = 0;
	}
	for (; len >= KECCAK256_RATE; p += KECCAK256_RATE, len -= KECCAK256_RATE)
		absorb_block(&ctx->state, p);
	memcpy(ctx->block, p, len);
	ctx->index = (unsigned)len;
}

void keccak256_final(struct keccak256_ctx *ctx, uint8_t out[KECCAK256_LEN])
{
	/* Keccak's multi-rate padding: 0x01, zeros, 0x80 (one byte 0x81 when
	 * only one byte of the block is left). */
	memset(ctx->block + ctx->index, 0, KECCAK256_RATE - ctx->index);
	ctx->block[ctx->index] |= 0x01;
	ctx->block[KECCAK256_RATE - 1] |= 0x80;
	absorb_block(&ctx->state, ctx->block);
	for (unsigned i = 0; i < KECCAK256_LEN / 8; i++)
		store_le64(out + 8 * i, ctx->state.a[i]);
	keccak256_init(ctx);
}

void keccak256(const void *data, size_t len, uint8_t out[KECCAK256_LEN])
{
	struct keccak256_ctx ctx;

	keccak256_init(&ctx);
	keccak256_update(&ctx, data, len);
	keccak256_final(&ctx, out);
}

void keccak256_pair(const uint8_t a[32], const uint8_t b[32],
		    uint8_t out[KECCAK256_LEN])
{
	struct sha3_state state;

	memset(&state, 0, sizeof(state));
	for (unsigned i = 0; i < 4; i++) {
		state.a[i] = load_le64(a + 8 * i);
		state.a[4 + i] = load_le64(b + 8 * i);
	}
	/* Padding of a 64-byte message: 0x01 at byte 64 (lane 8), 0x80 at
	 * byte 135 (top byte of lane 16). */
	state.a[8] = 0x01;
	state.a[16] = (uint64_t)0x80 << 56;
	sha3_permute(&state);
	for (unsigned i = 0; i < KECCAK256_LEN / 8; i++)
		store_le64(out + 8 * i, state.a[i]);
}
