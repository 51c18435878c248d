/*
 * select_api_2205.c - select/reputation's adapter for Slurm 22.05's select
 * API (src/common/select.h): cons_tres's ops table in the order of
 * slurm_select_ops_t, the 36 forwarding select_p_* entry points, job_test
 * with the excluded cores as a bitmap, and pending reasons that
 * select_nodes() keeps (see select_api.h).
 */
#include "config.h"	/* Slurm's: this file is built against its source */
/* First: renames Slurm's functions to the slurm_* aliases that the public
 * libslurm exports too, so the commands can call into us (as cons_tres). */
#include "src/common/slurm_xlator.h"

#include <string.h>
#include <time.h>

#include "slurm/slurm.h"
#include "slurm/slurm_errno.h"
#include "src/common/bitstring.h"
#include "src/common/list.h"
#include "src/common/log.h"
#include "src/common/select.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "select_api.h"

#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
#error "select_api_2205.c is for Slurm 22.05's select API"
#endif

/* In the order of slurm_select_ops_t (src/common/select.h). */
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
	"select_p_job_signal",
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
	"select_p_select_jobinfo_sprint",
	"select_p_select_jobinfo_xstrdup",
	"select_p_get_info_from_plugin",
	"select_p_update_node_config",
	"select_p_reconfigure",
	"select_p_resv_test",
};

_Static_assert(sizeof(inner_syms) == sizeof(slurm_select_ops_t),
	       "inner_syms must list every member of slurm_select_ops_t");

_Static_assert(sizeof(inner_syms) == sizeof(slurm_select_ops_t),
	       "inner_syms must list every member of slurm_select_ops_t");

static slurm_select_ops_t inner;

const struct sel_api_table sel_api_table = {
	.syms = inner_syms,
	.syms_size = sizeof(inner_syms),
	.ops = (void **)&inner,
};

struct sel_args {
	List preemptee_candidates;
	List *preemptee_job_list;
	bitstr_t *exc_core_bitmap;
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
				   args->exc_core_bitmap);
}

extern void sel_api_drop_preemptees(struct sel_args *args)
{
	if (args->preemptee_job_list)
		FREE_NULL_LIST(*args->preemptee_job_list);
}

/* squeue %r shows state_desc.  select_nodes() keeps a reason only when it
 * is WAIT_BLOCK_MAX_ERR or WAIT_BLOCK_D_ACTION (once BlueGene's, unused
 * since), so that is the code our reasons carry; the words say why. */
extern void sel_api_reason_set(job_record_t *job, const char *text)
{
	xfree(job->state_desc);
	job->state_desc = xstrdup(text);
	job->state_reason = WAIT_BLOCK_MAX_ERR;
	last_job_update = time(NULL);
}

extern void sel_api_reason_clear(job_record_t *job)
{
	if (job->state_reason == WAIT_BLOCK_MAX_ERR && job->state_desc &&
	    !strncmp(job->state_desc, SEL_REASON_PREFIX,
		     strlen(SEL_REASON_PREFIX))) {
		xfree(job->state_desc);
		job->state_reason = WAIT_NO_REASON;
	}
}

extern void sel_api_fini(void)
{
}

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

extern int select_p_job_init(List job_list)
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
			     List preemptee_candidates,
			     List *preemptee_job_list,
			     bitstr_t *exc_core_bitmap)
{
	struct sel_args args = {
		.preemptee_candidates = preemptee_candidates,
		.preemptee_job_list = preemptee_job_list,
		.exc_core_bitmap = exc_core_bitmap,
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

extern int select_p_job_signal(job_record_t *job_ptr, int signal)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.job_signal))(job_ptr, signal);
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

extern char *select_p_select_jobinfo_sprint(select_jobinfo_t *jobinfo,
					    char *buf, size_t size, int mode)
{
	if (sel_inner_init())
		return NULL;
	return (*(inner.jobinfo_sprint))(jobinfo, buf, size, mode);
}

extern char *select_p_select_jobinfo_xstrdup(select_jobinfo_t *jobinfo,
					     int mode)
{
	if (sel_inner_init())
		return NULL;
	return (*(inner.jobinfo_xstrdup))(jobinfo, mode);
}

extern int select_p_get_info_from_plugin(enum select_plugindata_info dinfo,
					 job_record_t *job_ptr, void *data)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.get_info_from_plugin))(dinfo, job_ptr, data);
}

extern int select_p_update_node_config(int index)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	return (*(inner.update_node_config))(index);
}

extern int select_p_reconfigure(void)
{
	if (sel_inner_init())
		return SLURM_ERROR;
	sel_reconfigure();
	return (*(inner.reconfigure))();
}

extern bitstr_t *select_p_resv_test(resv_desc_msg_t *resv_desc_ptr,
				    uint32_t node_cnt, bitstr_t *avail_bitmap,
				    bitstr_t **core_bitmap)
{
	if (sel_inner_init())
		return NULL;
	return (*(inner.resv_test))(resv_desc_ptr, node_cnt, avail_bitmap,
				    core_bitmap);
}
