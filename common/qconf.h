/*
 * qconf.h - quorate.conf, read by quorated, the quorate CLI and the select
 * plugin.  One key table for all of them, so that every reader accepts the
 * same file and rejects the same mistakes (FILE:LINE).  quorate.conf(5)
 * documents each key; keep the two in step.
 */
#ifndef QUORATE_QCONF_H
#define QUORATE_QCONF_H

#include <stdbool.h>
#include <stddef.h>

#define QCONF_DEFAULT_PATH "/etc/slurm/quorate.conf"

/* Contributions (issue 11): the repeatable maps.  Each value is checked for
 * its form here (FILE:LINE); libquorate_contrib's contrib_policy_from_conf()
 * then compiles the node lists and checks the EIP-55 checksums, which need
 * code that qconf.c, also built into the select plugin, must not pull in. */
struct qconf_site_map {
	char *cluster;			/* SiteMap=CLUSTER:NODELIST=SITE */
	char *nodes;			/* a hostlist expression, as written */
	char *site;
};

struct qconf_pair {
	char *key;			/* AccountSite: the account (lower case);
					 * SitePayee: the site */
	char *value;			/* the site; the 0x address as written */
};

struct quorate_conf {
	/* daemon */
	char *listen_address;		/* ListenAddress, default 0.0.0.0 */
	long listen_port;		/* ListenPort, default 6830 */
	char *metrics_address;		/* MetricsAddress, default 127.0.0.1 */
	long metrics_port;		/* MetricsPort, 0 = off, default 6831 */
	char *munge_socket;		/* MungeSocket */
	char *database;			/* Database: libpq conninfo */
	char *slurm_conf;		/* SlurmConf */
	char *authorized_users;		/* AuthorizedUsers: may report results */
	long max_frame;			/* MaxFrameSize, bytes */
	char *log_file;			/* LogFile */
	char *log_level;		/* LogLevel: quiet, error..debug2 */
	char *syslog_level;		/* SyslogLevel: same names, default error */
	char *pid_file;			/* PidFile */
	char *spool_dir;		/* SpoolDir */
	char *server_address;		/* ServerAddress: where clients connect */
	long worker_threads;		/* WorkerThreads */
	long max_output;		/* MaxOutputSize, bytes kept per part */
	/* verifier */
	long missing_grace;		/* MissingGrace, seconds */
	/* reputation */
	long half_life;			/* HalfLife, seconds */
	double missing_weight;		/* MissingWeight */
	long min_verdicts;		/* MinVerdicts */
	double trust_above;		/* TrustAbove */
	double quarantine_below;	/* QuarantineBelow */
	long quarantine_seconds;	/* QuarantineSeconds */
	double probation_below;		/* ProbationBelow */
	bool push_reputation;		/* PushReputation: write node Extra */
	bool push_placement;		/* PushPlacement: node Weight and features
					 * for job_submit/quorate, default no */
	long placement_interval;	/* PlacementInterval, seconds, default 60 */
	/* sites */
	char *site_feature_prefix;	/* SiteFeaturePrefix, default site_ */
	/* chain */
	char *chain_rpc;		/* ChainRPC: JSON-RPC URL */
	char *chain_deployment;		/* ChainDeployment: addresses file */
	char *chain_key_file;		/* ChainKeyFile: 0600 key file */
	long confirmations;		/* Confirmations */
	long chain_poll;		/* ChainPollSeconds: between the poster's rounds */
	long chain_resend;		/* ChainResendSeconds: unmined this long: fee bump */
	double chain_max_fee_gwei;	/* ChainMaxFeeGwei: cap of maxFeePerGas */
	char *chain_ca_file;		/* ChainCAFile: trust anchors for an https ChainRPC */
	/* contributions (issue 11; doc/contrib-conf.txt) */
	long epoch_length;		/* EpochLength, seconds, default 1 day */
	double billing_weight_cpu;	/* BillingWeights cpu=, default 1 */
	double billing_weight_gpu;	/* BillingWeights gpu=, default 0 */
	double billing_weight_node;	/* BillingWeights node=, default 0 */
	struct qconf_site_map *site_maps;	/* SiteMap, repeatable */
	size_t n_site_maps;
	struct qconf_pair *account_sites;	/* AccountSite, repeatable */
	size_t n_account_sites;
	struct qconf_pair *site_payees;		/* SitePayee, repeatable */
	size_t n_site_payees;
	long ingest_overlap;		/* IngestOverlap, seconds, default 1 h */
	bool node_fail_missing;		/* NodeFailMissing: `quorate ingest` counts a
					 * node Slurm set DOWN under a NODE_FAIL job
					 * as a missing outcome, default no */
	bool balance_hook;		/* BalanceHook, default no */
	double credit_limit;		/* CreditLimit, credits, default 0 */
};

/* Fill conf with the defaults (strings allocated). 0, or -1 out of memory. */
int qconf_defaults(struct quorate_conf *conf);

/* Defaults, then PATH on top.  On error conf is freed and err says
 * "PATH:LINE: why". */
int qconf_load(const char *path, struct quorate_conf *conf,
	       char *err, size_t errlen);

/* Same, from a buffer (tests, fuzzing). */
int qconf_load_buffer(const char *name, const char *buf, size_t len,
		      struct quorate_conf *conf, char *err, size_t errlen);

void qconf_free(struct quorate_conf *conf);

/* The plugins' quorate.conf: the one in slurm.conf's directory (slurm_conf
 * NULL or "": $SLURM_CONF, else /etc/slurm/slurm.conf), into out.  0, or -1
 * when it does not fit. */
int qconf_path_beside(const char *slurm_conf, char *out, size_t outlen);

/* Whether two stat()s of quorate.conf are of the same, unchanged file
 * (device, inode, size, mtime, ctime): the plugins read it again when not. */
struct stat;
bool qconf_same_file(const struct stat *a, const struct stat *b);

/* Where a client on this host reaches quorated: ServerAddress, else
 * ListenAddress unless that is a wildcard, else 127.0.0.1. */
const char *qconf_server_address(const struct quorate_conf *conf);

/* The log level names of LogLevel and SyslogLevel, 0 (quiet) to 6
 * (debug2), as enum log_level.  -1 for an unknown name. */
int qconf_log_level(const char *name);

#endif
