/*
 * spank_srun.c - local context (srun), once the step's layout is known:
 * a replicated step must split into N groups of equal size.  (srun's wait
 * for the verdict comes with quorated's client library.)
 */
#include "config.h"

#include <stdint.h>

#include "spank_quorate.h"

int quorate_srun_local_user_init(spank_t sp)
{
	char err[512];
	uint32_t nnodes = 0;
	spank_err_t e;

	if (!quorate.request.replicas)
		return 0;
	e = spank_get_item(sp, S_JOB_NNODES, &nnodes);
	if (e != ESPANK_SUCCESS) {
		slurm_error("%s: cannot get the step's node count (S_JOB_NNODES): %s",
			    QUORATE_SPANK_PREFIX, spank_strerror(e));
		return -1;
	}
	if (spank_check_step_nodes(&quorate.request, nnodes, err, sizeof(err))) {
		slurm_error("%s: %s", QUORATE_SPANK_PREFIX, err);
		return -1;
	}
	return 0;
}
