/*
 * fuzz_qmsg - libFuzzer target for the JSON payload parser (common/qmsg.c):
 * the input is what a munge credential carries.  It takes the path
 * quorated's worker takes (accounting/work.c: qmsg_parse_request, then the
 * parser of the message's type, each item of a batch), and the response
 * parser clients use (qmsg_parse_object).
 *
 * Properties checked (abort on violation): whatever a parser accepts,
 * qmsg_result_check() accepts too, and a replica_result or contribution
 * survives the round trip through its builder (the spool format) with
 * every field equal: a spooled report replays as the same report.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "qmsg.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

static json_object *round_trip(json_object *built)
{
	char err[512];
	const char *text;
	size_t len;
	json_object *again;

	check(built != NULL);
	text = json_object_to_json_string_length(built, JSON_C_TO_STRING_PLAIN, &len);
	check(text != NULL);
	again = qmsg_parse_object(text, len, err, sizeof(err));
	check(again != NULL);
	json_object_put(built);
	return again;
}

static void same_result(const struct qmsg_result *a, const struct qmsg_result *b)
{
	check(!strcmp(a->cluster, b->cluster) && a->job == b->job && a->step == b->step);
	check(a->replica == b->replica && a->replicas == b->replicas && a->quorum == b->quorum);
	check(a->part == b->part && a->parts == b->parts);
	check(!strcmp(a->node, b->node) && !strcmp(a->site, b->site) && a->uid == b->uid);
	check(!memcmp(a->sha256, b->sha256, sizeof(a->sha256)));
	check(a->exit_status == b->exit_status && a->mode == b->mode);
	check(a->runtime == b->runtime && a->tolerance == b->tolerance);
	check((a->output == NULL) == (b->output == NULL) && a->output_len == b->output_len);
	check(!a->output || !memcmp(a->output, b->output, a->output_len));
	check((a->layout == NULL) == (b->layout == NULL));
	for (int i = 0; a->layout && i < a->replicas; i++)
		check(!strcmp(a->layout[i], b->layout[i]));
}

static void fuzz_result(json_object *o)
{
	struct qmsg_result r, again;
	char err[512];
	json_object *copy;

	if (qmsg_result_from_json(o, &r, err, sizeof(err)))
		return;
	check(qmsg_result_check(&r, err, sizeof(err)) == 0);
	copy = round_trip(qmsg_result_to_json(&r));
	check(qmsg_result_from_json(copy, &again, err, sizeof(err)) == 0);
	same_result(&r, &again);
	json_object_put(copy);
	qmsg_result_free(&again);
	qmsg_result_free(&r);
}

static void fuzz_contribution(json_object *o)
{
	struct qmsg_contribution c, again;
	char err[512];
	json_object *copy;

	if (qmsg_contribution_from_json(o, &c, err, sizeof(err)))
		return;
	copy = round_trip(qmsg_contribution_to_json(&c));
	check(qmsg_contribution_from_json(copy, &again, err, sizeof(err)) == 0);
	check(!strcmp(c.cluster, again.cluster) && c.job == again.job && c.step == again.step);
	check(c.rank == again.rank && !strcmp(c.node, again.node));
	check(c.compute_seconds == again.compute_seconds && c.samples == again.samples);
	check(c.gradients_accepted == again.gradients_accepted &&
	      c.gradients_rejected == again.gradients_rejected);
	json_object_put(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_object *msg, *obj;
	enum qmsg_type type;
	const char *code;
	char err[512];

	/* Responses, as qclient parses them. */
	obj = qmsg_parse_object(text, size, err, sizeof(err));
	json_object_put(obj);

	if (qmsg_parse_request(text, size, &msg, &type, &code, err, sizeof(err))) {
		check(msg == NULL && code != NULL && err[0]);
		return 0;
	}
	switch (type) {
	case QMSG_REPLICA_RESULT:
		fuzz_result(msg);
		break;
	case QMSG_CONTRIBUTION:
		fuzz_contribution(msg);
		break;
	case QMSG_BATCH: {
		json_object **items = NULL;
		enum qmsg_type types[QMSG_MAX_BATCH];
		int n = qmsg_batch_items(msg, &items, types, err, sizeof(err));

		check(n <= QMSG_MAX_BATCH);
		for (int i = 0; i < n; i++) {
			if (types[i] == QMSG_REPLICA_RESULT)
				fuzz_result(items[i]);
			else
				fuzz_contribution(items[i]);
		}
		free(items);
		break;
	}
	case QMSG_VERDICT_QUERY: {
		struct qmsg_verdict_query q;

		if (!qmsg_verdict_query_from_json(msg, &q, err, sizeof(err)))
			check(q.job >= 1 && q.wait >= 0 && q.wait <= QMSG_MAX_WAIT);
		break;
	}
	case QMSG_REPUTATION_QUERY: {
		struct qmsg_reputation_query q;

		(void)qmsg_reputation_query_from_json(msg, &q, err, sizeof(err));
		break;
	}
	case QMSG_EVENTS_QUERY: {
		struct qmsg_events_query q;

		if (!qmsg_events_query_from_json(msg, &q, err, sizeof(err)))
			check(q.limit >= 1 && q.limit <= QMSG_MAX_EVENTS && q.node[0]);
		break;
	}
	case QMSG_NODE_ADMIN: {
		struct qmsg_node_admin a;

		if (!qmsg_node_admin_from_json(msg, &a, err, sizeof(err)))
			check(a.node[0] && a.action[0] && a.reason[0] &&
			      strlen(a.reason) < QMSG_REASON_MAX);
		break;
	}
	case QMSG_NODE_FAIL: {
		struct qmsg_node_fail f;

		if (!qmsg_node_fail_from_json(msg, &f, err, sizeof(err)))
			check(f.node[0] && f.job >= 1 && f.at >= 1 && f.reason[0] &&
			      strlen(f.reason) < QMSG_REASON_MAX);
		break;
	}
	case QMSG_HEALTH:
	case QMSG_NONE:
		break;
	}
	json_object_put(msg);
	return 0;
}
