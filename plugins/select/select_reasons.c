/*
 * select_reasons.c - select/reputation's pending reasons on Slurm 23.11
 * and 24.11 (select_api_2311.c, select_api_2411.c).
 *
 * squeue %r shows a job's state_desc.  Up to 22.05 select_nodes() kept
 * the state_desc of a job whose reason was WAIT_BLOCK_MAX_ERR; 23.11 has
 * no such code, and select_nodes() sets WAIT_RESOURCES and frees
 * state_desc after every job_test that found no nodes, so the words our
 * job_test writes are gone when slurmctld lets go of the job lock.
 *
 * So the job_test that holds a job back also notes the job and its reason
 * and wakes a thread of ours (slurmctld only; started with the first such
 * job).  The thread takes slurmctld's job write lock, which it gets once
 * that scheduling pass has ended, and gives the reason back to each noted
 * job that is still pending with the plain "Resources" select_nodes() left
 * (any other reason, a held job say, is left alone, as 22.05 did).  The
 * next job_test of the job forgets the note; one that holds it back again
 * notes it again.  slurmctld's functions are looked up with dlsym(), so
 * that the commands and slurmd, which load this plugin too, need none.
 */
#include "config.h"	/* Slurm's: this file is built against its source */
#include "src/common/slurm_xlator.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "slurm/slurm.h"
#include "src/common/log.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/locks.h"
#include "src/slurmctld/slurmctld.h"

#include "select_api.h"

/* Jobs noted at once, at most: more are logged and shown as Resources. */
#define NOTES_MAX 4096

struct reason_note {
	uint32_t job_id;
	char *text;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop, pending;
	bool full_logged, no_ctld_logged;	/* said once */
	struct reason_note *notes;
	size_t count, cap;
	void (*lock_ctld)(slurmctld_lock_t);
	void (*unlock_ctld)(slurmctld_lock_t);
	job_record_t *(*find_job)(uint32_t);
} keeper = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static bool job_has_our_reason(const job_record_t *job)
{
	return job->state_desc &&
	       !strncmp(job->state_desc, SEL_REASON_PREFIX,
			strlen(SEL_REASON_PREFIX));
}

/* keeper.lock held */
static void note_drop(size_t i)
{
	xfree(keeper.notes[i].text);
	keeper.notes[i] = keeper.notes[--keeper.count];
}

/* keeper.lock held */
static ssize_t note_find(uint32_t job_id)
{
	for (size_t i = 0; i < keeper.count; i++) {
		if (keeper.notes[i].job_id == job_id)
			return (ssize_t)i;
	}
	return -1;
}

/* Under slurmctld's job write lock, then keeper.lock (job_test's order). */
static void reasons_restore(void)
{
	slurmctld_lock_t job_write = { .job = WRITE_LOCK };
	time_t now = time(NULL);
	bool changed = false;

	keeper.lock_ctld(job_write);
	slurm_mutex_lock(&keeper.lock);
	for (size_t i = 0; i < keeper.count;) {
		job_record_t *job = keeper.find_job(keeper.notes[i].job_id);

		if (!job || !IS_JOB_PENDING(job)) {
			note_drop(i);
			continue;
		}
		if (job->state_reason == WAIT_RESOURCES && !job->state_desc) {
			job->state_desc = xstrdup(keeper.notes[i].text);
			changed = true;
		}
		i++;
	}
	slurm_mutex_unlock(&keeper.lock);
	if (changed)
		last_job_update = now;
	keeper.unlock_ctld(job_write);
}

static void *keeper_main(void *arg)
{
	for (;;) {
		slurm_mutex_lock(&keeper.lock);
		while (!keeper.stop && !keeper.pending)
			slurm_cond_wait(&keeper.wake, &keeper.lock);
		if (keeper.stop) {
			slurm_mutex_unlock(&keeper.lock);
			break;
		}
		keeper.pending = false;
		slurm_mutex_unlock(&keeper.lock);
		reasons_restore();
	}
	return NULL;
}

/* keeper.lock held: true once the thread runs (in slurmctld only). */
static bool keeper_start(void)
{
	int rc;

	if (keeper.running)
		return true;
	keeper.lock_ctld = (void (*)(slurmctld_lock_t))
		dlsym(RTLD_DEFAULT, "lock_slurmctld");
	keeper.unlock_ctld = (void (*)(slurmctld_lock_t))
		dlsym(RTLD_DEFAULT, "unlock_slurmctld");
	keeper.find_job = (job_record_t *(*)(uint32_t))
		dlsym(RTLD_DEFAULT, "find_job_record");
	if (!keeper.lock_ctld || !keeper.unlock_ctld || !keeper.find_job) {
		if (!keeper.no_ctld_logged)
			error("%s: not in slurmctld (no lock_slurmctld, find_job_record): pending reasons show as Resources",
			      plugin_type);
		keeper.no_ctld_logged = true;
		return false;
	}
	keeper.stop = false;
	rc = pthread_create(&keeper.thread, NULL, keeper_main, NULL);
	if (rc) {
		errno = rc;
		error("%s: cannot start the pending-reason thread: %m; pending reasons show as Resources",
		      plugin_type);
		return false;
	}
	keeper.running = true;
	return true;
}

/* job_test, under slurmctld's job write lock. */
extern void sel_api_reason_set(job_record_t *job, const char *text)
{
	ssize_t i;

	xfree(job->state_desc);
	job->state_desc = xstrdup(text);
	job->state_reason = WAIT_RESOURCES;
	last_job_update = time(NULL);

	slurm_mutex_lock(&keeper.lock);
	if (!keeper_start())
		goto out;
	i = note_find(job->job_id);
	if (i >= 0) {
		xfree(keeper.notes[i].text);
	} else {
		if (keeper.count == keeper.cap) {
			if (keeper.cap == NOTES_MAX) {
				if (!keeper.full_logged)
					error("%s: %d jobs held back at once; the reasons of more show as Resources",
					      plugin_type, NOTES_MAX);
				keeper.full_logged = true;
				goto out;
			}
			keeper.cap = keeper.cap ? keeper.cap * 2 : 16;
			xrecalloc(keeper.notes, keeper.cap,
				  sizeof(*keeper.notes));
		}
		i = (ssize_t)keeper.count++;
		keeper.notes[i].job_id = job->job_id;
	}
	keeper.notes[i].text = xstrdup(text);
	keeper.pending = true;
	slurm_cond_signal(&keeper.wake);
out:
	slurm_mutex_unlock(&keeper.lock);
}

/* job_test's start (RUN_NOW), under slurmctld's job write lock. */
extern void sel_api_reason_clear(job_record_t *job)
{
	ssize_t i;

	if (job_has_our_reason(job)) {
		xfree(job->state_desc);
		job->state_reason = WAIT_NO_REASON;
	}
	slurm_mutex_lock(&keeper.lock);
	i = note_find(job->job_id);
	if (i >= 0)
		note_drop((size_t)i);
	slurm_mutex_unlock(&keeper.lock);
}

extern void sel_api_fini(void)
{
	bool running;

	slurm_mutex_lock(&keeper.lock);
	running = keeper.running;
	keeper.stop = true;
	slurm_cond_signal(&keeper.wake);
	slurm_mutex_unlock(&keeper.lock);
	if (running)
		pthread_join(keeper.thread, NULL);
	slurm_mutex_lock(&keeper.lock);
	keeper.running = false;
	for (size_t i = 0; i < keeper.count; i++)
		xfree(keeper.notes[i].text);
	xfree(keeper.notes);
	keeper.count = keeper.cap = 0;
	keeper.full_logged = keeper.no_ctld_logged = false;
	slurm_mutex_unlock(&keeper.lock);
}
