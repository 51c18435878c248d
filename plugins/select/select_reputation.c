/*
 * select_reputation.c - select/reputation: reputation-aware node selection
 * over select/cons_tres, the part that is the same on every Slurm release.
 *
 * A thin wrapper in the manner of Slurm 22.05's select/other: cons_tres is
 * loaded with plugin_context_create() on first use and every select_p_*
 * call is forwarded to it, so cons_tres's node and job info pass through
 * untouched.  Only select_p_job_test() adds policy (common/select_table.c):
 * it clears quarantined nodes (and, for jobs without --replicas, probation
 * nodes) from the candidate bitmap, orders the rest by reputation through
 * the nodes' sched_weight, and for replicated jobs asks cons_tres for a
 * placement that spans sites.  With no scores and no --replicas it calls
 * cons_tres with the very arguments it was given.
 *
 * What differs between Slurm's select-API generations (the ops table, the
 * entry points' list, job_test's arguments, how a pending reason sticks)
 * is in the adapter built with this file: select_api_2205.c,
 * select_api_2311.c or select_api_2411.c (select_api.h).
 *
 * The plugin is loaded by slurmctld, slurmd, slurmstepd and the commands;
 * the slurmctld globals it uses are defined here as fallbacks (see below).
 */
#include "config.h"	/* Slurm's: this file is built against its source */
/* First: renames Slurm's functions to the slurm_* aliases that the public
 * libslurm exports too, so the commands can call into us (as cons_tres). */
#include "src/common/slurm_xlator.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "slurm/slurm.h"
#include "slurm/slurm_errno.h"
#include "src/common/bitstring.h"
#include "src/common/job_resources.h"
#include "src/common/list.h"
#include "src/common/log.h"
#include "src/common/node_conf.h"
#include "src/common/plugin.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "qconf.h"
#include "select_api.h"
#include "select_table.h"

const char plugin_name[] = "Reputation-aware node selection over cons_tres (quorate)";
const char plugin_type[] = "select/reputation";
/* Slurm uses 101..110 (enum select_plugin_type in slurm/slurm.h). */
const uint32_t plugin_id = 150;
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/*
 * slurmctld's globals, defined here too, as select/cons_tres does: inside
 * slurmctld (and slurmd, via libslurmfull) the dynamic linker binds our
 * references to the daemon's definitions, which come first in the lookup
 * scope; in programs built on the public libslurm, which has none of them,
 * these definitions satisfy the references so that dlopen succeeds.  They
 * are exported (select_reputation.map) for that interposition to happen.
 */
time_t last_job_update;
time_t last_part_update;
time_t last_node_update;
int node_record_count;
node_record_t **node_record_table_ptr;

#define INNER_TYPE SEL_INNER_TYPE

static plugin_context_t *inner_context;
static bool inner_ready;
static pthread_mutex_t inner_lock = PTHREAD_MUTEX_INITIALIZER;

/* Policy state, used by slurmctld only; job_test runs under slurmctld's
 * node write lock, the mutex guards against reconfigure. */
static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sel_table table;
static bool table_ready;
static time_t table_refreshed;		/* last refresh, seconds */
static uint64_t table_generation;	/* bumped when any node changed */
/* The policy path's cost since slurmctld started: logged at debug level
 * every TIMING_EVERY calls, at info level on `scontrol reconfigure` and
 * when the plugin is unloaded. */
#define TIMING_EVERY 1000
static struct sel_timing timing;

static void log_timing(bool at_info)
{
	char line[160];

	if (!timing.calls)
		return;
	sel_timing_format(&timing, line, sizeof(line));
	if (at_info)
		info("%s: job_test: %s", plugin_type, line);
	else
		debug("%s: job_test: %s", plugin_type, line);
}

/* Sites of a partition, kept until its nodes or the node table change. */
static struct {
	const void *part;
	uint64_t generation;
	time_t part_update;
	unsigned sites;
} part_sites_cache;

enum conf_status { CONF_UNREAD, CONF_GOOD, CONF_BAD };
static enum conf_status conf_status;
static char *conf_path;
static time_t conf_checked;
static struct stat conf_seen;		/* st_ino 0: absent */

/* Per-job buffers, reused. */
static uint32_t *cand_buf, *aux_buf;
static uint8_t *required_buf;
static size_t buf_cap;

/* cons_tres calls per replicated job and pass, at most */
#define SPREAD_ATTEMPTS 6

extern int init(void)
{
	verbose("%s loaded (over %s)", plugin_type, INNER_TYPE);
	return SLURM_SUCCESS;
}

extern int fini(void)
{
	int rc = SLURM_SUCCESS;

	slurm_mutex_lock(&inner_lock);
	if (inner_context)
		rc = plugin_context_destroy(inner_context);
	inner_context = NULL;
	inner_ready = false;
	slurm_mutex_unlock(&inner_lock);

	sel_api_fini();
	slurm_mutex_lock(&policy_lock);
	log_timing(true);
	memset(&timing, 0, sizeof(timing));
	if (table_ready)
		sel_table_free(&table);
	table_ready = false;
	xfree(conf_path);
	free(cand_buf);
	free(aux_buf);
	free(required_buf);
	cand_buf = aux_buf = NULL;
	required_buf = NULL;
	buf_cap = 0;
	conf_status = CONF_UNREAD;
	slurm_mutex_unlock(&policy_lock);
	return rc;
}

/* Load cons_tres on first use, as other_select_init() does, into the
 * adapter's ops table. */
extern int sel_inner_init(void)
{
	int rc = 0;

	if (__atomic_load_n(&inner_ready, __ATOMIC_ACQUIRE))
		return 0;
	slurm_mutex_lock(&inner_lock);
	if (!inner_context) {
		inner_context = plugin_context_create("select", INNER_TYPE,
						      sel_api_table.ops,
						      sel_api_table.syms,
						      sel_api_table.syms_size);
		if (!inner_context) {
			error("%s: cannot load %s", plugin_type, INNER_TYPE);
			rc = -1;
		} else {
			__atomic_store_n(&inner_ready, true, __ATOMIC_RELEASE);
		}
	}
	slurm_mutex_unlock(&inner_lock);
	return rc;
}

/* ------------------------------------------------------------ policy -- */

static char *conf_path_of(void)
{
	char path[4096];

	if (qconf_path_beside(slurm_conf.slurm_conf, path, sizeof(path)))
		return xstrdup("quorate.conf");	/* a path too long to open */
	return xstrdup(path);
}

/* quorate.conf beside slurm.conf: read when it changes (looked at once a
 * second).  A missing file means the defaults; a bad one is logged and the
 * plugin places jobs exactly as cons_tres would until it is fixed. */
static void conf_refresh(bool force)
{
	struct quorate_conf qc;
	struct stat st;
	char err[512];
	time_t now = time(NULL);

	if (!force && conf_status != CONF_UNREAD && now == conf_checked)
		return;
	conf_checked = now;
	if (!conf_path)
		conf_path = conf_path_of();
	if (stat(conf_path, &st) != 0) {
		if (errno != ENOENT) {
			if (conf_status != CONF_BAD || force)
				error("%s: %s: %m; placing jobs as %s would",
				      plugin_type, conf_path, INNER_TYPE);
			conf_status = CONF_BAD;
			memset(&conf_seen, 0, sizeof(conf_seen));
			return;
		}
		if (conf_status == CONF_GOOD && !conf_seen.st_ino && !force)
			return;
		memset(&conf_seen, 0, sizeof(conf_seen));
		if (qconf_defaults(&qc)) {
			conf_status = CONF_BAD;
			return;
		}
		info("%s: no %s, using the default thresholds", plugin_type,
		     conf_path);
		goto apply;
	}
	if (!force && conf_status != CONF_UNREAD && qconf_same_file(&st, &conf_seen))
		return;
	conf_seen = st;
	if (qconf_load(conf_path, &qc, err, sizeof(err))) {
		error("%s: %s; placing jobs as %s would until it is fixed",
		      plugin_type, err, INNER_TYPE);
		conf_status = CONF_BAD;
		return;
	}
apply:
	if (sel_table_configure(&table, qc.trust_above, qc.site_feature_prefix)) {
		error("%s: out of memory reading %s", plugin_type, conf_path);
		conf_status = CONF_BAD;
	} else {
		info("%s: TrustAbove=%g SiteFeaturePrefix=%s (from %s)",
		     plugin_type, qc.trust_above,
		     qc.site_feature_prefix,
		     conf_seen.st_ino ? conf_path : "defaults");
		conf_status = CONF_GOOD;
		table_refreshed = 0;	/* parse every node again */
	}
	qconf_free(&qc);
}

/* Bring the cached node table up to date: only after slurmctld changed a
 * node (last_node_update), and then only nodes whose strings changed. */
static int table_refresh(void)
{
	bool all = false;

	if (!table_ready) {
		if (sel_table_init(&table))
			return -1;
		table_ready = true;
		conf_status = CONF_UNREAD;
	}
	conf_refresh(false);
	if (conf_status != CONF_GOOD)
		return -1;
	if (table.nnodes != (size_t)node_record_count) {
		if (sel_table_resize(&table, (size_t)node_record_count))
			return -1;
		all = true;
	}
	if (!all && table_refreshed && last_node_update < table_refreshed)
		return 0;
	table_refreshed = time(NULL);
	if (all)
		table_generation++;
	for (int i = 0; i < node_record_count; i++) {
		node_record_t *node = node_record_table_ptr[i];
		int changed;

		if (!node) {
			sel_table_clear_node(&table, (size_t)i);
			table_generation++;
			continue;
		}
		changed = sel_table_update_node(&table, (size_t)i, node->extra,
						node->features);
		if (changed < 0) {
			table_refreshed = 0;	/* try again next time */
			table_generation++;
			return -1;
		}
		if (changed)
			table_generation++;
		if (table.nodes[i].malformed && table.nodes[i].extra)
			debug("%s: node %s: malformed quorate tokens in Extra=\"%s\" ignored",
			      plugin_type, node->name, table.nodes[i].extra);
	}
	return 0;
}

static int reserve_bufs(size_t n)
{
	uint32_t *c, *a;
	uint8_t *r;

	if (n <= buf_cap)
		return 0;
	c = realloc(cand_buf, n * sizeof(*c));
	if (c)
		cand_buf = c;
	a = realloc(aux_buf, n * sizeof(*a));
	if (a)
		aux_buf = a;
	r = realloc(required_buf, n);
	if (r)
		required_buf = r;
	if (!c || !a || !r)
		return -1;
	buf_cap = n;
	return 0;
}

/* Set indices of a bitmap into buf; returns the count. */
static size_t bitmap_indices(bitstr_t *b, uint32_t *buf)
{
	size_t n = 0;
	int64_t first, last;

	if (!b || (first = bit_ffs(b)) < 0)
		return 0;
	last = bit_fls(b);
	for (int64_t i = first; i <= last; i++) {
		if (bit_test(b, i))
			buf[n++] = (uint32_t)i;
	}
	return n;
}

static bool job_is_admin(const job_record_t *job)
{
	return job->user_id == 0 || job->user_id == slurm_conf.slurm_user_id;
}

static void reason_set(job_record_t *job, const char *text)
{
	sel_api_reason_set(job, text);
	debug("%s: %pJ pending: %s", plugin_type, job, text);
}

/* Keys into sched_weight: the node's rank, or the site plan's key.
 * Excluded candidates get one too (no branch per node): they are out of
 * the bitmap, and weights_strip() takes every key off again. */
static void weights_apply(const struct sel_job_in *in, bool planned)
{
	for (size_t i = 0; i < in->ncand; i++) {
		uint32_t n = in->cand[i];
		node_record_t *node = node_record_table_ptr[n];

		if (node)
			node->sched_weight = sel_weight_compose(
				node->sched_weight,
				sel_table_key(&table, i, n, planned));
	}
}

static void weights_strip(const struct sel_job_in *in)
{
	for (size_t i = 0; i < in->ncand; i++) {
		node_record_t *node = node_record_table_ptr[in->cand[i]];

		if (node)
			node->sched_weight = sel_weight_strip(node->sched_weight);
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Time spent in select/cons_tres during this thread's current job_test. */
static __thread uint64_t inner_ns;

static int forward_job_test(job_record_t *job, bitstr_t *bitmap,
			    uint32_t min_nodes, uint32_t max_nodes,
			    uint32_t req_nodes, uint16_t mode,
			    struct sel_args *args, bool without_preemption)
{
	uint64_t t0 = mono_ns();
	int rc = sel_api_job_test(job, bitmap, min_nodes, max_nodes, req_nodes,
				  mode, args, without_preemption);

	inner_ns += mono_ns() - t0;
	return rc;
}

/* Would the job start now without the trust filter?  Asked only after it
 * failed with it, so the pending reason names the cause honestly. */
static bool runs_without_filter(job_record_t *job, bitstr_t *unfiltered,
				uint32_t min_nodes, uint32_t max_nodes,
				uint32_t req_nodes, struct sel_args *args)
{
	bitstr_t *probe = bit_copy(unfiltered);
	int rc;

	rc = forward_job_test(job, probe, min_nodes, max_nodes, req_nodes,
			      SELECT_MODE_RUN_NOW, args, true);
	bit_free(probe);
	if (rc == SLURM_SUCCESS)
		free_job_resources(&job->job_resrcs);
	return rc == SLURM_SUCCESS;
}

/* Sites of the job's partition, less its --exclude list. */
static unsigned partition_sites(job_record_t *job)
{
	bitstr_t *part = job->part_ptr ? job->part_ptr->node_bitmap : NULL;
	time_t part_update = last_part_update;
	bool cacheable = !job->details->exc_node_bitmap;
	bitstr_t *nodes;
	unsigned sites;
	size_t n;

	if (!part)
		return 0;
	if (cacheable && part_sites_cache.part == job->part_ptr &&
	    part_sites_cache.generation == table_generation &&
	    part_sites_cache.part_update == part_update)
		return part_sites_cache.sites;
	nodes = bit_copy(part);
	if (job->details->exc_node_bitmap)
		bit_and_not(nodes, job->details->exc_node_bitmap);
	n = bitmap_indices(nodes, aux_buf);
	bit_free(nodes);
	sites = sel_table_count_sites(&table, aux_buf, n);
	if (cacheable) {
		part_sites_cache.part = job->part_ptr;
		part_sites_cache.generation = table_generation;
		part_sites_cache.part_update = part_update;
		part_sites_cache.sites = sites;
	}
	return sites;
}

/* A replicated job: plan sites, let cons_tres place, check, retry without
 * the planned nodes it found no room on. */
static int spread_job_test(job_record_t *job, bitstr_t *bitmap,
			   struct sel_job_in *in, const struct sel_spread *sp,
			   uint16_t mode, struct sel_args *args,
			   bool *policy_blocked, char *why, size_t whylen)
{
	struct sel_plan_info info;
	bool tried = false;
	int rc = SLURM_ERROR;

	for (int attempt = 0; attempt < SPREAD_ATTEMPTS; attempt++) {
		bitstr_t *work;
		size_t m;
		int ok, newly;

		if (sel_table_plan(&table, in, sp, &info)) {
			error("%s: out of memory planning %pJ", plugin_type, job);
			return SLURM_ERROR;
		}
		if (info.status != SEL_PLAN_OK) {
			/* after a try, the missing sites are the full ones */
			sel_reason_sites(&table, why, whylen, in, sp, &info,
					 tried);
			*policy_blocked = true;
			return SLURM_ERROR;
		}
		sel_api_drop_preemptees(args);
		work = bit_copy(bitmap);
		weights_apply(in, true);
		rc = forward_job_test(job, work, sp->nodes, sp->nodes,
				      sp->nodes, mode, args, false);
		weights_strip(in);
		if (rc != SLURM_SUCCESS) {
			bit_free(work);
			if (tried) {	/* room ran out on the planned sites */
				sel_reason_sites(&table, why, whylen, in, sp,
						 &info, true);
				*policy_blocked = true;
			}
			return rc;
		}
		m = bitmap_indices(work, aux_buf);
		ok = sel_table_spread_ok(&table, aux_buf, m, sp,
					 info.groups_whole);
		if (ok == 1) {
			bit_copybits(bitmap, work);
			bit_free(work);
			debug("%s: %pJ --replicas=%u spread over %u sites",
			      plugin_type, job, in->replicas, info.sites_used);
			return SLURM_SUCCESS;
		}
		/* Planned nodes cons_tres passed over have no room now. */
		newly = 0;
		for (size_t i = 0; i < in->ncand; i++) {
			if (table.planned[i] && !table.skip[i] &&
			    !bit_test(work, in->cand[i])) {
				sel_table_skip(&table, in, i);
				newly++;
			}
		}
		bit_free(work);
		if (mode == SELECT_MODE_RUN_NOW)
			free_job_resources(&job->job_resrcs);
		rc = SLURM_ERROR;
		tried = true;
		if (ok < 0 || !newly)
			break;
	}
	sel_reason_sites(&table, why, whylen, in, sp, &info, true);
	*policy_blocked = true;
	return rc;
}

static int policy_job_test(job_record_t *job, bitstr_t *bitmap,
			   uint32_t min_nodes, uint32_t max_nodes,
			   uint32_t req_nodes, uint16_t mode,
			   struct sel_args *args)
{
	struct sel_job_in in = { 0 };
	struct sel_job_out out;
	bitstr_t *unfiltered = NULL;
	bitstr_t *req = job->details->req_node_bitmap;
	bool policy_blocked = false, spread = false;
	char why[512] = "";
	int replicas, rc;
	size_t n;

	if (mode == SELECT_MODE_RUN_NOW)
		sel_api_reason_clear(job);
	if (table_refresh())
		goto as_cons_tres;
	replicas = sel_job_replicas(job->spank_job_env,
				    job->spank_job_env_size);
	if (replicas < 0) {
		debug("%s: %pJ has a malformed %s; treated as not replicated",
		      plugin_type, job, SEL_ENV_REPLICAS);
		replicas = 0;
	}
	/* Nobody scored, nothing replicated: exactly cons_tres. */
	if (!table.opinionated && replicas < SEL_REPLICAS_MIN)
		goto as_cons_tres;

	if (reserve_bufs((size_t)node_record_count))
		goto oom;
	n = bitmap_indices(bitmap, cand_buf);
	for (size_t i = 0; i < n; i++)
		required_buf[i] = req ? (uint8_t)bit_test(req, cand_buf[i]) : 0;
	in.cand = cand_buf;
	in.ncand = n;
	in.required = req ? required_buf : NULL;
	in.admin = job_is_admin(job);
	in.replicas = (unsigned)replicas;
	if (sel_table_job(&table, &in, &out))
		goto oom;

	if (out.blocked >= 0) {
		node_record_t *node = node_record_table_ptr[out.blocked];

		if (mode == SELECT_MODE_RUN_NOW) {
			sel_reason_blocked(why, sizeof(why),
					   node ? node->name : "?",
					   out.blocked_cause);
			reason_set(job, why);
		}
		return SLURM_ERROR;
	}
	if (out.quarantined || out.probation) {
		unfiltered = bit_copy(bitmap);
		for (size_t i = 0; i < n; i++) {
			if (table.excluded[i])
				bit_clear(bitmap, cand_buf[i]);
		}
	}

	if (replicas >= SEL_REPLICAS_MIN && !req) {
		struct sel_spread sp;
		uint32_t limit = max_nodes ? max_nodes : UINT32_MAX;
		uint32_t m = min_nodes;

		if (m < (uint32_t)replicas)
			m = (uint32_t)replicas < limit ? (uint32_t)replicas : limit;
		if (m < min_nodes)
			m = min_nodes;
		sp.groups = (unsigned)replicas;
		sp.nodes = m;
		sp.sites_required = sel_sites_required((unsigned)replicas,
						       partition_sites(job), m);
		if (sp.sites_required >= 2) {
			spread = true;
			rc = spread_job_test(job, bitmap, &in, &sp, mode, args,
					     &policy_blocked, why, sizeof(why));
			min_nodes = max_nodes = req_nodes = m;
		}
	}
	if (!spread) {
		if (!out.uniform)
			weights_apply(&in, false);
		rc = forward_job_test(job, bitmap, min_nodes, max_nodes,
				      req_nodes, mode, args, false);
		if (!out.uniform)
			weights_strip(&in);
	}

	if (rc != SLURM_SUCCESS && mode == SELECT_MODE_RUN_NOW) {
		if (!policy_blocked && unfiltered &&
		    runs_without_filter(job, unfiltered, min_nodes, max_nodes,
					req_nodes, args)) {
			sel_reason_trust(why, sizeof(why), min_nodes, &out);
			policy_blocked = true;
		}
		if (policy_blocked)
			reason_set(job, why);
	}
	if (rc == SLURM_SUCCESS && out.overridden &&
	    mode == SELECT_MODE_RUN_NOW) {
		node_record_t *node = node_record_table_ptr[out.first_overridden];

		info("%s: %pJ of uid %u placed on %s (%s) and %u other excluded node(s) named by --nodelist: admin override",
		     plugin_type, job, job->user_id, node ? node->name : "?",
		     node_state_name(sel_table_state(&table,
						     (size_t)out.first_overridden)),
		     out.overridden - 1);
	}
	FREE_NULL_BITMAP(unfiltered);
	return rc;

oom:
	error("%s: out of memory; placing %pJ as %s would", plugin_type, job,
	      INNER_TYPE);
as_cons_tres:
	return forward_job_test(job, bitmap, min_nodes, max_nodes, req_nodes,
				mode, args, false);
}

/* ------------------------------------------- called by the adapter -- */

extern void sel_node_init(void)
{
	slurm_mutex_lock(&policy_lock);
	table_refreshed = 0;	/* the node table was rebuilt */
	slurm_mutex_unlock(&policy_lock);
}

extern void sel_reconfigure(void)
{
	slurm_mutex_lock(&policy_lock);
	if (table_ready) {
		conf_refresh(true);
		table_refreshed = 0;
	}
	log_timing(true);
	slurm_mutex_unlock(&policy_lock);
}

extern int sel_job_test(job_record_t *job_ptr, bitstr_t *bitmap,
			uint32_t min_nodes, uint32_t max_nodes,
			uint32_t req_nodes, uint16_t mode,
			struct sel_args *args)
{
	uint64_t t0;
	int rc;

	if (sel_inner_init())
		return SLURM_ERROR;
	/* Submission asks whether the job could ever run: quarantine and
	 * probation are passing states, like DOWN, so no policy here. */
	if (mode == SELECT_MODE_TEST_ONLY || !job_ptr || !job_ptr->details ||
	    !bitmap)
		return forward_job_test(job_ptr, bitmap, min_nodes, max_nodes,
					req_nodes, mode, args, false);
	slurm_mutex_lock(&policy_lock);
	inner_ns = 0;
	t0 = mono_ns();
	rc = policy_job_test(job_ptr, bitmap, min_nodes, max_nodes, req_nodes,
			     mode, args);
	sel_timing_add(&timing, mono_ns() - t0, inner_ns);
	if (timing.calls % TIMING_EVERY == 0)
		log_timing(false);
	slurm_mutex_unlock(&policy_lock);
	return rc;
}
