/*
 * slurm_helper.c - quorated's dealings with slurmctld, in a process of its
 * own (`quorated --slurm-helper SLURM_CONF`, started by slurm_push.c).
 *
 * Node records are read with scontrol, written with libslurm's
 * slurm_update_node().  Reading them through libslurm would load the
 * select plugin named in slurm.conf into this process, and a select plugin
 * that needs slurmctld's symbols (as select/reputation does) makes libslurm
 * end the process that asks (fatal()); scontrol, built with Slurm's full
 * library, reads them whatever the plugin.  And should libslurm end this
 * helper anyway, the daemon logs it and starts another later.
 *
 * Requests on stdin, one per line; answers on stdout:
 *   push NODE SCORE STATE [place]  ->  ok | retry WHY | gone WHY
 *   sites PREFIX           ->  site NODE SITE ... end | retry WHY
 *   place TRUST_ABOVE      ->  placed SEEN CHANGED | retry WHY
 *
 * With "place" (PushPlacement), a push also writes the node's Weight and
 * its quorate_plain/quorate_replica features (placement.h); `place` does
 * so for every node, from the score and state its Extra holds, so that
 * what slurmctld lost to a restart, a reconfigure or an admin's edit comes
 * back within PlacementInterval.
 *
 * Extra is written as JSON where slurmctld wants it (SchedulerParameters
 * has extra_constraints, Slurm 23.11+), else as tokens (node_extra.h).
 * SchedulerParameters is read (scontrol show config) when the helper
 * starts and again before the push that follows one slurmctld refused
 * (it refuses tokens once extra_constraints is on); when it cannot be
 * read, the tokens, with a warning on stderr (quorated's log), and
 * another try a minute later at the earliest.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "frame.h"
#include "log.h"
#include "node_extra.h"
#include "placement.h"
#include "qmsg.h"
#include "select_policy.h"
#include "slurm_push.h"

#define MAX_OUTPUT (16u << 20)
#define CONFIG_RETRY_MS 60000	/* after SchedulerParameters could not be read */

static const char *conf_path;

/* How push() writes Extra, as SchedulerParameters last said. */
static struct {
	bool json;		/* it has extra_constraints */
	bool stale;		/* read it again before the next push ... */
	int64_t not_before_ms;	/* ... but not before this (frame_now_ms) */
} extra_form = { .stale = true };

/* Run `scontrol show WHAT [ARG]`; its stdout (malloc'd) and exit status. */
static char *scontrol_show(const char *what, const char *arg, int *status)
{
	int fds[2];
	size_t len = 0, cap = 65536;
	char *out = malloc(cap);
	pid_t pid;

	*status = -1;
	if (!out || pipe(fds)) {
		free(out);
		return NULL;
	}
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "scontrol", "show", (char *)what, (char *)arg, NULL };

		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		setenv("SLURM_CONF", conf_path, 1);
		if (!getenv("PATH"))
			setenv("PATH", "/usr/bin:/bin", 1);
		execvp("scontrol", argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		free(out);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *grown = cap >= MAX_OUTPUT ? NULL : realloc(out, cap * 2);

			if (!grown)
				break;
			out = grown;
			cap *= 2;
		}
		n = read(fds[0], out + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return out;
}

/* The value of "   KEY=..." on its own line of a node's block, or NULL. */
static const char *line_value(const char *block, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = block; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *q = p + strspn(p, " ");

		if (p != block && !strncmp(p, "NodeName=", 9))
			break;	/* the next node's block */
		if (!strncmp(q, key, klen) && q[klen] == '=') {
			size_t n = strcspn(q + klen + 1, "\n");

			snprintf(buf, len, "%.*s", (int)n, q + klen + 1);
			return buf;
		}
	}
	return NULL;
}

/* scontrol show node, every node; NULL after answering "retry". */
static char *all_nodes(void)
{
	int status;
	char *out = scontrol_show("node", NULL, &status);

	if (!out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("retry scontrol show node failed\n");
		free(out);
		return NULL;
	}
	return out;
}

/* The node block after p in all_nodes()'s output (the first for NULL). */
static char *next_node(char *out, char *p)
{
	if (!p)
		p = strncmp(out, "NodeName=", 9) ? strstr(out, "\nNodeName=") : out;
	else
		p = strstr(p, "\nNodeName=");
	return p && *p == '\n' ? p + 1 : p;
}

/* The value of the word "KEY=..." anywhere in a node's block (scontrol
 * puts several on one line: "State=IDLE ... Weight=1 Owner=N/A"), or NULL. */
static const char *word_value(const char *block, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *end = strstr(block + 1, "\nNodeName=");

	for (const char *p = block; (p = strstr(p, key)) && (!end || p < end); p += klen) {
		if ((p == block || p[-1] == ' ' || p[-1] == '\n') && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, " \n");

			snprintf(buf, len, "%.*s", (int)n, p + klen + 1);
			return buf;
		}
	}
	return NULL;
}

/* Give a node (its block of scontrol show node) the Weight and features
 * that state, score and rank earn (placement.h).  1 changed, 0 already
 * so, -1 with why. */
static int place_node(const char *name, const char *block, enum node_state state,
		      bool has_score, double score, char *why, size_t whylen)
{
	char wbuf[32], avail[4096], act[4096], want_avail[4096], want_act[4096];
	const char *w, *a, *c;
	uint32_t cur = 1, want;
	update_node_msg_t upd;

	w = word_value(block, "Weight", wbuf, sizeof(wbuf));
	a = line_value(block, "AvailableFeatures", avail, sizeof(avail));
	c = line_value(block, "ActiveFeatures", act, sizeof(act));
	if (w)
		cur = (uint32_t)strtoul(w, NULL, 10);
	want = place_weight(place_weight_base(cur), sel_rank(state, has_score, score));
	if (place_node_features(a, state, want_avail, sizeof(want_avail)) < 0 ||
	    place_node_features(c ? c : a, state, want_act, sizeof(want_act)) < 0) {
		snprintf(why, whylen, "node %s: its features are too long to add quorate's", name);
		return -1;
	}
	if (w && cur == want && !strcmp(a ? a : "(null)", *want_avail ? want_avail : "(null)") &&
	    !strcmp(c ? c : (a ? a : "(null)"), *want_act ? want_act : "(null)"))
		return 0;
	slurm_init_update_node_msg(&upd);
	upd.node_names = (char *)name;
	upd.weight = want;
	upd.features = want_avail;
	upd.features_act = want_act;
	if (slurm_update_node(&upd) != SLURM_SUCCESS) {
		snprintf(why, whylen, "cannot update node %s's Weight and features: %s", name,
			 slurm_strerror(errno));
		return -1;
	}
	return 1;
}

/* Every node's Weight and features, from the score and state in its Extra. */
static void place_all(double trust_above)
{
	char *out, extra[1024], why[512] = "";
	unsigned seen = 0, changed = 0;

	if (!(out = all_nodes()))
		return;
	for (char *p = next_node(out, NULL); p; p = next_node(out, p)) {
		char name[QMSG_NAME_MAX];
		struct node_reputation rep;
		enum node_state state;

		if (sscanf(p, "NodeName=%63s", name) != 1)
			continue;
		node_extra_parse(line_value(p, "Extra", extra, sizeof(extra)), &rep, NULL);
		state = node_effective_state(&rep, trust_above);
		seen++;
		switch (place_node(name, p, state, rep.has_score, rep.score, why, sizeof(why))) {
		case 1:
			changed++;
			break;
		case -1:
			log_warning("%s", why);
			break;
		}
	}
	free(out);
	if (*why && !changed)
		printf("retry %s\n", why);
	else
		printf("placed %u %u\n", seen, changed);
}

/* The value of "KEY = VALUE" on its own line of scontrol show config,
 * ended in place, or NULL. */
static char *config_value(char *config, const char *key)
{
	size_t klen = strlen(key);

	for (char *p = config; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char *v = p + klen;

		if (strncmp(p, key, klen) || (*v != ' ' && *v != '='))
			continue;
		v += strspn(v, " ");
		if (*v++ != '=')
			continue;
		v += strspn(v, " ");
		v[strcspn(v, "\n")] = '\0';
		return v;
	}
	return NULL;
}

/* Read SchedulerParameters into extra_form; the tokens when it cannot. */
static void read_extra_form(void)
{
	bool was_json = extra_form.json;
	char *out, *params = NULL;
	const char *why = "no SchedulerParameters in its output";
	int status;

	extra_form.json = false;
	out = scontrol_show("config", NULL, &status);
	if (!out) {
		why = strerror(errno);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		out[strcspn(out, "\n")] = '\0';
		why = *out ? out : "failed";
	} else {
		params = config_value(out, "SchedulerParameters");
	}
	if (!params) {
		log_warning("cannot read SchedulerParameters (scontrol show config: %s): "
			    "node Extra written as tokens", why);
		extra_form.stale = true;
		extra_form.not_before_ms = frame_now_ms() + CONFIG_RETRY_MS;
		free(out);
		return;
	}
	extra_form.stale = false;
	extra_form.json = sched_params_have_extra_constraints(params);
	if (extra_form.json != was_json)
		log_info("node Extra written as %s (SchedulerParameters=%s)",
			 extra_form.json ? "JSON" : "tokens", params);
	free(out);
}

/* Write score and state into node's Extra, keeping the admin's words. */
static void push(char *node, double score, const char *state_name, bool place)
{
	update_node_msg_t upd;
	enum node_state state;
	char extra[1024], old[1024], *out;
	const char *cur;
	int status, e, n;

	if (node_state_parse(state_name, &state) || state == NODE_NEUTRAL) {
		printf("gone bad state '%s'\n", state_name);
		return;
	}
	if (extra_form.stale && frame_now_ms() >= extra_form.not_before_ms)
		read_extra_form();
	out = scontrol_show("node", node, &status);
	if (!out) {
		printf("retry cannot run scontrol: %s\n", strerror(errno));
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strncmp(out, "NodeName=", 9)) {
		bool unknown = strstr(out, "not found") != NULL;

		out[strcspn(out, "\n")] = '\0';
		printf("%s scontrol show node %s: %s\n", unknown ? "gone" : "retry", node,
		       *out ? out : "failed");
		free(out);
		return;
	}
	cur = line_value(out, "Extra", old, sizeof(old));
	if (extra_form.json)
		n = node_extra_format_json(cur, score, state, extra, sizeof(extra));
	else
		n = node_extra_format(cur, score, state, extra, sizeof(extra));
	if (n < 0) {
		free(out);
		printf("gone node %s: its Extra field is too long to add quorate's words\n", node);
		return;
	}
	/* Extra first: it is what `place` reads, and a node whose Weight or
	 * features cannot be written still gets its score. */
	if (!cur || strcmp(cur, extra)) {
		slurm_init_update_node_msg(&upd);
		upd.node_names = node;
		upd.extra = extra;
		if (slurm_update_node(&upd) != SLURM_SUCCESS) {
			e = errno;
			free(out);
			printf("%s cannot update node %s: %s\n",
			       e == ESLURM_INVALID_NODE_NAME ? "gone" : "retry", node, slurm_strerror(e));
			/* e.g. extra_constraints turned on: slurmctld refuses tokens */
			extra_form.stale = true;
			extra_form.not_before_ms = 0;
			return;
		}
	}
	if (place) {
		char why[512];

		if (place_node(node, out, state, true, score, why, sizeof(why)) < 0) {
			free(out);
			printf("retry %s\n", why);
			return;
		}
	}
	free(out);
	printf("ok\n");
}

/* Each node's site: its feature that starts with prefix. */
static void sites(const char *prefix)
{
	size_t plen = strlen(prefix);
	char *out, features[4096], name[QMSG_NAME_MAX];

	if (!(out = all_nodes()))
		return;
	for (char *p = next_node(out, NULL); p; p = next_node(out, p)) {
		char *tok, *save = NULL;

		if (sscanf(p, "NodeName=%63s", name) != 1 || !qmsg_valid_node(name) ||
		    !line_value(p, "AvailableFeatures", features, sizeof(features)))
			continue;
		for (tok = strtok_r(features, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (!strncmp(tok, prefix, plen) && tok[plen] && qmsg_valid_node(tok + plen)) {
				printf("site %s %s\n", name, tok + plen);
				break;
			}
		}
	}
	free(out);
	printf("end\n");
}

int slurm_helper_main(const char *slurm_conf)
{
	char line[1024];

	signal(SIGPIPE, SIG_DFL);	/* the daemon gone: end quietly */
	/* to stderr, which is quorated's log */
	log_init("quorated slurm helper", &(struct log_options){ .stderr_level = LOG_LEVEL_INFO });
	conf_path = slurm_conf;
	slurm_init(slurm_conf);
	read_extra_form();
	while (fgets(line, sizeof(line), stdin)) {
		char cmd[16], a[QMSG_NAME_MAX], b[QMSG_NAME_MAX], place[8] = "";
		double score;

		if (sscanf(line, "push %63s %lf %63s %7s", a, &score, b, place) >= 3)
			push(a, score, b, !strcmp(place, "place"));
		else if (sscanf(line, "place %lf", &score) == 1)
			place_all(score);
		else if (sscanf(line, "sites %63s", a) == 1)
			sites(a);
		else if (sscanf(line, "%15s", cmd) == 1)
			printf("gone unknown request '%s'\n", cmd);
		fflush(stdout);
	}
	slurm_fini();
	return 0;
}
