/*
 * spank_spool.h - spank_quorate's node-local spool.
 *
 *   DIR/                  root, 0700 (plugstack.conf spool=, quorate.conf SpoolDir)
 *   DIR/JOB.STEP.REPLICA.PART@CLUSTER.json
 *                         one report quorated did not take yet: a
 *                         replica_result item as doc/protocol.md's batch
 *                         carries it (root, 0600); `quorate flush-spool`
 *                         sends and deletes it
 *   DIR/out/JOB.STEP.TASK a running task's stdout (the job's user, 0600)
 *   DIR/rejected/...json  reports quorated refused for good, kept for the admin
 *
 * A record is written to a hidden temporary file and renamed into place,
 * so that a reader never sees half a record; the same report always has
 * the same name, so writing it twice leaves one record.
 */
#ifndef QUORATE_SPANK_SPOOL_H
#define QUORATE_SPANK_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPANK_SPOOL_OUT		"out"
#define SPANK_SPOOL_REJECTED	"rejected"

/* Create DIR, DIR/out and DIR/rejected when missing (0700).  Each must be
 * a directory (not a link) owned by the caller; group or other access is
 * taken away.  0, or -1 with err naming the path. */
int spank_spool_prepare(const char *dir, char *err, size_t errlen);

/* "JOB.STEP.REPLICA.PART@CLUSTER.json" into buf.  0, or -1 if it does not
 * fit or the cluster name is not [A-Za-z0-9_-]*. */
int spank_spool_record_name(char *buf, size_t len, const char *cluster,
			    uint32_t job, uint32_t step, int replica, int part);

/* "DIR/out/JOB.STEP.TASK" into buf.  0, or -1 if it does not fit. */
int spank_spool_output_path(char *buf, size_t len, const char *dir,
			    uint32_t job, uint32_t step, uint32_t task);

/* Write text as DIR/SUBDIR/NAME (subdir NULL: DIR/NAME), mode 0600,
 * atomically (a temporary file, fsync, rename, fsync of the directory).
 * 0, or -1 with err; a failed write leaves no temporary file behind. */
int spank_spool_write(const char *dir, const char *subdir, const char *name,
		      const char *text, size_t len, char *err, size_t errlen);

#endif
