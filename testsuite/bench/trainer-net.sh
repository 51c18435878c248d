#!/bin/bash
# testsuite/bench/trainer-net.sh - quorate-train's network-aware aggregation,
# measured in one run on a private virtual cluster (not part of scripts/check).
#
# Usage: testsuite/bench/trainer-net.sh [--quick] [--cap SECONDS] [--out DIR]
#            [--parts 1,2,3,4] [--profiles perfect,good,...] [--ranks 2,4]
#
#  1. allreduce-bench: ring, rd, hier, MPI_Allreduce and the cost model's
#     choice (auto) for 4 KiB .. 64 MiB on 2 ranks (-N2 -n2) and 4 ranks
#     (-N2 -n4, two per node); busbw as nccl-tests defines it.
#  2. Time to 0.85 test accuracy, MLP, 4 ranks on 4 nodes, under each
#     emulated profile: plain synchronous ring all-reduce against --adapt
#     --allreduce auto; training seconds (evaluation every 25 steps, its time
#     excluded).  A synchronous run that has not reached 0.85 after CAP
#     seconds (default 240) stops there: the ratio is then a lower bound.
#  3. Accuracy after 2 epochs on perfect links: synchronous, --adapt,
#     --compress fp16, --compress topk.
#  4. Stragglers: CNN, 2 ranks, rank 1 three times slower (--slow-rank 1:3):
#     seconds of one whole epoch (60,000 samples) with and without
#     --rebalance.
# --quick: 2 ranks only in (1), profiles perfect and poor in (2), no (3).
# --parts, --profiles, --ranks: run only those (parts, profiles of (2),
# rank counts of (1)), e.g. to complete a --quick run.
#
# CSV files and a summary (summary.txt) in DIR (default testsuite/logs/bench-trainer-net).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${QUORATE_BUILDDIR:-$top}
T=$build/mpi-trainer/quorate-train
quick=0 cap=240 parts= profiles= ranks=
out=$build/testsuite/logs/bench-trainer-net
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--cap) cap=$2; shift ;;
	--out) out=$2; shift ;;
	--parts) parts=$(tr ',' ' ' <<<"$2"); shift ;;
	--profiles) profiles=$(tr ',' ' ' <<<"$2"); shift ;;
	--ranks) ranks=$(tr ',' ' ' <<<"$2"); shift ;;
	-h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "trainer-net.sh: unknown option '$1' (allowed: --quick, --cap S, --out DIR, --parts L, --profiles L, --ranks L)" >&2; exit 2 ;;
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
mkdir -p "$out"
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

part 1 && say "== 1. all-reduce algorithms (mean of 30-40 runs without the fastest and slowest fifth; auto = the cost model's choice)"
for n in $ranks; do
	part 1 || break
	shape="-N2 -n$n"
	name=allreduce-$(echo "$shape" | tr -d ' -')
	run "$out/$name" $shape "$T" allreduce-bench
	cp "$out/$name.out" "$out/$name.csv"
	say "$shape: $(grep -c ',auto,' "$out/$name.csv") sizes"
	grep ' bytes: auto' "$out/$name.err" | tee -a "$summary"
done

# Seconds of training until the first evaluation at >= 0.85 (or "" when never).
tta() { jq -s '[.[] | select(.event=="eval" and .test_acc >= 0.85)] | .[0].train_seconds // empty' "$1"; }
final_acc() { jq -r 'select(.event=="final") | .test_acc' "$1"; }

part 2 && say "== 2. time to 0.85 test accuracy, MLP, 4 ranks on 4 nodes (training seconds)"
part 2 && echo "profile,mode,seconds_to_0.85,reached,final_test_acc,steps" > "$out/time-to-accuracy.csv"
for p in $profiles; do
	part 2 || break
	for mode in sync adapt; do
		m=$out/tta-$p-$mode.jsonl
		rm -f "$m"
		if [ "$mode" = sync ]; then
			extra="--allreduce ring --time-limit $cap"
		else
			extra="--adapt --allreduce auto --nondeterministic --time-limit $((cap * 3))"
		fi
		run "$out/tta-$p-$mode" -N4 -n4 "$T" --model mlp --epochs 5 --eval-every-steps 25 \
			--stop-at-accuracy 0.85 --link-profile "$p" --metrics "$m" $extra
		secs=$(tta "$m")
		steps=$(jq -r 'select(.event=="final") | .steps' "$m")
		if [ -n "$secs" ]; then reached=yes; else reached=no; secs=$(jq -r 'select(.event=="final") | .train_seconds' "$m"); fi
		echo "$p,$mode,$secs,$reached,$(final_acc "$m"),$steps" >> "$out/time-to-accuracy.csv"
		eval "t_$mode=\$secs r_$mode=\$reached"
	done
	ratio=$(awk -v a="$t_sync" -v b="$t_adapt" 'BEGIN { printf "%.2f", a / b }')
	bound=""
	[ "$r_sync" = no ] && bound=">= "
	[ "$r_adapt" = no ] && bound="(adaptive did not reach it) "
	say "$(printf '%-9s sync %8.1f s%s  adaptive %8.1f s  speed-up %s%sx' "$p" "$t_sync" \
		"$([ "$r_sync" = no ] && echo ' (not reached)')" "$t_adapt" "$bound" "$ratio")"
done

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
