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

#endif /* QUORATE_SLURM_COMPAT_H */
