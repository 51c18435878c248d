#!/bin/bash
# quorated's chain poster on anvil (a chain of its own, chain-lib.sh): closed
# epochs written into PostgreSQL as epoch close writes them (records from
# contracts/test/vectors.json, whose roots forge computed) are committed and
# confirmed after 2 blocks with the ledger's rootOf equal to ours; anvil
# stopped (SIGSTOP: requests time out) while an epoch waits, then resumed:
# retried with back-off, one commit; quorated stopped between send and
# confirmation and started again: the stored transaction is followed, no
# second commit; anvil down (connection refused) and started again with its
# chain: retried, one commit; `quorate chain status` and `quorate chain
# verify` outputs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"
. "$(dirname "$0")/chain-lib.sh"

if ! t_use_cluster; then
	t_fail "the shared test cluster is running"
	exit 1
fi
ch_setup t58 40 <<EOF || { t_fail "a private anvil with the contracts and a private quorated"; exit 1; }
Confirmations=2
ChainResendSeconds=600
EOF
t_run "quorated -t accepts the chain keys" "$QD_QUORATED" -t -f "$QD_CONF"
# The key file: mode 0600, owned by quorated's user; anything else refused.
cp "$CH_DIR/poster.key" "$CH_DIR/open.key"
chmod 0644 "$CH_DIR/open.key"
sed "s|^ChainKeyFile=.*|ChainKeyFile=$CH_DIR/open.key|" "$QD_CONF" > "$CH_DIR/open.conf"
out=$("$QD_QUORATED" -t -f "$CH_DIR/open.conf" 2>&1)
t_eq "quorated -t refuses a key file others can read (exit 1)" "$?" "1"
t_match "and says which file and why" "$out" "ChainKeyFile: $CH_DIR/open.key: .*mode"
grep -v '^ChainKeyFile=' "$QD_CONF" > "$CH_DIR/partial.conf"
out=$("$QD_QUORATED" -t -f "$CH_DIR/partial.conf" 2>&1)
t_match "ChainRPC without ChainKeyFile is refused" "$out" "ChainRPC, ChainDeployment and ChainKeyFile go together"
t_run "the private quorated starts with the poster" qd_start_private
t_match "the poster says where it posts" "$(cat "$QD_DIR/quorated.log")" \
	"chain: posting to ledger $CH_LEDGER on chain 31337"

# 1. Commit and confirm (automine on: the commit is mined at once, and needs
#    one block more for Confirmations=2).
ch_insert_vector 7 && t_pass "epoch 7 closed in PostgreSQL (1 record)" || t_fail "epoch 7 closed"
t_wait 20 ch_state_is 7 sent
t_eq "epoch 7 is sent" "$(ch_state 7)" "sent"
t_wait 10 ch_block_stored 7
t_match "its receipt's block is stored" "$(ch_sql 'SELECT block_number FROM chain_outbox WHERE epoch = 7')" '^[0-9]+$'
t_eq "not confirmed at 1 confirmation of 2" "$(sleep 2; ch_state 7)" "sent"
ch_mine 1
t_wait 20 ch_state_is 7 confirmed
t_eq "epoch 7 is confirmed after one block more" "$(ch_state 7)" "confirmed"
t_eq "the ledger's rootOf(7) is the vector's root" "$(ch_root_of 7)" "$(ch_vector_root 7)"
t_eq "one transaction signed for epoch 7" "$(ch_sql 'SELECT count(*) FROM chain_txs WHERE epoch = 7')" "1"
t_eq "one EpochCommitted event for epoch 7" "$(ch_commit_logs 7)" "1"
out=$(qdp chain verify 7 2>&1)
t_eq "quorate chain verify 7: exit 0" "$?" "0"
t_match "verify: recomputed root is the vector's" "$out" "recomputed root $(ch_vector_root 7)"
t_match "verify: stored root matches" "$out" "^stored root: matches"
t_match "verify: the ledger matches" "$out" "ledger: matches \(rootOf\(7\) = $(ch_vector_root 7)\)"

# 2. anvil stopped while epoch 8 waits: requests time out, the epoch stays
#    pending with the error noted; resumed, it is posted once.
kill -STOP "$CH_NODE_PID"
ch_insert_vector 8 && t_pass "epoch 8 closed (2 records) while anvil is stopped" || t_fail "epoch 8 closed"
# Each request times out after 15 s; the second failure proves the retry.
t_wait 60 ch_log_has "RPC endpoint $CH_RPC unavailable \(failure 2\)"
t_match "the poster logs the unreachable node, retries and backs off" "$(grep 'chain:' "$QD_DIR/quorated.log")" \
	"RPC endpoint $CH_RPC unavailable \(failure 2\): .*; next try in 2s"
t_eq "epoch 8 is still pending" "$(ch_state 8)" "pending"
out=$(qdp -t 2 chain status 2>&1)
t_eq "quorate chain status: exit 3 while the node is unreachable" "$?" "3"
t_match "status: node unreachable" "$out" "^node: unreachable"
t_match "status: counts from PostgreSQL" "$out" "epochs: 1 pending, 0 sent, 1 confirmed, 0 failed"
kill -CONT "$CH_NODE_PID"
t_wait 90 ch_state_is 8 sent
t_eq "after anvil resumes, epoch 8 is sent" "$(ch_state 8)" "sent"
ch_mine 1
t_wait 20 ch_state_is 8 confirmed
t_eq "epoch 8 is confirmed" "$(ch_state 8)" "confirmed"
t_eq "the ledger's rootOf(8) is the vector's root" "$(ch_root_of 8)" "$(ch_vector_root 8)"
t_eq "one transaction for epoch 8" "$(ch_sql 'SELECT count(*) FROM chain_txs WHERE epoch = 8')" "1"
t_eq "one EpochCommitted event for epoch 8" "$(ch_commit_logs 8)" "1"

# 2b. anvil down (its port refuses connections) while epoch 9 waits, then
#     started again with its chain (--state): retried, posted once.
ch_stop_node
t_fails "anvil is down: its port refuses connections" "$CH_TOOL" rpc --rpc "$CH_RPC" eth_chainId
ch_insert_vector 9 && t_pass "epoch 9 closed (3 records) while anvil is down" || t_fail "epoch 9 closed"
t_wait 30 ch_log_has "RPC endpoint $CH_RPC unavailable \(failure 3\)"
t_match "connection refused: retried with back-off" "$(grep 'chain:' "$QD_DIR/quorated.log" | tail -n 3)" \
	"unavailable \(failure 3\): .*onnect.*; next try in 4s"
t_eq "epoch 9 is still pending" "$(ch_state 9)" "pending"
# Not through t_run: its subshell would keep the new pids from the cleanup.
ch_start_node && t_pass "anvil starts again with its chain" || t_fail "anvil starts again with its chain"
t_eq "the restarted anvil still holds epoch 8" "$(ch_root_of 8)" "$(ch_vector_root 8)"
t_wait 60 ch_state_is 9 sent
t_eq "after anvil is back, epoch 9 is sent" "$(ch_state 9)" "sent"
ch_mine 1
t_wait 20 ch_state_is 9 confirmed
t_eq "epoch 9 is confirmed" "$(ch_state 9)" "confirmed"
t_eq "the ledger's rootOf(9) is the vector's root" "$(ch_root_of 9)" "$(ch_vector_root 9)"
t_eq "one transaction for epoch 9" "$(ch_sql 'SELECT count(*) FROM chain_txs WHERE epoch = 9')" "1"
t_eq "one EpochCommitted event for epoch 9" "$(ch_commit_logs 9)" "1"

# 3. quorated stopped between send and confirmation (automine off: the
#    commit waits in anvil's pool), started again, then the block comes.
ch_automine false
ch_insert_vector 10 && t_pass "epoch 10 closed (4 records), automine off" || t_fail "epoch 10 closed"
t_wait 20 ch_state_is 10 sent
t_eq "epoch 10 is sent" "$(ch_state 10)" "sent"
hash10=$(ch_sql "SELECT encode(tx_hash, 'hex') FROM chain_outbox WHERE epoch = 10")
nonce10=$(ch_sql "SELECT nonce FROM chain_outbox WHERE epoch = 10")
qd_stop_private
t_fails "quorated is stopped" kill -0 "$(qd_private_pid)"
t_run "quorated starts again" qd_start_private
sleep 3
t_eq "after the restart, still one transaction for epoch 10" \
	"$(ch_sql 'SELECT count(*) FROM chain_txs WHERE epoch = 10')" "1"
t_eq "the same transaction is followed" \
	"$(ch_sql "SELECT encode(tx_hash, 'hex') || ' ' || nonce FROM chain_outbox WHERE epoch = 10")" "$hash10 $nonce10"
ch_mine 2
t_wait 20 ch_state_is 10 confirmed
t_eq "epoch 10 is confirmed" "$(ch_state 10)" "confirmed"
t_eq "the ledger's rootOf(10) is the vector's root" "$(ch_root_of 10)" "$(ch_vector_root 10)"
t_eq "one EpochCommitted event for epoch 10" "$(ch_commit_logs 10)" "1"
t_eq "the mined transaction is the one sent before the restart" \
	"$(ch_sql "SELECT encode(tx_hash, 'hex') FROM chain_txs WHERE epoch = 10 AND outcome = 'mined'")" "$hash10"

# 4. status and verify.
out=$(qdp chain status 2>&1)
t_eq "quorate chain status: exit 0" "$?" "0"
t_match "status: chain id" "$out" "^chain id: 31337$"
t_match "status: the poster's account (anvil's development account 0)" "$out" \
	"^account: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 \(from ChainKeyFile\)"
t_match "status: balance in wei" "$out" "^balance: [0-9]{19,} wei"
t_match "status: 4 confirmed epochs" "$out" "epochs: 0 pending, 0 sent, 4 confirmed, 0 failed"
t_match "status: epoch 10's line" "$out" "epoch 10: confirmed nonce $nonce10 tx 0x$hash10 block [0-9]+ attempts 1"
json=$(qdp --json chain status 2>&1)
t_eq "status --json: confirmed count" "$(jq -r '.confirmed' <<<"$json")" "4"
t_eq "status --json: epochs listed" "$(jq -r '[.epochs[].epoch] | join(",")' <<<"$json")" "7,8,9,10"
out=$(qdp chain verify 10 2>&1)
t_eq "verify 10: exit 0" "$?" "0"
t_match "verify 10: 4 records" "$out" "epoch 10: 4 records, recomputed root $(ch_vector_root 10)"
t_match "verify 10: ledger matches" "$out" "ledger: matches"
out=$(qdp chain verify 42 2>&1)
t_eq "verify of an epoch not closed: exit 6" "$?" "6"
t_match "verify 42: says so" "$out" "no closed epoch 42"
out=$(qdp chain verify x 2>&1)
t_eq "verify with a bad EPOCH: exit 2" "$?" "2"
t_match "verify x: names the argument" "$out" "EPOCH 'x'"
# An epoch whose stored root is not its records' (vector 12's records under
# vector 13's root): the poster refuses it, verify shows the mismatch.
ch_insert_vector 12 "$(ch_vector_root 13)" && t_pass "epoch 12 closed with a wrong root" || t_fail "epoch 12 closed"
t_wait 20 ch_state_is 12 failed
t_eq "the poster fails epoch 12 without posting" "$(ch_state 12)" "failed"
t_match "its last_error says why" "$(ch_sql 'SELECT last_error FROM chain_outbox WHERE epoch = 12')" \
	"is not the root of its records"
t_eq "no transaction for epoch 12" "$(ch_sql 'SELECT count(*) FROM chain_txs WHERE epoch = 12')" "0"
out=$(qdp chain verify 12 2>&1)
t_eq "verify 12: exit 1 (mismatch)" "$?" "1"
t_match "verify 12: stored root mismatch" "$out" "stored root: MISMATCH"
t_match "verify 12: not on the ledger" "$out" "ledger: epoch 12 not committed"
out=$(qdp chain status 2>&1)
t_eq "status with a failed epoch: exit 1" "$?" "1"
t_match "status lists the failed epoch and why" "$out" "epoch 12: failed .*error: epochs.root"
t_eq "quorated still runs" "$(kill -0 "$(qd_private_pid)" && echo yes)" "yes"
t_done
