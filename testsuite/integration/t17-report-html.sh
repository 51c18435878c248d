#!/bin/bash
# quorate report: replica outcomes from quorated's PostgreSQL per node, and
# the HTML report: self-contained (no external assets), opened in headless
# Chromium, which renders it without console errors and takes a screenshot.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qd-lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }
from=$(date -d '-2 seconds' '+%Y-%m-%dT%H:%M:%S')
# Three replicas of one step, quorum 2: qt17-a and qt17-b agree, qt17-c not.
job=$(qd_job)
quorate send "$(qd_result "$job" 0 0 3 2 qt17-a "$(qd_sha t17)")" > /dev/null
quorate send "$(qd_result "$job" 0 1 3 2 qt17-b "$(qd_sha t17)")" > /dev/null
quorate send "$(qd_result "$job" 0 2 3 2 qt17-c "$(qd_sha other)")" > /dev/null
t_run "quorated decided job $job" t_wait 30 sh -c "quorate verdict $job.0 | grep -q ACCEPTED"
sleep 1
to=$(date -d '+1 second' '+%Y-%m-%dT%H:%M:%S')

quorate report --from "$from" --to "$to" --by node --format csv > "$T_TMP/node.csv"
row() { python3 -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["Node"] == sys.argv[2]:
        print(r["Verified Replicas"], r["Rejected Replicas"], r["Missing Replicas"])' "$T_TMP/node.csv" "$1"; }
t_eq "qt17-a: 1 verified replica" "$(row qt17-a)" "1 0 0"
t_eq "qt17-b: 1 verified replica" "$(row qt17-b)" "1 0 0"
t_eq "qt17-c: 1 rejected replica" "$(row qt17-c)" "0 1 0"
t_eq "outside the period: nothing" "$(quorate report --from 2020-01-01 --to 2020-01-02 --by node --format csv |
	grep -c qt17)" 0
t_match "per node, the credit columns (per site) are empty" \
	"$(grep '^[^,]*,[^,]*,qt17-a,' "$T_TMP/node.csv" | tr -d '\r')" ',,,$'

t_run "quorate report --format html -o FILE" \
	quorate report --from "$from" --to "$to" --by site --format html -o "$T_TMP/r.html"
html=$(cat "$T_TMP/r.html")
t_match "one HTML document" "$html" '^<!DOCTYPE html>'
t_eq "four charts or notes: 3 inline SVG (no credit ledger)" "$(grep -c '^<svg ' "$T_TMP/r.html")" 3
t_eq "no external assets (src=, href=, url(, <link, <script)" \
	"$(grep -Eic 'src=|href=|url\(|<link|<script' "$T_TMP/r.html")" 0
t_match "print CSS" "$html" '@media print'

chrome() {	# chrome FILE PNG: screenshot; Chromium's log on stdout
	timeout 120 chromium --headless --disable-gpu --no-sandbox --enable-logging=stderr --v=0 \
		--user-data-dir="$T_TMP/chrome" --screenshot="$2" --window-size=1200,1600 "file://$1" 2>&1
}
# The detector first: a page that logs a console error must be caught.
printf '<!DOCTYPE html><html><body><script>console.error("t17-boom")</script></body></html>' > "$T_TMP/bad.html"
t_match "control: Chromium logs a page's console error" "$(chrome "$T_TMP/bad.html" "$T_TMP/bad.png")" \
	'CONSOLE.*t17-boom'
log=$(chrome "$T_TMP/r.html" "$T_TMP/r.png")
t_eq "the report logs no console message" "$(printf '%s\n' "$log" | grep -c 'CONSOLE')" 0
t_run "a PNG screenshot was written" test -s "$T_TMP/r.png"
t_match "... and it is a PNG" "$(file -b "$T_TMP/r.png")" '^PNG image data, 1200 x 1600'
dom=$(timeout 120 chromium --headless --disable-gpu --no-sandbox --user-data-dir="$T_TMP/chrome" \
	--dump-dom "file://$T_TMP/r.html" 2>/dev/null)
t_eq "Chromium's DOM has the 3 SVG charts" "$(printf '%s' "$dom" | grep -o '<svg ' | wc -l)" 3
t_match "... and the verification chart's title" "$dom" 'Replica outcomes'
cp "$T_TMP/r.png" "$T_TOP/testsuite/logs/t17-report.png" 2>/dev/null || true
t_done
