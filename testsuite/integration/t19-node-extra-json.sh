#!/bin/bash
# Node Extra as JSON (issue 21): from Slurm 23.11, with
# SchedulerParameters=extra_constraints, slurmctld takes only a JSON object
# in a node's Extra and jobs select nodes on it (--extra).  quorated then
# writes {"reputation":..,"quorate_state":..}, keeping the admin's keys,
# and users can ask for reputation.  Slurm 22.05 has no extra_constraints:
# there the test checks that the harness says so rather than passing.
. "$(dirname "$0")/lib.sh"

slurm=${QUORATE_SLURM:-22.05}
dir=/tmp/q-extra-json
if [ "$slurm" = 22.05 ]; then
	out=$("$T_TOP/scripts/cluster" up --dir "$dir" --extra-constraints 2>&1)
	rc=$?
	"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
	t_eq "22.05: scripts/cluster up --extra-constraints is refused (exit 1)" "$rc" 1
	t_match "... saying that 22.05 lacks it" "$out" "Slurm 22.05 has no SchedulerParameters=extra_constraints"
	t_done
	exit 0
fi

t_private_cluster "$dir" --nodes 3 --sites 3 --extra-constraints ||
	{ t_fail "private cluster with extra_constraints"; exit 1; }
t_use_cluster "$dir" || { t_fail "private cluster env"; exit 1; }
cd "$T_TMP" || exit 1

t_match "slurmctld runs with extra_constraints" "$(scontrol show config | grep '^SchedulerParameters')" \
	'extra_constraints'
extra() { scontrol --json show node "$1" | jq -c -r '.nodes[0].extra // ""'; }

# The admin's own key on n1, in the JSON slurmctld now requires.
t_fails "slurmctld refuses token Extra" scontrol update nodename=n2 extra="rack=7"
t_run "an admin's JSON Extra on n1" scontrol update nodename=n1 'extra={"rack":7}'

timeout 120 srun -N3 --replicas=3 --quorum=2 sh -c 'echo 42' > step.out 2> step.err
t_eq "srun -N3 --replicas=3 prints 42" "$(cat step.out)" 42
t_match "... verified 3/3" "$(cat step.err)" '^quorate: step [0-9]+\.0 verified 3/3 '

for n in n1 n2 n3; do
	t_wait 30 sh -c "scontrol --json show node $n | jq -e '.nodes[0].extra | fromjson | .reputation' > /dev/null"
done
score=$(quorate --json nodes n1 | jq -r '.nodes[0].score')
state=$(quorate --json nodes n1 | jq -r '.nodes[0].state')
e1=$(extra n1)
t_eq "n1's Extra is JSON with the admin's key, the score and the state" \
	"$(printf '%s' "$e1" | jq -c '{rack, reputation, quorate_state}')" \
	"$(jq -cn --argjson s "$(printf '%.1f' "$score")" --arg st "$state" '{rack: 7, reputation: $s, quorate_state: $st}')"
t_eq "... an honest node with one verdict is unproven" "$state" unproven
t_eq "n2 and n3 have JSON Extra with both keys" \
	"$(for n in n2 n3; do extra "$n" | jq -r '[has("reputation"), has("quorate_state")] | join(",")'; done | tr '\n' ' ')" \
	"true,true true,true "

# Users select on it.
lo=$(for n in n1 n2 n3; do extra "$n" | jq -r .reputation; done | sort -n | head -n 1)
job=$(sbatch --parsable -N3 --extra "reputation>=${lo%.*}" -o /dev/null --wrap true)
t_eq "sbatch -N3 --extra 'reputation>=${lo%.*}' runs on the three scored nodes" "$(t_wait_job "$job" 60)" COMPLETED
t_eq "srun --extra 'quorate_state=unproven' runs" \
	"$(timeout 60 srun -N1 --extra 'quorate_state=unproven' echo ok 2>&1)" ok
job=$(sbatch --parsable -N1 --extra 'reputation>100' -o /dev/null --wrap true)
sleep 6
t_match "a job asking for reputation>100 pends" "$(squeue -h -j "$job" -o '%T %r')" '^PENDING '
scancel "$job"
t_done
