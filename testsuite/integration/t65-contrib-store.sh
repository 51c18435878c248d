#!/bin/bash
# quorate ingest and quorate epoch close on the suite's cluster (sites a, b,
# c = n1-n2, n3-n4, n5-n6; slurmdbd; quorated's PostgreSQL): the jobs' rows
# in contrib_usage are what sacct shows; ingesting again stores nothing;
# epoch close writes epochs, epoch_records, chain_outbox (queued), the
# ledger and the balances; its root, data hash and record count are
# contrib_tool's over slurmdbd directly; closing again changes no row.
# One-minute epochs (EpochLength=60) so that the test need not wait a day.
# The replicas' outcomes of one job are written into replica_outcomes by
# hand: a STAND-IN for quorated's verifier (a real replicated step is
# t12/t33's subject), as contrib_tool's --outcome is in t61.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contrib_lib.sh"

if ! t_use_cluster; then
	t_fail "the suite's cluster runs"
	exit 1
fi
Q=$T_BUILD/accounting/quorate
cluster=$(c_cluster_name)
a=t65a$$ b=t65b$$
c_account "$a" "$cluster" && c_account "$b" "$cluster" ||
	t_fail "accounts created with sacctmgr"
conf=$T_TMP/quorate.conf
{
	cat "$QUORATE_CONF"
	cat <<EOF
EpochLength=60
IngestOverlap=0
BillingWeights=cpu=1.0,gpu=8.0,node=0.25
AccountSite=$a=site_a
AccountSite=$b=site_b
SitePayee=site_a=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
SitePayee=site_b=0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359
EOF
} > "$conf"
sql() { psql -X -q -tA -v ON_ERROR_STOP=1 -c "$1"; }

t_eq "quorated applied schema 002 and 003" \
	"$(sql "select string_agg(name, ' ' order by version) from schema_migrations where version in (2, 3)")" \
	"002_chain 003_contrib"

# Start on a fresh minute, so that the epoch holds this test's jobs only.
sleep $(( 61 - $(date +%s) % 60 ))
ja=$(c_submit -A "$a" -N2 -n4 -w n3,n4 --wrap 'sleep 2')	# a on b's nodes
jh=$(c_submit -A "$a" -N1 -n2 -w n1 --wrap 'sleep 1')		# a at home
jb=$(c_submit -A "$b" -N1 -n1 -w n5 --wrap 'sleep 1')		# b on c's node
jr=$(c_submit -A "$a" -N2 -n2 -w n3,n6 --wrap 'sleep 2')	# replicas on b and c
jobs="$ja $jh $jb $jr"
for j in $jobs; do t_wait_job "$j" 120 >/dev/null; done
t_wait 60 c_accounted "$cluster" $jobs || t_fail "slurmdbd has the jobs finished"
ends=$(sacct -n -P -X -j "$ja,$jh,$jb,$jr" -o End | while read -r t; do
	echo $(( $(date -u -d "$t" +%s) / 60 )); done | sort -u)
t_eq "the jobs ended in one epoch" "$(wc -l <<<"$ends")" 1
E=$(tail -n 1 <<<"$ends")
# Stand-in for the verifier: jr's replica on n3 agreed, the one on n6 not.
sql "insert into replica_outcomes (cluster, job_id, step_id, replica, outcome, nodes, decided_at)
     values ('$cluster', $jr, 0, 0, 'agree', '{n3}', now()),
            ('$cluster', $jr, 0, 1, 'disagree', '{n6}', now())" ||
	t_fail "stand-in outcomes written"

t_fails "an epoch not over yet is refused" "$Q" -f "$conf" epoch close --epoch "$((E + 1000))"
"$Q" -f "$conf" epoch close --epoch "$((E + 1000))" 2>&1 | grep -q "is not over" &&
	t_pass "... saying that it is not over" || t_fail "... saying that it is not over"
# Wait for the epoch's end; ingestion must pass it before it may close.
t_wait 90 test "$(date +%s)" -ge $(( (E + 1) * 60 + 1 ))

if "$Q" -f "$conf" ingest --json > "$T_TMP/i1.json" 2>"$T_TMP/err"; then
	t_pass "quorate ingest"
else
	t_fail "quorate ingest" "$(cat "$T_TMP/err")"
fi
want=$(c_sacct_records "$cluster" $jobs)
ids=$(tr ' ' ',' <<<"$jobs")
got=$(sql "select cluster || ' ' || job_id || ' ' || node || ' ' || cpu_seconds || ' ' ||
	gpu_seconds || ' ' || node_seconds || ' ' || account || ' ' || partition || ' ' || qos
	from contrib_usage where cluster = '$cluster' and job_id in ($ids)" | sort)
t_eq "contrib_usage holds one row per job and node, as sacct shows them" "$got" "$want"
t_eq "the rows carry their node's site" \
	"$(sql "select string_agg(node || '=' || site, ' ' order by node) from (select distinct node, site
		from contrib_usage where cluster = '$cluster' and job_id in ($ids)) s")" \
	"n1=site_a n3=site_b n4=site_b n5=site_c n6=site_c"
# The key is slurmdbd's job_db_inx.  From 24.11 it is a SLUID whose top
# bits are the cluster's id, and scripts/cluster gives the cluster an id of
# 2048 or more: values above 2^63 - 1, as on half of all 24.11 clusters.
t_eq "db_index is slurmdbd's, as sacct shows it" \
	"$(sql "select string_agg(k, ' ' order by k collate \"C\") from (select distinct
		job_id || '=' || db_index as k from contrib_usage
		where cluster = '$cluster' and job_id in ($ids)) s")" \
	"$(sacct -M "$cluster" -n -P -X -j "$ids" -o JobID,DBIndex | tr '|' '=' | LC_ALL=C sort | paste -sd ' ')"
case "${QUORATE_SLURM:-22.05}" in 22.05|23.11) big=f ;; *) big=t ;; esac
t_eq "db_index above 2^63 - 1: $big (Slurm ${QUORATE_SLURM:-22.05})" \
	"$(sql "select bool_and(db_index > 9223372036854775807) from contrib_usage
		where cluster = '$cluster' and job_id in ($ids)")" "$big"
rows=$(sql "select count(*) from contrib_usage")
"$Q" -f "$conf" ingest --since "$((E * 60 - 600))" --json > "$T_TMP/i2.json" 2>>"$T_TMP/err"
t_eq "ingesting the same period again stores nothing" \
	"$(jq -r '"\(.inserted) \(.duplicate >= 6)"' "$T_TMP/i2.json")" "0 true"
t_eq "... and the table is unchanged" "$(sql "select count(*) from contrib_usage")" "$rows"

# Close.
if "$Q" -f "$conf" epoch close --epoch "$E" --json > "$T_TMP/c1.json" 2>"$T_TMP/err"; then
	t_pass "quorate epoch close --epoch $E"
else
	t_fail "quorate epoch close --epoch $E" "$(cat "$T_TMP/err")"
fi
t_eq "it closed the epoch now" "$(jq -r .state "$T_TMP/c1.json")" "closed"
root=$(sql "select '0x' || encode(root, 'hex') from epochs where epoch = $E")
t_match "epochs has the epoch with a root" "$root" '^0x[0-9a-f]{64}$'
t_eq "the printed root is the stored one" "$(jq -r .root "$T_TMP/c1.json")" "$root"
# The nodes' reputation as quorated stored it (those with verdicts), for
# contrib_tool's reliability: the store's close reads it from `nodes`.
reps=()
while IFS='|' read -r node score; do
	[ -n "$node" ] && reps+=(--reputation "$node=$score")
done < <(sql "select name, score from nodes where cluster = '$cluster' and verdicts > 0")
t_diag "reputations: ${reps[*]:-none}"
"$C_TOOL" close --conf "$conf" --epoch "$E" --outcome "$jr:n3=agree" \
	--outcome "$jr:n6=disagree" "${reps[@]}" > "$T_TMP/tool.json" 2>"$T_TMP/err" ||
	t_fail "contrib_tool close over slurmdbd" "$(cat "$T_TMP/err")"
t_eq "the stored root, data hash, totals and records are contrib_tool's" \
	"$(sql "select '0x' || encode(root, 'hex') || ' 0x' || encode(data_hash, 'hex') || ' ' ||
		cpu_seconds || ' ' || gpu_seconds || ' ' || records from epochs where epoch = $E")" \
	"$(jq -r '"\(.root) \(.data_hash) \(.cpu_seconds) \(.gpu_seconds) \(.records)"' "$T_TMP/tool.json")"
t_eq "epoch_records: one leaf per record, with contrib_tool's sites and scores" \
	"$(sql "select string_agg(idx || ':' || site || ':' || score, ' ' order by idx)
		from epoch_records where epoch = $E")" \
	"$(jq -r '[.contribution_records | to_entries[] | "\(.key):\(.value.site):\(.value.score)"] | join(" ")' "$T_TMP/tool.json")"
# The suite's quorated runs a chain poster, which may take the row at once:
# queued means an outbox row that has not failed.
t_match "the chain commit is queued" \
	"$(sql "select state from chain_outbox where epoch = $E")" '^(pending|sent|confirmed)$'
t_eq "the epoch's ledger sums to zero" \
	"$(sql "select coalesce(sum(amount), 0) from contrib_ledger where epoch = $E")" "0"
credits() {	# credits JOB [NODE]: micro-credits of the job (on NODE), from sacct
	c_sacct_records "$cluster" "$1" | awk -v n="${2:-}" \
		'n == "" || $3 == n { s += int(($4 + 0.25 * $6) * 1000000 / 3600) } END { print s + 0 }'
}
ledger() {	# ledger SITE COUNTERPARTY
	sql "select coalesce(sum(amount), 0) from contrib_ledger
	     where epoch = $E and site = '$1' and counterparty = '$2'"
}
ab=$(( $(credits "$ja") + $(credits "$jr" n3) ))
t_match "site_a's jobs on site_b's nodes used CPU time" "$ab" '^[1-9][0-9]*$'
t_eq "site_b earned exactly the credits of site_a's jobs on its nodes (sacct)" \
	"$(ledger site_b site_a) $(ledger site_a site_b)" "$ab -$ab"
t_eq "site_c earned site_b's job on n5" "$(ledger site_c site_b)" "$(credits "$jb")"
t_eq "the replica that disagreed (n6) earned nothing" \
	"$(sql "select credits || ' ' || usage_records from contrib_epoch_nodes where epoch = $E and node = 'n6'")" \
	"0 1"
t_eq "... and its leaf scores 0" \
	"$(sql "select r.score from epoch_records r join contrib_epoch_nodes n using (epoch, idx)
		where r.epoch = $E and n.node = 'n6'")" "0"

# Closing twice changes nothing.
snapshot() {
	sql "select md5(string_agg(t, '|' order by t)) from (
		select 'e' || e::text as t from epochs e
		union all select 'r' || r::text from epoch_records r
		union all select 'o' || o.epoch from chain_outbox o	-- the poster's columns move
		union all select 'l' || l::text from contrib_ledger l
		union all select 'b' || b::text from contrib_balances b
		union all select 'n' || n::text from contrib_epoch_nodes n) s"
}
before=$(snapshot)
if "$Q" -f "$conf" epoch close --epoch "$E" --json > "$T_TMP/c2.json" 2>"$T_TMP/err"; then
	t_pass "closing again succeeds"
else
	t_fail "closing again succeeds" "$(cat "$T_TMP/err")"
fi
t_eq "... says it was already closed, with the same root" \
	"$(jq -r '"\(.state) \(.root)"' "$T_TMP/c2.json")" "already_closed $root"
t_eq "... and changes no row" "$(snapshot)" "$before"
"$Q" -f "$conf" ingest --since "$((E * 60 - 600))" --json > "$T_TMP/i3.json" 2>>"$T_TMP/err"
t_eq "ingesting the closed epoch again stores nothing" "$(jq -r .inserted "$T_TMP/i3.json")" "0"
t_eq "... and changes no row" "$(snapshot)" "$before"

# Bad input: clear errors, the exit statuses of quorate(1).
"$Q" -f "$conf" epoch close --epoch x >/dev/null 2>"$T_TMP/err"
t_eq "--epoch x is a usage error (2)" "$?" 2
"$Q" -f "$conf" epoch open >/dev/null 2>&1
t_eq "an unknown epoch subcommand is a usage error (2)" "$?" 2
sed 's|^Database=.*|Database="host=/nonexistent dbname=quorate"|' "$conf" > "$T_TMP/bad.conf"
"$Q" -f "$T_TMP/bad.conf" ingest >/dev/null 2>"$T_TMP/err"
t_eq "an unreachable store is exit status 3" "$?" 3
t_match "... and says so" "$(cat "$T_TMP/err")" 'PostgreSQL'
t_eq "... and stored nothing" "$(sql "select count(*) from contrib_usage")" "$rows"

t_done
