#!/bin/bash
# contracts/: the forge suite, one result line per forge test, run with no
# network; the gas snapshots current; the shared test vectors checked by a
# second implementation; the deployment scripts/cluster made on the suite's
# anvil (addresses with code, the file quorated reads, idempotent rerun).
. "$(dirname "$0")/lib.sh"

c=$T_TOP/contracts
forge=$c/tools/forge  # the native binary: the npm wrapper exits 0 on failures
if ! out=$("$forge" --version 2>&1); then
	t_fail "forge is installed" "$out"
	exit 1
fi

# ------------------------------------------------------------- the suite --

# No network at all, where this machine lets us make a namespace: forge must
# not try to download a compiler or anything else.
offline=()
if unshare -n true 2>/dev/null; then
	offline=(unshare -n)
	t_pass "forge runs in a network namespace with no network (unshare -n)"
else
	t_fail "forge runs in a network namespace with no network (unshare -n)" "unshare -n is not permitted here"
fi

# Every forge test; the gas section snapshots (snapshots/*.json) are compared
# as they run (foundry.toml: gas_snapshot_check).
start=$(date +%s)
(cd "$c" && "${offline[@]}" "$forge" test --json -vv) > "$T_TMP/forge.json" 2> "$T_TMP/forge.err"
status=$?
t_diag "forge build + suite: $(( $(date +%s) - start ))s"

# stdout: the results as one JSON line, then (when tests failed) a summary in text.
grep '^{' "$T_TMP/forge.json" > "$T_TMP/results.json"
if ! jq -se 'length > 0' "$T_TMP/results.json" >/dev/null 2>&1; then
	t_fail "forge produced test results" "exit status $status" "$(tail -n 30 "$T_TMP/forge.err" "$T_TMP/forge.json")"
	exit 1
fi
ntests=0
: > "$T_TMP/ran.txt"
while IFS=$'\t' read -r suite test result reason; do
	ntests=$((ntests + 1))
	echo "$suite.$test" >> "$T_TMP/ran.txt"
	if [ "$result" = Success ]; then
		t_pass "forge $suite.$test"
	else
		t_fail "forge $suite.$test" "$result: $reason"
	fi
done < <(jq -rs 'map(to_entries[]) | .[] | (.key | sub("^.*:"; "")) as $suite
	| .value.test_results | to_entries[]
	| [$suite, (.key | sub("\\(.*$"; "")), .value.status, (.value.reason // "" | tostring)] | @tsv' "$T_TMP/results.json")
t_diag "$ntests forge tests"
# The tests that ran are the committed list: a suite forge stopped finding
# (a renamed file, a compile skip) would otherwise pass unnoticed.
want=$(dirname "$0")/t50-forge-tests.txt
t_eq "forge ran the $(wc -l < "$want") tests of t50-forge-tests.txt, no fewer, no other" \
	"$(sort "$T_TMP/ran.txt" | diff "$want" - | grep '^[<>]' | tr '\n' ' ')" ""

# What the gas tests measured (snapshots/*.json holds the same numbers).
jq -rs 'map(to_entries[]) | .[] | select(.key | endswith(":GasTest")) | .value.test_results[].decoded_logs[]' \
	"$T_TMP/results.json" | sed 's/^ *//' | while IFS= read -r line; do t_diag "$line"; done

if grep -q "Failed to match snapshots" "$T_TMP/forge.err"; then
	t_fail "the gas section snapshots (contracts/snapshots/*.json) are current" \
		"$(sed -n '/Failed to match/,$p' "$T_TMP/forge.err" | head -n 20)" \
		"if the change is meant: make -C contracts -f Makefile.forge snapshot, and commit"
else
	t_pass "the gas section snapshots (contracts/snapshots/*.json) are current"
fi
t_eq "forge test exits 0" "$status" 0

# The per-test snapshot, as Makefile.forge makes it (no fuzz or invariant tests).
filter=$(sed -n "s/^SNAPSHOT_TESTS = --no-match-test '\(.*\)'$/\1/p" "$c/Makefile.forge")
(cd "$c" && "${offline[@]}" "$forge" snapshot --no-match-test "$filter" --snap "$T_TMP/gas-snapshot") \
	> "$T_TMP/snapshot.log" 2>&1
if [ -z "$filter" ] || [ ! -f "$T_TMP/gas-snapshot" ]; then
	t_fail "the per-test gas snapshot (contracts/.gas-snapshot) is current" \
		"forge snapshot wrote nothing (filter '$filter')" "$(tail -n 20 "$T_TMP/snapshot.log")"
elif out=$(diff -u "$c/.gas-snapshot" "$T_TMP/gas-snapshot" 2>&1); then
	t_pass "the per-test gas snapshot (contracts/.gas-snapshot) is current"
else
	t_fail "the per-test gas snapshot (contracts/.gas-snapshot) is current" "$(head -n 30 <<<"$out")" \
		"if the change is meant: make -C contracts -f Makefile.forge snapshot, and commit"
fi

t_run "test/vectors.json agrees with a second implementation (tools/check-vectors)" \
	node "$c/tools/check-vectors"

# --------------------------------------------- the suite cluster's chain --

if ! t_use_cluster; then
	t_fail "the suite's cluster is up" "scripts/cluster env --dir $T_CLUSTER failed"
	exit 1
fi
chain=$QUORATE_CLUSTER_DIR/chain
env_file=$chain/deployment.env

rpc() {
	curl -s -m 10 -X POST -H 'Content-Type: application/json' \
		--data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$QUORATE_CHAIN_RPC" |
		jq -r '.result // empty'
}

if [ ! -f "$env_file" ]; then
	t_fail "scripts/cluster up deployed the contracts ($env_file)" "$(tail -n 20 "$QUORATE_CLUSTER_DIR/log/deploy.log" 2>&1)"
	exit 1
fi
t_pass "scripts/cluster up deployed the contracts ($env_file)"
t_eq "deployment.env has exactly the keys of FORMATS.md" \
	"$(cut -d= -f1 "$env_file" | tr '\n' ' ')" \
	"CHAIN_ID LEDGER_ADDRESS VAULT_ADDRESS TOKEN_ADDRESS ADMIN_ADDRESS POSTER_ADDRESS DEPLOY_BLOCK "
val() { sed -n "s/^$1=//p" "$env_file"; }
t_eq "CHAIN_ID is the chain's id" "$(val CHAIN_ID)" "$(( $(rpc eth_chainId '[]') ))"
for k in LEDGER_ADDRESS VAULT_ADDRESS TOKEN_ADDRESS; do
	a=$(val $k)
	t_match "$k is an address" "$a" '^0x[0-9a-fA-F]{40}$'
	code=$(rpc eth_getCode "[\"$a\",\"latest\"]")
	t_match "$k has code on the suite's anvil (eth_getCode)" "$code" '^0x[0-9a-f]{2,}$'
done
t_eq "admin and poster are anvil's first account" "$(val ADMIN_ADDRESS) $(val POSTER_ADDRESS)" \
	"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
t_match "DEPLOY_BLOCK is a block number" "$(val DEPLOY_BLOCK)" '^[0-9]+$'
t_eq "poster.key is private (0600)" "$(stat -c %a "$chain/poster.key")" 600
t_match "poster.key holds 64 hex digits" "$(cat "$chain/poster.key")" '^[0-9a-f]{64}$'
t_eq "scripts/cluster env exports the deployment" "$QUORATE_LEDGER_ADDRESS $QUORATE_VAULT_ADDRESS" \
	"$(val LEDGER_ADDRESS) $(val VAULT_ADDRESS)"
t_match "quorate.conf names the deployment" "$(cat "$QUORATE_CONF")" "ChainDeployment=$env_file"

cp "$env_file" "$T_TMP/before.env"
out=$("$c/script/deploy-local" --rpc "$QUORATE_CHAIN_RPC" --out "$chain" 2>&1)
t_match "deploy-local again on the same directory keeps the deployment" "$out" "is current .*kept"
t_run "deploy-local again leaves deployment.env as it was" cmp "$T_TMP/before.env" "$env_file"
t_done
