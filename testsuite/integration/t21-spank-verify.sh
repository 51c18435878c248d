#!/bin/bash
# spank_quorate on a private cluster (6 nodes, 3 sites, its own quorated
# and a fresh database): a replicated step's output printed once with the
# verified line; replica groups in node order; one lying node outvoted and
# its reputation lowered; all replicas different: REJECTED and srun's
# documented status 65 (also with srun under valgrind); --verify=PATH
# files; --verify-tolerance; the stdout spool file belongs to the job's
# user, mode 0600; stderr is left alone.  Private because the liars'
# verdicts lower reputations for good: on the suite's cluster, a
# quarantined site would leave later replicated jobs pending.  Steps name
# their nodes (-w, root's override of select/reputation) so that the
# liars' nodes still take part after their fall.
. "$(dirname "$0")/lib.sh"

dir=/tmp/q-plugins-verify
[ -f "$T_BUILD/plugins/spank/.libs/spank_quorate.so" ] || { t_fail "spank_quorate.so is built"; exit 1; }
# A fresh database each run: this test's own cluster, stopped first.
"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
rm -rf "$dir"
t_private_cluster "$dir" --nodes 6 --sites 3 || { t_fail "private cluster with quorated"; exit 1; }
t_use_cluster "$dir" || { t_fail "private cluster env"; exit 1; }
Q=$T_BUILD/accounting/quorate
cd "$T_TMP" || exit 1

# run_step OUT ERR SRUN-ARGS...: srun with stdout, stderr kept apart; status
run_step() {
	local o=$1 e=$2
	shift 2
	timeout 120 srun "$@" > "$o" 2> "$e"
}
# A replica's digest (doc/protocol.md): SHA-256 over its parts' SHA-256
# and exit status (4 bytes, big-endian); one part, exit 0 here.
digest1() {
	printf '%s' "$1" | sha256sum | perl -ne 'print pack("H64", $_), "\0\0\0\0"' | sha256sum | cut -c1-64
}
step_of() { sed -n 's/^quorate: step \([0-9]*\.[0-9]*\) .*/\1/p' "$1" | head -n 1; }
score() {	# score NODE: its reputation score in `quorate nodes`
	"$Q" nodes | awk -v n="$1" '$1 == n { print $4 }'
}

# 1. three replicas agree
run_step o1 e1 -N3 -w n1,n3,n5 --replicas=3 sh -c 'echo 42'
rc=$?
t_eq "srun -N3 --replicas=3 sh -c 'echo 42' exits 0" "$rc" 0
t_eq "... prints 42 once on stdout" "$(cat o1)" "42"
t_match "... and the verified line on stderr" "$(cat e1)" \
	"^quorate: step [0-9]+\.0 verified 3/3 \(quorum 2\) sha256=$(digest1 $'42\n')$"
t_match "quorated holds the ACCEPTED verdict" "$("$Q" verdict "$(step_of e1)")" "ACCEPTED"

# 2. the task's stdout: the spool file, the user's, 0600 (before any
#     disagreement: quorate-test has no override of a quarantine)
chmod 0755 "$T_TMP"
out=$(cd "$T_TMP" && timeout 120 runuser -u quorate-test -- env PATH="$PATH" SLURM_CONF="$SLURM_CONF" \
	srun -N2 -w n1,n5 --replicas=2 sh -c 'stat -L -c "%U %a" /proc/self/fd/1; id -un' 2>&1)
t_match "as quorate-test: the task's stdout is a spool file of the user, mode 0600, verified" \
	"$(printf '%s\n' "$out" | tr '\n' ' ')" \
	"^quorate-test 600 quorate-test quorate: step [0-9]+\.0 verified 2/2 "
# --verify files are opened as the job's user: root's files count as
# unreadable, and their content never reaches quorated
out=$(cd "$T_TMP" && timeout 120 runuser -u quorate-test -- env PATH="$PATH" SLURM_CONF="$SLURM_CONF" \
	srun -N2 -w n1,n5 --replicas=2 --verify=/etc/shadow --verify-tolerance=0.5 true 2>&1)
t_match "as quorate-test, --verify=/etc/shadow: both replicas agree on 'unreadable'" "$out" \
	"^quorate: step [0-9]+\.0 verified 2/2 "
shadow_step=$(printf '%s\n' "$out" | sed -n 's/^quorate: step \([0-9.]*\) .*/\1/p')
t_eq "... and quorated holds no output of it (nothing of the file was read)" \
	"$("$Q" verdict "$shadow_step" --output 2>&1 | wc -c)" 0
t_eq "no stdout file is left in the spool" "$(ls "$QUORATE_CLUSTER_DIR/spool/quorate/out" | wc -l)" 0
t_eq "no report was spooled (quorated was up)" \
	"$(find "$QUORATE_CLUSTER_DIR/spool/quorate" -maxdepth 1 -name '*.json' | wc -l)" 0

# 3. groups in node order, QUORATE_REPLICA(S) in each task, stderr not captured
run_step o2 e2 -N6 -w n1,n2,n3,n4,n5,n6 --replicas=3 \
	sh -c 'echo "$SLURMD_NODENAME $QUORATE_REPLICA/$QUORATE_REPLICAS" >&2; echo same'
t_eq "6 nodes, 3 replicas: groups in node order (stderr goes through untouched)" \
	"$(grep -v '^quorate:' e2 | sort | tr '\n' ' ')" \
	"n1 0/3 n2 0/3 n3 1/3 n4 1/3 n5 2/3 n6 2/3 "
t_eq "... the canonical replica's output once (2 parts)" "$(cat o2 | tr '\n' ' ')" "same same "
run_step o3 e3 -N6 -w n1,n2,n3,n4,n5,n6 --ntasks-per-node=2 --replicas=3 sh -c 'echo "tasks $SLURM_NTASKS"'
t_eq "2 tasks per node: 4 parts per replica, each printed once" "$(cat o3 | tr '\n' ' ')" \
	"tasks 12 tasks 12 tasks 12 tasks 12 "

# 4. one liar: ACCEPTED 2/3, its reputation falls, the others' does not
liar=n3
before_liar=$(score $liar)
run_step o4 e4 -N3 -w n1,n3,n5 --replicas=3 \
	sh -c 'if [ "$SLURMD_NODENAME" = '$liar' ]; then echo 41; else echo 42; fi'
rc=$?
after_liar=$(score $liar)
t_eq "one lying node: srun exits 0" "$rc" 0
t_eq "... prints the majority's 42 once" "$(cat o4)" "42"
t_match "... verified 2/3" "$(cat e4)" "^quorate: step [0-9]+\.0 verified 2/3 \(quorum 2\) sha256="
t_match "quorated records the liar's replica as disagreeing" \
	"$("$Q" verdict "$(step_of e4)")" "disagree $liar"
t_run "the liar's score fell in quorate nodes ($before_liar -> $after_liar)" \
	awk -v a="${before_liar:-x}" -v b="${after_liar:-x}" 'BEGIN { exit !(a != "x" && b != "x" && b + 0 < a + 0) }'

# 4b. a liar that also fails (exit 3): the step is ACCEPTED, and srun
# exits with the agreeing replicas' status, not the liar's (on n2, n4,
# n6: n4 lies, and is not used after step 5)
liar=n4
run_step o4b e4b -N3 -w n2,n4,n6 --replicas=3 \
	sh -c 'if [ "$SLURMD_NODENAME" = '$liar' ]; then echo 41; exit 3; else echo 42; fi'
rc=$?
t_eq "a lying node that exits 3: srun exits 0, the agreed status" "$rc" 0
t_match "... verified 2/3" "$(cat e4b)" "^quorate: step [0-9]+\.0 verified 2/3 \(quorum 2\) sha256=[0-9a-f]+$"
run_step o4c e4c -N3 -w n2,n4,n6 --replicas=3 \
	sh -c 'if [ "$SLURMD_NODENAME" = '$liar' ]; then echo 41; exit 0; else echo 42; exit 4; fi'
rc=$?
t_eq "the honest majority fails alike (exit 4), the liar exits 0: srun exits 4" "$rc" 4
t_match "... verified 2/3, naming the agreed failure" "$(cat e4c)" "verified 2/3 .*every replica failed alike: exit status 4"

# 5. every replica different: REJECTED, status 65, nothing on stdout
run_step o5 e5 -N3 -w n2,n4,n6 --replicas=3 sh -c 'echo "$SLURMD_NODENAME"'
rc=$?
t_eq "all replicas differ: srun exits 65 (spank_quorate(8))" "$rc" 65
t_match "... with the REJECTED line" "$(cat e5)" \
	"^quorate: step [0-9]+\.0 REJECTED: no 2 of 3 agree \(3 reported, 0 missing\)$"
t_eq "... and prints no output" "$(cat o5)" ""
t_match "quorated holds the REJECTED verdict" "$("$Q" verdict "$(step_of e5)")" "REJECTED"

# 6. --verify=PATH: files written per replica (%r), missing files agree too
run_step o6 e6 -N3 -w n1,n3,n5 --replicas=3 --verify=res.%r,never.%r \
	sh -c 'echo 7 > res.$QUORATE_REPLICA; echo out'
t_eq "--verify=res.%r,never.%r: exit 0" "$?" 0
t_match "... verified 3/3" "$(cat e6)" "verified 3/3 \(quorum 2\)"
t_eq "... every replica wrote its own file" "$(cat res.0 res.1 res.2 | tr '\n' ' ')" "7 7 7 "
run_step o7 e7 -N3 -w n1,n3,n5 --replicas=3 --verify=res.%r \
	sh -c 'echo $SLURMD_NODENAME > res.$QUORATE_REPLICA'
t_eq "--verify files that differ everywhere: exit 65" "$?" 65

# 7. --verify-tolerance: numbers within the tolerance agree
run_step o8 e8 -N3 -w n1,n3,n5 --replicas=3 --verify-tolerance=1e-3 \
	sh -c 'if [ "$SLURMD_NODENAME" = n3 ]; then echo 42.00001; else echo 42; fi'
t_eq "--verify-tolerance=1e-3: 42 and 42.00001 agree (exit 0)" "$?" 0
t_match "... verified 3/3" "$(cat e8)" "verified 3/3"
run_step o9 e9 -N3 -w n1,n3,n5 --replicas=3 --verify-tolerance=1e-9 \
	sh -c 'if [ "$SLURMD_NODENAME" = n3 ]; then echo 42.00001; else echo 42; fi'
t_match "--verify-tolerance=1e-9: they do not (2/3)" "$(cat e9)" "verified 2/3"

# 8. srun with the plugin under valgrind's memcheck, ACCEPTED, and REJECTED
#    where srun leaves through the plugin's _exit (leaks are Slurm's own in srun: not checked)
timeout 120 valgrind -q --error-exitcode=99 --leak-check=no \
	srun -N3 -w n1,n3,n5 --replicas=3 sh -c 'echo 42' > vg1.out 2> vg1.err
t_eq "srun under valgrind: ACCEPTED, exit 0, no memcheck error" "$?" 0
t_eq "... 42 printed once" "$(cat vg1.out)" 42
t_match "... the verified line" "$(cat vg1.err)" "^quorate: step [0-9]+\.0 verified 3/3"
timeout 120 valgrind -q --error-exitcode=99 --leak-check=no \
	srun -N3 -w n1,n3,n5 --replicas=3 sh -c 'echo $SLURMD_NODENAME' > vg.out 2> vg.err
t_eq "srun under valgrind: REJECTED, exit 65, no memcheck error" "$?" 65
t_match "... with the REJECTED line" "$(cat vg.err)" "REJECTED: no 2 of 3 agree"
t_done
