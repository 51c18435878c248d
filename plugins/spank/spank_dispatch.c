/*
 * spank_dispatch.c - spank_quorate's entry points: one switch on
 * spank_context() per callback, one module per context.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "spank_quorate.h"

SPANK_PLUGIN(quorate, 1)

struct quorate_state quorate = {
	.config_ok = false,
	.request = { .replicas = 0 },
	.remote = { .capture_fd = -1 },
};

void quorate_state_free(void)
{
	quorate_remote_free();
	spank_config_free(&quorate.config);
	spank_request_free(&quorate.request);
	memset(&quorate, 0, sizeof(quorate));
	quorate.remote.capture_fd = -1;
}

double quorate_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Jobs and steps stop on a bad plugstack.conf; slurmd and prolog/epilog
 * only log it, so that one bad line does not take a node down. */
static bool runs_jobs(spank_context_t ctx)
{
	return ctx == S_CTX_LOCAL || ctx == S_CTX_REMOTE ||
	       ctx == S_CTX_ALLOCATOR;
}

int slurm_spank_init(spank_t sp, int argc, char **argv)
{
	spank_context_t ctx = spank_context();
	int rv = -1;

	if (quorate_config_load(argc, argv) && runs_jobs(ctx))
		goto fail;
	switch (ctx) {
	case S_CTX_LOCAL:
	case S_CTX_REMOTE:
	case S_CTX_ALLOCATOR:
		if (quorate_options_register(sp))
			goto fail;
		break;
	default:
		break;
	}
	rv = 0;
fail:
	return rv;
}

int slurm_spank_init_post_opt(spank_t sp, int argc, char **argv)
{
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		return quorate_alloc_post_opt(sp);
	case S_CTX_REMOTE:
		return quorate_remote_post_opt(sp);
	default:
		return 0;
	}
}

int slurm_spank_local_user_init(spank_t sp, int argc, char **argv)
{
	if (spank_context() != S_CTX_LOCAL)
		return 0;
	return quorate_srun_local_user_init(sp);
}

/* The task callbacks: slurmstepd only. */
int slurm_spank_task_init_privileged(spank_t sp, int argc, char **argv)
{
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return quorate_remote_task_init_privileged(sp);
}

int slurm_spank_task_init(spank_t sp, int argc, char **argv)
{
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return quorate_remote_task_init(sp);
}

int slurm_spank_task_post_fork(spank_t sp, int argc, char **argv)
{
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return quorate_remote_task_post_fork(sp);
}

int slurm_spank_task_exit(spank_t sp, int argc, char **argv)
{
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return quorate_remote_task_exit(sp);
}

/* In srun this runs from atexit(), after the step: the verdict wait. */
int slurm_spank_exit(spank_t sp, int argc, char **argv)
{
	if (spank_context() == S_CTX_LOCAL)
		quorate_srun_exit();
	quorate_state_free();
	return 0;
}
