/*
 * job_submit_quorate.c - job_submit/quorate: reputation-aware placement
 * through Slurm's public interfaces, for sites that keep select/cons_tres
 * and for Slurm 25.05 and later (doc/placement.md, job_submit_quorate(8)).
 *
 * quorated (PushPlacement=yes) gives every node a Weight that ranks it by
 * reputation and the features quorate_plain / quorate_replica by what it
 * may take (placement.h).  This plugin adds them to each job's constraint
 * as it is submitted: quorate_plain for plain jobs, quorate_replica for a
 * job with --replicas (QUORATE_REPLICAS in its SPANK job environment, as
 * spank_quorate sets it), whose nodes it also spreads over sites, one
 * counted term per site.  Slurm then does the rest, on every scheduling
 * cycle: a node that loses a feature takes no new job from the next one.
 *
 * Built against <slurm/slurm.h> alone.  The nodes' features, weights and
 * states come from slurm_load_node(), called by a thread of ours every
 * REFRESH_SECONDS, never by job_submit() itself, which runs under
 * slurmctld's locks and must not wait for slurmctld.  Strings handed to
 * slurmctld are allocated with libslurm's xmalloc family (slurmctld frees
 * them with xfree()), whose two entry points are declared below.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <slurm/spank.h>	/* slurm_info(), slurm_error(), slurm_debug() */

#include "placement.h"
#include "qconf.h"
#include "select_policy.h"
#include "slurm_compat.h"

const char plugin_name[] = "quorate: reputation-aware placement by constraints";
const char plugin_type[] = "job_submit/quorate";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* libslurm's allocator, which every release exports under these names
 * (slurm_xfree also in slurm_compat.h). */
extern char *slurm_xstrdup(const char *str);
extern void slurm_xfree(void **ptr);

#define REFRESH_SECONDS 2
#define TIMING_EVERY 100	/* jobs between two timing lines in the log */

struct node_row {
	char *name;
	char *site;		/* its site feature, or NULL */
	bool plain, replica;	/* carries quorate_plain, quorate_replica */
	bool up, idle;
	unsigned rank;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop;
	/* the nodes, as the thread last read them */
	struct node_row *rows;
	size_t nrows;
	bool loaded, markers;	/* read once; some node carries a marker */
	time_t node_update;
	char *prefix_used;	/* the site prefix the rows were read with */
	bool have_ctl;
	uint32_t slurm_user;
	char *slurm_conf;	/* its path, from slurmctld */
	/* quorate.conf beside slurm.conf */
	char *site_prefix;
	struct stat conf_seen;
	bool conf_bad;
	/* said once */
	bool said_no_markers, said_not_loaded;
	/* what job_submit() costs */
	uint64_t calls, total_ns, max_ns;
} S = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void rows_free(struct node_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].site);
	}
	free(rows);
}

/* ------------------------------------------------------ quorate.conf -- */

/* SiteFeaturePrefix from quorate.conf beside slurm.conf, read again when
 * the file changes.  A bad file is logged and the last good prefix kept.
 * Under S.lock. */
static void conf_refresh(void)
{
	struct quorate_conf qc;
	struct stat st;
	char path[4096], err[512];

	if (!S.slurm_conf || qconf_path_beside(S.slurm_conf, path, sizeof(path)))
		return;
	if (stat(path, &st) != 0)
		memset(&st, 0, sizeof(st));
	if (S.site_prefix && qconf_same_file(&st, &S.conf_seen))
		return;
	S.conf_seen = st;
	if (st.st_ino ? qconf_load(path, &qc, err, sizeof(err)) : qconf_defaults(&qc)) {
		if (!st.st_ino)
			snprintf(err, sizeof(err), "out of memory");
		slurm_error("%s: %s; keeping SiteFeaturePrefix=%s", plugin_type, err,
			    S.site_prefix ? S.site_prefix : "site_");
		S.conf_bad = true;
		if (!S.site_prefix)
			S.site_prefix = strdup("site_");
		return;
	}
	if (!S.site_prefix || strcmp(S.site_prefix, qc.site_feature_prefix) || S.conf_bad)
		slurm_info("%s: SiteFeaturePrefix=%s (from %s)", plugin_type,
			   qc.site_feature_prefix, st.st_ino ? path : "defaults");
	S.conf_bad = false;
	free(S.site_prefix);
	S.site_prefix = strdup(qc.site_feature_prefix);
	qconf_free(&qc);
}

/* ------------------------------------------------ the nodes' thread -- */

static bool state_up(uint32_t state)
{
	uint32_t base = state & NODE_STATE_BASE;

	return base != NODE_STATE_DOWN && base != NODE_STATE_FUTURE &&
	       base != NODE_STATE_UNKNOWN && !(state & (NODE_STATE_DRAIN | NODE_STATE_FAIL));
}

/* Read the nodes (and, once, slurmctld's SlurmUser) into S. */
static void nodes_refresh(void)
{
	node_info_msg_t *msg = NULL;
	struct node_row *rows;
	size_t n = 0;
	bool markers = false;
	char *prefix;

	if (!S.have_ctl) {
		slurm_conf_t *ctl = NULL;

		if (slurm_load_ctl_conf((time_t)0, &ctl) != SLURM_SUCCESS)
			return;	/* slurmctld not answering yet: next round */
		pthread_mutex_lock(&S.lock);
		S.slurm_user = ctl->slurm_user_id;
		free(S.slurm_conf);
		S.slurm_conf = ctl->slurm_conf ? strdup(ctl->slurm_conf) : NULL;
		S.have_ctl = true;
		pthread_mutex_unlock(&S.lock);
		slurm_free_conf(ctl);
	}
	pthread_mutex_lock(&S.lock);
	conf_refresh();
	prefix = strdup(S.site_prefix ? S.site_prefix : "site_");
	pthread_mutex_unlock(&S.lock);
	if (prefix && S.prefix_used && strcmp(prefix, S.prefix_used))
		S.node_update = 0;	/* another prefix: every node's site again */
	if (slurm_load_node(S.node_update, &msg, SHOW_ALL) != SLURM_SUCCESS) {
		free(prefix);
		return;	/* unchanged (SLURM_NO_CHANGE_IN_DATA), or not answering */
	}
	rows = calloc(msg->record_count ? msg->record_count : 1, sizeof(*rows));
	if (!rows || !prefix)
		goto out;
	for (uint32_t i = 0; i < msg->record_count; i++) {
		node_info_t *node = &msg->node_array[i];
		struct node_row *r = &rows[n];
		const char *site;
		size_t slen;

		if (!node->name)
			continue;
		r->name = strdup(node->name);
		if (!r->name)
			goto out;
		n++;
		r->plain = place_has_feature(node->features, PLACE_FEATURE_PLAIN);
		r->replica = place_has_feature(node->features, PLACE_FEATURE_REPLICA);
		markers |= r->plain || r->replica;
		r->up = state_up(node->node_state);
		r->idle = r->up && ((node->node_state & NODE_STATE_BASE) == NODE_STATE_IDLE ||
				    (node->node_state & NODE_STATE_BASE) == NODE_STATE_MIXED);
		r->rank = place_weight_is_ours(node->weight) ?
			  (node->weight & PLACE_WEIGHT_RANK_MASK) : sel_rank(NODE_NEUTRAL, false, 0);
		if (node->features && sel_site_of_features(node->features, prefix, &site, &slen)) {
			r->site = strndup(site, slen);
			if (!r->site)
				goto out;
		}
	}
	pthread_mutex_lock(&S.lock);
	rows_free(S.rows, S.nrows);
	S.rows = rows;
	S.nrows = n;
	S.markers = markers;
	S.loaded = true;
	S.node_update = msg->last_update;
	pthread_mutex_unlock(&S.lock);
	free(S.prefix_used);
	S.prefix_used = prefix;
	prefix = NULL;
	rows = NULL;
	n = 0;
out:
	rows_free(rows, n);
	free(prefix);
	quorate_free_node_info_msg(msg);
}

static void *nodes_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&S.lock);
	while (!S.stop) {
		struct timespec until;

		pthread_mutex_unlock(&S.lock);
		nodes_refresh();
		pthread_mutex_lock(&S.lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += REFRESH_SECONDS;
		while (!S.stop && pthread_cond_timedwait(&S.wake, &S.lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&S.lock);
	return NULL;
}

int init(void)
{
	S.stop = false;
	if (pthread_create(&S.thread, NULL, nodes_thread, NULL)) {
		slurm_error("%s: cannot start its thread: %m", plugin_type);
		return SLURM_ERROR;
	}
	S.running = true;
	slurm_info("%s: loaded; it reads the nodes every %d s", plugin_type, REFRESH_SECONDS);
	return SLURM_SUCCESS;
}

int fini(void)
{
	if (S.running) {
		pthread_mutex_lock(&S.lock);
		S.stop = true;
		pthread_cond_signal(&S.wake);
		pthread_mutex_unlock(&S.lock);
		pthread_join(S.thread, NULL);	/* at most one RPC's MessageTimeout */
		S.running = false;
	}
	if (S.calls)
		slurm_info("%s: %llu job(s), %.1f us per job on average, %.1f us at most",
			   plugin_type, (unsigned long long)S.calls,
			   (double)S.total_ns / (double)S.calls / 1e3, (double)S.max_ns / 1e3);
	rows_free(S.rows, S.nrows);
	free(S.slurm_conf);
	free(S.site_prefix);
	free(S.prefix_used);
	S.prefix_used = NULL;
	S.rows = NULL;
	S.nrows = 0;
	S.slurm_conf = S.site_prefix = NULL;
	S.loaded = S.markers = S.have_ctl = false;
	S.node_update = 0;
	S.calls = S.total_ns = S.max_ns = 0;
	return SLURM_SUCCESS;
}

/* ------------------------------------------------------------ a job -- */

static const struct node_row *row_of(const char *name)
{
	for (size_t i = 0; i < S.nrows; i++)
		if (!strcmp(S.rows[i].name, name))
			return &S.rows[i];
	return NULL;
}

/* The first node the job names that it may not use, with why; NULL when
 * it may use them all.  Under S.lock. */
static const char *named_node_refused(const char *req_nodes, bool replicated,
				      char *name, size_t len)
{
	quorate_hostlist_t hl = slurm_hostlist_create(req_nodes);
	const char *why = NULL;
	char *host;

	if (!hl)
		return NULL;	/* Slurm's own check names the error */
	while (!why && (host = slurm_hostlist_shift(hl))) {
		const struct node_row *r = row_of(host);

		if (r && !(replicated ? r->replica : r->plain)) {
			snprintf(name, len, "%s", host);
			why = r->replica ? "on probation (it takes replicated jobs only)" :
					   "quarantined";
		}
		free(host);
	}
	slurm_hostlist_destroy(hl);
	return why;
}

/* The sites of the nodes that may take replicated jobs.  Under S.lock. */
static size_t sites_of_rows(struct place_site *sites, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < S.nrows; i++) {
		const struct node_row *r = &S.rows[i];
		size_t j;

		if (!r->site || !r->replica || !r->up)
			continue;
		for (j = 0; j < n && strcmp(sites[j].name, r->site); j++)
			;
		if (j == n) {
			if (n == cap)
				continue;
			memset(&sites[n], 0, sizeof(sites[n]));
			sites[n++].name = r->site;
		}
		sites[j].rank = (sites[j].rank * sites[j].eligible + r->rank) / (sites[j].eligible + 1);
		sites[j].eligible++;
		sites[j].idle += r->idle;
	}
	return n;
}

/* Refuse the job with "quorate: WHY", told to the user and logged. */
static int refuse(char **err_msg, int rc, const char *why)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "quorate: %s", why);
	if (err_msg)
		*err_msg = slurm_xstrdup(msg);
	slurm_info("%s: job refused: %s", plugin_type, msg);
	return rc;
}

int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid, char **err_msg)
{
	uint64_t t0 = now_ns(), dt;
	int replicas = sel_job_replicas(job_desc->spank_job_env, job_desc->spank_job_env_size);
	bool replicated = replicas > 0;
	struct place_site sites[256];
	size_t nplan = 0;
	char constraint[4096], err[512], name[256], note[512] = "";
	const char *user = job_desc->features;
	int rc = SLURM_SUCCESS;

	pthread_mutex_lock(&S.lock);
	if (!S.loaded || !S.markers) {
		/* Nothing to ask for: Slurm places the job as it would. */
		if (S.loaded && !S.said_no_markers) {
			slurm_info("%s: no node carries %s or %s yet (quorate.conf PushPlacement=yes makes quorated write them): jobs are placed as without this plugin",
				   plugin_type, PLACE_FEATURE_PLAIN, PLACE_FEATURE_REPLICA);
			S.said_no_markers = true;
		} else if (!S.loaded && !S.said_not_loaded) {
			slurm_info("%s: the nodes are not read yet: jobs are placed as without this plugin",
				   plugin_type);
			S.said_not_loaded = true;
		}
		goto done;
	}
	S.said_no_markers = false;
	if (job_desc->req_nodes && *job_desc->req_nodes) {
		const char *why = named_node_refused(job_desc->req_nodes, replicated, name, sizeof(name));

		if (why && (submit_uid == 0 || (S.have_ctl && submit_uid == S.slurm_user))) {
			slurm_info("%s: uid %u names %s (%s) with --nodelist=%s: admin override, no constraint added",
				   plugin_type, submit_uid, name, why, job_desc->req_nodes);
			goto done;
		}
		if (why) {
			snprintf(err, sizeof(err),
				 "required node %s is %s; only root or SlurmUser may override with --nodelist",
				 name, why);
			rc = refuse(err_msg, ESLURM_REQUESTED_NODE_CONFIG_UNAVAILABLE, err);
			goto done;
		}
	}
	/* No site plan where the user chose: named nodes, counts, a site. */
	if (replicated && !(job_desc->req_nodes && *job_desc->req_nodes) &&
	    !(user && strpbrk(user, "[*")) &&
	    !place_constraint_names_prefix(user, S.site_prefix ? S.site_prefix : "site_")) {
		unsigned nodes = job_desc->min_nodes == NO_VAL || job_desc->min_nodes == 0 ?
				 (unsigned)replicas : job_desc->min_nodes;
		size_t n = sites_of_rows(sites, sizeof(sites) / sizeof(sites[0]));
		int k = place_plan_sites(sites, n, (unsigned)replicas, nodes, err, sizeof(err));

		if (k <= 0) {
			rc = refuse(err_msg, ESLURM_REQUESTED_NODE_CONFIG_UNAVAILABLE, err);
			goto done;
		}
		nplan = (size_t)k;
		if (place_plan_describe(sites, nplan, (unsigned)replicas, note, sizeof(note)) < 0)
			note[0] = '\0';
	}
	if (place_constraint(user, replicated, sites, nplan, constraint, sizeof(constraint),
			     err, sizeof(err))) {
		rc = refuse(err_msg, ESLURM_INVALID_FEATURE, err);
		goto done;
	}
	pthread_mutex_unlock(&S.lock);
	slurm_debug("%s: uid %u: constraint '%s' -> '%s'", plugin_type, submit_uid,
		    user ? user : "", constraint);
	slurm_xfree((void **)&job_desc->features);
	job_desc->features = slurm_xstrdup(constraint);
	/* The plan in words where the user can read it (squeue -o %k),
	 * unless the job has a comment of its own. */
	if (note[0] && !(job_desc->comment && *job_desc->comment)) {
		slurm_xfree((void **)&job_desc->comment);
		job_desc->comment = slurm_xstrdup(note);
	}
	pthread_mutex_lock(&S.lock);
done:
	dt = now_ns() - t0;
	S.calls++;
	S.total_ns += dt;
	if (dt > S.max_ns)
		S.max_ns = dt;
	if (S.calls % TIMING_EVERY == 0)
		slurm_info("%s: %llu job(s), %.1f us per job on average, %.1f us at most",
			   plugin_type, (unsigned long long)S.calls,
			   (double)S.total_ns / (double)S.calls / 1e3, (double)S.max_ns / 1e3);
	pthread_mutex_unlock(&S.lock);
	return rc;
}

/* A change of a pending job's constraint (scontrol update) is taken as
 * given: the job's own record holds what this plugin needs to know
 * (--replicas), and this interface passes it as slurmctld's private type. */
int job_modify(job_desc_msg_t *job_desc, void *job_ptr, uint32_t submit_uid,
	       char **err_msg)
{
	(void)job_desc;
	(void)job_ptr;
	(void)submit_uid;
	(void)err_msg;
	return SLURM_SUCCESS;
}
