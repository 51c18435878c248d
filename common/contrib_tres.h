/*
 * contrib_tres.h - the pure parts of reading slurmdbd's jobs: TRES strings
 * ("1=4,2=4000,4=2,5=4,1001=2": id=count) and the split of a job's totals
 * over its nodes.
 *
 * slurmdbd keeps a job's allocated TRES as totals only (AllocTRES); the
 * per-node allocation is not in the database.  quorate splits a total
 * evenly over the job's nodes, the remainder one unit each to the first
 * nodes of the job's node list: exact for Slurm's usual block fill (3 CPUs
 * on 2-CPU nodes: 2 + 1), and the parts always sum to the total.
 */
#ifndef QUORATE_CONTRIB_TRES_H
#define QUORATE_CONTRIB_TRES_H

#include <stddef.h>
#include <stdint.h>

/* Slurm's fixed TRES ids (src/common/slurmdb_defs.h: TRES_CPU ...). */
#define CONTRIB_TRES_CPU 1
#define CONTRIB_TRES_MEM 2
#define CONTRIB_TRES_ENERGY 3
#define CONTRIB_TRES_NODE 4
#define CONTRIB_TRES_BILLING 5

/* The count of TRES ID in a TRES string: 0 and *count (0 when ID is not
 * listed; NULL or "" lists nothing), or -1 for a malformed string. */
int contrib_tres_count(const char *tres, uint32_t id, uint64_t *count);

/* Node i's part (0 <= i < nodes) of total spread over nodes. */
uint64_t contrib_split_even(uint64_t total, size_t nodes, size_t i);

#endif
