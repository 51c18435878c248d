#!/bin/bash
# Byzantine nodes (issue 13), on a private cluster (6 nodes: n1 n2 site_a,
# n3 n4 site_b, n5 n6 site_c) with select/reputation, spank_quorate and a
# fresh quorated at its defaults (MinVerdicts=5, QuarantineBelow=40,
# PushReputation=yes).  n1 and n2, both of site_a, collude: they print the
# same wrong answer.  10 steps `srun -N3 --replicas=3 --quorum=2` placed by
# the plugin (no -w): replicas land on 3 distinct sites, so no step has
# both liars and every verdict is the honest answer.  Each liar always
# lies: the replicated jobs it took part in until quarantine are counted
# (at most 5).  A control with -w (root's override) puts both liars in one
# step: they then win 2 of 3, so it is the placement that protects.
. "$(dirname "$0")/lib.sh"

dir=/tmp/q-reliability-t83
steps=10
t_fresh_cluster "$dir" --nodes 6 --sites 3 --select reputation
cd "$T_TMP" || exit 1

sql() { psql -X -tA -F ' ' -c "$1"; }
state() { sql "SELECT state FROM nodes WHERE name = '$1'"; }
extra_state() { scontrol show node "$1" | grep -o 'quorate_state=[a-z]*' | cut -d= -f2; }
# The liars answer "lie", every other node "truth".
lying_step='case "$SLURMD_NODENAME" in n1|n2) echo lie ;; *) echo truth ;; esac'

declare -A jobs_of quarantined_after
both=0 honest=0 with_liar=0
for i in $(seq 1 "$steps"); do
	timeout 120 srun -N3 --replicas=3 --quorum=2 sh -c "$lying_step" > "o$i" 2> "e$i"
	rc=$?
	job=$(sed -n 's/^quorate: step \([0-9]*\)\.0 .*/\1/p' "e$i")
	nodes=$(sql "SELECT string_agg(n, ' ' ORDER BY n) FROM replica_outcomes, unnest(nodes) n
		WHERE job_id = ${job:-0} AND step_id = 0")
	verdict=$(sql "SELECT verdict, agree, disagree FROM verdicts WHERE job_id = ${job:-0} AND step_id = 0")
	liars=0
	for n in n1 n2; do
		case " $nodes " in
		*" $n "*)
			liars=$((liars + 1))
			jobs_of[$n]=$((${jobs_of[$n]:-0} + 1))
			if [ -z "${quarantined_after[$n]:-}" ] && [ "$(state $n)" = quarantined ]; then
				quarantined_after[$n]=${jobs_of[$n]}
				# the next placement must see it: wait for the push to slurmctld
				t_wait 15 sh -c "scontrol show node $n | grep -q quorate_state=quarantined"
			fi ;;
		esac
	done
	[ "$liars" -ge 2 ] && both=$((both + 1))
	[ "$liars" -ge 1 ] && with_liar=$((with_liar + 1))
	[ "$rc" = 0 ] && [ "$(cat "o$i")" = truth ] && honest=$((honest + 1))
	t_diag "step $i: job ${job:-?} on ${nodes:-?}: ${verdict:-no verdict}, srun exit $rc, printed '$(cat "o$i")'"
done
t_eq "$steps replicated steps: none placed both colluders (n1, n2 of site_a)" "$both" 0
t_eq "... every one ACCEPTED with the honest answer" "$honest" "$steps"
t_run "... and the colluders took part ($with_liar of $steps steps had one)" test "$with_liar" -gt 0
for n in n1 n2; do
	t_diag "$n always lied: state $(state $n) after ${jobs_of[$n]:-0} replicated jobs; quarantined after job ${quarantined_after[$n]:-never}"
done
# Every step had a site_a node, so at least one liar met 5 verdicts.
first=$(for n in n1 n2; do echo "${quarantined_after[$n]:-}"; done | grep . | sort -n | head -n 1)
t_run "an always-lying node is quarantined within 5 of its replicated jobs (measured: ${first:-never})" \
	test -n "$first" -a "${first:-99}" -le 5
# Every step has one site_a node, and each liar leaves at its 5th: the 10
# steps are 5 of each.
for n in n1 n2; do
	t_run "$n took part in 5 replicated jobs or more (${jobs_of[$n]:-0})" test "${jobs_of[$n]:-0}" -ge 5
	t_run "$n: quarantined within 5 jobs (after ${quarantined_after[$n]:-never} of its ${jobs_of[$n]:-0})" \
		test "${quarantined_after[$n]:-99}" -le 5
done
for n in n3 n4 n5 n6; do
	t_eq "$n (honest) has no disagree event" \
		"$(sql "SELECT count(*) FROM reputation_events WHERE node = '$n' AND kind = 'disagree'")" 0
done
t_eq "slurmctld's Extra of a quarantined liar says so" "$(extra_state "$(for n in n1 n2; do
	[ -n "${quarantined_after[$n]:-}" ] && echo $n; done | head -n 1)")" quarantined

# Control: root's -w puts both colluders into distinct replica groups.
timeout 120 srun -N3 -w n1,n2,n3 --replicas=3 --quorum=2 sh -c "$lying_step" > ctl.out 2> ctl.err
t_eq "control: -w n1,n2,n3 (placement overridden), the colluders win 2 of 3" "$(cat ctl.out)" lie
t_match "... verified 2/3" "$(cat ctl.err)" "verified 2/3"
t_done
