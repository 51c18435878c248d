#!/bin/bash
# quorated's monitoring port: /metrics in the Prometheus text format, which
# promtool (Debian's prometheus package) checks strictly; the counters move
# with what quorated is sent; /healthz follows the database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }
url=$QUORATE_METRICS_URL
metric() {	# metric NAME{LABELS} [URL]: its value in a fresh scrape
	curl -s -m 10 "${2:-$url}/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

t_run "promtool is installed (Debian package prometheus)" command -v promtool
curl -s -m 10 -D "$T_TMP/head" -o "$T_TMP/metrics" "$url/metrics"
t_match "GET /metrics answers 200" "$(head -n 1 "$T_TMP/head")" '^HTTP/1.[01] 200'
t_match "... as the text format 0.0.4" "$(cat "$T_TMP/head")" 'Content-Type: text/plain; version=0.0.4'
t_eq "promtool check metrics finds nothing to say" "$(promtool check metrics < "$T_TMP/metrics" 2>&1)" ""
t_run "... and exits 0" sh -c "promtool check metrics < '$T_TMP/metrics'"
for name in quorate_requests_total quorate_requests_rejected_total quorate_results_total \
	quorate_verdicts_total quorate_database_commit_seconds quorate_database_up \
	quorate_node_reputation; do
	t_match "the scrape has $name" "$(cat "$T_TMP/metrics")" "^# TYPE $name "
done

# The counters follow what quorated is sent.
job=$(qd_job) sha=$(qd_sha t14)
req=$(metric quorate_requests_total)
stored=$(metric 'quorate_results_total{outcome="stored"}')
accepted=$(metric 'quorate_verdicts_total{verdict="ACCEPTED"}')
commits=$(metric quorate_database_commit_seconds_count)
malformed=$(metric 'quorate_requests_rejected_total{reason="malformed"}')
quorate send "$(qd_result "$job" 0 0 2 2 qt14-a "$sha")" > /dev/null
quorate send "$(qd_result "$job" 0 1 2 2 qt14-b "$sha")" > /dev/null
quorate send 'not json' > /dev/null 2>&1
t_eq "three requests more" "$(metric quorate_requests_total)" "$((req + 3))"
t_eq "two results stored" "$(metric 'quorate_results_total{outcome="stored"}')" "$((stored + 2))"
t_eq "one verdict ACCEPTED" "$(metric 'quorate_verdicts_total{verdict="ACCEPTED"}')" "$((accepted + 1))"
t_eq "one malformed request" "$(metric 'quorate_requests_rejected_total{reason="malformed"}')" \
	"$((malformed + 1))"
t_run "commits were timed ($commits before)" test "$(metric quorate_database_commit_seconds_count)" -gt "$commits"
t_match "the new nodes' reputation is a gauge with its labels" "$(curl -s "$url/metrics")" \
	"quorate_node_reputation\\{cluster=\"[^\"]+\",node=\"qt14-a\",site=\"[^\"]*\"\\} [0-9.]+"

# Other requests.
t_eq "GET /healthz: 200 ok" "$(curl -s -w ' %{http_code}' "$url/healthz")" "ok
 200"
t_eq "an unknown path: 404" "$(curl -s -o /dev/null -w '%{http_code}' "$url/nope")" 404
t_eq "POST: 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$url/metrics")" 405
raw() {	# raw TEXT: send TEXT to the metrics port, print the status line
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "$2" >&3; head -n 1 <&3' _ "${url##*:}" "$1" |
		tr -d '\r'
}
t_eq "garbage: 400" "$(raw 'hello\r\n\r\n')" "HTTP/1.0 400 Bad Request"
# A client that sends nothing is dropped after the deadline; the next scrape works.
(exec 3<>"/dev/tcp/127.0.0.1/${url##*:}"; sleep 4) &
sleep 0.5
t_match "a silent client does not stop the next scrape" "$(curl -s -m 10 "$url/healthz")" '^ok$'
wait

# /healthz and quorate_database_up follow the database (a private quorated).
qd_private_quorated t14 9 <<< "PushReputation=no" || { t_fail "private database"; exit 1; }
mport=$((QD_PORT + 30))
sed -i "s/^MetricsPort=.*/MetricsPort=$mport/" "$QD_CONF"
t_run "a private quorated with its metrics port starts" qd_start_private
purl=http://127.0.0.1:$mport
t_eq "its database is up" "$(metric quorate_database_up "$purl")" 1
psql -X -q -d postgres -c "ALTER DATABASE $QD_DB ALLOW_CONNECTIONS false" \
	-c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$QD_DB'" > /dev/null
t_on_exit "psql -X -q -d postgres -c 'ALTER DATABASE $QD_DB ALLOW_CONNECTIONS true'"
t_eq "database refusing connections: /healthz 503" \
	"$(curl -s -w ' %{http_code}' "$purl/healthz")" "database unavailable
 503"
t_eq "... quorate_database_up 0" "$(metric quorate_database_up "$purl")" 0
t_run "... and the scrape is still well-formed" sh -c "curl -s '$purl/metrics' | promtool check metrics"
psql -X -q -d postgres -c "ALTER DATABASE $QD_DB ALLOW_CONNECTIONS true"
t_eq "database back: /healthz 200" "$(curl -s -o /dev/null -w '%{http_code}' "$purl/healthz")" 200
# The alerting rules (etc/prometheus/quorate-rules.yml): valid, each alert
# raised by its series in promtool's own rule tests, and every quorated
# metric they name present in a real scrape.
rules=$T_TOP/etc/prometheus/quorate-rules.yml
t_run "promtool check rules quorate-rules.yml" promtool check rules "$rules"
t_run "promtool test rules: each alert fires on its series, and not on healthy ones" \
	sh -c "cd '$T_TOP/etc/prometheus' && promtool test rules quorate-rules.test.yml"
curl -s -m 10 -o "$T_TMP/metrics.rules" "$url/metrics"
missing=
for m in $(grep -o 'quorate_[a-z_]*' "$rules" | sort -u); do
	[ "$m" = quorate_spool_records ] && continue	# the nodes' (the Epilog's textfile)
	grep -Eq "^$m[ {]" "$T_TMP/metrics.rules" || missing="$missing $m"
done
t_eq "every quorated metric the rules name is scraped" "$missing" ""
# The Epilog's textfile for the node exporter: the records left in a spool.
mkdir -p "$T_TMP/spool" "$T_TMP/textfile"
touch "$T_TMP/spool/1.0.0.0@qc.json" "$T_TMP/spool/2.0.1.0@qc.json"
QUORATE_SPOOL=$T_TMP/spool QUORATE_TEXTFILE_DIR=$T_TMP/textfile \
	"$T_BUILD/plugins/spank/quorate-flush-spool" > /dev/null 2>&1
t_eq "the Epilog writes quorate_spool_records for the node exporter" \
	"$(grep '^quorate_spool_records' "$T_TMP/textfile/quorate_spool.prom" 2>/dev/null)" "quorate_spool_records 2"
t_run "... in a well-formed file" sh -c "promtool check metrics < '$T_TMP/textfile/quorate_spool.prom'"
# The Grafana dashboard (etc/grafana/quorate.json; no Grafana in Debian to
# load it into): valid JSON, each panel's query valid PromQL (promtool
# parses them as recording rules), and every quorated metric it names
# present in the scrape.
dash=$T_TOP/etc/grafana/quorate.json
t_run "the dashboard is JSON with panels" sh -c "jq -e '.panels | length > 0' '$dash'"
{
	echo "groups:"
	echo "  - name: dashboard"
	echo "    rules:"
	jq -r '.panels[].targets[].expr' "$dash" | awk '{ gsub(/\x27/, "\x27\x27"); printf "      - record: dashboard:q%d\n        expr: \x27%s\x27\n", NR, $0 }'
} > "$T_TMP/dashboard-rules.yml"
t_run "every dashboard query parses as PromQL ($(jq '[.panels[].targets[]] | length' "$dash") queries)" \
	promtool check rules "$T_TMP/dashboard-rules.yml"
missing=
for m in $(jq -r '.panels[].targets[].expr' "$dash" | grep -o 'quorate_[a-z_]*' | sort -u); do
	[ "$m" = quorate_spool_records ] && continue
	grep -Eq "^$m[ {]" "$T_TMP/metrics.rules" || missing="$missing $m"
done
t_eq "every quorated metric the dashboard names is scraped" "$missing" ""
t_done
