/*
 * conf.c - strict "Key=Value" configuration parsing (see conf.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

/* Largest configuration file we read: quorate.conf is a few hundred lines. */
#define CONF_MAX_FILE (4L * 1024 * 1024)
#define CONF_MAX_LINE 4096

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

int conf_parse_long(const char *s, long min, long max, long *out,
		    char *err, size_t errlen)
{
	char *end;
	long v;

	if (!s || !*s) {
		set_err(err, errlen, "empty value, expected an integer");
		return -1;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || isspace((unsigned char)*s)) {
		set_err(err, errlen, "'%s' is not an integer", s);
		return -1;
	}
	if (v < min || v > max) {
		set_err(err, errlen, "%ld is out of range (%ld..%ld)", v, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int conf_parse_double(const char *s, double min, double max, double *out,
		      char *err, size_t errlen)
{
	char *end;
	double v;

	if (!s || !*s) {
		set_err(err, errlen, "empty value, expected a number");
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || isspace((unsigned char)*s) || !isfinite(v)) {
		set_err(err, errlen, "'%s' is not a number", s);
		return -1;
	}
	if (v < min || v > max) {
		set_err(err, errlen, "%g is out of range (%g..%g)", v, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int conf_parse_bool(const char *s, bool *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (s && !strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (s && !strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	set_err(err, errlen, "'%s' is not a boolean (yes/no)", s ? s : "");
	return -1;
}

/* A non-negative integer followed by at most one unit suffix. */
static int parse_scaled(const char *s, const char *units, const long *scale,
			const char *what, long *out, char *err, size_t errlen)
{
	char *end;
	long v, mult = 1;

	if (!s || !isdigit((unsigned char)*s)) {
		set_err(err, errlen, "'%s' is not %s", s ? s : "", what);
		return -1;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno) {
		set_err(err, errlen, "'%s' is too large", s);
		return -1;
	}
	if (*end) {
		const char *u = strchr(units, toupper((unsigned char)*end));

		if (!u || end[1]) {
			set_err(err, errlen, "'%s' is not %s", s, what);
			return -1;
		}
		mult = scale[u - units];
	}
	if (v > LONG_MAX / mult) {
		set_err(err, errlen, "'%s' is too large", s);
		return -1;
	}
	*out = v * mult;
	return 0;
}

int conf_parse_seconds(const char *s, long *out, char *err, size_t errlen)
{
	static const long scale[] = { 1, 60, 3600, 86400 };

	return parse_scaled(s, "SMHD", scale,
			    "a duration (seconds, or N with s/m/h/d)",
			    out, err, errlen);
}

int conf_parse_bytes(const char *s, long *out, char *err, size_t errlen)
{
	static const long scale[] = { 1024L, 1024L * 1024, 1024L * 1024 * 1024 };

	return parse_scaled(s, "KMG", scale, "a size (bytes, or N with K/M/G)",
			    out, err, errlen);
}

static const struct conf_key *find_key(const struct conf_key *keys,
				       const char *name)
{
	for (const struct conf_key *k = keys; k->name; k++)
		if (!strcasecmp(k->name, name))
			return k;
	return NULL;
}

static int set_value(const struct conf_key *k, void *dst, const char *value,
		     char *err, size_t errlen)
{
	char *field = (char *)dst + k->offset;
	bool bounded = k->min <= k->max;
	long l;
	double d;

	switch (k->type) {
	case CONF_STRING: {
		char *copy = strdup(value);

		if (!copy) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case CONF_INT:
		if (conf_parse_long(value, bounded ? (long)k->min : LONG_MIN,
				    bounded ? (long)k->max : LONG_MAX, &l,
				    err, errlen))
			return -1;
		*(long *)field = l;
		return 0;
	case CONF_DOUBLE:
		if (conf_parse_double(value, bounded ? k->min : -HUGE_VAL,
				      bounded ? k->max : HUGE_VAL, &d,
				      err, errlen))
			return -1;
		*(double *)field = d;
		return 0;
	case CONF_BOOL:
		return conf_parse_bool(value, (bool *)field, err, errlen);
	case CONF_SECONDS:
	case CONF_BYTES:
		if ((k->type == CONF_SECONDS ?
		     conf_parse_seconds(value, &l, err, errlen) :
		     conf_parse_bytes(value, &l, err, errlen)))
			return -1;
		if (bounded && (l < k->min || l > k->max)) {
			set_err(err, errlen, "%ld is out of range (%ld..%ld)",
				l, (long)k->min, (long)k->max);
			return -1;
		}
		*(long *)field = l;
		return 0;
	case CONF_CALLBACK:
		return k->set(dst, k, value, err, errlen);
	}
	set_err(err, errlen, "internal error: key type %d", (int)k->type);
	return -1;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Unquote "..." in place; a quoted value may contain '#' and spaces. */
static int unquote(char *v, char *why, size_t whylen)
{
	size_t n = strlen(v);

	if (n && v[0] == '"') {
		if (n < 2 || v[n - 1] != '"') {
			set_err(why, whylen, "unterminated quote");
			return -1;
		}
		memmove(v, v + 1, n - 2);
		v[n - 2] = '\0';
	}
	return 0;
}

/* Cut a line at a '#' that is outside double quotes. */
static void strip_comment(char *line)
{
	bool quoted = false;

	for (char *p = line; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '#' && !quoted) {
			*p = '\0';
			return;
		}
	}
}

int conf_parse_buffer(const char *name, const char *buf, size_t len,
		      const struct conf_key *keys, void *dst,
		      char *err, size_t errlen)
{
	size_t nkeys = 0, pos = 0;
	unsigned lineno = 0;
	unsigned char *seen;
	char line[CONF_MAX_LINE + 1];
	char why[256];
	int rv = -1;

	while (keys[nkeys].name)
		nkeys++;
	seen = calloc(nkeys + 1, 1);
	if (!seen) {
		set_err(err, errlen, "%s: out of memory", name);
		return -1;
	}

	while (pos < len) {
		size_t start = pos, n;
		char *key, *value, *eq;
		const struct conf_key *k;

		while (pos < len && buf[pos] != '\n')
			pos++;
		n = pos - start;
		pos++;			/* past the newline */
		lineno++;
		if (n > CONF_MAX_LINE) {
			set_err(err, errlen, "%s:%u: line longer than %d bytes",
				name, lineno, CONF_MAX_LINE);
			goto fail;
		}
		memcpy(line, buf + start, n);
		line[n] = '\0';
		if (memchr(line, '\0', n)) {
			set_err(err, errlen, "%s:%u: NUL byte in line", name, lineno);
			goto fail;
		}
		strip_comment(line);
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			set_err(err, errlen, "%s:%u: expected Key=Value, got '%s'",
				name, lineno, key);
			goto fail;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if (!*key) {
			set_err(err, errlen, "%s:%u: missing key before '='",
				name, lineno);
			goto fail;
		}
		k = find_key(keys, key);
		if (!k) {
			set_err(err, errlen, "%s:%u: unknown key '%s'",
				name, lineno, key);
			goto fail;
		}
		if (seen[k - keys] && !k->repeatable) {
			set_err(err, errlen, "%s:%u: %s given twice",
				name, lineno, k->name);
			goto fail;
		}
		seen[k - keys] = 1;
		if (unquote(value, why, sizeof(why)) ||
		    set_value(k, dst, value, why, sizeof(why))) {
			set_err(err, errlen, "%s:%u: %s: %s", name, lineno,
				k->name, why);
			goto fail;
		}
	}
	rv = 0;
fail:
	free(seen);
	return rv;
}

int conf_parse_file(const char *path, const struct conf_key *keys, void *dst,
		    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rv = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONF_MAX_FILE) {
		set_err(err, errlen, "%s: not a regular file of at most %ld bytes",
			path, CONF_MAX_FILE);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		set_err(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	rv = conf_parse_buffer(path, buf, got, keys, dst, err, errlen);
fail:
	free(buf);
	close(fd);
	return rv;
}

void conf_free(const struct conf_key *keys, void *dst)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		if (k->type == CONF_STRING) {
			char **field = (char **)((char *)dst + k->offset);

			free(*field);
			*field = NULL;
		}
	}
}
