/*
 * slurm_push.c - see slurm_push.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "daemon.h"
#include "ingest.h"
#include "log.h"
#include "slurm_push.h"

#define RETRY_MAX 60.0		/* seconds between tries of a failing push */
#define SITES_EVERY 300.0	/* seconds between readings of the node features */

/* Slurm 22.05's slurm_free_node_info_members() forgets bcast_address,
 * comment and extra: free them here, with libslurm's own xfree (its
 * allocations carry a header, free() would be wrong). */
extern void slurm_xfree(void **item);

static void free_node_msg(node_info_msg_t *msg)
{
	if (!msg)
		return;
	for (uint32_t i = 0; msg->node_array && i < msg->record_count; i++) {
		slurm_xfree((void **)&msg->node_array[i].bcast_address);
		slurm_xfree((void **)&msg->node_array[i].comment);
		slurm_xfree((void **)&msg->node_array[i].extra);
	}
	slurm_free_node_info_msg(msg);
}

struct push {
	struct push *next;
	char node[QMSG_NAME_MAX];
	double score;
	enum node_state state;
	double next_try;
	int failures;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct push *list;
	bool enabled, stop, running, want_sites;
	pthread_t thread;
	double next_sites;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int slurm_conf_peek(const char *path, char *cluster, size_t clen,
		    char *user, size_t ulen, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[4096];

	cluster[0] = '\0';
	user[0] = '\0';
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#'), *eq, *key, *val;

		if (hash)
			*hash = '\0';
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		/* A value ends at the first blank (SlurmUser=slurm(uid) forms are not used). */
		val[strcspn(val, " \t")] = '\0';
		if (!strcasecmp(key, "ClusterName"))
			snprintf(cluster, clen, "%s", val);
		else if (!strcasecmp(key, "SlurmUser"))
			snprintf(user, ulen, "%s", val);
	}
	fclose(f);
	return 0;
}

int slurm_push_init(const char *slurm_conf, char *err, size_t errlen)
{
	if (access(slurm_conf, R_OK)) {
		snprintf(err, errlen, "SlurmConf %s: %s", slurm_conf, strerror(errno));
		return -1;
	}
	/* libslurm reads slurm.conf here; node updates need nothing else. */
	slurm_init(slurm_conf);
	P.enabled = true;
	return 0;
}

/* Write score and state into node's Extra, keeping the admin's words.
 * 0 done, 1 try again later, -1 never (no such node). */
static int push_one(const char *node, double score, enum node_state state)
{
	node_info_msg_t *msg = NULL;
	update_node_msg_t upd;
	char extra[1024], name[QMSG_NAME_MAX];
	const char *old;
	int rc, e;

	snprintf(name, sizeof(name), "%s", node);
	if (slurm_load_node_single(&msg, name, SHOW_ALL) != SLURM_SUCCESS || !msg ||
	    msg->record_count < 1) {
		bool unknown = msg && msg->record_count < 1;

		e = slurm_get_errno();
		if (msg)
			free_node_msg(msg);
		if (e == ESLURM_INVALID_NODE_NAME || unknown) {
			log_warning("slurmctld does not know node %s: its reputation is not pushed", node);
			return -1;
		}
		log_warning("cannot read node %s from slurmctld: %s", node, slurm_strerror(e));
		return 1;
	}
	old = msg->node_array[0].extra;
	if (node_extra_format(old, score, state, extra, sizeof(extra)) < 0) {
		log_error("node %s: its Extra field is too long to add quorate's words", node);
		free_node_msg(msg);
		return -1;
	}
	if (old && !strcmp(old, extra)) {
		free_node_msg(msg);
		return 0;
	}
	free_node_msg(msg);
	slurm_init_update_node_msg(&upd);
	upd.node_names = name;
	upd.extra = extra;
	rc = slurm_update_node(&upd);
	if (rc != SLURM_SUCCESS) {
		e = slurm_get_errno();
		log_warning("cannot update node %s in slurmctld: %s", node, slurm_strerror(e));
		return e == ESLURM_INVALID_NODE_NAME ? -1 : 1;
	}
	atomic_fetch_add(&counters.slurm_pushes, 1);
	log_debug("node %s: Extra=%s", node, extra);
	return 0;
}

/* Read every node's features and tell the writer each node's site. */
static void learn_sites(void)
{
	node_info_msg_t *msg = NULL;
	struct settings set;
	struct ingest_request *req;
	size_t n = 0, plen;

	settings_get(&set);
	plen = strlen(set.site_prefix);
	if (slurm_load_node(0, &msg, SHOW_ALL) != SLURM_SUCCESS || !msg) {
		log_debug("cannot read the nodes from slurmctld: %s", slurm_strerror(slurm_get_errno()));
		return;
	}
	req = ingest_request_new(msg->record_count);
	for (uint32_t i = 0; req && i < msg->record_count; i++) {
		const node_info_t *ni = &msg->node_array[i];
		char *features, *tok, *save = NULL;

		if (!ni->name || !ni->features)
			continue;
		features = strdup(ni->features);
		for (tok = features ? strtok_r(features, ",", &save) : NULL; tok;
		     tok = strtok_r(NULL, ",", &save)) {
			if (strncmp(tok, set.site_prefix, plen) || !tok[plen] ||
			    !qmsg_valid_node(tok + plen) || !qmsg_valid_node(ni->name))
				continue;
			req->items[n].kind = ITEM_SITE;
			snprintf(req->items[n].k.cluster, QMSG_NAME_MAX, "%s", local_cluster);
			snprintf(req->items[n].k.node, QMSG_NAME_MAX, "%s", ni->name);
			snprintf(req->items[n].site, QMSG_NAME_MAX, "%s", tok + plen);
			n++;
			break;
		}
		free(features);
	}
	free_node_msg(msg);
	if (!req)
		return;
	req->n = n;
	if (n == 0 || ingest_submit(req))
		ingest_request_free(req);
}

static void *push_main(void *arg)
{
	(void)arg;
	daemon_thread_init("q-slurm");
	pthread_mutex_lock(&P.lock);
	while (!P.stop) {
		double now = now_seconds(), next = now + 5;
		struct push *due = NULL, **pp;

		if (P.want_sites || now >= P.next_sites) {
			P.want_sites = false;
			P.next_sites = now + SITES_EVERY;
			pthread_mutex_unlock(&P.lock);
			learn_sites();
			pthread_mutex_lock(&P.lock);
			continue;
		}
		for (pp = &P.list; *pp; pp = &(*pp)->next) {
			if ((*pp)->next_try <= now) {
				due = *pp;
				*pp = due->next;
				break;
			}
			if ((*pp)->next_try < next)
				next = (*pp)->next_try;
		}
		if (due) {
			int rc;
			struct push *newer;

			pthread_mutex_unlock(&P.lock);
			rc = push_one(due->node, due->score, due->state);
			pthread_mutex_lock(&P.lock);
			for (newer = P.list; newer; newer = newer->next)
				if (!strcmp(newer->node, due->node))
					break;
			if (rc > 0 && !newer) {
				/* Try again later, unless a newer value was queued meanwhile. */
				atomic_fetch_add(&counters.slurm_push_failures, 1);
				due->failures++;
				due->next_try = now_seconds() + fmin(pow(2, due->failures - 1), RETRY_MAX);
				due->next = P.list;
				P.list = due;
			} else {
				if (rc > 0)
					atomic_fetch_add(&counters.slurm_push_failures, 1);
				free(due);
			}
			continue;
		}
		{
			struct timespec until;
			double wake = fmin(next, P.next_sites);

			until.tv_sec = (time_t)wake;
			until.tv_nsec = (long)((wake - (double)until.tv_sec) * 1e9);
			pthread_cond_timedwait(&P.cond, &P.lock, &until);
		}
	}
	while (P.list) {
		struct push *p = P.list;

		P.list = p->next;
		free(p);
	}
	pthread_mutex_unlock(&P.lock);
	return NULL;
}

int slurm_push_start(void)
{
	if (!P.enabled)
		return 0;
	P.next_sites = now_seconds() + 1;
	if (pthread_create(&P.thread, NULL, push_main, NULL))
		return -1;
	P.running = true;
	return 0;
}

void slurm_push_stop(void)
{
	if (!P.running)
		return;
	pthread_mutex_lock(&P.lock);
	P.stop = true;
	pthread_cond_signal(&P.cond);
	pthread_mutex_unlock(&P.lock);
	pthread_join(P.thread, NULL);
	P.running = false;
	slurm_fini();
}

void slurm_push_want_sites(void)
{
	pthread_mutex_lock(&P.lock);
	if (P.enabled && !P.want_sites) {
		P.want_sites = true;
		pthread_cond_signal(&P.cond);
	}
	pthread_mutex_unlock(&P.lock);
}

void slurm_push_enqueue(const char *node, double score, enum node_state state)
{
	struct push *p;

	pthread_mutex_lock(&P.lock);
	if (!P.enabled || P.stop) {
		pthread_mutex_unlock(&P.lock);
		return;
	}
	for (p = P.list; p; p = p->next)
		if (!strcmp(p->node, node))
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&P.lock);
			log_error("out of memory queueing node %s for slurmctld", node);
			return;
		}
		snprintf(p->node, sizeof(p->node), "%s", node);
		p->next = P.list;
		P.list = p;
	}
	p->score = score;
	p->state = state;
	p->next_try = 0;
	p->failures = 0;
	pthread_cond_signal(&P.cond);
	pthread_mutex_unlock(&P.lock);
}
