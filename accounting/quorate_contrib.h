/*
 * quorate_contrib.h - the contribution commands of quorate(1): `ingest`
 * (finished jobs from slurmdbd into the store) and `epoch close`.  They work
 * on the store directly (Database= of quorate.conf) and on slurmdbd, not
 * through quorated: they are the site administrator's, run where quorated
 * runs, by hand or from a timer.  Exit statuses as in quorate(1).
 * One exception: with NodeFailMissing=yes, ingest also tells quorated of
 * the nodes Slurm set DOWN under a job that ended NODE_FAIL, through the
 * caller's `call` (a request's JSON; 0 and the answer, or an exit status
 * after saying why).
 */
#ifndef QUORATE_CONTRIB_CLI_H
#define QUORATE_CONTRIB_CLI_H

#include <stdbool.h>

#include <json-c/json.h>

#include "qconf.h"

typedef int (*quorate_call_fn)(const char *request, json_object **answer);

int quorate_cmd_ingest(const struct quorate_conf *conf, const char *conf_name,
		       bool json, quorate_call_fn call, int argc, char **argv);
int quorate_cmd_epoch(const struct quorate_conf *conf, const char *conf_name,
		      bool json, int argc, char **argv);

#endif
