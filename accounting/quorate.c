/*
 * quorate - command-line client of quorated: ping, nodes, verdict, events,
 * send, flush-spool.  Everything goes through qclient (common/qclient.h), as the SPANK
 * plugin's requests do.  Exit statuses are documented in quorate(1).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "conf.h"
#include "hash.h"
#include "qclient.h"
#include "qconf.h"
#include "qmsg.h"
#include "quorate_chain.h"
#include "report.h"
#include "quorate_contrib.h"
#include "reputation.h"

enum exit_code {
	EXIT_OK = 0,		/* success; verdict ACCEPTED */
	EXIT_REFUSED = 1,	/* quorated refused the request (permanent) */
	EXIT_USAGE = 2,		/* bad option, argument or configuration */
	EXIT_UNREACHABLE = 3,	/* quorated unreachable, timed out, or "retry later" */
	EXIT_REJECTED = 4,	/* verdict REJECTED */
	EXIT_PENDING = 5,	/* verdict not decided (yet) */
	EXIT_UNKNOWN = 6,	/* no report for this step */
};

static struct {
	const char *conf_path;
	const char *conf_name;	/* the file read, for messages */
	const char *server;
	bool json;
	int timeout_s;
	struct quorate_conf conf;
	char host[256];
	unsigned port;
} G = { .timeout_s = 10 };

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "quorate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see quorate --help)\n");
	exit(EXIT_USAGE);
}

static void usage(void)
{
	printf("Usage: quorate [OPTIONS] COMMAND [ARGS]\n"
	       "Options:\n"
	       "  -f, --conf FILE        quorate.conf (default $QUORATE_CONF, else %s)\n"
	       "  -s, --server HOST:PORT quorated's address (default from quorate.conf)\n"
	       "  -j, --json             print quorated's answers as JSON\n"
	       "  -t, --timeout SECONDS  per request, 1..3600 (default 10)\n"
	       "  -h, --help             this help\n"
	       "  -V, --version          print the version\n"
	       "Commands:\n"
	       "  ping                            is quorated up? (its health and counters)\n"
	       "  nodes [NODE] [--cluster C]      reputation of every node, or one\n"
	       "  verdict JOB[.STEP] [--wait S] [--output] [--cluster C]\n"
	       "                                  a step's verdict; --output prints the agreed output\n"
	       "  events NODE [--limit N] [--cluster C]\n"
	       "                                  a node's reputation changes, oldest first\n"
	       "  node quarantine|release|reset NODE --reason TEXT [--cluster C]\n"
	       "                                  an admin's decision (root or SlurmUser): hold a\n"
	       "                                  node in quarantine, release it, forget its history\n"
	       "  send [JSON|-]                   send a request as it is; print the answer\n"
	       "  send --credential FILE          send an already-encoded munge credential\n"
	       "  flush-spool [--spool DIR] [--quiet]\n"
	       "                                  send the reports spank_quorate spooled on this\n"
	       "                                  node (default DIR: SpoolDir), delete each once stored\n"
	       "  chain status                    the chain poster: node, account, balance, epochs\n"
	       "  chain verify EPOCH              recompute EPOCH's root from the database and\n"
	       "                                  compare it with the ledger's rootOf(EPOCH)\n"
	       "  report --from DATE --to DATE [--by site|account|user|node] [--format\n"
	       "         table|csv|json|html] [-o FILE] [--cluster C]\n"
	       "                                  usage (slurmdbd) and replica outcomes\n"
	       "  ingest [--since T] [--until T]  finished jobs from slurmdbd into the store\n"
	       "                                  (from the watermark; needs Database access)\n"
	       "  epoch close [--epoch N | --due] close an epoch: records, Merkle root, chain commit;\n"
	       "                                  --due: every epoch a missed run left, oldest first\n"
	       "Exit status: 0 success (verdict ACCEPTED), 1 refused by quorated (chain: an\n"
	       "epoch failed, or a mismatch), 2 usage or configuration error, 3 quorated (chain:\n"
	       "the database or the node) unreachable or busy (try again), 4 REJECTED (chain\n"
	       "verify: not committed yet), 5 PENDING, 6 no such step (chain verify: no such\n"
	       "closed epoch).\n", QCONF_DEFAULT_PATH);
}

/* Configuration and address: -f, $QUORATE_CONF or the default file; -s
 * overrides the address; $QUORATE_MUNGE_SOCKET the munge socket. */
static void load_config(void)
{
	const char *path = G.conf_path;
	bool must = true;
	char err[1024];

	if (!path) {
		path = getenv("QUORATE_CONF");
		if (!path || !*path) {
			path = QCONF_DEFAULT_PATH;
			must = access(path, F_OK) == 0;
		}
	}
	if (must) {
		if (qconf_load(path, &G.conf, err, sizeof(err))) {
			fprintf(stderr, "quorate: error: %s\n", err);
			exit(EXIT_USAGE);
		}
		G.conf_name = path;
	} else if (qconf_defaults(&G.conf)) {
		fprintf(stderr, "quorate: error: out of memory\n");
		exit(EXIT_USAGE);
	}
	snprintf(G.host, sizeof(G.host), "%s", qconf_server_address(&G.conf));
	G.port = (unsigned)G.conf.listen_port;
	if (G.server) {
		const char *colon = strrchr(G.server, ':');
		long port;

		if (!colon || colon == G.server ||
		    conf_parse_long(colon + 1, 1, 65535, &port, err, sizeof(err)))
			die_usage("--server: '%s' is not HOST:PORT (port 1..65535)", G.server);
		snprintf(G.host, sizeof(G.host), "%.*s", (int)(colon - G.server), G.server);
		G.port = (unsigned)port;
	}
}

static struct qclient *connect_client(int extra_timeout_s)
{
	const char *sock = getenv("QUORATE_MUNGE_SOCKET");
	struct qclient_options o = {
		.host = G.host,
		.port = G.port,
		.munge_socket = sock && *sock ? sock : G.conf.munge_socket,
		.io_timeout_ms = (G.timeout_s + extra_timeout_s) * 1000,
		.max_frame = (size_t)G.conf.max_frame,
	};
	struct qclient_error e;
	struct qclient *c = qclient_new(&o, &e);

	if (!c) {
		fprintf(stderr, "quorate: error: %s\n", e.message);
		exit(e.cls == QCLIENT_TRANSIENT ? EXIT_UNREACHABLE : EXIT_USAGE);
	}
	return c;
}

static int fail(const struct qclient_error *e)
{
	fprintf(stderr, "quorate: error: %s (%s)\n", e->message, e->code);
	return e->cls == QCLIENT_TRANSIENT ? EXIT_UNREACHABLE : EXIT_REFUSED;
}

/* Send request; on success *ans is the parsed answer. */
static int call(const char *request, int extra_wait_s, json_object **ans)
{
	struct qclient *c = connect_client(extra_wait_s);
	struct qclient_error e;
	char *text = NULL, why[256];
	enum qclient_class cls = qclient_call(c, request, 0, &text, &e);
	int rc = EXIT_OK;

	qclient_free(c);
	*ans = NULL;
	if (cls != QCLIENT_OK) {
		if (G.json && text)
			printf("%s\n", text);
		free(text);
		return fail(&e);
	}
	*ans = qmsg_parse_object(text, strlen(text), why, sizeof(why));
	if (!*ans) {
		fprintf(stderr, "quorate: error: bad answer from quorated: %s\n", why);
		rc = EXIT_UNREACHABLE;
	}
	free(text);
	return rc;
}

static int call_quorated(const char *request, json_object **ans)
{
	return call(request, 0, ans);
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
}

static json_object *field(json_object *o, const char *name)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, name, &v);
	return v;
}

static const char *sfield(json_object *o, const char *name, const char *dflt)
{
	json_object *v = field(o, name);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}

static double nfield(json_object *o, const char *name, double dflt)
{
	json_object *v = field(o, name);

	return v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) ?
	       json_object_get_double(v) : dflt;
}

static const char *when(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	return buf;
}

/* A request object with v and type, plus string/int fields. */
static json_object *request(enum qmsg_type type)
{
	json_object *o = qmsg_request_new(type);

	if (!o) {
		fprintf(stderr, "quorate: error: out of memory\n");
		exit(EXIT_UNREACHABLE);
	}
	return o;
}

/* ---------------------------------------------------------- commands -- */

static int cmd_ping(int argc, char **argv)
{
	json_object *req, *ans, *cnt;
	int rc;

	if (argc > 1)
		die_usage("ping: unexpected argument '%s'", argv[1]);
	req = request(QMSG_HEALTH);
	rc = call(json_object_to_json_string(req), 0, &ans);
	json_object_put(req);
	if (rc)
		return rc;
	if (G.json) {
		print_json(ans);
	} else {
		cnt = field(ans, "counters");
		printf("quorated %s at %s:%u: cluster %s, database %s, up %.0fs, %s\n",
		       sfield(ans, "version", "?"), G.host, G.port, sfield(ans, "cluster", "?"),
		       sfield(ans, "database", "?"), nfield(ans, "uptime", 0),
		       json_object_get_boolean(field(ans, "privileged")) ? "you may report" :
		       "you may query");
		if (cnt)
			printf("  results stored %.0f, duplicates %.0f, verdicts %.0f accepted / %.0f rejected,"
			       " credentials refused %.0f\n",
			       nfield(cnt, "results_stored", 0), nfield(cnt, "results_duplicate", 0),
			       nfield(cnt, "verdicts_accepted", 0), nfield(cnt, "verdicts_rejected", 0),
			       nfield(cnt, "cred_expired", 0) + nfield(cnt, "cred_rewound", 0) +
			       nfield(cnt, "cred_replayed", 0) + nfield(cnt, "cred_invalid", 0));
	}
	rc = strcmp(sfield(ans, "database", ""), "up") ? EXIT_UNREACHABLE : EXIT_OK;
	if (rc && !G.json)
		fprintf(stderr, "quorate: quorated's database is down: reports are refused\n");
	json_object_put(ans);
	return rc;
}

/* The commands' own options. */
struct cmd_opts {
	const char *cluster;
	const char *wait;	/* verdict */
	const char *limit;	/* events */
	const char *reason;	/* node */
	bool output;		/* verdict */
};

static void parse_cmd_opts(int *argc, char ***argv, const char *cmd, struct cmd_opts *o)
{
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, 'w' },
		{ "limit", required_argument, NULL, 'l' },
		{ "output", no_argument, NULL, 'o' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	bool verdict = !strcmp(cmd, "verdict"), events = !strcmp(cmd, "events");
	bool node = !strcmp(cmd, "node");
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;	/* glibc: start afresh (and permute: options may follow arguments) */
	while ((opt = getopt_long(*argc, *argv, ":c:w:l:or:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (!qmsg_valid_cluster(optarg))
				die_usage("%s: --cluster '%s' is not a cluster name", cmd, optarg);
			o->cluster = optarg;
			break;
		case 'w':
			if (!verdict)
				die_usage("%s: --wait is for verdict only", cmd);
			o->wait = optarg;
			break;
		case 'o':
			if (!verdict)
				die_usage("%s: --output is for verdict only", cmd);
			o->output = true;
			break;
		case 'l':
			if (!events)
				die_usage("%s: --limit is for events only", cmd);
			o->limit = optarg;
			break;
		case 'r':
			if (!node)
				die_usage("%s: --reason is for node only", cmd);
			o->reason = optarg;
			break;
		case ':':
			die_usage("%s: option %s needs a value", cmd, (*argv)[optind - 1]);
		default:
			die_usage("%s: unknown option '%s'", cmd, (*argv)[optind - 1]);
		}
	}
	*argc -= optind;
	*argv += optind;
}

static int cmd_nodes(int argc, char **argv)
{
	struct cmd_opts o;
	json_object *req, *ans, *nodes;
	int rc;

	parse_cmd_opts(&argc, &argv, "nodes", &o);

	if (argc > 1)
		die_usage("nodes: one node name at most");
	if (argc == 1 && !qmsg_valid_node(argv[0]))
		die_usage("nodes: '%s' is not a node name", argv[0]);
	req = request(QMSG_REPUTATION_QUERY);
	if (o.cluster)
		json_object_object_add(req, "cluster", json_object_new_string(o.cluster));
	if (argc == 1)
		json_object_object_add(req, "node", json_object_new_string(argv[0]));
	rc = call(json_object_to_json_string(req), 0, &ans);
	json_object_put(req);
	if (rc)
		return rc;
	if (G.json) {
		print_json(ans);
		json_object_put(ans);
		return EXIT_OK;
	}
	nodes = field(ans, "nodes");
	printf("%-12s %-8s %-11s %6s %8s %8s %8s %8s  %s\n", "NODE", "SITE", "STATE", "SCORE",
	       "AGREE", "DISAGREE", "MISSING", "VERDICTS", "LAST VERDICT");
	for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
		json_object *n = json_object_array_get_idx(nodes, i);
		char t[32];

		printf("%-12s %-8s %-11s %6.1f %8.2f %8.2f %8.2f %8.0f  %s %s\n",
		       sfield(n, "node", "?"), sfield(n, "site", "")[0] ? sfield(n, "site", "") : "-",
		       sfield(n, "state", "?"), nfield(n, "score", 0), nfield(n, "agree", 0),
		       nfield(n, "disagree", 0), nfield(n, "missing", 0), nfield(n, "verdicts", 0),
		       sfield(n, "last_verdict", "-"), when(nfield(n, "last_verdict_at", 0), t, sizeof(t)));
	}
	json_object_put(ans);
	return EXIT_OK;
}

static int parse_jobstep(const char *s, long *job, long *step)
{
	char err[128], buf[64];
	const char *dot = strchr(s, '.');

	*step = 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%.*s", dot ? (int)(dot - s) : (int)strlen(s), s);
	if (conf_parse_long(buf, 1, 4294967295L, job, err, sizeof(err)))
		return -1;
	if (dot && conf_parse_long(dot + 1, 0, 4294967295L, step, err, sizeof(err)))
		return -1;
	return 0;
}

static int cmd_verdict(int argc, char **argv)
{
	struct cmd_opts o;
	json_object *req, *ans, *arr;
	long job, step, wait = 0;
	char v[16], err[128];
	int rc;

	parse_cmd_opts(&argc, &argv, "verdict", &o);

	if (argc != 1)
		die_usage("verdict: give one JOB or JOB.STEP");
	if (parse_jobstep(argv[0], &job, &step))
		die_usage("verdict: '%s' is not JOB or JOB.STEP (numbers)", argv[0]);
	if (o.wait && conf_parse_long(o.wait, 0, QMSG_MAX_WAIT, &wait, err, sizeof(err)))
		die_usage("verdict: --wait: %s (allowed 0..%d seconds)", err, QMSG_MAX_WAIT);
	req = request(QMSG_VERDICT_QUERY);
	if (o.cluster)
		json_object_object_add(req, "cluster", json_object_new_string(o.cluster));
	json_object_object_add(req, "job", json_object_new_int64(job));
	json_object_object_add(req, "step", json_object_new_int64(step));
	if (wait)
		json_object_object_add(req, "wait", json_object_new_int((int)wait));
	json_object_object_add(req, "output", json_object_new_boolean(o.output || G.json));
	rc = call(json_object_to_json_string(req), (int)wait, &ans);
	json_object_put(req);
	if (rc)
		return rc;
	snprintf(v, sizeof(v), "%s", sfield(ans, "verdict", "UNKNOWN"));	/* outlives ans */
	if (G.json) {
		print_json(ans);
	} else if (o.output && !strcmp(v, "ACCEPTED")) {
		arr = field(ans, "parts");
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			const char *b64 = sfield(json_object_array_get_idx(arr, i), "output_b64", NULL);
			char *out;
			size_t len;

			if (b64 && !qmsg_b64_decode(b64, &out, &len)) {
				fwrite(out, 1, len, stdout);
				free(out);
			} else if (!b64) {
				fprintf(stderr, "quorate: part %zu: quorated has no output (too large or not sent)\n", i);
			}
		}
	} else if (!strcmp(v, "UNKNOWN")) {
		printf("%ld.%ld UNKNOWN: no report for this step\n", job, step);
	} else {
		printf("%ld.%ld %s: %s\n", job, step, v,
		       !strcmp(v, "PENDING") ? "waiting for replicas" : sfield(ans, "reason", ""));
		printf("  replicas %.0f, quorum %.0f, reported %.0f, agree %.0f, disagree %.0f, missing %.0f\n",
		       nfield(ans, "replicas", 0), nfield(ans, "quorum", 0), nfield(ans, "reported", 0),
		       nfield(ans, "agree", 0), nfield(ans, "disagree", 0), nfield(ans, "missing", 0));
		if (field(ans, "canonical_replica"))
			printf("  canonical replica %.0f, digest %s\n", nfield(ans, "canonical_replica", 0),
			       sfield(ans, "digest", "?"));
		arr = field(ans, "outcomes");
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			json_object *oc = json_object_array_get_idx(arr, i), *nodes = field(oc, "nodes");

			printf("  replica %.0f: %-8s", nfield(oc, "replica", 0), sfield(oc, "outcome", "?"));
			for (size_t j = 0; nodes && j < json_object_array_length(nodes); j++)
				printf(" %s", json_object_get_string(json_object_array_get_idx(nodes, j)));
			printf("\n");
		}
	}
	json_object_put(ans);
	if (!strcmp(v, "ACCEPTED"))
		return EXIT_OK;
	if (!strcmp(v, "REJECTED"))
		return EXIT_REJECTED;
	if (!strcmp(v, "PENDING"))
		return EXIT_PENDING;
	return EXIT_UNKNOWN;
}

static int cmd_events(int argc, char **argv)
{
	struct cmd_opts o;
	json_object *req, *ans, *arr;
	long limit = 50;
	char err[128];
	int rc;

	parse_cmd_opts(&argc, &argv, "events", &o);

	if (argc != 1)
		die_usage("events: give one NODE");
	if (!qmsg_valid_node(argv[0]))
		die_usage("events: '%s' is not a node name", argv[0]);
	if (o.limit && conf_parse_long(o.limit, 1, QMSG_MAX_EVENTS, &limit, err, sizeof(err)))
		die_usage("events: --limit: %s (allowed 1..%d)", err, QMSG_MAX_EVENTS);
	req = request(QMSG_EVENTS_QUERY);
	if (o.cluster)
		json_object_object_add(req, "cluster", json_object_new_string(o.cluster));
	json_object_object_add(req, "node", json_object_new_string(argv[0]));
	json_object_object_add(req, "limit", json_object_new_int((int)limit));
	rc = call(json_object_to_json_string(req), 0, &ans);
	json_object_put(req);
	if (rc)
		return rc;
	if (G.json) {
		print_json(ans);
		json_object_put(ans);
		return EXIT_OK;
	}
	arr = field(ans, "events");
	printf("%-19s %-16s %-16s %13s  %s\n", "TIME", "KIND", "REASON", "SCORE", "STATE");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *sb = sfield(e, "state_before", "?"), *sa = sfield(e, "state_after", "?");
		char t[32], score[32], state[48];

		snprintf(score, sizeof(score), "%.1f->%.1f", nfield(e, "score_before", 0),
			 nfield(e, "score_after", 0));
		snprintf(state, sizeof(state), "%s%s%s", sb, strcmp(sb, sa) ? "->" : "",
			 strcmp(sb, sa) ? sa : "");
		printf("%-19s %-16s %-16s %13s  %s", when(nfield(e, "at", 0), t, sizeof(t)),
		       sfield(e, "kind", "?"), sfield(e, "reason", ""), score, state);
		if (field(e, "admin_uid"))
			printf("  by uid %.0f", nfield(e, "admin_uid", 0));
		printf("\n");
	}
	json_object_put(ans);
	return EXIT_OK;
}

/* quorate node quarantine|release|reset NODE --reason TEXT: an admin's
 * decision, kept in the node's events with the admin's uid. */
static int cmd_node(int argc, char **argv)
{
	struct cmd_opts o;
	json_object *req, *ans;
	enum rep_admin_action act;
	const char *action;
	char err[128];
	int rc;

	parse_cmd_opts(&argc, &argv, "node", &o);
	if (argc != 2)
		die_usage("node: give an action (quarantine, release or reset) and one NODE");
	action = argv[0];
	if (rep_admin_parse(action, &act))
		die_usage("node: unknown action '%s' (allowed: quarantine, release, reset)", action);
	if (!qmsg_valid_node(argv[1]))
		die_usage("node: '%s' is not a node name", argv[1]);
	if (!o.reason)
		die_usage("node %s: --reason TEXT is required (it is kept in the node's events)", action);
	if (qmsg_check_text(o.reason, QMSG_REASON_MAX, err, sizeof(err)))
		die_usage("node %s: --reason: %s", action, err);
	req = request(QMSG_NODE_ADMIN);
	if (o.cluster)
		json_object_object_add(req, "cluster", json_object_new_string(o.cluster));
	json_object_object_add(req, "node", json_object_new_string(argv[1]));
	json_object_object_add(req, "action", json_object_new_string(action));
	json_object_object_add(req, "reason", json_object_new_string(o.reason));
	rc = call(json_object_to_json_string(req), 0, &ans);
	json_object_put(req);
	if (rc)
		return rc;
	if (G.json)
		print_json(ans);
	else
		printf("%s: %s -> %s (score %.1f)\n", sfield(ans, "node", argv[1]),
		       sfield(ans, "state_before", "?"), sfield(ans, "state_after", "?"),
		       nfield(ans, "score", 0));
	json_object_put(ans);
	return EXIT_OK;
}

static char *read_all(FILE *f, const char *what)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);

		len += n;
		if (n == 0)
			break;
		if (len + 1 == cap) {
			char *grown = cap > (64u << 20) ? NULL : realloc(buf, cap * 2);

			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (!buf) {
		fprintf(stderr, "quorate: error: %s: too large or out of memory\n", what);
		exit(EXIT_USAGE);
	}
	buf[len] = '\0';
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return buf;
}

static int cmd_send(int argc, char **argv)
{
	struct qclient *c;
	struct qclient_error e;
	char *text = NULL, *input;
	enum qclient_class cls;
	int rc;

	if (argc >= 2 && !strcmp(argv[1], "--credential")) {
		FILE *f;

		if (argc != 3)
			die_usage("send --credential: give one FILE");
		f = strcmp(argv[2], "-") ? fopen(argv[2], "r") : stdin;
		if (!f) {
			fprintf(stderr, "quorate: error: %s: %s\n", argv[2], strerror(errno));
			return EXIT_USAGE;
		}
		input = read_all(f, argv[2]);
		if (f != stdin)
			fclose(f);
		c = connect_client(0);
		cls = qclient_send_credential(c, input, &text, &e);
	} else {
		if (argc > 2)
			die_usage("send: give one JSON request, or - to read it from stdin");
		input = argc == 2 && strcmp(argv[1], "-") ? strdup(argv[1]) : read_all(stdin, "stdin");
		if (!input) {
			fprintf(stderr, "quorate: error: out of memory\n");
			return EXIT_UNREACHABLE;
		}
		c = connect_client(0);
		cls = qclient_call(c, input, 0, &text, &e);
	}
	qclient_free(c);
	free(input);
	if (text)
		printf("%s\n", text);
	rc = cls == QCLIENT_OK ? EXIT_OK : fail(&e);
	free(text);
	return rc;
}

/* ------------------------------------------------------- flush-spool -- */

/* spank_quorate's spool (spank_quorate(8)): DIR/NAME.json, each one
 * replica_result item; hidden files are being written. */
struct spooled {
	char *name;
	char *text;
};

static int spooled_cmp(const void *a, const void *b)
{
	return strcmp(((const struct spooled *)a)->name, ((const struct spooled *)b)->name);
}

static bool spool_record_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".json");
}

/* The record's text, or NULL (with a message) when it cannot be read. */
static char *spool_read(int dfd, const char *dir, const char *name, size_t max)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	size_t got = 0;

	if (fd < 0) {
		fprintf(stderr, "quorate: flush-spool: %s/%s: %s\n", dir, name, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		fprintf(stderr, "quorate: flush-spool: %s/%s: not a regular file of at most %zu bytes; left alone\n",
			dir, name, max);
		close(fd);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	while (text && got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!text || got != (size_t)st.st_size) {
		fprintf(stderr, "quorate: flush-spool: %s/%s: cannot read it\n", dir, name);
		free(text);
		return NULL;
	}
	text[got] = '\0';
	return text;
}

struct flush_counts {
	size_t sent, duplicates, rejected, kept;
};

/* A record quorated refused for good goes to DIR/rejected/: kept for the
 * admin, never sent again. */
static void spool_reject(int dfd, const char *dir, const char *name, const struct qclient_ack *a,
			 struct flush_counts *n)
{
	char to[512];

	if (mkdirat(dfd, "rejected", 0700) && errno != EEXIST)
		fprintf(stderr, "quorate: flush-spool: cannot create %s/rejected: %s\n", dir, strerror(errno));
	snprintf(to, sizeof(to), "rejected/%s", name);
	fprintf(stderr, "quorate: flush-spool: %s refused by quorated (%s: %s); moved to %s/rejected\n",
		name, a->code, a->message, dir);
	if (renameat(dfd, name, dfd, to))
		fprintf(stderr, "quorate: flush-spool: cannot move %s: %s\n", name, strerror(errno));
	n->rejected++;
}

/* Send recs[0..m-1] as one batch.  0 when quorated answered (each record
 * deleted, moved or kept by its own answer), else the exit status. */
static int flush_batch(struct qclient *c, int dfd, const char *dir, struct spooled *recs,
		       size_t m, struct flush_counts *n)
{
	const char *items[QCLIENT_MAX_BATCH] = { NULL };
	struct qclient_ack acks[QCLIENT_MAX_BATCH];
	struct qclient_error e;
	enum qclient_class cls;

	for (size_t i = 0; i < m; i++)
		items[i] = recs[i].text;
	cls = qclient_send_items(c, items, m, acks, &e);
	if (cls == QCLIENT_PERMANENT && !strcmp(e.code, "too_large") && m > 1) {
		for (size_t i = 0; i < m; i++) {	/* one by one, then */
			int rc = flush_batch(c, dfd, dir, &recs[i], 1, n);

			if (rc)
				return rc;
		}
		return 0;
	}
	/* Refused as a whole (not authorized, ...): every record stays. */
	if (cls == QCLIENT_TRANSIENT ||
	    (cls == QCLIENT_PERMANENT && strcmp(e.code, "invalid_argument") &&
	     strcmp(e.code, "too_large"))) {
		fprintf(stderr, "quorate: flush-spool: %s (%s); the records stay in %s\n",
			e.message, e.code, dir);
		n->kept += m;
		return cls == QCLIENT_TRANSIENT ? EXIT_UNREACHABLE : EXIT_REFUSED;
	}
	for (size_t i = 0; i < m; i++) {
		if (acks[i].cls == QCLIENT_OK) {
			/* Stored, now or before: delivered either way. */
			if (unlinkat(dfd, recs[i].name, 0))
				fprintf(stderr, "quorate: flush-spool: %s delivered but not deleted: %s\n",
					recs[i].name, strerror(errno));
			n->sent++;
			n->duplicates += acks[i].duplicate;
		} else if (acks[i].cls == QCLIENT_PERMANENT) {
			spool_reject(dfd, dir, recs[i].name, &acks[i], n);
		} else {
			fprintf(stderr, "quorate: flush-spool: %s not taken now (%s: %s); kept\n",
				recs[i].name, acks[i].code, acks[i].message);
			n->kept++;
		}
	}
	return 0;
}

static int cmd_flush_spool(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = G.conf.spool_dir;
	struct flush_counts n = { 0 };
	struct spooled *recs = NULL;
	size_t nrecs = 0, cap = 0, budget, i;
	struct qclient *c = NULL;
	bool quiet = false;
	struct dirent *de;
	int opt, dfd, rc = EXIT_OK;
	DIR *d;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":d:q", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'q': quiet = true; break;
		case ':': die_usage("flush-spool: option %s needs a value", argv[optind - 1]);
		default: die_usage("flush-spool: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("flush-spool: unexpected argument '%s'", argv[optind]);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		if (!quiet)
			printf("quorate: flush-spool: %s does not exist: nothing to send\n", dir);
		return EXIT_OK;
	}
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		fprintf(stderr, "quorate: flush-spool: %s: %s\n", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return EXIT_USAGE;
	}
	while ((de = readdir(d))) {
		char *text;

		if (!spool_record_name(de->d_name))
			continue;
		text = spool_read(dfd, dir, de->d_name, (size_t)G.conf.max_frame);
		if (!text) {
			n.kept++;
			continue;
		}
		if (nrecs == cap) {
			struct spooled *grown = realloc(recs, (cap ? cap * 2 : 64) * sizeof(*recs));

			if (!grown) {
				free(text);
				fprintf(stderr, "quorate: error: out of memory\n");
				rc = EXIT_UNREACHABLE;
				goto out;
			}
			recs = grown;
			cap = cap ? cap * 2 : 64;
		}
		recs[nrecs].name = strdup(de->d_name);
		recs[nrecs].text = text;
		if (!recs[nrecs].name) {
			free(text);
			fprintf(stderr, "quorate: error: out of memory\n");
			rc = EXIT_UNREACHABLE;
			goto out;
		}
		nrecs++;
	}
	if (recs)
		qsort(recs, nrecs, sizeof(*recs), spooled_cmp);
	if (nrecs)
		c = connect_client(0);
	/* Batches of up to 64 records and half a frame: the munge
	 * credential's base64 makes the request a third larger. */
	budget = (size_t)G.conf.max_frame / 2;
	for (i = 0; i < nrecs && rc == EXIT_OK;) {
		size_t m = 0, bytes = 0;

		while (i + m < nrecs && m < QCLIENT_MAX_BATCH &&
		       (m == 0 || bytes + strlen(recs[i + m].text) <= budget))
			bytes += strlen(recs[i + m++].text);
		rc = flush_batch(c, dfd, dir, &recs[i], m, &n);
		i += m;
	}
	if (i < nrecs)
		n.kept += nrecs - i;
	if (rc == EXIT_OK && n.kept)
		rc = EXIT_UNREACHABLE;
	if (rc == EXIT_OK && n.rejected)
		rc = EXIT_REFUSED;
	if (!quiet || rc != EXIT_OK)
		printf("quorate: flush-spool: %s: %zu delivered (%zu already stored), %zu rejected, %zu kept\n",
		       dir, n.sent, n.duplicates, n.rejected, n.kept);
out:
	qclient_free(c);
	for (i = 0; i < nrecs; i++) {
		free(recs[i].name);
		free(recs[i].text);
	}
	free(recs);
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conf", required_argument, NULL, 'f' },
		{ "server", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	char err[128];
	long t;
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:f:s:jt:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': G.conf_path = optarg; break;
		case 's': G.server = optarg; break;
		case 'j': G.json = true; break;
		case 't':
			if (conf_parse_long(optarg, 1, 3600, &t, err, sizeof(err)))
				die_usage("--timeout: %s (allowed 1..3600 seconds)", err);
			G.timeout_s = (int)t;
			break;
		case 'h': usage(); return EXIT_OK;
		case 'V': printf("quorate %s\n", PACKAGE_VERSION); return EXIT_OK;
		case ':': die_usage("option %s needs a value", argv[optind - 1]);
		default: die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		die_usage("no command (allowed: ping, nodes, node, verdict, events, send, flush-spool, chain, "
			  "report, ingest, epoch)");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	/* Global options may also follow the command's own. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			G.json = true;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(char *));
			argc--;
			i--;
		}
	}
	if (strcmp(cmd, "ping") && strcmp(cmd, "nodes") && strcmp(cmd, "node") && strcmp(cmd, "verdict") &&
	    strcmp(cmd, "events") && strcmp(cmd, "send") && strcmp(cmd, "flush-spool") &&
	    strcmp(cmd, "chain") && strcmp(cmd, "report") && strcmp(cmd, "ingest") &&
	    strcmp(cmd, "epoch"))
		die_usage("unknown command '%s' (allowed: ping, nodes, node, verdict, events, send, flush-spool, chain, "
			  "report, ingest, epoch)", cmd);
	load_config();
	if (!strcmp(cmd, "report"))
		rc = cmd_report(argc, argv, &G.conf, G.timeout_s);
	else if (!strcmp(cmd, "chain"))
		rc = quorate_chain_main(argc, argv, &G.conf, G.json, G.timeout_s);
	else if (!strcmp(cmd, "ping"))
		rc = cmd_ping(argc, argv);
	else if (!strcmp(cmd, "nodes"))
		rc = cmd_nodes(argc, argv);
	else if (!strcmp(cmd, "verdict"))
		rc = cmd_verdict(argc, argv);
	else if (!strcmp(cmd, "events"))
		rc = cmd_events(argc, argv);
	else if (!strcmp(cmd, "node"))
		rc = cmd_node(argc, argv);
	else if (!strcmp(cmd, "flush-spool"))
		rc = cmd_flush_spool(argc, argv);
	else if (!strcmp(cmd, "ingest"))
		rc = quorate_cmd_ingest(&G.conf, G.conf_name ? G.conf_name : "quorate.conf",
					G.json, call_quorated, argc, argv);
	else if (!strcmp(cmd, "epoch"))
		rc = quorate_cmd_epoch(&G.conf, G.conf_name ? G.conf_name : "quorate.conf",
				       G.json, argc, argv);
	else
		rc = cmd_send(argc, argv);
	qconf_free(&G.conf);
	return rc;
}
