#!/bin/bash
# slurmctld restarted under select/reputation keeps its jobs and keeps
# scheduling by the same rules; then the cluster is switched back to
# select/cons_tres (every Slurm daemon restarted, as SelectType requires):
# the jobs survive, the quorate rules are gone, nothing errs.
. "$(dirname "$0")/lib.sh"
t_need_select

dir=/tmp/q-plugins-t34
# a fresh directory: no jobs, scores or ports left from an earlier run
"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
rm -rf "$dir"
if ! t_private_cluster "$dir" --nodes 6 --sites 3 --select reputation --no-quorated; then
	t_fail "private cluster with select/reputation"
	exit 1
fi
t_use_cluster "$dir"
log=$dir/log/slurmctld.log

score() { scontrol update nodename="$1" extra="$2"; }
nodes_of() { scontrol show hostnames "$(squeue -h -j "$1" -o %N)" | tr '\n' ' '; }
reason_of() { squeue -h -j "$1" -o %r; }
state_of() { squeue -h -j "$1" -o %T; }
submit() { (cd "$T_TMP" && sbatch --parsable -o /dev/null "$@"); }
running() { [ "$(state_of "$1")" = RUNNING ]; }
pending_with() { reason_of "$1" | grep -q "$2"; }
stop_daemons() {	# stop_daemons NAME...: TERM by pid file, wait for exit
	local name pid
	for name in "$@"; do
		pid=$(cat "$dir/run/$name.pid" 2>/dev/null) || continue
		kill -TERM "$pid" 2>/dev/null
		t_wait 30 sh -c "! kill -0 $pid 2>/dev/null"
	done
}

score n1 "reputation=15.0 quorate_state=quarantined"
a=$(submit -N1 -n1 --wrap 'sleep 600')
r=$(submit --replicas=3 -N3 --wrap 'sleep 600')
held=$(submit -H -N1 -n1 --wrap 'sleep 600')
user_job=$(runuser -u quorate-test -- sbatch --parsable -D /tmp -o /dev/null -w n1 -N1 --wrap 'sleep 600')
t_wait 20 running "$a"
t_wait 20 running "$r"
t_wait 20 pending_with "$user_job" QuorateTrust
a_nodes=$(nodes_of "$a") r_nodes=$(nodes_of "$r")
t_match "before: a plain job and a replicated job run, neither on n1" "$a_nodes/$r_nodes" '^[^/]+/[^/]+$'
t_eq "before: n1 is in neither" "$(echo "$a_nodes $r_nodes" | grep -c 'n1 ')" "0"

# --- restart slurmctld with the plugin ----------------------------------
old=$(cat "$dir/run/slurmctld.pid")
stop_daemons slurmctld
"$T_TOP/scripts/cluster" up --dir "$dir" > "$T_TMP/up1.log" 2>&1
t_run "slurmctld starts again with select/reputation" scontrol ping
new=$(cat "$dir/run/slurmctld.pid")
if [ -n "$new" ] && [ "$new" != "$old" ]; then t_pass "it is a new process"; else t_fail "it is a new process" "pid $old -> $new"; fi
t_eq "the running jobs survive on their nodes" "$(state_of "$a") $(nodes_of "$a")/$(state_of "$r") $(nodes_of "$r")" \
	"RUNNING $a_nodes/RUNNING $r_nodes"
t_match "the node scores survive (slurmctld's state)" "$(scontrol show node n1)" 'Extra=reputation=15.0 quorate_state=quarantined'
scontrol release "$held"
t_wait 30 running "$held"
t_match "a held job released after the restart is scheduled, not on n1" "$(nodes_of "$held")" '^n[2-6] $'
# (an allocation, not srun: this cluster runs no quorated to verify a step)
r2=$(submit --replicas=2 -N2 --wrap 'sleep 600')
t_wait 30 running "$r2"
spread=$(for n in $(nodes_of "$r2"); do scontrol show node "$n" | grep -o 'AvailableFeatures=[a-z_]*'; done |
	sort -u | wc -l)
scancel "$r2"
t_eq "new replicated jobs still spread over sites" "$spread" "2"
t_wait 20 pending_with "$user_job" QuorateTrust
t_match "the quarantine still holds after the restart" "$(reason_of "$user_job")" 'required node n1 is quarantined'

# --- back to select/cons_tres -------------------------------------------
stop_daemons slurmctld slurmd-n1 slurmd-n2 slurmd-n3 slurmd-n4 slurmd-n5 slurmd-n6
switch_line=$(wc -l < "$log")
"$T_TOP/scripts/cluster" up --dir "$dir" --select cons_tres > "$T_TMP/up2.log" 2>&1 ||
	t_fail "scripts/cluster up --select cons_tres" "$(cat "$T_TMP/up2.log")"
t_match "slurmctld runs select/cons_tres" "$(scontrol show config)" 'SelectType +=[ ]*select/cons_tres'
t_eq "the jobs started under select/reputation are still running" \
	"$(state_of "$a") $(state_of "$r") $(state_of "$held")" "RUNNING RUNNING RUNNING"
t_wait 30 running "$user_job"
t_eq "the job select/reputation held back now runs on n1 (quorate's rules are gone)" "$(nodes_of "$user_job")" "n1 "
since=$(tail -n +"$((switch_line + 1))" "$log")
t_eq "no job record was lost or unreadable" \
	"$(printf '%s\n' "$since" | grep -iE 'Incomplete job|select plugin .* not found|unpack.*error|job.*lost' | head -n 3)" ""
t_eq "select/reputation, still on PluginDir, did no work (no policy lines, no errors)" \
	"$(printf '%s\n' "$since" | grep 'select/reputation' | head -n 3)" ""
t_eq "select/reputation kept no state of its own in StateSaveLocation" \
	"$(ls "$dir/ctld" | grep -i -E 'reput|quorate')" ""
scancel --user=root
scancel --user=quorate-test
t_wait 30 sh -c '[ "$(sinfo -h -t idle -o %D)" = 6 ]'
j=$(submit -N6 -n6 --wrap true)
t_eq "new jobs schedule under cons_tres, quarantined n1 included" \
	"$(t_wait_job "$j" 60) $(scontrol show job "$j" | grep -o ' NodeList=[^ ]*')" "COMPLETED  NodeList=n[1-6]"
t_done
