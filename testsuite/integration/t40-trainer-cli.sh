#!/bin/bash
# quorate-train without a cluster: option and data errors name what is
# wrong; the build without MPI (quorate-train-serial, rank 0 of 1) and the
# MPI build started alone give the same digest; a rerun gives the same
# digest; HDF5 data from `convert` trains exactly like the IDX files; a rank
# whose gradient turns NaN is left out of the step and counted; the metrics
# file has the epoch, shard, contribution and final records.
. "$(dirname "$0")/lib.sh"

T=$T_BUILD/mpi-trainer/quorate-train
S=$T_BUILD/mpi-trainer/quorate-train-serial
data=/usr/share/datasets/fashion-mnist
small="--epochs 1 --limit 2000"
[ -x "$T" ] && [ -x "$S" ] || { t_fail "quorate-train is built" "missing $T or $S"; exit 1; }

digest() { sed -n 's/^model-digest: //p'; }

# Bad options: which option, what is allowed, exit status 2.
check_usage() {	# NAME EXPECTED-REGEX ARGS...
	local name=$1 want=$2 out status
	shift 2
	out=$("$S" "$@" 2>&1)
	status=$?
	if [ "$status" = 2 ] && printf '%s' "$out" | grep -Eq -- "$want"; then
		t_pass "$name"
	else
		t_fail "$name" "exit $status" "$out"
	fi
}
check_usage "an unknown option is named" "unknown option '--bogus'" --bogus
check_usage "--epochs 0 is refused with the range" "--epochs: '0' is not a whole number in 1..100000" --epochs 0
check_usage "--model names the models" "--model: 'resnet' is not a model \(allowed: mlp, cnn\)" --model resnet
check_usage "--optimizer names the optimizers" "allowed: sgd, adam" --optimizer rmsprop
check_usage "--lr must be a number" "--lr: 'fast' is not a number" --lr fast
check_usage "--allreduce mpi needs --nondeterministic" "add --nondeterministic" --allreduce mpi
check_usage "--resume needs --checkpoint" "--resume needs --checkpoint" --resume
check_usage "a missing value is named" "option '--batch' needs a value" --batch
t_match "--help lists the options" "$("$T" --help)" "--checkpoint FILE.h5"

# Data errors: the file and what is wrong with it.
bad=$T_TMP/bad
mkdir -p "$bad"
cp "$data"/t10k-* "$data"/train-labels-idx1-ubyte.gz "$bad"/
zcat "$data"/train-images-idx3-ubyte.gz | head -c 1000000 > "$bad"/train-images-idx3-ubyte
out=$("$S" --data "$bad" $small 2>&1)
t_match "a truncated IDX file is named with what is missing" "$out" \
	"train-images-idx3-ubyte: truncated: the header promises 47040000 bytes of data, the file has 999984"
rm "$bad"/train-images-idx3-ubyte
cp "$data"/train-images-idx3-ubyte.gz "$bad"/
size=$(stat -c %s "$bad"/train-images-idx3-ubyte.gz)
printf '\x55\xaa\x55\xaa\x55\xaa\x55\xaa' | dd of="$bad"/train-images-idx3-ubyte.gz bs=1 \
	seek=$((size / 2)) conv=notrunc status=none
out=$("$S" --data "$bad" $small 2>&1)
status=$?
t_match "a corrupt .gz file is named as corrupt" "$out" "train-images-idx3-ubyte.gz: (corrupt gzip data|truncated)"
t_eq "bad data: exit status 1" "$status" "1"
t_match "a missing data directory is named" "$("$S" --data "$T_TMP/none" $small 2>&1)" \
	"$T_TMP/none: No such file or directory"

# Rank 0 of 1, with and without MPI; reruns; seeds.
d_serial=$("$S" $small 2>/dev/null | digest)
d_mpi=$("$T" $small 2>/dev/null | digest)
t_match "the serial build prints a model digest" "$d_serial" "^[0-9a-f]{64}$"
t_eq "the build without MPI and the MPI build alone agree" "$d_mpi" "$d_serial"
t_eq "a second run gives the same digest" "$("$S" $small 2>/dev/null | digest)" "$d_serial"
d_seed=$("$S" $small --seed 2 2>/dev/null | digest)
if [ -n "$d_seed" ] && [ "$d_seed" != "$d_serial" ]; then
	t_pass "another seed gives another digest"
else
	t_fail "another seed gives another digest" "seed 1: $d_serial" "seed 2: $d_seed"
fi
out=$("$S" $small 2>/dev/null)
t_eq "stdout holds only the result" "$(printf '%s\n' "$out" | cut -d: -f1 | tr '\n' ' ')" \
	"test-accuracy model-digest "

# HDF5 data from convert trains bit-identically to the IDX files.
out=$("$S" convert --limit 2000 --output "$T_TMP/fm.h5" 2>&1)
t_match "convert writes the HDF5 file" "$out" "2000 training and 2000 test images of 28x28"
t_eq "training from HDF5 gives the IDX run's digest" \
	"$("$S" --data "$T_TMP/fm.h5" $small 2>/dev/null | digest)" "$d_serial"

# The integrity guard: libhdf5 parses only files quorate-train sealed.
check_error() {	# NAME EXPECTED-REGEX ARGS...: exit status 1 and the message
	local name=$1 want=$2 out status
	shift 2
	out=$("$S" "$@" 2>&1)
	status=$?
	if [ "$status" = 1 ] && printf '%s' "$out" | grep -Eq -- "$want"; then
		t_pass "$name"
	else
		t_fail "$name" "exit $status" "$out"
	fi
}
t_eq "the file begins with the quorate header" "$(head -c 16 "$T_TMP/fm.h5")" "quorate-train h5"
cp "$T_TMP/fm.h5" "$T_TMP/changed.h5"
b=$(od -An -tu1 -j 100000 -N 1 "$T_TMP/fm.h5" | tr -d ' ')
printf "\\$(printf '%03o' $(((b + 1) % 256)))" |	# one pixel, one more
	dd of="$T_TMP/changed.h5" bs=1 seek=100000 conv=notrunc status=none
t_fails "the copy differs" cmp -s "$T_TMP/fm.h5" "$T_TMP/changed.h5"
check_error "a changed byte is refused before libhdf5 parses it" \
	"$T_TMP/changed.h5: digest mismatch: the file was changed or truncated" \
	--data "$T_TMP/changed.h5" $small
h5unjam -i "$T_TMP/fm.h5" -o "$T_TMP/foreign.h5" > /dev/null
check_error "an HDF5 file of another tool is refused" \
	"foreign.h5: an HDF5 file not written by quorate-train \\(no quorate header\\)" \
	--data "$T_TMP/foreign.h5" $small
out=$("$S" --data "$T_TMP/foreign.h5" --hdf5-unverified $small 2>&1)
t_match "--hdf5-unverified loads it with a warning" "$out" \
	"warning: --hdf5-unverified: .* libhdf5 1.10.8 can crash"
t_eq "and trains to the same digest" "$(printf '%s\n' "$out" | digest)" "$d_serial"

# A NaN gradient (--fault-nan mocks a broken rank): left out and counted.
m=$T_TMP/fault.jsonl
out=$("$S" $small --fault-nan 0:5 --metrics "$m" 2>&1)
t_match "the NaN gradient is reported" "$out" "step 5: gradient not finite .* left out of this step"
t_match "the run still finishes with a digest" "$out" "model-digest: [0-9a-f]{64}"
t_eq "the contribution counts one rejected gradient" \
	"$(jq -r 'select(.event=="contribution") | "\(.grads_accepted) \(.grads_rejected)"' "$m")" "31 1"
t_eq "the epoch record counts it too" "$(jq -r 'select(.event=="epoch") | .grads_rejected' "$m")" "1"
out=$("$S" $small --max-grad-norm 0.001 2>&1)
t_match "a gradient above --max-grad-norm is left out" "$out" "gradient norm above the bound"

# The metrics file.
m=$T_TMP/m.jsonl
"$S" --epochs 2 --limit 2000 --metrics "$m" > /dev/null 2>&1
t_eq "metrics: records in order" "$(jq -r .event "$m" | tr '\n' ' ')" \
	"shards epoch shards epoch contribution final "
t_match "metrics: epoch record" "$(jq -c 'select(.event=="epoch" and .epoch==2)' "$m")" \
	'"loss":[0-9.]+,"train_acc":0\.[0-9]+,"test_acc":0\.[0-9]+,"samples_per_s":[0-9.]+'
t_eq "metrics: the contribution counts every sample" \
	"$(jq -r 'select(.event=="contribution") | "\(.rank) \(.samples) \(.grads_accepted) \(.grads_rejected)"' "$m")" \
	"0 4000 64 0"
t_eq "metrics: the shards cover the training set" \
	"$(jq -r 'select(.event=="shards" and .epoch==1) | [.ranks[].samples] | add' "$m")" "2000"

# The CNN trains too.
out=$("$S" --model cnn --epochs 1 --limit 1000 2>&1)
t_match "the CNN trains and reports its accuracy" "$out" "test-accuracy: 0\.[0-9]{4}"
t_done
