#!/bin/bash
# A rank of a 4-rank quorate-train step dies (SIGKILL) in the middle of
# training: the step ends within 30 s instead of the other ranks spinning
# until the time limit (issue 20).  Open MPI 4.1.4's TCP transport only
# prints "peer process has unexpectedly disconnected" and waits for ever,
# so two things end the step: srun --kill-on-bad-exit=1 (the suite's
# slurm.conf sets KillOnBadExit=1), and without it quorate-train's own
# bound on a wait for the other ranks (--peer-timeout).
. "$(dirname "$0")/lib.sh"

T=$T_BUILD/mpi-trainer/quorate-train
long="--epochs 50 --limit 8000"
t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }

# kill_one_rank NAME SRUN-ARGS... -- TRAIN-ARGS...: start the step, wait
# until rank 0 trains, SIGKILL rank 2's quorate-train and print the seconds
# from the kill to the end of srun; srun's status in NAME.status.
kill_one_rank() {
	local name=$1 args=() pid victim t0 t1 i
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	timeout -k 10 240 srun --mpi=pmix -N4 -n4 "${args[@]}" bash -c \
		'echo $$ > "$0.pid.$SLURM_PROCID"; exec "$@"' "$T_TMP/$name" "$T" "$@" \
		> "$T_TMP/$name.out" 2> "$T_TMP/$name.err" &
	pid=$!
	for i in $(seq 1 600); do
		grep -q '^quorate-train rank 0: epoch 1 shards' "$T_TMP/$name.err" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	sleep 2
	victim=$(cat "$T_TMP/$name.pid.2" 2>/dev/null)
	t0=$(date +%s.%N)
	[ -n "$victim" ] && kill -KILL "$victim"
	wait "$pid"
	echo $? > "$T_TMP/$name.status"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }'
}

# Every rank of the step is gone (the pid files name them).
ranks_left() {
	local p left=
	for p in $(cat "$T_TMP/$1".pid.* 2>/dev/null); do
		kill -0 "$p" 2>/dev/null && left="$left $p"
	done
	echo "$left"
}

within() { awk -v s="$1" -v lim="$2" 'BEGIN { exit !(s != "" && s < lim) }'; }

# 1. srun --kill-on-bad-exit=1: Slurm ends the step when rank 2 dies.
s=$(kill_one_rank kob --kill-on-bad-exit=1 -- $long)
if within "$s" 30; then
	t_pass "--kill-on-bad-exit=1: the step ends ${s} s after a rank is killed (< 30 s)"
else
	t_fail "--kill-on-bad-exit=1: the step ends within 30 s of a rank's death" "took ${s} s" \
		"$(tail -n 8 "$T_TMP/kob.err")"
fi
t_eq "and srun fails" "$(test "$(cat "$T_TMP/kob.status")" != 0 && echo failed)" "failed"
t_eq "and no rank is left running" "$(ranks_left kob)" ""

# 2. KillOnBadExit off for the step: the other ranks end themselves once a
# wait for the dead one lasts --peer-timeout.
s=$(kill_one_rank bound --kill-on-bad-exit=0 -- $long --peer-timeout 10)
if within "$s" 30; then
	t_pass "--kill-on-bad-exit=0 --peer-timeout 10: the step ends ${s} s after a rank is killed (< 30 s)"
else
	t_fail "--kill-on-bad-exit=0 --peer-timeout 10: the step ends within 30 s of a rank's death" \
		"took ${s} s" "$(tail -n 8 "$T_TMP/bound.err")"
fi
t_eq "and srun fails" "$(test "$(cat "$T_TMP/bound.status")" != 0 && echo failed)" "failed"
t_eq "the three live ranks each say why they stopped" \
	"$(grep -c 'error: no answer from the other ranks for 1[0-9] s in MPI_[A-Za-z]*: a rank has died or stopped (--peer-timeout)' "$T_TMP/bound.err")" "3"
t_eq "and no rank is left running" "$(ranks_left bound)" ""

# --peer-timeout's value is checked like every other option's.
out=$("$T_BUILD/mpi-trainer/quorate-train-serial" --peer-timeout -1 2>&1)
t_match "--peer-timeout -1 is refused with the range" "$out" "--peer-timeout: '-1' is not a number in 0\.\.1e\+06"
t_done
