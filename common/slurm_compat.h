/*
 * slurm_compat.h - the one place where quorate meets differences between
 * the libslurm releases it builds against (22.05 to 26.05), keyed on the
 * SLURM_VERSION_NUMBER of the headers in use.  Code writes the newest
 * spelling; this header gives it to the older releases.
 *
 * - list_t / list_itr_t (23.02) replaced List / ListIterator (gone by 24.11).
 * - hostlist_t was a pointer type until 23.11 and is the struct since: a
 *   handle is `struct hostlist *` on every release, quorate_hostlist_t.
 * - slurm_get_errno() is gone in 24.11.  It only ever returned errno, which
 *   libslurm sets on every release: read errno.
 * - slurm_free_ctl_conf() is slurm_free_conf() from 26.05.
 * - slurm_step_id_t gained a leading sluid_t in 26.05: build it with
 *   designated initializers only (a zero sluid means "look up by job id").
 * - slurm_free_node_info_msg() leaves each node's extra and bcast_address
 *   allocated before 24.11, and its comment before 23.11 (read in 22.05.8's
 *   and 23.11.11's slurm_free_node_info_members(); valgrind showed
 *   slurmctld losing every Extra read by job_submit/quorate's thread on
 *   22.05): quorate_free_node_info_msg() frees them there first.  Releases
 *   quorate does not build against (23.02, 24.05) count as fixed: a leak
 *   there is better than a double free.
 *
 * Plugins take plugin_version from the same SLURM_VERSION_NUMBER (Slurm
 * loads a plugin only into the release it was built for).
 */
#ifndef QUORATE_SLURM_COMPAT_H
#define QUORATE_SLURM_COMPAT_H

#include <slurm/slurm.h>

#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(23, 2, 0)
typedef struct xlist list_t;
typedef struct listIterator list_itr_t;
#endif

typedef struct hostlist *quorate_hostlist_t;

#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(26, 5, 0)
static inline void slurm_free_conf(slurm_conf_t *conf)
{
	slurm_free_ctl_conf(conf);
}
#endif

static inline void quorate_free_node_info_msg(node_info_msg_t *msg)
{
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(24, 5, 0)
	extern void slurm_xfree(void **ptr);

	for (uint32_t i = 0; msg && i < msg->record_count; i++) {
		slurm_xfree((void **)&msg->node_array[i].extra);
		slurm_xfree((void **)&msg->node_array[i].bcast_address);
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(23, 2, 0)
		slurm_xfree((void **)&msg->node_array[i].comment);
#endif
	}
#endif
	slurm_free_node_info_msg(msg);
}

#endif /* QUORATE_SLURM_COMPAT_H */
