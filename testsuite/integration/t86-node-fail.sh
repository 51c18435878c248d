#!/bin/bash
# Slurm's own evidence of a failed node (issue 19, NodeFailMissing), on a
# private cluster (3 nodes, one per site) with MariaDB, slurmdbd and its
# own quorated.  A plain batch job on n1 and n2 (--no-requeue) runs while
# n2 is set DOWN with scontrol, as slurmctld does to a node that stops
# answering: the job ends NODE_FAIL and slurmdbd records n2's DOWN event.
# Then `quorate ingest`:
#   - at the default (NodeFailMissing=no) counts nothing;
#   - with NodeFailMissing=yes counts n2 once as a missing outcome (a
#     node-fail event with the job's id, dated at its end), not n1, which
#     Slurm ended only because of n2, nor the job on n3 that completed;
#   - run again counts nothing twice;
#   - with quorated stopped, fails with exit 3 and stores nothing, and
#     after quorated's restart counts what it could not;
# n2 stays eligible for every job (one missing outcome is no evidence of
# misbehaviour), and an ordinary user's node_fail is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contrib_lib.sh"
. "$(dirname "$0")/qd-lib.sh"

C=/tmp/q-nodefail-t86-$$
cluster=t86c$$
if t_private_cluster "$C" --nodes 3 --sites 3 --with-accounting --name "$cluster"; then
	t_pass "private cluster up with accounting and quorated"
else
	t_fail "private cluster up with accounting and quorated"
	exit 1
fi
t_on_exit "rm -rf '$C'"	# after its down (t_private_cluster); MariaDB's files
t_use_cluster "$C" || { t_fail "private cluster env"; exit 1; }
cd "$T_TMP" || exit 1
Q=$QD_QUORATE
log=$C/log/quorated.log
sql() { psql -X -tA -F ' ' -c "$1"; }
node_fails() {	# node_fails NODE: its node-fail events as "job kind"
	sql "SELECT job_id, kind FROM reputation_events WHERE node = '$1' AND kind = 'node-fail' ORDER BY id"
}
# job_state JOB: the job's state in slurmdbd (empty until it is there)
job_state() { sacct -M "$cluster" -n -P -X -j "$1" -o State 2>/dev/null | head -n 1 | cut -d' ' -f1; }
# back_up NODE: slurmctld schedules NODE again.  ReturnToService=2
# returns a DOWN node whose slurmd registers; an admin's resume, where it
# has not yet, does the same.
back_up() {
	scontrol update nodename="$1" state=resume 2>/dev/null
	t_wait 60 sh -c "sinfo -h -n $1 -o %t | grep -Eq '^(idle|mix|alloc)'"
}
# ends_in JOB STATE: slurmdbd has JOB ended in STATE with its partition
# (a whole row: c_accounted's rule for the other end states)
ends_in() {
	sacct -M "$cluster" -n -P -X -j "$1" -o State,End,Partition 2>/dev/null |
		grep -Eq "^$2[^|]*\|[0-9][^|]*\|[^|]+$"
}

conf_off=$T_TMP/quorate-off.conf
conf_on=$T_TMP/quorate-on.conf
{ cat "$QUORATE_CONF"; echo "IngestOverlap=0"; } > "$conf_off"
{ cat "$conf_off"; echo "NodeFailMissing=yes"; } > "$conf_on"
since=$(date +%s)

# --- a node fails under a plain job --------------------------------------
jf=$(c_submit --no-requeue -N2 -w n1,n2 --wrap 'sleep 300')
jc=$(c_submit -N1 -w n3 --wrap 'sleep 1')
t_wait 60 sh -c "squeue -h -j $jf -o %T | grep -qx RUNNING" || t_fail "job $jf runs on n1,n2"
scontrol update nodename=n2 state=down reason="t86 power loss" || t_fail "n2 set DOWN"
t_wait 60 sh -c "scontrol show job $jf | grep -q 'JobState=NODE_FAIL'"
t_eq "the job on n1,n2 ended NODE_FAIL" \
	"$(scontrol show job "$jf" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')" NODE_FAIL
t_wait 90 ends_in "$jf" NODE_FAIL
t_wait 90 ends_in "$jc" COMPLETED
t_eq "slurmdbd has it as NODE_FAIL" "$(job_state "$jf")" NODE_FAIL
t_match "slurmdbd recorded n2 going DOWN" \
	"$(sacctmgr -n -P list event nodes=n2 cluster="$cluster" start="$(date -d @"$since" +%Y-%m-%dT%H:%M:%S)" format=NodeName,State,Reason)" \
	"^n2\|DOWN[^|]*\|t86 power loss"
t_run "n2 is back in service" back_up n2

# --- at the default nothing is counted -----------------------------------
out=$("$Q" -f "$conf_off" --json ingest --since "$since" 2>"$T_TMP/off.err"); rc=$?
t_eq "ingest at the default (exit $rc)" "$rc" 0
t_match "... reads the NODE_FAIL job" "$(jq -r .node_fail_jobs <<<"$out")" "^[1-9]"
t_eq "... and says nothing of node failures" "$(jq -r 'has("node_failures")' <<<"$out")" false
t_eq "... and quorated counted none" "$(node_fails n2)" ""

# --- NodeFailMissing=yes ------------------------------------------------
score0=$(sql "SELECT coalesce(max(score), -1) FROM nodes WHERE name = 'n2'")
out=$("$Q" -f "$conf_on" --json ingest --since "$since" 2>"$T_TMP/on.err"); rc=$?
t_eq "ingest with NodeFailMissing=yes (exit $rc)" "$rc" 0 || t_diag "$(cat "$T_TMP/on.err")"
t_eq "... one NODE_FAIL job, n2 counted, none before, none without a DOWN event" \
	"$(jq -r '.node_failures | "\(.jobs) \(.counted) \(.already_counted) \(.without_down_event)"' <<<"$out")" \
	"1 1 0 0"
t_eq "n2 has one node-fail event, with the job's id" "$(node_fails n2)" "$jf node-fail"
t_eq "n1, which Slurm ended because of n2, has none" "$(node_fails n1)" ""
t_eq "n3, whose job completed, has none" "$(node_fails n3)" ""
t_eq "the event is dated at the job's end" \
	"$(sql "SELECT extract(epoch FROM at)::bigint FROM reputation_events WHERE node = 'n2' AND kind = 'node-fail'")" \
	"$(date -d "$(sacct -M "$cluster" -n -P -X -j "$jf" -o End | head -n 1)" +%s)"
t_match "quorate events n2 shows it with Slurm's reason" "$("$Q" events n2)" \
	"node-fail.*job $jf ended NODE_FAIL; Slurm set n2 DOWN at .*t86 power loss"
t_eq "n2's outcome is counted missing" \
	"$(sql "SELECT missing > 0 AND agree = 0 AND disagree = 0 FROM nodes WHERE name = 'n2'")" t
t_eq "one missing outcome excludes nothing: n2 is unproven" \
	"$(sql "SELECT state FROM nodes WHERE name = 'n2'")" unproven
t_diag "n2's score: $score0 before, $(sql "SELECT round(score::numeric, 1) FROM nodes WHERE name = 'n2'") after"
t_match "quorated logged it" "$(grep 'failed under job' "$log")" "node n2: failed under job $jf \(Slurm\): counted missing"
out=$(timeout 60 srun -N3 --immediate=20 hostname 2>&1); rc=$?
t_eq "srun -N3 hostname still runs at once on n1-n3 (exit $rc)" "$(wc -l <<<"$out") $rc" "3 0"

out=$("$Q" -f "$conf_on" --json ingest --since "$since" 2>&1); rc=$?
t_eq "ingest again: nothing counted twice" \
	"$rc $(jq -r '.node_failures | "\(.counted) \(.already_counted)"' <<<"$out")" "0 0 1"
t_eq "... still one event" "$(node_fails n2 | wc -l)" 1

# --- quorated away: nothing stored, nothing lost ------------------------
since2=$(date +%s)
jf2=$(c_submit --no-requeue -N1 -w n3 --wrap 'sleep 300')
t_wait 60 sh -c "squeue -h -j $jf2 -o %T | grep -qx RUNNING" || t_fail "job $jf2 runs on n3"
scontrol update nodename=n3 state=down reason="t86 second failure" || t_fail "n3 set DOWN"
t_wait 90 ends_in "$jf2" NODE_FAIL || t_fail "slurmdbd has job $jf2 as NODE_FAIL"
t_run "n3 is back in service" back_up n3
wm=$(sql "SELECT coalesce(max(watermark), 0) FROM contrib_watermark" 2>/dev/null)
rows=$(sql "SELECT count(*) FROM contrib_usage WHERE job_id = $jf2")
qd_pid=$(cat "$C/run/quorated.pid")
kill -TERM "$qd_pid"
t_wait 20 sh -c "! kill -0 $qd_pid"
out=$("$Q" -f "$conf_on" ingest --since "$since2" 2>&1); rc=$?
t_eq "quorated stopped: ingest fails with exit 3" "$rc" 3 || t_diag "$out"
t_match "... saying quorated is unreachable" "$out" "quorate: error: .*(connect|unreachable|refused)"
t_eq "... and stores none of the job's usage" "$(sql "SELECT count(*) FROM contrib_usage WHERE job_id = $jf2")" "$rows"
t_eq "... nor moves the watermark" "$(sql "SELECT coalesce(max(watermark), 0) FROM contrib_watermark" 2>/dev/null)" "$wm"
"$T_TOP/scripts/cluster" up --dir "$C" > "$T_TMP/up.log" 2>&1 || t_fail "quorated restarted" "$(cat "$T_TMP/up.log")"
t_wait 30 "$Q" ping > /dev/null
out=$("$Q" -f "$conf_on" --json ingest --since "$since2" 2>&1); rc=$?
t_eq "after the restart ingest counts n3's failure (exit $rc)" \
	"$rc $(jq -r '.node_failures | "\(.counted) \(.already_counted)"' <<<"$out")" "0 1 0"
t_eq "n3 has one node-fail event, with that job's id" "$(node_fails n3)" "$jf2 node-fail"
t_match "... and the job's usage is stored" "$(sql "SELECT count(*) FROM contrib_usage WHERE job_id = $jf2")" "^[1-9]"

# --- who may send it ------------------------------------------------------
msg=$(printf '{"v":1,"type":"node_fail","node":"n1","job":%s,"at":%s,"reason":"forged"}' "$jc" "$(date +%s)")
before=$(qd_counter forbidden)
out=$(qd_as_user "$Q" send "$msg" 2>&1); rc=$?
t_eq "an ordinary user's node_fail is refused (exit 1)" "$rc" 1
t_match "... as forbidden" "$out" "\(forbidden\)"
t_eq "... counted" "$(qd_counter forbidden)" "$((before + 1))"
t_eq "... and n1 is untouched" "$(node_fails n1)" ""
out=$("$Q" send '{"v":1,"type":"node_fail","node":"n1","job":1,"at":0,"reason":"x"}' 2>&1); rc=$?
t_eq "a node_fail at time 0 is malformed (exit 1)" "$rc" 1
t_match "... naming the field" "$out" "at: 0 is out of range"
t_done
