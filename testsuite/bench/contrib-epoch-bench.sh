#!/bin/sh
# testsuite/bench/contrib-epoch-bench.sh [N] [NODES] - close an epoch of N
# synthetic usage records (default 1,000,000) over NODES nodes (default
# 10,000; pass N again for one leaf per record): formula, ledger, records,
# leaves, Merkle root, canonical CSV + SHA-256, reward split; the time of
# each part, peak memory, and the ratio against a bare-hashing baseline
# measured in the same run (see contrib_epoch_bench.c).  The PostgreSQL
# part of issue 11's figure comes with quorated.  Not part of scripts/check.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${QUORATE_BUILDDIR:-$top}
exec "$build/testsuite/bench/contrib_epoch_bench" "${1:-1000000}" "${2:-10000}"
