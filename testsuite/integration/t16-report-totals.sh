#!/bin/bash
# quorate report: CPU Hours, Node Hours and Number of Jobs per account equal
# the totals this test computes itself from sacct for the same period; the
# CSV parses back (python3 csv) to the same numbers; per site, the node
# hours land on the sites of the nodes the jobs ran on; bad options give a
# one-line error naming the option.
. "$(dirname "$0")/lib.sh"

t_use_cluster || { t_fail "the suite's cluster is up"; exit 1; }
sacctmgr -i add account qr16a,qr16b > /dev/null 2>&1
sacctmgr -i add user root account=qr16a,qr16b > /dev/null 2>&1
t_match "accounts qr16a and qr16b exist" "$(sacctmgr -n -P list account format=account)" 'qr16b'

from=$(date -d '-2 seconds' '+%Y-%m-%dT%H:%M:%S')
j1=$(sbatch --parsable -A qr16a -N1 -n2 -w n1 -o /dev/null --wrap 'sleep 3')
j2=$(sbatch --parsable -A qr16b -N2 -w n3,n5 -o /dev/null --wrap 'sleep 4')
t_run "srun -A qr16a on n6 (site c) for 2 s" srun -Q -A qr16a -N1 -w n6 sleep 2
t_eq "job $j1 completed" "$(t_wait_job "$j1")" COMPLETED
t_eq "job $j2 completed" "$(t_wait_job "$j2")" COMPLETED
sleep 1
to=$(date '+%Y-%m-%dT%H:%M:%S')
# slurmdbd learns of the ends asynchronously: wait until sacct has them all.
t_run "sacct has 3 completed jobs of qr16a/qr16b" t_wait 60 sh -c \
	"test \$(sacct -X -P -n -S '$from' -E '$to' -A qr16a,qr16b -s CD -o JobID | wc -l) -ge 3"

# The test's own totals from sacct: AllocCPUS x elapsed and NNodes x elapsed
# within [from, to), and jobs that ran in it, per account.
sacct -X -P -n -S "$from" -E "$to" -o Account,AllocCPUS,NNodes,Start,End > "$T_TMP/sacct"
python3 - "$from" "$to" "$T_TMP/sacct" > "$T_TMP/want" <<'PY'
import sys, time
def ts(s): return time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%S"))
lo, hi = ts(sys.argv[1]), ts(sys.argv[2])
tot = {}
for line in open(sys.argv[3]):
    acct, cpus, nodes, start, end = line.rstrip("\n").split("|")
    if start in ("Unknown", "None", ""): continue
    e = time.time() if end in ("Unknown", "") else ts(end)
    secs = max(0, min(e, hi) - max(ts(start), lo))
    if secs <= 0: continue
    t = tot.setdefault(acct or "(none)", [0, 0, 0])
    t[0] += int(cpus) * secs / 3600; t[1] += int(nodes) * secs / 3600; t[2] += 1
for a in sorted(tot):
    print("%s %.6f %.6f %d" % (a, *tot[a]))
PY
t_diag "sacct's totals (account, CPU h, node h, jobs):" "$(cat "$T_TMP/want")"
t_match "sacct saw qr16a and qr16b" "$(cat "$T_TMP/want")" 'qr16a .*
qr16b '

t_run "quorate report --by account --format csv" \
	quorate report --from "$from" --to "$to" --by account --format csv -o "$T_TMP/acct.csv"
python3 - "$T_TMP/acct.csv" > "$T_TMP/got" <<'PY'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        if float(r["Number of Jobs"]) == 0: continue
        print("%s %s %s %s" % (r["Account"], r["CPU Hours [h]"], r["Node Hours [h]"], r["Number of Jobs"]))
PY
# same ACCOUNT HOURS...: equal jobs, hours within 2e-6 (sums in another order)
same() { python3 -c '
import sys
g = [l.split() for l in open(sys.argv[1])]; w = [l.split() for l in open(sys.argv[2])]
ok = len(g) == len(w) and all(a[0] == b[0] and a[3] == b[3] and
    all(abs(float(x) - float(y)) < 2e-6 for x, y in zip(a[1:3], b[1:3])) for a, b in zip(g, w))
sys.exit(0 if ok else 1)' "$1" "$2"; }
t_run "sacct's CPU hours are not 0 (jobs long enough to see)" \
	sh -c "awk '\$2 <= 0 { exit 1 }' '$T_TMP/want'"
if same "$T_TMP/got" "$T_TMP/want"; then
	t_pass "CSV (parsed by python3 csv): CPU h, node h, jobs per account = sacct's"
else
	t_fail "CSV (parsed by python3 csv): CPU h, node h, jobs per account = sacct's" \
		"got: $(cat "$T_TMP/got")" "want: $(cat "$T_TMP/want")"
fi
t_match "CSV header has units and ISO 8601 period" "$(head -n 1 "$T_TMP/acct.csv")" \
	'^Period Start,Period End,Account,CPU Hours \[h\],GPU Hours \[h\],Node Hours \[h\],Number of Jobs,'
t_match "CSV rows start with ISO 8601 dates" "$(sed -n 2p "$T_TMP/acct.csv")" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2},'
t_run "CSV lines end in CRLF (RFC 4180)" sh -c "head -n 1 '$T_TMP/acct.csv' | od -c | grep -q '\\\\r  \\\\n'"

# The table and JSON carry the same numbers.
quorate report --from "$from" --to "$to" --by account > "$T_TMP/table"
awk '$1 ~ /^qr16/ { print $1, $2, $4, $5 }' "$T_TMP/table" > "$T_TMP/table.got"
t_run "the table's CPU h, node h, jobs = sacct's" same "$T_TMP/table.got" "$T_TMP/want"
quorate report --from "$from" --to "$to" --by account --format json > "$T_TMP/json"
python3 -c '
import json, sys
for x in json.load(open(sys.argv[1]))["rows"]:
    if x["account"].startswith("qr16"):
        print(x["account"], x["cpu_hours"], x["node_hours"], x["jobs"])' "$T_TMP/json" > "$T_TMP/json.got"
t_run "JSON: CPU h, node h, jobs = sacct's" same "$T_TMP/json.got" "$T_TMP/want"

# Per site: job 2 ran on n3 (site b) and n5 (site c), the srun on n6 (site c).
quorate report --from "$from" --to "$to" --by site --format csv > "$T_TMP/site.csv"
python3 -c '
import csv, sys
print("all %.6f %.6f 0" % tuple(sum(float(r[k]) for r in csv.DictReader(open(sys.argv[1])))
    for k in ("CPU Hours [h]", "Node Hours [h]")))' "$T_TMP/site.csv" > "$T_TMP/site.got"
awk '{ c += $2; n += $3 } END { printf "all %.6f %.6f 0\n", c, n }' "$T_TMP/want" > "$T_TMP/site.want"
t_run "CPU and node hours summed over sites = over accounts" same "$T_TMP/site.got" "$T_TMP/site.want"
t_match "sites a, b and c each have jobs" "$(cut -d, -f3,7 "$T_TMP/site.csv" | tr '\r\n' '  ')" \
	'a,[1-9][0-9]* +b,[1-9][0-9]* +c,[1-9][0-9]*'
t_match "by node: n5 ran one job" "$(quorate report --from "$from" --to "$to" --by node --format csv |
	grep '^[^,]*,[^,]*,n5,')" ',1,[0-9]+,[0-9]+,[0-9]+,'

# Bad options: exit 2, one line naming the option.
bad() {	# bad NAME WANT ARGS...: exit status 2 and one stderr line matching WANT
	local name=$1 want=$2 out rc
	shift 2
	out=$(quorate report "$@" 2>&1 >/dev/null); rc=$?
	t_match "$name: exit 2, one line: $out" "$rc $(printf '%s\n' "$out" | wc -l) $out" "^2 1 .*$want"
}
bad "--by nope" "--by: 'nope' is not one of site, account, user, node" --from "$from" --to "$to" --by nope
bad "--format xml" "--format: 'xml' is not one of table, csv, json, html" --from "$from" --to "$to" --format xml
bad "--from bad date" "--from: '2026-02-30' is not a date" --from 2026-02-30 --to "$to"
bad "no --to" "--to is required" --from "$from"
bad "--to before --from" "--to: .* is not after --from" --from "$to" --to "$from"
bad "unknown option" "unknown option '--bogus'" --from "$from" --to "$to" --bogus
bad "--by without value" "option --by needs a value" --from "$from" --to "$to" --by
t_done
