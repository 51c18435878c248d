#!/bin/bash
# The harness itself (issue 20): a test that stops before its last check
# fails, an exit status is never replaced by a smaller one, and
# testsuite/run counts a unit program's exit status and its TAP plan.
# Everything here runs in a temporary directory; no service is needed.
. "$(dirname "$0")/lib.sh"

lib=$T_TOP/testsuite/integration/lib.sh
# child NAME BODY: a test script sourcing lib.sh, run; prints "STATUS".
child() {
	printf '. %q\n%s\n' "$lib" "$2" > "$T_TMP/$1.sh"
	bash "$T_TMP/$1.sh" > "$T_TMP/$1.out" 2>&1
	echo $?
}

t_eq "a test that runs to t_done with passing checks exits 0" \
	"$(child done 't_pass a; t_done')" 0
t_eq "... and prints no failure" "$(grep -c '^not ok' "$T_TMP/done.out")" 0
t_eq "a failed check exits 1" "$(child failed 't_fail b; t_done')" 1
t_eq "exit 1 after a passing check stays 1 (the EXIT trap used to make it 0)" \
	"$(child exit1 't_pass a; exit 1; t_pass never')" 1
t_eq "exit 3 after a failed check stays 3 (the larger)" "$(child exit3 't_fail a; exit 3')" 3
t_eq "exit 0 before the last check fails" "$(child exit0 't_pass a; exit 0; t_pass never; t_done')" 1
t_match "... with a failure line saying so" "$(cat "$T_TMP/exit0.out")" \
	'^not ok - exit0\.sh stopped before its end \(exit status 0\)$'
t_eq "a shell error that ends the script (set -e) fails" \
	"$(child sete 'set -e; t_pass a; false; t_done')" 1

# testsuite/run on a build directory of three fake unit programs.
fake=$T_TMP/build
mkdir -p "$fake/testsuite/unit"
printf 'check:\n\t@true\n' > "$fake/testsuite/unit/Makefile"
unit() {	# unit NAME BODY
	printf '#!/bin/sh\n%s\n' "$2" > "$fake/testsuite/unit/$1"
	chmod +x "$fake/testsuite/unit/$1"
}
unit test_whole 'echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"'
unit test_short 'echo 1..3; echo "ok 1 - a"'
unit test_abort 'echo 1..1; echo "ok 1 - a"; kill -ABRT $$'
out=$(QUORATE_BUILDDIR=$fake "$T_TOP/testsuite/run" --unit 2>&1); rc=$?
t_eq "testsuite/run on them exits non-zero" "$rc" 1
t_match "a program that stops before its plan is a failure" "$out" \
	'unit/test_short: 1 results of the 3 planned'
t_match "a program killed after its ok lines is a failure" "$out" \
	'unit/test_abort: exited with status 134'
t_match "the whole one passes" "$out" 'unit/test_whole +2 passed, 0 failed'
t_match "the closing line counts them" "$(tail -n 1 <<<"$out")" '^4 passed, 2 failed$'
t_eq "each program's exit status is kept for the ASan part" \
	"$(cat "$fake/testsuite/logs/test_abort.status" "$fake/testsuite/logs/test_whole.status" | tr '\n' ' ')" "134 0 "
t_done
