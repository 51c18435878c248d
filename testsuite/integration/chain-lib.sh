# testsuite/integration/chain-lib.sh - helpers of the chain poster's tests
# (t58, t59), sourced after lib.sh and qd-lib.sh.  Not a test itself.
#
# Each test gets a chain of its own: an anvil on a port of the suite
# cluster's block (base + OFFSET + 1), the contracts deployed on it by
# contracts/script/deploy-local, and a private quorated (qd-lib's database
# and files) posting there.  Its faults (anvil stopped, automine off,
# snapshots reverted, a transaction dropped) then touch no other test.

CH_TOOL=$T_BUILD/testsuite/integration/eth_tool
CH_ANVIL=$T_TOP/contracts/node_modules/.bin/anvil
CH_VECTORS=$T_TOP/contracts/test/vectors.json

# ch_setup NAME OFFSET < extra quorate.conf lines: sets CH_RPC, CH_DIR,
# CH_PORT, CH_LEDGER, CH_ANVIL_PID (the launcher), CH_NODE_PID (anvil
# itself) and qd-lib's QD_* (quorated not started yet).
ch_setup() {
	local name=$1 offset=$2 base port extra
	extra=$(cat)
	base=$(sed -n 's/^BASE_PORT=//p' "$QUORATE_CLUSTER_DIR/cluster.env")
	port=$((base + offset + 1))
	CH_DIR=$T_TMP/$name-chain
	CH_RPC=http://127.0.0.1:$port
	CH_PORT=$port
	mkdir -p "$CH_DIR"
	t_on_exit "ch_stop_anvil"
	ch_start_node || return 1
	"$T_TOP/contracts/script/deploy-local" --rpc "$CH_RPC" --out "$CH_DIR" \
		> "$CH_DIR/deploy.log" 2>&1 || { cat "$CH_DIR/deploy.log"; return 1; }
	CH_LEDGER=$(sed -n 's/^LEDGER_ADDRESS=//p' "$CH_DIR/deployment.env")
	# The suite's quorate.conf, less what is the private instance's own.
	QUORATE_CONF_SAVED=$QUORATE_CONF
	grep -v -E '^(Chain|Confirmations|SpoolDir)' "$QUORATE_CONF" > "$CH_DIR/base.conf"
	QUORATE_CONF=$CH_DIR/base.conf
	qd_private_quorated "$name" "$offset" <<EOF || return 1
SpoolDir=$CH_DIR/spool
ChainRPC=$CH_RPC
ChainDeployment=$CH_DIR/deployment.env
ChainKeyFile=$CH_DIR/poster.key
ChainPollSeconds=1
$extra
EOF
	QUORATE_CONF=$QUORATE_CONF_SAVED
	mkdir -p "$CH_DIR/spool"
}

# ch_start_node: anvil on CH_PORT; its chain is kept in CH_DIR/state.json
# when it stops (SIGTERM) and loaded again at the next start.
ch_start_node() {
	setsid "$CH_ANVIL" --host 127.0.0.1 --port "$CH_PORT" --chain-id 31337 \
		--state "$CH_DIR/state.json" < /dev/null >> "$CH_DIR/anvil.log" 2>&1 &
	CH_ANVIL_PID=$!
	t_wait 30 "$CH_TOOL" rpc --rpc "$CH_RPC" eth_chainId > /dev/null || return 1
	# node_modules/.bin/anvil is a Node.js launcher: the node itself is
	# the process that listens on the port (the one SIGSTOP must reach).
	CH_NODE_PID=$(ss -ltnpH "sport = :$CH_PORT" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
	[ -n "$CH_NODE_PID" ] || { echo "no process listens on port $CH_PORT"; return 1; }
}

ch_stop_node() {	# anvil down: its port refuses connections
	kill -TERM "$CH_NODE_PID" 2>/dev/null
	qd_wait_gone "$CH_NODE_PID" && qd_wait_gone "$CH_ANVIL_PID"
}

ch_stop_anvil() {
	[ -n "${CH_ANVIL_PID:-}" ] || return 0
	kill -CONT "$CH_NODE_PID" 2>/dev/null
	kill -TERM "$CH_NODE_PID" "$CH_ANVIL_PID" 2>/dev/null
	qd_wait_gone "$CH_NODE_PID"
	qd_wait_gone "$CH_ANVIL_PID"
	return 0
}

ch_rpc() {	# ch_rpc METHOD [JSON-PARAMS]: the result
	"$CH_TOOL" rpc --rpc "$CH_RPC" "$@"
}

ch_mine() {	# ch_mine [N]: mine N blocks (default 1)
	local i
	for i in $(seq 1 "${1:-1}"); do
		ch_rpc evm_mine > /dev/null || return 1
	done
}

ch_automine() {	# ch_automine true|false
	ch_rpc evm_setAutomine "[$1]" > /dev/null
}

ch_sql() {	# ch_sql SQL: one value per line, unaligned, from the private database
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$QD_DB" -c "$1"
}

ch_state() {	# ch_state EPOCH: the outbox row's state
	ch_sql "SELECT state FROM chain_outbox WHERE epoch = $1"
}

ch_log_has() {	# ch_log_has REGEX: the private quorated's log matches (for t_wait)
	grep -Eq -- "$1" "$QD_DIR/quorated.log"
}

ch_block_stored() {	# ch_block_stored EPOCH: a receipt's block is in the outbox row
	[ -n "$(ch_sql "SELECT block_number FROM chain_outbox WHERE epoch = $1")" ]
}

ch_state_is() {	# ch_state_is EPOCH STATE: for t_wait
	[ "$(ch_state "$1")" = "$2" ]
}

# ch_insert_vector EPOCH: close EPOCH with the records of that epoch's
# contribution tree in contracts/test/vectors.json (computed by forge, not
# by our C; the totals summed exactly by PostgreSQL), as epoch close does: epochs, epoch_records and a pending
# chain_outbox row in one transaction.  ROOT overrides the stored root.
ch_insert_vector() {
	local epoch=$1 root=${2:-} v
	v=$(jq -c --arg e "$epoch" '.contribution[] | select(.epoch == $e)' "$CH_VECTORS")
	[ -n "$v" ] || { echo "no vector for epoch $epoch"; return 1; }
	[ -n "$root" ] || root=$(jq -r '.root' <<<"$v")
	jq -r --arg root "$root" '
		def b(h): "decode(\u0027" + (h | ltrimstr("0x")) + "\u0027, \u0027hex\u0027)";
		"BEGIN;",
		"INSERT INTO epochs (epoch, root, cpu_seconds, gpu_seconds, records, data_hash) VALUES (" +
		.epoch + ", " + b($root) + ", " +
		"(SELECT coalesce(sum(v), 0) FROM unnest(ARRAY[" + ([.records[].cpuSeconds] | join(",")) + "]::numeric[]) v), " +
		"(SELECT coalesce(sum(v), 0) FROM unnest(ARRAY[" + ([.records[].gpuSeconds] | join(",")) + "]::numeric[]) v), " +
		(.records | length | tostring) + ", sha256(\u0027" + (.records | tostring) + "\u0027::bytea));",
		(.records[] | "INSERT INTO epoch_records (epoch, idx, site, site_id, payee, cpu_seconds, gpu_seconds, score) VALUES (" +
			.epoch + ", " + (.index | tostring) + ", \u0027" + .site + "\u0027, " + b(.siteId) + ", " +
			b(.payee) + ", " + .cpuSeconds + ", " + .gpuSeconds + ", " + .score + ");"),
		"INSERT INTO chain_outbox (epoch) VALUES (" + .epoch + ");",
		"COMMIT;"' <<<"$v" > "$T_TMP/epoch-$epoch.sql"
	psql -X -q -v ON_ERROR_STOP=1 -d "$QD_DB" -f "$T_TMP/epoch-$epoch.sql"
}

# ch_insert_empty EPOCH: an epoch without records (root 0), pending.
ch_insert_empty() {
	ch_sql "BEGIN; INSERT INTO epochs (epoch, root, cpu_seconds, gpu_seconds, records, data_hash)
		VALUES ($1, decode(repeat('00', 32), 'hex'), 0, 0, 0, sha256(''::bytea));
		INSERT INTO chain_outbox (epoch) VALUES ($1); COMMIT;"
}

ch_vector_root() {	# ch_vector_root EPOCH
	jq -r --arg e "$1" '.contribution[] | select(.epoch == $e) | .root' "$CH_VECTORS"
}

ch_root_of() {	# ch_root_of EPOCH: the ledger's rootOf(EPOCH)
	"$CH_TOOL" call --rpc "$CH_RPC" --to "$CH_LEDGER" --returns bytes32 --sig 'rootOf(uint64)' "$1"
}

# ch_commit_logs EPOCH: how many EpochCommitted events for EPOCH the chain holds.
ch_commit_logs() {
	local topic1
	topic1=0x$(printf '%064x' "$1")
	ch_rpc eth_getLogs "[{\"fromBlock\":\"0x0\",\"toBlock\":\"latest\",\"address\":\"$CH_LEDGER\",\"topics\":[\"0x28f60cf42abf1d3b11a2fab7d16a65b874f8ac87adff0f614c8ea25c3fe9d1f7\",\"$topic1\"]}]" |
		jq 'length'
}
