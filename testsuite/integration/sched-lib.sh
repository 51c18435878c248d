# sched-lib.sh - what the placement tests (t32, t33, t35) do to the
# 6-node private cluster they share the shape of: write a node's score
# into its Extra, submit, ask where a job runs and whether it runs, and
# clear the cluster between scenarios.  Sourced after lib.sh and
# t_use_cluster.

score() { scontrol update nodename="$1" extra="$2"; }
submit() { (cd "$T_TMP" && sbatch --parsable -o /dev/null "$@"); }
nodes_of() { scontrol show hostnames "$(squeue -h -j "$1" -o %N)" | tr '\n' ' '; }
reason_of() { squeue -h -j "$1" -o %r; }
running() { [ "$(squeue -h -j "$1" -o %T)" = RUNNING ]; }
pending_with() { reason_of "$1" | grep -q "$2"; }
all_idle() { [ "$(sinfo -h -t idle -o %D)" = 6 ]; }
# cancel every job (a user's too) and wait until all 6 nodes are idle
clean() {
	scancel --user=root
	scancel --user=quorate-test 2>/dev/null
	t_wait 30 sh -c '! squeue -h | grep -q .'
	t_wait 30 all_idle
}
