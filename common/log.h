/*
 * log.h - logging for quorate's daemons and command-line tools, in the manner
 * of Slurm's daemons: "[2026-11-22T03:09:00.123] error: ..." to a file, to
 * stderr and/or to syslog.  The Slurm plugins log through Slurm instead, and
 * the pure policy code in common/ does not log at all.
 */
#ifndef QUORATE_LOG_H
#define QUORATE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_QUIET = 0,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_VERBOSE,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_DEBUG2,
};

struct log_options {
	enum log_level stderr_level;	/* LOG_LEVEL_QUIET: nothing to stderr */
	enum log_level file_level;
	enum log_level syslog_level;
	const char *file;		/* NULL: no log file */
};

/* Start logging as IDENT (the program name).  Returns 0, or -1 with errno
 * when the log file cannot be opened (messages still go to stderr). */
int log_init(const char *ident, const struct log_options *opts);

/* Reopen the log file (after logrotate; SIGHUP). */
int log_reopen(void);
void log_fini(void);

/* Raise or lower every destination's level (e.g. -v on the command line). */
void log_set_stderr_level(enum log_level level);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_LEVEL_VERBOSE, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_debug2(...)  log_msg(LOG_LEVEL_DEBUG2, __VA_ARGS__)

#endif
