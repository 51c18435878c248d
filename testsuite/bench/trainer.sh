#!/bin/bash
# testsuite/bench/trainer.sh - quorate-train against its baselines, measured
# in the same run (not part of scripts/check).
#
# Usage: testsuite/bench/trainer.sh [--full] [--repeat R] [--limit N] [--out FILE.csv]
#
#  1. Samples/s of quorate-train and of PyTorch (Debian's python3-torch, CPU;
#     DDP with gloo for 2 ranks) on the same model (MLP, CNN), global batch 64,
#     Adam, 1 and 2 ranks, one epoch over the first N training samples
#     (default 20000); each measurement R times (default 2), alternating, the
#     best kept; the ratio quorate / PyTorch.  Both use TCP on loopback
#     between ranks (Open MPI's btl self,tcp; gloo).
#  2. The roofline: a training step's speed as a fraction of OpenBLAS
#     sgemm's on the step's own shapes (quorate-train roofline), for 1 rank
#     with 2 threads at batch 64 and 1 thread at batch 32 (a rank of 2).
#  3. Time to 0.88 test accuracy for the MLP (1 rank and 2 ranks;
#     --stop-at-accuracy, evaluation every epoch, its time excluded) and the
#     peak RSS per rank.
#  --full adds 10-epoch runs of both for the accuracy comparison (MLP, 1 rank;
#  about 10 minutes on 2 cores).
#
# Results: a table on stdout and CSV rows (default testsuite/logs/bench-trainer.csv).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${QUORATE_BUILDDIR:-$top}
T=$build/mpi-trainer/quorate-train
torch_py=$top/testsuite/bench/trainer_torch.py
full=0 repeat=2 limit=20000
out=$build/testsuite/logs/bench-trainer.csv
while [ $# -gt 0 ]; do
	case "$1" in
	--full) full=1 ;;
	--repeat) repeat=$2; shift ;;
	--limit) limit=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "trainer.sh: unknown option '$1' (allowed: --full, --repeat R, --limit N, --out FILE)" >&2; exit 2 ;;
	esac
	shift
done
[ -x "$T" ] || { echo "trainer.sh: $T is not built (scripts/build)" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
	{ echo "trainer.sh: PyTorch missing: apt-get install python3-torch" >&2; exit 1; }
command -v jq >/dev/null || { echo "trainer.sh: jq missing: apt-get install jq" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d /tmp/bench-trainer.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo

echo "benchmark,implementation,model,ranks,threads_per_rank,batch,metric,value" > "$out"
csv() { echo "$*" | tr ' ' ',' >> "$out"; }

# quorate-train on WORLD ranks (mpirun over TCP), printing its metrics file.
quorate() {	# WORLD ARGS...
	local world=$1 m=$tmp/q.$RANDOM.jsonl
	shift
	if [ "$world" = 1 ]; then
		"$T" --metrics "$m" "$@" > /dev/null 2> "$tmp/q.err"
	else
		mpirun --allow-run-as-root --oversubscribe -np "$world" "$T" --metrics "$m" "$@" \
			> /dev/null 2> "$tmp/q.err"
	fi || { echo "trainer.sh: quorate-train failed:" >&2; tail -n 5 "$tmp/q.err" >&2; return 1; }
	cat "$m"
}

best() { sort -g | tail -n 1; }

echo "== samples/s, global batch 64, Adam, one epoch of $limit samples (best of $repeat)"
printf '%-5s %-6s %14s %14s %8s\n' model ranks quorate pytorch ratio
for model in mlp cnn; do
	for world in 1 2; do
		threads=$((2 / world))
		q=() p=()
		for r in $(seq 1 "$repeat"); do
			q+=("$(quorate "$world" --model "$model" --epochs 1 --limit "$limit" \
				--batch 64 --eval-every 0 | jq -r 'select(.event=="epoch") | .samples_per_s')")
			p+=("$(/usr/bin/python3 "$torch_py" --model "$model" --epochs 1 --limit "$limit" \
				--batch 64 --world "$world" --threads "$threads" | jq -r .samples_per_s)")
		done
		qb=$(printf '%s\n' "${q[@]}" | best)
		pb=$(printf '%s\n' "${p[@]}" | best)
		ratio=$(awk -v a="$qb" -v b="$pb" 'BEGIN { printf "%.2f", a / b }')
		printf '%-5s %-6s %14.0f %14.0f %7sx\n' "$model" "$world" "$qb" "$pb" "$ratio"
		csv throughput quorate-train "$model" "$world" "$threads" 64 samples_per_s "$qb"
		csv throughput pytorch "$model" "$world" "$threads" 64 samples_per_s "$pb"
		csv throughput ratio "$model" "$world" "$threads" 64 quorate_over_pytorch "$ratio"
	done
done

echo "== roofline: training step vs OpenBLAS sgemm on the step's shapes (1 rank)"
for cfg in "mlp 64 2" "mlp 32 1" "cnn 64 2" "cnn 32 1"; do
	set -- $cfg
	j=$("$T" roofline --model "$1" --batch "$2" --threads "$3" --seconds 4 --json)
	printf '%-4s batch %-3s %d thread(s): sgemm %6.1f GFLOP/s, step %6.1f GFLOP/s = %5.1f %%\n' \
		"$1" "$2" "$3" "$(jq -r .gemm_gflops <<< "$j")" "$(jq -r .step_gflops <<< "$j")" \
		"$(jq -r '.fraction * 100' <<< "$j")"
	csv roofline quorate-train "$1" 1 "$3" "$2" sgemm_gflops "$(jq -r .gemm_gflops <<< "$j")"
	csv roofline quorate-train "$1" 1 "$3" "$2" step_gflops "$(jq -r .step_gflops <<< "$j")"
	csv roofline quorate-train "$1" 1 "$3" "$2" fraction "$(jq -r .fraction <<< "$j")"
done

echo "== time to 0.88 test accuracy, MLP, batch 64 (training time; evaluation excluded)"
for world in 1 2; do
	m=$(quorate "$world" --model mlp --epochs 10 --stop-at-accuracy 0.88)
	secs=$(jq -s '[.[] | select(.event=="epoch")] | map(.seconds) | add' <<< "$m")
	epochs=$(jq -s '[.[] | select(.event=="epoch")] | length' <<< "$m")
	acc=$(jq -r 'select(.event=="final") | .test_acc' <<< "$m")
	rss=$(jq -s '[.[] | select(.event=="contribution") | .peak_rss_kib] | max / 1024' <<< "$m")
	printf '%d rank(s): %.4f after %d epochs, %.1f s of training; peak RSS per rank %.0f MiB\n' \
		"$world" "$acc" "$epochs" "$secs" "$rss"
	csv time_to_accuracy quorate-train mlp "$world" $((2 / world)) 64 seconds_to_0.88 "$secs"
	csv time_to_accuracy quorate-train mlp "$world" $((2 / world)) 64 epochs_to_0.88 "$epochs"
	csv memory quorate-train mlp "$world" $((2 / world)) 64 peak_rss_mib "$rss"
done
m=$(quorate 2 --model cnn --epochs 1 --limit "$limit")
rss=$(jq -s '[.[] | select(.event=="contribution") | .peak_rss_kib] | max / 1024' <<< "$m")
printf 'cnn, 2 ranks: peak RSS per rank %.0f MiB\n' "$rss"
csv memory quorate-train cnn 2 1 64 peak_rss_mib "$rss"

if [ "$full" = 1 ]; then
	echo "== 10 epochs, MLP, batch 64, Adam, 1 rank: accuracy and samples/s"
	m=$(quorate 1 --model mlp --epochs 10)
	qa=$(jq -r 'select(.event=="final") | .test_acc' <<< "$m")
	qs=$(jq -s '[.[] | select(.event=="epoch")] | (map(.samples_per_s) | add) / length' <<< "$m")
	pj=$(/usr/bin/python3 "$torch_py" --model mlp --epochs 10 --batch 64 --world 1 --threads 2)
	printf 'quorate-train: test accuracy %.4f at %.0f samples/s\npytorch:       test accuracy %.4f at %.0f samples/s\n' \
		"$qa" "$qs" "$(jq -r .test_acc <<< "$pj")" "$(jq -r .samples_per_s <<< "$pj")"
	csv accuracy_10_epochs quorate-train mlp 1 2 64 test_acc "$qa"
	csv accuracy_10_epochs quorate-train mlp 1 2 64 samples_per_s "$qs"
	csv accuracy_10_epochs pytorch mlp 1 2 64 test_acc "$(jq -r .test_acc <<< "$pj")"
	csv accuracy_10_epochs pytorch mlp 1 2 64 samples_per_s "$(jq -r .samples_per_s <<< "$pj")"
fi
echo "results: $out"
