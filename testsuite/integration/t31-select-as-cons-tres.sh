#!/bin/bash
# With no scores and no --replicas, select/reputation places a fixed
# sequence of jobs on the same nodes as select/cons_tres: two private
# clusters of 6 nodes over 3 sites, one after the other, the same jobs.
. "$(dirname "$0")/lib.sh"
t_need_select

# The sequence: held jobs released together (one scheduling pass), then some
# cancelled and more released into the holes, then one that cannot fit.
# Prints "NAME NODELIST STATE REASON" per job.
run_sequence() {
	local -A id
	local name spec ids
	declare -a phase1=(
		"a:-n1" "b:-N2 -n2" "c:-n3" "d:-N1 -n2"
		"e:-n1 --constraint=site_c" "f:-N1 -n1 -x n1,n2,n3"
	)
	declare -a phase2=(
		"g:-N2 -n2" "h:-n1" "i:-N1 -n2 --exclusive" "j:-n2 -w n1"
	)
	declare -a phase3=( "k:-N6 -n6" "l:-n1" )
	submit_phase() {
		ids=
		for spec in "$@"; do
			name=${spec%%:*}
			id[$name]=$(cd "$T_TMP" && sbatch --parsable -H -J "$name" -o /dev/null ${spec#*:} --wrap 'sleep 600') || return 1
			ids="$ids${ids:+,}${id[$name]}"
		done
		scontrol release "$ids"
		settle
	}
	settle() {	# until squeue stays the same for 5 s (at least 2 passes)
		local last= now n=0 i
		for i in $(seq 1 60); do
			sleep 1
			now=$(squeue -h -o '%i %T %N %r' | sort)
			if [ "$now" = "$last" ]; then n=$((n + 1)); else n=0; fi
			last=$now
			[ $n -ge 5 ] && return 0
		done
	}
	submit_phase "${phase1[@]}" || return 1
	scancel "${id[b]}" "${id[d]}"
	t_wait 30 sh -c "! squeue -h -j ${id[b]},${id[d]} 2>/dev/null | grep -q ."
	submit_phase "${phase2[@]}" || return 1
	submit_phase "${phase3[@]}" || return 1
	for name in a b c d e f g h i j k l; do
		printf '%s %s\n' "$name" "$(squeue -h -j "${id[$name]}" -o '%N %T %r' 2>/dev/null || true)"
	done
	scancel --user=root
}

one_cluster() {	# one_cluster SELECT DIR: bring up, run, print, take down
	local select=$1 dir=$2 out
	# a fresh directory: no jobs, scores or ports left from an earlier run
	"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
	rm -rf "$dir"
	t_private_cluster "$dir" --nodes 6 --sites 3 --select "$select" --no-quorated || return 1
	t_use_cluster "$dir" || return 1
	out=$(run_sequence)
	"$T_TOP/scripts/cluster" down --dir "$dir" > /dev/null 2>&1
	printf '%s\n' "$out"
}

rep=$(one_cluster reputation /tmp/q-plugins-t31-rep) ||
	{ t_fail "cluster with select/reputation" "$rep"; exit 1; }
cons=$(one_cluster cons_tres /tmp/q-plugins-t31-cons) ||
	{ t_fail "cluster with select/cons_tres" "$cons"; exit 1; }
t_diag "select/reputation:" "$rep" "select/cons_tres:" "$cons"

t_eq "every job of phase 1 ran" \
	"$(printf '%s\n' "$cons" | grep -E '^[a-f] ' | grep -vc ' RUNNING ')" "2"	# b, d were cancelled
t_match "the sequence fills the cluster (k pends)" \
	"$(printf '%s\n' "$cons" | grep '^k ')" ' PENDING '
for name in a c e f g h i j k l; do
	t_eq "job $name: same nodes, state and reason under select/reputation as under select/cons_tres" \
		"$(printf '%s\n' "$rep" | grep "^$name ")" "$(printf '%s\n' "$cons" | grep "^$name ")"
done
t_done
