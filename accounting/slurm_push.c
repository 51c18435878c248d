/*
 * slurm_push.c - see slurm_push.h.
 */
#include "config.h"

#define _GNU_SOURCE	/* pipe2 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "frame.h"
#include "ingest.h"
#include "log.h"
#include "slurm_push.h"

#define RETRY_MAX 60.0		/* seconds between tries of a failing push */
#define SITES_EVERY 300.0	/* seconds between readings of the node features */
#define HELPER_TIMEOUT_MS 30000	/* for one answer of the helper */

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
	/* PushPlacement: Weight and features too, and every node each interval */
	bool placement;
	double trust_above, place_interval, next_place;
	/* the helper process (slurm_helper.c), the push thread's own */
	char exe[PATH_MAX];
	char *slurm_conf, *log_file;
	pid_t pid;
	int to, from;		/* its stdin, its stdout */
	char buf[4096];
	size_t len;
	double next_start;	/* back-off after a death */
	int deaths;
} P = {
	.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	.to = -1, .from = -1,
};

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

int slurm_push_init(const char *slurm_conf, const char *log_file,
		    char *err, size_t errlen)
{
	ssize_t n;

	if (access(slurm_conf, R_OK)) {
		snprintf(err, errlen, "SlurmConf %s: %s", slurm_conf, strerror(errno));
		return -1;
	}
	n = readlink("/proc/self/exe", P.exe, sizeof(P.exe) - 1);
	if (n <= 0) {
		snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
		return -1;
	}
	P.exe[n] = '\0';
	P.slurm_conf = strdup(slurm_conf);
	P.log_file = log_file ? strdup(log_file) : NULL;
	if (!P.slurm_conf || (log_file && !P.log_file)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	P.enabled = true;
	return 0;
}

/* ------------------------------------------------------ the helper -- */

static void helper_stop(const char *why)
{
	int status = 0;

	if (P.to >= 0)
		close(P.to);
	if (P.from >= 0)
		close(P.from);
	P.to = P.from = -1;
	P.len = 0;
	if (P.pid <= 0)
		return;
	if (why)
		kill(P.pid, SIGKILL);
	while (waitpid(P.pid, &status, 0) < 0 && errno == EINTR)
		;
	if (why) {
		P.deaths++;
		P.next_start = now_seconds() + fmin(pow(2, P.deaths - 1), RETRY_MAX);
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			log_error("slurm helper (pid %d) died of signal %d %s", (int)P.pid,
				  WTERMSIG(status), why);
		else if (WIFEXITED(status))
			log_error("slurm helper (pid %d) exited with status %d %s (libslurm's "
				  "reason is in this log just before)", (int)P.pid, WEXITSTATUS(status), why);
		else
			log_error("slurm helper (pid %d) stopped %s", (int)P.pid, why);
	}
	P.pid = 0;
}

/* Start the helper: quorated itself, in helper mode, its stderr in our log. */
static int helper_start(void)
{
	int to[2], from[2];
	pid_t pid;

	if (P.pid > 0)
		return 0;
	if (now_seconds() < P.next_start)
		return -1;
	if (pipe2(to, O_CLOEXEC))
		return -1;
	if (pipe2(from, O_CLOEXEC)) {
		close(to[0]);
		close(to[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls until exec. */
		char *argv[] = { "quorated", "--slurm-helper", P.slurm_conf, NULL };
		int fd = open(P.log_file ? P.log_file : "/dev/null", O_WRONLY | O_APPEND | O_CREAT, 0644);

		dup2(to[0], STDIN_FILENO);
		dup2(from[1], STDOUT_FILENO);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execv(P.exe, argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	if (pid < 0) {
		log_error("slurm helper: fork: %s", strerror(errno));
		close(to[1]);
		close(from[0]);
		return -1;
	}
	P.pid = pid;
	P.to = to[1];
	P.from = from[0];
	P.len = 0;
	log_debug("slurm helper started (pid %d)", (int)pid);
	return 0;
}

/* One line from the helper (without its newline) before the deadline. */
static int helper_line(char *line, size_t max, int64_t deadline)
{
	for (;;) {
		char *nl = memchr(P.buf, '\n', P.len);
		struct pollfd pfd = { .fd = P.from, .events = POLLIN };
		int64_t left;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - P.buf);

			snprintf(line, max, "%.*s", (int)l, P.buf);
			memmove(P.buf, nl + 1, P.len - l - 1);
			P.len -= l + 1;
			return 0;
		}
		if (P.len == sizeof(P.buf))
			return -1;	/* a line longer than the buffer: not the helper */
		left = deadline - frame_now_ms();
		if (left <= 0)
			return -1;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		n = read(P.from, P.buf + P.len, sizeof(P.buf) - P.len);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		P.len += (size_t)n;
	}
}

/* Send a request; -1 when the helper is not there or not listening. */
static int helper_send(const char *req)
{
	size_t len = strlen(req), off = 0;

	if (helper_start())
		return -1;
	while (off < len) {
		ssize_t n = write(P.to, req + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			helper_stop("(it stopped reading)");
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Write score and state into node's Extra (the helper does).
 * 0 done, 1 try again later, -1 never (no such node). */
static int push_one(const char *node, double score, enum node_state state)
{
	char req[256], line[512];

	snprintf(req, sizeof(req), "push %s %.6f %s%s\n", node, score, node_state_name(state),
		 P.placement ? " place" : "");
	if (helper_send(req))
		return 1;
	if (helper_line(line, sizeof(line), frame_now_ms() + HELPER_TIMEOUT_MS)) {
		helper_stop("while pushing a node's reputation");
		return 1;
	}
	if (!strcmp(line, "ok")) {
		P.deaths = 0;
		atomic_fetch_add(&counters.slurm_pushes, 1);
		log_debug("node %s: reputation=%.1f quorate_state=%s pushed", node, score,
			  node_state_name(state));
		return 0;
	}
	log_warning("%s", !strncmp(line, "gone ", 5) || !strncmp(line, "retry ", 6) ?
		    strchr(line, ' ') + 1 : line);
	return strncmp(line, "gone ", 5) ? 1 : -1;
}

/* Read every node's site (the helper does) and tell the writer. */
static void learn_sites(void)
{
	struct settings set;
	struct ingest_request *req = NULL;
	size_t n = 0, cap = 0;
	char line[512];
	int64_t deadline = frame_now_ms() + HELPER_TIMEOUT_MS;

	settings_get(&set);
	snprintf(line, sizeof(line), "sites %s\n", set.site_prefix);
	if (helper_send(line))
		return;
	for (;;) {
		char node[QMSG_NAME_MAX], site[QMSG_NAME_MAX];

		if (helper_line(line, sizeof(line), deadline)) {
			helper_stop("while reading the nodes' sites");
			break;
		}
		if (!strcmp(line, "end"))
			break;
		if (!strncmp(line, "retry ", 6)) {
			log_debug("%s", line + 6);
			break;
		}
		if (sscanf(line, "site %63s %63s", node, site) != 2)
			continue;
		if (n == cap) {
			struct ingest_request *grown;

			cap = cap ? 2 * cap : 64;
			grown = ingest_request_new(cap);
			if (!grown)
				break;
			if (req) {
				memcpy(grown->items, req->items, n * sizeof(req->items[0]));
				free(req);	/* the items moved, nothing of theirs to free */
			}
			req = grown;
		}
		req->items[n].kind = ITEM_SITE;
		snprintf(req->items[n].k.cluster, QMSG_NAME_MAX, "%s", local_cluster);
		snprintf(req->items[n].k.node, QMSG_NAME_MAX, "%s", node);
		snprintf(req->items[n].site, QMSG_NAME_MAX, "%s", site);
		n++;
	}
	if (!req)
		return;
	req->n = n;
	if (n == 0 || ingest_submit(req))
		ingest_request_free(req);
}

/* Every node's Weight and features as its Extra says (the helper does). */
static void place_all(void)
{
	char req[64], line[512];
	unsigned seen, changed;

	snprintf(req, sizeof(req), "place %.6f\n", P.trust_above);
	if (helper_send(req))
		return;
	if (helper_line(line, sizeof(line), frame_now_ms() + HELPER_TIMEOUT_MS)) {
		helper_stop("while checking the nodes' placement");
		return;
	}
	if (sscanf(line, "placed %u %u", &seen, &changed) == 2) {
		atomic_fetch_add(&counters.slurm_pushes, changed);
		if (changed)
			log_info("placement: %u of %u node(s) given their Weight and features again",
				 changed, seen);
		return;
	}
	atomic_fetch_add(&counters.slurm_push_failures, 1);
	log_warning("placement: %s", !strncmp(line, "retry ", 6) ? line + 6 : line);
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
		if (P.placement && now >= P.next_place) {
			P.next_place = now + P.place_interval;
			pthread_mutex_unlock(&P.lock);
			place_all();
			pthread_mutex_lock(&P.lock);
			continue;
		}
		if (P.placement && P.next_place < next)
			next = P.next_place;
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

void slurm_push_placement(double trust_above, long interval)
{
	P.placement = true;
	P.trust_above = trust_above;
	P.place_interval = (double)interval;
}

int slurm_push_start(void)
{
	if (!P.enabled)
		return 0;
	P.next_sites = now_seconds() + 1;
	P.next_place = now_seconds() + 1;
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
	helper_stop(NULL);	/* EOF on its stdin: it finishes and exits */
	free(P.slurm_conf);
	free(P.log_file);
	P.slurm_conf = P.log_file = NULL;
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
