/*
 * log.c - see log.h.  Thread-safe: one mutex around the destinations.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char ident[64];
	struct log_options opts;
	char *file_path;
	FILE *file;
	bool syslog_open;
} logger = {
	.ident = "quorate",
	.opts = { .stderr_level = LOG_LEVEL_INFO },
};

static const char *level_prefix(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return "error: ";
	case LOG_LEVEL_WARNING: return "warning: ";
	case LOG_LEVEL_DEBUG: return "debug: ";
	case LOG_LEVEL_DEBUG2: return "debug2: ";
	default: return "";
	}
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return LOG_ERR;
	case LOG_LEVEL_WARNING: return LOG_WARNING;
	case LOG_LEVEL_INFO: return LOG_INFO;
	default: return LOG_DEBUG;
	}
}

static FILE *open_file(const char *path)
{
	FILE *f = fopen(path, "ae");

	if (f)
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

int log_init(const char *ident, const struct log_options *opts)
{
	int rv = 0;

	pthread_mutex_lock(&log_lock);
	snprintf(logger.ident, sizeof(logger.ident), "%s", ident);
	logger.opts = *opts;
	if (logger.file) {
		fclose(logger.file);
		logger.file = NULL;
	}
	free(logger.file_path);
	logger.file_path = NULL;
	if (opts->file && opts->file_level > LOG_LEVEL_QUIET) {
		logger.file_path = strdup(opts->file);
		logger.file = open_file(opts->file);
		if (!logger.file || !logger.file_path)
			rv = -1;
	}
	logger.opts.file = NULL;	/* the copy in file_path is ours */
	if (opts->syslog_level > LOG_LEVEL_QUIET && !logger.syslog_open) {
		openlog(logger.ident, LOG_PID, LOG_DAEMON);
		logger.syslog_open = true;
	}
	pthread_mutex_unlock(&log_lock);
	return rv;
}

int log_reopen(void)
{
	int rv = 0;

	pthread_mutex_lock(&log_lock);
	if (logger.file_path) {
		FILE *f = open_file(logger.file_path);

		if (f) {
			if (logger.file)
				fclose(logger.file);
			logger.file = f;
		} else {
			rv = -1;
		}
	}
	pthread_mutex_unlock(&log_lock);
	return rv;
}

void log_fini(void)
{
	pthread_mutex_lock(&log_lock);
	if (logger.file)
		fclose(logger.file);
	logger.file = NULL;
	free(logger.file_path);
	logger.file_path = NULL;
	if (logger.syslog_open)
		closelog();
	logger.syslog_open = false;
	pthread_mutex_unlock(&log_lock);
}

void log_set_stderr_level(enum log_level level)
{
	pthread_mutex_lock(&log_lock);
	logger.opts.stderr_level = level;
	pthread_mutex_unlock(&log_lock);
}

bool log_enabled(enum log_level level)
{
	return level <= logger.opts.stderr_level ||
	       (logger.file && level <= logger.opts.file_level) ||
	       (logger.syslog_open && level <= logger.opts.syslog_level);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[4096], stamp[40];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int saved_errno = errno;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	pthread_mutex_lock(&log_lock);
	if (level <= logger.opts.stderr_level)
		fprintf(stderr, "%s: %s%s\n", logger.ident, level_prefix(level), msg);
	if (logger.file && level <= logger.opts.file_level)
		fprintf(logger.file, "[%s.%03ld] %s%s\n", stamp,
			(long)tv.tv_usec / 1000, level_prefix(level), msg);
	if (logger.syslog_open && level <= logger.opts.syslog_level)
		syslog(syslog_priority(level), "%s%s", level_prefix(level), msg);
	pthread_mutex_unlock(&log_lock);
	errno = saved_errno;
}
