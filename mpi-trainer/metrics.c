/*
 * metrics.c - see metrics.h.  JSON through json-c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "log.h"
#include "metrics.h"
#include "quorated_report.h"

int metrics_open(struct metrics *m, const char *path, char *err, size_t errlen)
{
	/* Ten significant digits instead of json-c's round-trip seventeen. */
	json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);
	m->f = fopen(path, "ae");
	if (!m->f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int metrics_write(struct metrics *m, struct json_object *obj)
{
	const char *s;

	if (!m->f || !obj)
		return 0;
	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	if (fprintf(m->f, "%s\n", s) < 0 || fflush(m->f))
		return -1;
	return 0;
}

void metrics_close(struct metrics *m)
{
	if (m->f)
		fclose(m->f);
	m->f = NULL;
}

void epoch_report_line(const struct epoch_report *r, char *buf, size_t len)
{
	char test[32] = "-", prefix[32] = "", rejected[64] = "";

	if (r->test_acc >= 0)
		snprintf(test, sizeof(test), "%.4f", r->test_acc);
	if (r->replicas > 1)
		snprintf(prefix, sizeof(prefix), "replica %d: ", r->replica);
	if (r->rejected)
		snprintf(rejected, sizeof(rejected), "  (%ld gradients rejected)", r->rejected);
	snprintf(buf, len, "%sepoch %d/%d  loss %.4f  train-acc %.4f  test-acc %s  "
		 "samples/s %.0f  comm %.1f%%  time %.1fs%s", prefix, r->epoch, r->epochs,
		 r->loss, r->train_acc, test, r->samples_per_s, 100.0 * r->comm_fraction,
		 r->seconds, rejected);
}

static void put_double(struct json_object *o, const char *key, double v)
{
	json_object_object_add(o, key, json_object_new_double(v));
}

static void put_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

struct json_object *epoch_report_json(const struct epoch_report *r)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "event", json_object_new_string("epoch"));
	put_int(o, "replica", r->replica);
	put_int(o, "epoch", r->epoch);
	put_int(o, "epochs", r->epochs);
	put_int(o, "step", r->step);
	put_double(o, "loss", r->loss);
	put_double(o, "train_acc", r->train_acc);
	if (r->test_acc >= 0)
		put_double(o, "test_acc", r->test_acc);
	else
		json_object_object_add(o, "test_acc", NULL);
	put_double(o, "samples_per_s", r->samples_per_s);
	put_double(o, "comm_fraction", r->comm_fraction);
	put_double(o, "seconds", r->seconds);
	put_double(o, "elapsed", r->elapsed);
	put_int(o, "grads_rejected", r->rejected);
	return o;
}

struct json_object *contribution_json(const struct rank_contribution *c, int r,
				      const struct contribution_context *ctx)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "event", json_object_new_string("contribution"));
	if (ctx->job_id)
		json_object_object_add(o, "job_id", json_object_new_string(ctx->job_id));
	if (ctx->step_id)
		json_object_object_add(o, "step_id", json_object_new_string(ctx->step_id));
	put_int(o, "replica", ctx->replica);
	put_int(o, "rank", r);
	if (ctx->nodes && ctx->nodes[r])
		json_object_object_add(o, "node", json_object_new_string(ctx->nodes[r]));
	put_double(o, "compute_seconds", c->compute_seconds);
	put_double(o, "comm_seconds", c->comm_seconds);
	put_int(o, "samples", c->samples);
	put_int(o, "grads_accepted", c->accepted);
	put_int(o, "grads_rejected", c->rejected);
	if (ctx->peak_rss_kib)
		put_int(o, "peak_rss_kib", ctx->peak_rss_kib[r]);
	if (ctx->model_digest)
		json_object_object_add(o, "model_digest", json_object_new_string(ctx->model_digest));
	return o;
}

int contribution_report(const struct rank_contribution *ranks, int n,
			const struct contribution_context *ctx, struct metrics *m)
{
	int written = 0;

	for (int r = 0; r < n; r++) {
		struct json_object *o = contribution_json(&ranks[r], r, ctx);

		if (!o || metrics_write(m, o)) {
			json_object_put(o);
			return -1;
		}
		json_object_put(o);
		written++;
	}
	/* An unreachable quorated has been warned about; the file has them. */
	report_to_quorated(ranks, n, ctx);
	return written;
}
