#!/bin/bash
# Verdicts end to end: 2 of 3 replicas agree -> ACCEPTED and the third
# node's score falls, visible in `scontrol show node` (Extra, the admin's
# words kept); all differ -> REJECTED; duplicates and conflicts; a late
# replica; a verdict waited for; the agreed output; a batch in one
# credential; events with their reasons.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }
job=$(qd_job)
good=$(qd_sha "42")
bad=$(qd_sha "41")
b64=$(printf 'answer: 42\n' | base64)

score() { quorate --json nodes "$1" | jq -r '.nodes[0].score // 0'; }
verdicts() { quorate --json nodes "$1" | jq -r '.nodes[0].verdicts // 0'; }

# n5 (site c) first agrees five times with n1 (site a) and n3 (site b).
for i in 1 2 3 4 5; do
	for r in 0 1 2; do
		node=$(echo "n1 n3 n5" | cut -d' ' -f$((r + 1)))
		quorate send "$(qd_result "$job" "$i" "$r" 3 2 "$node" "$good")" > /dev/null
	done
done
t_eq "five 3/3 steps are ACCEPTED" \
	"$(for i in 1 2 3 4 5; do quorate --json verdict "$job.$i" | jq -r .verdict; done | sort -u)" ACCEPTED
n5_before=$(score n5)
n1_before=$(score n1)
v_before=$(verdicts n5)

# Someone waits for step 0's verdict before any replica reported.
quorate verdict "$job".0 --wait 30 > "$T_TMP/wait.out" 2>&1 &
waiter=$!
sleep 1
out=$(quorate send "$(qd_result "$job" 0 0 3 2 n1 "$good" 1000 "\"output_b64\":\"$b64\"")")
t_match "replica 0 is stored" "$out" '"result":"stored"'
quorate send "$(qd_result "$job" 0 1 3 2 n5 "$bad")" > /dev/null
t_eq "after 1 agreeing and 1 differing replica the step is PENDING (exit 5)" \
	"$(quorate verdict "$job".0 > /dev/null 2>&1; echo $?)" 5
quorate send "$(qd_result "$job" 0 2 3 2 n3 "$good" 1000 "\"output_b64\":\"$b64\"")" > /dev/null
if wait "$waiter"; then t_pass "the waiting query returns ACCEPTED (exit 0)"; else t_fail "the waiting query returns ACCEPTED (exit 0)" "$(cat "$T_TMP/wait.out")"; fi
t_match "... with the verdict" "$(cat "$T_TMP/wait.out")" "^$job.0 ACCEPTED: 2 of 3 replicas agree"
v=$(quorate --json verdict "$job".0)
t_eq "2 of 3 agree: ACCEPTED" "$(echo "$v" | jq -r .verdict)" ACCEPTED
t_eq "... the canonical replica is the first complete of the agreeing ones" "$(echo "$v" | jq -r .canonical_replica)" 0
t_eq "... outcomes per replica" "$(echo "$v" | jq -r '[.outcomes[] | "\(.replica):\(.outcome):\(.nodes[0])"] | join(" ")')" \
	"0:agree:n1 1:disagree:n5 2:agree:n3"
t_eq "quorate verdict --output prints the agreed output" "$(quorate verdict "$job".0 --output)" "answer: 42"
n5_after=$(score n5)
t_eq "n5 has one more verdict" "$(verdicts n5)" "$((v_before + 1))"
t_run "the disagreeing node's score falls ($n5_before -> $n5_after)" awk -v a="$n5_after" -v b="$n5_before" 'BEGIN { exit !(a < b) }'
t_run "an agreeing node's score does not fall ($n1_before -> $(score n1))" \
	awk -v a="$(score n1)" -v b="$n1_before" 'BEGIN { exit !(a >= b) }'
t_match "the event names its reason (job.step)" "$(quorate events n5 --limit 1)" "disagree +$job.0 "
t_eq "the event's JSON" "$(quorate --json events n5 --limit 1 | jq -r '.events[0] | "\(.kind) \(.job).\(.step) \(.replica)"')" \
	"disagree $job.0 1"

# slurmctld sees the score in the node's Extra, the admin's words kept.
want=$(printf 'reputation=%.1f quorate_state=%s' "$n5_after" "$(quorate --json nodes n5 | jq -r '.nodes[0].state')")
t_wait 30 sh -c "scontrol show node n5 | grep -q 'Extra=.*$want'"
t_match "scontrol show node n5 shows the score" "$(scontrol show node n5 | grep -o 'Extra=.*')" "$want"
scontrol update nodename=n5 extra="rack=7 $want"
quorate send "$(qd_result "$job" 6 0 3 2 n1 "$good")" > /dev/null
quorate send "$(qd_result "$job" 6 1 3 2 n3 "$good")" > /dev/null
quorate send "$(qd_result "$job" 6 2 3 2 n5 "$good")" > /dev/null
want=$(printf 'reputation=%.1f' "$(score n5)")
t_wait 30 sh -c "scontrol show node n5 | grep -q 'Extra=rack=7 $want'"
t_match "a new score keeps the admin's words in Extra" "$(scontrol show node n5 | grep -o 'Extra=.*')" "^Extra=rack=7 $want quorate_state="
t_eq "the site of n5 comes from its feature" "$(quorate --json nodes n5 | jq -r '.nodes[0].site')" c

# Late replica (after ACCEPTED) and duplicates, on nodes outside slurmctld.
q=qt12-a r=qt12-b s=qt12-c
quorate send "$(qd_result "$job" 7 0 3 2 $q "$good")" > /dev/null
quorate send "$(qd_result "$job" 7 1 3 2 $r "$good")" > /dev/null
t_eq "2 agreeing of 3: ACCEPTED before the third" "$(quorate --json verdict "$job".7 | jq -r .verdict)" ACCEPTED
quorate send "$(qd_result "$job" 7 2 3 2 $s "$bad")" > /dev/null
t_eq "the late third is compared with the canonical result" \
	"$(quorate --json verdict "$job".7 | jq -r '[.agree, .disagree, .outcomes[2].outcome] | join(" ")')" "2 1 disagree"
t_match "a repeated report is a duplicate" "$(quorate send "$(qd_result "$job" 7 2 3 2 $s "$bad")")" '"result":"duplicate"'
out=$(quorate send "$(qd_result "$job" 7 2 3 2 $s "$good")" 2>&1); rc=$?
t_eq "the same part with another result is a conflict (exit 1)" "$rc" 1
t_match "... saying so" "$out" '"error":"conflict"'
out=$(quorate send "$(qd_result "$job" 7 0 4 2 $q "$good")" 2>&1)
t_match "a report with another N for the step is a conflict" "$out" 'was reported with replicas=3 quorum=2'
t_eq "duplicates change nothing" "$(quorate --json verdict "$job".7 | jq -r '[.agree, .disagree] | join(" ")')" "2 1"

# All three differ: REJECTED once the third is in.
quorate send "$(qd_result "$job" 8 0 3 2 $q "$(qd_sha a)")" > /dev/null
quorate send "$(qd_result "$job" 8 1 3 2 $r "$(qd_sha b)")" > /dev/null
t_eq "two different results out of three: still PENDING" "$(quorate --json verdict "$job".8 | jq -r .verdict)" PENDING
quorate send "$(qd_result "$job" 8 2 3 2 $s "$(qd_sha c)")" > /dev/null
t_eq "three different results: REJECTED (exit 4)" "$(quorate verdict "$job".8 > /dev/null 2>&1; echo $?)" 4
t_match "... with the reason" "$(quorate verdict "$job".8)" "REJECTED: no quorum of 2 among 3 replicas"

# A replica of two tasks (parts): complete when both parts are in.
quorate send "$(qd_result "$job" 9 0 2 2 $q "$good" 1000 '"part":0,"parts":2')" > /dev/null
quorate send "$(qd_result "$job" 9 0 2 2 $r "$good" 1000 '"part":1,"parts":2')" > /dev/null
quorate send "$(qd_result "$job" 9 1 2 2 $s "$good" 1000 '"part":0,"parts":2')" > /dev/null
t_eq "a replica with one part of two is not complete" "$(quorate --json verdict "$job".9 | jq -r '[.verdict, .reported] | join(" ")')" "PENDING 1"
quorate send "$(qd_result "$job" 9 1 2 2 $s "$good" 1000 '"part":1,"parts":2')" > /dev/null
t_eq "both replicas complete and equal: ACCEPTED" "$(quorate --json verdict "$job".9 | jq -r .verdict)" ACCEPTED
t_eq "the replica's nodes are those of its parts" "$(quorate --json verdict "$job".9 | jq -r '.outcomes[0].nodes | join(",")')" "$q,$r"

# Numeric mode: outputs equal within the tolerance agree.
o1=$(printf 'loss 0.25000001\n' | base64) o2=$(printf 'loss 0.25000002\n' | base64) o3=$(printf 'loss 0.3\n' | base64)
quorate send "$(qd_result "$job" 10 0 3 2 $q "$(qd_sha 1)" 1000 "\"mode\":\"numeric\",\"tolerance\":1e-6,\"output_b64\":\"$o1\"")" > /dev/null
quorate send "$(qd_result "$job" 10 1 3 2 $r "$(qd_sha 3)" 1000 "\"mode\":\"numeric\",\"tolerance\":1e-6,\"output_b64\":\"$o3\"")" > /dev/null
quorate send "$(qd_result "$job" 10 2 3 2 $s "$(qd_sha 2)" 1000 "\"mode\":\"numeric\",\"tolerance\":1e-6,\"output_b64\":\"$o2\"")" > /dev/null
t_eq "numeric mode: two outputs within 1e-6 agree" \
	"$(quorate --json verdict "$job".10 | jq -r '[.verdict, .outcomes[1].outcome] | join(" ")')" "ACCEPTED disagree"

# A batch: several results in one credential, each answered.
batch=$(printf '{"v":1,"type":"batch","items":[%s,%s,%s]}' \
	"$(qd_result "$job" 11 0 2 2 $q "$good" | sed 's/"v":1,//')" \
	"$(qd_result "$job" 11 1 2 2 $r "$good" | sed 's/"v":1,//')" \
	"$(qd_result "$job" 11 1 2 2 $r "$bad" | sed 's/"v":1,//')")
out=$(quorate send "$batch")
t_eq "a batch is answered item by item" "$(echo "$out" | jq -r '[.results[] | .result // .error] | join(" ")')" \
	"stored stored conflict"
t_eq "... and its step decided" "$(quorate --json verdict "$job".11 | jq -r .verdict)" ACCEPTED
t_done
