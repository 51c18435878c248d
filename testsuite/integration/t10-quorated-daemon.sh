#!/bin/bash
# quorated as a daemon: up and answering after `scripts/cluster up`, its
# configuration errors (FILE:LINE) and option errors, the CLI's errors and
# exit statuses, logging, SIGHUP (reload, bad reload kept out) and SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }

t_run "quorate ping right after scripts/cluster up" quorate ping
t_eq "quorated's database is up" "$(quorate --json ping | jq -r .database)" "up"
t_eq "quorated knows its cluster from slurm.conf" \
	"$(quorate --json ping | jq -r .cluster)" "$(sed -n 's/^ClusterName=//p' "$SLURM_CONF")"
t_match "quorated logs to its LogFile like Slurm's daemons" \
	"$(cat "$QUORATE_CLUSTER_DIR/log/quorated.log")" '^\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+\] quorated .* started'
t_match "the pid file names a running quorated" \
	"$(cat /proc/"$(cat "$QUORATE_CLUSTER_DIR/run/quorated.pid")"/comm)" '^quorated$'
t_run "an ordinary user may ping" qd_as_user "$QD_QUORATE" ping

# Configuration errors: FILE:LINE and the reason, no daemon left behind.
bad=$T_TMP/bad.conf
printf 'ListenPort=1\n# a comment\nListenPrt=7000\n' > "$bad"
out=$("$QD_QUORATED" -D -f "$bad" 2>&1); rc=$?
t_eq "quorated with an unknown key exits 1" "$rc" 1
t_match "... naming FILE:LINE and the key" "$out" "$bad:3: unknown key 'ListenPrt'"
printf 'HalfLife=1d\nTrustAbove=abc\n' > "$bad"
t_match "a bad value is refused with FILE:LINE" "$("$QD_QUORATED" -D -f "$bad" 2>&1)" "$bad:2: TrustAbove"
printf 'LogLevel=loud\n' > "$bad"
t_match "a bad log level is refused with what is allowed" \
	"$("$QD_QUORATED" -D -f "$bad" 2>&1)" "$bad:1: LogLevel: 'loud' is not a log level \(allowed: quiet"
t_match "a missing file is refused" "$("$QD_QUORATED" -D -f "$T_TMP/none.conf" 2>&1)" "none.conf"
out=$("$QD_QUORATED" -x 2>&1); rc=$?
t_eq "an unknown option exits 2" "$rc" 2
t_match "... naming it and what is allowed" "$out" "unknown option -x \(allowed: -D, -f FILE, -t, -v, -h, -V\)"
t_run "the example etc/quorate.conf is valid (quorated -t)" "$QD_QUORATED" -t -f "$T_TOP/etc/quorate.conf"
t_run "the harness's quorate.conf is valid (quorated -t)" "$QD_QUORATED" -t -f "$QUORATE_CONF"
t_fails "quorated -t refuses a bad file" "$QD_QUORATED" -t -f "$bad"

# The CLI's own errors and exit statuses (quorate(1)).
out=$(quorate verdict abc 2>&1); rc=$?
t_eq "quorate verdict abc exits 2" "$rc" 2
t_match "... saying what JOB.STEP is" "$out" "'abc' is not JOB or JOB.STEP"
out=$(quorate --bogus ping 2>&1); rc=$?
t_eq "quorate with an unknown option exits 2" "$rc" 2
t_match "... naming it" "$out" "unknown option '--bogus'"
t_match "quorate with an unknown command names the allowed ones" "$(quorate frobnicate 2>&1)" \
	"unknown command 'frobnicate' \(allowed: ping, nodes, node, verdict, events, send[a-z, -]*\)"
t_match "quorate verdict --wait out of range" "$(quorate verdict 5 --wait 4000 2>&1)" "allowed 0..3600"
out=$(quorate -s 127.0.0.1:1 ping 2>&1); rc=$?
t_eq "an unreachable quorated is exit 3 (try again)" "$rc" 3
t_match "... with the reason" "$out" "cannot connect to quorated at 127.0.0.1:1"
t_eq "a step nobody reported is exit 6" "$(quorate verdict "$(qd_job)".0 >/dev/null 2>&1; echo $?)" 6
QUORATE_CONF=$bad quorate ping > "$T_TMP/out" 2>&1; rc=$?
t_eq "quorate with a broken quorate.conf exits 2" "$rc" 2

# A private quorated in the foreground: -D, SIGHUP, SIGTERM.
qd_private_quorated t10 7 <<< "LogLevel=info" || { t_fail "private database"; exit 1; }
"$QD_QUORATED" -D -f "$QD_CONF" > "$QD_DIR/stderr" 2>&1 &
fg=$!
t_wait 20 qdp ping > /dev/null
t_run "quorated -D answers" qdp ping
t_eq "quorated -D writes its pid file" "$(qd_private_pid)" "$fg"
t_match "quorated -D logs to stderr too" "$(cat "$QD_DIR/stderr")" "quorated: quorated .* started"
# Every accounting/schema/NNN_name.sql, in order.
want=$(cd "$T_TOP/accounting/schema" && ls [0-9][0-9][0-9]_*.sql | sort |
	sed -E 's/^(0*)([0-9]+)(_.*)\.sql$/\2|\1\2\3/')
n=$(printf '%s\n' "$want" | wc -l)
t_match "the schema was applied at start" "$(cat "$QD_DIR/quorated.log")" "database schema: $n migrations? applied"
t_eq "schema_migrations records each file of accounting/schema" \
	"$(psql -X -tA -d "$QD_DB" -c 'SELECT version, name FROM schema_migrations ORDER BY version')" "$want"

echo "MissingGrace=7" >> "$QD_CONF"
kill -HUP "$fg"
t_wait 10 grep -q "MissingGrace=7s" "$QD_DIR/quorated.log"
t_match "SIGHUP reloads quorate.conf" "$(cat "$QD_DIR/quorated.log")" "reloaded .*MissingGrace=7s"
echo "Bogus=1" >> "$QD_CONF"
kill -HUP "$fg"
t_wait 10 grep -q "reload: .*unknown key 'Bogus'" "$QD_DIR/quorated.log"
t_match "a bad reload is refused with FILE:LINE" "$(cat "$QD_DIR/quorated.log")" \
	"reload: $QD_CONF:[0-9]+: unknown key 'Bogus' \(keeping the running configuration\)"
t_run "quorated still answers after a bad reload" "$QD_QUORATE" -s "127.0.0.1:$QD_PORT" ping

kill -TERM "$fg"
if wait "$fg"; then t_pass "SIGTERM: quorated exits 0"; else t_fail "SIGTERM: quorated exits 0" "status $?"; fi
t_eq "... and removes its pid file" "$(ls "$QD_DIR/quorated.pid" 2>/dev/null)" ""
t_match "... logging why" "$(tail -n 3 "$QD_DIR/quorated.log")" "SIGTERM: finishing the work in flight"

# Daemonized: the command returns once quorated listens; a second one is refused.
sed -i '/^Bogus=/d' "$QD_CONF"
t_run "quorated -f CONF daemonizes and answers" qd_start_private
out=$("$QD_QUORATED" -f "$QD_CONF" 2>&1); rc=$?
t_eq "a second quorated on the same port fails to start" "$rc" 1
t_match "... saying why" "$out" "cannot listen on|PidFile .* is locked"
t_done
