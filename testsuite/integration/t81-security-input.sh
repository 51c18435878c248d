#!/bin/bash
# Security of input (issue 13; t11 has credentials and authorization): a
# deeply nested JSON payload is refused without a large allocation, and no
# SQL text is ever built from data (testsuite/integration/sql-params-check
# over the sources, and the checker shown to catch what it looks for).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }
check=$T_TOP/testsuite/integration/sql-params-check

# --- deeply nested JSON, in a valid credential ------------------------------
pid=$(head -n 1 "$QUORATE_CLUSTER_DIR/run/quorated.pid" | tr -dc '0-9')
hwm() { sed -n 's/^VmHWM: *\([0-9]*\) kB/\1/p' "/proc/$pid/status"; }
before_hwm=$(hwm)
before=$(qd_counter malformed)
{
	printf '{"v":1,"type":"health","x":'
	head -c 300000 /dev/zero | tr '\0' '['
	head -c 300000 /dev/zero | tr '\0' ']'
	printf '}'
} > "$T_TMP/nested.json"
munge -S "$QUORATE_MUNGE_SOCKET" < "$T_TMP/nested.json" > "$T_TMP/nested.cred"
t_match "JSON nested 300,000 deep is refused as malformed" \
	"$(quorate send --credential "$T_TMP/nested.cred" 2>&1)" '"error":"malformed".*(depth|nest)'
t_eq "... counted" "$(qd_counter malformed)" "$((before + 1))"
grew=$(( $(hwm) - before_hwm ))
t_run "... without a large allocation (quorated's peak RSS grew by ${grew} kB, limit 16384 kB)" \
	test "$grew" -lt 16384
t_run "quorated still answers" quorate ping

# --- SQL only with parameters -----------------------------------------------
out=$("$check" 2>&1)
t_eq "the sources build no SQL text from data (sql-params-check)" "$out" ""

# The checker finds what it looks for (each sample must be reported).
cat > "$T_TMP/bad.c" <<'EOF'
static void f(PGconn *c, const char *name, char *sql, size_t n)
{
	char q[256];

	snprintf(q, sizeof(q), "SELECT score FROM nodes WHERE name = '%s'", name);
	snprintf(sql, n, "%s", name);
	char *e = PQescapeLiteral(c, name, strlen(name));
	strcat(query, name);
}
EOF
out=$("$check" "$T_TMP/bad.c" 2>&1)
t_eq "the checker reports each of four unsafe lines" \
	"$(printf '%s\n' "$out" | sed -n 's/^[^:]*:\([0-9]*\): .*/\1/p' | tr '\n' ' ')" "5 6 7 8 "
t_fails "... and fails" "$check" "$T_TMP/bad.c"
cat > "$T_TMP/marked.c" <<'EOF'
	/* SQL-CONSTANT: two string constants joined. */
	snprintf(sql, sizeof(sql), "%s%s", KEYS, TAIL);
EOF
t_run "a marked constant join passes" "$check" "$T_TMP/marked.c"
t_done
