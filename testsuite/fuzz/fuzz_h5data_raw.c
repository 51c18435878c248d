/*
 * fuzz_h5data_raw - fuzz_h5data without the integrity guard: the inputs
 * reach libhdf5 (target h5data-raw, run only when named: Debian's libhdf5
 * 1.10.8 has memory errors of its own on them).
 */
#define FUZZ_RAW 1
#include "fuzz_h5data.c"
