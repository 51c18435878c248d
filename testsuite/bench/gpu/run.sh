#!/bin/bash
# testsuite/bench/gpu/run.sh - quorate-train-gpu on a machine with NVIDIA GPUs
# (issue 8; not part of scripts/check).
#
# Usage: testsuite/bench/gpu/run.sh [--ranks N] [--out DIR]
#
#  1. NCCL all-reduce, 4 KiB .. 256 MiB, over N ranks (one GPU each; default:
#     every GPU, at least 1): busbw as nccl-tests defines it.
#  2. quorate-train-gpu's training samples/s, MLP and CNN, batch 64 and 512,
#     one rank, one epoch, against PyTorch (python3-torch with CUDA) on the
#     same GPU, model, batch and optimizer.
#  3. Time to 0.90 test accuracy (evaluation every 100 steps, excluded), MLP
#     and CNN, quorate-train-gpu and PyTorch.
#  4. Two identical GPU runs give the same model digest.
# Needs: nvidia-smi, mpirun, quorate-train-gpu (configure --with-cuda), jq.
# Results: DIR/gpu.csv and DIR/summary.txt (default testsuite/logs/bench-gpu).
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${QUORATE_BUILDDIR:-$top}
G=$build/mpi-trainer/quorate-train-gpu
torch_py=$top/testsuite/bench/trainer_torch.py
out=$build/testsuite/logs/bench-gpu
ranks=0
while [ $# -gt 0 ]; do
	case "$1" in
	--ranks) ranks=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "gpu/run.sh: unknown option '$1' (allowed: --ranks N, --out DIR)" >&2; exit 2 ;;
	esac
	shift
done
command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 ||
	{ echo "gpu/run.sh: no NVIDIA GPU here (nvidia-smi -L fails)" >&2; exit 1; }
[ -x "$G" ] || { echo "gpu/run.sh: $G is not built (./configure --with-cuda)" >&2; exit 1; }
command -v jq >/dev/null || { echo "gpu/run.sh: jq missing" >&2; exit 1; }
gpus=$(nvidia-smi -L | wc -l)
[ "$ranks" -gt 0 ] || ranks=$gpus
mkdir -p "$out"
summary=$out/summary.txt
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
device=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
say "device: $device ($gpus GPU(s)); $(nvcc --version 2>/dev/null | tail -n 1)"
echo "benchmark,implementation,model,batch,metric,value" > "$out/gpu.csv"
csv() { echo "$*" | tr ' ' ',' >> "$out/gpu.csv"; }
mpi() { mpirun --allow-run-as-root --oversubscribe -np "$1" "${@:2}"; }

say "== NCCL all-reduce, $ranks rank(s)"
mpi "$ranks" "$G" nccl-bench > "$out/nccl.csv" 2> "$out/nccl.err" || tail -n 5 "$out/nccl.err"
column -s, -t < "$out/nccl.csv" | tee -a "$summary"

torch_ok=0
/usr/bin/python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && torch_ok=1
[ "$torch_ok" = 1 ] || say "PyTorch with CUDA not available: no comparison"

say "== samples/s, one GPU, one epoch, Adam"
for model in mlp cnn; do
	for batch in 64 512; do
		m=$out/q-$model-$batch.jsonl
		rm -f "$m"
		"$G" --device gpu --model "$model" --epochs 1 --batch "$batch" --eval-every 0 \
			--metrics "$m" > /dev/null 2> "$out/q-$model-$batch.err"
		q=$(jq -r 'select(.event=="epoch") | .samples_per_s' "$m")
		p=-
		if [ "$torch_ok" = 1 ]; then
			p=$(/usr/bin/python3 "$torch_py" --device cuda --model "$model" --epochs 1 \
				--batch "$batch" | jq -r .samples_per_s)
		fi
		say "$(printf '%-4s batch %-4s quorate-train-gpu %10.0f  pytorch %10s  ratio %s' "$model" \
			"$batch" "$q" "$p" "$(awk -v a="$q" -v b="$p" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')")"
		csv throughput quorate-train-gpu "$model" "$batch" samples_per_s "$q"
		csv throughput pytorch "$model" "$batch" samples_per_s "$p"
	done
done

say "== time to 0.90 test accuracy, one GPU, batch 64"
for model in mlp cnn; do
	m=$out/tta-$model.jsonl
	rm -f "$m"
	"$G" --device gpu --model "$model" --epochs 15 --eval-every-steps 100 --stop-at-accuracy 0.90 \
		--metrics "$m" > "$out/tta-$model.out" 2> "$out/tta-$model.err"
	q=$(jq -s '[.[] | select(.event=="eval" and .test_acc >= 0.90)] | .[0].train_seconds // "not reached"' "$m")
	p=-
	if [ "$torch_ok" = 1 ]; then
		p=$(/usr/bin/python3 "$torch_py" --device cuda --model "$model" --epochs 15 --batch 64 \
			--target 0.90 --eval-steps 100 | jq -r .seconds_to_target)
	fi
	say "$model: quorate-train-gpu $q s, pytorch $p s"
	csv time_to_0.90 quorate-train-gpu "$model" 64 seconds "$q"
	csv time_to_0.90 pytorch "$model" 64 seconds "$p"
done

say "== determinism: two identical GPU runs"
for i in 1 2; do
	"$G" --device gpu --model mlp --epochs 1 --limit 10000 > "$out/det-$i.out" 2>/dev/null
done
if cmp -s "$out/det-1.out" "$out/det-2.out"; then
	say "same digest: $(sed -n 's/^model-digest: //p' "$out/det-1.out")"
else
	say "DIGESTS DIFFER: $(sed -n 's/^model-digest: //p' "$out/det-1.out" "$out/det-2.out" | tr '\n' ' ')"
fi
say "results in $out"
