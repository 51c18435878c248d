/*
 * spank_alloc.c - allocator context (sbatch, salloc; srun when it makes
 * the allocation): check the request as a whole and record it in the job's
 * control environment.  Slurm keeps it in job_ptr->spank_job_env, where
 * select/reputation reads QUORATE_REPLICAS, and hands it to every step of
 * the job (as SLURM_SPANK_QUORATE_* in the batch environment).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "select_policy.h"	/* the SEL_ENV_* names the select plugin reads */
#include "spank_quorate.h"

static int setenv_checked(spank_t sp, const char *name, const char *value)
{
	spank_err_t e = spank_job_control_setenv(sp, name, value, 1);

	if (e != ESPANK_SUCCESS) {
		slurm_error("%s: cannot record %s=%s for the job: %s",
			    QUORATE_SPANK_PREFIX, name, value,
			    spank_strerror(e));
		return -1;
	}
	return 0;
}

int quorate_alloc_post_opt(spank_t sp)
{
	struct spank_request *r = &quorate.request;
	char err[512], num[64];
	int rv = -1;

	if (quorate.request_bad)
		goto fail;	/* the callback said why */
	if (spank_request_finish(r, err, sizeof(err))) {
		slurm_error("%s: %s", QUORATE_SPANK_PREFIX, err);
		goto fail;
	}
	if (!r->replicas) {
		rv = 0;
		goto fail;
	}
	if (!quorate.config.server_host) {
		slurm_error("%s: --replicas needs a quorated server: no server=HOST:PORT on spank_quorate's line in plugstack.conf",
			    QUORATE_SPANK_PREFIX);
		goto fail;
	}
	snprintf(num, sizeof(num), "%u", r->replicas);
	if (setenv_checked(sp, SEL_ENV_REPLICAS, num))
		goto fail;
	snprintf(num, sizeof(num), "%u", r->quorum);
	if (setenv_checked(sp, SEL_ENV_QUORUM, num))
		goto fail;
	if (setenv_checked(sp, SEL_ENV_VERIFY, r->verify))
		goto fail;
	if (r->has_tolerance) {
		/* the shortest text that reads back as the same double */
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(num, sizeof(num), "%.*g", prec, r->tolerance);
			if (strtod(num, NULL) == r->tolerance)
				break;
		}
		if (setenv_checked(sp, SEL_ENV_TOLERANCE, num))
			goto fail;
	}
	rv = 0;
fail:
	return rv;
}
