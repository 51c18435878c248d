/*
 * backend_cuda.h - the GPU backend's entry points (backend_cuda.cu), for the
 * CUDA build (quorate-train-gpu).
 */
#ifndef QUORATE_TRAIN_BACKEND_CUDA_H
#define QUORATE_TRAIN_BACKEND_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define BACKEND_CUDA_ID_BYTES 128	/* sizeof(ncclUniqueId) */

/* Devices this process sees. */
int backend_cuda_devices(void);

/* A backend on DEVICE with parameters initialised like the CPU backend's. */
struct backend *backend_cuda_create(const struct model_config *cfg,
				    const struct optim_config *oc, int max_batch,
				    struct input_norm norm, uint64_t seed, int device,
				    char *err, size_t errlen);

/* NCCL: rank 0 makes the id, every rank gets it (MPI broadcast), then all
 * connect. */
int backend_cuda_nccl_id(void *id, size_t len);
int backend_cuda_connect(struct backend *b, int rank, int size, const void *id,
			 char *err, size_t errlen);

/* Median seconds of REPS NCCL all-reduces of BYTES on b's communicator. */
int backend_cuda_time_allreduce(struct backend *b, size_t bytes, int reps, double *median);

#endif
