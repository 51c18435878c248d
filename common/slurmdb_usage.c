/*
 * slurmdb_usage.c - finished jobs from slurmdbd as contrib_usage records
 * (see slurmdb_usage.h).
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <slurm/slurmdb.h>

#include "contrib_tres.h"
#include "slurm_compat.h"
#include "slurmdb_usage.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *db_error(void)
{
	return errno ? slurm_strerror(errno) : "no answer";
}

/* The states of a job that has ended and used its allocation. */
static const uint32_t finished_states[] = {
	JOB_COMPLETE, JOB_CANCELLED, JOB_FAILED, JOB_TIMEOUT, JOB_NODE_FAIL,
	JOB_PREEMPTED, JOB_BOOT_FAIL, JOB_DEADLINE, JOB_OOM,
};

static int lookup_gpu_tres(struct sdb_reader *r, char *err, size_t errlen)
{
	slurmdb_tres_cond_t cond;
	list_t *tres;
	list_itr_t *it;
	slurmdb_tres_rec_t *t;

	memset(&cond, 0, sizeof(cond));
	slurmdb_init_tres_cond(&cond, 0);
	errno = 0;
	tres = slurmdb_tres_get(r->db_conn, &cond);
	if (!tres) {
		set_err(err, errlen, "slurmdb_tres_get: %s", db_error());
		return -1;
	}
	it = slurm_list_iterator_create(tres);
	while ((t = slurm_list_next(it))) {
		if (t->type && t->name && !strcmp(t->type, "gres") &&
		    !strcmp(t->name, "gpu"))
			r->gpu_tres_id = t->id;
	}
	slurm_list_iterator_destroy(it);
	slurm_list_destroy(tres);
	return 0;
}

static int lookup_qos(struct sdb_reader *r, char *err, size_t errlen)
{
	list_t *qos;
	list_itr_t *it;
	slurmdb_qos_rec_t *q;
	int count, rv = -1;

	errno = 0;
	qos = slurmdb_qos_get(r->db_conn, NULL);
	if (!qos) {
		set_err(err, errlen, "slurmdb_qos_get: %s", db_error());
		return -1;
	}
	count = slurm_list_count(qos);
	r->qos = calloc(count > 0 ? (size_t)count : 1, sizeof(*r->qos));
	if (!r->qos) {
		set_err(err, errlen, "out of memory");
		goto done;
	}
	it = slurm_list_iterator_create(qos);
	while ((q = slurm_list_next(it)) && r->n_qos < (size_t)count) {
		const char *name = contrib_strpool_add(&r->names, q->name ? q->name : "");

		if (!name) {
			slurm_list_iterator_destroy(it);
			set_err(err, errlen, "out of memory");
			goto done;
		}
		r->qos[r->n_qos].id = q->id;
		r->qos[r->n_qos].name = name;
		r->n_qos++;
	}
	slurm_list_iterator_destroy(it);
	rv = 0;
done:
	slurm_list_destroy(qos);
	return rv;
}

int sdb_reader_open(struct sdb_reader *r, char *err, size_t errlen)
{
	uint16_t flags = 0;

	memset(r, 0, sizeof(*r));
	errno = 0;
	r->db_conn = slurmdb_connection_get(&flags);
	/* Like sacctmgr: the connection object exists even when slurmdbd did
	 * not answer; errno tells. */
	if (!r->db_conn || errno) {
		set_err(err, errlen, "cannot connect to slurmdbd: %s", db_error());
		goto fail;
	}
	if (lookup_gpu_tres(r, err, errlen) || lookup_qos(r, err, errlen))
		goto fail;
	return 0;
fail:
	sdb_reader_close(r);
	return -1;
}

void sdb_reader_close(struct sdb_reader *r)
{
	if (r->db_conn)
		slurmdb_connection_close(&r->db_conn);
	free(r->qos);
	contrib_strpool_free(&r->names);
	memset(r, 0, sizeof(*r));
}

static const char *qos_name(const struct sdb_reader *r, struct sdb_usage_batch *b,
			    uint32_t id)
{
	char num[16];

	for (size_t i = 0; i < r->n_qos; i++)
		if (r->qos[i].id == id)
			return contrib_strpool_add(&b->names, r->qos[i].name);
	snprintf(num, sizeof(num), "%u", id);
	return contrib_strpool_add(&b->names, num);
}

/* The job's user: slurmdbd's name, else the local passwd entry, else the
 * uid in decimal (a user of another site need not exist here). */
static const char *user_name(struct sdb_usage_batch *b, const slurmdb_job_rec_t *job)
{
	struct passwd pw, *res = NULL;
	char buf[1024], num[16];

	if (job->user && *job->user)
		return contrib_strpool_add(&b->names, job->user);
	if (!getpwuid_r(job->uid, &pw, buf, sizeof(buf), &res) && res)
		return contrib_strpool_add(&b->names, res->pw_name);
	snprintf(num, sizeof(num), "%u", job->uid);
	return contrib_strpool_add(&b->names, num);
}

static int append_record(struct sdb_usage_batch *b, size_t *cap,
			 const struct contrib_usage *u)
{
	if (b->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct contrib_usage *p = realloc(b->records, ncap * sizeof(*p));

		if (!p)
			return -1;
		b->records = p;
		*cap = ncap;
	}
	b->records[b->n++] = *u;
	return 0;
}

/* One job: a record per node of its node list. */
static int append_node_fail(struct sdb_usage_batch *b, const struct contrib_usage *u,
			    const slurmdb_job_rec_t *job)
{
	struct sdb_node_fail_job *v, *f;

	v = realloc(b->node_fail_jobs, (b->n_node_fail_jobs + 1) * sizeof(*v));
	if (!v)
		return -1;
	b->node_fail_jobs = v;
	f = &v[b->n_node_fail_jobs];
	f->cluster = u->cluster;
	f->nodes = contrib_strpool_add(&b->names, job->nodes);
	if (!f->nodes)
		return -1;
	f->job_id = job->jobid;
	f->start_time = job->start;
	f->end_time = job->end;
	b->n_node_fail_jobs++;
	return 0;
}

static int job_records(const struct sdb_reader *r, struct sdb_usage_batch *b,
		       size_t *cap, const slurmdb_job_rec_t *job,
		       char *err, size_t errlen)
{
	struct contrib_usage u;
	uint64_t cpus, gpus = 0;
	quorate_hostlist_t hl;
	char *host;
	int nodes;
	int rv = -1;

	b->jobs++;
	if (!job->start || !job->nodes || !*job->nodes ||
	    !strcmp(job->nodes, "None assigned")) {
		b->skipped++;
		return 0;
	}
	if (!job->partition || !*job->partition) {
		b->unsettled++;
		if (!b->unsettled_end || (int64_t)job->end < b->unsettled_end)
			b->unsettled_end = (int64_t)job->end;
		return 0;
	}
	if (contrib_tres_count(job->tres_alloc_str, CONTRIB_TRES_CPU, &cpus) ||
	    (r->gpu_tres_id &&
	     contrib_tres_count(job->tres_alloc_str, r->gpu_tres_id, &gpus))) {
		set_err(err, errlen, "job %u of cluster %s: malformed AllocTRES '%s'",
			job->jobid, job->cluster, job->tres_alloc_str);
		return -1;
	}
	memset(&u, 0, sizeof(u));
	u.cluster = contrib_strpool_add(&b->names, job->cluster ? job->cluster : "");
	u.account = contrib_strpool_add(&b->names, job->account ? job->account : "");
	u.partition = contrib_strpool_add(&b->names, job->partition ? job->partition : "");
	u.qos = qos_name(r, b, job->qosid);
	u.user = user_name(b, job);
	if (!u.cluster || !u.account || !u.partition || !u.qos || !u.user)
		goto oom;
	u.db_index = job->db_index;
	u.job_id = job->jobid;
	u.start_time = job->start;
	u.end_time = job->end;
	u.node_seconds = job->elapsed;

	hl = slurm_hostlist_create(job->nodes);
	if (!hl) {
		set_err(err, errlen, "job %u of cluster %s: node list '%s' not understood",
			job->jobid, job->cluster, job->nodes);
		return -1;
	}
	nodes = slurm_hostlist_count(hl);
	for (int i = 0; (host = slurm_hostlist_shift(hl)); i++) {
		u.node = contrib_strpool_add(&b->names, host);
		free(host);	/* slurm_hostlist_shift's string is malloc'd */
		if (!u.node)
			goto oom_hl;
		if (__builtin_mul_overflow(contrib_split_even(cpus, (size_t)nodes, (size_t)i),
					   (uint64_t)job->elapsed, &u.cpu_seconds) ||
		    __builtin_mul_overflow(contrib_split_even(gpus, (size_t)nodes, (size_t)i),
					   (uint64_t)job->elapsed, &u.gpu_seconds)) {
			set_err(err, errlen, "job %u of cluster %s: AllocTRES '%s' over "
				"%u s exceeds 64 bits", job->jobid, job->cluster,
				job->tres_alloc_str, job->elapsed);
			rv = -1;
			goto done_hl;
		}
		if (append_record(b, cap, &u))
			goto oom_hl;
	}
	if ((job->state & JOB_STATE_BASE) == JOB_NODE_FAIL && append_node_fail(b, &u, job))
		goto oom_hl;
	if (job->end > b->max_end)
		b->max_end = job->end;
	rv = 0;
	goto done_hl;
oom_hl:
	set_err(err, errlen, "out of memory");
done_hl:
	slurm_hostlist_destroy(hl);
	return rv;
oom:
	set_err(err, errlen, "out of memory");
	return -1;
}

/* Every cluster slurmdbd knows, into b->clusters and a list for the query. */
static list_t *cluster_names(struct sdb_reader *r, struct sdb_usage_batch *b,
			     char *err, size_t errlen)
{
	list_t *clusters, *names;
	list_itr_t *it;
	slurmdb_cluster_rec_t *c;
	int count;

	errno = 0;
	clusters = slurmdb_clusters_get(r->db_conn, NULL);
	if (!clusters) {
		set_err(err, errlen, "slurmdb_clusters_get: %s", db_error());
		return NULL;
	}
	count = slurm_list_count(clusters);
	names = slurm_list_create(free);
	b->clusters = calloc(count > 0 ? (size_t)count : 1, sizeof(*b->clusters));
	if (!names || !b->clusters)
		goto oom;
	it = slurm_list_iterator_create(clusters);
	while ((c = slurm_list_next(it)) && b->n_clusters < (size_t)count) {
		const char *name;
		char *copy;

		if (!c->name)
			continue;
		name = contrib_strpool_add(&b->names, c->name);
		copy = strdup(c->name);
		if (!name || !copy) {
			free(copy);
			slurm_list_iterator_destroy(it);
			goto oom;
		}
		b->clusters[b->n_clusters++] = name;
		slurm_list_append(names, copy);
	}
	slurm_list_iterator_destroy(it);
	slurm_list_destroy(clusters);
	return names;
oom:
	set_err(err, errlen, "out of memory");
	if (names)
		slurm_list_destroy(names);
	slurm_list_destroy(clusters);
	return NULL;
}

int sdb_usage_read(struct sdb_reader *r, int64_t since, int64_t until,
		   struct sdb_usage_batch *b, char *err, size_t errlen)
{
	slurmdb_job_cond_t cond;
	list_t *jobs = NULL;
	list_itr_t *it;
	slurmdb_job_rec_t *job;
	size_t cap = 0;
	int rv = -1;

	memset(b, 0, sizeof(*b));
	memset(&cond, 0, sizeof(cond));
	if (since < 0 || until < since) {
		set_err(err, errlen, "bad window [%lld, %lld]", (long long)since,
			(long long)until);
		return -1;
	}
	cond.cluster_list = cluster_names(r, b, err, errlen);
	if (!cond.cluster_list)
		goto fail;
	if (!b->n_clusters) {
		rv = 0;			/* slurmdbd serves no cluster yet */
		goto done;
	}
	cond.state_list = slurm_list_create(free);
	if (!cond.state_list)
		goto oom;
	for (size_t i = 0; i < sizeof(finished_states) / sizeof(finished_states[0]); i++) {
		char *s = malloc(16);

		if (!s)
			goto oom;
		snprintf(s, 16, "%u", finished_states[i]);
		slurm_list_append(cond.state_list, s);
	}
	/* slurmdbd takes a start of 0 for "now" (slurmdb_job_cond_def_start_end):
	 * the beginning of time is 1. */
	cond.usage_start = (time_t)(since ? since : 1);
	cond.usage_end = (time_t)until;
	cond.flags = JOBCOND_FLAG_DUP | JOBCOND_FLAG_NO_TRUNC | JOBCOND_FLAG_NO_STEP;
	/* 0 would mean "jobs with no scheduling flags": no filter, as sacct. */
	cond.db_flags = SLURMDB_JOB_FLAG_NOTSET;

	errno = 0;
	jobs = slurmdb_jobs_get(r->db_conn, &cond);
	if (!jobs) {
		set_err(err, errlen, "slurmdb_jobs_get: %s", db_error());
		goto fail;
	}
	it = slurm_list_iterator_create(jobs);
	while ((job = slurm_list_next(it))) {
		if (job_records(r, b, &cap, job, err, errlen)) {
			slurm_list_iterator_destroy(it);
			goto fail;
		}
	}
	slurm_list_iterator_destroy(it);
	if (b->unsettled && b->max_end >= b->unsettled_end)
		b->max_end = b->unsettled_end - 1;
	rv = 0;
	goto done;
oom:
	set_err(err, errlen, "out of memory");
fail:
	sdb_usage_batch_free(b);
done:
	if (jobs)
		slurm_list_destroy(jobs);
	if (cond.cluster_list)
		slurm_list_destroy(cond.cluster_list);
	if (cond.state_list)
		slurm_list_destroy(cond.state_list);
	return rv;
}

void sdb_usage_batch_free(struct sdb_usage_batch *b)
{
	free(b->node_fail_jobs);
	free(b->records);
	free(b->clusters);
	contrib_strpool_free(&b->names);
	memset(b, 0, sizeof(*b));
}

static bool node_went_down(const slurmdb_event_rec_t *e, const struct sdb_node_fail_job *j)
{
	return e->event_type == SLURMDB_EVENT_NODE && e->node_name &&
	       ((e->state & NODE_STATE_BASE) == NODE_STATE_DOWN ||
		(e->state & NODE_STATE_FAIL)) &&
	       (int64_t)e->period_start >= j->start_time &&
	       (int64_t)e->period_start <= j->end_time + SDB_NODE_DOWN_SLACK;
}

int sdb_node_downs(struct sdb_reader *r, const struct sdb_node_fail_job *j,
		   struct sdb_node_down **out, size_t *n, char *err, size_t errlen)
{
	slurmdb_event_cond_t cond;
	list_t *events;
	list_itr_t *it;
	slurmdb_event_rec_t *e;
	char *cluster;
	int rv = 0;

	*out = NULL;
	*n = 0;
	memset(&cond, 0, sizeof(cond));
	cond.event_type = SLURMDB_EVENT_NODE;
	cond.period_start = (time_t)j->start_time;
	cond.period_end = (time_t)(j->end_time + SDB_NODE_DOWN_SLACK);
	cond.node_list = (char *)j->nodes;
	cond.cluster_list = slurm_list_create(free);
	cluster = strdup(j->cluster);
	if (!cond.cluster_list || !cluster) {
		free(cluster);
		if (cond.cluster_list)
			slurm_list_destroy(cond.cluster_list);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	slurm_list_append(cond.cluster_list, cluster);
	errno = 0;
	events = slurmdb_events_get(r->db_conn, &cond);
	slurm_list_destroy(cond.cluster_list);
	if (!events) {
		set_err(err, errlen, "slurmdb_events_get: %s", db_error());
		return -1;
	}
	it = slurm_list_iterator_create(events);
	while (!rv && (e = slurm_list_next(it))) {
		struct sdb_node_down *v, *d;
		bool seen = false;

		if (!node_went_down(e, j))
			continue;
		for (size_t i = 0; i < *n && !seen; i++)
			seen = !strcmp((*out)[i].node, e->node_name);
		if (seen)
			continue;	/* one failure per node and job */
		v = realloc(*out, (*n + 1) * sizeof(*v));
		if (!v) {
			rv = -1;
			break;
		}
		*out = v;
		d = &v[*n];
		d->node = strdup(e->node_name);
		d->reason = strdup(e->reason ? e->reason : "");
		d->at = (int64_t)e->period_start;
		if (!d->node || !d->reason) {
			free(d->node);
			free(d->reason);
			rv = -1;
			break;
		}
		(*n)++;
	}
	slurm_list_iterator_destroy(it);
	slurm_list_destroy(events);
	if (rv) {
		sdb_node_downs_free(*out, *n);
		*out = NULL;
		*n = 0;
		set_err(err, errlen, "out of memory");
	}
	return rv;
}

void sdb_node_downs_free(struct sdb_node_down *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].node);
		free(d[i].reason);
	}
	free(d);
}
