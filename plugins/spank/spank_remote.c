/*
 * spank_remote.c - remote context (slurmstepd).  For now only the checks
 * srun makes, for steps that did not come through an srun with this
 * plugin; splitting into replica groups, capturing and reporting results
 * come with quorated's client library.
 */
#include "config.h"

#include <stdint.h>

#include <slurm/slurm.h>

#include "spank_quorate.h"

int quorate_remote_post_opt(spank_t sp)
{
	struct spank_request *r = &quorate.request;
	char err[512];
	uint32_t nnodes = 0, stepid = 0;
	spank_err_t e;

	if (quorate.request_bad)
		return -1;
	if (spank_request_finish(r, err, sizeof(err))) {
		slurm_error("%s: %s", QUORATE_SPANK_PREFIX, err);
		return -1;
	}
	if (!r->replicas)
		return 0;
	/* The batch script, extern and interactive steps are not replicated;
	 * only the steps they launch are. */
	e = spank_get_item(sp, S_JOB_STEPID, &stepid);
	if (e != ESPANK_SUCCESS) {
		slurm_error("%s: cannot get the step id (S_JOB_STEPID): %s",
			    QUORATE_SPANK_PREFIX, spank_strerror(e));
		return -1;
	}
	if (stepid > SLURM_MAX_NORMAL_STEP_ID)
		return 0;
	if (!quorate.config.server_host) {
		slurm_error("%s: --replicas needs a quorated server: no server=HOST:PORT on spank_quorate's line in plugstack.conf",
			    QUORATE_SPANK_PREFIX);
		return -1;
	}
	e = spank_get_item(sp, S_JOB_NNODES, &nnodes);
	if (e != ESPANK_SUCCESS) {
		slurm_error("%s: cannot get the step's node count (S_JOB_NNODES): %s",
			    QUORATE_SPANK_PREFIX, spank_strerror(e));
		return -1;
	}
	if (spank_check_step_nodes(r, nnodes, err, sizeof(err))) {
		slurm_error("%s: %s", QUORATE_SPANK_PREFIX, err);
		return -1;
	}
	return 0;
}
