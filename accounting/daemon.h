/*
 * daemon.h - what quorated's modules share: the settings that SIGHUP may
 * change, the counters, the local cluster's name.
 *
 * Modules, one concern each (as munged's): quorated.c (start, signals,
 * reload), listener.c (sockets, connections), work.c (worker threads:
 * credentials, authorization, routing), ingest.c (the single writer:
 * group commit, verifier and reputation state), store.c (PostgreSQL),
 * waiters.c (verdict queries that wait), slurm_push.c (node Extra in
 * slurmctld).  The chain outbox and /metrics will be modules beside them.
 */
#ifndef QUORATED_DAEMON_H
#define QUORATED_DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "qconf.h"
#include "qmsg.h"
#include "reputation.h"

#define MAX_AUTHORIZED 64

/* What the running daemon reads of quorate.conf; replaced as a whole on
 * SIGHUP (settings_get() copies it under a lock). */
struct settings {
	struct rep_params rep;
	long missing_grace;		/* seconds */
	long max_frame;			/* bytes */
	long max_output;		/* bytes of output kept per part */
	bool push_reputation;
	long epoch_length;		/* EpochLength, seconds (for /metrics) */
	char site_prefix[64];
	int nauthorized;
	uid_t authorized[MAX_AUTHORIZED];	/* besides root */
};

struct counters {
	atomic_ulong requests;
	atomic_ulong results_stored;
	atomic_ulong results_duplicate;
	atomic_ulong results_rejected;	/* conflicts and other per-item errors */
	atomic_ulong contributions_stored;
	atomic_ulong commits;		/* transactions committed */
	atomic_ulong commit_failures;
	atomic_ulong refused_retry;	/* answered retry_later */
	atomic_ulong cred_expired;
	atomic_ulong cred_rewound;
	atomic_ulong cred_replayed;
	atomic_ulong cred_invalid;
	atomic_ulong unauthorized;
	atomic_ulong forbidden;
	atomic_ulong malformed;
	atomic_ulong too_large;
	atomic_ulong verdicts_accepted;
	atomic_ulong verdicts_rejected;
	atomic_ulong slurm_pushes;
	atomic_ulong slurm_push_failures;
};

extern struct counters counters;

/* The cluster of reports and queries that name none (slurm.conf's
 * ClusterName), set once at start. */
extern char local_cluster[QMSG_NAME_MAX];
extern atomic_bool daemon_stopping;

/* Build settings from a loaded configuration.  Unknown user names are
 * skipped with a warning (root is always authorized). */
int settings_from_conf(const struct quorate_conf *conf, struct settings *s,
		       char *err, size_t errlen);
void settings_set(const struct settings *s);
void settings_get(struct settings *out);
/* root, SlurmUser or AuthorizedUsers: may report results and contributions,
 * and read every verdict. */
bool settings_privileged(uid_t uid);
/* root or SlurmUser: may change a node's reputation (quorate node ...).
 * AuthorizedUsers report results; they do not judge nodes. */
bool settings_admin(uid_t uid);
/* Add SlurmUser (from slurm.conf) to the privileged uids. */
void settings_set_slurm_user(uid_t uid);

/* Every thread of quorated starts with this: the thread runs in the C
 * locale, so that json-c's per-parse locale switch takes no global lock,
 * and is named (NULL: keep the name). */
void daemon_thread_init(const char *name);

/* Seconds since the epoch, as a double (event and report times). */
double now_seconds(void);
/* Seconds of CLOCK_MONOTONIC, for durations. */
double mono_seconds(void);

#endif
