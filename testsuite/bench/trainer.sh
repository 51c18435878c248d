#!/bin/bash
# testsuite/bench/trainer.sh - quorate-train against its baselines, measured
# in the same run (not part of scripts/check).
#
# Usage: testsuite/bench/trainer.sh [--full] [--repeat R] [--limit N]
#            [--parts 1,2,3,4] [--out DIR]
#
#  1. Samples/s of quorate-train and of PyTorch (Debian's python3-torch, CPU;
#     DDP with gloo for 2 ranks) on the same model (MLP, CNN), global batch 64,
#     Adam, 1 and 2 ranks, one epoch over the first N training samples
#     (default 20000).  Both use TCP on loopback between ranks (Open MPI's
#     btl self,tcp; gloo).  Threads per rank: C / ranks, C the CPUs this
#     script may run on (2 here: 2 threads at 1 rank, 1 at 2 ranks).
#     quorate-train gets --threads with that count.  PyTorch runs at every
#     setting of 1 or 2 OpenBLAS threads x 1 or 2 intra-op threads (inter-op
#     as intra-op) that fits in it, OPENBLAS_NUM_THREADS and OMP_NUM_THREADS
#     pinned to the setting; each setting is recorded, and the best is the
#     baseline.  Each measurement R times (default 2), alternating, the best
#     kept.  Samples/s is all the samples over all the training seconds, on
#     both sides.  The ratio is quorate / PyTorch at its best.
#  2. The roofline: a training step's speed as a fraction of OpenBLAS
#     sgemm's on the step's own shapes (quorate-train roofline), for 1 rank
#     with 2 threads at batch 64 and 1 thread at batch 32 (a rank of 2).
#  3. Time to 0.88 test accuracy for the MLP (1 rank and 2 ranks;
#     --stop-at-accuracy, evaluation every epoch, its time excluded) and the
#     peak RSS per rank.
#  4. With --full: 10-epoch runs of both for the accuracy comparison (MLP,
#     1 rank, PyTorch at part 1's best setting for that row, found as in
#     part 1 when part 1 did not run; about 10 minutes on 2 cores).
# --parts: run only those parts, e.g. --parts 1 for the throughput table.
#
# Results in DIR (default testsuite/bench/results/trainer-YYYY-MM-DD, then
# .2, .3, ... when that exists): trainer.csv (every measurement, with each
# side's threads per rank as the tools report them), summary.txt (what
# stdout shows), command (the command line), environment (commit, CPUs,
# load, PyTorch's parallel_info) and raw/ (each tool's stdout, stderr and
# quorate-train's metrics).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${QUORATE_BUILDDIR:-$top}
T=$build/mpi-trainer/quorate-train
torch_py=$top/testsuite/bench/trainer_torch.py
cmdline=$(printf '%q ' "$0" "$@")
full=0 repeat=2 limit=20000 parts='' out=''
while [ $# -gt 0 ]; do
	case "$1" in
	--full) full=1 ;;
	--repeat) repeat=$2; shift ;;
	--limit) limit=$2; shift ;;
	--parts) parts=$(tr ',' ' ' <<<"$2"); shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "trainer.sh: unknown option '$1' (allowed: --full, --repeat R, --limit N, --parts L, --out DIR)" >&2; exit 2 ;;
	esac
	shift
done
: "${parts:=1 2 3}"
[ "$full" = 1 ] && parts="$parts 4"
part() { [[ " $parts " == *" $1 "* ]]; }
[ -x "$T" ] || { echo "trainer.sh: $T is not built (scripts/build)" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
	{ echo "trainer.sh: PyTorch missing: apt-get install python3-torch" >&2; exit 1; }
command -v jq >/dev/null || { echo "trainer.sh: jq missing: apt-get install jq" >&2; exit 1; }
if [ -z "$out" ]; then
	base=$top/testsuite/bench/results/trainer-$(date +%F) out=$base i=2
	while [ -e "$out" ]; do out=$base.$i; i=$((i + 1)); done
fi
[ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] &&
	{ echo "trainer.sh: $out is not empty; results are kept, not replaced" >&2; exit 1; }
raw=$out/raw
mkdir -p "$raw" || exit 1
echo "$cmdline" > "$out/command"
csvf=$out/trainer.csv
summary=$out/summary.txt
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
cores=$(nproc)
{
	echo "date: $(date -Is)"
	echo "commit: $(git -C "$top" rev-parse HEAD 2>/dev/null)$(git -C "$top" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
	echo "cpus: $cores of $(getconf _NPROCESSORS_ONLN) ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "quorate-train: $T"
	echo "pytorch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
	echo "pytorch parallel_info (default settings; each run's own is in raw/*.err):"
	/usr/bin/python3 -c 'import torch; print(torch.__config__.parallel_info())'
} > "$out/environment" 2>&1

echo "benchmark,implementation,model,ranks,blas_threads_per_rank,intra_op_threads_per_rank,batch,run,metric,value" > "$csvf"
csv() { echo "$*" | tr ' ' ',' >> "$csvf"; }

# The threads per rank of both sides: the CPUs we may use over the ranks.
threads_for() { local t=$((cores / $1)); echo $((t > 0 ? t : 1)); }

# quorate-train on WORLD ranks (mpirun over TCP) with THREADS per rank; its
# output, errors and metrics in raw/NAME.*; prints the metrics.
quorate() {	# NAME WORLD THREADS ARGS...
	local name=$1 world=$2 threads=$3 m=$raw/$1.jsonl
	shift 3
	rm -f "$m"
	if [ "$world" = 1 ]; then
		OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
			"$T" --metrics "$m" --threads "$threads" "$@" > "$raw/$name.out" 2> "$raw/$name.err"
	else
		OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
			mpirun --allow-run-as-root --oversubscribe -np "$world" \
			"$T" --metrics "$m" --threads "$threads" "$@" > "$raw/$name.out" 2> "$raw/$name.err"
	fi || { echo "trainer.sh: quorate-train failed (raw/$name.err):" >&2; tail -n 5 "$raw/$name.err" >&2; return 1; }
	cat "$m"
}
# The OpenBLAS threads per rank quorate-train says it used in raw/NAME.err.
quorate_threads() {
	local n
	n=$(sed -n 's/.* \([0-9][0-9]*\) OpenBLAS threads\{0,1\} per rank.*/\1/p' "$raw/$1.err" | head -n 1)
	echo "${n:-unknown}"
}
# All the samples over all the training seconds of the metrics on stdin.
quorate_rate() { jq -s '[.[] | select(.event=="epoch")] | (map(.samples_per_s * .seconds) | add) / (map(.seconds) | add)'; }

# PyTorch with BLAS OpenBLAS and INTRA intra-op threads per rank; raw/NAME.*.
pytorch() {	# NAME WORLD BLAS INTRA ARGS...
	local name=$1 world=$2 blas=$3 intra=$4
	shift 4
	OPENBLAS_NUM_THREADS=$blas OMP_NUM_THREADS=$intra /usr/bin/python3 "$torch_py" \
		--world "$world" --blas-threads "$blas" --threads "$intra" --interop-threads "$intra" \
		"$@" > "$raw/$name.json" 2> "$raw/$name.err" ||
		{ echo "trainer.sh: trainer_torch.py failed (raw/$name.err):" >&2; tail -n 5 "$raw/$name.err" >&2; return 1; }
	cat "$raw/$name.json"
}

best() { sort -g | tail -n 1; }

declare -A torch_best	# "model world" -> "blas intra" of PyTorch's best setting

# One row of part 1: quorate-train and PyTorch at every setting that fits,
# R times in turn; every measurement in the CSV, the row on stdout.
throughput_row() {	# MODEL WORLD
	local model=$1 world=$2 threads qthreads qb pb=0 ps='' b i v r s name qm pj ratio
	local -a settings=() q=()
	local -A p=()
	threads=$(threads_for "$world")
	for b in 1 2; do
		for i in 1 2; do
			[ "$b" -le "$threads" ] && [ "$i" -le "$threads" ] && settings+=("$b $i")
		done
	done
	for r in $(seq 1 "$repeat"); do
		name=tput-$model-$world-quorate-$r
		qm=$(quorate "$name" "$world" "$threads" --model "$model" --epochs 1 \
			--limit "$limit" --batch 64 --eval-every 0) || exit 1
		q+=("$(quorate_rate <<< "$qm")")
		qthreads=$(quorate_threads "$name")
		csv throughput quorate-train "$model" "$world" "$qthreads" 1 64 "$r" samples_per_s "${q[-1]}"
		for s in "${settings[@]}"; do
			set -- $s
			pj=$(pytorch "tput-$model-$world-pytorch-b$1i$2-$r" "$world" "$1" "$2" \
				--model "$model" --epochs 1 --limit "$limit" --batch 64) || exit 1
			p[$s]+="$(jq -r .samples_per_s <<< "$pj") "
			csv throughput pytorch "$model" "$world" "$(jq -r .blas_threads <<< "$pj")" \
				"$(jq -r .threads <<< "$pj")" 64 "$r" samples_per_s "$(jq -r .samples_per_s <<< "$pj")"
		done
	done
	qb=$(printf '%s\n' "${q[@]}" | best)
	csv throughput quorate-train "$model" "$world" "$qthreads" 1 64 best samples_per_s "$qb"
	for s in "${settings[@]}"; do
		v=$(tr ' ' '\n' <<< "${p[$s]}" | grep . | best)
		csv throughput pytorch "$model" "$world" $s 64 best samples_per_s "$v"
		if awk -v a="$v" -v b="$pb" 'BEGIN { exit !(a > b) }'; then pb=$v ps=$s; fi
	done
	torch_best[$model $world]=$ps
	ratio=$(awk -v a="$qb" -v b="$pb" 'BEGIN { printf "%.2f", a / b }')
	set -- $ps
	say "$(printf '%-5s %-5s %-7s %14.0f %-19s %14.0f %7sx' "$model" "$world" "$qthreads" "$qb" \
		"blas $1 x intra $2" "$pb" "$ratio")"
	csv throughput pytorch-best "$model" "$world" $ps 64 best samples_per_s "$pb"
	csv throughput ratio "$model" "$world" "$qthreads" 1 64 best quorate_over_best_pytorch "$ratio"
}
throughput_head() {
	say "$(printf '%-5s %-5s %-7s %14s %-19s %14s %8s' model ranks threads quorate 'pytorch best at' pytorch ratio)"
}

if part 1; then
	say "== 1. samples/s, global batch 64, Adam, one epoch of $limit samples (best of $repeat; all samples / all training seconds)"
	throughput_head
	for model in mlp cnn; do
		for world in 1 2; do
			throughput_row "$model" "$world"
		done
	done
	say "(threads = quorate-train's OpenBLAS threads per rank; every PyTorch setting is in $csvf)"
fi

if part 2; then
	say "== 2. roofline: training step vs OpenBLAS sgemm on the step's shapes (1 rank)"
	for cfg in "mlp 64 2" "mlp 32 1" "cnn 64 2" "cnn 32 1"; do
		set -- $cfg
		name=roofline-$1-$2-$3
		OPENBLAS_NUM_THREADS=$3 OMP_NUM_THREADS=$3 "$T" roofline --model "$1" --batch "$2" \
			--threads "$3" --seconds 4 --json > "$raw/$name.json" 2> "$raw/$name.err" ||
			{ echo "trainer.sh: roofline failed (raw/$name.err)" >&2; exit 1; }
		j=$(cat "$raw/$name.json")
		say "$(printf '%-4s batch %-3s %d thread(s): sgemm %6.1f GFLOP/s, step %6.1f GFLOP/s = %5.1f %%' \
			"$1" "$2" "$3" "$(jq -r .gemm_gflops <<< "$j")" "$(jq -r .step_gflops <<< "$j")" \
			"$(jq -r '.fraction * 100' <<< "$j")")"
		for metric in gemm_gflops step_gflops fraction; do
			csv roofline quorate-train "$1" 1 "$3" 1 "$2" 1 "${metric/gemm/sgemm}" "$(jq -r ".$metric" <<< "$j")"
		done
	done
fi

if part 3; then
	say "== 3. time to 0.88 test accuracy, MLP, batch 64 (training time; evaluation excluded)"
	for world in 1 2; do
		threads=$(threads_for "$world")
		name=tta-mlp-$world
		m=$(quorate "$name" "$world" "$threads" --model mlp --epochs 10 --stop-at-accuracy 0.88) || exit 1
		qthreads=$(quorate_threads "$name")
		secs=$(jq -s '[.[] | select(.event=="epoch")] | map(.seconds) | add' <<< "$m")
		epochs=$(jq -s '[.[] | select(.event=="epoch")] | length' <<< "$m")
		acc=$(jq -r 'select(.event=="final") | .test_acc' <<< "$m")
		rss=$(jq -s '[.[] | select(.event=="contribution") | .peak_rss_kib] | max / 1024' <<< "$m")
		say "$(printf '%d rank(s), %d thread(s) each: %.4f after %d epochs, %.1f s of training; peak RSS per rank %.0f MiB' \
			"$world" "$qthreads" "$acc" "$epochs" "$secs" "$rss")"
		csv time_to_accuracy quorate-train mlp "$world" "$qthreads" 1 64 1 seconds_to_0.88 "$secs"
		csv time_to_accuracy quorate-train mlp "$world" "$qthreads" 1 64 1 epochs_to_0.88 "$epochs"
		csv memory quorate-train mlp "$world" "$qthreads" 1 64 1 peak_rss_mib "$rss"
	done
	m=$(quorate memory-cnn-2 2 "$(threads_for 2)" --model cnn --epochs 1 --limit "$limit") || exit 1
	rss=$(jq -s '[.[] | select(.event=="contribution") | .peak_rss_kib] | max / 1024' <<< "$m")
	say "$(printf 'cnn, 2 ranks: peak RSS per rank %.0f MiB' "$rss")"
	csv memory quorate-train cnn 2 "$(quorate_threads memory-cnn-2)" 1 64 1 peak_rss_mib "$rss"
fi

if part 4; then
	threads=$(threads_for 1)
	if [ -z "${torch_best[mlp 1]:-}" ]; then
		say "== 4. PyTorch's best setting for the MLP on 1 rank, chosen as in part 1 (which did not run)"
		throughput_head
		throughput_row mlp 1
	fi
	set -- ${torch_best[mlp 1]}
	say "== 4. 10 epochs, MLP, batch 64, Adam, 1 rank: accuracy and samples/s (all samples / all training seconds)"
	m=$(quorate full-mlp-1 1 "$threads" --model mlp --epochs 10) || exit 1
	qthreads=$(quorate_threads full-mlp-1)
	qa=$(jq -r 'select(.event=="final") | .test_acc' <<< "$m")
	qs=$(quorate_rate <<< "$m")
	pj=$(pytorch "full-mlp-1-pytorch-b$1i$2" 1 "$1" "$2" --model mlp --epochs 10 --batch 64) || exit 1
	say "$(printf 'quorate-train (%d thread(s)):        test accuracy %.4f at %.0f samples/s' "$qthreads" "$qa" "$qs")"
	say "$(printf 'pytorch (blas %d x intra %d thread(s)): test accuracy %.4f at %.0f samples/s' \
		"$(jq -r .blas_threads <<< "$pj")" "$(jq -r .threads <<< "$pj")" \
		"$(jq -r .test_acc <<< "$pj")" "$(jq -r .samples_per_s <<< "$pj")")"
	csv accuracy_10_epochs quorate-train mlp 1 "$qthreads" 1 64 1 test_acc "$qa"
	csv accuracy_10_epochs quorate-train mlp 1 "$qthreads" 1 64 1 samples_per_s "$qs"
	for metric in test_acc samples_per_s; do
		csv accuracy_10_epochs pytorch mlp 1 "$(jq -r .blas_threads <<< "$pj")" \
			"$(jq -r .threads <<< "$pj")" 64 1 "$metric" "$(jq -r ".$metric" <<< "$pj")"
	done
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/environment"
say "results in $out"
