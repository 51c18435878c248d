/*
 * gpu_host.c - see gpu_host.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_host.h"

int gpu_device_for(int local_rank, int ndevices)
{
	if (ndevices <= 0 || local_rank < 0)
		return -1;
	return local_rank % ndevices;
}

void gpu_deterministic_env(char *log, size_t loglen)
{
	static const char *const settings[][2] = {
		{ "NCCL_ALGO", "Ring" },
		{ "NCCL_PROTO", "Simple" },
		{ "CUBLAS_WORKSPACE_CONFIG", ":4096:8" },
	};
	size_t used = 0;

	if (log && loglen)
		log[0] = '\0';
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		if (getenv(settings[i][0]))
			continue;
		setenv(settings[i][0], settings[i][1], 0);
		if (log && used < loglen)
			used += (size_t)snprintf(log + used, loglen - used, "%s%s=%s",
						 used ? " " : "", settings[i][0], settings[i][1]);
	}
}
