#!/bin/bash
# Two clusters of one federation in one slurmdbd (scripts/cluster
# --accounting-from): the reader returns both clusters' jobs with sacct's
# numbers; SiteMap gives the second cluster's nodes their site; site_a's
# account running on cluster B's nodes moves its credits to site_b; the
# balance hook then blocks that account on cluster B with sacctmgr and
# unblocks it when the balance is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contrib_lib.sh"

A=/tmp/q-contrib-t63a-$$ B=/tmp/q-contrib-t63b-$$
t_match "--accounting-from with --with-accounting is refused" \
	"$("$T_TOP/scripts/cluster" up --dir "$B" --with-accounting --accounting-from "$A" 2>&1)" \
	"exclude each other"
mkdir -p "$A"
t_match "--accounting-from a directory without a cluster is refused" \
	"$("$T_TOP/scripts/cluster" up --dir "$B" --accounting-from "$A" 2>&1)" \
	"no cluster in that directory"
rm -rf "$A" "$B"

# B goes down before A, whose munged and slurmdbd it uses (cleanups run in
# the order they were registered; t_private_cluster registers A's first).
t_on_exit "'$T_TOP/scripts/cluster' down --dir '$B'"
if t_private_cluster "$A" --nodes 2 --sites 1 --with-accounting --name t63a$$; then
	t_pass "cluster A up with accounting"
else
	t_fail "cluster A up with accounting"
	exit 1
fi
if t_private_cluster "$B" --nodes 2 --sites 1 --accounting-from "$A" --name t63b$$; then
	t_pass "cluster B up with --accounting-from A"
else
	t_fail "cluster B up with --accounting-from A"
	exit 1
fi
# Stopped at exit by t_private_cluster, then removed (registered after the
# downs, so it runs after them): each leaves 200 MB of MariaDB data.
t_on_exit "rm -rf '$A' '$B'"
t_match "B's status names A's accounting" "$("$T_TOP/scripts/cluster" status --dir "$B" 2>&1)" \
	"accounting on \(munged and slurmdbd of $A\)"
t_eq "B runs no munged or slurmdbd of its own" \
	"$(ls "$B/munge/munged.pid" "$B/run/slurmdbd.pid" 2>/dev/null)" ""
t_use_cluster "$A"
t_eq "A's slurmdbd serves both clusters" \
	"$(sacctmgr -n -P list cluster format=cluster | sort | tr '\n' ' ')" "t63a$$ t63b$$ "

acct_a=fa$$ acct_b=fb$$
c_account "$acct_a" t63a$$ t63b$$ && c_account "$acct_b" t63a$$ t63b$$ ||
	t_fail "accounts on both clusters"
ja=$(c_submit -A "$acct_a" -N2 -n2 --wrap 'sleep 2')			# A at home
t_use_cluster "$B"
jb1=$(c_submit -A "$acct_a" -N2 -n3 --wrap 'sleep 3')			# A on B
jb2=$(c_submit -A "$acct_b" -N1 -n1 --wrap 'sleep 1')			# B at home
for j in $jb1 $jb2; do t_wait_job "$j" 120 >/dev/null; done
t_use_cluster "$A"
t_wait_job "$ja" 120 >/dev/null
t_wait 60 c_accounted t63a$$ "$ja" && t_wait 60 c_accounted t63b$$ "$jb1" "$jb2" ||
	t_fail "slurmdbd has the jobs of both clusters"
# A time-window query (no -j), as the reader makes: give slurmdbd time to
# answer it as it answered -j above; if it never does, show A's rows.
listed() { sacct -M all -n -P -X -o Cluster,Account | sort -u | tr '\n' ' '; }
want_listed="t63a$$|$acct_a t63b$$|$acct_a t63b$$|$acct_b "
t_wait 60 eval '[ "$(listed)" = "$want_listed" ]'
t_eq "sacct -M all lists the jobs of both clusters" "$(listed)" "$want_listed"
[ "$(listed)" = "$want_listed" ] ||
	t_diag "every row slurmdbd keeps of A's job $ja:" \
		"$(sacct -D -M t63a$$ -j "$ja" -n -P \
			-o JobID,State,Submit,Eligible,Start,End,NodeList,Partition,QOS,AllocTRES 2>&1)" \
		"$(grep -hE "JobId=$ja |ID:$ja( |$)" "$A/log/slurmdbd.log" "$A/log/slurmctld.log" | tail -n 12)"

json=$T_TMP/read.json
"$C_TOOL" read > "$json" 2>"$T_TMP/err" || t_fail "contrib_tool read" "$(cat "$T_TMP/err")"
t_eq "the reader asked every cluster slurmdbd serves" \
	"$(jq -r '.clusters | sort | join(" ")' "$json")" "t63a$$ t63b$$"
t_eq "cluster A's records equal sacct's" \
	"$(c_tool_records "$json" t63a$$ "$ja")" "$(c_sacct_records t63a$$ "$ja")"
t_eq "cluster B's records equal sacct's" \
	"$(c_tool_records "$json" t63b$$ "$jb1" "$jb2")" "$(c_sacct_records t63b$$ "$jb1" "$jb2")"
t_match "... and are not empty" "$(c_tool_records "$json" t63b$$ "$jb1")" "^t63b$$ $jb1 n1 "

conf=$T_TMP/quorate.conf
cat > "$conf" <<EOF
# A's nodes carry site_a features; B's are mapped (B's features are not
# visible from A's slurmctld).
EpochLength=366d
SiteMap=t63b$$:n[1-2]=site_b
AccountSite=$acct_a=site_a
AccountSite=$acct_b=site_b
BalanceHook=yes
CreditLimit=0
EOF
"$C_TOOL" close --conf "$conf" --epoch-of "$(date +%s)" > "$T_TMP/close.json" 2>"$T_TMP/err" ||
	t_fail "contrib_tool close over two clusters" "$(cat "$T_TMP/err")"
t_eq "B's nodes are site_b by SiteMap" \
	"$(jq -r '[.usage[] | select(.cluster == "t63b'$$'") | .site] | unique | join(",")' "$T_TMP/close.json")" "site_b"
moved=$(c_sacct_records t63b$$ "$jb1" | awk '{ s += int($4 * 1000000 / 3600) } END { print s + 0 }')
t_match "site_a's job on B used CPU time" "$moved" '^[1-9]'
t_eq "site_a -> site_b: the credits of site_a's job on cluster B" \
	"$(jq '[.ledger.transfers[] | select(.from == "site_a" and .to == "site_b") | .credits] | add' "$T_TMP/close.json")" \
	"$moved"
t_eq "site_a's balance is minus that" \
	"$(jq '.ledger.balances[] | select(.site == "site_a") | .balance' "$T_TMP/close.json")" "-$moved"

# The balance hook: site_a is out of credit, so its account is blocked on
# cluster B (where site_a has no node), by sacctmgr, for real.
bal=$(jq -r '.ledger.balances[] | "--balance=\(.site)=\(.balance / 1000000)"' "$T_TMP/close.json")
# shellcheck disable=SC2086
plan=$("$C_TOOL" hook --conf "$conf" $bal --cluster-site t63a$$=site_a \
	--cluster-site t63b$$=site_b --run 2>&1 | grep '^sacctmgr -i')
t_eq "the hook blocks site_a's account on B only" "$plan" \
	"sacctmgr -i modify account where name=$acct_a cluster=t63b$$ set GrpTRESMins=cpu=0"
grp() {	# the account's own association (no user) on a cluster
	sacctmgr -n -P show assoc where account="$1" cluster="$2" format=User,GrpTRESMins |
		awk -F'|' '$1 == "" { print $2 }'
}
t_eq "sacctmgr shows GrpTRESMins=cpu=0 on B" "$(grp "$acct_a" t63b$$)" "cpu=0"
t_eq "... and nothing on A" "$(grp "$acct_a" t63a$$)" ""
plan=$("$C_TOOL" hook --conf "$conf" --balance site_a=0 --cluster-site t63a$$=site_a \
	--cluster-site t63b$$=site_b --blocked "$acct_a" --run 2>&1 | grep '^sacctmgr -i')
t_eq "back in credit: the hook clears the limit it set" "$plan" \
	"sacctmgr -i modify account where name=$acct_a cluster=t63b$$ set GrpTRESMins=cpu=-1"
t_eq "sacctmgr shows no GrpTRESMins on B again" "$(grp "$acct_a" t63b$$)" ""
sed -i 's/^BalanceHook=yes/BalanceHook=no/' "$conf"
t_eq "BalanceHook=no: no command at all" \
	"$("$C_TOOL" hook --conf "$conf" --balance site_a=-99 --cluster-site t63a$$=site_a \
		--cluster-site t63b$$=site_b 2>&1)" ""
t_done
