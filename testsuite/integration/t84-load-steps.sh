#!/bin/bash
# Load (issue 13): 100 concurrent `srun --replicas=3` steps on a private
# cluster (3 nodes, one per site) with spank_quorate and quorated.  One
# sbatch --replicas=3 allocation starts the 100 steps at once in the
# background (--overlap: they share the allocation's CPUs; the step is a
# trivial echo, the machine has 2 cores), waits for all of them, and the
# test checks that each srun got its verdict, that quorated holds 100
# ACCEPTED verdicts with 3 agreeing replicas each, and that nothing is
# left in the spool.  The completion time is printed, not asserted.
. "$(dirname "$0")/lib.sh"

dir=/tmp/q-reliability-t84
n=${QUORATE_LOAD_STEPS:-100}
[ -f "$T_BUILD/plugins/spank/.libs/spank_quorate.so" ] || { t_fail "spank_quorate.so is built"; exit 1; }
"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
rm -rf "$dir"
t_private_cluster "$dir" --nodes 3 --sites 3 || { t_fail "private cluster with quorated"; exit 1; }
t_use_cluster "$dir" || { t_fail "private cluster env"; exit 1; }
cd "$T_TMP" || exit 1
sql() { psql -X -tA -F ' ' -c "$1"; }

cat > steps.sh <<EOF
#!/bin/bash
# $n replicated steps at once; each one's status and stderr in $T_TMP/s.I
# Each srun's start and end times in t.I.start, t.I.end: how many were
# alive at once is counted from them afterwards.  The count of those still
# running when the last had started is a lower bound only: on a fast
# machine the first steps have ended by then.
start=\$(date +%s.%N)
for i in \$(seq 1 $n); do
	( date +%s.%N > $T_TMP/t.\$i.start
	  srun --overlap -N3 -n3 --replicas=3 --quorum=2 sh -c 'echo load-\$SLURM_STEP_ID' \\
		> $T_TMP/s.\$i.out 2> $T_TMP/s.\$i.err
	  rc=\$?
	  date +%s.%N > $T_TMP/t.\$i.end
	  exit \$rc ) &
done
jobs -rp | wc -l > $T_TMP/alive_at_end
for i in \$(seq 1 $n); do
	wait -n
	echo \$? >> $T_TMP/status
done
echo "\$(date +%s.%N) - \$start" | bc > $T_TMP/seconds
EOF
job=$(sbatch --parsable --replicas=3 -N3 -o "$T_TMP/batch.out" steps.sh)
t_run "sbatch --replicas=3 -N3 with $n concurrent steps is accepted (job $job)" test -n "$job"
state=$(t_wait_job "$job" 500)
t_eq "the batch job completed" "$state" COMPLETED
seconds=$(cat seconds 2>/dev/null)
t_diag "$n concurrent srun --replicas=3 steps took ${seconds:-?} s from the first srun to the last exit (2-core machine)" \
	"sruns still running when the last one had been started: $(cat alive_at_end 2>/dev/null)"

# the most sruns alive at once: +1 at each start, -1 at each end (an end
# before a start at the same instant); a step without both times counts
# as never alive
alive=$(for i in $(seq 1 "$n"); do
		[ -s "t.$i.start" ] && [ -s "t.$i.end" ] || continue
		echo "$(cat "t.$i.start") 1"
		echo "$(cat "t.$i.end") -1"
	done | sort -k1,1n -k2,2n | awk '{ c += $2; if (c > m) m = c } END { print m + 0 }')
t_run "at least 90 % of the $n steps were alive at once (${alive:-?} at most; $(cat alive_at_end 2>/dev/null) when the last had started)" \
	test "${alive:-0}" -ge $((n * 9 / 10))
t_eq "every srun exited 0" "$(sort status 2>/dev/null | uniq -c | awk '{ print $1 "x" $2 }' | tr '\n' ' ')" "${n}x0 "
t_eq "every srun printed its verified line" "$(cat s.*.err 2>/dev/null | grep -c '^quorate: step [0-9]*\.[0-9]* verified 3/3')" "$n"
t_eq "every srun printed its step's output once (the canonical replica's one line)" \
	"$(for f in s.*.out; do grep -qx "load-[0-9]*" "$f" && [ "$(wc -l < "$f")" = 1 ] && echo ok; done | wc -l)" "$n"
t_eq "quorated: $n verdicts for the job, all ACCEPTED with 3 agreeing replicas" \
	"$(sql "SELECT count(*) FILTER (WHERE verdict = 'ACCEPTED' AND agree = 3 AND missing = 0), count(*)
		FROM verdicts WHERE job_id = $job")" "$n $n"
t_eq "... the 3 replicas of each stored" \
	"$(sql "SELECT count(*) FROM replica_results WHERE job_id = $job")" "$((n * 3))"
t_eq "nothing left in the spool (reports)" \
	"$(find "$dir/spool/quorate" -maxdepth 1 -name '*.json' | wc -l)" 0
t_eq "nothing left in the spool (captured output)" "$(find "$dir/spool/quorate/out" -type f 2>/dev/null | wc -l)" 0
t_eq "no report was rejected to spool/rejected" "$(find "$dir/spool/quorate/rejected" -type f 2>/dev/null | wc -l)" 0
t_done
