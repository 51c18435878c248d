/*
 * select_api.h - between select/reputation's release-neutral part
 * (select_reputation.c: loading cons_tres, the policy around job_test) and
 * the adapter of the select-API generation it is built for:
 *
 *   select_api_2205.c  Slurm 22.05: src/common/select.h, 36 entry points,
 *                      job_test(..., bitstr_t *exc_core_bitmap)
 *   select_api_2311.c  Slurm 23.11: src/interfaces/select.h, 31 entry
 *                      points, job_test(..., resv_exc_t *)
 *   select_api_2411.c  Slurm 24.11: slurm_select_ops_t is private to
 *                      select.c, list_t only, job_test(..., resv_exc_t *,
 *                      will_run_data_t *)
 *
 * An adapter holds cons_tres's ops table in its release's order, the
 * forwarding select_p_* entry points, and how a pending reason reaches the
 * job.  The policy itself is in common/ (select_table.c, select_policy.c).
 */
#ifndef QUORATE_SELECT_API_H
#define QUORATE_SELECT_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slurm/slurm.h"
#include "src/common/bitstring.h"
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
#include "src/interfaces/select.h"
#else
#include "src/common/select.h"
#endif
#include "src/slurmctld/slurmctld.h"

#define SEL_INNER_TYPE "select/cons_tres"

extern const char plugin_type[];

/* ---- the adapter's ------------------------------------------------- */

/* job_test's arguments that differ between generations (the preemption
 * lists, excluded cores, will-run data): passed to cons_tres untouched. */
struct sel_args;

/* cons_tres's symbols in the order of the release's slurm_select_ops_t,
 * and where plugin_context_create() puts them. */
struct sel_api_table {
	const char **syms;
	size_t syms_size;
	void **ops;
};
extern const struct sel_api_table sel_api_table;

/* cons_tres's job_test with the caller's release-specific arguments;
 * without_preemption: no preemption candidates, no list back. */
int sel_api_job_test(job_record_t *job, bitstr_t *bitmap, uint32_t min_nodes,
		     uint32_t max_nodes, uint32_t req_nodes, uint16_t mode,
		     struct sel_args *args, bool without_preemption);

/* Free the preemptee list an earlier try returned, if any. */
void sel_api_drop_preemptees(struct sel_args *args);

/* Show TEXT as the pending job's reason (squeue %r), or take ours off. */
void sel_api_reason_set(job_record_t *job, const char *text);
void sel_api_reason_clear(job_record_t *job);

/* At fini(): stop whatever the adapter started. */
void sel_api_fini(void);

/* ---- select_reputation.c's ----------------------------------------- */

/* Load cons_tres on first use: 0, or -1 (logged). */
int sel_inner_init(void);

/* select_p_job_test with the policy. */
int sel_job_test(job_record_t *job, bitstr_t *bitmap, uint32_t min_nodes,
		 uint32_t max_nodes, uint32_t req_nodes, uint16_t mode,
		 struct sel_args *args);

/* Before forwarding select_p_node_init / select_p_reconfigure. */
void sel_node_init(void);
void sel_reconfigure(void);

/* Pending reasons: their prefix, the reason code they go with. */
#define SEL_REASON_PREFIX "Quorate"

#endif /* QUORATE_SELECT_API_H */
