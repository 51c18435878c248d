#!/bin/bash
# libquorate_eth against a real node: anvil (the suite's shared cluster) is
# the verifier of our RLP, signing and hashing.  A transfer and a contract
# creation signed in C are accepted, mined, and hashed the same by anvil; a
# reverting contract's revert reason surfaces from eth_call, eth_estimateGas
# and a mined, reverted transaction; a replayed transaction is refused.
# Sender: anvil's development account 8 (account 0 is the harness's poster).
. "$(dirname "$0")/lib.sh"

tool=$T_BUILD/testsuite/integration/eth_tool
if ! t_use_cluster || [ -z "${QUORATE_CHAIN_RPC:-}" ]; then
	t_fail "the shared test cluster with anvil is running"
	exit 1
fi
rpc=$QUORATE_CHAIN_RPC
key=$T_TMP/dev8.key
printf 'dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97\n' > "$key"
chmod 600 "$key"
sender=0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f

t_eq "address of anvil's development key 8" "$("$tool" address --key "$key" 2>&1)" "$sender"
info=$("$tool" info --rpc "$rpc" --key "$key" 2>&1)
t_match "eth_chainId through libcurl: 31337" "$info" "^chain-id 31337$"
t_match "eth_getBalance of the sender" "$info" "balance [0-9]{19,}"

# A fresh recipient (its balance is whatever we send) per run.
recipient=0x$(printf '%s' "t55-$$-$(date +%s%N)" | sha256sum | cut -c1-40)
nonce_before=$(printf '%s\n' "$info" | sed -n 's/^nonce-pending //p')
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$recipient" --value 1234567890123456789 --wait 30 2>&1)
status=$?
computed=$(printf '%s\n' "$out" | sed -n 's/^computed //p')
node=$(printf '%s\n' "$out" | sed -n 's/^node //p')
t_eq "a signed transfer is mined (exit status)" "$status" "0"
t_match "our transaction hash" "$computed" "^0x[0-9a-f]{64}$"
t_eq "anvil's transaction hash equals ours" "$node" "$computed"
t_match "receipt: success" "$out" "status success"
t_match "receipt: 21000 gas" "$out" "gas-used 21000"
t_eq "the recipient received exactly the value" \
	"$("$tool" info --rpc "$rpc" --address "$recipient" 2>&1 | sed -n 's/^balance //p')" "1234567890123456789"
t_eq "the sender's nonce went up by one" \
	"$("$tool" info --rpc "$rpc" --key "$key" 2>&1 | sed -n 's/^nonce //p')" "$((nonce_before + 1))"
# anvil's own view of the mined transaction: type 2, our fields.
tx=$("$tool" rpc --rpc "$rpc" eth_getTransactionByHash "[\"$computed\"]" 2>&1)
t_match "anvil reports a type-2 transaction" "$tx" '"type":"0x2"'
t_match "with value 1234567890123456789 wei" "$tx" '"value":"0x112210f47de98115"'
t_match "from the sender" "$(printf '%s' "$tx" | tr 'A-F' 'a-f')" "\"from\":\"$(printf '%s' "$sender" | tr 'A-F' 'a-f')\""

# Replaying the same signed bytes: the node refuses (nonce already used).
raw=$("$tool" send --rpc "$rpc" --key "$key" --to "$recipient" --value 1 --nonce "$nonce_before" \
	--gas 21000 --no-send --print-raw 2>&1 | sed -n 's/^raw //p')
out=$("$tool" rpc --rpc "$rpc" eth_sendRawTransaction "[\"$raw\"]" 2>&1)
t_eq "a transaction with a used nonce is refused (exit 3)" "$?" "3"
t_match "the node says why" "$out" "nonce"

# decode-tx reads back what we signed (sender recovered).
t_match "our raw transaction decodes, sender recovered" \
	"$("$tool" decode-tx "$raw" 2>&1 | tr '\n' ' ')" "chain-id 31337 nonce $nonce_before .*from $sender"

# A contract creation (to empty): init code returning a runtime that always
# reverts with Error("quorate test revert"):
#   init:    PUSH1 0x95 DUP1 PUSH1 0x0b PUSH1 0 CODECOPY PUSH1 0 RETURN
#   runtime: four PUSH32 w, PUSH1 32*i, MSTORE (the Error(string) data),
#            PUSH1 100 PUSH1 0 REVERT
initcode=0x609580600b6000396000f37f08c379a0000000000000000000000000000000000000000000000000000000006000527f00000020000000000000000000000000000000000000000000000000000000006020527f0000001371756f726174652074657374207265766572740000000000000000006040527f000000000000000000000000000000000000000000000000000000000000000060605260646000fd
nonce=$("$tool" info --rpc "$rpc" --key "$key" 2>&1 | sed -n 's/^nonce-pending //p')
out=$("$tool" send --rpc "$rpc" --key "$key" --data "$initcode" --wait 30 2>&1)
t_eq "a contract creation signed in C is mined" "$?" "0"
contract=$(printf '%s\n' "$out" | sed -n 's/^contract //p')
# Its address is keccak256(rlp([sender, nonce]))[12:], computed here by hand.
if [ "$nonce" -eq 0 ]; then n_rlp=80; elif [ "$nonce" -lt 128 ]; then n_rlp=$(printf '%02x' "$nonce");
else n_rlp=$(printf '81%02x' "$nonce"); fi
lower=$(printf '%s' "${sender#0x}" | tr 'A-F' 'a-f')
list_len=$(( 21 + ${#n_rlp} / 2 ))
want=$("$tool" keccak --hex "0x$(printf '%02x' $((0xc0 + list_len)))94${lower}${n_rlp}" 2>&1)
t_eq "its address is keccak256(rlp([sender, nonce]))[12:]" \
	"$(printf '%s' "$contract" | tr 'A-F' 'a-f')" "0x${want:26}"
t_match "the runtime code is deployed" "$("$tool" rpc --rpc "$rpc" eth_getCode "[\"$contract\",\"latest\"]" 2>&1)" '"0x7f08c379a0'

out=$("$tool" call --rpc "$rpc" --to "$contract" --sig 'commitEpoch(uint64,bytes32,uint128,uint128,uint32,bytes32)' \
	7 0x1111111111111111111111111111111111111111111111111111111111111111 1 2 3 \
	0x2222222222222222222222222222222222222222222222222222222222222222 2>&1)
t_eq "eth_call of a reverting contract fails (exit 3)" "$?" "3"
t_match "eth_call: the revert reason is decoded" "$out" "revert: quorate test revert"
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$contract" --sig 'verify(uint64,bytes32,bytes32[])' \
	7 0x1111111111111111111111111111111111111111111111111111111111111111 \
	0x3333333333333333333333333333333333333333333333333333333333333333,0x4444444444444444444444444444444444444444444444444444444444444444 2>&1)
t_eq "eth_estimateGas of a reverting call fails (exit 3)" "$?" "3"
t_match "eth_estimateGas: the revert reason is decoded" "$out" "revert: quorate test revert"
out=$("$tool" send --rpc "$rpc" --key "$key" --to "$contract" --gas 60000 --wait 30 2>&1)
t_eq "a reverting transaction with a fixed gas limit is mined as reverted (exit 4)" "$?" "4"
t_match "its receipt says reverted" "$out" "status reverted"
t_eq "and anvil accepted our hash for it too" \
	"$(printf '%s\n' "$out" | sed -n 's/^node //p')" "$(printf '%s\n' "$out" | sed -n 's/^computed //p')"
t_done
