/*
 * contrib_epoch.c - accounting epochs (see contrib_epoch.h).
 */
#include "config.h"

#include <time.h>

#include "contrib_epoch.h"

bool contrib_epoch_length_valid(int64_t length)
{
	if (length < CONTRIB_EPOCH_MIN_LENGTH || length > CONTRIB_EPOCH_MAX_LENGTH)
		return false;
	return 86400 % length == 0 || length % 86400 == 0;
}

int contrib_epoch_of(int64_t t, int64_t length, uint64_t *epoch)
{
	if (!contrib_epoch_length_valid(length) || t < CONTRIB_EPOCH_ORIGIN)
		return -1;
	*epoch = (uint64_t)((t - CONTRIB_EPOCH_ORIGIN) / length);
	return 0;
}

int contrib_epoch_bounds(uint64_t epoch, int64_t length, int64_t *start,
			 int64_t *end)
{
	if (!contrib_epoch_length_valid(length) ||
	    epoch >= (uint64_t)((INT64_MAX - CONTRIB_EPOCH_ORIGIN) / length) - 1)
		return -1;
	*start = CONTRIB_EPOCH_ORIGIN + (int64_t)epoch * length;
	*end = *start + length;
	return 0;
}

bool contrib_epoch_closable(uint64_t epoch, int64_t length, int64_t watermark,
			    int64_t overlap)
{
	int64_t start, end;

	if (overlap < 0 || contrib_epoch_bounds(epoch, length, &start, &end))
		return false;
	return watermark >= end && watermark - end >= overlap;
}

int contrib_time_format(int64_t t, char out[CONTRIB_TIME_LEN + 1])
{
	struct tm tm;
	time_t tt = (time_t)t;

	/* Four-digit years only: anything else is not a time slurmdbd gives. */
	if (t < 0 || t > 253402300799LL || !gmtime_r(&tt, &tm))
		return -1;
	if (strftime(out, CONTRIB_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
	    CONTRIB_TIME_LEN)
		return -1;
	return 0;
}
