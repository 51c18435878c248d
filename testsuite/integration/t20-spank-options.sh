#!/bin/bash
# spank_quorate's options and plugstack.conf arguments on the suite's shared
# cluster: --help, refusals with one-line errors, the job-control
# environment (what select/reputation and the steps read), step node
# counts, and strict plugstack.conf parsing (through a copy of slurm.conf
# that points at another plugstack.conf: client-side checks only).
. "$(dirname "$0")/lib.sh"

t_use_cluster || { t_fail "shared test cluster is up"; exit 1; }
so=$T_BUILD/plugins/spank/.libs/spank_quorate.so
[ -f "$so" ] || { t_fail "spank_quorate.so is built ($so)"; exit 1; }

t_match "the harness loads the plugin from the build tree, required, with its arguments" \
	"$(cat "$QUORATE_CLUSTER_DIR/etc/plugstack.conf")" \
	"^required $so server=127\.0\.0\.1:[0-9]+ spool=$QUORATE_CLUSTER_DIR/spool/quorate munge_socket=$QUORATE_CLUSTER_DIR/munge/munge\.socket$"

for cmd in sbatch srun salloc; do
	help=$($cmd --help 2>&1)
	t_match "$cmd --help lists --replicas, --quorum, --verify, --verify-tolerance" \
		"$(printf '%s\n' "$help" | grep -oE -- '--(replicas=N|quorum=K|verify=stdout|verify-tolerance=REL)' | sort -u | tr '\n' ' ')" \
		'^--quorum=K --replicas=N --verify-tolerance=REL --verify=stdout $'
done

# refused: the job is not submitted, stderr names the option and what is allowed
refused() {	# refused NAME REGEX CMD...
	local name=$1 re=$2 out rc before after
	shift 2
	before=$(squeue -h -t PD,R -o %i | wc -l)
	out=$(cd "$T_TMP" && timeout 60 "$@" 2>&1)
	rc=$?
	after=$(squeue -h -t PD,R -o %i | wc -l)
	if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -Eq -- "$re" && [ "$after" -le "$before" ]; then
		t_pass "$name"
	else
		t_fail "$name" "exit status $rc" "$out"
	fi
}
refused "--replicas=1 is refused (allowed 2..16)" \
	'error: quorate: --replicas=1: out of range; allowed: 2\.\.16$' sbatch --replicas=1 --wrap true
refused "--replicas=17 is refused" \
	'error: quorate: --replicas=17: out of range; allowed: 2\.\.16$' srun --replicas=17 true
refused "--replicas=x is refused" \
	'error: quorate: --replicas=x: not an integer; allowed: 2\.\.16$' sbatch --replicas=x --wrap true
refused "--quorum above --replicas is refused (K > N)" \
	'error: quorate: --quorum=4 is more than --replicas=3; allowed: 1\.\.3$' sbatch --replicas=3 --quorum=4 -N3 --wrap true
refused "--quorum without --replicas is refused" \
	'error: quorate: --quorum needs --replicas=N$' srun --quorum=2 true
refused "--verify with an empty path is refused" \
	'error: quorate: --verify=a,,b: empty path' sbatch --replicas=2 -N2 --verify=a,,b --wrap true
refused "--verify-tolerance out of range is refused" \
	'error: quorate: --verify-tolerance=2: out of range; allowed: a relative tolerance 0\.\.1$' \
	salloc --replicas=2 -N2 --verify-tolerance=2 true
refused "srun: a step of 2 nodes with --replicas=3 is refused" \
	'error: quorate: --replicas=3: the step has 2 nodes, not a multiple of 3' srun --replicas=3 -N2 true

# accepted: the request reaches the job's control environment and its steps
out=$T_TMP/env.out
job=$(cd "$T_TMP" && sbatch --parsable --replicas=3 --quorum=3 --verify=result.txt,model.h5 \
	--verify-tolerance=1e-6 -N3 -o "$out" \
	--wrap 'env | grep -E "^SLURM_SPANK_QUORATE_" | sort; srun -N2 true 2>&1 | grep -c "not a multiple of 3"')
state=$(t_wait_job "$job" 120)
t_eq "sbatch --replicas=3 -N3 job completes" "$state" COMPLETED
t_eq "the job-control environment holds the request (SLURM_SPANK_QUORATE_* in the batch step)" \
	"$(grep -E '^SLURM_SPANK_QUORATE_' "$out" | tr '\n' ' ')" \
	"SLURM_SPANK_QUORATE_QUORUM=3 SLURM_SPANK_QUORATE_REPLICAS=3 SLURM_SPANK_QUORATE_VERIFY=result.txt,model.h5 SLURM_SPANK_QUORATE_VERIFY_TOLERANCE=1e-06 "
t_eq "a step of the replicated job inherits --replicas and is refused on 2 nodes" \
	"$(tail -n 1 "$out")" "1"

job=$(cd "$T_TMP" && sbatch --parsable --replicas=2 -N2 -o "$out" --wrap 'env | grep -E "^SLURM_SPANK_QUORATE_" | sort')
t_wait_job "$job" 120 >/dev/null
t_eq "defaults: quorum floor(N/2)+1, verify stdout" \
	"$(tr '\n' ' ' < "$out")" \
	"SLURM_SPANK_QUORATE_QUORUM=2 SLURM_SPANK_QUORATE_REPLICAS=2 SLURM_SPANK_QUORATE_VERIFY=stdout "
job=$(cd "$T_TMP" && sbatch --parsable -N1 -o "$out" --wrap 'env | grep -cE "^SLURM_SPANK_QUORATE_"')
t_wait_job "$job" 120 >/dev/null
t_eq "a job without --replicas records nothing" "$(cat "$out")" "0"
# (Replicated steps that run are in t21-t23, on private clusters: their
# verdicts put nodes on probation, where select/reputation no longer
# places the suite's plain jobs.)

# plugstack.conf arguments: a copy of slurm.conf pointing at another file
sed "s|^PlugStackConfig=.*|PlugStackConfig=$T_TMP/plugstack.conf|" "$SLURM_CONF" > "$T_TMP/slurm.conf"
with_stack() {	# with_stack 'ARGS' CMD...: run CMD with spank_quorate given ARGS
	echo "required $so $1" > "$T_TMP/plugstack.conf"
	shift
	(cd "$T_TMP" && SLURM_CONF=$T_TMP/slurm.conf timeout 60 "$@" 2>&1)
}
t_match "an unknown plugstack.conf argument stops sbatch, naming it" \
	"$(with_stack "server=127.0.0.1:1 bogus=1" sbatch --wrap true)" \
	"error: quorate: plugstack.conf: unknown argument 'bogus' \(keys: server, spool, max_output, timeout, wait, munge_socket\)"
t_match "a bad server= is an error" \
	"$(with_stack "server=nohost" srun true)" \
	"error: quorate: plugstack.conf: server=nohost: expected HOST:PORT"
t_match "a relative spool= is an error" \
	"$(with_stack "server=h:1 spool=spool" sbatch --wrap true)" \
	"error: quorate: plugstack.conf: spool=spool: must be an absolute path"
t_match "a duplicate argument is an error" \
	"$(with_stack "wait=5 wait=6" sbatch --wrap true)" \
	"error: quorate: plugstack.conf: argument wait given twice"
t_match "without server=, --replicas is refused" \
	"$(with_stack "spool=/tmp" sbatch --replicas=2 -N2 --wrap true)" \
	"error: quorate: --replicas needs a quorated server: no server=HOST:PORT"
out=$(with_stack "spool=/tmp max_output=4M timeout=5 wait=1m" sbatch --parsable -N1 -o /dev/null --wrap true)
t_match "without server=, a job without --replicas is submitted" "$out" '^[0-9]+$'
[[ "$out" =~ ^[0-9]+$ ]] && t_wait_job "$out" 60 >/dev/null
t_done
