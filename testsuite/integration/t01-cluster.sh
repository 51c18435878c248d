#!/bin/bash
# The virtual cluster harness itself (scripts/cluster): a default cluster in a
# private directory, jobs, MPI under PMIx, the databases and anvil, `up` twice,
# `down` leaving nothing behind; then accounting on the suite's shared cluster.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/srun-lib.sh"

dir=/tmp/quorate-t01-$$
if ! t_private_cluster "$dir"; then
	t_fail "scripts/cluster up (default: 4 nodes, 2 sites)"
	exit 1
fi
t_pass "scripts/cluster up (default: 4 nodes, 2 sites)"
t_use_cluster "$dir"

t_eq "sinfo shows 4 idle nodes" "$(sinfo -h -o '%D %t')" "4 idle"
t_eq "features spread over 2 sites" \
	"$(sinfo -h -N -o '%N %f' | sort | tr '\n' ' ')" "n1 site_a n2 site_a n3 site_b n4 site_b "

names=$(timeout 60 srun -Q -N4 printenv SLURMD_NODENAME 2>&1 | sort -u | tr '\n' ' ')
t_eq "srun -N4 runs on 4 distinct nodes" "$names" "n1 n2 n3 n4 "

out=$T_TMP/job.out
job=$(cd "$T_TMP" && sbatch --parsable -N2 -o "$out" --wrap 'srun printenv SLURMD_NODENAME | sort; echo batch-done')
state=$(t_wait_job "$job" 120)
t_eq "sbatch job completes" "$state" "COMPLETED"
t_eq "sbatch job wrote its output file" "$(cat "$out" 2>/dev/null | tr '\n' ' ')" "n1 n2 batch-done "

# Open MPI 4.1.4's crash in MPI_Init, and only it, is run again once,
# printed and counted (srun-lib.sh).
mpi=$T_BUILD/testsuite/integration/mpi_allreduce
srun_train "$T_TMP/mpi4" -Q -n 4 "$mpi"
t_eq "srun --mpi=pmix -n 4 all-reduces the right sum" \
	"$(cat "$T_TMP/mpi4.out" "$T_TMP/mpi4.err")" "allreduce ok: 4 ranks, sum 10"
srun_train "$T_TMP/mpi8" -Q -N4 -n 8 "$mpi"
t_eq "srun --mpi=pmix over 4 nodes, 8 ranks" \
	"$(cat "$T_TMP/mpi8.out" "$T_TMP/mpi8.err")" "allreduce ok: 8 ranks, sum 36"

t_eq "PostgreSQL answers select 1" "$(psql -X -tAc 'select 1' 2>&1)" "1"
chain=$(curl -s -m 10 -X POST -H 'Content-Type: application/json' \
	--data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$QUORATE_CHAIN_RPC")
t_match "anvil answers eth_chainId" "$chain" '"result":"0x7a69"'

pids_before=$(cat "$dir"/run/*.pid "$dir"/munge/munged.pid 2>/dev/null | sort | tr '\n' ' ')
t_run "scripts/cluster up twice is safe" "$T_TOP/scripts/cluster" up --dir "$dir"
pids_after=$(cat "$dir"/run/*.pid "$dir"/munge/munged.pid 2>/dev/null | sort | tr '\n' ' ')
t_eq "the second up starts nothing new" "$pids_after" "$pids_before"
t_fails "up with other settings on a running cluster is refused" \
	"$T_TOP/scripts/cluster" up --dir "$dir" --nodes 3
t_run "scripts/cluster status: every service running" "$T_TOP/scripts/cluster" status --dir "$dir"

# Remember every process the harness started, then take it down.
all_pids="$pids_before $(head -n 1 "$dir/pg/data/postmaster.pid")"
"$T_TOP/scripts/cluster" down --dir "$dir" > "$T_TMP/down.log" 2>&1
left=
for p in $all_pids; do
	kill -0 "$p" 2>/dev/null && left="$left $p($(cat /proc/$p/comm 2>/dev/null))"
done
t_eq "scripts/cluster down leaves no process behind" "$left" ""
t_fails "status after down reports stopped services" "$T_TOP/scripts/cluster" status --dir "$dir"

# Bad options name the option and what is allowed.
t_match "--nodes 0 is refused with the range" \
	"$("$T_TOP/scripts/cluster" up --dir "$T_TMP/bad" --nodes 0 2>&1)" "--nodes: 0 is out of range \(allowed 1..30\)"
t_match "an unknown option is named" \
	"$("$T_TOP/scripts/cluster" up --dir "$T_TMP/bad" --bogus 2>&1)" "unknown option '--bogus'"

# Accounting: the suite's shared cluster runs slurmdbd on MariaDB.
t_use_cluster
job=$(cd "$T_TMP" && sbatch --parsable -N1 -o /dev/null --wrap 'true')
t_wait_job "$job" 120 >/dev/null
t_wait 30 sh -c "sacct -n -X -j $job -o state | grep -q COMPLETED"
t_match "sacct shows the finished job (slurmdbd)" \
	"$(sacct -n -X -P -j "$job" -o jobid,state,cluster 2>&1)" "^$job\|COMPLETED\|"
t_done
