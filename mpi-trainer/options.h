/*
 * options.h - quorate-train's command line: every option, its default, and
 * the checks that refuse a bad value with the option's name and what is
 * allowed.
 */
#ifndef QUORATE_TRAIN_OPTIONS_H
#define QUORATE_TRAIN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "adapt.h"
#include "allreduce.h"
#include "linkemu.h"
#include "model.h"
#include "optim.h"

/* --peer-timeout: longer than any wait a live rank causes here (an
 * evaluation, a checkpoint, a slow rank's local steps, a poor emulated
 * link), short enough that a dead rank does not hold a job for long. */
#define PEER_TIMEOUT_DEFAULT 120.0

struct options {
	const char *data;
	bool hdf5_unverified;		/* --hdf5-unverified: foreign HDF5 --data */
	const char *checkpoint;
	const char *metrics;
	enum model_kind model;
	struct optim_config optim;
	int epochs;
	int batch;			/* global */
	uint64_t seed;
	bool resume;
	int eval_every;			/* epochs; 0: only at the end */
	long checkpoint_every;		/* steps; 0: at the end of each epoch */
	uint32_t limit;
	int threads;
	bool deterministic;
	bool gpu;			/* --device gpu */
	enum allreduce_algo allreduce;
	bool allreduce_given;		/* --allreduce on the command line */
	size_t bucket_bytes;
	bool net_report;		/* print the measured links */
	long probe_every;		/* steps; 0: only at the start */
	struct link_emu_config emu;	/* --link-profile, --link-file, --link-all */
	int local_steps;		/* local SGD: fixed H; 0: synchronous */
	bool adapt;			/* local SGD with H from the measured communication */
	struct adapt_config adapt_cfg;
	enum compress_kind compress;
	double compress_ratio;		/* top-k */
	bool rebalance;			/* shares of the batch by measured speed */
	long rebalance_every;		/* steps between rebalancing points */
	double straggler_threshold;	/* x median seconds per sample */
	int straggler_rounds, probation;
	int slow_rank;			/* testing: this rank computes ... */
	double slow_factor;		/* ... this many times slower */
	double max_grad_norm;
	double stop_at_accuracy;
	long eval_every_steps;		/* also evaluate every N steps (time to accuracy) */
	double time_limit;		/* stop after this many training seconds; 0: none */
	double peer_timeout;		/* longest wait for the other ranks; 0: none */
	int augment_shift;		/* -1: no augmentation */
	int fault_rank;			/* testing: this rank's gradient ... */
	long fault_step;		/* ... becomes NaN at this step */
	int verbose;
};

/* Print the usage to f. */
void usage(FILE *f);

/* Parse argv into o (defaults first).  0, or -1 with err. */
int parse_train_options(int argc, char **argv, struct options *o, char *err, size_t errlen);

/* Release what parsing allocated. */
void options_free(struct options *o);

#endif
