/*
 * fuzz_checkpoint_raw - fuzz_checkpoint without the integrity guard: the
 * inputs reach libhdf5 (target checkpoint-raw, run only when named:
 * Debian's libhdf5 1.10.8 has memory errors of its own on them).
 */
#define FUZZ_RAW 1
#include "fuzz_checkpoint.c"
