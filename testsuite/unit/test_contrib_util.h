/* Helpers shared by the test_contrib_* unit tests (include after cmocka.h). */
#ifndef TEST_CONTRIB_UTIL_H
#define TEST_CONTRIB_UTIL_H

#include <stdio.h>
#include <string.h>

#include "contrib.h"
#include "qconf.h"

/* A policy from quorate.conf text; the test fails on any error. */
static inline void policy_from_text(struct contrib_policy *p, const char *text)
{
	struct quorate_conf c;
	char err[512];

	if (qconf_load_buffer("quorate.conf", text, strlen(text), &c, err, sizeof(err)))
		fail_msg("qconf: %s", err);
	if (contrib_policy_from_conf(p, &c, "quorate.conf", err, sizeof(err))) {
		qconf_free(&c);
		fail_msg("policy: %s", err);
	}
	qconf_free(&c);
}

/* A usage record: CPU-seconds = cpus x elapsed, node-seconds = elapsed. */
static inline struct contrib_usage usage_rec(const char *cluster, const char *node,
					     const char *site, const char *account,
					     uint64_t db_index, uint64_t cpus,
					     uint64_t gpus, uint64_t elapsed,
					     int64_t end)
{
	struct contrib_usage u;

	memset(&u, 0, sizeof(u));
	u.cluster = cluster;
	u.node = node;
	u.site = site;
	u.account = account;
	u.user = "alice";
	u.partition = "debug";
	u.qos = "normal";
	u.db_index = db_index;
	u.job_id = (uint32_t)(1000 + db_index);
	u.start_time = end - (int64_t)elapsed;
	u.end_time = end;
	u.cpu_seconds = cpus * elapsed;
	u.gpu_seconds = gpus * elapsed;
	u.node_seconds = elapsed;
	return u;
}

/* A fixed pseudo-random sequence (xorshift64), so tests never change. */
static inline uint64_t test_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
