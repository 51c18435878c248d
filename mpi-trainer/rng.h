/*
 * rng.h - the trainer's random numbers: xoshiro256** seeded through
 * splitmix64.  Small, fast and defined bit for bit, so that a seed names the
 * same training run on every machine, and its four words of state fit in a
 * checkpoint.
 */
#ifndef QUORATE_TRAIN_RNG_H
#define QUORATE_TRAIN_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Fill the state from one 64-bit seed (splitmix64, never all zero). */
void rng_seed(struct rng *r, uint64_t seed);

uint64_t rng_next(struct rng *r);

/* Uniform in 0..n-1 without modulo bias; n > 0. */
uint32_t rng_below(struct rng *r, uint32_t n);

/* Uniform in [0, 1) with 24 random bits. */
float rng_uniform(struct rng *r);

/* Standard normal (Box-Muller, both draws from this call: no hidden state). */
float rng_normal(struct rng *r);

/* Mix two words into a seed for an independent stream (splitmix64 finaliser). */
uint64_t rng_mix(uint64_t a, uint64_t b);

#endif
