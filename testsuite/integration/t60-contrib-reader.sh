#!/bin/bash
# The slurmdbd reader (common/slurmdb_usage.c) against the suite's real
# slurmdbd: per job and node, the numbers equal sacct's (Elapsed, AllocTRES
# split over NodeList, Account, Partition, QOS); a job cancelled before it
# started gives no record; reading the same window again gives the same
# records; the window (watermark) selects by end time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contrib_lib.sh"

if ! t_use_cluster; then
	t_fail "the suite's cluster runs"
	exit 1
fi
[ -x "$C_TOOL" ] || { t_fail "contrib_tool is built ($C_TOOL)"; exit 1; }
cluster=$(c_cluster_name)
a1=t60a$$ a2=t60b$$
t_run "accounts $a1 and $a2 created with sacctmgr" c_account "$a1" "$cluster"
c_account "$a2" "$cluster"

since=$(date +%s)
j1=$(c_submit -N2 -n3 -A "$a1" --wrap 'sleep 3')
j2=$(c_submit -N1 -n2 -A "$a2" -w n5 --wrap 'sleep 2')
j3=$(c_submit -N3 -n6 --wrap 'sleep 2')
j4=$(c_submit -N1 -A "$a1" --wrap 'sleep 1; exit 3')
j5=$(c_submit --hold -N1 --wrap 'true')
scancel "$j5"
for j in $j1 $j2 $j3 $j4; do t_wait_job "$j" 120 >/dev/null; done
if t_wait 60 c_accounted "$cluster" "$j1" "$j2" "$j3" "$j4" "$j5"; then
	t_pass "slurmdbd has the five jobs finished"
else
	t_fail "slurmdbd has the five jobs finished" "$(sacct -X -j "$j1,$j2,$j3,$j4,$j5" -o jobid,state,end 2>&1)"
fi
until=$(date +%s)

json=$T_TMP/read.json
if "$C_TOOL" read --since "$since" --until "$until" > "$json" 2>"$T_TMP/read.err"; then
	t_pass "contrib_tool read"
else
	t_fail "contrib_tool read" "$(cat "$T_TMP/read.err")"
fi
want=$(c_sacct_records "$cluster" "$j1" "$j2" "$j3" "$j4")
got=$(c_tool_records "$json" "$cluster" "$j1" "$j2" "$j3" "$j4")
t_eq "per job and node, the reader's numbers equal sacct's" "$got" "$want"
t_eq "7 records (2 + 1 + 3 + 1 nodes); the 2-node 3-CPU job split 2 + 1" \
	"$(wc -l <<<"$got") $(jq -r --argjson j "$j1" '[.records[] | select(.job_id == $j) | .cpu_seconds / .node_seconds] | map(tostring) | join(",")' "$json")" \
	"7 2,1"
t_match "the failed job is read (it ran)" "$got" " $j4 [^ ]+ [0-9]+ 0 [0-9]+ $a1 "
t_eq "the job cancelled before it started has no record" \
	"$(jq --argjson j "$j5" '[.records[] | select(.job_id == $j)] | length' "$json")" "0"
t_match "... and is counted as skipped" "$(jq .skipped "$json")" '^[1-9]'
t_match "the account, user, partition and QOS are recorded" \
	"$(jq -r --argjson j "$j2" '.records[] | select(.job_id == $j) | "\(.account) \(.user) \(.partition) \(.qos) \(.node)"' "$json")" \
	"^$a2 root debug normal n5$"
t_eq "sites come from the node features" \
	"$(jq -r --argjson j "$j3" '[.records[] | select(.job_id == $j) | "\(.node)=\(.site)"] | join(" ")' "$json")" \
	"$(for n in $(sacct -n -P -X -j "$j3" -o NodeList | xargs scontrol show hostnames); do
		printf '%s=%s ' "$n" "$(sinfo -h -n "$n" -o %f | tr ',' '\n' | grep '^site_')"; done | sed 's/ $//')"
t_eq "every record has a distinct (cluster, db_index, node)" \
	"$(jq -r '.records[] | "\(.cluster) \(.db_index) \(.node)"' "$json" | sort | uniq -d)" ""

# Ingesting the same window again: the same records, key for key.
"$C_TOOL" read --since "$since" --until "$until" > "$T_TMP/read2.json" 2>>"$T_TMP/tool.err"
t_eq "reading the same window again gives the same records" \
	"$(jq -cS '.records | sort_by(.cluster, .db_index, .node)' "$T_TMP/read2.json")" \
	"$(jq -cS '.records | sort_by(.cluster, .db_index, .node)' "$json")"

# The watermark: a window that starts after the jobs' end has none of them;
# one that ends at the last end time has them all (slurmdbd's window is
# inclusive).
max_end=$(jq .max_end "$json")
t_match "max_end is the latest end time read" "$max_end" "^[0-9]{10}$"
"$C_TOOL" read --since $((max_end + 1)) --until $((max_end + 3600)) > "$T_TMP/after.json" 2>>"$T_TMP/tool.err"
t_eq "a window after the jobs' end has none of them" \
	"$(c_tool_records "$T_TMP/after.json" "$cluster" "$j1" "$j2" "$j3" "$j4")" ""
"$C_TOOL" read --since "$since" --until "$max_end" > "$T_TMP/upto.json" 2>>"$T_TMP/tool.err"
t_eq "a window ending at the last end time has them all" \
	"$(c_tool_records "$T_TMP/upto.json" "$cluster" "$j1" "$j2" "$j3" "$j4")" "$want"

t_fails "a bad window is refused" "$C_TOOL" read --since 10 --until 5

# The reader and the close under valgrind: no invalid access and nothing
# definitely lost (libslurm's own plugin state shows as "possibly lost").
printf 'SitePayee=site_a=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\nAccountSite=%s=site_a\n' "$a1" > "$T_TMP/vg.conf"
if out=$(valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--error-exitcode=9 "$C_TOOL" close --conf "$T_TMP/vg.conf" --epoch-of "$until" --proofs \
	--pool 1000 --csv "$T_TMP/vg.csv" 2>&1 >/dev/null); then
	t_pass "contrib_tool close under valgrind: clean"
else
	t_fail "contrib_tool close under valgrind: clean" "$out"
fi
t_done
