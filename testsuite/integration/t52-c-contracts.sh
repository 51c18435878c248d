#!/bin/bash
# The C side (libquorate_eth) and the contracts agree on the shared test
# vectors: common/'s Merkle code rebuilds contracts/test/vectors.json; on a
# private anvil, through testsuite/integration/eth_tool, an EIP-1559
# commitEpoch signed in C commits a contribution tree of contracts/test/
# vectors.json; the root reads back with rootOf, the totals from the
# EpochCommitted log as quorated reads them (eth_getLogs through the C client);
# every record verifies on chain with the file's proofs; the on-chain leaf
# encoder agrees with the file; a repeated commit reverts, an empty epoch's
# too; a reward tree of the file is funded and claimed with C-encoded proofs.
. "$(dirname "$0")/lib.sh"

c=$T_TOP/contracts
anvil=$c/node_modules/.bin/anvil
tool=$T_BUILD/testsuite/integration/eth_tool
vectors=$c/test/vectors.json
[ -x "$anvil" ] || { t_fail "anvil is installed" "missing $anvil: run scripts/install-deps"; exit 1; }
[ -x "$tool" ] || { t_fail "eth_tool is built" "missing $tool: run scripts/build"; exit 1; }

# common/'s leaf encoders and Merkle trees against every tree of the file
# (the eth unit test, pointed at contracts/test/vectors.json).
unit=$T_BUILD/testsuite/unit/test_eth_merkle
if make -C "$T_BUILD/testsuite/unit" -s test_eth_merkle > "$T_TMP/unit-build.log" 2>&1; then
	t_run "common/ builds every leaf, root and proof of contracts/test/vectors.json" \
		env QUORATE_ETH_VECTORS="$vectors" "$unit"
else
	t_fail "common/ builds every leaf, root and proof of contracts/test/vectors.json" \
		"building $unit failed: $(tail -n 5 "$T_TMP/unit-build.log")"
fi

setsid "$anvil" --host 127.0.0.1 --port 0 --chain-id 31337 < /dev/null > "$T_TMP/anvil.log" 2>&1 &
pid=$!
t_on_exit "kill $pid; wait $pid"
port=
for i in $(seq 1 120); do
	port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T_TMP/anvil.log")
	[ -n "$port" ] && break
	sleep 0.25
done
[ -n "$port" ] || { t_fail "a private anvil starts" "$(cat "$T_TMP/anvil.log")"; exit 1; }
rpc=http://127.0.0.1:$port
if ! out=$("$c/script/deploy-local" --rpc "$rpc" --out "$T_TMP/chain" 2>&1); then
	t_fail "deploy-local onto the private anvil" "$out"
	exit 1
fi
t_pass "deploy-local onto the private anvil"
set -a
. "$T_TMP/chain/deployment.env"
set +a
key=$T_TMP/chain/poster.key

# The 5-record contribution tree of the vectors (epoch 11, uint128 maxima).
tree=$(jq -c '[.contribution[] | select((.records | length) == 5)][0]' "$vectors")
epoch=$(jq -r '.epoch' <<<"$tree")
root=$(jq -r '.root' <<<"$tree")
t_eq "the vectors have the 5-record tree of epoch 11" "$epoch" 11

data_hash=0x$(printf 'epoch %s csv' "$epoch" | sha256sum | cut -c1-64)
commit_sig="commitEpoch(uint64,bytes32,uint128,uint128,uint32,bytes32)"
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$LEDGER_ADDRESS" --wait 30 --sig "$commit_sig" \
	"$epoch" "$root" 3600 60 5 "$data_hash" 2>&1)
t_eq "a commitEpoch signed in C is mined" "$?" 0
t_match "its receipt: success" "$out" "status success"
t_diag "$(grep -E '^gas-used' <<<"$out")"
gas=$(sed -n 's/^gas-used //p' <<<"$out")
t_run "its gas-used ($gas) is within 60,000" test "${gas:-999999}" -le 60000
commit_block=$(sed -n 's/^block //p' <<<"$out")

t_eq "rootOf(11) is the committed root" "$("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bytes32 \
	--sig "rootOf(uint64)" "$epoch" 2>&1)" "$root"
t_eq "isCommitted(11)" "$("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bool \
	--sig "isCommitted(uint64)" "$epoch" 2>&1)" true
t_eq "lastEpoch() is (true, 11)" "$("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bool,uint64 \
	--sig "lastEpoch()" 2>&1 | tr '\n' ' ')" "true 11 "

# The totals, as quorated reads them: the EpochCommitted log of the epoch
# (topic0 the event, topic1 the epoch), its data the four words, its block
# the receipt's.
topic=$("$tool" keccak "EpochCommitted(uint64,uint128,uint128,uint32,bytes32)")
t_eq "EpochCommitted's topic0 (Keccak-256 in C) is FORMATS.md's" "$topic" \
	"$(sed -n 's/^ *EpochCommitted topic0: \(0x[0-9a-f]\{64\}\)$/\1/p' "$c/FORMATS.md")"
logs=$("$tool" rpc --rpc "$rpc" eth_getLogs "[{\"address\":\"$LEDGER_ADDRESS\",\"fromBlock\":\"0x$(printf %x "$DEPLOY_BLOCK")\",\"topics\":[\"$topic\",\"0x$(printf %064x "$epoch")\"]}]" 2>&1)
t_eq "one EpochCommitted log for epoch 11" "$(jq 'length' <<<"$logs" 2>&1)" 1
data=$(jq -r '.[0].data' <<<"$logs")
t_eq "the log's data: cpuSeconds, gpuSeconds, records, dataHash" \
	"$(( 0x${data:2:64} )) $(( 0x${data:66:64} )) $(( 0x${data:130:64} )) 0x${data:194:64} ${#data}" \
	"3600 60 5 $data_hash 258"
t_eq "the log's block is the receipt's" "$(( $(jq -r '.[0].blockNumber' <<<"$logs") ))" "$commit_block"

for i in 0 1 2 3 4; do
	r=$(jq -c ".records[$i]" <<<"$tree")
	leaf=$(jq -r '.leaf' <<<"$r")
	proof=$(jq -r '.proof | join(",")' <<<"$r")
	t_eq "record $i of the vectors verifies on chain" \
		"$("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bool \
			--sig "verify(uint64,bytes32,bytes32[])" "$epoch" "$leaf" "$proof" 2>&1)" true
	t_eq "record $i: contributionLeaf() on chain equals the file's leaf" \
		"$("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bytes32 \
			--sig "contributionLeaf(uint64,uint32,bytes32,address,uint128,uint128,uint64)" \
			"$(jq -r '.epoch' <<<"$r")" "$(jq -r '.index' <<<"$r")" "$(jq -r '.siteId' <<<"$r")" \
			"$(jq -r '.payee' <<<"$r")" "$(jq -r '.cpuSeconds' <<<"$r")" "$(jq -r '.gpuSeconds' <<<"$r")" \
			"$(jq -r '.score' <<<"$r")" 2>&1)" "$leaf"
done
other=$(jq -r '.contribution[0].records[0].leaf' "$vectors")
t_eq "a leaf of another tree does not verify" \
	"$("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bool --sig "verify(uint64,bytes32,bytes32[])" \
		"$epoch" "$other" "$(jq -r '.records[0].proof | join(",")' <<<"$tree")" 2>&1)" false
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$LEDGER_ADDRESS" --wait 30 --sig "$commit_sig" \
	"$epoch" "$root" 3600 60 5 "$data_hash" 2>&1; echo "exit $?")
t_match "a second commit of epoch 11 is refused: EpochAlreadyCommitted (0xa9dcd6ff)" "$(tr '\n' ' ' <<<"$out")" \
	"custom error 0xa9dcd6ff.*exit [1-9]"

# The vectors' empty tree (epoch 99, root 0): committed, and a repeat is
# recognized as one; an epoch skipped before it is not "already committed".
empty=$(jq -c '[.contribution[] | select((.records | length) == 0)][0]' "$vectors")
eepoch=$(jq -r '.epoch' <<<"$empty")
t_eq "the vectors' empty tree: epoch 99, root 0" "$eepoch $(jq -r '.root' <<<"$empty")" "99 0x$(printf '%064x' 0)"
empty_hash=0x$(printf '' | sha256sum | cut -c1-64)
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$LEDGER_ADDRESS" --wait 30 --sig "$commit_sig" \
	"$eepoch" "$(jq -r '.root' <<<"$empty")" 0 0 0 "$empty_hash" 2>&1)
t_match "commitEpoch of the empty epoch 99 is mined" "$out" "status success"
gas=$(sed -n 's/^gas-used //p' <<<"$out")
t_run "its gas-used ($gas) is within 60,000" test "${gas:-999999}" -le 60000
t_eq "isCommitted(99), rootOf(99) 0" "$("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bool \
	--sig "isCommitted(uint64)" 99 2>&1) $("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" --returns bytes32 \
	--sig "rootOf(uint64)" 99 2>&1)" "true 0x$(printf '%064x' 0)"
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$LEDGER_ADDRESS" --wait 30 --sig "$commit_sig" \
	"$eepoch" "$(jq -r '.root' <<<"$empty")" 0 0 0 "$empty_hash" 2>&1; echo "exit $?")
t_match "the empty epoch again: EpochAlreadyCommitted (0xa9dcd6ff)" "$(tr '\n' ' ' <<<"$out")" \
	"custom error 0xa9dcd6ff.*exit [1-9]"
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$LEDGER_ADDRESS" --wait 30 --sig "$commit_sig" \
	50 "$(jq -r '.root' <<<"$empty")" 0 0 0 "$empty_hash" 2>&1; echo "exit $?")
t_match "epoch 50, skipped: EpochNotAfterLast (0x220b8762)" "$(tr '\n' ' ' <<<"$out")" \
	"custom error 0x220b8762.*exit [1-9]"

# The 5-entry reward tree of the vectors (epoch 11 too): fund it in ETH, claim entry 2.
rtree=$(jq -c '[.reward[] | select((.entries | length) == 5)][0]' "$vectors")
t_eq "the vectors have the 5-entry reward tree of epoch 11" "$(jq -r '.epoch' <<<"$rtree")" "$epoch"
total=$(jq -r '.entries[].amount' <<<"$rtree" | paste -sd+ | bc)
deadline=$(( $(date +%s) + 86400 ))
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$VAULT_ADDRESS" --value "$total" --wait 30 \
	--sig "fundEth(uint64,bytes32,uint256,uint64)" "$epoch" "$(jq -r '.root' <<<"$rtree")" \
	"$(jq '.entries | length' <<<"$rtree")" "$deadline" 2>&1)
t_match "fundEth signed in C funds the epoch with the list's total ($total wei)" "$out" "status success"
e=$(jq -c '.entries[2]' <<<"$rtree")
account=$(jq -r '.account' <<<"$e")
amount=$(jq -r '.amount' <<<"$e")
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$VAULT_ADDRESS" --wait 30 \
	--sig "claim(uint64,uint256,address,uint256,bytes32[])" "$epoch" 2 "$account" "$amount" \
	"$(jq -r '.proof | join(",")' <<<"$e")" 2>&1)
t_match "claim signed in C with the file's proof is mined" "$out" "status success"
t_diag "$(grep -E '^gas-used' <<<"$out")"
gas=$(sed -n 's/^gas-used //p' <<<"$out")
t_run "its gas-used ($gas) is within 80,000 (a proof of 3; the account is new, 25,000 of it the EVM's)" \
	test "${gas:-999999}" -le 80000
t_eq "the account received exactly its amount" \
	"$("$tool" info --rpc "$rpc" --address "$account" 2>&1 | sed -n 's/^balance //p')" "$amount"
t_eq "isClaimed(11, 2)" "$("$tool" call --rpc "$rpc" --to "$VAULT_ADDRESS" --returns bool \
	--sig "isClaimed(uint64,uint256)" "$epoch" 2 2>&1)" true
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$VAULT_ADDRESS" --wait 30 \
	--sig "claim(uint64,uint256,address,uint256,bytes32[])" "$epoch" 2 "$account" "$amount" \
	"$(jq -r '.proof | join(",")' <<<"$e")" 2>&1; echo "exit $?")
t_match "the same claim again is refused: AlreadyClaimed (0x05b5a69d)" "$(tr '\n' ' ' <<<"$out")" \
	"custom error 0x05b5a69d.*exit [1-9]"
t_done
