#!/bin/bash
# spank_quorate's refusals not covered by t20, on the suite's shared
# cluster: steps whose tasks do not split evenly over the replicas, --verify
# path patterns, plugstack.conf values out of range; and the plugin in srun
# under valgrind (memcheck) with a step it refuses (t21 has the ones that
# run), and its pure parts (the unit tests) under valgrind with leak
# checking.  No replicated step runs here: a verdict puts nodes on
# probation, where select/reputation no longer places the suite's plain
# jobs.
. "$(dirname "$0")/lib.sh"

t_use_cluster || { t_fail "shared test cluster is up"; exit 1; }
so=$T_BUILD/plugins/spank/.libs/spank_quorate.so
[ -f "$so" ] || { t_fail "spank_quorate.so is built ($so)"; exit 1; }
cd "$T_TMP" || exit 1

# refused NAME REGEX CMD...: non-zero, the message, and no task ran
refused() {
	local name=$1 re=$2 out rc
	shift 2
	out=$(timeout 60 "$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && printf '%s\n' "$out" | grep -Eq -- "$re" &&
	   ! printf '%s\n' "$out" | grep -q '^RAN$'; then
		t_pass "$name"
	else
		t_fail "$name" "exit status $rc" "$out"
	fi
}
# -w: root's override of select/reputation (see t21)
refused "srun: 4 tasks on 3 nodes with --replicas=3 is refused" \
	'error: quorate: --replicas=3: the step has 4 tasks, not a multiple of 3; every replica must run the same tasks$' \
	srun -N3 -n4 -w n1,n3,n5 --replicas=3 echo RAN
refused "srun: tasks 2,2,1,1 over 2 replicas is refused before launch, with the counts" \
	'error: quorate: --replicas=2: replicas would run different task counts \(4, 2\); give every replica the same, e.g. with --ntasks-per-node$' \
	srun -N4 -n6 -w n1,n2,n5,n6 --replicas=2 echo RAN
refused "--verify with an unknown % escape is refused" \
	'error: quorate: --verify=out\.%x: unknown %x in a path; allowed: %r \(replica\), %p \(part\), %% \(a %\)$' \
	srun -N2 -w n1,n5 --replicas=2 --verify=out.%x echo RAN
refused "--verify=stdout,PATH is refused" \
	'error: quorate: --verify=stdout,a: stdout cannot be combined with paths' \
	sbatch --replicas=2 -N2 --verify=stdout,a --wrap 'echo RAN'
refused "--quorum=0 is refused" \
	'error: quorate: --quorum=0: out of range' srun --replicas=2 --quorum=0 -N2 echo RAN

# plugstack.conf values: a copy of slurm.conf pointing at another file
sed "s|^PlugStackConfig=.*|PlugStackConfig=$T_TMP/plugstack.conf|" "$SLURM_CONF" > "$T_TMP/slurm.conf"
with_stack() {	# with_stack 'ARGS' CMD...
	echo "required $so $1" > "$T_TMP/plugstack.conf"
	shift
	(SLURM_CONF=$T_TMP/slurm.conf timeout 60 "$@" 2>&1)
}
t_match "max_output=0 is out of range" \
	"$(with_stack "server=127.0.0.1:1 max_output=0" sbatch --wrap true)" \
	"error: quorate: plugstack.conf: max_output=0: out of range; allowed: [0-9]+\.\.[0-9]+ bytes"
t_match "timeout=abc is not a number of seconds" \
	"$(with_stack "server=127.0.0.1:1 timeout=abc" sbatch --wrap true)" \
	"error: quorate: plugstack.conf: timeout=abc: "
t_match "wait=-1 is refused" \
	"$(with_stack "server=127.0.0.1:1 wait=-1" srun true)" \
	"error: quorate: plugstack.conf: wait=-1: "
t_match "an argument without = is refused" \
	"$(with_stack "server=127.0.0.1:1 verbose" sbatch --wrap true)" \
	"error: quorate: plugstack.conf: argument 'verbose' is not key=value"
t_match "server= with port 0 is refused" \
	"$(with_stack "server=127.0.0.1:0" sbatch --wrap true)" \
	"error: quorate: plugstack.conf: server=127\.0\.0\.1:0: port .*allowed: HOST:PORT, PORT 1\.\.65535"

# The plugin inside srun under valgrind's memcheck: no invalid access in
# the options, the layout check, the verdict wait and the printing.
# (Leaks are Slurm's own in srun and are not checked here.)
vg() { timeout 120 valgrind -q --error-exitcode=99 --leak-check=no "$@"; }
vg srun -N4 -n6 -w n1,n2,n5,n6 --replicas=2 true > vg3.out 2> vg3.err
t_eq "srun under valgrind: an uneven step refused, exit 1, no memcheck error" "$?" 1

# The pure parts under valgrind with leak checking (ASan: testsuite/run --asan).
for t in test_spank test_spank_result; do
	bin=$T_BUILD/testsuite/unit/$t
	make -s -C "$T_BUILD/testsuite/unit" "$t" > /dev/null 2>&1	# built by make check, or here
	if [ ! -x "$bin" ]; then
		t_fail "unit test $t is built (make check)"
		continue
	fi
	out=$(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$bin" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		t_pass "$t under valgrind: passes, no memory error, no leak"
	else
		t_fail "$t under valgrind" "exit status $rc" "$out"
	fi
done
t_done
