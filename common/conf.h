/*
 * conf.h - quorate.conf and friends: "Key=Value" lines as in slurm.conf.
 *
 * Keys are matched case-insensitively against a table the caller supplies;
 * values are stored into the caller's struct at each key's offset.  Unknown
 * keys, bad values and duplicates are errors reported as "FILE:LINE: ...".
 * Nothing here logs or exits: the caller decides what an error means.
 */
#ifndef QUORATE_CONF_H
#define QUORATE_CONF_H

#include <stddef.h>
#include <stdbool.h>

enum conf_type {
	CONF_STRING,	/* char *, strdup'd; conf_free() releases it */
	CONF_INT,	/* long, within [min, max] */
	CONF_DOUBLE,	/* double, within [min, max] */
	CONF_BOOL,	/* bool: yes/no, true/false, on/off, 1/0 */
	CONF_SECONDS,	/* long seconds; suffixes s, m, h, d accepted */
	CONF_BYTES,	/* long bytes; suffixes K, M, G (powers of 1024) */
	CONF_CALLBACK,	/* the key's set() parses the value itself */
};

struct conf_key;
typedef int (*conf_set_fn)(void *dst, const struct conf_key *key,
			   const char *value, char *err, size_t errlen);

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;		/* of the field in the destination struct */
	double min, max;	/* numeric bounds, inclusive; ignored if min > max */
	conf_set_fn set;	/* CONF_CALLBACK only */
	bool repeatable;	/* may appear more than once (callbacks only) */
};

/* Parse a buffer that came from NAME.  Returns 0, or -1 with "NAME:LINE: why"
 * in err.  Later settings of a key override nothing: a duplicate is an error
 * unless the key is repeatable. */
int conf_parse_buffer(const char *name, const char *buf, size_t len,
		      const struct conf_key *keys, void *dst,
		      char *err, size_t errlen);

/* Read and parse PATH.  A missing or unreadable file is an error too. */
int conf_parse_file(const char *path, const struct conf_key *keys, void *dst,
		    char *err, size_t errlen);

/* Free the CONF_STRING fields of dst and set them to NULL. */
void conf_free(const struct conf_key *keys, void *dst);

/* Value parsers, also used by command-line options and plugin arguments.
 * Each returns 0, or -1 with a short reason (no file:line) in err. */
int conf_parse_long(const char *s, long min, long max, long *out,
		    char *err, size_t errlen);
int conf_parse_double(const char *s, double min, double max, double *out,
		      char *err, size_t errlen);
int conf_parse_bool(const char *s, bool *out, char *err, size_t errlen);
int conf_parse_seconds(const char *s, long *out, char *err, size_t errlen);
int conf_parse_bytes(const char *s, long *out, char *err, size_t errlen);

#endif
