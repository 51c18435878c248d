#!/bin/bash
# Faults: a node dies during a replicated step (issue 13).  A private
# cluster (3 nodes, one per site) with its own quorated (MissingGrace=5);
# the real spank_quorate runs `srun -N3 --replicas=3 --quorum=2` with a
# step that sleeps, then prints a fixed result.  While it runs, n2's slurmd
# and n2's slurmstepd (with the task under it) are SIGKILLed, as a node
# crash would end them: n2's replica never reports.  Then: the step is
# decided ACCEPTED from the other two, n2's replica is counted missing in
# PostgreSQL (replica_outcomes, verdicts, reputation_events), n2's score
# fell, and `scripts/cluster up` brings the slurmd back.
. "$(dirname "$0")/lib.sh"

dir=/tmp/q-reliability-t82
[ -f "$T_BUILD/plugins/spank/.libs/spank_quorate.so" ] || { t_fail "spank_quorate.so is built"; exit 1; }
"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
rm -rf "$dir"
t_private_cluster "$dir" --nodes 3 --sites 3 || { t_fail "private cluster with quorated"; exit 1; }
t_use_cluster "$dir" || { t_fail "private cluster env"; exit 1; }
Q=$T_BUILD/accounting/quorate
cd "$T_TMP" || exit 1

# quorated with MissingGrace=5 (default 60 s): its own copy of the
# cluster's quorate.conf (`cluster up` rewrites that one), same pid file,
# so that `cluster down` stops it.
conf=$dir/etc/quorate-t82.conf
{ cat "$QUORATE_CONF"; echo "MissingGrace=5"; } > "$conf"
qd_pid=$(cat "$dir/run/quorated.pid")
kill -TERM "$qd_pid"
t_wait 20 sh -c "! kill -0 $qd_pid"
"$T_BUILD/accounting/quorated" -f "$conf" || { t_fail "quorated starts with MissingGrace=5"; exit 1; }
t_wait 20 "$Q" ping > /dev/null
t_run "quorated runs with MissingGrace=5" "$Q" ping

sql() { psql -X -tA -F ' ' -c "$1"; }
score() { sql "SELECT round(score::numeric, 2) FROM nodes WHERE name = '$1'"; }
step_of() { sed -n 's/^quorate: step \([0-9]*\.[0-9]*\) .*/\1/p' "$1" | head -n 1; }
# stepd_of NODE: the slurmstepd processes of NODE (they hold its log open)
stepd_of() {
	local p
	for p in $(pgrep -x slurmstepd); do
		ls -l "/proc/$p/fd" 2>/dev/null | grep -q "$dir/log/slurmd-$1.log" && echo "$p"
	done
}

# Two honest steps first, so that every node has a score to lose.
for i in 1 2; do
	timeout 120 srun -N3 --replicas=3 --quorum=2 sh -c 'echo warm-up' > /dev/null 2> "warm$i.err"
done
t_match "two warm-up steps verified 3/3" "$(cat warm1.err warm2.err | tr '\n' ' ')" \
	"verified 3/3.*verified 3/3"
before=$(score n2)

# The step; n2 dies while it sleeps.
start=$(date +%s.%N)
timeout 170 srun -N3 --replicas=3 --quorum=2 sh -c 'sleep 12; echo result-42' > step.out 2> step.err &
srun_pid=$!
for i in $(seq 1 60); do
	victims=$(stepd_of n2)
	[ -n "$victims" ] && break
	sleep 0.5
done
sleep 2
slurmd_pid=$(cat "$dir/run/slurmd-n2.pid")
t_run "n2 runs a slurmstepd for the step (${victims:-none})" test -n "$victims"
children=$(for p in $victims; do pgrep -P "$p"; done)
# shellcheck disable=SC2086
kill -KILL "$slurmd_pid" $victims $children
t_run "n2's slurmd (pid $slurmd_pid) is gone after SIGKILL" t_wait 10 sh -c "! kill -0 $slurmd_pid"
wait "$srun_pid"
rc=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
t_diag "srun returned after $took s (exit $rc)"
t_eq "srun exits 0: the step is ACCEPTED without n2" "$rc" 0
t_eq "... and prints the agreed result once" "$(cat step.out)" "result-42"
t_match "... verified by the 2 other replicas" "$(cat step.err)" \
	"^quorate: step [0-9]+\.0 verified 2/3 \(quorum 2\) sha256="
step=$(step_of step.err)
job=${step%.*}

# The missing replica, after MissingGrace.
t_wait 30 sh -c "[ \"\$(psql -X -tA -c \"SELECT missing FROM verdicts WHERE job_id = $job AND step_id = 0\")\" = 1 ]"
t_eq "verdicts: ACCEPTED, 2 agree, 0 disagree, 1 missing" \
	"$(sql "SELECT verdict, agree, disagree, missing FROM verdicts WHERE job_id = $job AND step_id = 0")" \
	"ACCEPTED 2 0 1"
t_eq "replica_outcomes: n2's replica missing, the others agree" \
	"$(sql "SELECT replica, outcome, array_to_string(nodes, ',') FROM replica_outcomes
		WHERE job_id = $job AND step_id = 0 ORDER BY replica" | tr '\n' ' ')" \
	"0 agree n1 1 missing n2 2 agree n3 "
t_eq "replica_results: nothing from n2 for the step" \
	"$(sql "SELECT count(*) FROM replica_results WHERE job_id = $job AND node = 'n2'")" 0
t_match "quorate verdict shows the missing replica" "$("$Q" verdict "$step" 2>&1)" "replica 1: missing +n2"
t_eq "reputation_events: one 'missing' event of n2 for the step" \
	"$(sql "SELECT count(*) FROM reputation_events WHERE node = 'n2' AND kind = 'missing' AND job_id = $job")" 1
after=$(score n2)
t_diag "n2's score: $before before, $after after the missing replica"
t_run "n2's score fell ($before -> $after)" \
	awk -v a="${before:-x}" -v b="${after:-x}" 'BEGIN { exit !(a != "x" && b != "x" && b + 0 < a + 0) }'
t_match "quorate events n2 lists the missing replica" "$("$Q" events n2 2>&1)" "missing"
for n in n1 n3; do
	t_eq "$n: no missing event" "$(sql "SELECT count(*) FROM reputation_events WHERE node = '$n' AND kind = 'missing'")" 0
done

# The node comes back.
t_run "scripts/cluster up brings n2's slurmd back" "$T_TOP/scripts/cluster" up --dir "$dir" --nodes 3 --sites 3
t_run "n2 is up again in slurmctld" t_wait 90 sh -c "sinfo -h -n n2 -o %t | grep -Eq '^(idle|mix|alloc)'"
t_match "a replicated step runs on all 3 nodes again" \
	"$(timeout 120 srun -N3 --replicas=3 sh -c 'echo back' 2>&1 > /dev/null)" "verified 3/3"
t_done
