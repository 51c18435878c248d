#!/bin/bash
# The chain poster's faults on anvil (a chain of its own, automine off so
# that the test decides when blocks come): a stuck commit replaced by a fee
# bump with the same nonce; a reorg (evm_snapshot / evm_revert) after the
# commit was mined: the receipt's loss is seen and the commit sent again; a
# nonce gap (a transaction of the same account dropped from anvil's pool
# with anvil_dropTransaction) filled with a no-op transfer; a paused ledger
# (EnforcedPause) retried until unpaused; a commit the ledger refuses for
# good (EpochNotAfterLast) surfaced as a failed epoch with its reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"
. "$(dirname "$0")/chain-lib.sh"

if ! t_use_cluster; then
	t_fail "the shared test cluster is running"
	exit 1
fi
ch_setup t59 42 <<EOF || { t_fail "a private anvil with the contracts and a private quorated"; exit 1; }
Confirmations=3
ChainResendSeconds=3
EOF
t_run "the private quorated starts with the poster" qd_start_private
ch_automine false
key=$CH_DIR/poster.key
account=$(sed -n 's/^POSTER_ADDRESS=//p' "$CH_DIR/deployment.env")

# 1. A stuck commit: not mined after ChainResendSeconds, replaced with the
#    same nonce and both fees 15% higher.
ch_insert_vector 7 && t_pass "epoch 7 closed" || t_fail "epoch 7 closed"
t_wait 20 ch_state_is 7 sent
first=$(ch_sql "SELECT encode(tx_hash, 'hex') || ' ' || nonce || ' ' || max_fee FROM chain_outbox WHERE epoch = 7")
read -r hash7 nonce7 fee7 <<<"$first"
ch_bumped() { [ "$(ch_sql "SELECT count(*) FROM chain_txs WHERE epoch = 7 AND reason = 'fee_bump'")" -ge 1 ]; }
t_wait 30 ch_bumped
t_run "a fee bump after ChainResendSeconds" ch_bumped
t_eq "every transaction of epoch 7 has nonce $nonce7" \
	"$(ch_sql "SELECT string_agg(DISTINCT nonce::text, ',') FROM chain_txs WHERE epoch = 7")" "$nonce7"
bump=$(ch_sql "SELECT max_fee || ' ' || max_priority_fee FROM chain_txs WHERE epoch = 7 AND reason = 'fee_bump' ORDER BY signed_at LIMIT 1")
tip7=$(ch_sql "SELECT max_priority_fee FROM chain_txs WHERE epoch = 7 AND reason = 'first'")
t_eq "the replacement's max fee is the first's + 15% (or the market's, when higher)" \
	"$(python3 -c "import sys; f,b=int('$fee7'),int('${bump% *}'); print(b >= f + (f*15+99)//100)")" "True"
t_eq "and so is its tip" \
	"$(python3 -c "print(int('${bump#* }') >= int('$tip7') + (int('$tip7')*15+99)//100)")" "True"
t_eq "anvil's pool holds one transaction of the account (the replacement)" \
	"$(ch_rpc txpool_content | jq --arg a "$(tr 'A-F' 'a-f' <<<"$account")" '[.pending | to_entries[] | select((.key | ascii_downcase) == $a) | .value | length] | add')" "1"
out=$(qdp chain status 2>&1)
t_match "status shows epoch 7 sent with its attempts" "$out" "epoch 7: sent nonce $nonce7 tx 0x[0-9a-f]{64} attempts [2-9]"
ch_mine 1
t_wait 20 ch_block_stored 7
cur=$(ch_sql "SELECT encode(tx_hash, 'hex') FROM chain_outbox WHERE epoch = 7")
t_eq "the mined commit is a replacement, not the first" \
	"$(ch_sql "SELECT reason FROM chain_txs WHERE tx_hash = decode('$cur', 'hex')")" "fee_bump"
ch_mine 2
t_wait 20 ch_state_is 7 confirmed
t_eq "epoch 7 confirmed after 3 blocks" "$(ch_state 7)" "confirmed"
t_eq "at confirmation, the replacement is marked mined" \
	"$(ch_sql "SELECT outcome FROM chain_txs WHERE tx_hash = decode('$cur', 'hex')")" "mined"
t_eq "the first transaction is marked replaced" \
	"$(ch_sql "SELECT outcome FROM chain_txs WHERE tx_hash = decode('$hash7', 'hex')")" "replaced"
t_eq "the ledger's rootOf(7) is the vector's root" "$(ch_root_of 7)" "$(ch_vector_root 7)"
t_eq "one EpochCommitted event for epoch 7" "$(ch_commit_logs 7)" "1"

# 2. A reorg: the commit is mined, then its block is undone (evm_revert to
#    a snapshot taken before it).
snap=$(ch_rpc evm_snapshot | tr -d '"')
ch_insert_vector 8 && t_pass "epoch 8 closed" || t_fail "epoch 8 closed"
t_wait 20 ch_state_is 8 sent
ch_mine 1
t_wait 20 ch_block_stored 8
t_run "epoch 8's commit mined and its block stored" ch_block_stored 8
t_eq "the ledger holds epoch 8 (before the reorg)" "$(ch_root_of 8)" "$(ch_vector_root 8)"
t_eq "evm_revert undoes the block" "$(ch_rpc evm_revert "[\"$snap\"]")" "true"
t_eq "the ledger no longer holds epoch 8" "$(ch_root_of 8)" "0x$(printf '0%.0s' $(seq 64))"
ch_reorg_seen() { [ "$(ch_sql "SELECT count(*) FROM chain_events WHERE epoch = 8 AND event = 'reorg'")" -ge 1 ]; }
t_wait 20 ch_reorg_seen
t_run "the poster sees the reorg (chain_events)" ch_reorg_seen
ch_in_pool() { [ "$(ch_rpc txpool_content | jq '[.pending[] | length] | add // 0')" -ge 1 ]; }
t_wait 20 ch_in_pool
t_run "the commit is in anvil's pool again" ch_in_pool
t_match "the poster sent the stored commit again (chain_events)" \
	"$(ch_sql "SELECT string_agg(event, ',' ORDER BY id) FROM chain_events WHERE epoch = 8")" "reorg,rebroadcast"
ch_mine 3
t_wait 20 ch_state_is 8 confirmed
t_eq "epoch 8 confirmed after the reorg" "$(ch_state 8)" "confirmed"
t_eq "the ledger's rootOf(8) is the vector's root" "$(ch_root_of 8)" "$(ch_vector_root 8)"
t_eq "one EpochCommitted event for epoch 8" "$(ch_commit_logs 8)" "1"

# 3. A nonce gap: a transfer of the same account takes the pending nonce,
#    the poster's commit the next; the transfer is dropped from the pool.
gapnonce=$("$CH_TOOL" info --rpc "$CH_RPC" --key "$key" | sed -n 's/^nonce-pending //p')
other=$("$CH_TOOL" send --rpc "$CH_RPC" --key "$key" --to "$account" --value 0 --gas 21000 2>&1 |
	sed -n 's/^node //p')
t_match "another transaction of the account at nonce $gapnonce" "$other" "^0x[0-9a-f]{64}$"
ch_insert_vector 9 && t_pass "epoch 9 closed" || t_fail "epoch 9 closed"
t_wait 20 ch_state_is 9 sent
t_eq "epoch 9's commit takes the next nonce" "$(ch_sql 'SELECT nonce FROM chain_outbox WHERE epoch = 9')" \
	"$((gapnonce + 1))"
ch_rpc anvil_dropTransaction "[\"$other\"]" > /dev/null
ch_filled() { [ "$(ch_sql "SELECT count(*) FROM chain_txs WHERE epoch = 9 AND reason = 'gap_fill'")" -ge 1 ]; }
t_wait 20 ch_filled
t_run "the poster fills the gap" ch_filled
t_eq "the filler has the dropped nonce" \
	"$(ch_sql "SELECT nonce FROM chain_txs WHERE epoch = 9 AND reason = 'gap_fill' LIMIT 1")" "$gapnonce"
ch_mine 1
t_wait 20 ch_block_stored 9
ch_mine 2
t_wait 20 ch_state_is 9 confirmed
t_eq "epoch 9 confirmed" "$(ch_state 9)" "confirmed"
t_eq "the filler was mined" \
	"$(ch_sql "SELECT string_agg(DISTINCT outcome, ',') FROM chain_txs WHERE epoch = 9 AND reason = 'gap_fill'")" "mined"
t_eq "the ledger's rootOf(9) is the vector's root" "$(ch_root_of 9)" "$(ch_vector_root 9)"

# 4. The ledger paused (an admin's act): the estimate reverts with
#    EnforcedPause, the epoch stays pending with the reason; unpaused, it
#    is committed.
ledger_tx() {	# ledger_tx SIG: as the admin (the same development account)
	"$CH_TOOL" send --rpc "$CH_RPC" --key "$key" --to "$CH_LEDGER" --sig "$1" > /dev/null 2>&1 &&
		ch_mine 1
}
t_run "the ledger is paused" ledger_tx 'pause()'
ch_insert_vector 10 && t_pass "epoch 10 closed while paused" || t_fail "epoch 10 closed"
ch_paused_noted() { ch_sql 'SELECT last_error FROM chain_outbox WHERE epoch = 10' | grep -q EnforcedPause; }
t_wait 20 ch_paused_noted
t_run "the revert is surfaced: last_error names EnforcedPause" ch_paused_noted
t_eq "epoch 10 stays pending" "$(ch_state 10)" "pending"
t_match "status shows the error" "$(qdp chain status 2>&1)" "epoch 10: pending .*error: .*EnforcedPause"
t_run "the ledger is unpaused" ledger_tx 'unpause()'
t_wait 60 ch_state_is 10 sent
t_eq "epoch 10 is sent after the unpause" "$(ch_state 10)" "sent"
ch_mine 3
t_wait 20 ch_state_is 10 confirmed
t_eq "epoch 10 confirmed" "$(ch_state 10)" "confirmed"

# 5. An epoch below the last committed one: EpochNotAfterLast, for good.
ch_insert_empty 5 && t_pass "an empty epoch 5 closed after epoch 10" || t_fail "epoch 5 closed"
t_wait 20 ch_state_is 5 failed
t_eq "epoch 5 failed" "$(ch_state 5)" "failed"
t_match "with the ledger's reason" "$(ch_sql 'SELECT last_error FROM chain_outbox WHERE epoch = 5')" \
	"EpochNotAfterLast\(epoch 5, last 10\)"
t_eq "no transaction for epoch 5" "$(ch_sql 'SELECT count(*) FROM chain_txs WHERE epoch = 5')" "0"
out=$(qdp chain status 2>&1)
t_eq "status: exit 1 with a failed epoch" "$?" "1"
t_match "status: counts" "$out" "epochs: 0 pending, 0 sent, 4 confirmed, 1 failed"
for e in 7 8 9 10; do
	out=$(qdp chain verify "$e" 2>&1)
	t_eq "quorate chain verify $e: exit 0" "$?" "0"
done
t_eq "quorated still runs" "$(kill -0 "$(qd_private_pid)" && echo yes)" "yes"
t_done
