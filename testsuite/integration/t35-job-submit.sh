#!/bin/bash
# The public-API placement (doc/placement.md) on a private cluster of 6
# nodes over 3 sites (n1 n2 site_a, n3 n4 site_b, n5 n6 site_c) under
# select/cons_tres: quorated writes each node's Weight and its
# quorate_plain/quorate_replica features from the score and state in its
# Extra (PushPlacement=yes, PlacementInterval=2), job_submit/quorate adds
# them to each job's constraint.  t31-t33's outcomes: quarantine, the
# admin's --nodelist override, order by reputation, probation, scores
# applied from the next cycle, replicas spread over sites; then the
# placement coming back after a reconfigure and a slurmctld restart.
# The test writes the scores into Extra itself (as t32 does), and runs no
# replicated step, whose verdict would make quorated write its own.
. "$(dirname "$0")/lib.sh"

if [ ! -f "$T_BUILD/plugins/job_submit/.libs/job_submit_quorate.so" ]; then
	t_fail "job_submit_quorate.so is built in $T_BUILD"
	exit 1
fi
dir=/tmp/q-plugins-t35
"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
rm -rf "$dir"
if ! t_private_cluster "$dir" --nodes 6 --sites 3 --select cons_tres --job-submit quorate; then
	t_fail "private cluster with select/cons_tres and job_submit/quorate"
	exit 1
fi
t_use_cluster "$dir"
log=$dir/log/slurmctld.log
ctld=$(cat "$dir/run/slurmctld.pid")

. "$(dirname "$0")/sched-lib.sh"
features_of() { scontrol show node "$1" | sed -n 's/^ *AvailableFeatures=//p'; }
weight_of() { scontrol show node "$1" | grep -o ' Weight=[0-9]*' | cut -d= -f2; }
has() { features_of "$1" | tr ',' '\n' | grep -qx "$2"; }
lacks() { ! has "$1" "$2"; }
site_of() { features_of "$1" | tr ',' '\n' | grep '^site_'; }
sites_of() {
	local n
	for n in $(nodes_of "$1"); do site_of "$n"; done | sort | tr '\n' ' '
}
pending() { [ "$(squeue -h -j "$1" -o %T)" = PENDING ]; }
# quorated has written the node's features for its Extra, and the
# plugin's thread (every 2 s) has read them
placed() {
	t_wait 20 "$@"
	sleep 3
}

# --- quorated writes every node's Weight and features ---------------------
placed sh -c "[ \$(sinfo -h -N -o %f | grep -c 'quorate_plain,quorate_replica') -eq 6 ]"
t_eq "every node takes plain and replicated jobs (no scores yet)" \
	"$(sinfo -h -N -o '%N %f' | sort | tr '\n' ';')" \
	"n1 site_a,quorate_plain,quorate_replica;n2 site_a,quorate_plain,quorate_replica;n3 site_b,quorate_plain,quorate_replica;n4 site_b,quorate_plain,quorate_replica;n5 site_c,quorate_plain,quorate_replica;n6 site_c,quorate_plain,quorate_replica;"
w=$(weight_of n1)
t_eq "a node's Weight is quorate's: flag, slurm.conf's weight 1, neutral rank" \
	"$(( (w >> 31) & 1 )) $(( (w >> 12) & 0x7ffff ))" "1 1"
t_match "slurmctld loaded job_submit/quorate" "$(grep 'job_submit/quorate' "$log" | head -n 1)" 'job_submit/quorate: loaded'

j=$(submit -N1 --wrap 'sleep 30')
t_eq "a plain job asks for quorate_plain" "$(squeue -h -j "$j" -o %f)" "quorate_plain"
j2=$(submit -N1 -C site_b --wrap 'sleep 30')
t_eq "beside the user's own constraint" "$(squeue -h -j "$j2" -o %f)" "site_b&quorate_plain"
clean

# --- quarantine: no new jobs ----------------------------------------------
score n3 "reputation=20.0 quorate_state=quarantined"
placed lacks n3 quorate_replica
t_eq "quorated takes both features from the quarantined n3" "$(features_of n3)" "site_b"
jobs=
for i in $(seq 1 10); do jobs="$jobs $(submit -n1 --wrap 'sleep 120')"; done
t_wait 30 sh -c "[ \$(squeue -h -t R | wc -l) -eq 10 ]"
used=$(for j in $jobs; do nodes_of "$j"; done | tr ' ' '\n' | grep . | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
t_eq "10 one-CPU jobs fill the 5 other nodes; the quarantined n3 gets none" \
	"$used" "n1=2 n2=2 n4=2 n5=2 n6=2 "
eleventh=$(submit -n1 --wrap 'sleep 120')
sleep 6
t_run "the 11th job pends while n3 is idle" pending "$eleventh"

# --- a new score applies from the next cycle, no restart -----------------
score n3 "reputation=90.0 quorate_state=trusted"
t_wait 30 running "$eleventh"
t_eq "after n3 is trusted again, the pending job starts there" "$(nodes_of "$eleventh")" "n3 "
t_eq "slurmctld was not restarted" "$(cat "$dir/run/slurmctld.pid")" "$ctld"
clean

# --- the admin override, and nobody else's --------------------------------
score n3 "reputation=20.0 quorate_state=quarantined"
placed lacks n3 quorate_replica
over=$(submit -w n3 -N1 --wrap 'sleep 60')
t_wait 20 running "$over"
t_eq "root's --nodelist=n3 runs on the quarantined node" "$(nodes_of "$over")" "n3 "
t_match "slurmctld logs the override" "$(grep 'job_submit/quorate' "$log" | grep 'admin override' | tail -n 1)" \
	'uid 0 names n3 \(quarantined\) with --nodelist=n3: admin override'
out=$(runuser -u quorate-test -- sbatch --parsable -D /tmp -o /dev/null -w n3 -N1 --wrap 'sleep 60' 2>&1)
t_match "a user's --nodelist=n3 is refused, saying why" "$out" \
	'quorate: required node n3 is quarantined; only root or SlurmUser may override with --nodelist'
clean

# --- order: trusted by score, then neutral; probation only replicated -----
score n1 "reputation=50.0 quorate_state=probation"
score n2 "reputation=60.0 quorate_state=probation"
score n3 "reputation=90.0"
score n4 "reputation=99.0"
placed sh -c "[ \"\$(scontrol show node n2 | sed -n 's/^ *AvailableFeatures=//p')\" = site_a,quorate_replica ] &&
	[ \"\$(scontrol show node n3 | sed -n 's/^ *AvailableFeatures=//p')\" = site_b,quorate_plain,quorate_replica ]"
for n in 1 2 3 4; do
	t_wait 30 all_idle
	got=$(cd "$T_TMP" && timeout 60 srun -N$n printenv SLURMD_NODENAME | sort | tr '\n' ' ')
	case $n in
	1) want="n4 " ;; 2) want="n3 n4 " ;; 3) want="n3 n4 n5 " ;; 4) want="n3 n4 n5 n6 " ;;
	esac
	t_eq "srun -N$n takes the best nodes: trusted by score, then neutral" "$got" "$want"
done
jobs=
for i in $(seq 1 8); do jobs="$jobs $(submit -n1 --wrap 'sleep 120')"; done
t_wait 30 sh -c "[ \$(squeue -h -t R | wc -l) -eq 8 ]"
ninth=$(submit -n1 --wrap 'sleep 120')
sleep 6
t_eq "plain jobs never land on the probation nodes n1, n2" \
	"$(for j in $jobs; do nodes_of "$j"; done | tr ' ' '\n' | grep -c -E '^n[12]$')" "0"
t_run "the 9th plain job waits rather than use probation nodes" pending "$ninth"
clean
rep=$(submit --replicas=2 -N2 -w n1,n2 --wrap 'sleep 30')
t_wait 20 running "$rep"
t_eq "a replicated job's user may name the probation nodes" "$(nodes_of "$rep")" "n1 n2 "
clean

# --- replicas spread over sites --------------------------------------------
for n in n1 n2 n3 n4; do score $n ""; done
placed sh -c "[ \$(sinfo -h -N -o %f | grep -c 'quorate_plain,quorate_replica') -eq 6 ]"
j=$(submit --replicas=3 -N3 --wrap 'sleep 60')
t_wait 20 running "$j"
t_eq "--replicas=3 -N3 lands on 3 distinct sites" "$(sites_of "$j")" "site_a site_b site_c "
t_match "through one counted term per site" "$(squeue -h -j "$j" -o %f)" \
	'^\[\(site_[abc]&quorate_replica\)\*1&\(site_[abc]&quorate_replica\)\*1&\(site_[abc]&quorate_replica\)\*1\]$'
t_match "squeue -o %k says the plan" "$(squeue -h -j "$j" -o %k)" \
	'^quorate: 3 replica groups of 1 node\(s\) on site_[abc], site_[abc], site_[abc]$'
c=$(submit --replicas=2 -N2 --comment 'my own words' --wrap 'sleep 60')
t_eq "a job's own comment is kept" "$(squeue -h -j "$c" -o %k)" "my own words"
clean
score n2 "reputation=99.0 quorate_state=trusted"
score n4 "reputation=98.0 quorate_state=trusted"
score n6 "reputation=97.0 quorate_state=trusted"
placed sh -c "scontrol show node n6 | grep -q ' Weight=2147487'"
j=$(submit --replicas=3 -N3 --wrap 'sleep 60')
t_wait 20 running "$j"
t_eq "within each site, the better node: trusted before neutral" "$(nodes_of "$j")" "n2 n4 n6 "
clean
for n in n2 n4 n6; do score $n ""; done
placed sh -c "[ \$(sinfo -h -N -o %f | grep -c 'quorate_plain,quorate_replica') -eq 6 ] && ! scontrol show node n6 | grep -q ' Weight=2147487'"
j=$(submit --replicas=3 -N6 --wrap 'sleep 60')
t_wait 20 running "$j"
t_eq "--replicas=3 -N6: each replica group inside one site" "$(sites_of "$j")" \
	"site_a site_a site_b site_b site_c site_c "
clean
score n3 "reputation=20.0 quorate_state=quarantined"
score n4 "reputation=20.0 quorate_state=quarantined"
placed sh -c "[ \$(sinfo -h -N -o %f | grep -c quorate_replica) -eq 4 ]"
j=$(submit --replicas=3 -N3 --wrap 'sleep 60')
t_wait 20 running "$j"
t_eq "site_b quarantined: --replicas=3 spans the 2 sites left" \
	"$(sites_of "$j" | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ')" "site_a site_c "
clean
out=$(cd "$T_TMP" && sbatch --parsable -o /dev/null --replicas=2 -N4 --wrap true 2>&1)
t_match "--replicas=2 -N4 with room for whole groups on 2 sites only: runs" "$out" '^[0-9]+$'
clean
out=$(cd "$T_TMP" && sbatch --parsable -o /dev/null --replicas=3 -N6 --wrap true 2>&1)
t_match "--replicas=3 -N6 with one site's nodes quarantined is refused, saying why" "$out" \
	'quorate: --replicas=3 with 2 node\(s\) each does not fit on the 2 site\(s\) chosen'
out=$(cd "$T_TMP" && sbatch --parsable -o /dev/null --replicas=2 -N2 -C 'ib|bigmem' --wrap true 2>&1)
t_match "--replicas with a constraint that uses '|' is refused, saying why" "$out" \
	"may only join features with '&'"
j=$(submit --replicas=2 -N2 -C site_c --wrap 'sleep 30')
t_wait 20 running "$j"
t_eq "--replicas with the user's own site: the user's choice" "$(nodes_of "$j")" "n5 n6 "
clean

# --- a reconfigure and a restart: the placement comes back ----------------
scontrol reconfigure
placed sh -c "[ \$(sinfo -h -N -o %f | grep -c quorate_replica) -eq 4 ]"
t_eq "after scontrol reconfigure, n3 and n4 are still without the features" \
	"$(features_of n3) $(features_of n4)" "site_b site_b"
pid=$(cat "$dir/run/slurmctld.pid")
kill -TERM "$pid"
t_wait 30 sh -c "! kill -0 $pid 2>/dev/null"
"$T_TOP/scripts/cluster" up --dir "$dir" > "$T_TMP/restart.log" 2>&1
t_run "slurmctld starts again" scontrol ping
t_run "slurmctld was restarted" test "$(cat "$dir/run/slurmctld.pid")" != "$ctld"
placed sh -c "[ \$(sinfo -h -N -o %f | grep -c quorate_plain) -eq 4 ]"
jobs=
for i in $(seq 1 8); do jobs="$jobs $(submit -n1 --wrap 'sleep 60')"; done
t_wait 30 sh -c "[ \$(squeue -h -t R | wc -l) -eq 8 ]"
t_eq "after the restart, 8 jobs still keep off n3 and n4" \
	"$(for j in $jobs; do nodes_of "$j"; done | tr ' ' '\n' | grep -c -E '^n[34]$')" "0"
clean

# --- quorated's own push: a verdict's scores, with Weight and features ----
for n in n1 n2 n3 n4 n5 n6; do score $n ""; done
placed sh -c "[ \$(sinfo -h -N -o %f | grep -c 'quorate_plain,quorate_replica') -eq 6 ]"
out=$(cd "$T_TMP" && timeout 120 srun --replicas=3 -N3 -w n1,n3,n5 sh -c 'echo 42' 2>&1)
t_match "a replicated step is verified" "$out" 'verified 3/3'
t_wait 30 sh -c "scontrol show node n1 n3 n5 | grep -c 'Extra=.*quorate_state=' | grep -qx 3"
t_eq "quorated pushed the three nodes' scores, and they still take every job" \
	"$(for n in n1 n3 n5; do features_of $n; done | tr '\n' ' ')" \
	"site_a,quorate_plain,quorate_replica site_b,quorate_plain,quorate_replica site_c,quorate_plain,quorate_replica "
w=$(weight_of n1)
t_eq "with a quorate Weight (flag and slurm.conf's weight 1)" \
	"$(( (w >> 31) & 1 )) $(( (w >> 12) & 0x7ffff ))" "1 1"
t_eq "quorated logged no failure to write a Weight or features" \
	"$(grep -c "Weight and features: " "$dir/log/quorated.log")" "0"
t_done
