#!/bin/bash
# spank_quorate with quorated unreachable, on a private cluster (3 nodes,
# 3 sites, its own quorated and database): reports go to the node spool
# after bounded retries; srun waits (wait=) and says why it has no verdict
# (status 75); `quorate flush-spool` replays the records once quorated is
# back, the verdict is reached, nothing is lost, and a replay is
# idempotent.
. "$(dirname "$0")/lib.sh"

dir=/tmp/q-plugins-spool
t_private_cluster "$dir" --nodes 3 --sites 3 || { t_fail "private cluster with quorated"; exit 1; }
t_use_cluster "$dir" || { t_fail "private cluster env"; exit 1; }
Q=$T_BUILD/accounting/quorate
spool=$dir/spool/quorate
stack=$dir/etc/plugstack.conf
cd "$T_TMP" || exit 1
t_run "quorated of the private cluster answers" "$Q" ping

stack_line=$(cat "$stack")
with_args() { echo "$stack_line $*" > "$stack"; }	# srun and slurmstepd read it per step
records() { find "$spool" -maxdepth 1 -name '*.json' | wc -l; }
stop_quorated() {
	local pid
	pid=$(cat "$dir/run/quorated.pid" 2>/dev/null) || return 1
	kill -TERM "$pid" || return 1
	t_wait 20 sh -c "! kill -0 $pid" > /dev/null 2>&1
}
start_quorated() {
	"$T_BUILD/accounting/quorated" -f "$dir/etc/quorate.conf" && t_wait 30 "$Q" ping > /dev/null
}

# A. quorated stops during the step, comes back, flush-spool: srun gets
#    the verdict it was waiting for.
with_args timeout=2 wait=120
timeout 200 srun -N3 --replicas=3 sh -c 'sleep 4; echo 42' > a.out 2> a.err &
srun_pid=$!
t_wait 30 sh -c "[ \$(ls '$spool/out' | wc -l) -eq 3 ]"
t_eq "the 3 tasks write their stdout into the spool" "$(ls "$spool/out" | wc -l)" 3
t_run "quorated stops during the step" stop_quorated
t_wait 60 sh -c "[ \$(find '$spool' -maxdepth 1 -name '*.json' | wc -l) -eq 3 ]"
t_eq "after timeout=2 s of retries each task's report is spooled" "$(records)" 3
t_match "slurmd logs where the report went" \
	"$(cat "$dir"/log/slurmd*.log 2>/dev/null)" "quorate: report [0-9]+\.0\.[0-2]\.0@[A-Za-z0-9_-]*\.json kept in $spool"
t_eq "the spool records are root's, mode 0600" \
	"$(stat -c '%U %a' "$spool"/*.json | sort -u)" "root 600"
cp "$spool"/*.json "$T_TMP/" 2>/dev/null
t_run "srun is still waiting for the verdict" kill -0 "$srun_pid"
t_run "quorated starts again" start_quorated
out=$("$Q" flush-spool 2>&1)	# SpoolDir of the cluster's quorate.conf
t_eq "quorate flush-spool exits 0" "$?" 0
t_eq "... delivered the 3 records" "$out" \
	"quorate: flush-spool: $spool: 3 delivered (0 already stored), 0 rejected, 0 kept"
t_eq "... and left none" "$(records)" 0
wait "$srun_pid"
t_eq "srun then exits 0" "$?" 0
t_eq "... with 42 printed once" "$(cat a.out)" "42"
t_match "... and the verified line" "$(cat a.err)" "^quorate: step [0-9]+\.0 verified 3/3 \(quorum 2\) sha256="
step=$(sed -n 's/^quorate: step \([0-9.]*\) .*/\1/p' a.err)
t_match "quorated's verdict has all 3 replicas in agreement" "$("$Q" verdict "$step")" "agree 3, disagree 0, missing 0"
out=$("$Q" flush-spool --spool "$spool" 2>&1)
t_eq "a second flush-spool finds nothing" "$out" \
	"quorate: flush-spool: $spool: 0 delivered (0 already stored), 0 rejected, 0 kept"
cp "$T_TMP"/*.json "$spool/"
out=$("$Q" flush-spool --spool "$spool" 2>&1)
t_eq "replaying the same records again is idempotent (already stored)" "$out" \
	"quorate: flush-spool: $spool: 3 delivered (3 already stored), 0 rejected, 0 kept"
t_match "... and the verdict is unchanged" "$("$Q" verdict "$step")" "ACCEPTED.*|agree 3, disagree 0"

# B. quorated down for the whole wait: srun's documented status 75.
rm -f "$T_TMP"/*.json
with_args timeout=1 wait=3
t_run "quorated stops" stop_quorated
timeout 120 srun -N3 --replicas=3 sh -c 'echo 43' > b.out 2> b.err
t_eq "quorated unreachable: srun exits 75 after wait=3" "$?" 75
t_match "... saying the step is not verified and why" "$(cat b.err)" \
	"^quorate: step [0-9]+\.0 not verified: .*connect.*"
t_eq "... and prints no unverified output" "$(cat b.out)" ""
t_eq "the 3 reports are spooled" "$(records)" 3
out=$("$Q" flush-spool --spool "$spool" 2>&1)
t_eq "flush-spool while quorated is down exits 3 (unreachable)" "$?" 3
t_eq "... and keeps every record" "$(records)" 3

# C. quorated back during srun's wait, the reports still spooled: no
#    verdict within wait=.
with_args timeout=1 wait=10
timeout 120 srun -N3 --replicas=3 sh -c 'echo 44' > c.out 2> c.err &
srun_pid=$!
t_wait 60 sh -c "[ \$(find '$spool' -maxdepth 1 -name '*.json' | wc -l) -eq 6 ]"
t_eq "the step's 3 reports join the 3 of step B in the spool" "$(records)" 6
t_run "quorated starts again while srun waits" start_quorated
wait "$srun_pid"
t_eq "no verdict within wait=10 s: srun exits 75" "$?" 75
t_match "... with the timeout line" "$(cat c.err)" \
	"^quorate: step [0-9]+\.0 not verified: no verdict within 10 s \(0 of 3 replicas reported; .quorate verdict [0-9]+\.0. tells it later\)$"
out=$("$Q" flush-spool --spool "$spool" 2>&1)
t_eq "flush-spool sends all 6" "$out" \
	"quorate: flush-spool: $spool: 6 delivered (0 already stored), 0 rejected, 0 kept"
b=$(sed -n 's/^quorate: step \([0-9.]*\) .*/\1/p' b.err)
c=$(sed -n 's/^quorate: step \([0-9.]*\) .*/\1/p' c.err)
t_match "the step of the outage is ACCEPTED afterwards" "$("$Q" verdict "$b")" "^$b ACCEPTED"
t_match "the step that timed out is ACCEPTED afterwards" "$("$Q" verdict "$c")" "^$c ACCEPTED"
t_done
