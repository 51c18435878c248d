/*
 * checkpoint.h - training state in HDF5, enough to continue bit-identically:
 * parameters and optimizer state (one dataset per tensor, /params/NAME,
 * /optim/m/NAME, /optim/v/NAME), the step, epoch and position in the
 * epoch's data, the shuffling generator's state, the epoch's running totals,
 * each rank's contribution so far, and the settings that fix the
 * trajectory.  The file is written beside the target and renamed over it;
 * the root attribute "complete" = 1 is the last thing written, so a file
 * without it was cut short and is refused.  The file carries h5guard's
 * header (magic, version, length, SHA-256) in its HDF5 user block, written
 * and fsync'd before the rename; readers check it before libhdf5 parses a
 * byte (h5guard.h).
 */
#ifndef QUORATE_TRAIN_CHECKPOINT_H
#define QUORATE_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define CHECKPOINT_FORMAT 1

/* What each rank did: reported at the end to the metrics file and quorated. */
struct rank_contribution {
	double compute_seconds;		/* forward, backward, update, evaluation */
	double comm_seconds;		/* gradient all-reduce */
	int64_t samples;		/* training samples processed */
	int64_t accepted;		/* steps whose gradient joined the sum */
	int64_t rejected;		/* steps whose gradient failed validation */
};

struct train_state {
	/* the run: a resume must match these */
	char model[8];
	char optimizer[8];
	char schedule[12];
	uint64_t seed;
	int32_t epochs;
	int32_t batch;			/* global batch */
	double lr, momentum, weight_decay;
	int64_t warmup_steps;
	int32_t augment;		/* shift of --augment, -1 without */
	int32_t local_steps;		/* local SGD: H, -1 adaptive, 0 synchronous */
	uint32_t train_count;		/* samples in the training set */
	uint64_t nparams;
	int32_t world_size;		/* ranks in the replica group */
	/* where it stands */
	int64_t step;			/* optimizer steps taken */
	int32_t epoch;			/* epoch in progress, 0-based; == epochs when done */
	int32_t epoch_step;		/* next step within it */
	uint64_t rng[4];		/* shuffling generator at the start of `epoch` */
	double epoch_loss;		/* running totals of the epoch in progress */
	int64_t epoch_correct, epoch_samples, epoch_rejected;
	double elapsed_seconds;		/* training time so far, over every run */
	/* world_size entries, or NULL */
	struct rank_contribution *ranks;
};

/* Write the state to PATH (via PATH.tmp and rename).  v may be NULL (sgd),
 * outer too (no local SGD: its outer momentum goes to /optim/outer). */
int checkpoint_write(const char *path, const struct train_state *st,
		     const struct model_layout *lay, const float *params,
		     const float *m, const float *v, const float *outer,
		     char *err, size_t errlen);

/* Read PATH into st, params, m, v and outer (nparams floats each; v and
 * outer may be NULL).
 * WANT is this run's settings: a checkpoint of another run is refused with
 * the setting that differs.  st->ranks is malloc'd (train_state_free). */
int checkpoint_read(const char *path, const struct train_state *want,
		    const struct model_layout *lay, struct train_state *st,
		    float *params, float *m, float *v, float *outer, char *err, size_t errlen);

/* checkpoint_read() from a file image of LEN bytes in memory (HDF5's core
 * driver), checked against its quorate header first; NAME only names it in
 * errors. */
int checkpoint_read_image(const void *image, size_t len, const char *name,
			  const struct train_state *want, const struct model_layout *lay,
			  struct train_state *st, float *params, float *m, float *v,
			  float *outer, char *err, size_t errlen);

/* The same without the header check: libhdf5 parses whatever IMAGE holds.
 * Only for fuzzing libhdf5 itself (testsuite/fuzz checkpoint-raw); never
 * for a file from outside. */
int checkpoint_read_image_unverified(const void *image, size_t len, const char *name,
				     const struct train_state *want,
				     const struct model_layout *lay, struct train_state *st,
				     float *params, float *m, float *v, float *outer,
				     char *err, size_t errlen);

/* Whether SAVED may be resumed by a run with settings WANT; err says which
 * setting differs.  The world size may differ (not bit-identical then: the
 * caller warns). */
int checkpoint_compatible(const struct train_state *saved, const struct train_state *want,
			  char *err, size_t errlen);

void train_state_free(struct train_state *st);

#endif
