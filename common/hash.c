/*
 * hash.c - see hash.h.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hash.h"

int sha256_init(struct sha256_ctx *ctx)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	ctx->evp = NULL;
	if (!md)
		return -1;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	ctx->evp = md;
	return 0;
}

int sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
	if (!ctx->evp)
		return -1;
	return EVP_DigestUpdate(ctx->evp, data, len) == 1 ? 0 : -1;
}

int sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;
	int rv;

	if (!ctx->evp)
		return -1;
	rv = EVP_DigestFinal_ex(ctx->evp, out, &n) == 1 && n == SHA256_LEN ? 0 : -1;
	sha256_abort(ctx);
	return rv;
}

void sha256_abort(struct sha256_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->evp);
	ctx->evp = NULL;
}

int sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;

	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 &&
	       n == SHA256_LEN ? 0 : -1;
}

int sha256_fd(int fd, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx ctx;
	char buf[65536];

	if (sha256_init(&ctx))
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			sha256_abort(&ctx);
			return -1;
		}
		if (r == 0)
			break;
		if (sha256_update(&ctx, buf, (size_t)r)) {
			sha256_abort(&ctx);
			return -1;
		}
	}
	return sha256_final(&ctx, out);
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, uint8_t *out, size_t len)
{
	if (strlen(in) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
