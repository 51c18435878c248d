/*
 * contrib_epoch.h - accounting epochs: fixed-length periods of UTC time.
 *
 * Epoch N covers [origin + N * length, origin + (N + 1) * length) in Unix
 * seconds, origin = 1970-01-01T00:00:00Z, so that a number names the same
 * period on every host and after every restart.  The default length is one
 * day (epoch 20414 is 2025-11-22 UTC); a length must divide a day or be a
 * whole number of days, so that epochs start at UTC midnight.  A job counts
 * in the epoch that contains its end time.
 */
#ifndef QUORATE_CONTRIB_EPOCH_H
#define QUORATE_CONTRIB_EPOCH_H

#include <stdbool.h>
#include <stdint.h>

#define CONTRIB_EPOCH_ORIGIN 0			/* 1970-01-01T00:00:00Z */
#define CONTRIB_EPOCH_DEFAULT_LENGTH 86400
#define CONTRIB_EPOCH_MIN_LENGTH 60
#define CONTRIB_EPOCH_MAX_LENGTH (366L * 86400)
#define CONTRIB_TIME_LEN 20			/* "2026-11-22T00:00:00Z" */

/* 60 s .. 366 days, and a divisor or a multiple of 86400. */
bool contrib_epoch_length_valid(int64_t length);

/* The epoch containing time t (t >= origin).  0, or -1 for a time before
 * the origin or an invalid length. */
int contrib_epoch_of(int64_t t, int64_t length, uint64_t *epoch);

/* [start, end) of an epoch.  0, or -1 on an invalid length or overflow. */
int contrib_epoch_bounds(uint64_t epoch, int64_t length, int64_t *start,
			 int64_t *end);

/* Whether epoch may be closed: ingestion is complete up to its end plus
 * the overlap that late slurmdbd records are given (IngestOverlap), i.e.
 * watermark >= end + overlap. */
bool contrib_epoch_closable(uint64_t epoch, int64_t length, int64_t watermark,
			    int64_t overlap);

/* t as "YYYY-MM-DDTHH:MM:SSZ".  0, or -1 when t is not representable. */
int contrib_time_format(int64_t t, char out[CONTRIB_TIME_LEN + 1]);

#endif
