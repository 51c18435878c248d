/*
 * quorated - quorate's verification and accounting daemon.
 *
 * Start: read quorate.conf, daemonize (the parent exits with the child's
 * start-up status, so that `quorated -f CONF` fails visibly), learn the
 * cluster from slurm.conf, listen, write the pid file, connect to
 * PostgreSQL (migrations), start the modules' threads.  Then the main
 * thread waits for signals: SIGHUP reloads quorate.conf, SIGTERM and
 * SIGINT finish the work in flight and exit.
 */
#define _GNU_SOURCE	/* pipe2, accept4 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "daemon.h"
#include "ingest.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "qconf.h"
#include "slurm_push.h"
#include "store.h"
#include "waiters.h"
#include "work.h"

#define READ_POOL_SIZE 4

struct counters counters;
char local_cluster[QMSG_NAME_MAX] = "default";
atomic_bool daemon_stopping;

static pthread_rwlock_t settings_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct settings current;
static uid_t slurm_user = 0;
static bool have_slurm_user;

/* ----------------------------------------------------------- settings -- */

int settings_from_conf(const struct quorate_conf *conf, struct settings *s,
		       char *err, size_t errlen)
{
	char *users, *tok, *save = NULL;

	memset(s, 0, sizeof(*s));
	s->rep.half_life = (double)conf->half_life;
	s->rep.missing_weight = conf->missing_weight;
	s->rep.min_verdicts = conf->min_verdicts;
	s->rep.trust_above = conf->trust_above;
	s->rep.quarantine_below = conf->quarantine_below;
	s->rep.quarantine_seconds = (double)conf->quarantine_seconds;
	s->rep.probation_below = conf->probation_below;
	s->missing_grace = conf->missing_grace;
	s->max_frame = conf->max_frame;
	s->max_output = conf->max_output;
	s->push_reputation = conf->push_reputation;
	s->epoch_length = conf->epoch_length;
	snprintf(s->site_prefix, sizeof(s->site_prefix), "%s", conf->site_feature_prefix);
	users = strdup(conf->authorized_users ? conf->authorized_users : "");
	if (!users) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(users, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *end;
		long uid = strtol(tok, &end, 10);
		struct passwd *pw;

		if (*end || end == tok) {
			pw = getpwnam(tok);
			if (!pw) {
				log_warning("AuthorizedUsers: no user '%s' on this host; skipped", tok);
				continue;
			}
			uid = (long)pw->pw_uid;
		}
		if (uid < 0 || uid > 0x7fffffffL) {
			snprintf(err, errlen, "AuthorizedUsers: '%s' is not a uid", tok);
			free(users);
			return -1;
		}
		if (s->nauthorized < MAX_AUTHORIZED)
			s->authorized[s->nauthorized++] = (uid_t)uid;
	}
	free(users);
	return 0;
}

void settings_set(const struct settings *s)
{
	pthread_rwlock_wrlock(&settings_lock);
	current = *s;
	pthread_rwlock_unlock(&settings_lock);
}

void settings_get(struct settings *out)
{
	pthread_rwlock_rdlock(&settings_lock);
	*out = current;
	pthread_rwlock_unlock(&settings_lock);
}

void settings_set_slurm_user(uid_t uid)
{
	pthread_rwlock_wrlock(&settings_lock);
	slurm_user = uid;
	have_slurm_user = true;
	pthread_rwlock_unlock(&settings_lock);
}

bool settings_admin(uid_t uid)
{
	bool ok = uid == 0;

	pthread_rwlock_rdlock(&settings_lock);
	if (have_slurm_user && uid == slurm_user)
		ok = true;
	pthread_rwlock_unlock(&settings_lock);
	return ok;
}

bool settings_privileged(uid_t uid)
{
	bool ok = uid == 0;

	pthread_rwlock_rdlock(&settings_lock);
	if (have_slurm_user && uid == slurm_user)
		ok = true;
	for (int i = 0; !ok && i < current.nauthorized; i++)
		ok = current.authorized[i] == uid;
	pthread_rwlock_unlock(&settings_lock);
	return ok;
}

void daemon_thread_init(const char *name)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);

	if (c)
		uselocale(c);	/* kept for the thread's life */
	if (name)
		pthread_setname_np(pthread_self(), name);	/* top -H, perf, gdb */
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* -------------------------------------------------------- daemonizing -- */

static int status_fd = -1;	/* the waiting parent's pipe, until start-up ends */

static void startup_done(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void startup_done(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	msg[0] = (char)status;
	va_start(ap, fmt);
	vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (status_fd >= 0) {
		(void)!write(status_fd, msg, 1 + strlen(msg + 1));
		close(status_fd);
		status_fd = -1;
	}
}

/* Fork into the background.  Returns -1 in the daemon; in the parent, the
 * daemon's start-up status (its error printed), for the parent to exit with. */
static int daemonize(void)
{
	int fds[2], devnull;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		fprintf(stderr, "quorated: error: pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "quorated: error: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		char msg[1024];
		ssize_t n, got = 0;

		close(fds[1]);
		while ((n = read(fds[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0)
			got += n;
		if (got <= 0) {
			fprintf(stderr, "quorated: error: the daemon died while starting (see its log)\n");
			return 1;
		}
		msg[got] = '\0';
		if (msg[0])
			fprintf(stderr, "quorated: error: %s\n", msg + 1);
		return msg[0];
	}
	close(fds[0]);
	status_fd = fds[1];
	if (setsid() < 0)
		exit(1);
	pid = fork();		/* not a session leader: never gets a terminal */
	if (pid < 0)
		exit(1);
	if (pid > 0)
		_exit(0);
	if (chdir("/"))
		exit(1);
	umask(022);
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	return -1;
}

static int pid_fd = -1;

static int write_pidfile(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int n;

	pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (pid_fd < 0) {
		snprintf(err, errlen, "PidFile %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(pid_fd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "PidFile %s is locked: another quorated is running", path);
		close(pid_fd);
		pid_fd = -1;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pid_fd, 0) || pwrite(pid_fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "PidFile %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- config -- */

static int level_of(const char *name, int verbose)
{
	int l = qconf_log_level(name);

	if (l < 0)
		l = LOG_LEVEL_INFO;
	l += verbose;
	return l > LOG_LEVEL_DEBUG2 ? LOG_LEVEL_DEBUG2 : l;
}

static int start_logging(const struct quorate_conf *conf, bool foreground, int verbose)
{
	struct log_options opts = {
		.stderr_level = foreground ? (enum log_level)level_of(conf->log_level, verbose) :
					     LOG_LEVEL_QUIET,
		.file_level = (enum log_level)level_of(conf->log_level, verbose),
		.syslog_level = (enum log_level)level_of(conf->syslog_level, 0),
		.file = conf->log_file,
	};

	return log_init("quorated", &opts);
}

/* SIGHUP: load again; what can change at run time changes now. */
static void reload(const char *path, struct quorate_conf *conf, bool foreground, int verbose)
{
	struct quorate_conf fresh;
	struct settings s;
	char err[1024];

	if (qconf_load(path, &fresh, err, sizeof(err))) {
		log_error("reload: %s (keeping the running configuration)", err);
		return;
	}
	if (settings_from_conf(&fresh, &s, err, sizeof(err))) {
		log_error("reload: %s (keeping the running configuration)", err);
		qconf_free(&fresh);
		return;
	}
#define SAME_STR(f) (!conf->f == !fresh.f && (!conf->f || !strcmp(conf->f, fresh.f)))
	if (!SAME_STR(listen_address) || conf->listen_port != fresh.listen_port ||
	    !SAME_STR(database) || !SAME_STR(munge_socket) || !SAME_STR(slurm_conf) ||
	    !SAME_STR(pid_file) || conf->worker_threads != fresh.worker_threads)
		log_warning("reload: ListenAddress, ListenPort, Database, MungeSocket, SlurmConf, "
			    "PidFile and WorkerThreads take effect at the next start");
	if (!SAME_STR(chain_rpc) || !SAME_STR(chain_deployment) || !SAME_STR(chain_key_file) ||
	    !SAME_STR(chain_ca_file) || conf->confirmations != fresh.confirmations ||
	    conf->chain_poll != fresh.chain_poll || conf->chain_resend != fresh.chain_resend ||
	    conf->chain_max_fee_gwei != fresh.chain_max_fee_gwei)
		log_warning("reload: the Chain* keys and Confirmations take effect at the next start");
#undef SAME_STR
	settings_set(&s);
	if (start_logging(&fresh, foreground, verbose))
		log_error("reload: LogFile %s: %s", fresh.log_file, strerror(errno));
	log_info("reloaded %s: HalfLife=%lds MinVerdicts=%ld TrustAbove=%g QuarantineBelow=%g "
		 "ProbationBelow=%g MissingGrace=%lds", path, fresh.half_life, fresh.min_verdicts,
		 fresh.trust_above, fresh.quarantine_below, fresh.probation_below,
		 fresh.missing_grace);
	/* Keep the start-up values of what needs a restart. */
	{
		struct quorate_conf old = *conf;

		*conf = fresh;
#define KEEP(f) do { char *t = conf->f; conf->f = old.f; old.f = t; } while (0)
		KEEP(listen_address); KEEP(database); KEEP(munge_socket); KEEP(slurm_conf);
		KEEP(pid_file);
#undef KEEP
		conf->listen_port = old.listen_port;
		conf->worker_threads = old.worker_threads;
		qconf_free(&old);
	}
}

/* --------------------------------------------------------------- main -- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: quorated [-D] [-f FILE] [-t] [-v]... [-h] [-V]\n"
		"  -D        stay in the foreground (log to stderr too)\n"
		"  -f FILE   configuration (default $QUORATE_CONF, else %s)\n"
		"  -t        check the configuration and exit\n"
		"  -v        more verbose logging (repeatable)\n"
		"  -h        this help\n"
		"  -V        print the version\n", QCONF_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	const char *path = getenv("QUORATE_CONF");
	struct quorate_conf conf;
	struct settings s;
	bool foreground = false, check_only = false;
	char err[1024], user[64];
	sigset_t sigs;
	int opt, verbose = 0, rc = 0;

	/* The libslurm helper that slurm_push.c starts (not for people). */
	if (argc == 3 && !strcmp(argv[1], "--slurm-helper"))
		return slurm_helper_main(argv[2]);
	if (!path || !*path)
		path = QCONF_DEFAULT_PATH;
	daemon_thread_init(NULL);
	opterr = 0;
	while ((opt = getopt(argc, argv, ":Df:tvhV")) != -1) {
		switch (opt) {
		case 'D': foreground = true; break;
		case 't': check_only = true; break;
		case 'f': path = optarg; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("quorated %s\n", PACKAGE_VERSION); return 0;
		case ':':
			fprintf(stderr, "quorated: option -%c needs a value\n", optopt);
			usage(stderr);
			return 2;
		default:
			fprintf(stderr, "quorated: unknown option -%c (allowed: -D, -f FILE, -t, -v, -h, -V)\n",
				optopt);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "quorated: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (qconf_load(path, &conf, err, sizeof(err))) {
		fprintf(stderr, "quorated: error: %s\n", err);
		return 1;
	}
	if (check_only) {
		char summary[1024];

		/* The chain's key and deployment files too: an admin who
		 * configured a chain wants to know now, not at the first epoch. */
		if (chain_check(&conf, summary, sizeof(summary), err, sizeof(err))) {
			fprintf(stderr, "quorated: error: %s: %s\n", path, err);
			qconf_free(&conf);
			return 1;
		}
		printf("quorated: %s is valid\nquorated: %s\n", path, summary);
		qconf_free(&conf);
		return 0;
	}
	if (start_logging(&conf, foreground, verbose)) {
		fprintf(stderr, "quorated: error: LogFile %s: %s\n", conf.log_file, strerror(errno));
		qconf_free(&conf);
		return 1;
	}
	if (settings_from_conf(&conf, &s, err, sizeof(err))) {
		fprintf(stderr, "quorated: error: %s: %s\n", path, err);
		qconf_free(&conf);
		return 1;
	}
	settings_set(&s);
	if (!foreground) {
		int status = daemonize();

		if (status >= 0) {	/* the parent */
			log_fini();
			qconf_free(&conf);
			return status;
		}
	}

	/* Every thread inherits this mask; the main thread takes the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (slurm_conf_peek(conf.slurm_conf, local_cluster, sizeof(local_cluster),
			    user, sizeof(user), err, sizeof(err))) {
		log_warning("%s: reports without a cluster go to cluster '%s'", err, "default");
		snprintf(local_cluster, sizeof(local_cluster), "default");
	} else {
		struct passwd *pw = user[0] ? getpwnam(user) : NULL;

		if (!local_cluster[0] || !qmsg_valid_cluster(local_cluster)) {
			log_warning("%s: no usable ClusterName; using 'default'", conf.slurm_conf);
			snprintf(local_cluster, sizeof(local_cluster), "default");
		}
		if (pw)
			settings_set_slurm_user(pw->pw_uid);
		else if (user[0])
			log_warning("%s: SlurmUser %s is not a user on this host", conf.slurm_conf, user);
	}
	if ((conf.push_reputation || conf.push_placement) &&
	    slurm_push_init(conf.slurm_conf, conf.log_file, err, sizeof(err)))
		log_error("%s: node reputations will not be pushed to slurmctld", err);
	else if (conf.push_placement)
		slurm_push_placement(conf.trust_above, conf.placement_interval);

	if (listener_init(conf.listen_address, conf.listen_port, err, sizeof(err)) ||
	    metrics_init(conf.metrics_address, conf.metrics_port, conf.database, err, sizeof(err)) ||
	    (conf.pid_file && write_pidfile(conf.pid_file, err, sizeof(err)))) {
		log_error("%s", err);
		startup_done(1, "%s", err);
		rc = 1;
		goto out;
	}
	if (store_pool_init(conf.database, READ_POOL_SIZE) ||
	    ingest_init(conf.database, err, sizeof(err))) {
		log_error("database: %s", err);
		startup_done(1, "database: %s", err);
		ingest_stop();
		rc = 1;
		goto out;
	}
	/* A chain configured but unusable (key file, deployment file) stops
	 * the start: quorated would otherwise run without posting. */
	if (chain_init(&conf, err, sizeof(err))) {
		log_error("chain: %s", err);
		startup_done(1, "chain: %s", err);
		ingest_stop();
		rc = 1;
		goto out;
	}
	err[0] = '\0';
	if (waiters_start() || ingest_start() || slurm_push_start() || metrics_start() ||
	    chain_start() ||
	    work_init((int)conf.worker_threads, conf.munge_socket, err, sizeof(err))) {
		log_error("cannot start: %s", err[0] ? err : strerror(errno));
		startup_done(1, "cannot start threads");
		rc = 1;
		atomic_store(&daemon_stopping, true);
		goto stop;
	}
	log_info("quorated %s started: cluster %s, listening on %s:%ld, %ld workers", PACKAGE_VERSION,
		 local_cluster, conf.listen_address, conf.listen_port, conf.worker_threads);
	startup_done(0, "%s", "");

	for (;;) {
		struct timespec one = { .tv_sec = 1 };
		int sig = sigtimedwait(&sigs, NULL, &one);

		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading %s", path);
			reload(path, &conf, foreground, verbose);
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: finishing the work in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
		work_tick();
	}

	atomic_store(&daemon_stopping, true);
stop:
	listener_stop();	/* no new requests */
	work_fini();		/* the requests in hand */
	ingest_stop();		/* commit and answer what is queued */
	waiters_stop();		/* "retry_later" to whoever still waits */
	slurm_push_stop();
	metrics_stop();
	chain_stop();		/* the poster's step in hand, then the key wiped */
	log_info("quorated stopped");
out:
	metrics_stop();		/* nothing when stopped above or never started */
	listener_fini();
	store_pool_fini();
	if (conf.pid_file && pid_fd >= 0) {
		unlink(conf.pid_file);
		close(pid_fd);
	}
	log_fini();
	qconf_free(&conf);
	return rc;
}
