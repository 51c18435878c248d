/*
 * gpu_host.h - the host-side decisions of the GPU build, kept in plain C so
 * that they are unit-tested on machines without a GPU: which device a rank
 * takes, and the settings that make NCCL and cuBLAS deterministic.
 */
#ifndef QUORATE_TRAIN_GPU_HOST_H
#define QUORATE_TRAIN_GPU_HOST_H

#include <stddef.h>

/* The device of the rank that is LOCAL_RANK-th on its host: one GPU per
 * rank, round robin when ranks outnumber devices; -1 without devices. */
int gpu_device_for(int local_rank, int ndevices);

/* For deterministic runs: NCCL's ring algorithm with the simple protocol
 * (its choice otherwise depends on size and topology) and cuBLAS's fixed
 * workspace, each unless the environment already says otherwise.  Call
 * before the first CUDA or NCCL call.  Writes what it set to log (may be
 * NULL). */
void gpu_deterministic_env(char *log, size_t loglen);

#endif
