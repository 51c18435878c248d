# testsuite/integration/lib.sh - sourced by every integration test.
#
# Each check prints "ok - NAME" or "not ok - NAME" (and "# ..." diagnostics);
# testsuite/run counts them.  A check can always fail: nothing here turns a
# missing service into a pass.  Every test ends with t_done: a test that
# stops before it (an exit, a crash of the shell) fails, and its exit status
# is the larger of its own and its checks'.

T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T_BUILD=${QUORATE_BUILDDIR:-$T_TOP}
T_CLUSTER=${QUORATE_TEST_CLUSTER:-/tmp/quorate-test-$(printf '%s' "$T_BUILD" | cksum | cut -d' ' -f1)}
T_TMP=$(mktemp -d /tmp/quorate-t.XXXXXX)
chmod 0755 "$T_TMP"
T_FAILED=0
T_DONE=0
trap 't_cleanup' EXIT

t_cleanup() {
	local rc=$? f
	for f in "${T_CLEANUP[@]:-}"; do
		[ -n "$f" ] && eval "$f" >/dev/null 2>&1
	done
	rm -rf "$T_TMP"
	if [ "$T_DONE" != 1 ]; then
		echo "not ok - $(basename "$0") stopped before its end (exit status $rc)"
		[ "$rc" -ne 0 ] || rc=1
	fi
	[ "$T_FAILED" -gt "$rc" ] && rc=$T_FAILED
	exit "$rc"
}
# The test's last line: it ran to its end.
t_done() { T_DONE=1; }
T_CLEANUP=()
t_on_exit() { T_CLEANUP+=("$1"); }

t_diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
t_pass() { echo "ok - $1"; }
t_fail() {
	echo "not ok - $1"
	T_FAILED=1
	shift
	[ $# -gt 0 ] && t_diag "$@"
	return 0
}

# t_run NAME CMD...: passes when CMD exits 0.
t_run() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		t_pass "$name"
	else
		t_fail "$name" "command: $*" "exit status: $?" "$out"
	fi
}

# t_fails NAME CMD...: passes when CMD exits non-zero.
t_fails() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		t_fail "$name" "command unexpectedly succeeded: $*" "$out"
	else
		t_pass "$name"
	fi
}

# t_eq NAME GOT WANT
t_eq() {
	if [ "$2" = "$3" ]; then
		t_pass "$1"
	else
		t_fail "$1" "got:  '$2'" "want: '$3'"
	fi
}

# t_match NAME GOT EXTENDED-REGEX
t_match() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then
		t_pass "$1"
	else
		t_fail "$1" "got:  '$2'" "want a match for: $3"
	fi
}

# t_wait SECONDS CMD...: retry CMD until it succeeds; status of the last try.
t_wait() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 4))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	"$@"
}

# Use the suite's shared cluster (started by testsuite/run), or DIR.
t_use_cluster() {
	local dir=${1:-$T_CLUSTER} env
	env=$("$T_TOP/scripts/cluster" env --dir "$dir") || return 1
	eval "$env"
}

# Start a private cluster in a directory of its own; stopped at exit.
t_private_cluster() {
	local dir=$1
	shift
	t_on_exit "'$T_TOP/scripts/cluster' down --dir '$dir'"
	"$T_TOP/scripts/cluster" up --dir "$dir" "$@" > "$T_TMP/cluster-$(basename "$dir").log" 2>&1 ||
		{ cat "$T_TMP/cluster-$(basename "$dir").log"; return 1; }
}

# The test needs select/reputation: where this build has none (a Slurm
# release without a select adapter, a build without Slurm's source) it
# fails with configure's reason and stops; it never passes without it.
t_need_select() {
	local why
	[ -f "$T_BUILD/plugins/select/.libs/select_reputation.so" ] && return 0
	why=$(sed -n 's/^configure:[0-9]*: select\/reputation is skipped: //p' "$T_BUILD/config.log" 2>/dev/null | tail -n 1)
	t_fail "select_reputation.so is built for Slurm ${QUORATE_SLURM:-22.05}" \
		"select/reputation is not built in $T_BUILD: ${why:-see its config.log}" \
		"(README, Slurm releases)"
	exit 1
}

# A private cluster in DIR made afresh (no jobs, scores or ports of an
# earlier run), used from here on; the test fails and stops without one.
# select/reputation and spank_quorate must be built.
t_fresh_cluster() {
	local dir=$1
	shift
	[ -f "$T_BUILD/plugins/spank/.libs/spank_quorate.so" ] ||
		{ t_fail "spank_quorate.so is built"; exit 1; }
	t_need_select
	"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
	rm -rf "$dir"
	t_private_cluster "$dir" "$@" || { t_fail "private cluster in $dir"; exit 1; }
	t_use_cluster "$dir" || { t_fail "private cluster env"; exit 1; }
}

# Wait until job ID has left the queue; prints its final state from scontrol.
t_wait_job() {
	local id=$1 secs=${2:-120} i state
	for i in $(seq 1 $((secs * 2))); do
		state=$(scontrol -o show job "$id" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
		case "$state" in
		COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
			echo "$state"; return 0 ;;
		esac
		sleep 0.5
	done
	echo "${state:-UNKNOWN}"
	return 1
}
