# testsuite/integration/qd-lib.sh - helpers of quorated's tests (t10-t19),
# sourced after lib.sh.  Not a test itself (its name does not start with t).

QD_BIN=$T_BUILD/accounting
QD_QUORATE=$QD_BIN/quorate
QD_QUORATED=$QD_BIN/quorated

# A job id no earlier run used: the suite's database outlives a run.
qd_job() {
	echo $(( ($(date +%s%N) / 1000000) % 4000000000 ))
}

qd_sha() {	# qd_sha TEXT: SHA-256 hex of TEXT
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# qd_result JOB STEP REPLICA REPLICAS QUORUM NODE SHA [UID [MORE-JSON]]:
# a replica_result request.
qd_result() {
	local uid=${8:-1000} more=${9:-}
	printf '{"v":1,"type":"replica_result","job":%s,"step":%s,"replica":%s,"replicas":%s,"quorum":%s,"node":"%s","uid":%s,"sha256":"%s","exit_status":0,"runtime":0.5%s}' \
		"$1" "$2" "$3" "$4" "$5" "$6" "$uid" "$7" "${more:+,$more}"
}

# Run a command as the ordinary user quorate-test, from a directory it
# may enter, with what quorate needs in its environment.
qd_as_user() {
	(cd "$T_TMP" && runuser -u quorate-test -- env QUORATE_CONF="$QUORATE_CONF" \
		QUORATE_MUNGE_SOCKET="$QUORATE_MUNGE_SOCKET" PATH="$PATH" "$@")
}

# The value of a counter in quorated's health answer.
qd_counter() {	# qd_counter NAME [QUORATE-ARGS...]
	local name=$1
	shift
	"$QD_QUORATE" "$@" --json ping 2>/dev/null | jq -r ".counters.$name"
}

# A private quorated beside the suite's: its own database (dropped at
# exit), port and files under $T_TMP/NAME.  Sets QD_DIR, QD_CONF, QD_PORT,
# QD_DB.  Extra quorate.conf lines come on stdin.
qd_private_quorated() {	# qd_private_quorated NAME PORT-OFFSET < extra-lines
	local name=$1 offset=$2 base
	base=$(sed -n 's/^BASE_PORT=//p' "$QUORATE_CLUSTER_DIR/cluster.env")
	QD_DIR=$T_TMP/$name
	QD_PORT=$((base + offset))
	QD_DB=quorate_$name
	QD_CONF=$QD_DIR/quorate.conf
	mkdir -p "$QD_DIR"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $QD_DB" -c "CREATE DATABASE $QD_DB" ||
		return 1
	t_on_exit "qd_stop_private"
	t_on_exit "psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS $QD_DB WITH (FORCE)'"
	{
		grep -v -E '^(ListenPort|MetricsPort|Database|LogFile|PidFile)=' "$QUORATE_CONF"
		echo "ListenPort=$QD_PORT"
		echo "MetricsPort=0"
		echo "Database=\"host=$PGHOST port=$PGPORT user=quorate dbname=$QD_DB\""
		echo "LogFile=$QD_DIR/quorated.log"
		echo "PidFile=$QD_DIR/quorated.pid"
		cat
	} > "$QD_CONF"
	chmod 0644 "$QD_CONF"
}

qd_private_pid() {
	head -n 1 "$QD_DIR/quorated.pid" 2>/dev/null | tr -dc '0-9'
}

qd_start_private() {	# start the private quorated (daemonized) and wait for it
	"$QD_QUORATED" -f "$QD_CONF" || return 1
	t_wait 20 "$QD_QUORATE" -f "$QD_CONF" ping
}

qd_wait_gone() {	# qd_wait_gone PID: until the process is gone (max 20 s)
	local i
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.2
	done
	return 1
}

qd_stop_private() {
	local pid
	pid=$(qd_private_pid)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null && qd_wait_gone "$pid"
	return 0
}

# quorate against the private instance.
qdp() {
	"$QD_QUORATE" -f "$QD_CONF" "$@"
}
