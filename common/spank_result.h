/*
 * spank_result.h - what a task's result is, as spank_quorate hashes it.
 *
 * --verify=stdout: the bytes the task wrote to its standard output; the
 * SHA-256 is the plain digest of those bytes (sha256sum's).
 *
 * --verify=PATH[,PATH...]: the named files, in the order given.  Each file
 * is present (a regular file the job's user could open), absent (ENOENT or
 * ENOTDIR: the task did not write it) or unreadable (any other error, or not
 * a regular file); a file that is not there is a result like any other, so
 * replicas agree when they miss the same file.  The SHA-256 is that of
 *
 *     "quorate-verify-files-v1\n"
 *     then for each file: PATH '\0' 'F' SHA-256(content)   (present)
 *                         PATH '\0' 'A'                     (absent)
 *                         PATH '\0' 'U'                     (unreadable)
 *
 * with PATH as the user wrote it (before %r and %p are replaced).  The output (what quorated compares in
 * numeric mode and srun prints) is stdout, or the present files' contents
 * one after the other; it is kept only up to max_output bytes.
 *
 * Pure functions over open file descriptors; nothing logs.
 */
#ifndef QUORATE_SPANK_RESULT_H
#define QUORATE_SPANK_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPANK_FILES_MAGIC "quorate-verify-files-v1\n"

struct spank_result {
	uint8_t sha256[32];
	uint64_t size;		/* bytes read: stdout, or the present files' */
	char *output;		/* when asked for and size <= max_output, else NULL */
	size_t output_len;
};

/* Read fd to its end and hash it.  With want_output, the bytes are kept
 * in r->output when there are at most max_output of them.  0, or -1 with
 * err (read error, out of memory); r is then empty. */
int spank_result_of_fd(int fd, bool want_output, size_t max_output,
		       struct spank_result *r, char *err, size_t errlen);

enum spank_file_state {
	SPANK_FILE_PRESENT,
	SPANK_FILE_ABSENT,
	SPANK_FILE_UNREADABLE,
};

struct spank_file {
	const char *path;		/* as given to --verify */
	enum spank_file_state state;
	int fd;				/* open for reading when present */
};

/* The state of a file that could not be opened, from open()'s errno. */
enum spank_file_state spank_file_state_of_errno(int err);

/* Hash the files (each fd read to its end; not closed).  0, or -1 with err
 * (a read error, out of memory). */
int spank_result_of_files(const struct spank_file *files, size_t n,
			  bool want_output, size_t max_output,
			  struct spank_result *r, char *err, size_t errlen);

void spank_result_free(struct spank_result *r);

/* The SHA-256 of a --verify=PATH,... result in which every file is absent:
 * what replicas that wrote none of them agree on.  0, or -1 (ENOMEM). */
int spank_result_absent_digest(const char *verify, uint8_t digest[32]);

/* --verify's comma-separated value as an array of n paths (one malloc'd
 * block: free(*paths) frees all).  0 or -1 (ENOMEM, or an empty path). */
int spank_verify_paths(const char *verify, char ***paths, size_t *n);

/* A --verify path for one part: %r is the replica, %p the part, %% a %.
 * Replicas on a shared file system write their own files this way; the
 * hash names the path as written, so they still agree.  0, or -1 when it
 * does not fit in len or has another %. */
int spank_verify_expand(const char *pattern, unsigned replica, unsigned part,
			char *out, size_t len);

#endif
