#!/bin/bash
# testsuite/bench/trainer-net.sh - quorate-train's network-aware aggregation,
# measured in one run on a private virtual cluster (not part of scripts/check).
#
# Usage: testsuite/bench/trainer-net.sh [--quick] [--cap SECONDS] [--runs N]
#            [--out DIR] [--parts 1,2,3,4] [--profiles perfect,good,...]
#            [--ranks 2,4]
#
#  1. allreduce-bench: ring, rd, hier, MPI_Allreduce and the cost model's
#     choice (auto) for 4 KiB .. 64 MiB on 2 ranks (-N2 -n2) and 4 ranks
#     (-N2 -n4, two per node); busbw as nccl-tests defines it.  The cost
#     model is calibrated with the trainer's own budget.  Each shape N
#     times (default 3), every run kept; the goal is auto within 10 % of
#     the fastest algorithm at every size, and the summary says how many
#     runs met it.
#  2. Time to 0.85 test accuracy, MLP, 4 ranks on 4 nodes, under each
#     emulated profile, three ways: synchronous with the plain ring
#     (--allreduce ring), synchronous with the cost model's choice
#     (--allreduce auto --nondeterministic), and adaptive (--adapt
#     --allreduce auto --nondeterministic: local SGD); training seconds
#     (evaluation every 25 steps, its time excluded).  Each profile N times
#     (the emulation's jitter and loss are random), the three ways in turn;
#     the median and the spread (min..max) of each, and the ratios of the
#     medians: sync ring / sync auto (the algorithm's gain) and sync auto /
#     adapt (local SGD's gain).  Every run stops after CAP seconds of
#     training (default 240); one that has not reached 0.85 by then counts
#     as a lower bound, and so does a median or ratio built on it.
#  3. Accuracy after 2 epochs on perfect links: synchronous, --adapt,
#     --compress fp16, --compress topk.
#  4. Stragglers: CNN, 2 ranks, rank 1 three times slower (--slow-rank 1:3):
#     seconds of one whole epoch (60,000 samples) with and without
#     --rebalance.
# --quick: 2 ranks only in (1), profiles perfect and poor in (2), no (3).
# --parts, --profiles, --ranks: run only those (parts, profiles of (2),
# rank counts of (1)), e.g. to complete a --quick run.
#
# Results in DIR (default testsuite/bench/results/trainer-net-YYYY-MM-DD,
# then .2, .3, ... when that exists): CSV files, summary.txt (what stdout
# shows), command (the command line), environment (commit, CPUs, load) and
# every run's stdout, stderr and metrics.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${QUORATE_BUILDDIR:-$top}
T=$build/mpi-trainer/quorate-train
cmdline=$(printf '%q ' "$0" "$@")
quick=0 cap=240 runs=3 parts='' profiles='' ranks='' out=''
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--cap) cap=$2; shift ;;
	--runs) runs=$2; shift ;;
	--out) out=$2; shift ;;
	--parts) parts=$(tr ',' ' ' <<<"$2"); shift ;;
	--profiles) profiles=$(tr ',' ' ' <<<"$2"); shift ;;
	--ranks) ranks=$(tr ',' ' ' <<<"$2"); shift ;;
	-h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "trainer-net.sh: unknown option '$1' (allowed: --quick, --cap S, --runs N, --out DIR, --parts L, --profiles L, --ranks L)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$quick" = 1 ]; then
	: "${parts:=1 2 4}" "${profiles:=perfect poor}" "${ranks:=2}"
else
	: "${parts:=1 2 3 4}" "${profiles:=perfect good average poor unstable}" "${ranks:=2 4}"
fi
part() { [[ " $parts " == *" $1 "* ]]; }
[ -x "$T" ] || { echo "trainer-net.sh: $T is not built (scripts/build)" >&2; exit 1; }
command -v jq >/dev/null || { echo "trainer-net.sh: jq missing: apt-get install jq" >&2; exit 1; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "trainer-net.sh: --runs: '$runs' is not a count" >&2; exit 2; }
if [ -z "$out" ]; then
	base=$top/testsuite/bench/results/trainer-net-$(date +%F) out=$base i=2
	while [ -e "$out" ]; do out=$base.$i; i=$((i + 1)); done
fi
[ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] &&
	{ echo "trainer-net.sh: $out is not empty; results are kept, not replaced" >&2; exit 1; }
mkdir -p "$out" || exit 1
echo "$cmdline" > "$out/command"
{
	echo "date: $(date -Is)"
	echo "commit: $(git -C "$top" rev-parse HEAD 2>/dev/null)$(git -C "$top" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
	echo "cpus: $(nproc) of $(getconf _NPROCESSORS_ONLN) ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "quorate-train: $T"
} > "$out/environment"
summary=$out/summary.txt
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }

dir=/tmp/quorate-bench-net-$$
trap '"$top/scripts/cluster" down --dir "$dir" > /dev/null 2>&1' EXIT
"$top/scripts/cluster" up --dir "$dir" --nodes 4 > "$out/cluster.log" 2>&1 ||
	{ echo "trainer-net.sh: scripts/cluster up failed (see $out/cluster.log)" >&2; exit 1; }
eval "$("$top/scripts/cluster" env --dir "$dir")"
unset QUORATE_CONF	# no quorated here: no warnings about it

run() {	# LOG SRUN-ARGS... : srun, output to LOG.out / LOG.err
	local log=$1
	shift
	timeout 3600 srun --mpi=pmix "$@" > "$log.out" 2> "$log.err"
}

part 1 && say "== 1. all-reduce algorithms (mean of 30-40 runs without the fastest and slowest fifth; auto = the cost model's choice, calibrated with the trainer's budget; goal: auto within 10 % of the fastest at every size; $runs runs per shape, every one kept)"
part 1 && echo "shape,run,sizes,sizes_within_10pct,worst_pct,worst_bytes,calibration,met_goal" > "$out/allreduce-goal.csv"
for n in $ranks; do
	part 1 || break
	shape="-N2 -n$n"
	met=0
	for r in $(seq 1 "$runs"); do
		name=allreduce-N2n$n-run$r
		if ! run "$out/$name" $shape "$T" allreduce-bench; then
			say "$shape run $r: allreduce-bench failed (see $name.err)"
			echo "$shape,$r,,,,,,failed" >> "$out/allreduce-goal.csv"
			continue
		fi
		mv "$out/$name.out" "$out/$name.csv"
		# Sizes, sizes where auto is within 10 % of the fastest, the worst excess and its size.
		read -r sizes within worst wbytes < <(awk -F, '
			NR > 1 && $4 == "auto" { a[$3] = $6 }
			NR > 1 && $4 != "auto" && (!($3 in b) || $6 < b[$3]) { b[$3] = $6 }
			END {
				worst = -1e9
				for (k in a) {
					n++; p = 100 * (a[k] / b[k] - 1)
					if (p <= 10) ok++
					if (p > worst) { worst = p; wb = k }
				}
				printf "%d %d %.1f %s\n", n, ok, worst, wb
			}' "$out/$name.csv")
		cal=$(sed -n 's/^calibration up to .*: //p' "$out/$name.err" | head -n 1)
		ok=no
		[ "$sizes" -gt 0 ] && [ "$within" = "$sizes" ] && { ok=yes; met=$((met + 1)); }
		say "$(printf '%s run %d: auto within 10 %% at %d of %d sizes, worst %+.1f %% (%s bytes); calibration %s' \
			"$shape" "$r" "$within" "$sizes" "$worst" "$wbytes" "$cal")"
		grep ' bytes: auto' "$out/$name.err" | tee -a "$summary"
		echo "$shape,$r,$sizes,$within,$worst,$wbytes,$cal,$ok" >> "$out/allreduce-goal.csv"
	done
	say "$shape: $met of $runs runs met the goal (auto within 10 % at every size)"
done

# Seconds of training until the first evaluation at >= 0.85 (or "" when never).
tta() { jq -s '[.[] | select(.event=="eval" and .test_acc >= 0.85)] | .[0].train_seconds // empty' "$1"; }
final_acc() { jq -r 'select(.event=="final") | .test_acc' "$1"; }

# The median, whether it is a lower bound, min, max, runs reached, runs
# finished and runs failed of PROFILE's MODE in time-to-accuracy.csv.  A run
# that did not reach 0.85 gives its training seconds, a lower bound: the
# median is exact when every run up to the middle one(s) reached it.
stats() {	# PROFILE MODE
	awk -F, -v p="$1" -v m="$2" '
		NR > 1 && $1 == p && $2 == m {
			if ($5 == "failed") { f++; next }
			n++; v[n] = $4; r[n] = $5 == "yes"; k += r[n]
		}
		END {
			if (n == 0) { print "nan 0 nan nan 0 0", f + 0; exit }
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
					t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
					t = r[j]; r[j] = r[j - 1]; r[j - 1] = t
				}
			lo = int((n + 1) / 2); hi = int(n / 2) + 1
			for (i = 1; i <= hi; i++) if (!r[i]) lb = 1
			printf "%.6g %d %.6g %.6g %d %d %d\n", (v[lo] + v[hi]) / 2, lb, v[1], v[n], k, n, f
		}' "$out/time-to-accuracy.csv"
}
# A / B of two medians, each maybe a lower bound (LA, LB): "x", ">= x",
# "<= x", or "n/a" when both are.
ratio() {	# A LA B LB
	awk -v a="$1" -v la="$2" -v b="$3" -v lb="$4" 'BEGIN {
		if (a == "nan" || b == "nan" || (la && lb)) { print "n/a"; exit }
		printf "%s%.2fx\n", la ? ">= " : lb ? "<= " : "", a / b
	}'
}
# One cell of the table: median [min..max] reached/runs.
cell() {	# MEDIAN LB MIN MAX REACHED RUNS FAILED
	[ "$1" = nan ] && { echo "all $7 failed"; return; }
	printf '%s%.1f s [%.1f..%.1f] %d/%d%s' "$([ "$2" = 1 ] && echo '>= ')" "$1" "$3" "$4" "$5" "$6" \
		"$([ "$7" -gt 0 ] && echo " ($7 failed)")"
}

if part 2; then
	say "== 2. time to 0.85 test accuracy, MLP, 4 ranks on 4 nodes (training seconds; every run capped at $cap s; median [min..max] of $runs runs, runs that reached 0.85 / runs)"
	echo "profile,mode,run,seconds_to_0.85,reached,final_test_acc,steps" > "$out/time-to-accuracy.csv"
	echo "profile,mode,runs,reached,failed,median_s,median_is_lower_bound,min_s,max_s" > "$out/time-to-accuracy-summary.csv"
	echo "profile,sync_ring_over_sync_auto,sync_auto_over_adapt,sync_ring_over_adapt" > "$out/time-to-accuracy-ratios.csv"
	say "$(printf '%-9s %-28s %-28s %-28s %-10s %-10s' profile 'sync ring' 'sync auto' 'adapt (auto + local SGD)' ring/auto auto/adapt)"
fi
for p in $profiles; do
	part 2 || break
	for r in $(seq 1 "$runs"); do
		for mode in ring auto adapt; do
			case $mode in
			ring) extra="--allreduce ring" ;;
			auto) extra="--allreduce auto --nondeterministic" ;;
			adapt) extra="--adapt --allreduce auto --nondeterministic" ;;
			esac
			name=tta-$p-$mode-run$r
			m=$out/$name.jsonl
			rm -f "$m"
			if ! run "$out/$name" -N4 -n4 "$T" --model mlp --epochs 5 --eval-every-steps 25 \
				--stop-at-accuracy 0.85 --link-profile "$p" --metrics "$m" \
				--time-limit "$cap" $extra || [ -z "$(final_acc "$m" 2>/dev/null)" ]; then
				echo "trainer-net.sh: $name failed (see $name.err)" >&2
				echo "$p,$mode,$r,,failed,," >> "$out/time-to-accuracy.csv"
				continue
			fi
			secs=$(tta "$m")
			steps=$(jq -r 'select(.event=="final") | .steps' "$m")
			if [ -n "$secs" ]; then reached=yes; else reached=no; secs=$(jq -r 'select(.event=="final") | .train_seconds' "$m"); fi
			echo "$p,$mode,$r,$secs,$reached,$(final_acc "$m"),$steps" >> "$out/time-to-accuracy.csv"
		done
	done
	declare -A med=() lb=() cells=()
	for mode in ring auto adapt; do
		read -r m b lo hi reached n failed < <(stats "$p" "$mode")
		echo "$p,$mode,$n,$reached,$failed,$m,$b,$lo,$hi" >> "$out/time-to-accuracy-summary.csv"
		med[$mode]=$m lb[$mode]=$b cells[$mode]=$(cell "$m" "$b" "$lo" "$hi" "$reached" "$n" "$failed")
	done
	ring_auto=$(ratio "${med[ring]}" "${lb[ring]}" "${med[auto]}" "${lb[auto]}")
	auto_adapt=$(ratio "${med[auto]}" "${lb[auto]}" "${med[adapt]}" "${lb[adapt]}")
	echo "$p,$ring_auto,$auto_adapt,$(ratio "${med[ring]}" "${lb[ring]}" "${med[adapt]}" "${lb[adapt]}")" \
		>> "$out/time-to-accuracy-ratios.csv"
	say "$(printf '%-9s %-28s %-28s %-28s %-10s %-10s' "$p" "${cells[ring]}" "${cells[auto]}" \
		"${cells[adapt]}" "$ring_auto" "$auto_adapt")"
done
part 2 && say "(>= : a run up to the median did not reach 0.85 within $cap s, so the median is a lower bound; every run is in time-to-accuracy.csv)"

if part 3; then
	say "== 3. accuracy after 2 epochs, MLP, 4 ranks, perfect links"
	echo "mode,final_test_acc,train_seconds" > "$out/accuracy.csv"
	for mode in sync adapt fp16 topk; do
		case $mode in
		sync) extra="" ;;
		adapt) extra="--adapt --nondeterministic" ;;
		fp16) extra="--compress fp16" ;;
		topk) extra="--compress topk" ;;
		esac
		m=$out/acc-$mode.jsonl
		rm -f "$m"
		run "$out/acc-$mode" -N4 -n4 "$T" --model mlp --epochs 2 --metrics "$m" $extra
		echo "$mode,$(final_acc "$m"),$(jq -r 'select(.event=="final") | .train_seconds' "$m")" >> "$out/accuracy.csv"
		say "$(printf '%-6s test accuracy %s after 2 epochs (%s s)' "$mode" "$(final_acc "$m")" \
			"$(jq -r 'select(.event=="final") | .train_seconds | floor' "$m")")"
	done
fi

part 4 && say "== 4. stragglers: CNN, 2 ranks, rank 1 three times slower, one epoch (60000 samples)"
part 4 && echo "case,epoch_seconds,test_acc" > "$out/stragglers.csv"
for c in even slow rebalanced; do
	part 4 || break
	case $c in
	even) extra="" ;;
	slow) extra="--slow-rank 1:3" ;;
	rebalanced) extra="--slow-rank 1:3 --rebalance --rebalance-every 10" ;;
	esac
	m=$out/straggler-$c.jsonl
	rm -f "$m"
	run "$out/straggler-$c" -N2 -n2 "$T" --model cnn --epochs 1 --nondeterministic \
		--allreduce ring --metrics "$m" $extra
	secs=$(jq -r 'select(.event=="epoch") | .seconds' "$m")
	echo "$c,$secs,$(final_acc "$m")" >> "$out/stragglers.csv"
	eval "s_$c=\$secs"
done
part 4 && say "$(printf 'even %.1f s, one slow rank %.1f s, rebalanced %.1f s: rebalancing %.2fx faster' \
	"$s_even" "$s_slow" "$s_rebalanced" "$(awk -v a="$s_slow" -v b="$s_rebalanced" 'BEGIN { print a / b }')")"
say "results in $out"
