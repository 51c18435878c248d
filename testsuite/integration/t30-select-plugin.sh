#!/bin/bash
# select/reputation as a plugin, on the suite's shared cluster: the harness
# runs it by default; it loads without error in slurmctld, slurmd,
# slurmstepd and the commands (those of them that load a select plugin on
# this release); cons_tres works underneath (consumable cores, node info);
# both plugins export only their entry points.
. "$(dirname "$0")/lib.sh"

t_need_select
t_use_cluster || { t_fail "shared test cluster is up"; exit 1; }
so=$T_BUILD/plugins/select/.libs/select_reputation.so

conf=$(scontrol show config)
t_match "the harness runs SelectType=select/reputation" "$conf" 'SelectType +=[ ]*select/reputation'
t_match "SelectTypeParameters reach Slurm unchanged (CR_Core)" "$conf" 'SelectTypeParameters +=[ ]*CR_CORE'
t_match "PluginDir puts the build tree first" "$conf" "PluginDir +=[ ]*$T_BUILD/plugins/select/\.libs:"

# Which programs load select plugins differs by release (Slurm's sources:
# select_g_init callers, the select_jobinfo in job messages until 24.05):
# those that do must load ours; the others must load no select plugin.
release=${QUORATE_SLURM:-22.05}
case "$release" in
22.05) loaders="slurmd slurmstepd sinfo squeue scontrol srun" ;;
23.11) loaders="sinfo scontrol" ;;
*)     loaders="slurmd slurmstepd sinfo scontrol" ;;
esac
loads_select() { case " $loaders " in *" $1 "*) return 0 ;; esac; return 1; }

maps_have() {	# maps_have PID FILE...: every FILE mapped into PID
	local pid=$1 f
	shift
	for f in "$@"; do
		grep -q "$f" "/proc/$pid/maps" 2>/dev/null || return 1
	done
}
maps_no_select() {	# maps_no_select PID: no select plugin mapped, PID alive
	[ -r "/proc/$1/maps" ] && ! grep -q '/select_[a-z_]*\.so' "/proc/$1/maps"
}
ctld=$(cat "$QUORATE_CLUSTER_DIR/run/slurmctld.pid")
t_run "slurmctld has select_reputation.so and select_cons_tres.so loaded" \
	maps_have "$ctld" select_reputation.so select_cons_tres.so
bad=
for f in "$QUORATE_CLUSTER_DIR"/run/slurmd-n*.pid; do
	if loads_select slurmd; then
		maps_have "$(cat "$f")" select_reputation.so || bad="$bad $(basename "$f" .pid)"
	else
		maps_no_select "$(cat "$f")" || bad="$bad $(basename "$f" .pid)"
	fi
done
if loads_select slurmd; then
	t_eq "every slurmd has select_reputation.so loaded" "$bad" ""
else
	t_eq "no slurmd of Slurm $release loads a select plugin (nor ours)" "$bad" ""
fi

# a step's slurmstepd, while it runs
job=$(cd "$T_TMP" && sbatch --parsable -N1 -o /dev/null --wrap 'srun sleep 20')
# The controller marks the step RUNNING before slurmd has forked its
# slurmstepd; wait for the step's own task (sleep, a child of the
# stepd), by which time the stepd has finished its set-up.
step_stepd() {	# step_stepd STEP: pid of the stepd of STEP once its task runs
	local pid
	for pid in $(pgrep -x slurmstepd); do
		tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "[$1]" || continue
		pgrep -P "$pid" -x sleep >/dev/null || continue
		echo "$pid"
		return 0
	done
	return 1
}
t_wait 60 step_stepd "$job.0"
stepd=$(step_stepd "$job.0")
if loads_select slurmstepd; then
	t_run "the step's slurmstepd has select_reputation.so loaded" \
		maps_have "${stepd:-0}" select_reputation.so
else
	t_run "Slurm $release's slurmstepd loads no select plugin (nor ours)" \
		maps_no_select "${stepd:-0}"
fi
scancel "$job"

# the commands: loaded (LD_DEBUG) and silent
for cmd in "sinfo" "squeue" "scontrol show node n1" "srun -N1 true"; do
	out=$(cd "$T_TMP" && LD_DEBUG=files timeout 60 $cmd 2>&1)
	rc=$?
	if loads_select "${cmd%% *}"; then
		name="$cmd loads select_reputation.so without error"
		printf '%s\n' "$out" | grep -q 'file=.*select_reputation\.so .*dynamically loaded'
	else
		name="$cmd of Slurm $release loads no select plugin (nor ours), without error"
		! printf '%s\n' "$out" | grep -q 'file=.*/select_[a-z_]*\.so .*dynamically loaded'
	fi
	loaded=$?
	if [ $rc -eq 0 ] && [ $loaded -eq 0 ] &&
	   ! printf '%s\n' "$out" | grep -v '^ *[0-9]*:' | grep -qi 'error'; then
		t_pass "$name"
	else
		t_fail "$name" "exit status $rc" \
			"$(printf '%s\n' "$out" | grep -v '^ *[0-9]*:' | head -n 5)"
	fi
done

# cons_tres underneath: cores are consumable, node info passes through
j1=$(cd "$T_TMP" && sbatch --parsable -w n6 -n1 -o /dev/null --wrap 'sleep 30')
j2=$(cd "$T_TMP" && sbatch --parsable -w n6 -n1 -o /dev/null --wrap 'sleep 30')
t_wait 30 sh -c "[ \$(squeue -h -t R -j $j1,$j2 | wc -l) -eq 2 ]"
t_eq "two 1-CPU jobs share a 2-CPU node (consumable cores, CR_Core)" \
	"$(squeue -h -t R -j "$j1,$j2" -o %N | tr '\n' ' ')" "n6 n6 "
t_match "scontrol show node reports cons_tres's allocation" \
	"$(scontrol show node n6)" 'CPUAlloc=2 '
t_match "sinfo shows the node allocated" "$(sinfo -h -n n6 -o %t)" '^alloc$'
scancel "$j1" "$j2"

log=$QUORATE_CLUSTER_DIR/log/slurmctld.log
t_eq "slurmctld logs no error from select plugins" \
	"$(grep -iE 'error.*(select|reputation|cons_tres)|reputation.*error' "$log" | head -n 3)" ""
t_eq "no slurmd logs a select plugin error" \
	"$(cat "$QUORATE_CLUSTER_DIR"/log/slurmd-n*.log | grep -iE 'error.*(select|reputation)' | head -n 3)" ""

# exported symbols: the entry points, the slurmctld globals it defines as
# fallbacks (as cons_tres does), and nothing of quorate's helpers
exports=$(nm -D --defined-only "$so" | awk '{ print $3 }' | grep -vE '^(plugin_(name|type|id|version)|init|fini|select_p_[a-z_]+|last_(job|part|node)_update|node_record_(count|table_ptr))$')
t_eq "select_reputation.so exports only plugin_*, init, fini, select_p_* and slurmctld's globals" "$exports" ""
# every entry point of this release's cons_tres (36 on 22.05, 31 on
# 23.11 and 24.11), no more: the one after the build tree on PluginDir
cons_so=
for d in $(printf '%s\n' "$conf" | sed -n 's/^PluginDir *= *//p' | tr ':' ' '); do
	[ -f "$d/select_cons_tres.so" ] && { cons_so=$d/select_cons_tres.so; break; }
done
select_p_of() { nm -D --defined-only "$1" | awk '$3 ~ /^select_p_/ { print $3 }' | sort; }
if [ -z "$cons_so" ]; then
	t_fail "select_cons_tres.so found on PluginDir"
else
	want=$(select_p_of "$cons_so")
	t_eq "select_reputation.so forwards every select_p_* entry point of Slurm ${QUORATE_SLURM:-22.05}'s cons_tres ($(printf '%s\n' "$want" | wc -l))" \
		"$(select_p_of "$so")" "$want"
fi
exports=$(nm -D --defined-only "$T_BUILD/plugins/spank/.libs/spank_quorate.so" | awk '{ print $3 }' | grep -vE '^(plugin_[a-z_]+|slurm_spank_[a-z_]+)$')
t_eq "spank_quorate.so exports only plugin_* and slurm_spank_*" "$exports" ""
t_done
