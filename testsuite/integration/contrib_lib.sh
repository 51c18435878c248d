# testsuite/integration/contrib_lib.sh - helpers of the contribution tests
# (t60-t64), sourced after lib.sh.  Expected numbers come from sacct, the
# reader's from contrib_tool: two independent paths into slurmdbd.

C_TOOL=$T_BUILD/testsuite/integration/contrib_tool

# c_account NAME CLUSTER...: an account with root as a user on the clusters
# (the harness does not enforce associations, but --account is recorded
# only for a user of the account); deleted at exit.
c_account() {
	local name=$1 clusters
	shift
	clusters=$(IFS=,; echo "$*")
	sacctmgr -i add account "$name" cluster="$clusters" >/dev/null &&
	sacctmgr -i add user root account="$name" cluster="$clusters" >/dev/null || return 1
	t_on_exit "sacctmgr -i delete user root account='$name' cluster='$clusters'; sacctmgr -i delete account '$name' cluster='$clusters'"
}

# c_submit ARGS...: sbatch --parsable, output discarded; prints the job id.
c_submit() {
	( cd "$T_TMP" && sbatch --parsable -o /dev/null "$@" ) | cut -d';' -f1
}

# c_accounted CLUSTER JOB...: true when slurmdbd has every job finished and
# whole: a row made from the completion before the start arrived has no
# partition yet (the reader leaves such a row for later; slurmdb_usage.h).
c_accounted() {
	local cluster=$1 jobs n
	shift
	jobs=$(IFS=,; echo "$*")
	n=$(sacct -M "$cluster" -n -P -X -j "$jobs" -o State,End,Partition 2>/dev/null |
		grep -Ec '^(COMPLETED|FAILED|CANCELLED|TIMEOUT)[^|]*\|[0-9][^|]*\|[^|]+$')
	[ "$n" -eq "$#" ]
}

# Seconds of sacct's [D-]HH:MM:SS.
c_seconds() {
	local t=$1 d=0
	case "$t" in *-*) d=${t%%-*}; t=${t#*-} ;; esac
	IFS=: read -r h m s <<<"$t"
	echo $(( d * 86400 + 10#$h * 3600 + 10#$m * 60 + 10#$s ))
}

# c_sacct_records CLUSTER JOB...: what the reader should give, from sacct:
# "cluster job node cpu_seconds gpu_seconds node_seconds account partition qos"
# per job and node, the job's CPUs and GPUs split evenly over its node list
# in order, the remainder to the first nodes (contrib_tres.h).
c_sacct_records() {
	local cluster=$1 jobs
	shift
	jobs=$(IFS=,; echo "$*")
	sacct -M "$cluster" -n -P -X -j "$jobs" \
		-o JobID,Elapsed,AllocTRES,NodeList,Account,Cluster,Partition,QOS |
	while IFS='|' read -r id elapsed tres nodelist account cl part qos; do
		local secs cpu gpu i=0 n node
		secs=$(c_seconds "$elapsed")
		cpu=$(tr ',' '\n' <<<"$tres" | sed -n 's/^cpu=//p')
		gpu=$(tr ',' '\n' <<<"$tres" | sed -n 's|^gres/gpu=||p')
		n=$(scontrol show hostnames "$nodelist" | wc -l)
		for node in $(scontrol show hostnames "$nodelist"); do
			local c=$(( cpu / n + (i < cpu % n ? 1 : 0) ))
			local g=$(( ${gpu:-0} / n + (i < ${gpu:-0} % n ? 1 : 0) ))
			echo "$cl $id $node $(( c * secs )) $(( g * secs )) $secs $account $part $qos"
			i=$((i + 1))
		done
	done | sort
}

# c_tool_records JSON CLUSTER JOB...: the same lines from contrib_tool's JSON.
c_tool_records() {
	local json=$1 cluster=$2 ids
	shift 2
	ids=$(printf '%s\n' "$@" | jq -R 'tonumber' | jq -sc .)
	jq -r --arg c "$cluster" --argjson ids "$ids" \
		'(.records // .usage)[] | select(.cluster == $c and (.job_id | IN($ids[]))) |
		 "\(.cluster) \(.job_id) \(.node) \(.cpu_seconds) \(.gpu_seconds) \(.node_seconds) \(.account) \(.partition) \(.qos)"' \
		"$json" | sort
}

# The local cluster's name (ClusterName).
c_cluster_name() {
	scontrol show config | sed -n 's/^ClusterName *= *//p'
}
