#!/bin/bash
# What the chain outbox relies on, checked with transactions signed in C on
# the shared anvil: a nonce gap holds a transaction back until the missing
# nonce is sent; a replacement with the same nonce needs higher fees and
# then only the replacement is mined; after a reorg (evm_snapshot and
# evm_revert) a mined transaction's receipt is gone and the same signed
# bytes can be sent again, with the same hash.
# Sender: anvil's development account 9.
. "$(dirname "$0")/lib.sh"

tool=$T_BUILD/testsuite/integration/eth_tool
if ! t_use_cluster || [ -z "${QUORATE_CHAIN_RPC:-}" ]; then
	t_fail "the shared test cluster with anvil is running"
	exit 1
fi
rpc=$QUORATE_CHAIN_RPC
key=$T_TMP/dev9.key
printf '2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6\n' > "$key"
chmod 600 "$key"
to=0x000000000000000000000000000000000000dEaD
pending_nonce() { "$tool" info --rpc "$rpc" --key "$key" 2>/dev/null | sed -n 's/^nonce-pending //p'; }
mined_nonce() { "$tool" info --rpc "$rpc" --key "$key" 2>/dev/null | sed -n 's/^nonce //p'; }
field() { printf '%s\n' "$1" | sed -n "s/^$2 //p"; }
receipt() { "$tool" rpc --rpc "$rpc" eth_getTransactionReceipt "[\"$1\"]" 2>&1; }
send() { "$tool" send --rpc "$rpc" --key "$key" --to "$to" --gas 21000 "$@" 2>&1; }

# --- a nonce gap ---
n=$(pending_nonce)
out=$(send --value 2 --nonce $((n + 1)))
t_eq "a transaction after a nonce gap is accepted by the node" "$?" "0"
gapped=$(field "$out" computed)
sleep 1
t_eq "but not mined while the gap is open" "$(receipt "$gapped")" "null"
t_eq "the mined nonce has not moved" "$(mined_nonce)" "$n"
out=$(send --value 1 --nonce "$n" --wait 30)
t_eq "the missing nonce is sent and mined" "$?" "0"
if t_wait 30 sh -c "'$tool' rpc --rpc '$rpc' eth_getTransactionReceipt '[\"$gapped\"]' | grep -q blockNumber"; then
	t_pass "the gap closed: the held-back transaction is mined"
else
	t_fail "the gap closed: the held-back transaction is mined" "$(receipt "$gapped")"
fi
t_eq "the mined nonce moved by two" "$(mined_nonce)" "$((n + 2))"

# --- replacement by a fee bump (mining paused so that both compete) ---
t_on_exit "'$tool' rpc --rpc '$rpc' evm_setAutomine '[true]'"
t_run "mining paused (evm_setAutomine false)" "$tool" rpc --rpc "$rpc" evm_setAutomine '[false]'
n=$(pending_nonce)
out=$(send --value 3 --nonce "$n" --tip 2000000000 --max-fee 10000000000)
t_eq "the first transaction of nonce $n is accepted" "$?" "0"
first=$(field "$out" computed)
out=$(send --value 4 --nonce "$n" --tip 2000000000 --max-fee 10000000000)
t_eq "a replacement with the same fees is refused (exit 3)" "$?" "3"
t_match "the node says underpriced" "$out" "underpriced"
# both fees raised by eip1559_fee_bump (+13%)
tip=$("$tool" fee-bump 2000000000 13)
max_fee=$("$tool" fee-bump 10000000000 13)
t_eq "eip1559_fee_bump: 2 gwei + 13%" "$tip" "2260000000"
out=$(send --value 4 --nonce "$n" --tip "$tip" --max-fee "$max_fee")
t_eq "a replacement with both fees bumped is accepted" "$?" "0"
second=$(field "$out" computed)
t_eq "anvil's hash for the replacement equals ours" "$(field "$out" node)" "$second"
if [ -n "$first" ] && [ "$first" != "$second" ]; then t_pass "the replacement is another transaction";
else t_fail "the replacement is another transaction" "first $first second $second"; fi
t_run "a block is mined (evm_mine)" "$tool" rpc --rpc "$rpc" evm_mine
t_run "mining resumed" "$tool" rpc --rpc "$rpc" evm_setAutomine '[true]'
t_match "the replacement is mined" "$(receipt "$second")" '"status":"0x1"'
t_eq "the replaced transaction never is" "$(receipt "$first")" "null"
t_eq "nonce $n used once" "$(mined_nonce)" "$((n + 1))"

# --- a reorg: evm_snapshot, mine, evm_revert, send again ---
snap=$("$tool" rpc --rpc "$rpc" evm_snapshot 2>&1 | tr -d '"')
t_match "evm_snapshot" "$snap" "^0x[0-9a-f]+$"
n=$(pending_nonce)
out=$(send --value 5 --nonce "$n" --wait 30 --print-raw)
t_eq "a transaction is mined before the reorg" "$?" "0"
hash=$(field "$out" computed)
raw=$(field "$out" raw)
block=$(field "$out" block)
hash_before=$("$tool" block-hash --rpc "$rpc" "$block" 2>&1)
t_eq "eth_getBlockByNumber: the block's hash, as anvil reports it" "$hash_before" \
	"$("$tool" rpc --rpc "$rpc" eth_getBlockByNumber "[\"$(printf '0x%x' "$block")\",false]" 2>&1 |
	   grep -o '"hash":"0x[0-9a-f]*"' | cut -d'"' -f4)"
t_eq "evm_revert to the snapshot" "$("$tool" rpc --rpc "$rpc" evm_revert "[\"$snap\"]" 2>&1)" "true"
t_eq "after the reorg its receipt is gone" "$(receipt "$hash")" "null"
t_eq "after the reorg the chain is one block shorter" \
	"$("$tool" info --rpc "$rpc" --key "$key" 2>/dev/null | sed -n 's/^block //p')" "$((block - 1))"
t_eq "after the reorg the nonce is free again" "$(mined_nonce)" "$n"
t_eq "after the reorg block $block does not exist" "$("$tool" block-hash --rpc "$rpc" "$block" 2>&1)" "none"
t_eq "the same signed bytes are sent again: the same hash" \
	"$("$tool" rpc --rpc "$rpc" eth_sendRawTransaction "[\"$raw\"]" 2>&1)" "\"$hash\""
if t_wait 30 sh -c "'$tool' rpc --rpc '$rpc' eth_getTransactionReceipt '[\"$hash\"]' | grep -q '\"status\":\"0x1\"'"; then
	t_pass "and it is mined again"
else
	t_fail "and it is mined again" "$(receipt "$hash")"
fi
t_match "block $block exists again" "$("$tool" block-hash --rpc "$rpc" "$block" 2>&1)" "^0x[0-9a-f]{64}$"
t_done
