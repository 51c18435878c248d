#!/bin/bash
# Reputation that never punishes honest nodes (issue 19), on a private
# cluster (6 nodes: n1 n2 site_a, n3 n4 site_b, n5 n6 site_c) with
# select/reputation, spank_quorate and a fresh quorated at its defaults.
#   1. A mixed workload: 60 replicated steps (srun -N3 --replicas=3, and
#      every fourth -N6 --replicas=6 until the liar is quarantined, since
#      the placement otherwise keeps the liar out after its first lie), n1
#      always lying, with a plain job that asks for every node it can get
#      (srun -N1-6) after every fifth.  After each step the state slurmctld
#      schedules each honest node by is sampled: the share of samples in
#      which an honest node takes plain work is the figure "honest
#      node-seconds available to plain jobs" (goal 100 %).
#   2. The admin's commands: refused to an ordinary user; root's
#      quarantine reaches slurmctld in its next cycle; release; reset; the
#      events with the admin's uid and reason.
#   3. Verdicts that say what they verified: --verify of a file no
#      replica wrote, replicas that all fail alike, the final reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

dir=/tmp/q-reliability-t85
steps=60
honest="n2 n3 n4 n5 n6"
t_fresh_cluster "$dir" --nodes 6 --sites 3 --select reputation
cd "$T_TMP" || exit 1
log=$dir/log/quorated.log

sql() { psql -X -tA -F ' ' -c "$1"; }
state() { sql "SELECT state FROM nodes WHERE name = '$1'"; }
# The state select/reputation schedules a node by (neutral: no token yet).
sched_state() {
	local s
	s=$(scontrol show node "$1" | grep -o 'quorate_state=[a-z]*' | cut -d= -f2)
	echo "${s:-neutral}"
}
lying_step='case "$SLURMD_NODENAME" in n1) echo lie ;; *) echo truth ;; esac'

# --- 1. the mixed workload ----------------------------------------------
declare -A plain_on
samples=0 available=0 honest_ok=0 liar_jobs=0 liar_quarantined_after= plain_on_liar_late=0
for i in $(seq 1 "$steps"); do
	width=3
	[ $((i % 4)) = 0 ] && [ -z "$liar_quarantined_after" ] && width=6
	timeout 120 srun -N$width --replicas=$width sh -c "$lying_step" > "o$i" 2> "e$i"
	rc=$?
	job=$(sed -n 's/^quorate: step \([0-9]*\)\.0 .*/\1/p' "e$i")
	[ "$rc" = 0 ] && [ "$(cat "o$i")" = truth ] && honest_ok=$((honest_ok + 1))
	nodes=$(sql "SELECT string_agg(n, ' ' ORDER BY n) FROM replica_outcomes, unnest(nodes) n
		WHERE job_id = ${job:-0} AND step_id = 0")
	case " $nodes " in *" n1 "*) liar_jobs=$((liar_jobs + 1)) ;; esac
	if [ -z "$liar_quarantined_after" ] && [ "$(state n1)" = quarantined ]; then
		liar_quarantined_after=$liar_jobs
		t_wait 15 sh -c "scontrol show node n1 | grep -q quorate_state=quarantined"
	fi
	for n in $honest; do
		samples=$((samples + 1))
		case "$(sched_state "$n")" in
		neutral|unproven|trusted) available=$((available + 1)) ;;
		*) t_diag "step $i: honest $n is $(sched_state "$n") in slurmctld" ;;
		esac
	done
	if [ $((i % 5)) = 0 ]; then
		got=$(timeout 60 srun -N1-6 --immediate=30 printenv SLURMD_NODENAME 2>&1 | sort | tr '\n' ' ')
		for n in $got; do plain_on[$n]=1; done
		[ -n "$liar_quarantined_after" ] && case " $got " in *" n1 "*) plain_on_liar_late=1 ;; esac
		t_diag "after step $i: srun -N1-6 ran on: $got"
	fi
done
t_eq "$steps replicated steps with a liar, every one ACCEPTED with the honest answer" "$honest_ok" "$steps"
t_run "the liar n1 is quarantined by its 5th replicated job (after ${liar_quarantined_after:-never} of $liar_jobs)" \
	test -n "$liar_quarantined_after" -a "${liar_quarantined_after:-99}" -le 5
t_eq "every one of the liar's outcomes is a disagreement" \
	"$(sql "SELECT count(*) FROM reputation_events WHERE node = 'n1' AND kind = 'disagree'")" "$liar_jobs"
t_eq "no plain job ran on n1 after its quarantine" "$plain_on_liar_late" 0
share=$(awk -v a="$available" -v s="$samples" 'BEGIN { printf "%.1f", s ? 100 * a / s : 0 }')
t_diag "honest node-seconds available to plain jobs: $share % ($available of $samples samples, one per honest node after each step)"
t_eq "share of honest node-seconds available to plain jobs: 100 % (measured $share %)" "$available" "$samples"
t_eq "the plain jobs (srun -N1-6) ran on all 5 honest nodes" \
	"$(for n in $honest; do [ -n "${plain_on[$n]:-}" ] && echo "$n"; done | tr '\n' ' ')" "n2 n3 n4 n5 n6 "
for n in $honest; do
	t_match "honest $n: unproven or trusted ($(state "$n"), score $(sql "SELECT round(score::numeric, 1) FROM nodes WHERE name = '$n'"))" \
		"$(state "$n")" '^(unproven|trusted)$'
done
t_eq "no honest node has a disagree or missing event" \
	"$(sql "SELECT count(*) FROM reputation_events WHERE node <> 'n1' AND kind IN ('disagree', 'missing')")" 0
t_eq "at least one honest node earned trust" \
	"$(sql "SELECT count(*) > 0 FROM nodes WHERE name <> 'n1' AND state = 'trusted'")" t
out=$(timeout 60 srun -N5 --immediate=20 hostname 2>&1); rc=$?
t_eq "srun -N5 hostname runs at once (exit $rc)" "$(wc -l <<<"$out") $rc" "5 0"

# --- 2. the admin's commands ---------------------------------------------
before=$(qd_counter forbidden)
out=$(qd_as_user "$QD_QUORATE" node quarantine n3 --reason "not mine to judge" 2>&1); rc=$?
t_eq "an ordinary user may not quarantine a node (exit 1)" "$rc" 1
t_match "... told why" "$out" "may not change a node's reputation \(only root and SlurmUser\) \(forbidden\)"
t_eq "... counted" "$(qd_counter forbidden)" "$((before + 1))"
t_match "... and logged" "$(tail -n 20 "$log")" "node_admin from uid $(id -u quorate-test) .* refused"
t_eq "n3 is untouched" "$(sql "SELECT count(*) FROM reputation_events WHERE node = 'n3' AND kind LIKE 'admin-%'")" 0
out=$(quorate node quarantine n3 2>&1); rc=$?
t_eq "quarantine without --reason is a usage error (exit 2)" "$rc" 2
t_match "... naming the option" "$out" "--reason TEXT is required"
t_eq "an unknown action is a usage error" "$(quorate node pardon n3 --reason x > /dev/null 2>&1; echo $?)" 2
out=$(quorate node release n99 --reason "typo" 2>&1); rc=$?
t_eq "a node quorated does not know is refused (exit 1)" "$rc" 1
t_match "... saying so" "$out" "no record of node n99"

was=$(state n3)
out=$(quorate node quarantine n3 --reason "ECC errors, ticket 4711" 2>&1); rc=$?
t_eq "root quarantines n3 (exit 0)" "$rc" 0
t_match "... and is told the change" "$out" "^n3: $was -> quarantined \(score [0-9]+\.[0-9]\)$"
t_wait 15 sh -c "scontrol show node n3 | grep -q quorate_state=quarantined"
t_eq "slurmctld has the new state in n3's Extra" "$(sched_state n3)" quarantined
j=$(runuser -u quorate-test -- sbatch --parsable -D /tmp -o /dev/null -w n3 -N1 --wrap true)
t_wait 20 sh -c "squeue -h -j $j -o %r | grep -q QuorateTrust"
t_match "the next cycle: a user's job asking for n3 pends" "$(squeue -h -j "$j" -o %r)" \
	'QuorateTrust: required node n3 is quarantined'
t_eq "the hold is stored" "$(sql "SELECT admin_hold, quarantined_until IS NULL FROM nodes WHERE name = 'n3'")" "t t"
timeout 120 srun -N3 -w n2,n3,n5 --replicas=3 true > /dev/null 2>&1
t_eq "n3 took part (root's -w) and agreed" \
	"$(sql "SELECT kind FROM reputation_events WHERE node = 'n3' ORDER BY id DESC LIMIT 1")" agree
t_eq "... which does not end an admin's quarantine" "$(state n3)" quarantined
out=$(quorate node release n3 --reason "DIMM replaced" 2>&1); rc=$?
t_eq "root releases n3 (exit 0)" "$rc" 0
t_match "... back to the rule's state" "$out" '^n3: quarantined -> (unproven|trusted) '
t_wait 30 sh -c "[ \"\$(squeue -h -j $j -o %T)\" != PENDING ]"
t_match "the user's job for n3 runs once slurmctld sees the release" \
	"$(scontrol -o show job "$j" | grep -o 'JobState=[A-Z]*')" 'JobState=(RUNNING|COMPLETING|COMPLETED)'
out=$(quorate node reset n4 --reason "reinstalled" 2>&1); rc=$?
t_eq "root resets n4 (exit 0)" "$rc" 0
t_eq "n4 starts over: unproven, no verdicts, score 0" \
	"$(sql "SELECT state, verdicts, score FROM nodes WHERE name = 'n4'")" "unproven 0 0"
ev=$(quorate events n3 --limit 3)
t_match "quorate events n3 lists the quarantine, its reason and the admin" "$ev" \
	'admin-quarantine +ECC errors, ticket 4711 .*->quarantined +by uid 0'
t_match "... and the release" "$ev" 'admin-release +DIMM replaced .*quarantined->.* +by uid 0'
t_match "quorate events n4 lists the reset" "$(quorate events n4 --limit 1)" 'admin-reset +reinstalled .* by uid 0'
t_eq "the events are stored with the admin's uid" \
	"$(sql "SELECT string_agg(kind || ':' || admin_uid, ' ' ORDER BY id) FROM reputation_events WHERE kind LIKE 'admin-%'")" \
	"admin-quarantine:0 admin-release:0 admin-reset:0"

# --- 3. verdicts that say what they verified -----------------------------
out=$(timeout 120 srun -N3 --replicas=3 --verify=nonsense true 2>&1); rc=$?
t_eq "--verify=nonsense that no replica writes: no result (exit 66)" "$rc" 66
t_match "... said in the verdict line" "$out" 'quorate: step [0-9]+\.0 NO RESULT: no replica wrote nonsense \(--verify\); [23] of 3 agree only that it is absent'
t_eq "... not 'verified'" "$(grep -c verified <<<"$out")" 0
out=$(timeout 120 srun -N3 --replicas=3 sh -c 'exit 3' 2>&1); rc=$?
t_eq "replicas that all exit 3: srun exits 3" "$rc" 3
t_match "... and the verdict line says they failed alike" "$out" \
	'verified [23]/3 \(quorum 2\) sha256=[0-9a-f]{64}; every replica failed alike: exit status 3$'
out=$(timeout 120 srun -N3 --replicas=3 echo same 2>&1)
job=$(sed -n 's/^quorate: step \([0-9]*\)\.0 .*/\1/p' <<<"$out")
t_wait 20 sh -c "psql -X -tAc \"SELECT reason FROM verdicts WHERE job_id = ${job:-0}\" | grep -q '^3 of 3'"
t_eq "once all three agreed, the verdict's reason says so" \
	"$(sql "SELECT reason FROM verdicts WHERE job_id = ${job:-0} AND step_id = 0")" "3 of 3 replicas agree (quorum 2)"
t_done
