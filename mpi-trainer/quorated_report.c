/*
 * quorated_report.c - see quorated_report.h.  A thin adapter: quorate.conf
 * through common/qconf, the wire through common/qclient.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "qclient.h"
#include "qconf.h"
#include "quorated_report.h"

#define REPORT_ATTEMPTS 3		/* a restarting quorated gets 1 + 2 s */

int report_step_ids(const char *job, const char *step, uint32_t *job_id,
		    uint32_t *step_id, char *err, size_t errlen)
{
	char why[256];
	long v;

	if (!job || !*job) {
		snprintf(err, errlen, "SLURM_JOB_ID is not set (not a Slurm job)");
		return -1;
	}
	if (conf_parse_long(job, 1, UINT32_MAX, &v, why, sizeof(why))) {
		snprintf(err, errlen, "SLURM_JOB_ID: %s", why);
		return -1;
	}
	*job_id = (uint32_t)v;
	if (!step || !*step) {
		snprintf(err, errlen, "SLURM_STEP_ID is not set (not a job step: use srun)");
		return -1;
	}
	if (conf_parse_long(step, 0, UINT32_MAX, &v, why, sizeof(why))) {
		snprintf(err, errlen, "SLURM_STEP_ID: %s", why);
		return -1;
	}
	*step_id = (uint32_t)v;
	return 0;
}

void report_contribution(const struct rank_contribution *c, int r,
			 const struct contribution_context *ctx, uint32_t job_id,
			 uint32_t step_id, struct qclient_contribution *out)
{
	memset(out, 0, sizeof(*out));
	out->job_id = job_id;
	out->step_id = step_id;
	out->rank = ctx->world_ranks ? ctx->world_ranks[r] : r;
	out->node = ctx->nodes ? ctx->nodes[r] : NULL;
	out->compute_seconds = c->compute_seconds;
	out->samples = c->samples > 0 ? (uint64_t)c->samples : 0;
	out->gradients_accepted = c->accepted > 0 ? (uint64_t)c->accepted : 0;
	out->gradients_rejected = c->rejected > 0 ? (uint64_t)c->rejected : 0;
}

/* quorate.conf as the quorate CLI finds it: 1 loaded, 0 none, -1 bad. */
static int load_conf(struct quorate_conf *conf)
{
	const char *path = getenv("QUORATE_CONF");
	char err[1024];

	if (!path || !*path) {
		if (access(QCONF_DEFAULT_PATH, F_OK) != 0) {
			log_verbose("no quorated configured (neither $QUORATE_CONF nor %s): "
				    "contributions are in the metrics file only", QCONF_DEFAULT_PATH);
			return 0;
		}
		path = QCONF_DEFAULT_PATH;
	}
	if (qconf_load(path, conf, err, sizeof(err))) {
		log_warning("contributions not sent to quorated: %s", err);
		return -1;
	}
	return 1;
}

/* One batch (n <= QCLIENT_MAX_BATCH), retried while the failure is
 * transient.  Returns the number acknowledged. */
static int send_batch(struct qclient *qc, const char *const *items, size_t n,
		      const int *ranks)
{
	struct qclient_ack acks[QCLIENT_MAX_BATCH];
	struct qclient_error e;
	enum qclient_class cls = QCLIENT_TRANSIENT;
	int acked = 0;

	for (int attempt = 1; attempt <= REPORT_ATTEMPTS; attempt++) {
		cls = qclient_send_items(qc, items, n, acks, &e);
		if (cls != QCLIENT_TRANSIENT)
			break;
		qclient_disconnect(qc);
		if (attempt < REPORT_ATTEMPTS) {
			log_verbose("quorated: %s (%s); trying again in %d s", e.message,
				    e.code, attempt);
			sleep((unsigned)attempt);
		}
	}
	if (cls != QCLIENT_OK) {
		log_warning("contributions of %zu ranks not sent to quorated: %s (%s); "
			    "they are in the metrics file", n, e.message, e.code);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (acks[i].cls == QCLIENT_OK)
			acked++;
		else
			log_warning("quorated refused rank %d's contribution: %s (%s)",
				    ranks[i], acks[i].message, acks[i].code);
	}
	return acked;
}

int report_to_quorated(const struct rank_contribution *ranks, int n,
		       const struct contribution_context *ctx)
{
	struct quorate_conf conf;
	struct qclient *qc = NULL;
	struct qclient_error e;
	char *items[QCLIENT_MAX_BATCH];
	int item_ranks[QCLIENT_MAX_BATCH];
	char err[512];
	uint32_t job_id, step_id;
	int acked = 0, rv = -1, have;
	size_t k = 0;

	if (n <= 0)
		return 0;
	if ((have = load_conf(&conf)) <= 0)
		return have;
	if (report_step_ids(ctx->job_id, ctx->step_id, &job_id, &step_id, err, sizeof(err))) {
		log_verbose("contributions not sent to quorated: %s", err);
		qconf_free(&conf);
		return 0;
	}
	{
		const char *sock = getenv("QUORATE_MUNGE_SOCKET");
		struct qclient_options o = {
			.host = qconf_server_address(&conf),
			.port = (unsigned)conf.listen_port,
			.munge_socket = sock && *sock ? sock : conf.munge_socket,
			.connect_timeout_ms = 2000,
			.max_frame = (size_t)conf.max_frame,
		};

		qc = qclient_new(&o, &e);
	}
	if (!qc) {
		log_warning("contributions not sent to quorated: %s", e.message);
		goto fail;
	}
	for (int r = 0; r < n; r++) {
		struct qclient_contribution k1;

		report_contribution(&ranks[r], r, ctx, job_id, step_id, &k1);
		items[k] = qclient_contribution_json(&k1, &e);
		if (!items[k]) {
			log_warning("rank %d's contribution not sent to quorated: %s",
				    k1.rank, e.message);
			continue;
		}
		item_ranks[k++] = k1.rank;
		if (k == QCLIENT_MAX_BATCH) {
			acked += send_batch(qc, (const char *const *)items, k, item_ranks);
			while (k)
				free(items[--k]);
		}
	}
	if (k)
		acked += send_batch(qc, (const char *const *)items, k, item_ranks);
	while (k)
		free(items[--k]);
	if (acked == n) {
		log_info("quorated acknowledged the contributions of %d ranks (job %u, step %u)",
			 n, job_id, step_id);
		rv = acked;
	}
fail:
	qclient_free(qc);
	qconf_free(&conf);
	return rv;
}
