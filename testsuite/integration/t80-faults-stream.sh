#!/bin/bash
# A stream of 10,002 replica results (3,334 steps of 3 replicas, 2-of-3)
# from 4 senders that retry what failed transiently, as the SPANK plugin's
# spool does.  Mid-stream quorated is killed with SIGKILL and started
# again; later the PostgreSQL server itself is restarted.  Afterwards every
# result is acknowledged and stored once, and every step has its verdict
# with all three replicas counted.  The figures go to testsuite/RELIABILITY.md
# by hand; this test prints them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }
qd_private_quorated t80 45 <<< "PushReputation=no" || { t_fail "private database"; exit 1; }
t_run "the private quorated starts" qd_start_private

total=10002 steps=3334
base=$(qd_job)
sql() { psql -X -tA -d "$QD_DB" -c "$1"; }
stored() { sql "SELECT count(*) FROM replica_results WHERE job_id >= $base"; }
at_least() { [ "$(stored)" -ge "$1" ]; }
pg_bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

started=$(date +%s.%N)
"$QD_BIN/ingest_load" --server "127.0.0.1:$QD_PORT" --munge-socket "$QUORATE_MUNGE_SOCKET" \
	--threads 4 --batch 1 --count "$total" --retry-for 120 --job-base "$base" \
	> "$T_TMP/load.out" 2> "$T_TMP/load.err" &
loader=$!

# --- SIGKILL of quorated ----------------------------------------------------
t_wait 60 at_least 1000
before_kill=$(stored)
kill -KILL "$(qd_private_pid)"
t_run "quorated is killed mid-stream ($before_kill results stored by then)" kill -0 "$loader"
sleep 1
t_run "quorated starts again" qd_start_private

# --- PostgreSQL restarted ---------------------------------------------------
t_wait 60 at_least $(( $(stored) + 300 ))
before_pg=$(stored)
t_run "PostgreSQL restarts mid-stream ($before_pg results stored by then)" \
	runuser -u postgres -- "$pg_bindir/pg_ctl" -D "$QUORATE_CLUSTER_DIR/pg/data" \
	-l "$QUORATE_CLUSTER_DIR/log/postgres.log" -m fast -w -t 60 restart
t_run "... while the senders were still sending" kill -0 "$loader"

wait "$loader"
rc=$?
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
out=$(cat "$T_TMP/load.out")
t_eq "the senders finished without a lost result (exit status)" "$rc" 0
t_match "every result was acknowledged, some after retries" "$out" \
	"results=$total errors=0 retries=[1-9]"
t_eq "every result is stored once" \
	"$(sql "SELECT count(*), count(DISTINCT (job_id, step_id, replica)) FROM replica_results WHERE job_id >= $base")" \
	"$total|$total"
t_eq "every step has its verdict, ACCEPTED with all three replicas counted" \
	"$(sql "SELECT count(*) FILTER (WHERE verdict = 'ACCEPTED' AND agree + disagree = 3) FROM verdicts WHERE job_id >= $base")" \
	"$steps"
t_eq "the disagreeing replica of one step in ten is counted as such" \
	"$(sql "SELECT count(*) FROM verdicts WHERE job_id >= $base AND disagree = 1")" "$(( (steps + 9) / 10 ))"
t_match "quorated logged the lost database connection and its return" "$(cat "$QD_DIR/quorated.log")" \
	"database connection restored"
t_run "the suite's quorated is back on its database too" t_wait 30 "$QD_QUORATE" ping
printf '# t80: %d results in %s s through a SIGKILL of quorated and a PostgreSQL restart; %s\n' \
	"$total" "$elapsed" "$out"
t_done
