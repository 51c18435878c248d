/*
 * hash.h - SHA-256 (OpenSSL EVP) and hex encoding.
 */
#ifndef QUORATE_HASH_H
#define QUORATE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN (2 * SHA256_LEN)

struct sha256_ctx {
	void *evp;		/* EVP_MD_CTX * */
};

/* Incremental hashing.  Each returns 0, or -1 when OpenSSL fails (out of
 * memory); sha256_final and sha256_abort release the context either way. */
int sha256_init(struct sha256_ctx *ctx);
int sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
int sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_LEN]);
void sha256_abort(struct sha256_ctx *ctx);

/* One-shot. */
int sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Hash an open file descriptor from its current offset to EOF. */
int sha256_fd(int fd, uint8_t out[SHA256_LEN]);

/* Lower-case hex; out must hold 2 * len + 1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);

/* Decode exactly 2 * len hex digits (either case, no prefix) into out.
 * Returns 0, or -1 on a wrong length or a non-hex character. */
int hex_decode(const char *in, uint8_t *out, size_t len);

#endif
