#!/bin/bash
# Epoch close over the suite's real slurmdbd (default daily epochs, UTC):
# closing twice gives the same bytes; the canonical CSV hashes to the data
# hash; an independent implementation (contrib_verify.js: js-sha3 and
# node's SHA-256, from contracts/FORMATS.md alone) recomputes every leaf,
# the root, the totals and each proof from the CSV; the reward split sums
# to the pool; on a private anvil the contracts take the commit, verify a
# sampled record and pay a reward claimed with its proof.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contrib_lib.sh"

if ! t_use_cluster; then
	t_fail "the suite's cluster runs"
	exit 1
fi
cluster=$(c_cluster_name)
verify=$T_TOP/testsuite/integration/contrib_verify.js
conf=$T_TMP/quorate.conf
cat > "$conf" <<'EOF'
BillingWeights=cpu=1.0,gpu=8.0,node=0.25
SitePayee=site_a=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
SitePayee=site_b=0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359
SitePayee=site_c=0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB
EOF

j1=$(c_submit -N3 -n5 --wrap 'sleep 2')
j2=$(c_submit -N1 -n1 -w n6 --wrap 'sleep 1')
for j in $j1 $j2; do t_wait_job "$j" 120 >/dev/null; done
t_wait 60 c_accounted "$cluster" "$j1" "$j2" || t_fail "slurmdbd has the jobs finished"
# The epoch the jobs ended in (today's, unless they crossed UTC midnight).
end=$(sacct -n -P -X -j "$j1,$j2" -o End | sort | tail -n 1)
end=$(date -u -d "$end" +%s 2>/dev/null || date +%s)
day=$(( end / 86400 ))

close() {	# close OUT.json OUT.csv [ARGS...]
	local out=$1 csv=$2
	shift 2
	"$C_TOOL" close --conf "$conf" --epoch "$day" --csv "$csv" --proofs "$@" > "$out"
}
if close "$T_TMP/e1.json" "$T_TMP/e1.csv" --pool 1000000000000000000 2>"$T_TMP/err"; then
	t_pass "contrib_tool close --epoch $day (daily)"
else
	t_fail "contrib_tool close --epoch $day (daily)" "$(cat "$T_TMP/err")"
fi
t_eq "the epoch is the UTC day" "$(jq -r '"\(.start) \(.end)"' "$T_TMP/e1.json")" \
	"$(date -u -d "@$((day * 86400))" +%Y-%m-%dT%H:%M:%SZ) $(date -u -d "@$(((day + 1) * 86400))" +%Y-%m-%dT%H:%M:%SZ)"
t_eq "every job of the epoch ended inside it" \
	"$(jq --argjson s $((day * 86400)) --argjson e $(((day + 1) * 86400)) \
		'[.usage[] | select(.end < $s or .end >= $e)] | length' "$T_TMP/e1.json")" "0"
t_match "the epoch has records (the jobs just run)" "$(jq .records "$T_TMP/e1.json")" '^[1-9]'
t_eq "n6 has a record" "$(jq -r '[.contribution_records[] | select(.node == "n6") | .site] | join(",")' "$T_TMP/e1.json")" "site_c"
t_match "the root is not zero" "$(jq -r .root "$T_TMP/e1.json")" '^0x[0-9a-f]{64}$'
t_eq "the data hash is the SHA-256 of the CSV" \
	"$(jq -r .data_hash "$T_TMP/e1.json")" "0x$(sha256sum < "$T_TMP/e1.csv" | cut -d' ' -f1)"

# Closing twice changes nothing.
close "$T_TMP/e2.json" "$T_TMP/e2.csv" --pool 1000000000000000000 2>/dev/null
t_run "closing again gives the same CSV, byte for byte" cmp "$T_TMP/e1.csv" "$T_TMP/e2.csv"
t_eq "... and the same root, totals and data hash" \
	"$(jq -c '{root, data_hash, cpu_seconds, gpu_seconds, records, score, rewards}' "$T_TMP/e2.json")" \
	"$(jq -c '{root, data_hash, cpu_seconds, gpu_seconds, records, score, rewards}' "$T_TMP/e1.json")"

# The independent check, and proof that it can fail.
if out=$(node "$verify" "$T_TMP/e1.json" "$T_TMP/e1.csv" 2>&1); then
	t_pass "contrib_verify.js: leaves, root, totals, proofs, rewards recomputed from the CSV"
	t_diag "$out"
else
	t_fail "contrib_verify.js: leaves, root, totals, proofs, rewards recomputed from the CSV" "$out"
fi
t_match "... every record's proof was checked" "$out" "proofs ok: $(jq .records "$T_TMP/e1.json")"
t_match "... the rewards summed to the pool" "$out" "sum = pool = 1000000000000000000"
sed '2s/,site_/,site_X/' "$T_TMP/e1.csv" > "$T_TMP/bad.csv"
t_fails "a CSV with one field changed does not verify" node "$verify" "$T_TMP/e1.json" "$T_TMP/bad.csv"
jq '.contribution_records[0].proof[0] = "0x" + ("00" * 32)' "$T_TMP/e1.json" > "$T_TMP/badproof.json"
cp "$T_TMP/e1.csv" "$T_TMP/same.csv"
t_run "the epoch has more than one record, so record 0 has a proof to forge" \
	test "$(jq '.contribution_records[0].proof | length' "$T_TMP/e1.json")" -gt 0
t_fails "a forged proof does not verify" node "$verify" "$T_TMP/badproof.json" "$T_TMP/same.csv"

# The weights of quorate.conf are applied: credits of n6's record.
t_eq "credits follow BillingWeights (cpu=1, node=0.25) on n6's job" \
	"$(jq -r --argjson j "$j2" '.usage[] | select(.job_id == $j) | .credits' "$T_TMP/e1.json")" \
	"$(c_sacct_records "$cluster" "$j2" | awk '{ print int(($4 * 1000000 + $6 * 250000) / 3600) }')"

# On chain (contracts/, on a private anvil so that epochs can be committed
# in any order run after run): commitEpoch with what the close computed,
# epochs() returns it, a sampled record verifies with its proof, the
# contract's own leaf encoder agrees, and the reward split is funded and a
# site's reward claimed with its proof.  The transactions are sent with
# eth_tool here; quorated's chain outbox will send them.
c=$T_TOP/contracts
eth=$T_BUILD/testsuite/integration/eth_tool
setsid "$c/node_modules/.bin/anvil" --host 127.0.0.1 --port 0 --chain-id 31337 \
	< /dev/null > "$T_TMP/anvil.log" 2>&1 &
apid=$!
t_on_exit "kill $apid; wait $apid"
port=
for i in $(seq 1 120); do
	port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T_TMP/anvil.log")
	[ -n "$port" ] && break
	sleep 0.25
done
rpc=http://127.0.0.1:$port
if [ -n "$port" ] && out=$("$c/script/deploy-local" --rpc "$rpc" --out "$T_TMP/chain" 2>&1); then
	t_pass "contracts deployed onto a private anvil"
else
	t_fail "contracts deployed onto a private anvil" "$(cat "$T_TMP/anvil.log")" "${out:-}"
	exit 1
fi
set -a
. "$T_TMP/chain/deployment.env"
set +a
key=$T_TMP/chain/poster.key
e=$T_TMP/e1.json
out=$("$eth" send --rpc "$rpc" --key "$key" --to "$LEDGER_ADDRESS" --wait 30 \
	--sig "commitEpoch(uint64,bytes32,uint128,uint128,uint32,bytes32)" \
	"$(jq -r .epoch "$e")" "$(jq -r .root "$e")" "$(jq -r .cpu_seconds "$e")" \
	"$(jq -r .gpu_seconds "$e")" "$(jq -r .records "$e")" "$(jq -r .data_hash "$e")" 2>&1)
t_match "commitEpoch of the closed epoch is mined" "$out" "status success"
t_eq "rootOf() returns the committed root" \
	"$("$eth" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bytes32 --sig "rootOf(uint64)" \
		"$(jq -r .epoch "$e")" 2>&1)" "$(jq -r .root "$e")"
# The totals live in the EpochCommitted log (topic1 the epoch), as quorated
# will read them back: cpuSeconds, gpuSeconds, records, dataHash.
topic=$("$eth" keccak "EpochCommitted(uint64,uint128,uint128,uint32,bytes32)")
logs=$("$eth" rpc --rpc "$rpc" eth_getLogs "[{\"address\":\"$LEDGER_ADDRESS\",\"fromBlock\":\"0x0\",\"topics\":[\"$topic\",\"0x$(printf %064x "$(jq -r .epoch "$e")")\"]}]" 2>&1)
data=$(jq -r '.[0].data' <<<"$logs" 2>/dev/null)
t_eq "the EpochCommitted log carries the close's totals, records and data hash" \
	"$(( 0x${data:2:64} )) $(( 0x${data:66:64} )) $(( 0x${data:130:64} )) 0x${data:194:64}" \
	"$(jq -r '"\(.cpu_seconds) \(.gpu_seconds) \(.records) \(.data_hash)"' "$e")"
n=$(jq .records "$e")
i=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % n ))
r=$(jq -c ".contribution_records[$i]" "$e")
t_eq "a sampled record ($i of $n) verifies on chain with its proof" \
	"$("$eth" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bool --sig "verify(uint64,bytes32,bytes32[])" \
		"$(jq -r .epoch "$e")" "$(jq -r .leaf <<<"$r")" "$(jq -r '.proof | join(",")' <<<"$r")" 2>&1)" true
t_eq "... and the contract's contributionLeaf() of its fields is our leaf" \
	"$("$eth" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bytes32 \
		--sig "contributionLeaf(uint64,uint32,bytes32,address,uint128,uint128,uint64)" \
		"$(jq -r .epoch "$e")" "$i" "$(jq -r .site_id <<<"$r")" "$(jq -r .payee <<<"$r")" \
		"$(jq -r .cpu_seconds <<<"$r")" "$(jq -r .gpu_seconds <<<"$r")" "$(jq -r .score <<<"$r")" 2>&1)" \
	"$(jq -r .leaf <<<"$r")"
t_eq "a record with its score changed does not verify" \
	"$("$eth" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bool --sig "verify(uint64,bytes32,bytes32[])" \
		"$(jq -r .epoch "$e")" "$("$eth" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bytes32 \
		--sig "contributionLeaf(uint64,uint32,bytes32,address,uint128,uint128,uint64)" \
		"$(jq -r .epoch "$e")" "$i" "$(jq -r .site_id <<<"$r")" "$(jq -r .payee <<<"$r")" \
		"$(jq -r .cpu_seconds <<<"$r")" "$(jq -r .gpu_seconds <<<"$r")" "$(( $(jq -r .score <<<"$r") + 1 ))" 2>&1)" \
		"$(jq -r '.proof | join(",")' <<<"$r")" 2>&1)" false
pool=$(jq -r .rewards.pool "$e")
out=$("$eth" send --rpc "$rpc" --key "$key" --to "$VAULT_ADDRESS" --value "$pool" --wait 30 \
	--sig "fundEth(uint64,bytes32,uint256,uint64)" "$(jq -r .epoch "$e")" "$(jq -r .rewards.root "$e")" \
	"$(jq '.rewards.entries | length' "$e")" $(( $(date +%s) + 86400 )) 2>&1)
t_match "the vault is funded with the pool and the reward root" "$out" "status success"
w=$(jq -c '.rewards.entries[0]' "$e")
before=$("$eth" info --rpc "$rpc" --address "$(jq -r .account <<<"$w")" 2>&1 | sed -n 's/^balance //p')
out=$("$eth" send --rpc "$rpc" --key "$key" --to "$VAULT_ADDRESS" --wait 30 \
	--sig "claim(uint64,uint256,address,uint256,bytes32[])" "$(jq -r .epoch "$e")" 0 \
	"$(jq -r .account <<<"$w")" "$(jq -r .amount <<<"$w")" "$(jq -r '.proof | join(",")' <<<"$w")" 2>&1)
t_match "$(jq -r .site <<<"$w") claims its reward with its proof" "$out" "status success"
after=$("$eth" info --rpc "$rpc" --address "$(jq -r .account <<<"$w")" 2>&1 | sed -n 's/^balance //p')
t_eq "... and receives exactly its amount" "$(echo "$after - $before" | bc)" "$(jq -r .amount <<<"$w")"
t_done
