#!/bin/bash
# Who may do what, and credentials that must not pass: reports from root
# accepted and from an ordinary user rejected; replayed, expired, forged
# and oversized requests rejected, logged with the reason and counted;
# a verdict only for the job's owner, root and SlurmUser.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }
log=$QUORATE_CLUSTER_DIR/log/quorated.log
job=$(qd_job)
user_uid=$(id -u quorate-test)
sha=$(qd_sha "t11 result")

# Reports: root yes, an ordinary user no.
out=$(quorate send "$(qd_result "$job" 0 0 2 2 n1 "$sha" "$user_uid")" 2>&1)
t_match "a report from root is stored" "$out" '"result":"stored"'
before=$(qd_counter unauthorized)
out=$(qd_as_user "$QD_QUORATE" send "$(qd_result "$job" 0 1 2 2 n2 "$sha" "$user_uid")" 2>&1); rc=$?
t_eq "a report from an ordinary user is refused (exit 1)" "$rc" 1
t_match "... as unauthorized, not to be retried" "$out" '"error":"unauthorized","retry":false'
t_eq "... counted" "$(qd_counter unauthorized)" "$((before + 1))"
t_match "... and logged with the uid" "$(tail -n 20 "$log")" "unauthorized replica_result from uid $user_uid"
t_eq "the refused report was not stored" \
	"$(psql -X -tAc "SELECT count(*) FROM replica_results WHERE job_id = $job")" 1
out=$(qd_as_user "$QD_QUORATE" send "{\"v\":1,\"type\":\"contribution\",\"job\":$job,\"step\":0,\"rank\":0,\"node\":\"n1\",\"compute_seconds\":1,\"samples\":1}" 2>&1)
t_match "a contribution from an ordinary user is refused" "$out" '"error":"unauthorized"'

# A replayed credential: encoded once, sent twice.
munge -S "$QUORATE_MUNGE_SOCKET" -s "$(qd_result "$job" 0 1 2 2 n2 "$sha" "$user_uid")" > "$T_TMP/cred"
before=$(qd_counter cred_replayed)
t_match "a fresh credential passes" "$(quorate send --credential "$T_TMP/cred" 2>&1)" '"result":"stored"'
out=$(quorate send --credential "$T_TMP/cred" 2>&1); rc=$?
t_eq "the same credential again is refused (exit 1)" "$rc" 1
t_match "... as replayed" "$out" '"error":"replayed"'
t_eq "... counted" "$(qd_counter cred_replayed)" "$((before + 1))"
t_match "... and logged" "$(tail -n 20 "$log")" "replayed credential from 127.0.0.1"

# An expired credential (TTL 1 s, sent 3 s later).
munge -S "$QUORATE_MUNGE_SOCKET" -t 1 -s "$(qd_result "$job" 1 0 2 2 n1 "$sha")" > "$T_TMP/old"
sleep 3
before=$(qd_counter cred_expired)
out=$(quorate send --credential "$T_TMP/old" 2>&1); rc=$?
t_eq "an expired credential is refused as transient (exit 3: encode a new one)" "$rc" 3
t_match "... as expired" "$out" '"error":"expired","retry":true'
t_eq "... counted" "$(qd_counter cred_expired)" "$((before + 1))"
t_match "... and logged" "$(tail -n 20 "$log")" "expired credential from"

# Forged and undecodable credentials.
before=$(qd_counter cred_invalid)
echo "MUNGE:AwQFAAC3nrq6qkCJ9ZyCBu/Jj1HvsxNeRfLnDIgQH3wyRpSxdOKvT2IQmXNLgu:" > "$T_TMP/forged"
out=$(quorate send --credential "$T_TMP/forged" 2>&1); rc=$?
t_eq "a forged credential is refused (exit 1)" "$rc" 1
t_match "... as a bad credential" "$out" '"error":"bad_credential"'
echo "hello" > "$T_TMP/garbage"
t_match "garbage is refused as a bad credential" "$(quorate send --credential "$T_TMP/garbage" 2>&1)" '"error":"bad_credential"'
t_eq "both counted" "$(qd_counter cred_invalid)" "$((before + 2))"
t_match "... and logged with munge's reason" "$(tail -n 20 "$log")" "invalid credential from .*: "
other=$T_TMP/other-munge
mkdir -p "$other"
dd if=/dev/urandom of="$other/key" bs=1024 count=1 status=none
chmod 0600 "$other/key"
munged --socket="$other/sock" --key-file="$other/key" --pid-file="$other/pid" \
	--log-file="$other/log" --seed-file="$other/seed" --num-threads=1 &&
	t_on_exit "kill \$(cat '$other/pid')"
munge -S "$other/sock" -s "$(qd_result "$job" 1 0 2 2 n1 "$sha")" > "$T_TMP/otherkey"
t_match "a credential of another munge key is refused" \
	"$(quorate send --credential "$T_TMP/otherkey" 2>&1)" '"error":"bad_credential"'

munge -S "$QUORATE_MUNGE_SOCKET" -t 3600 -s "$(qd_result "$job" 1 0 2 2 n1 "$sha")" > "$T_TMP/long"
t_match "a credential living an hour is refused (it would crowd the replay cache)" \
	"$(quorate send --credential "$T_TMP/long" 2>&1)" '"error":"bad_credential".*TTL of 3600 s is above 600 s'

# Malformed payloads inside a valid credential.
t_match "a payload that is not JSON is refused as malformed" \
	"$(quorate send 'not json' 2>&1)" '"error":"malformed".*not JSON'
t_match "an unknown field is named" \
	"$(quorate send "{\"v\":1,\"type\":\"verdict_query\",\"job\":1,\"step\":0,\"colour\":1}" 2>&1)" 'colour: unknown field'
t_match "another protocol version is refused" \
	"$(quorate send '{"v":2,"type":"health"}' 2>&1)" '"error":"unsupported_version"'

# A frame above MaxFrameSize: refused before it is read.
printf 'MungeSocket=%s\nMaxFrameSize=8M\nListenPort=%s\n' "$QUORATE_MUNGE_SOCKET" \
	"$(sed -n 's/^ListenPort=//p' "$QUORATE_CONF")" > "$T_TMP/big-client.conf"
head -c 2000000 /dev/zero | tr '\0' 'A' > "$T_TMP/big"
before=$(qd_counter too_large)
t_match "a 2 MB request is refused as too large" \
	"$(quorate -f "$T_TMP/big-client.conf" send --credential "$T_TMP/big" 2>&1)" '"error":"too_large"'
t_eq "... counted" "$(qd_counter too_large)" "$((before + 1))"
t_run "quorated still answers" quorate ping

# Verdicts: the owner, root and SlurmUser only.
t_eq "the job's owner reads its verdict (ACCEPTED, exit 0)" \
	"$(qd_as_user "$QD_QUORATE" verdict "$job".0 > /dev/null 2>&1; echo $?)" 0
job2=$((job + 1))
quorate send "$(qd_result "$job2" 0 0 1 1 n1 "$sha" 0)" > /dev/null
before=$(qd_counter forbidden)
out=$(qd_as_user "$QD_QUORATE" verdict "$job2".0 2>&1); rc=$?
t_eq "another user's verdict is refused (exit 1)" "$rc" 1
t_match "... as forbidden" "$out" "forbidden"
t_eq "... counted" "$(qd_counter forbidden)" "$((before + 1))"
t_eq "root reads any verdict" "$(quorate verdict "$job2".0 > /dev/null 2>&1; echo $?)" 0
t_run "an ordinary user may list the nodes" qd_as_user "$QD_QUORATE" nodes
t_run "an ordinary user may read a node's events" qd_as_user "$QD_QUORATE" events n1
t_done
