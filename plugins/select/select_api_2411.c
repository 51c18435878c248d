/*
 * select_api_2411.c - select/reputation's adapter for Slurm 24.11's select API
 * (src/interfaces/select.h): cons_tres's ops table in the order of
 * slurm_select_ops_t, which 24.05 made private to select.c (copied here),
 * the 31 forwarding select_p_* entry points, list_t in place of List
 * (gone in 24.05), and job_test with a resv_exc_t and the backfill's
 * will_run_data_t (24.11).  See select_api.h.
 */
#include "config.h"	/* Slurm's: this file is built against its source */
/* First: renames Slurm's functions to the slurm_* aliases that the public
 * libslurm exports too, so the commands can call into us (as cons_tres). */
#include "src/common/slurm_xlator.h"

#include "slurm/slurm.h"
#include "slurm/slurm_errno.h"
#include "src/common/bitstring.h"
#include "src/common/list.h"
#include "src/common/log.h"
#include "src/interfaces/select.h"
#include "src/slurmctld/slurmctld.h"

#include "select_api.h"

#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(24, 11, 0) || \
    SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(25, 5, 0)
#error "select_api_2411.c is for Slurm 24.11's select API"
#endif

/* A copy of slurm_select_ops_t, private to src/interfaces/select.c since
 * 24.05. */
typedef struct {
	uint32_t	(*plugin_id);
	int		(*state_save)		(char *dir_name);
	int		(*state_restore)	(char *dir_name);
	int		(*job_init)		(list_t *job_list);
	int		(*node_init)		(void);
	int		(*job_test)		(job_record_t *job_ptr,
						 bitstr_t *bitmap,
						 uint32_t min_nodes,
						 uint32_t max_nodes,
						 uint32_t req_nodes,
						 uint16_t mode,
						 list_t *preeemptee_candidates,
						 list_t **preemptee_job_list,
						 resv_exc_t *resv_exc_ptr,
						 will_run_data_t *will_run_ptr);
	int		(*job_begin)		(job_record_t *job_ptr);
	int		(*job_ready)		(job_record_t *job_ptr);
	int		(*job_expand)		(job_record_t *from_job_ptr,
						 job_record_t *to_job_ptr);
	int		(*job_resized)		(job_record_t *job_ptr,
						 node_record_t *node_ptr);
	int		(*job_fini)		(job_record_t *job_ptr);
	int		(*job_suspend)		(job_record_t *job_ptr,
						 bool indf_susp);
	int		(*job_resume)		(job_record_t *job_ptr,
						 bool indf_susp);
	bitstr_t *      (*step_pick_nodes)      (job_record_t *job_ptr,
						 select_jobinfo_t *step_jobinfo,
						 uint32_t node_count,
						 bitstr_t **avail_nodes);
	int             (*step_start)           (step_record_t *step_ptr);
	int             (*step_finish)          (step_record_t *step_ptr,
						 bool killing_step);
	int		(*nodeinfo_pack)	(select_nodeinfo_t *nodeinfo,
						 buf_t *buffer,
						 uint16_t protocol_version);
	int		(*nodeinfo_unpack)	(select_nodeinfo_t **nodeinfo,
						 buf_t *buffer,
						 uint16_t protocol_version);
	select_nodeinfo_t *(*nodeinfo_alloc)	(void);
	int		(*nodeinfo_free)	(select_nodeinfo_t *nodeinfo);
	int		(*nodeinfo_set_all)	(void);
	int		(*nodeinfo_set)		(job_record_t *job_ptr);
	int		(*nodeinfo_get)		(select_nodeinfo_t *nodeinfo,
						 enum
						 select_nodedata_type dinfo,
						 enum node_states state,
						 void *data);
	select_jobinfo_t *(*jobinfo_alloc)	(void);
	int		(*jobinfo_free)		(select_jobinfo_t *jobinfo);
	int		(*jobinfo_set)		(select_jobinfo_t *jobinfo,
						 enum
						 select_jobdata_type data_type,
						 void *data);
	int		(*jobinfo_get)		(select_jobinfo_t *jobinfo,
						 enum
						 select_jobdata_type data_type,
						 void *data);
	select_jobinfo_t *(*jobinfo_copy)	(select_jobinfo_t *jobinfo);
	int		(*jobinfo_pack)		(select_jobinfo_t *jobinfo,
						 buf_t *buffer,
						 uint16_t protocol_version);
	int		(*jobinfo_unpack)	(select_jobinfo_t **jobinfo_pptr,
						 buf_t *buffer,
						 uint16_t protocol_version);
	int		(*get_info_from_plugin)	(enum
						 select_plugindata_info dinfo,
						 job_record_t *job_ptr,
						 void *data);
	int		(*reconfigure)		(void);
} slurm_select_ops_t;

/* In the order of slurm_select_ops_t (slurm_select_ops_t below, from 24.11's src/interfaces/select.c). */
static const char *inner_syms[] = {
	"plugin_id",
	"select_p_state_save",
	"select_p_state_restore",
	"select_p_job_init",
	"select_p_node_init",
	"select_p_job_test",
	"select_p_job_begin",
	"select_p_job_ready",
	"select_p_job_expand",
	"select_p_job_resized",
	"select_p_job_fini",
	"select_p_job_suspend",
	"select_p_job_resume",
	"select_p_step_pick_nodes",
	"select_p_step_start",
	"select_p_step_finish",
	"select_p_select_nodeinfo_pack",
	"select_p_select_nodeinfo_unpack",
	"select_p_select_nodeinfo_alloc",
	"select_p_select_nodeinfo_free",
	"select_p_select_nodeinfo_set_all",
	"select_p_select_nodeinfo_set",
	"select_p_select_nodeinfo_get",
	"select_p_select_jobinfo_alloc",
	"select_p_select_jobinfo_free",
	"select_p_select_jobinfo_set",
	"select_p_select_jobinfo_get",
	"select_p_select_jobinfo_copy",
	"select_p_select_jobinfo_pack",
	"select_p_select_jobinfo_unpack",
	"select_p_get_info_from_plugin",
	"select_p_reconfigure",
};

_Static_assert(sizeof(inner_syms) == sizeof(slurm_select_ops_t),
	       "inner_syms must list every member of slurm_select_ops_t");

static slurm_select_ops_t inner;

const struct sel_api_table sel_api_table = {
	.syms = inner_syms,
	.syms_size = sizeof(inner_syms),
	.ops = (void **)&inner,
};

struct sel_args {
	list_t *preemptee_candidates;
	list_t **preemptee_job_list;
	resv_exc_t *resv_exc_ptr;
	will_run_data_t *will_run_ptr;
};

extern int sel_api_job_test(job_record_t *job, bitstr_t *bitmap,
			    uint32_t min_nodes, uint32_t max_nodes,
			    uint32_t req_nodes, uint16_t mode,
			    struct sel_args *args, bool without_preemption)
{
	return (*(inner.job_test))(job, bitmap, min_nodes, max_nodes,
				   req_nodes, mode,
				   without_preemption ? NULL :
				   args->preemptee_candidates,
				   without_preemption ? NULL :
				   args->preemptee_job_list,
				   args->resv_exc_ptr, args->will_run_ptr);
}

extern void sel_api_drop_preemptees(struct sel_args *args)
{
	if (args->preemptee_job_list)
		FREE_NULL_LIST(*args->preemptee_job_list);
}

/* Pending reasons and sel_api_fini(): select_reasons.c (select_nodes()
 * keeps no reason of a select plugin's on 24.11). */

/* ------------------------------------------------------- entry points -- */

extern int select_p_state_save(char *dir_name)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.state_save))(dir_name);
}

extern int select_p_state_restore(char *dir_name)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.state_restore))(dir_name);
}

extern int select_p_job_init(list_t * job_list)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.job_init))(job_list);
}

extern int select_p_node_init(void)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	sel_node_init();
	return (*(inner.node_init))();
}

extern int select_p_job_test(job_record_t *job_ptr, bitstr_t *bitmap,
			     uint32_t min_nodes, uint32_t max_nodes,
			     uint32_t req_nodes, uint16_t mode,
			     list_t *preemptee_candidates,
			     list_t **preemptee_job_list,
			     resv_exc_t *resv_exc_ptr,
			     will_run_data_t *will_run_ptr)
{
	struct sel_args args = {
		.preemptee_candidates = preemptee_candidates,
		.preemptee_job_list = preemptee_job_list,
		.resv_exc_ptr = resv_exc_ptr,
		.will_run_ptr = will_run_ptr,
	};

	return sel_job_test(job_ptr, bitmap, min_nodes, max_nodes, req_nodes,
			    mode, &args);
}

extern int select_p_job_begin(job_record_t *job_ptr)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.job_begin))(job_ptr);
}

extern int select_p_job_ready(job_record_t *job_ptr)
{
	if (sel_inner_init())
		return -1;
	return (*(inner.job_ready))(job_ptr);
}

extern int select_p_job_expand(job_record_t *from_job_ptr,
			       job_record_t *to_job_ptr)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.job_expand))(from_job_ptr, to_job_ptr);
}

extern int select_p_job_resized(job_record_t *job_ptr, node_record_t *node_ptr)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.job_resized))(job_ptr, node_ptr);
}

extern int select_p_job_fini(job_record_t *job_ptr)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.job_fini))(job_ptr);
}

extern int select_p_job_suspend(job_record_t *job_ptr, bool indf_susp)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.job_suspend))(job_ptr, indf_susp);
}

extern int select_p_job_resume(job_record_t *job_ptr, bool indf_susp)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.job_resume))(job_ptr, indf_susp);
}

extern bitstr_t *select_p_step_pick_nodes(job_record_t *job_ptr,
					  select_jobinfo_t *jobinfo,
					  uint32_t node_count,
					  bitstr_t **avail_nodes)
{
	if (sel_inner_init())
		return NULL;
	return (*(inner.step_pick_nodes))(job_ptr, jobinfo, node_count,
					  avail_nodes);
}

extern int select_p_step_start(step_record_t *step_ptr)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.step_start))(step_ptr);
}

extern int select_p_step_finish(step_record_t *step_ptr, bool killing_step)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.step_finish))(step_ptr, killing_step);
}

extern int select_p_select_nodeinfo_pack(select_nodeinfo_t *nodeinfo,
					 buf_t *buffer,
					 uint16_t protocol_version)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.nodeinfo_pack))(nodeinfo, buffer, protocol_version);
}

extern int select_p_select_nodeinfo_unpack(select_nodeinfo_t **nodeinfo,
					   buf_t *buffer,
					   uint16_t protocol_version)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.nodeinfo_unpack))(nodeinfo, buffer, protocol_version);
}

extern select_nodeinfo_t *select_p_select_nodeinfo_alloc(void)
{
	if (sel_inner_init())
		return NULL;
	return (*(inner.nodeinfo_alloc))();
}

extern int select_p_select_nodeinfo_free(select_nodeinfo_t *nodeinfo)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.nodeinfo_free))(nodeinfo);
}

extern int select_p_select_nodeinfo_set_all(void)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.nodeinfo_set_all))();
}

extern int select_p_select_nodeinfo_set(job_record_t *job_ptr)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.nodeinfo_set))(job_ptr);
}

extern int select_p_select_nodeinfo_get(select_nodeinfo_t *nodeinfo,
					enum select_nodedata_type dinfo,
					enum node_states state, void *data)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.nodeinfo_get))(nodeinfo, dinfo, state, data);
}

extern select_jobinfo_t *select_p_select_jobinfo_alloc(void)
{
	if (sel_inner_init())
		return NULL;
	return (*(inner.jobinfo_alloc))();
}

extern int select_p_select_jobinfo_free(select_jobinfo_t *jobinfo)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.jobinfo_free))(jobinfo);
}

extern int select_p_select_jobinfo_set(select_jobinfo_t *jobinfo,
				       enum select_jobdata_type data_type,
				       void *data)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.jobinfo_set))(jobinfo, data_type, data);
}

extern int select_p_select_jobinfo_get(select_jobinfo_t *jobinfo,
				       enum select_jobdata_type data_type,
				       void *data)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.jobinfo_get))(jobinfo, data_type, data);
}

extern select_jobinfo_t *select_p_select_jobinfo_copy(select_jobinfo_t *jobinfo)
{
	if (sel_inner_init())
		return NULL;
	return (*(inner.jobinfo_copy))(jobinfo);
}

extern int select_p_select_jobinfo_pack(select_jobinfo_t *jobinfo,
					buf_t *buffer,
					uint16_t protocol_version)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.jobinfo_pack))(jobinfo, buffer, protocol_version);
}

extern int select_p_select_jobinfo_unpack(select_jobinfo_t **jobinfo,
					  buf_t *buffer,
					  uint16_t protocol_version)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.jobinfo_unpack))(jobinfo, buffer, protocol_version);
}

extern int select_p_get_info_from_plugin(enum select_plugindata_info dinfo,
					 job_record_t *job_ptr, void *data)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.get_info_from_plugin))(dinfo, job_ptr, data);
}

extern int select_p_reconfigure(void)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	sel_reconfigure();
	return (*(inner.reconfigure))();
}
