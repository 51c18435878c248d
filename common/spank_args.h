/*
 * spank_args.h - spank_quorate's option values and plugstack.conf
 * arguments, parsed strictly.  Pure functions: every error is a one-line
 * message in err naming the option and what is allowed; nothing logs.
 *
 * Options (sbatch, salloc, srun):
 *   --replicas=N            2..16
 *   --quorum=K              1..N, default floor(N/2)+1
 *   --verify=stdout|PATH[,PATH...]   (in a PATH: %r replica, %p part, %% %)
 *   --verify-tolerance=REL  0..1, numeric comparison with that tolerance
 * plugstack.conf arguments:
 *   server=HOST:PORT spool=DIR max_output=BYTES timeout=SECONDS
 *   wait=SECONDS munge_socket=PATH
 */
#ifndef QUORATE_SPANK_ARGS_H
#define QUORATE_SPANK_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define SPANK_REPLICAS_MIN	2
#define SPANK_REPLICAS_MAX	16
#define SPANK_VERIFY_MAX_PATHS	16

/* What the user asked for.  Zero-initialise; spank_request_free(). */
struct spank_request {
	unsigned replicas;	/* 0: --replicas not given */
	unsigned quorum;	/* 0: not given (default after finish) */
	char *verify;		/* NULL: not given ("stdout" after finish) */
	bool has_tolerance;
	double tolerance;
};

/* Each stores the value, replacing an earlier one (options may be seen
 * twice: from the environment and from the command line).  0 or -1. */
int spank_set_replicas(struct spank_request *r, const char *arg,
		       char *err, size_t errlen);
int spank_set_quorum(struct spank_request *r, const char *arg,
		     char *err, size_t errlen);
int spank_set_verify(struct spank_request *r, const char *arg,
		     char *err, size_t errlen);
int spank_set_tolerance(struct spank_request *r, const char *arg,
			char *err, size_t errlen);

/* After all options: cross-checks (K <= N; --quorum, --verify and
 * --verify-tolerance need --replicas) and defaults.  0 or -1. */
int spank_request_finish(struct spank_request *r, char *err, size_t errlen);

/* A step of nnodes nodes can be split into r->replicas groups. 0 or -1. */
int spank_check_step_nodes(const struct spank_request *r, unsigned nnodes,
			   char *err, size_t errlen);

void spank_request_free(struct spank_request *r);

/* plugstack.conf arguments.  Zero-initialise; spank_config_free(). */
struct spank_config {
	char *server_host;	/* NULL: no server= */
	unsigned server_port;
	char *spool;		/* default /var/spool/quorate */
	long max_output;	/* bytes kept per task, default 16 MiB */
	long timeout;		/* seconds per request to quorated, default 10 */
	long wait;		/* seconds srun waits for the verdict, default 300 */
	char *munge_socket;	/* default /run/munge/munge.socket.2 */
};

#define SPANK_DEFAULT_SPOOL	"/var/spool/quorate"
#define SPANK_DEFAULT_MUNGE	"/run/munge/munge.socket.2"

/* Parse the plugin's arguments (argv of plugstack.conf's line).  Unknown
 * keys, duplicates, bad values are errors.  On error c is freed. */
int spank_config_parse(int argc, char *const *argv, struct spank_config *c,
		       char *err, size_t errlen);
void spank_config_free(struct spank_config *c);

#endif
