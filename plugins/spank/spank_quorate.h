/*
 * spank_quorate.h - the state and modules of spank_quorate.so.
 *
 * Shaped like NVIDIA's pyxis: spank_dispatch.c switches on spank_context()
 * and calls one module per context; spank_options.c holds the one option
 * table; spank_config.c parses plugstack.conf's arguments strictly.  All
 * state is the one struct below, zeroed in slurm_spank_exit().  The linker
 * version script exports only slurm_spank_* and plugin_*.
 *
 * Built now: options, plugstack.conf arguments, the allocator context
 * (sbatch/salloc, and srun when it allocates) and the checks srun and
 * slurmstepd make.  The remote work (replica groups, output capture,
 * reports to quorated) and srun's verdict wait come with quorated's client.
 */
#ifndef QUORATE_SPANK_QUORATE_H
#define QUORATE_SPANK_QUORATE_H

#include <stdbool.h>

#include <slurm/spank.h>

#include "spank_args.h"

#define QUORATE_SPANK_PREFIX "quorate"

struct quorate_state {
	bool config_ok;			/* plugstack.conf arguments parsed */
	struct spank_config config;
	struct spank_request request;	/* from the options */
	bool request_bad;		/* an option callback refused a value */
};

extern struct quorate_state quorate;

/* spank_config.c: parse argv into quorate.config.  0 or -1 (logged). */
int quorate_config_load(int argc, char **argv);

/* spank_options.c */
int quorate_options_register(spank_t sp);

/* spank_alloc.c: validate the request and record it in the job's control
 * environment (sbatch, salloc, srun).  0 or -1 (logged). */
int quorate_alloc_post_opt(spank_t sp);

/* spank_srun.c: refuse a step whose node count does not split into the
 * replica groups.  0 or -1 (logged). */
int quorate_srun_local_user_init(spank_t sp);

/* spank_remote.c: the same checks in slurmstepd. */
int quorate_remote_post_opt(spank_t sp);

void quorate_state_free(void);

#endif
