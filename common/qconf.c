/*
 * qconf.c - the quorate.conf key table (see qconf.h, quorate.conf(5)).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "qconf.h"

#define F(field) offsetof(struct quorate_conf, field)
#define DAY 86400.0

static const char *const log_level_names[] = {
	"quiet", "error", "warning", "info", "verbose", "debug", "debug2",
};

int qconf_log_level(const char *name)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
		if (!strcasecmp(name, log_level_names[i]))
			return (int)i;
	return -1;
}

static int set_log_level(void *dst, const struct conf_key *key,
			 const char *value, char *err, size_t errlen)
{
	char **field = (char **)((char *)dst + key->offset);
	char *copy;

	if (qconf_log_level(value) < 0) {
		snprintf(err, errlen, "'%s' is not a log level (allowed: quiet, error, "
			 "warning, info, verbose, debug, debug2)", value);
		return -1;
	}
	copy = strdup(value);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

static const struct conf_key qconf_keys[] = {
	{ "ListenAddress", CONF_STRING, F(listen_address), 0, -1, NULL, false },
	{ "ListenPort", CONF_INT, F(listen_port), 1, 65535, NULL, false },
	{ "MetricsAddress", CONF_STRING, F(metrics_address), 0, -1, NULL, false },
	{ "MetricsPort", CONF_INT, F(metrics_port), 0, 65535, NULL, false },
	{ "MungeSocket", CONF_STRING, F(munge_socket), 0, -1, NULL, false },
	{ "Database", CONF_STRING, F(database), 0, -1, NULL, false },
	{ "SlurmConf", CONF_STRING, F(slurm_conf), 0, -1, NULL, false },
	{ "AuthorizedUsers", CONF_STRING, F(authorized_users), 0, -1, NULL, false },
	{ "MaxFrameSize", CONF_BYTES, F(max_frame), 1024, 64.0 * 1024 * 1024, NULL, false },
	{ "LogFile", CONF_STRING, F(log_file), 0, -1, NULL, false },
	{ "LogLevel", CONF_CALLBACK, F(log_level), 0, -1, set_log_level, false },
	{ "SyslogLevel", CONF_CALLBACK, F(syslog_level), 0, -1, set_log_level, false },
	{ "PidFile", CONF_STRING, F(pid_file), 0, -1, NULL, false },
	{ "SpoolDir", CONF_STRING, F(spool_dir), 0, -1, NULL, false },
	{ "ServerAddress", CONF_STRING, F(server_address), 0, -1, NULL, false },
	{ "WorkerThreads", CONF_INT, F(worker_threads), 1, 256, NULL, false },
	{ "MaxOutputSize", CONF_BYTES, F(max_output), 0, 64.0 * 1024 * 1024, NULL, false },
	{ "MissingGrace", CONF_SECONDS, F(missing_grace), 0, DAY, NULL, false },
	{ "HalfLife", CONF_SECONDS, F(half_life), 60, 3650 * DAY, NULL, false },
	{ "MissingWeight", CONF_DOUBLE, F(missing_weight), 0, 1, NULL, false },
	{ "MinVerdicts", CONF_INT, F(min_verdicts), 0, 1000000, NULL, false },
	{ "TrustAbove", CONF_DOUBLE, F(trust_above), 0, 100, NULL, false },
	{ "QuarantineBelow", CONF_DOUBLE, F(quarantine_below), 0, 100, NULL, false },
	{ "QuarantineSeconds", CONF_SECONDS, F(quarantine_seconds), 0, 3650 * DAY, NULL, false },
	{ "PushReputation", CONF_BOOL, F(push_reputation), 0, -1, NULL, false },
	{ "SiteFeaturePrefix", CONF_STRING, F(site_feature_prefix), 0, -1, NULL, false },
	{ "ChainRPC", CONF_STRING, F(chain_rpc), 0, -1, NULL, false },
	{ "ChainDeployment", CONF_STRING, F(chain_deployment), 0, -1, NULL, false },
	{ "ChainKeyFile", CONF_STRING, F(chain_key_file), 0, -1, NULL, false },
	{ "Confirmations", CONF_INT, F(confirmations), 0, 1000, NULL, false },
	{ "ChainPollSeconds", CONF_SECONDS, F(chain_poll), 1, 3600, NULL, false },
	{ "ChainResendSeconds", CONF_SECONDS, F(chain_resend), 1, DAY, NULL, false },
	{ "ChainMaxFeeGwei", CONF_DOUBLE, F(chain_max_fee_gwei), 1e-9, 1e6, NULL, false },
	{ "ChainCAFile", CONF_STRING, F(chain_ca_file), 0, -1, NULL, false },
	{ NULL, 0, 0, 0, 0, NULL, false },
};

static int set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

int qconf_defaults(struct quorate_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->listen_port = 6830;
	conf->metrics_port = 6831;
	conf->max_frame = 1024 * 1024;
	conf->missing_grace = 60;
	conf->half_life = 7 * 86400;
	conf->missing_weight = 0.5;
	conf->min_verdicts = 5;
	conf->trust_above = 80;
	conf->quarantine_below = 40;
	conf->quarantine_seconds = 86400;
	conf->push_reputation = true;
	conf->confirmations = 2;
	conf->chain_poll = 5;
	conf->chain_resend = 180;
	conf->chain_max_fee_gwei = 500;
	conf->worker_threads = 8;
	conf->max_output = 64 * 1024;
	if (set_string(&conf->listen_address, "0.0.0.0") ||
	    set_string(&conf->metrics_address, "127.0.0.1") ||
	    set_string(&conf->munge_socket, "/run/munge/munge.socket.2") ||
	    set_string(&conf->database, "dbname=quorate") ||
	    set_string(&conf->slurm_conf, "/etc/slurm/slurm.conf") ||
	    set_string(&conf->authorized_users, "root,slurm") ||
	    set_string(&conf->log_level, "info") ||
	    set_string(&conf->syslog_level, "error") ||
	    set_string(&conf->spool_dir, "/var/spool/quorate") ||
	    set_string(&conf->site_feature_prefix, "site_")) {
		qconf_free(conf);
		return -1;
	}
	return 0;
}

/* Checks across keys, after the whole file is read. */
static int qconf_validate(const char *name, struct quorate_conf *conf,
			  char *err, size_t errlen)
{
	if (conf->quarantine_below > conf->trust_above) {
		snprintf(err, errlen, "%s: QuarantineBelow (%g) is above TrustAbove (%g)",
			 name, conf->quarantine_below, conf->trust_above);
		return -1;
	}
	if (conf->max_output > conf->max_frame) {
		snprintf(err, errlen, "%s: MaxOutputSize (%ld) is above MaxFrameSize (%ld)",
			 name, conf->max_output, conf->max_frame);
		return -1;
	}
	if (!conf->site_feature_prefix[0]) {
		snprintf(err, errlen, "%s: SiteFeaturePrefix is empty", name);
		return -1;
	}
	return 0;
}

int qconf_load_buffer(const char *name, const char *buf, size_t len,
		      struct quorate_conf *conf, char *err, size_t errlen)
{
	if (qconf_defaults(conf)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (conf_parse_buffer(name, buf, len, qconf_keys, conf, err, errlen) ||
	    qconf_validate(name, conf, err, errlen)) {
		qconf_free(conf);
		return -1;
	}
	return 0;
}

int qconf_load(const char *path, struct quorate_conf *conf,
	       char *err, size_t errlen)
{
	if (qconf_defaults(conf)) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (conf_parse_file(path, qconf_keys, conf, err, errlen) ||
	    qconf_validate(path, conf, err, errlen)) {
		qconf_free(conf);
		return -1;
	}
	return 0;
}

void qconf_free(struct quorate_conf *conf)
{
	conf_free(qconf_keys, conf);
	/* Strings set through callbacks are not conf_free()'s to know. */
	free(conf->log_level);
	free(conf->syslog_level);
	conf->log_level = NULL;
	conf->syslog_level = NULL;
}

const char *qconf_server_address(const struct quorate_conf *conf)
{
	const char *a = conf->listen_address;

	if (conf->server_address && *conf->server_address)
		return conf->server_address;
	if (!a || !*a || !strcmp(a, "0.0.0.0") || !strcmp(a, "::") || !strcmp(a, "*"))
		return "127.0.0.1";
	return a;
}
