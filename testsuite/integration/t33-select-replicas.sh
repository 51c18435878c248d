#!/bin/bash
# Replicated jobs under select/reputation on a private cluster (6 nodes:
# n1 n2 site_a, n3 n4 site_b, n5 n6 site_c): --replicas=N spans
# min(N, sites) sites with each replica group inside one site; with a site
# unavailable the job pends with the reason (the documented behaviour);
# probation nodes take replicated jobs and never plain ones.
. "$(dirname "$0")/lib.sh"
t_need_select

dir=/tmp/q-plugins-t33
# a fresh directory: no jobs, scores or ports left from an earlier run
"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
rm -rf "$dir"
if ! t_private_cluster "$dir" --nodes 6 --sites 3 --select reputation --no-quorated; then
	t_fail "private cluster with select/reputation"
	exit 1
fi
t_use_cluster "$dir"

. "$(dirname "$0")/sched-lib.sh"
site_of() { scontrol show node "$1" | grep -o 'AvailableFeatures=site_[a-z]*' | cut -d= -f2; }
sites_of() {	# sorted site per node of a job, e.g. "site_a site_b site_c "
	local n
	for n in $(nodes_of "$1"); do site_of "$n"; done | sort | tr '\n' ' '
}

# --- spread ----------------------------------------------------------------
j1=$(submit --replicas=3 -N3 --wrap 'sleep 120')
t_wait 20 running "$j1"
t_eq "--replicas=3 -N3 lands on 3 distinct sites" "$(sites_of "$j1")" "site_a site_b site_c "
plain=$(submit -N3 --wrap 'sleep 120')
t_wait 20 running "$plain"
t_eq "a plain -N3 job is placed as cons_tres would (no spreading)" "$(sites_of "$plain")" "site_a site_a site_b "
clean

# three at once: the best nodes fill up, later ones still span 3 sites
jobs=
for i in 1 2 3; do jobs="$jobs $(submit --replicas=3 -N3 --wrap 'sleep 120')"; done
t_wait 30 sh -c "[ \$(squeue -h -t R | wc -l) -eq 3 ]"
for j in $jobs; do
	t_eq "concurrent --replicas=3 job $j spans 3 sites" "$(sites_of "$j")" "site_a site_b site_c "
done
clean

j=$(submit --replicas=2 -N4 --wrap 'sleep 60')
t_wait 20 running "$j"
t_eq "--replicas=2 -N4: two groups of 2, each inside one site" \
	"$(sites_of "$j" | tr ' ' '\n' | grep . | uniq -c | awk '{ print $1 }' | tr '\n' ' ')" "2 2 "
clean

j=$(submit --replicas=4 -N4 --wrap 'sleep 60')
t_wait 20 running "$j"
t_eq "--replicas=4 -N4 over 3 sites uses all 3 (min(N, sites))" \
	"$(sites_of "$j" | tr ' ' '\n' | grep . | sort -u | wc -l)" "3"
clean

# --- only 2 sites available: pending with the reason ----------------------
score n5 "reputation=10.0 quorate_state=quarantined"
score n6 "reputation=10.0 quorate_state=quarantined"
j=$(submit --replicas=3 -N3 --wrap 'sleep 60')
t_wait 20 pending_with "$j" QuorateSites
t_eq "site_c quarantined: --replicas=3 -N3 pends and squeue says why" "$(reason_of "$j")" \
	"QuorateSites: --replicas=3 needs 3 sites, eligible nodes on 2: site_a,site_b"
score n6 ""
t_wait 20 running "$j"
t_eq "n6 back: the job runs on 3 sites" "$(sites_of "$j")" "site_a site_b site_c "
score n5 ""
clean

scontrol update nodename=n5,n6 state=drain reason=t33
j=$(submit --replicas=3 -N3 --wrap 'sleep 60')
t_wait 20 pending_with "$j" QuorateSites
t_eq "site_c drained: the job pends with the same reason" "$(reason_of "$j")" \
	"QuorateSites: --replicas=3 needs 3 sites, eligible nodes on 2: site_a,site_b"
scontrol update nodename=n5,n6 state=resume
t_wait 20 running "$j"
t_eq "site_c resumed: the job runs on 3 sites" "$(sites_of "$j")" "site_a site_b site_c "
clean

# a full site: the job waits for room rather than doubling up
fill=
for n in n3 n3 n4 n4; do fill="$fill $(submit -w $n -n1 --wrap 'sleep 120')"; done
t_wait 30 sh -c "[ \$(squeue -h -t R | wc -l) -eq 4 ]"
j=$(submit --replicas=3 -N3 --wrap 'sleep 60')
t_wait 20 pending_with "$j" QuorateSites
t_match "site_b full: the job pends, waiting for room on 3 sites" "$(reason_of "$j")" \
	'^QuorateSites: --replicas=3 needs (room on 3 sites; eligible on|3 sites, eligible nodes on 2:) '
scancel $fill
t_wait 30 running "$j"
t_eq "site_b free again: the job runs on 3 sites" "$(sites_of "$j")" "site_a site_b site_c "
clean

# --- probation: replicated jobs only ------------------------------------
score n1 "reputation=60.0 quorate_state=probation"
score n2 "reputation=55.0 quorate_state=probation"
jobs=
for i in $(seq 1 8); do jobs="$jobs $(submit -n1 --wrap 'sleep 120')"; done
ninth=$(submit -n1 --wrap 'sleep 120')
t_wait 30 sh -c "[ \$(squeue -h -t R | wc -l) -eq 8 ]"
t_wait 20 pending_with "$ninth" QuorateTrust
t_eq "8 plain jobs run, none on the probation nodes n1, n2" \
	"$(for j in $jobs; do nodes_of "$j"; done | tr ' ' '\n' | grep -c -E '^n[12]$')" "0"
t_match "the 9th plain job waits although n1, n2 are idle" "$(reason_of "$ninth")" '2 on probation'
clean
j=$(submit --replicas=3 -N3 --wrap 'sleep 60')
t_wait 20 running "$j"
t_match "a replicated job takes a probation node (site_a has no other)" "$(nodes_of "$j")" '^n1 n[34] n[56] $'
clean
t_done
