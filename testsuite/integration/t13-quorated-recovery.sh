#!/bin/bash
# Faults, on a private quorated with its own database: SIGKILL between
# reports (nothing acknowledged is lost, the verdict is still reached),
# SIGKILL under load (every acknowledged report is in PostgreSQL), the
# database refusing connections (reports refused as "retry later", then
# accepted again), a replica that never reports (missing after the grace
# period, counted against the node named by the step's layout), SIGTERM
# with a query waiting.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }
qd_private_quorated t13 8 <<EOF2 || { t_fail "private database"; exit 1; }
MissingGrace=2
PushReputation=no
MinVerdicts=1
QuarantineSeconds=3
ProbationBelow=80
EOF2
t_run "the private quorated starts" qd_start_private
job=$(qd_job)
good=$(qd_sha "t13")
rows() { psql -X -tA -d "$QD_DB" -c "SELECT count(*) FROM replica_results WHERE job_id $1"; }

# SIGKILL between two reports of a step.
t_match "replica 0 is acknowledged" "$(qdp send "$(qd_result "$job" 0 0 3 2 qt13-a "$good")")" '"result":"stored"'
pid=$(qd_private_pid)
kill -KILL "$pid"
qd_wait_gone "$pid"
left=$(kill -0 "$pid" 2>/dev/null && echo running)
t_eq "quorated is gone after SIGKILL" "$left" ""
t_run "quorated starts again" qd_start_private
t_eq "the acknowledged replica is in PostgreSQL" "$(rows "= $job")" 1
t_match "replica 1 after the restart is stored" "$(qdp send "$(qd_result "$job" 0 1 3 2 qt13-b "$good")")" '"result":"stored"'
t_eq "... and the verdict is reached with replica 0 from before" \
	"$(qdp --json verdict "$job".0 | jq -r '[.verdict, .agree] | join(" ")')" "ACCEPTED 2"

# SIGKILL in the middle of a flood: every acknowledged report was committed.
base=$((job + 100))
"$QD_BIN/ingest_load" --server "127.0.0.1:$QD_PORT" --munge-socket "$QUORATE_MUNGE_SOCKET" \
	--threads 8 --batch 1 --duration 4 --job-base "$base" > "$T_TMP/load.out" 2> "$T_TMP/load.err" &
loader=$!
sleep 2
kill -KILL "$(qd_private_pid)"
wait "$loader"
acked=$(sed -n 's/.* results=\([0-9]*\) .*/\1/p' "$T_TMP/load.out")
t_run "quorated starts again after the SIGKILL under load" qd_start_private
stored=$(rows ">= $base")
t_run "reports were acknowledged before the kill ($acked)" test "${acked:-0}" -gt 0
t_run "every acknowledged report is in PostgreSQL ($acked acknowledged, $stored stored)" \
	test "$stored" -ge "${acked:-1}"
t_match "the senders saw the kill as a transient error" "$(cat "$T_TMP/load.err")" "connect|closed|io|timeout"

# The database refuses connections: reports are refused, not lost.
psql -X -q -d postgres -c "ALTER DATABASE $QD_DB ALLOW_CONNECTIONS false" \
	-c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$QD_DB'" > /dev/null
t_on_exit "psql -X -q -d postgres -c 'ALTER DATABASE $QD_DB ALLOW_CONNECTIONS true'"
out=$(qdp send "$(qd_result "$job" 1 0 2 2 qt13-a "$good")" 2>&1); rc=$?
t_eq "with the database down a report is refused as transient (exit 3)" "$rc" 3
t_match "... retry_later" "$out" '"error":"retry_later","retry":true'
t_eq "quorate ping says the database is down (exit 3)" "$(qdp ping > /dev/null 2>&1; echo $?)" 3
t_match "quorated logs the outage" "$(cat "$QD_DIR/quorated.log")" "database unavailable"
psql -X -q -d postgres -c "ALTER DATABASE $QD_DB ALLOW_CONNECTIONS true"
t_wait 30 qdp ping > /dev/null
t_run "the database is back: quorated reconnects by itself" qdp ping
t_match "the refused report, sent again, is stored" "$(qdp send "$(qd_result "$job" 1 0 2 2 qt13-a "$good")")" '"result":"stored"'
t_match "quorated logs the reconnection" "$(cat "$QD_DIR/quorated.log")" "database connection restored"

# A replica that never reports: missing after MissingGrace (2 s).
layout='"layout":["qt13-a","qt13-b","qt13-c"]'
qdp send "$(qd_result "$job" 2 0 3 2 qt13-a "$good" 1000 "$layout")" > /dev/null
qdp send "$(qd_result "$job" 2 1 3 2 qt13-b "$good" 1000 "$layout")" > /dev/null
t_eq "two of three agree: ACCEPTED" "$(qdp --json verdict "$job".2 | jq -r .verdict)" ACCEPTED
t_wait 15 sh -c "'$QD_QUORATE' -f '$QD_CONF' --json verdict $job.2 | jq -e '.missing == 1' > /dev/null"
t_eq "after the grace period the third is missing" \
	"$(qdp --json verdict "$job".2 | jq -r '[.missing, .settled, .outcomes[2].outcome, .outcomes[2].nodes[0]] | join(" ")')" \
	"1 true missing qt13-c"
t_eq "the layout's node gets a missing event" "$(qdp --json events qt13-c | jq -r '.events[-1] | "\(.kind) \(.job).\(.step)"')" \
	"missing $job.2"
qdp send "$(qd_result "$job" 3 0 2 2 qt13-a "$good")" > /dev/null
t_wait 15 sh -c "'$QD_QUORATE' -f '$QD_CONF' --json verdict $job.3 | jq -e '.verdict == \"REJECTED\"' > /dev/null"
t_match "a step that cannot reach its quorum in time is REJECTED" "$(qdp verdict "$job".3)" \
	"REJECTED: no quorum of 2 among 2 replicas \(1 reported, 1 missing\)"

# Quarantine and timed re-admission (MinVerdicts=1, QuarantineSeconds=3;
# ProbationBelow=80 makes one disagreement evidence: its upper bound is 79.3).
qdp send "$(qd_result "$job" 4 0 3 2 qt13-r "$good")" > /dev/null
qdp send "$(qd_result "$job" 4 1 3 2 qt13-s "$good")" > /dev/null
qdp send "$(qd_result "$job" 4 2 3 2 qt13-q "$(qd_sha wrong)")" > /dev/null
t_eq "a node that disagrees below QuarantineBelow is quarantined" \
	"$(qdp --json nodes qt13-q | jq -r '.nodes[0].state')" quarantined
t_wait 15 sh -c "'$QD_QUORATE' -f '$QD_CONF' --json nodes qt13-q | jq -e '.nodes[0].state == \"probation\"' > /dev/null"
t_eq "after QuarantineSeconds it is back on probation" "$(qdp --json nodes qt13-q | jq -r '.nodes[0].state')" probation
t_eq "... with an event saying so" \
	"$(qdp --json events qt13-q | jq -r '.events[-1] | "\(.kind) \(.state_before)->\(.state_after)"')" \
	"readmitted quarantined->probation"

# SIGTERM while a query waits: answered "retry later", and quorated exits.
qdp verdict "$job".99 --wait 60 > "$T_TMP/wait.out" 2>&1 &
waiter=$!
sleep 1
pid=$(qd_private_pid)
kill -TERM "$pid"
wait "$waiter"; rc=$?
t_eq "the waiting query is told to retry later (exit 3)" "$rc" 3
t_match "... by quorated shutting down" "$(cat "$T_TMP/wait.out")" "shutting down"
t_run "quorated exits after SIGTERM" qd_wait_gone "$pid"
t_match "... cleanly" "$(tail -n 2 "$QD_DIR/quorated.log")" "quorated stopped"
t_done
