#!/bin/sh
# testsuite/bench/merkle-bench.sh [N] - build the contribution tree of an
# epoch of N made-up records (default 1,000,000): leaf hashing
# (contribution_leaf_hash), the levels above (merkle_compute), memory.
# Baseline, measured in the same run: the same keccak256 calls (two per
# leaf, one per pair) in a bare loop; "ratio" is total / baseline, so the
# tree's own overhead shows as the excess over 1.  Not part of scripts/check.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${QUORATE_BUILDDIR:-$top}
exec "$build/testsuite/integration/eth_tool" merkle-bench "${1:-1000000}"
