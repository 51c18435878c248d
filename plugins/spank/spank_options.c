/*
 * spank_options.c - the one option table.  Callbacks store the value and
 * check it alone; cross-checks (K <= N, ...) wait for init_post_opt.  A
 * callback may run twice (environment, then command line): the later value
 * replaces the earlier one.
 */
#include "config.h"

#include <stdio.h>

#include "spank_quorate.h"

enum { OPT_REPLICAS = 1, OPT_QUORUM, OPT_VERIFY, OPT_TOLERANCE };

static int option_cb(int val, const char *optarg, int remote)
{
	struct spank_request *r = &quorate.request;
	char err[512];
	int rc = -1;

	switch (val) {
	case OPT_REPLICAS:
		rc = spank_set_replicas(r, optarg, err, sizeof(err));
		break;
	case OPT_QUORUM:
		rc = spank_set_quorum(r, optarg, err, sizeof(err));
		break;
	case OPT_VERIFY:
		rc = spank_set_verify(r, optarg, err, sizeof(err));
		break;
	case OPT_TOLERANCE:
		rc = spank_set_tolerance(r, optarg, err, sizeof(err));
		break;
	default:
		snprintf(err, sizeof(err), "unknown option value %d", val);
		break;
	}
	if (rc) {
		quorate.request_bad = true;
		slurm_error("%s: %s", QUORATE_SPANK_PREFIX, err);
	}
	return rc;
}

static struct spank_option options[] = {
	{ "replicas", "N",
	  "[quorate] run each step N times (2..16) on nodes of distinct sites and have the results verified",
	  1, OPT_REPLICAS, option_cb },
	{ "quorum", "K",
	  "[quorate] results that must agree (1..N, default N/2+1)",
	  1, OPT_QUORUM, option_cb },
	{ "verify", "stdout|PATH[,PATH...]",
	  "[quorate] what a replica's result is: its stdout (default) or these files",
	  1, OPT_VERIFY, option_cb },
	{ "verify-tolerance", "REL",
	  "[quorate] compare results as numbers within relative tolerance REL (0..1)",
	  1, OPT_TOLERANCE, option_cb },
	SPANK_OPTIONS_TABLE_END
};

int quorate_options_register(spank_t sp)
{
	for (struct spank_option *o = options; o->name; o++) {
		spank_err_t e = spank_option_register(sp, o);

		if (e != ESPANK_SUCCESS) {
			slurm_error("%s: cannot register --%s: %s",
				    QUORATE_SPANK_PREFIX, o->name,
				    spank_strerror(e));
			return -1;
		}
	}
	return 0;
}
