#!/bin/bash
# scripts/quickstart --short, in a cluster directory of its own, and what
# each of its four demos must show.  Installing, preparing Slurm's source and
# building are skipped (QUORATE_QUICKSTART_SKIP_SETUP=1): the suite runs on
# a tree scripts/check has just installed and built with those same commands.
. "$(dirname "$0")/lib.sh"

dir=/tmp/quorate-t90
t_on_exit "'$T_TOP/scripts/cluster' down --dir '$dir' > /dev/null 2>&1; rm -rf '$dir'"
started=$(date +%s)
QUORATE_QUICKSTART_SKIP_SETUP=1 timeout 1200 "$T_TOP/scripts/quickstart" --short --dir "$dir" \
	> "$T_TMP/qs.out" 2>&1
rc=$?
took=$(( $(date +%s) - started ))
out=$(sed 's/\x1b\[[0-9;]*m//g' "$T_TMP/qs.out")
t_eq "scripts/quickstart --short exits 0 (took ${took} s)" "$rc" 0
[ "$rc" = 0 ] || t_diag "$(tail -n 30 "$T_TMP/qs.out")"

# 1. redundant steps, the liar quarantined
t_match "a replicated step with one liar is verified 2 of 3" "$out" 'quorate: step [0-9]+\.0 verified 2/3 \(quorum 2\)'
t_eq "five such steps" "$(grep -c 'verified 2/3' <<<"$out")" 5
t_match "n3 ends quarantined, with its score pushed to slurmctld" "$out" \
	'Extra=reputation=0\.0 quorate_state=quarantined'
t_use_cluster "$dir" || t_fail "the quickstart's cluster is still up for the checks"
list=$(grep -A 2 'avoids n3' <<<"$out" | awk '$2 == "RUNNING" { print $3 }')
nodes=$(scontrol show hostnames "$list" 2>/dev/null | tr '\n' ' ')
sites=$(for n in $nodes; do scontrol show node "$n" | grep -o 'AvailableFeatures=site_[a-z]*'; done | sort -u | wc -l)
t_eq "a replicated job without -w runs on 3 nodes of 3 sites, none of them n3 ($nodes)" \
	"$(wc -w <<<"$nodes") $sites $(grep -c 'n3 ' <<<"$nodes ")" "3 3 0"
t_match "an ordinary user's job asking for n3 pends for QuorateTrust" "$out" \
	'PENDING QuorateTrust: required node n3 is quarantined'
# 2. the trainer
t_match "--adapt says what it decided" "$out" 'local steps 1 -> [0-9]+ \(network'
t_eq "the adaptive run and the replicated run report their accuracy" \
	"$(grep -cE '^ +test-accuracy: 0\.[0-9]{4}$' <<<"$out")" 2
t_match "the 2 replicas' model digests agree: verified 2/2" "$out" 'quorate: step [0-9]+\.0 verified 2/2'
# 3. epoch, chain, reward
t_match "the epoch is closed with a root" "$out" 'closed: [0-9]+ records .* root 0x[0-9a-f]{64}'
t_match "the committed root matches the store and the ledger" "$out" 'ledger: matches \(rootOf'
t_eq "the vault is funded and a reward claimed (two transactions)" \
	"$(grep -c 'status success' <<<"$out")" 2
t_match "a site claimed its reward with a proof" "$out" 'site_[abc] claimed [0-9]+ wei for epoch [0-9]+ with a proof'
# 4. reports
t_run "the HTML report was written" test -s "$dir/demo/report.html"
t_match "the CSV report has a header with units and rows" "$(head -n 2 "$dir/demo/report.csv")" \
	'CPU Hours \[h\].*'$'\r'
# 5. honest nodes keep plain work
t_eq "srun -N5 hostname ran at once: five lines" \
	"$(sed -n '/5\. Ordinary jobs/,/the same on its nodes/p' <<<"$out" | grep -c "^  *$(hostname)$")" 5
t_match "... on the five honest nodes, not the quarantined n3" "$out" \
	'the same on its nodes \(printenv SLURMD_NODENAME\): n1 n2 n4 n5 n6$'
t_match "it ends with how to look around and stop" "$out" "scripts/cluster down --dir $dir"
t_done
