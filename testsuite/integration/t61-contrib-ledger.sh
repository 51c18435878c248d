#!/bin/bash
# Pooled allocations on the suite's cluster (sites a, b, c = n1-n2, n3-n4,
# n5-n6): jobs of site_a's account on site_b's nodes move exactly their
# credits (CPU-seconds / 3600 from sacct, in micro-credits) from site_a to
# site_b; a job at home moves nothing; a replica that disagreed earns no
# credit and no score.  Replica outcomes are given on contrib_tool's command
# line, standing in for quorated's verdicts until the daemon is merged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contrib_lib.sh"

if ! t_use_cluster; then
	t_fail "the suite's cluster runs"
	exit 1
fi
cluster=$(c_cluster_name)
a=t61a$$ b=t61b$$
c_account "$a" "$cluster" && c_account "$b" "$cluster" ||
	t_fail "accounts created with sacctmgr"
# Year-long epochs, so that the jobs cannot straddle an epoch boundary.
conf=$T_TMP/quorate.conf
cat > "$conf" <<EOF
EpochLength=366d
AccountSite=$a=site_a
AccountSite=$b=site_b
EOF

ja=$(c_submit -A "$a" -N2 -n4 -w n3,n4 --wrap 'sleep 3')	# a on b's nodes
jh=$(c_submit -A "$a" -N1 -n2 -w n1 --wrap 'sleep 2')		# a at home
jb=$(c_submit -A "$b" -N1 -n1 -w n5 --wrap 'sleep 2')		# b on c's node
jr=$(c_submit -A "$a" -N2 -n2 -w n3,n5 --wrap 'sleep 2')	# replicas on b and c
for j in $ja $jh $jb $jr; do t_wait_job "$j" 120 >/dev/null; done
t_wait 60 c_accounted "$cluster" "$ja" "$jh" "$jb" "$jr" ||
	t_fail "slurmdbd has the jobs finished"

json=$T_TMP/close.json
if "$C_TOOL" close --conf "$conf" --epoch-of "$(date +%s)" \
	--outcome "$jr:n3=agree" --outcome "$jr:n5=disagree" > "$json" 2>"$T_TMP/err"; then
	t_pass "contrib_tool close over the real jobs"
else
	t_fail "contrib_tool close over the real jobs" "$(cat "$T_TMP/err")"
fi

# Expected credits per record: floor(cpu_seconds x 10^6 / 3600), from sacct.
credits() {	# credits JOB [NODE]: micro-credits of the job (on NODE)
	c_sacct_records "$cluster" "$1" | awk -v n="${2:-}" \
		'n == "" || $3 == n { s += int($4 * 1000000 / 3600) } END { print s + 0 }'
}
transfer() {	# transfer FROM TO: credits moved, from the tool's ledger
	jq -r --arg f "$1" --arg t "$2" \
		'[.ledger.transfers[] | select(.from == $f and .to == $t) | .credits] | add // 0' "$json"
}
balance() {
	jq -r --arg s "$1" '[.ledger.balances[] | select(.site == $s) | .balance] | add // 0' "$json"
}

ab=$(( $(credits "$ja") + $(credits "$jr" n3) ))
bc=$(credits "$jb")
t_match "site_a's jobs on site_b used CPU time" "$ab" '^[1-9][0-9]*$'
t_eq "site_a -> site_b: exactly the credits of its jobs there (sacct)" "$(transfer site_a site_b)" "$ab"
t_eq "site_b -> site_c: the credits of site_b's job on n5" "$(transfer site_b site_c)" "$bc"
t_eq "the job at home moves nothing (no site_a -> site_a)" "$(transfer site_a site_a)" "0"
t_eq "the disagreeing replica on n5 earns site_c nothing from site_a" "$(transfer site_a site_c)" "0"
t_eq "site_a's balance: minus what it used elsewhere" "$(balance site_a)" "-$ab"
t_eq "site_b's balance: earned from a, spent on c" "$(balance site_b)" "$((ab - bc))"
t_eq "site_c's balance" "$(balance site_c)" "$bc"
t_eq "balances sum to zero" "$(jq '[.ledger.balances[].balance] | add' "$json")" "0"
t_eq "entries come in pairs" "$(jq '.ledger.entries % 2' "$json")" "0"

usage() {	# usage JOB NODE FIELD
	jq -r --argjson j "$1" --arg n "$2" --arg f "$3" \
		'.usage[] | select(.job_id == $j and .node == $n) | .[$f]' "$json"
}
t_eq "the rejected replica: quality 0, credits 0, score 0" \
	"$(usage "$jr" n5 quality) $(usage "$jr" n5 credits) $(usage "$jr" n5 score)" "0 0 0"
t_eq "the agreeing replica keeps its credits" "$(usage "$jr" n3 credits)" "$(credits "$jr" n3)"
t_match "... and CPU time counts in the record all the same" "$(usage "$jr" n5 cpu_seconds)" '^[1-9]'
t_eq "an unverified job has quality 1" "$(usage "$ja" n4 quality)" "1000000"
t_match "accounts without AccountSite are listed as unassigned, not moved" \
	"$(jq -r '.ledger.unassigned[].account' "$json" | tr '\n' ' ')" "(^| )root( |$)"

# Reliability from reputation lowers the score, not the credits.
"$C_TOOL" close --conf "$conf" --epoch-of "$(date +%s)" --reputation n4=50 > "$T_TMP/rep.json" 2>>"$T_TMP/tool.err"
cpu=$(usage "$ja" n4 cpu_seconds)
t_eq "reputation 50 on n4: half the score, all the credits" \
	"$(jq -r --argjson j "$ja" '.usage[] | select(.job_id == $j and .node == "n4") | "\(.score) \(.reliability) \(.credits)"' "$T_TMP/rep.json")" \
	"$(( cpu * 500000 / 3600 )) 500000 $(( cpu * 1000000 / 3600 ))"
t_done
