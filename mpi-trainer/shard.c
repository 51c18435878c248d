/*
 * shard.c - see shard.h.
 */
#include "config.h"

#include "hash.h"
#include "shard.h"

void shard_permutation(struct rng *r, uint32_t *perm, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		perm[i] = i;
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		uint32_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

uint32_t shard_steps(uint32_t n, uint32_t batch)
{
	return batch ? (uint32_t)(((uint64_t)n + batch - 1) / batch) : 0;
}

struct shard_slice shard_global(uint32_t n, uint32_t batch, uint32_t step)
{
	struct shard_slice s = { 0, 0 };
	uint64_t lo = (uint64_t)step * batch;

	if (lo >= n)
		return s;
	s.begin = (uint32_t)lo;
	s.count = (uint32_t)(lo + batch <= n ? batch : n - lo);
	return s;
}

struct shard_slice shard_slice(uint32_t n, uint32_t batch, uint32_t step,
			       int rank, int size)
{
	struct shard_slice g = shard_global(n, batch, step), s;
	uint32_t base = g.count / (uint32_t)size, extra = g.count % (uint32_t)size;
	uint32_t r = (uint32_t)rank;

	s.begin = g.begin + r * base + (r < extra ? r : extra);
	s.count = base + (r < extra ? 1 : 0);
	return s;
}

int shard_checksum(const uint32_t *perm, uint32_t n, uint32_t batch,
		   int rank, int size, uint8_t out[32], uint32_t *count)
{
	struct sha256_ctx ctx;
	uint32_t steps = shard_steps(n, batch), total = 0;

	if (sha256_init(&ctx))
		return -1;
	for (uint32_t s = 0; s < steps; s++) {
		struct shard_slice sl = shard_slice(n, batch, s, rank, size);

		for (uint32_t i = 0; i < sl.count; i++) {
			uint32_t v = perm[sl.begin + i];
			uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8),
					  (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

			if (sha256_update(&ctx, le, sizeof(le))) {
				sha256_abort(&ctx);
				return -1;
			}
		}
		total += sl.count;
	}
	if (count)
		*count = total;
	return sha256_final(&ctx, out);
}
