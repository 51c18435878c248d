#!/bin/bash
# spank_quorate in a batch job on a private cluster (3 nodes, 3 sites,
# its own quorated; private because a verdict puts nodes on probation,
# where select/reputation no longer places the suite's plain jobs): sbatch
# --replicas=3 -N3 records the request for the job, the batch step itself
# is not replicated (it runs once), and an srun in the script inherits the
# setting: replicated, verified, output printed once; an option given to
# srun replaces the inherited one.
. "$(dirname "$0")/lib.sh"

[ -f "$T_BUILD/plugins/spank/.libs/spank_quorate.so" ] || { t_fail "spank_quorate.so is built"; exit 1; }
dir=/tmp/q-plugins-batch
t_private_cluster "$dir" --nodes 3 --sites 3 || { t_fail "private cluster with quorated"; exit 1; }
t_use_cluster "$dir" || { t_fail "private cluster env"; exit 1; }
Q=$T_BUILD/accounting/quorate
cd "$T_TMP" || exit 1

cat > job.sh <<'EOS'
#!/bin/sh
echo "batch runs once"
srun sh -c 'echo "replicas=$QUORATE_REPLICAS"'
echo "srun status $?"
srun --quorum=3 sh -c 'echo "same"'
echo "srun status $?"
EOS
job=$(sbatch --parsable --replicas=3 -N3 -o "$T_TMP/job.out" job.sh)
t_match "sbatch --replicas=3 -N3 is submitted" "$job" '^[0-9]+$'
state=$(t_wait_job "$job" 180)
t_eq "the job completes" "$state" COMPLETED
out=$(cat job.out)
t_eq "the batch step is not replicated: its own line appears once" \
	"$(grep -c '^batch runs once$' job.out)" 1
t_eq "the first srun inherits --replicas=3: its output once" \
	"$(grep -c '^replicas=3$' job.out)" 1
t_match "... and it is verified 3/3 (step $job.0)" "$out" \
	"quorate: step $job\.0 verified 3/3 \(quorum 2\) sha256=[0-9a-f]{64}"
t_match "the second srun overrides the inherited quorum: verified 3/3 (quorum 3)" "$out" \
	"quorate: step $job\.1 verified 3/3 \(quorum 3\) sha256=[0-9a-f]{64}"
t_eq "the srun statuses the script saw" "$(grep '^srun status' job.out | tr '\n' ' ')" \
	"srun status 0 srun status 0 "
t_match "quorated has the verdict of step $job.0" "$("$Q" verdict "$job.0")" "ACCEPTED"
# The batch step's id is SLURM_BATCH_SCRIPT (0xfffffffb); 6: no such step
"$Q" verdict "$job.4294967291" > /dev/null 2>&1
t_eq "quorated has no report of the batch step (quorate verdict exits 6)" "$?" 6
t_done
