#!/bin/bash
# contracts/script/deploy-local on a private anvil (fresh deployment, the
# deployment block, idempotence, a stale deployment, refusals), then real
# transactions through script/SmokeLocal.s.sol: commits, funding and claims,
# whose receipts must cost exactly the gas that contracts/snapshots/ records.
. "$(dirname "$0")/lib.sh"

c=$T_TOP/contracts
anvil=$c/node_modules/.bin/anvil
forge=$c/tools/forge  # the native binary: the npm wrapper exits 0 on failures
deploy=$c/script/deploy-local
[ -x "$anvil" ] || { t_fail "anvil is installed" "missing $anvil: run scripts/install-deps"; exit 1; }
out=$("$forge" --version 2>&1) || { t_fail "forge is installed" "$out"; exit 1; }

# start_anvil NAME CHAIN-ID: a private anvil on a free loopback port; sets $url.
start_anvil() {
	local name=$1 id=$2 pid port i
	# --steps-tracing: debug_traceTransaction's opcode steps (the gas breakdown below).
	setsid "$anvil" --host 127.0.0.1 --port 0 --chain-id "$id" --steps-tracing < /dev/null > "$T_TMP/$name.log" 2>&1 &
	pid=$!
	t_on_exit "kill $pid; wait $pid"
	for i in $(seq 1 120); do
		port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T_TMP/$name.log")
		[ -n "$port" ] && break
		sleep 0.25
	done
	[ -n "$port" ] || { cat "$T_TMP/$name.log"; return 1; }
	url=http://127.0.0.1:$port
}

# outcome CMD...: CMD's output and exit status on one line.
outcome() { { "$@" 2>&1; echo "exit $?"; } | tr '\n' ' '; }

rpc() {
	curl -s -m 10 -X POST -H 'Content-Type: application/json' \
		--data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$url" | jq -r '.result // empty'
}

if ! start_anvil anvil 31337; then
	t_fail "a private anvil starts"
	exit 1
fi
t_pass "a private anvil starts ($url)"

# ------------------------------------------------------------ deployment --

out=$T_TMP/chain
start=$(date +%s)
t_run "deploy-local deploys onto a fresh anvil" "$deploy" --rpc "$url" --out "$out"
t_diag "deploy-local took $(( $(date +%s) - start ))s (forge build incremental; out/ and cache/ under contracts/)"
set -a
. "$out/deployment.env"
set +a
for a in "$LEDGER_ADDRESS" "$VAULT_ADDRESS" "$TOKEN_ADDRESS"; do
	t_match "code at $a" "$(rpc eth_getCode "[\"$a\",\"latest\"]")" '^0x[0-9a-f]{2,}$'
done
t_eq "no code at the ledger's address before DEPLOY_BLOCK" \
	"$(rpc eth_getCode "[\"$LEDGER_ADDRESS\",\"$(printf '0x%x' $((DEPLOY_BLOCK - 1)))\"]")" "0x"
t_match "the ledger's code is there at DEPLOY_BLOCK" \
	"$(rpc eth_getCode "[\"$LEDGER_ADDRESS\",\"$(printf '0x%x' "$DEPLOY_BLOCK")\"]")" '^0x[0-9a-f]{2,}$'
t_eq "poster.key is private (0600)" "$(stat -c %a "$out/poster.key")" 600

cp "$out/deployment.env" "$T_TMP/first.env"
t_match "deploy-local twice keeps the deployment" "$("$deploy" --rpc "$url" --out "$out" 2>&1)" "kept"
t_run "deploy-local twice leaves deployment.env as it was" cmp "$T_TMP/first.env" "$out/deployment.env"

# A deployment.env whose ledger is gone (anvil restarted): deployed again.
mkdir -p "$T_TMP/stale"
sed "s/^LEDGER_ADDRESS=.*/LEDGER_ADDRESS=0x000000000000000000000000000000000000dEaD/" "$out/deployment.env" \
	> "$T_TMP/stale/deployment.env"
cp "$out/poster.key" "$T_TMP/stale/"
t_match "deploy-local replaces a stale deployment" \
	"$("$deploy" --rpc "$url" --out "$T_TMP/stale" 2>&1)" "stale .*deploying again"
t_match "the new ledger has code" \
	"$(rpc eth_getCode "[\"$(sed -n 's/^LEDGER_ADDRESS=//p' "$T_TMP/stale/deployment.env")\",\"latest\"]")" \
	'^0x[0-9a-f]{2,}$'

# Refusals: a chain that is not anvil's, bad options, no node.
saved=$url
if start_anvil other 1; then
	t_match "deploy-local refuses a chain id other than anvil's 31337" \
		"$(outcome "$deploy" --rpc "$url" --out "$T_TMP/other")" \
		"chain id 1 .* not anvil's 31337.*exit 1"
	t_eq "nothing written for the refused chain" "$(ls "$T_TMP/other" 2>/dev/null)" ""
else
	t_fail "a second anvil (chain id 1) starts"
fi
url=$saved
t_match "an unknown option is named" "$(outcome "$deploy" --bogus)" \
	"unknown option '--bogus' \(allowed: --rpc URL, --out DIR\).*exit 2"
t_match "--out is required" "$(outcome "$deploy" --rpc "$url")" "--out DIR is required.*exit 1"
t_match "an unreachable node is reported" \
	"$(outcome "$deploy" --rpc http://127.0.0.1:9 --out "$T_TMP/none")" "cannot reach .*exit 1"

# ------------------------------------------------------ transactions --

start=$(date +%s)
if (cd "$c" && QUORATE_DEPLOYER_KEY=0x$(cat "$out/poster.key") LEDGER_ADDRESS=$LEDGER_ADDRESS \
	VAULT_ADDRESS=$VAULT_ADDRESS "$forge" script script/SmokeLocal.s.sol:SmokeLocal --rpc-url "$url" \
	--broadcast) > "$T_TMP/smoke.log" 2>&1; then
	t_pass "commit, fund and claim on anvil (script/SmokeLocal.s.sol)"
else
	t_fail "commit, fund and claim on anvil (script/SmokeLocal.s.sol)" "$(tail -n 30 "$T_TMP/smoke.log")"
	exit 1
fi
t_diag "SmokeLocal took $(( $(date +%s) - start ))s"

# The receipts in nonce order (one sender): block, then index in the block.
receipts=$c/broadcast/SmokeLocal.s.sol/31337/run-latest.json
ordered=$(jq -r '.receipts[] | "\(.blockNumber) \(.transactionIndex) \(.gasUsed) \(.status) \(.transactionHash)"' "$receipts" |
	while read -r b i g s h; do echo "$((b)) $((i)) $((g)) $s $h"; done | sort -n -k1,1 -k2,2)
mapfile -t gas < <(cut -d' ' -f3,4 <<<"$ordered")
mapfile -t txs < <(cut -d' ' -f5 <<<"$ordered")
t_eq "nine transactions, all successful" "${#gas[@]} $(printf '%s\n' "${gas[@]}" | grep -c ' 0x1$')" "9 9"
gas=("${gas[@]% *}")
snap() { jq -r ".\"$2\"" "$c/snapshots/$1.json"; }
t_diag "receipts' gasUsed: commitEpoch ${gas[0]}, ${gas[1]}, ${gas[2]} (empty), ${gas[3]}; fundEth ${gas[6]}; claim ${gas[7]}, ${gas[8]}"
t_eq "the ledger's first commitEpoch costs on anvil what snapshots/ContributionLedger.json says" \
	"${gas[0]}" "$(snap ContributionLedger commitEpoch_first)"
t_eq "commitEpoch costs on anvil what snapshots/ContributionLedger.json says" \
	"${gas[1]}" "$(snap ContributionLedger commitEpoch)"
t_eq "an empty epoch's commitEpoch costs what snapshots/ContributionLedger.json says" \
	"${gas[2]}" "$(snap ContributionLedger commitEpoch_empty)"
t_eq "every commitEpoch after the first costs the same" "${gas[3]}" "${gas[1]}"
for i in 0 1 2 3; do
	t_run "commitEpoch receipt $i: ${gas[$i]} <= 60000 gas" test "${gas[$i]}" -le 60000
done

# Where a commit's gas goes, from the node's own opcode trace of the second
# commit: its steps must add up to the execution gas of the snapshot.
trace=$(curl -s -m 30 -X POST -H 'Content-Type: application/json' --data \
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"debug_traceTransaction\",\"params\":[\"${txs[1]}\",{\"disableMemory\":true,\"disableStack\":true}]}" \
	"$url")
t_eq "commitEpoch's opcode steps (debug_traceTransaction) add up to its execution gas" \
	"$(jq '[.result.structLogs[] | .gasCost] | add' <<<"$trace")" "$(snap ContributionLedger commitEpoch_execution)"
t_diag "commitEpoch execution gas by opcode: $(jq -r '.result.structLogs | group_by(.op)
	| map({op: .[0].op, n: length, gas: (map(.gasCost) | add)}) | sort_by(-.gas)
	| (.[:4] | map("\(.op) x\(.n) \(.gas)")) + ["\(.[4:] | map(.gas) | add) the other \(.[4:] | map(.n) | add) steps"]
	| join(", ")' <<<"$trace")"
t_diag "commitEpoch storage: $(jq -r '[.result.structLogs[] | select(.op == "SLOAD" or .op == "SSTORE") | "\(.op) \(.gasCost)"] | join(", ")' <<<"$trace")"

t_eq "the first claim of a bitmap word costs what snapshots/RewardVault.json says" \
	"${gas[7]}" "$(snap RewardVault claimEth_firstOfBitmapWord)"
t_eq "a claim costs what snapshots/RewardVault.json says" "${gas[8]}" "$(snap RewardVault claimEth)"
for i in 7 8; do
	t_run "claim receipt $i: ${gas[$i]} <= 80000 gas" test "${gas[$i]}" -le 80000
done

# The claimants were paid, as the node itself reports (they held 1 wei).
for i in 0 1; do
	account=$(sed -n "s/^ *smoke: CLAIM${i}_ACCOUNT=//p" "$T_TMP/smoke.log")
	amount=$(sed -n "s/^ *smoke: CLAIM${i}_AMOUNT=//p" "$T_TMP/smoke.log")
	t_eq "claimant $i holds its reward (eth_getBalance)" \
		"$(( $(rpc eth_getBalance "[\"$account\",\"latest\"]") ))" "$((amount + 1))"
done
topic=$(cd "$c" && "$forge" inspect ContributionLedger events --json | jq -r 'to_entries[] | select(.key | startswith("EpochCommitted(")) | .value')
t_eq "EpochCommitted's topic is the one FORMATS.md gives" "$topic" \
	"$(sed -n 's/^ *EpochCommitted topic0: \(0x[0-9a-f]\{64\}\)$/\1/p' "$c/FORMATS.md")"
logs=$(curl -s -m 10 -X POST -H 'Content-Type: application/json' --data \
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getLogs\",\"params\":[{\"address\":\"$LEDGER_ADDRESS\",\"fromBlock\":\"0x$(printf %x "$DEPLOY_BLOCK")\",\"topics\":[\"$topic\"]}]}" \
	"$url")
t_eq "four EpochCommitted events on the ledger (eth_getLogs from DEPLOY_BLOCK)" "$(jq '.result | length' <<<"$logs")" 4
# What quorated reads back: the epoch from topic1, the totals from the data
# (cpuSeconds, gpuSeconds, records, dataHash), the block from the log.
t_eq "the logs' epochs (topic1)" "$(jq -r '[.result[].topics[1]] | map(ltrimstr("0x") | ltrimstr("000000000000000000000000000000000000000000000000")) | join(" ")' <<<"$logs")" \
	"0000000000000001 0000000000000002 0000000000000006 0000000000000015"
# sha256_word N: the SHA-256 of N as one 32-byte big-endian word (abi.encode(uint64 N)).
sha256_word() { printf "$(printf '%064x' "$1" | sed 's/../\\x&/g')" | sha256sum | cut -c1-64; }
data2=$(jq -r '.result[1].data' <<<"$logs")
t_eq "epoch 2's log data: cpuSeconds 3600, gpuSeconds 1, records 1, dataHash sha256(abi.encode(2))" \
	"$(( 0x${data2:2:64} )) $(( 0x${data2:66:64} )) $(( 0x${data2:130:64} )) 0x${data2:194:64}" \
	"3600 1 1 0x$(sha256_word 2)"
t_eq "the empty epoch's log data: zeros and its dataHash" "$(jq -r '.result[2].data' <<<"$logs")" \
	"0x$(printf '%0192x' 0)$(sha256_word 6)"
t_match "each log names its block" "$(jq -r '[.result[].blockNumber] | join(" ")' <<<"$logs")" \
	'^0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+$'
t_done
