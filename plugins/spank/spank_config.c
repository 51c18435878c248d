/*
 * spank_config.c - plugstack.conf arguments (see spank_args.h): strict
 * key=value, an unknown key or a bad value is an error, never a default.
 */
#include "config.h"

#include "spank_quorate.h"

int quorate_config_load(int argc, char **argv)
{
	char err[512];

	/* slurm_spank_init may run more than once in a process. */
	spank_config_free(&quorate.config);
	quorate.config_ok = false;
	if (spank_config_parse(argc, argv, &quorate.config, err, sizeof(err))) {
		slurm_error("%s: plugstack.conf: %s", QUORATE_SPANK_PREFIX, err);
		return -1;
	}
	quorate.config_ok = true;
	return 0;
}
