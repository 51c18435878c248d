/*
 * fuzz_qconf - libFuzzer target for quorate.conf parsing
 * (qconf_load_buffer: conf.c's Key=Value lines, every key's value parser,
 * the cross-key checks).
 *
 * Properties checked (abort on violation): a refused file names
 * "fuzz.conf:LINE: " or "fuzz.conf: " in its error; an accepted one has
 * every string the daemon dereferences set and the numeric keys in the
 * ranges quorate.conf(5) gives.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qconf.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quorate_conf conf;
	char err[512] = "";

	if (qconf_load_buffer("fuzz.conf", (const char *)data, size, &conf, err, sizeof(err))) {
		check(!strncmp(err, "fuzz.conf:", 10));
		return 0;
	}
	check(conf.listen_address && conf.database && conf.site_feature_prefix &&
	      conf.site_feature_prefix[0]);
	check(conf.max_frame > 0 && conf.max_output >= 0 && conf.max_output <= conf.max_frame);
	check(conf.listen_port >= 1 && conf.listen_port <= 65535);
	check(conf.metrics_port >= 0 && conf.metrics_port <= 65535);
	check(conf.worker_threads >= 1 && conf.worker_threads <= 256);
	check(conf.missing_grace >= 0 && conf.half_life >= 60);
	check(conf.trust_above >= 0 && conf.trust_above <= 100);
	check(conf.quarantine_below >= 0 && conf.quarantine_below <= conf.trust_above);
	check(conf.missing_weight >= 0 && conf.missing_weight <= 1);
	check(qconf_server_address(&conf) != NULL);
	check(qconf_log_level(conf.log_level) >= 0);
	qconf_free(&conf);
	return 0;
}
