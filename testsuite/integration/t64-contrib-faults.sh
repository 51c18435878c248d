#!/bin/bash
# GPU-seconds and faults around the contribution path, on a private cluster
# with fake GPUs (scripts/cluster --gpus): a GPU job's gres/gpu time per
# node equals sacct's, and BillingWeights' gpu weight applies; slurmdbd down
# is an error (exit 2), never an empty answer; after its restart the same
# records come back, and a job that ended during the outage arrives late
# with its true end time (why the daemon re-reads from watermark -
# IngestOverlap); a node without a site, or with two site features, makes
# the close refuse (exit 3) rather than guess; a bad quorate.conf names
# FILE:LINE, or the entry when the policy compiler finds the fault.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contrib_lib.sh"

C=/tmp/q-contrib-t64-$$
if t_private_cluster "$C" --nodes 2 --sites 2 --with-accounting --gpus 2 --name t64c$$; then
	t_pass "private cluster up with accounting and 2 fake GPUs per node"
else
	t_fail "private cluster up with accounting and 2 fake GPUs per node"
	exit 1
fi
t_on_exit "rm -rf '$C'"	# after its down (t_private_cluster); 200 MB of MariaDB
t_use_cluster "$C"
cluster=t64c$$
since=$(date +%s)
j1=$(c_submit -N2 -n2 --wrap 'sleep 1')
jg=$(c_submit -N2 -n2 --gres=gpu:2 --wrap 'sleep 2')
jg1=$(c_submit -N1 -n1 --gres=gpu:1 -w n2 --wrap 'sleep 1')
for j in $j1 $jg $jg1; do t_wait_job "$j" 120 >/dev/null; done
t_wait 60 c_accounted "$cluster" "$j1" "$jg" "$jg1" || t_fail "slurmdbd has the jobs"
"$C_TOOL" read --since "$since" > "$T_TMP/before.json" 2>>"$T_TMP/tool.err" ||
	t_fail "contrib_tool read" "$(cat "$T_TMP/tool.err")"
t_match "sacct shows the GPU job's gres/gpu" \
	"$(sacct -n -P -X -j "$jg" -o AllocTRES)" "gres/gpu=4"
t_eq "GPU-seconds per node equal sacct's (gres/gpu split over the nodes)" \
	"$(c_tool_records "$T_TMP/before.json" "$cluster" "$jg" "$jg1")" \
	"$(c_sacct_records "$cluster" "$jg" "$jg1")"
t_match "... and are not zero" \
	"$(jq -r --argjson j "$jg" '[.records[] | select(.job_id == $j) | .gpu_seconds] | join(" ")' "$T_TMP/before.json")" \
	"^[1-9][0-9]* [1-9][0-9]*$"
printf 'EpochLength=366d\nBillingWeights=cpu=1,gpu=8\n' > "$T_TMP/gpu.conf"
"$C_TOOL" close --conf "$T_TMP/gpu.conf" --epoch-of "$(date +%s)" > "$T_TMP/gpu.json" 2>>"$T_TMP/tool.err"
t_eq "BillingWeights gpu=8: a GPU-hour is 8 credits" \
	"$(jq -r --argjson j "$jg1" '.usage[] | select(.job_id == $j) | .credits' "$T_TMP/gpu.json")" \
	"$(c_sacct_records "$cluster" "$jg1" | awk '{ print int(($4 * 1000000 + $5 * 8000000) / 3600) }')"

# slurmdbd down (ours: this private cluster's).
dbd=$(head -n 1 "$C/run/slurmdbd.pid")
kill -TERM "$dbd"
t_wait 30 sh -c "! kill -0 $dbd" || t_fail "slurmdbd stopped"
j2=$(c_submit -N1 -n1 --wrap 'sleep 1')		# ends while slurmdbd is down
t_wait_job "$j2" 120 >/dev/null
j2_end=$(scontrol show job "$j2" | sed -n 's/.*EndTime=\([^ ]*\).*/\1/p')
start=$(date +%s)
"$C_TOOL" read --since "$since" > "$T_TMP/down.json" 2>"$T_TMP/down.err"
rc=$?
t_eq "slurmdbd down: contrib_tool read fails with exit status 2" "$rc" "2"
t_match "... naming slurmdbd" "$(cat "$T_TMP/down.err")" "slurmdbd|slurmdb_"
t_eq "... and prints no records" "$(cat "$T_TMP/down.json")" ""
t_diag "the failed read took $(( $(date +%s) - start ))s"

# Restart it; the same records come back, and the late job with them.
"$T_TOP/scripts/cluster" up --dir "$C" > "$T_TMP/up.log" 2>&1 || t_fail "slurmdbd restarted" "$(cat "$T_TMP/up.log")"
t_wait 120 c_accounted "$cluster" "$j2" || t_fail "slurmctld sent the late job to slurmdbd"
"$C_TOOL" read --since "$since" > "$T_TMP/after.json" 2>>"$T_TMP/tool.err"
t_eq "after the restart the earlier records are the same" \
	"$(c_tool_records "$T_TMP/after.json" "$cluster" "$j1")" "$(c_tool_records "$T_TMP/before.json" "$cluster" "$j1")"
t_eq "the job that ended during the outage is read, with sacct's numbers" \
	"$(c_tool_records "$T_TMP/after.json" "$cluster" "$j2")" "$(c_sacct_records "$cluster" "$j2")"
t_eq "... and its true end time, before slurmdbd came back" \
	"$(jq -r --argjson j "$j2" '.records[] | select(.job_id == $j) | .end' "$T_TMP/after.json" | xargs -I{} date -u -d @{} +%Y-%m-%dT%H:%M:%S)" \
	"$(date -u -d "$j2_end" +%Y-%m-%dT%H:%M:%S 2>/dev/null)"

# No site: features under another prefix and no SiteMap.
conf=$T_TMP/quorate.conf
printf 'EpochLength=366d\nSiteFeaturePrefix=zone_\n' > "$conf"
out=$("$C_TOOL" close --conf "$conf" --epoch-of "$(date +%s)" 2>&1)
rc=$?
t_eq "a node without a site: close refuses with exit status 3" "$rc" "3"
t_match "... naming the node" "$out" "node n[12] has no site"
# Two site features on one node (set with scontrol, restored after).
scontrol update NodeName=n1 AvailableFeatures=site_a,site_x ActiveFeatures=site_a,site_x
printf 'EpochLength=366d\n' > "$conf"
out=$("$C_TOOL" close --conf "$conf" --epoch-of "$(date +%s)" 2>&1)
rc=$?
scontrol update NodeName=n1 AvailableFeatures=site_a ActiveFeatures=site_a
t_eq "a node with two site features: close refuses with exit status 3" "$rc" "3"
t_match "... naming both" "$out" "two site features: 'site_a' and 'site_x'"
out=$("$C_TOOL" close --conf "$conf" --epoch-of "$(date +%s)" 2>&1)
t_match "features restored: the close goes through" "$out" '"root": ?"0x[0-9a-f]{64}"'

# Bad quorate.conf.
printf 'EpochLength=1d\nBillingWeights=cpu=1,mem=2\n' > "$conf"
t_match "a bad BillingWeights names FILE:LINE" \
	"$("$C_TOOL" close --conf "$conf" --epoch 1 2>&1)" "^contrib_tool: $conf:2: BillingWeights: unknown TRES 'mem'"
printf 'SiteMap=%s:n[2-1]=site_a\n' "$cluster" > "$conf"
t_match "a backwards SiteMap range names the entry" \
	"$("$C_TOOL" close --conf "$conf" --epoch 1 2>&1)" "SiteMap=$cluster:n\[2-1\]=site_a: 'n\[2-1\]': range 2-1 runs backwards"
t_match "an unknown option is named" "$("$C_TOOL" close --bogus 2>&1)" "unrecognized option '--bogus'"
t_done
