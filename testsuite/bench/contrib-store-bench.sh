#!/bin/sh
# testsuite/bench/contrib-store-bench.sh [N] [NODES] - issue 11's figure:
# N synthetic usage records (default 1,000,000) written into quorated's
# store with the ingest writer, then the epoch closed from the store
# (contrib_store_bench.c).  Runs against the PostgreSQL of a running
# cluster (scripts/cluster env: PGHOST, PGPORT, PGUSER) in a scratch
# database made here from accounting/schema/*.sql and dropped after.
# Baseline in the same run: the same close in memory.  Not part of
# scripts/check.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${QUORATE_BUILDDIR:-$top}
: "${PGHOST:?run under a cluster: eval \"\$(scripts/cluster env --dir DIR)\"}"
db=quorate_contrib_bench_$$
psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
for f in "$top"/accounting/schema/[0-9]*.sql; do
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$f" >/dev/null
done
"$build/accounting/contrib_store_bench" "dbname=$db" "${1:-1000000}" "${2:-10000}"
