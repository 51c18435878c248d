#!/bin/bash
# quorate report --by epoch against a chain of its own (chain-lib.sh): epochs
# 7..10 closed in PostgreSQL from contracts/test/vectors.json (roots
# computed by forge); 7, 8 and 9 committed by the private quorated's
# poster, 10 left pending (quorated stopped).  Rewards funded and claimed
# on the RewardVault with transactions signed by eth_tool: epoch 7 funded
# twice its tree's total with one claim (paid = the claim), epoch 8 funded
# with its total, one claim, then swept after the deadline (paid = funded -
# the Swept event's amount).  Epoch 9's records are then changed in
# PostgreSQL behind the frozen-row triggers (what a careless DBA could do):
# its Reconciled is "no".  With anvil stopped: "unknown", rewards unknown.
# Every value is checked against an independent source: the chain (eth_tool
# call), the outbox row, the vectors, the ledger rows inserted here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"
. "$(dirname "$0")/chain-lib.sh"

if ! t_use_cluster; then
	t_fail "the shared test cluster is running"
	exit 1
fi
ch_setup t18 46 <<EOF || { t_fail "a private anvil with the contracts and a private quorated"; exit 1; }
Confirmations=1
EOF
t_run "the private quorated starts with the poster" qd_start_private
VAULT=$(sed -n 's/^VAULT_ADDRESS=//p' "$CH_DIR/deployment.env")
KEY=$CH_DIR/poster.key
export TZ=UTC	# epochs are UTC days; --from/--to are local time, as sacct's
report() {	# report ARGS...: the private instance's report, epochs 7..10
	qdp report --from 1970-01-08 --to 1970-01-12 --by epoch "$@"
}

for e in 7 8 9; do
	ch_insert_vector $e || t_fail "epoch $e closed in PostgreSQL"
	t_wait 30 ch_state_is $e confirmed
	t_eq "epoch $e is committed and confirmed" "$(ch_state $e)" "confirmed"
done
ch_sql "INSERT INTO contrib_ledger (epoch, site, counterparty, kind, amount, records) VALUES
	(7, 'site_a', 'site_b', 'earned', 2500000, 3), (7, 'site_b', 'site_a', 'spent', -2500000, 3)" \
	> /dev/null || t_fail "ledger rows of epoch 7"
t_run "the private quorated stops" qd_stop_private
ch_insert_vector 10 || t_fail "epoch 10 closed in PostgreSQL"
ch_insert_empty 11 || t_fail "epoch 11 (empty) closed in PostgreSQL"

# Rewards.  Deadline: the chain's time plus the vault's one-hour minimum and a minute.
now=$(ch_rpc eth_getBlockByNumber '["latest", false]' | jq -r .timestamp)
deadline=$(( now + 3660 ))
vsend() {	# vsend [--value WEI] SIG ARGS...: a vault transaction, mined
	"$CH_TOOL" send --rpc "$CH_RPC" --key "$KEY" --to "$VAULT" --wait 30 "$@" 2>&1
}
# One-leaf reward trees (root = the leaf, empty proof) paying a record's
# payee, the leaf computed by the vault itself (rewardLeaf).
payee() {	# payee EPOCH IDX: the payee of that record in the vectors
	jq -r --arg e "$1" --argjson i "$2" '.contribution[] | select(.epoch == $e) | .records[$i].payee' "$CH_VECTORS"
}
leaf() {	# leaf EPOCH ACCOUNT AMOUNT
	"$CH_TOOL" call --rpc "$CH_RPC" --to "$VAULT" --returns bytes32 \
		--sig "rewardLeaf(uint64,uint256,address,uint256)" "$1" 0 "$2" "$3"
}
p7=$(payee 7 0)
a7=1500000000000000000	# 1.5 ETH
f7=3000000000000000000
t_match "epoch 7 funded with twice its one claim ($f7 wei)" \
	"$(vsend --value "$f7" --sig "fundEth(uint64,bytes32,uint256,uint64)" 7 "$(leaf 7 "$p7" "$a7")" 1 "$deadline")" \
	"status success"
t_match "site_a's payee claims $a7 wei of epoch 7" \
	"$(vsend --sig "claim(uint64,uint256,address,uint256,bytes32[])" 7 0 "$p7" "$a7" "")" "status success"
p8=$(payee 8 0)
a8=250000000000000000	# 0.25 ETH
b8=750000000000000000
f8=1000000000000000000
t_match "epoch 8 funded with $f8 wei" \
	"$(vsend --value "$f8" --sig "fundEth(uint64,bytes32,uint256,uint64)" 8 "$(leaf 8 "$p8" "$a8")" 1 "$deadline")" \
	"status success"
t_match "$(jq -r '.contribution[] | select(.epoch == "8") | .records[0].site' "$CH_VECTORS")'s payee claims $a8 wei of epoch 8" \
	"$(vsend --sig "claim(uint64,uint256,address,uint256,bytes32[])" 8 0 "$p8" "$a8" "")" "status success"
ch_rpc evm_increaseTime '[3700]' > /dev/null && ch_mine 1
admin=$(sed -n 's/^ADMIN_ADDRESS=//p' "$CH_DIR/deployment.env")
t_match "after the deadline, the rest of epoch 8 ($b8 wei) swept" \
	"$(vsend --sig "sweep(uint64,address)" 8 "$admin")" "status success"

# The store changed under epoch 9's committed root.
ch_sql "SET session_replication_role = replica;
	UPDATE epoch_records SET cpu_seconds = cpu_seconds + 3600 WHERE epoch = 9 AND idx = 0" > /dev/null ||
	t_fail "epoch 9's record changed"

report --format json > "$T_TMP/r.json" 2> "$T_TMP/r.err"
t_eq "report --by epoch --format json: exit 1 (epoch 9 does not reconcile)" "$?" "1"
t_eq "the epochs of the period, 11 left out (--to is exclusive)" \
	"$(jq -c '[.rows[].epoch]' "$T_TMP/r.json" 2>&1)" "[7,8,9,10]"
row() { jq -r --argjson e "$1" ".rows[] | select(.epoch == \$e) | $2" "$T_TMP/r.json"; }
t_eq "epoch 7: period (UTC day 7)" "$(row 7 '.period_start + " " + .period_end')" \
	"1970-01-08T00:00:00+00:00 1970-01-09T00:00:00+00:00"
t_eq "epoch 7: root is the ledger's rootOf(7)" "$(row 7 .root)" "$(ch_root_of 7)"
t_eq "epoch 7: transaction and block of the outbox row" "$(row 7 '.tx_hash + " " + (.block | tostring)')" \
	"$(ch_sql "SELECT '0x' || encode(tx_hash, 'hex') || ' ' || block_number FROM chain_outbox WHERE epoch = 7")"
t_eq "epoch 7: the transaction's receipt names that block" \
	"$(ch_rpc eth_getTransactionReceipt "[\"$(row 7 .tx_hash)\"]" | jq -r '.blockNumber' | xargs printf '%d')" \
	"$(row 7 .block)"
t_eq "epoch 7: records and CPU hours (to the microhour) as the vector's" \
	"$(row 7 '.records, (.cpu_hours * 1e6 | round)' | paste -sd' ')" \
	"$(jq -r '.contribution[] | select(.epoch == "7") | (.records | length), ([.records[].cpuSeconds | tonumber] | add / 3600 * 1e6 | round)' "$CH_VECTORS" | paste -sd' ')"
t_eq "epoch 7: credits earned and spent from the ledger" "$(row 7 '.credits_earned, .credits_spent' | paste -sd' ')" "2.5 2.5"
t_eq "epoch 7: reconciled, confirmed" "$(row 7 '.reconciled + " " + .chain_state')" "yes confirmed"
t_eq "epoch 7: rewards ETH, funded $f7, paid $a7" \
	"$(row 7 '.reward_asset + " " + .rewards_funded + " " + .rewards_paid')" "ETH $f7 $a7"
t_eq "epoch 8: reconciled; swept: paid = funded - swept = $a8" \
	"$(row 8 '.reconciled + " " + .rewards_funded + " " + .rewards_paid')" "yes $f8 $a8"
t_eq "epoch 9: not reconciled" "$(row 9 .reconciled)" "no"
t_match "epoch 9: the detail names the recomputed and stored roots" "$(row 9 .detail)" \
	"^epoch_records give root 0x[0-9a-f]{64} over 3 records; epochs holds $(ch_vector_root 9) over 3$"
t_eq "epoch 10: pending, not committed, no transaction, not funded" \
	"$(row 10 '.chain_state + "|" + .reconciled + "|" + (.tx_hash | tostring) + "|" + .reward_asset + "|" + .rewards_paid')" \
	"pending|not committed|null|none|0"
out=$(qdp chain verify 9 2>&1)
t_eq "quorate chain verify 9 agrees: exit 1 (mismatch)" "$?" "1"
t_match "and says the stored root does not match" "$out" "stored root: MISMATCH"

# CSV: RFC 4180 with CRLF; parsed back, the same values as the JSON.
report --format csv -o "$T_TMP/r.csv"
t_eq "report --format csv -o: exit 1 too" "$?" "1"
t_eq "CSV lines end in CRLF" "$(grep -c $'\r$' "$T_TMP/r.csv")" "5"
t_eq "CSV header" "$(head -n 1 "$T_TMP/r.csv" | tr -d '\r')" \
	"Epoch,Period Start,Period End,Records,CPU Hours [h],GPU Hours [h],Credits Earned [credits],Credits Spent [credits],Merkle Root,Chain State,Transaction Hash,Block,Reward Asset,Rewards Funded [base units],Rewards Paid [base units],Reconciled,Reconciliation Detail"
t_eq "CSV parsed back: epoch, root, transaction, block, paid, reconciled per row as the JSON" \
	"$(python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")):
    print(r["Epoch"], r["Merkle Root"], r["Transaction Hash"] or "null", r["Block"] or "null",
          r["Rewards Paid [base units]"], r["Reconciled"].replace(" ", "_"))' "$T_TMP/r.csv" 2>&1)" \
	"$(jq -r '.rows[] | [.epoch, .root, (.tx_hash | tostring), (.block | tostring), .rewards_paid, (.reconciled | gsub(" "; "_"))] | join(" ")' "$T_TMP/r.json")"

out=$(report 2>&1)
t_diag "$out"
t_match "the table: one line per epoch, reconciled yes / no / not committed" \
	"$(grep -E '^(7|8|9|10) ' <<<"$out" | awk '{print $1, $NF}' | tr '\n' ' ')" \
	"^7 yes 8 yes 9 no 10 committed $"
t_match "and a note for each epoch that does not reconcile" "$out" "# epoch 9: no: epoch_records give root"
report --format html -o "$T_TMP/r.html"
t_eq "report --format html: exit 1 too" "$?" "1"
t_match "the HTML marks epoch 9's cell" "$(cat "$T_TMP/r.html")" '<td class="no">no</td>'
t_eq "the HTML loads nothing from elsewhere (no src=, href=, url()" \
	"$(grep -cE 'src=|href=|url\(' "$T_TMP/r.html")" "0"

# A period without epoch 9: everything reconciles or waits, exit 0.
qdp report --from 1970-01-08 --to 1970-01-10 --by epoch --format json > "$T_TMP/r2.json"
t_eq "epochs 7 and 8 only: exit 0" "$?" "0"
t_eq "and two rows" "$(jq -c '[.rows[].epoch]' "$T_TMP/r2.json")" "[7,8]"

# By site: Contribution Score from the epochs' records, Rewards Paid from
# the vault's Claimed events matched to the records' payees.
qdp report --from 1970-01-08 --to 1970-01-12 --by site --format json > "$T_TMP/s.json" 2> "$T_TMP/s.err"
t_eq "report --by site over the same period: exit 0" "$?" "0"
t_diag "$(qdp report --from 1970-01-08 --to 1970-01-12 --by site 2>&1)"
t_eq "contribution score per site: the vectors' scores of epochs 7-10 added up" \
	"$(jq -r '.rows[] | select(.contribution_score != null) | "\(.site)=\(.contribution_score * 1e6 | round)"' "$T_TMP/s.json" | sort | paste -sd' ')" \
	"$(jq -r '[.contribution[] | select(.epoch == "7" or .epoch == "8" or .epoch == "9" or .epoch == "10") | .records[]]
		| group_by(.site)[] | "\(.[0].site | ltrimstr("site_"))=\([.[].score | tonumber] | add)"' "$CH_VECTORS" | sort | paste -sd' ')"
t_eq "rewards paid per site: a 1.5 ETH (epoch 7), $(jq -r '.contribution[] | select(.epoch == "8") | .records[0].site' "$CH_VECTORS") 0.25 ETH (epoch 8), others 0" \
	"$(jq -r '.rows[] | select(.rewards_paid_eth != null) | "\(.site)=\(.rewards_paid_eth)"' "$T_TMP/s.json" | sort | paste -sd' ')" \
	"$(jq -r '[.contribution[] | select(.epoch == "7" or .epoch == "8" or .epoch == "9" or .epoch == "10") | .records[].site | ltrimstr("site_")] | unique[]' "$CH_VECTORS" |
		while read -r site; do
			case "$site" in
			a) echo "a=1.5" ;;
			"$(jq -r '.contribution[] | select(.epoch == "8") | .records[0].site | ltrimstr("site_")' "$CH_VECTORS")") echo "$site=0.25" ;;
			*) echo "$site=0" ;;
			esac
		done | sort | paste -sd' ')"

# anvil down: the store is still read, the chain's columns are unknown.
ch_stop_node
qdp -t 3 report --from 1970-01-08 --to 1970-01-12 --by epoch --format json > "$T_TMP/r3.json" 2>&1
t_eq "anvil down: exit 1 still (epoch 9's store disagrees with itself)" "$?" "1"
t_eq "reconciled: unknown, unknown, no, unknown" "$(jq -r '[.rows[].reconciled] | join(",")' "$T_TMP/r3.json")" \
	"unknown,unknown,no,unknown"
t_match "epoch 7's detail says why" "$(jq -r '.rows[0].detail' "$T_TMP/r3.json")" "^ledger not asked: .*"
qdp -t 3 report --from 1970-01-08 --to 1970-01-12 --by site --format json > "$T_TMP/s3.json" 2>&1
t_eq "by site with anvil down: exit 0" "$?" "0"
t_eq "rewards paid empty, and a note says why" \
	"$(jq -r '[.rows[].rewards_paid_eth | tostring] | unique | join(",")' "$T_TMP/s3.json")" "null"
t_eq "rewards unknown (null), with the error" \
	"$(jq -r '.rows[0] | (.rewards_paid | tostring) + " " + (.rewards_error != null | tostring)' "$T_TMP/r3.json")" "null true"

# Bad input.
out=$(qdp report --from 1970-01-08 --to 1970-01-12 --by epochs 2>&1)
t_eq "--by epochs: exit 2" "$?" "2"
t_match "naming the option and what is allowed" "$out" "--by: 'epochs' is not one of site, account, user, node, epoch"
sed 's|^Database=.*|Database="host=127.0.0.1 port=1 dbname=none connect_timeout=3"|' "$QD_CONF" > "$T_TMP/nodb.conf"
out=$("$QD_QUORATE" -f "$T_TMP/nodb.conf" report --from 1970-01-08 --to 1970-01-12 --by epoch 2>&1)
t_eq "the database unreachable: exit 3" "$?" "3"
t_match "and says which" "$out" "^quorate: error: report: database: .*127.0.0.1.*port 1"
t_done
