#!/bin/bash
# The C side (libquorate_eth) and the contracts agree on the shared test
# vectors: common/'s Merkle code rebuilds contracts/test/vectors.json; on a
# private anvil, through testsuite/integration/eth_tool, an EIP-1559
# commitEpoch signed in C commits a contribution tree of contracts/test/
# vectors.json; every record of it verifies on chain with the file's proofs;
# the on-chain leaf encoder agrees with the file; a repeated commit reverts;
# a reward tree of the file is funded and claimed with C-encoded proofs.
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

epochs=$("$tool" call --rpc "$rpc" --to "$LEDGER_ADDRESS" \
	--returns bytes32,uint128,uint128,uint32,bytes32,uint64 --sig "epochs(uint64)" "$epoch" 2>&1)
t_eq "epochs(11) returns what was committed" "$(head -n 5 <<<"$epochs" | tr '\n' ' ')" \
	"$root 3600 60 5 $data_hash "
t_match "epochs(11): committedAt is a block" "$(sed -n 6p <<<"$epochs")" '^[1-9][0-9]*$'

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

# The 5-entry reward tree of the vectors (epoch 11 too): fund it in ETH, claim entry 2.
rtree=$(jq -c '[.reward[] | select((.entries | length) == 5)][0]' "$vectors")
t_eq "the vectors have the 5-entry reward tree of epoch 11" "$(jq -r '.epoch' <<<"$rtree")" "$epoch"
total=$(jq -r '.entries[].amount' <<<"$rtree" | paste -sd+ | bc)
deadline=$(( $(date +%s) + 86400 ))
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$VAULT_ADDRESS" --value "$total" --wait 30 \
	--sig "fundEth(uint64,bytes32,uint64)" "$epoch" "$(jq -r '.root' <<<"$rtree")" "$deadline" 2>&1)
t_match "fundEth signed in C funds the epoch with the list's total ($total wei)" "$out" "status success"
e=$(jq -c '.entries[2]' <<<"$rtree")
account=$(jq -r '.account' <<<"$e")
amount=$(jq -r '.amount' <<<"$e")
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$VAULT_ADDRESS" --wait 30 \
	--sig "claim(uint64,uint256,address,uint256,bytes32[])" "$epoch" 2 "$account" "$amount" \
	"$(jq -r '.proof | join(",")' <<<"$e")" 2>&1)
t_match "claim signed in C with the file's proof is mined" "$out" "status success"
t_diag "$(grep -E '^gas-used' <<<"$out")"
t_eq "the account received exactly its amount" \
	"$("$tool" info --rpc "$rpc" --address "$account" 2>&1 | sed -n 's/^balance //p')" "$amount"
t_eq "isClaimed(11, 2)" "$("$tool" call --rpc "$rpc" --to "$VAULT_ADDRESS" --returns bool \
	--sig "isClaimed(uint64,uint256)" "$epoch" 2 2>&1)" true
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$VAULT_ADDRESS" --wait 30 \
	--sig "claim(uint64,uint256,address,uint256,bytes32[])" "$epoch" 2 "$account" "$amount" \
	"$(jq -r '.proof | join(",")' <<<"$e")" 2>&1; echo "exit $?")
t_match "the same claim again is refused: AlreadyClaimed (0x05b5a69d)" "$(tr '\n' ' ' <<<"$out")" \
	"custom error 0x05b5a69d.*exit [1-9]"
