#!/bin/bash
# select/reputation's trust tiers on a private cluster (6 nodes, 3 sites,
# no quorated, so only this test writes scores): quarantine, the
# --nodelist override, probation, order by reputation, thresholds and
# scores applied without a slurmctld restart, a bad quorate.conf.
. "$(dirname "$0")/lib.sh"
t_need_select

dir=/tmp/q-plugins-t32
# a fresh directory: no jobs, scores or ports left from an earlier run
"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
rm -rf "$dir"
if ! t_private_cluster "$dir" --nodes 6 --sites 3 --select reputation --no-quorated; then
	t_fail "private cluster with select/reputation"
	exit 1
fi
t_use_cluster "$dir"
log=$dir/log/slurmctld.log
ctld=$(cat "$dir/run/slurmctld.pid")

. "$(dirname "$0")/sched-lib.sh"


# --- quarantine: no new jobs --------------------------------------------
score n3 "reputation=20.0 quorate_state=quarantined"
jobs=
for i in $(seq 1 10); do jobs="$jobs $(submit -n1 --wrap 'sleep 120')"; done
t_wait 30 sh -c "[ \$(squeue -h -t R | wc -l) -eq 10 ]"
used=$(for j in $jobs; do nodes_of "$j"; done | tr ' ' '\n' | grep . | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
t_eq "10 one-CPU jobs fill the 5 other nodes; the quarantined n3 gets none" \
	"$used" "n1=2 n2=2 n4=2 n5=2 n6=2 "
extra_job=$(submit -n1 --wrap 'sleep 120')
t_wait 20 pending_with "$extra_job" QuorateTrust
t_match "the 11th job pends while n3 is idle, and squeue says why" \
	"$(reason_of "$extra_job")" \
	'^QuorateTrust: needs 1 node, 5 eligible; excluded 1 quarantined, 0 on probation \(replicated jobs only\)$'
clean

# --- the admin override, and nobody else's ------------------------------
over=$(submit -w n3 -N1 --wrap 'sleep 60')
t_wait 20 running "$over"
t_eq "root's --nodelist=n3 runs on the quarantined node" "$(nodes_of "$over")" "n3 "
t_match "slurmctld logs the override" \
	"$(grep 'select/reputation' "$log" | grep "JobId=$over")" \
	"JobId=$over of uid 0 placed on n3 \(quarantined\) and 0 other excluded node\(s\) named by --nodelist: admin override"
user_job=$(runuser -u quorate-test -- sbatch --parsable -D /tmp -o /dev/null -w n3 -N1 --wrap 'sleep 60')
t_wait 20 pending_with "$user_job" QuorateTrust
t_eq "a user's --nodelist=n3 pends, with the reason" "$(reason_of "$user_job")" \
	"QuorateTrust: required node n3 is quarantined; only root or SlurmUser may override with --nodelist"
scancel "$over" "$user_job"

six=$(submit -N6 --wrap 'sleep 60')
t_wait 20 pending_with "$six" QuorateTrust
t_match "a 6-node job pends with the reason" "$(reason_of "$six")" '^QuorateTrust: needs 6 nodes, 5 eligible; excluded 1 quarantined'


# --- a new score applies from the next cycle, no restart ------------------
score n3 "reputation=90.0 quorate_state=trusted"
t_wait 20 running "$six"
t_eq "after n3 is trusted again, the pending 6-node job starts" "$(nodes_of "$six")" "n1 n2 n3 n4 n5 n6 "
t_eq "slurmctld was not restarted" "$(cat "$dir/run/slurmctld.pid")" "$ctld"
clean

# --- order: trusted by score, then neutral; probation only replicated ----
score n1 "reputation=50.0 quorate_state=probation"
score n2 "reputation=60.0 quorate_state=probation"
score n3 "reputation=90.0"
score n4 "reputation=99.0"
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
t_wait 20 pending_with "$ninth" QuorateTrust
t_eq "plain jobs never land on the probation nodes n1, n2" \
	"$(for j in $jobs; do nodes_of "$j"; done | tr ' ' '\n' | grep -c -E '^n[12]$')" "0"
t_match "the 9th plain job waits rather than use probation nodes" "$(reason_of "$ninth")" \
	'QuorateTrust: needs 1 node, 4 eligible; excluded 0 quarantined, 2 on probation'
clean

# --- a score alone is no evidence: unproven, every job --------------------
for n in n1 n3 n4; do score $n ""; done
score n2 "reputation=20.7"
j=$(runuser -u quorate-test -- sbatch --parsable -D /tmp -o /dev/null -w n2 -N1 --wrap 'sleep 60')
t_wait 20 running "$j"
t_eq "a user's plain job runs on n2, scored 20.7 with no state (unproven)" "$(nodes_of "$j")" "n2 "
score n2 "reputation=20.7 quorate_state=unproven"
j6=$(submit -N6 --wrap 'sleep 30')
t_wait 20 running "$j6"
t_eq "a 6-node plain job takes the unproven n2 too" "$(nodes_of "$j6")" "n1 n2 n3 n4 n5 n6 "
clean

# --- thresholds come from quorate.conf, re-read when it changes ---------
cp "$dir/etc/quorate.conf" "$T_TMP/quorate.conf.orig"
t_on_exit "cp '$T_TMP/quorate.conf.orig' '$dir/etc/quorate.conf'"
score n2 "reputation=70.0"
first_node() { (cd "$T_TMP" && timeout 60 srun -N1 printenv SLURMD_NODENAME); }
t_eq "with TrustAbove=80 (default), n2 at 70 is unproven: a neutral node goes first" \
	"$(first_node)" "n1"
echo "TrustAbove=65" >> "$dir/etc/quorate.conf"
t_wait 20 sh -c "[ \"\$(cd '$T_TMP' && timeout 60 srun -N1 printenv SLURMD_NODENAME)\" = n2 ]"
t_eq "TrustAbove=65 in quorate.conf: n2 is trusted from the next cycle, placed first" \
	"$(first_node)" "n2"
t_match "slurmctld logs the threshold it read" "$(grep 'select/reputation: TrustAbove=65 ' "$log")" 'SiteFeaturePrefix=site_'
clean

# --- a bad quorate.conf: logged, then cons_tres's placement --------------
score n1 "reputation=10.0 quorate_state=quarantined"
echo "TrustAbove=abc" > "$dir/etc/quorate.conf"
j=$(submit -N6 --wrap 'sleep 30')
t_wait 20 running "$j"
t_eq "with a bad quorate.conf, jobs are placed as cons_tres would (n1 quarantined, used)" \
	"$(nodes_of "$j")" "n1 n2 n3 n4 n5 n6 "
t_match "slurmctld logs the file and line" \
	"$(grep 'select/reputation' "$log" | grep 'quorate.conf:1' | tail -n 1)" \
	"error: select/reputation: $dir/etc/quorate.conf:1: .*abc.*; placing jobs as select/cons_tres would until it is fixed"
t_run "slurmctld still answers" scontrol ping
t_eq "and is the same process" "$(cat "$dir/run/slurmctld.pid")" "$ctld"
clean
cp "$T_TMP/quorate.conf.orig" "$dir/etc/quorate.conf"
j=$(submit -N6 --wrap 'sleep 30')
t_wait 20 pending_with "$j" QuorateTrust
t_match "quorate.conf fixed: the policy is back" "$(reason_of "$j")" 'excluded 1 quarantined'
clean
t_done
