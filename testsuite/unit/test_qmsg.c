/* Unit tests for common/qmsg.c: the messages' JSON, both ways, and how
 * strictly they are read. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "qmsg.h"

static const char *SHA = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

static json_object *parse(const char *text)
{
	char err[256];
	json_object *o = qmsg_parse_object(text, strlen(text), err, sizeof(err));

	if (!o)
		fail_msg("parse failed: %s", err);
	return o;
}

static void sample(struct qmsg_result *r)
{
	static char *layout[3] = { "n1", "n2,n3", "n4" };

	memset(r, 0, sizeof(*r));
	snprintf(r->cluster, sizeof(r->cluster), "qc1");
	r->job = 4294967295LL;
	r->step = 0xfffffffbLL;	/* Slurm's batch step */
	r->replica = 1;
	r->replicas = 3;
	r->quorum = 2;
	r->part = 1;
	r->parts = 2;
	snprintf(r->node, sizeof(r->node), "n2");
	snprintf(r->site, sizeof(r->site), "b");
	r->uid = 1000;
	for (int i = 0; i < 32; i++)
		r->sha256[i] = (uint8_t)i;
	r->exit_status = -9;
	r->runtime = 12.5;
	r->mode = VERIFY_NUMERIC;
	r->tolerance = 1e-6;
	r->output = "3.14159\n\0binary\xff";
	r->output_len = 16;
	r->layout = layout;
}

static void test_result_round_trip(void **state)
{
	struct qmsg_result in, out;
	json_object *o;
	char err[256];
	const char *text;

	sample(&in);
	o = qmsg_result_to_json(&in);
	assert_non_null(o);
	text = json_object_to_json_string(o);
	json_object *again = parse(text);

	assert_int_equal(qmsg_result_from_json(again, &out, err, sizeof(err)), 0);
	assert_string_equal(out.cluster, "qc1");
	assert_true(out.job == 4294967295LL);
	assert_true(out.step == 0xfffffffbLL);
	assert_int_equal(out.replica, 1);
	assert_int_equal(out.replicas, 3);
	assert_int_equal(out.quorum, 2);
	assert_int_equal(out.part, 1);
	assert_int_equal(out.parts, 2);
	assert_string_equal(out.node, "n2");
	assert_string_equal(out.site, "b");
	assert_true(out.uid == 1000);
	assert_memory_equal(out.sha256, in.sha256, 32);
	assert_int_equal(out.exit_status, -9);
	assert_true(out.runtime == 12.5);
	assert_int_equal(out.mode, VERIFY_NUMERIC);
	assert_true(out.tolerance == 1e-6);
	assert_int_equal(out.output_len, 16);
	assert_memory_equal(out.output, in.output, 16);
	assert_non_null(out.layout);
	assert_string_equal(out.layout[1], "n2,n3");
	qmsg_result_free(&out);
	json_object_put(again);
	json_object_put(o);
}

/* The smallest valid report: defaults for part, parts, mode. */
static void test_result_minimal(void **state)
{
	char text[512], err[256];
	struct qmsg_result r;
	json_object *o;

	snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"replica_result\",\"job\":7,\"step\":0,"
		 "\"replica\":0,\"replicas\":2,\"quorum\":2,\"node\":\"n1\",\"uid\":0,"
		 "\"sha256\":\"%s\",\"exit_status\":0}", SHA);
	o = parse(text);
	assert_int_equal(qmsg_result_from_json(o, &r, err, sizeof(err)), 0);
	assert_int_equal(r.parts, 1);
	assert_int_equal(r.part, 0);
	assert_int_equal(r.mode, VERIFY_EXACT);
	assert_null(r.output);
	assert_null(r.layout);
	assert_string_equal(r.cluster, "");
	qmsg_result_free(&r);
	json_object_put(o);
}

static void expect_result_error(const char *fields, const char *want)
{
	char text[1024], err[256];
	struct qmsg_result r;
	json_object *o;

	snprintf(text, sizeof(text), "{\"type\":\"replica_result\",%s}", fields);
	o = parse(text);
	if (qmsg_result_from_json(o, &r, err, sizeof(err)) == 0)
		fail_msg("accepted: %s", text);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	json_object_put(o);
}

static void test_result_errors(void **state)
{
	char base[512], f[1024];

	snprintf(base, sizeof(base), "\"job\":7,\"step\":0,\"replicas\":3,\"quorum\":2,"
		 "\"node\":\"n1\",\"uid\":0,\"exit_status\":0");
	snprintf(f, sizeof(f), "%s,\"replica\":0,\"sha256\":\"%s\",\"colour\":1", base, SHA);
	expect_result_error(f, "colour: unknown field");
	snprintf(f, sizeof(f), "%s,\"sha256\":\"%s\"", base, SHA);
	expect_result_error(f, "replica: missing");
	snprintf(f, sizeof(f), "%s,\"replica\":3,\"sha256\":\"%s\"", base, SHA);
	expect_result_error(f, "replica: 3 is out of range (0..2)");
	snprintf(f, sizeof(f), "%s,\"replica\":0,\"sha256\":\"abc\"", base);
	expect_result_error(f, "sha256: not 64 hex digits");
	snprintf(f, sizeof(f), "%s,\"replica\":\"0\",\"sha256\":\"%s\"", base, SHA);
	expect_result_error(f, "replica: not an integer");
	snprintf(f, sizeof(f), "%s,\"replica\":0,\"sha256\":\"%s\",\"mode\":\"fuzzy\"", base, SHA);
	expect_result_error(f, "mode: 'fuzzy' is not exact or numeric");
	snprintf(f, sizeof(f), "%s,\"replica\":0,\"sha256\":\"%s\",\"tolerance\":0.1", base, SHA);
	expect_result_error(f, "tolerance: only with mode numeric");
	snprintf(f, sizeof(f), "%s,\"replica\":0,\"sha256\":\"%s\",\"output_b64\":\"@@@@\"", base, SHA);
	expect_result_error(f, "output_b64: not base64");
	snprintf(f, sizeof(f), "%s,\"replica\":0,\"sha256\":\"%s\",\"layout\":[\"n1\",\"n2\"]", base, SHA);
	expect_result_error(f, "layout: 2 entries for 3 replicas");
	snprintf(f, sizeof(f), "%s,\"replica\":0,\"sha256\":\"%s\",\"layout\":[\"n1\",\"n2,,n3\",\"n4\"]",
		 base, SHA);
	expect_result_error(f, "layout[1]");
	snprintf(f, sizeof(f), "\"job\":7,\"step\":0,\"replica\":0,\"replicas\":3,\"quorum\":4,"
		 "\"node\":\"n1\",\"uid\":0,\"exit_status\":0,\"sha256\":\"%s\"", SHA);
	expect_result_error(f, "quorum: 4 is out of range (1..3)");
	snprintf(f, sizeof(f), "\"job\":7,\"step\":0,\"replica\":0,\"replicas\":3,\"quorum\":2,"
		 "\"node\":\"n 1\",\"uid\":0,\"exit_status\":0,\"sha256\":\"%s\"", SHA);
	expect_result_error(f, "node: 'n 1' is not a valid name");
	snprintf(f, sizeof(f), "\"job\":0,\"step\":0,\"replica\":0,\"replicas\":3,\"quorum\":2,"
		 "\"node\":\"n1\",\"uid\":0,\"exit_status\":0,\"sha256\":\"%s\"", SHA);
	expect_result_error(f, "job: 0 is out of range");
}

static void test_requests(void **state)
{
	const char *code;
	char err[256];
	enum qmsg_type type;
	json_object *o;
	const char *ok = "{\"v\":1,\"type\":\"health\"}";

	assert_int_equal(qmsg_parse_request(ok, strlen(ok), &o, &type, &code, err, sizeof(err)), 0);
	assert_int_equal(type, QMSG_HEALTH);
	json_object_put(o);

#define BAD(text, want_code, want) do { \
		const char *t_ = (text); \
		assert_int_equal(qmsg_parse_request(t_, strlen(t_), &o, &type, &code, err, sizeof(err)), -1); \
		assert_string_equal(code, want_code); \
		if (!strstr(err, want)) \
			fail_msg("'%s' lacks '%s'", err, want); \
	} while (0)
	BAD("{\"v\":2,\"type\":\"health\"}", "unsupported_version", "version 2 is not supported");
	BAD("{\"type\":\"health\"}", "malformed", "v: missing");
	BAD("{\"v\":1,\"type\":\"dance\"}", "malformed", "unknown message type 'dance'");
	BAD("{\"v\":1}", "malformed", "type: missing");
	BAD("{\"v\":1,\"type\":\"health\"} x", "malformed", "");	/* json-c or we: either refuses */
	BAD("[1,2]", "malformed", "not a JSON object");
	BAD("{\"v\":1,\"type\":", "malformed", "not JSON");
	BAD("", "malformed", "not JSON");
	{
		const char with_nul[] = "{\"v\":1,\"type\":\"health\"}\0x";

		assert_int_equal(qmsg_parse_request(with_nul, sizeof(with_nul) - 1, &o, &type, &code,
						    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "NUL"));
	}
#undef BAD
}

static void test_queries(void **state)
{
	struct qmsg_verdict_query vq;
	struct qmsg_events_query eq;
	struct qmsg_reputation_query rq;
	char err[256];
	json_object *o;

	o = parse("{\"v\":1,\"type\":\"verdict_query\",\"job\":12,\"step\":3,\"wait\":30}");
	assert_int_equal(qmsg_verdict_query_from_json(o, &vq, err, sizeof(err)), 0);
	assert_true(vq.job == 12 && vq.step == 3 && vq.wait == 30 && vq.output);
	json_object_put(o);
	o = parse("{\"v\":1,\"type\":\"verdict_query\",\"job\":12,\"step\":3,\"wait\":3601}");
	assert_int_equal(qmsg_verdict_query_from_json(o, &vq, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "wait: 3601 is out of range"));
	json_object_put(o);
	o = parse("{\"v\":1,\"type\":\"events_query\",\"node\":\"n3\"}");
	assert_int_equal(qmsg_events_query_from_json(o, &eq, err, sizeof(err)), 0);
	assert_int_equal(eq.limit, 50);
	assert_string_equal(eq.node, "n3");
	json_object_put(o);
	o = parse("{\"v\":1,\"type\":\"events_query\"}");
	assert_int_equal(qmsg_events_query_from_json(o, &eq, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "node: missing"));
	json_object_put(o);
	o = parse("{\"v\":1,\"type\":\"reputation_query\",\"cluster\":\"a b\"}");
	assert_int_equal(qmsg_reputation_query_from_json(o, &rq, err, sizeof(err)), -1);
	json_object_put(o);
}

static void test_node_fail(void **state)
{
	struct qmsg_node_fail f;
	char err[256];
	json_object *o;

	o = parse("{\"v\":1,\"type\":\"node_fail\",\"node\":\"n2\",\"job\":41,"
		  "\"at\":1796000000,\"reason\":\"job 41 ended NODE_FAIL\"}");
	assert_int_equal(qmsg_node_fail_from_json(o, &f, err, sizeof(err)), 0);
	assert_string_equal(f.node, "n2");
	assert_string_equal(f.cluster, "");
	assert_true(f.job == 41 && f.at == 1796000000);
	assert_string_equal(f.reason, "job 41 ended NODE_FAIL");
	json_object_put(o);
	/* Each field is checked: no job, a time of 0, a reason with a newline,
	 * a field the message does not have. */
	o = parse("{\"v\":1,\"type\":\"node_fail\",\"node\":\"n2\",\"at\":1,\"reason\":\"x\"}");
	assert_int_equal(qmsg_node_fail_from_json(o, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "job: missing"));
	json_object_put(o);
	o = parse("{\"v\":1,\"type\":\"node_fail\",\"node\":\"n2\",\"job\":1,\"at\":0,"
		  "\"reason\":\"x\"}");
	assert_int_equal(qmsg_node_fail_from_json(o, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at: 0 is out of range"));
	json_object_put(o);
	o = parse("{\"v\":1,\"type\":\"node_fail\",\"node\":\"n2\",\"job\":1,\"at\":1,"
		  "\"reason\":\"a\\nb\"}");
	assert_int_equal(qmsg_node_fail_from_json(o, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "reason: control character"));
	json_object_put(o);
	o = parse("{\"v\":1,\"type\":\"node_fail\",\"node\":\"n2\",\"job\":1,\"at\":1,"
		  "\"reason\":\"x\",\"uid\":0}");
	assert_int_equal(qmsg_node_fail_from_json(o, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "uid: unknown field"));
	json_object_put(o);
}

static void test_contribution_round_trip(void **state)
{
	struct qmsg_contribution in = {
		.cluster = "qc2", .job = 99, .step = 1, .rank = 3, .node = "n4",
		.compute_seconds = 1.25, .samples = 60000, .gradients_accepted = 937,
		.gradients_rejected = 1,
	}, out;
	json_object *o = qmsg_contribution_to_json(&in), *again;
	char err[256];

	assert_non_null(o);
	again = parse(json_object_to_json_string(o));
	assert_int_equal(qmsg_contribution_from_json(again, &out, err, sizeof(err)), 0);
	assert_string_equal(out.cluster, "qc2");
	assert_true(out.job == 99 && out.step == 1 && out.rank == 3);
	assert_string_equal(out.node, "n4");
	assert_true(out.compute_seconds == 1.25);
	assert_true(out.samples == 60000 && out.gradients_accepted == 937 &&
		    out.gradients_rejected == 1);
	json_object_put(again);
	json_object_put(o);
}

static void test_batch(void **state)
{
	char text[8192], item[512], err[256];
	json_object *o, **items;
	enum qmsg_type types[QMSG_MAX_BATCH];
	size_t len;

	snprintf(item, sizeof(item), "{\"type\":\"replica_result\",\"job\":1,\"step\":0,\"replica\":0,"
		 "\"replicas\":1,\"quorum\":1,\"node\":\"n1\",\"uid\":0,\"sha256\":\"%s\",\"exit_status\":0}", SHA);
	len = (size_t)snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"batch\",\"items\":[%s,"
			       "{\"type\":\"contribution\",\"job\":1,\"step\":0,\"rank\":0,\"node\":\"n1\","
			       "\"compute_seconds\":1,\"samples\":2}]}", item);
	o = parse(text);
	assert_int_equal(qmsg_batch_items(o, &items, types, err, sizeof(err)), 2);
	assert_int_equal(types[0], QMSG_REPLICA_RESULT);
	assert_int_equal(types[1], QMSG_CONTRIBUTION);
	free(items);
	json_object_put(o);
	(void)len;

	o = parse("{\"v\":1,\"type\":\"batch\",\"items\":[]}");
	assert_int_equal(qmsg_batch_items(o, &items, types, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "0 items (allowed 1..64)"));
	json_object_put(o);
	o = parse("{\"v\":1,\"type\":\"batch\",\"items\":[{\"type\":\"health\"}]}");
	assert_int_equal(qmsg_batch_items(o, &items, types, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot be batched"));
	json_object_put(o);

	/* 65 items are one too many. */
	{
		size_t off = (size_t)snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"batch\",\"items\":[");

		for (int i = 0; i < 65; i++)
			off += (size_t)snprintf(text + off, sizeof(text) - off, "%s{\"type\":\"contribution\"}",
						i ? "," : "");
		snprintf(text + off, sizeof(text) - off, "]}");
		o = parse(text);
		assert_int_equal(qmsg_batch_items(o, &items, types, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "65 items"));
		json_object_put(o);
	}
}

static void test_base64(void **state)
{
	const char *cases[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char *enc, *dec;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enc = qmsg_b64_encode(cases[i], strlen(cases[i]));
		assert_string_equal(enc, want[i]);
		assert_int_equal(qmsg_b64_decode(enc, &dec, &len), 0);
		assert_int_equal(len, strlen(cases[i]));
		assert_memory_equal(dec, cases[i], len);
		free(enc);
		free(dec);
	}
	assert_int_equal(qmsg_b64_decode("Zm9", &dec, &len), -1);
	assert_int_equal(qmsg_b64_decode("Zm=v", &dec, &len), -1);
	assert_int_equal(qmsg_b64_decode("Z===", &dec, &len), -1);
	assert_int_equal(qmsg_b64_decode("Zm9v\n", &dec, &len), -1);
}

static void test_codes(void **state)
{
	json_object *o = qmsg_response_error("retry_later", "database %s", "down"), *v;

	assert_true(json_object_object_get_ex(o, "retry", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(o, "message", &v));
	assert_string_equal(json_object_get_string(v), "database down");
	json_object_put(o);
	assert_true(qmsg_code_is_transient("expired"));
	assert_false(qmsg_code_is_transient("unauthorized"));
	assert_false(qmsg_code_is_transient("replayed"));
	assert_false(qmsg_code_is_transient("conflict"));
	assert_true(qmsg_code_is_known("forbidden"));
	assert_false(qmsg_code_is_known("teapot"));
	assert_true(qmsg_valid_cluster("qc_12-a"));
	assert_false(qmsg_valid_cluster("qc.1"));
	assert_true(qmsg_valid_node("node-1.example"));
	assert_false(qmsg_valid_node(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_round_trip),
		cmocka_unit_test(test_result_minimal),
		cmocka_unit_test(test_result_errors),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_queries),
		cmocka_unit_test(test_node_fail),
		cmocka_unit_test(test_contribution_round_trip),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
