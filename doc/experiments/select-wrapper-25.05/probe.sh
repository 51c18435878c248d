#!/bin/bash
# probe.sh LABEL: runs checks on the current cluster (env already eval'ed)
L=$1
echo "== $L: config"; scontrol show config | grep -Ei "^(SelectType|SelectTypeParameters|GresTypes)"
echo "== $L: srun -N3 hostname"; timeout 60 srun -N3 hostname | sort | uniq -c; echo rc=${PIPESTATUS[0]}
echo "== $L: CR_Core sharing: two 1-cpu jobs pinned to n1"
a=$(sbatch --parsable -w n1 -n1 -c1 --wrap 'sleep 30'); b=$(sbatch --parsable -w n1 -n1 -c1 --wrap 'sleep 30'); sleep 3
squeue -h -o '%i %T %N %C %b' -j $a,$b
scontrol show node n1 | grep -E "CPUAlloc|AllocTRES|Gres"
echo "== $L: gres: --gres=gpu:2 on n1 while it is full of cpu jobs? use n2"
g=$(sbatch --parsable -w n2 -n1 --gres=gpu:2 --wrap 'echo CVD=$CUDA_VISIBLE_DEVICES; sleep 20'); g2=$(sbatch --parsable -w n2 -n1 --gres=gpu:1 --wrap 'sleep 5'); sleep 3
squeue -h -o '%i %T %N %r %b' -j $g,$g2
scontrol show job $g | grep -Ei "TRES|gres" ; scontrol show node n2 | grep -Ei "AllocTRES|Gres"
echo "== $L: --gres-per-task / tres-per-task"; timeout 60 srun -n2 -N1 --gpus-per-task=1 bash -c 'echo $(hostname) CVD=$CUDA_VISIBLE_DEVICES'; echo rc=$?
echo "== $L: core reservation"; scontrol create reservation reservationname=rcore users=root starttime=now duration=10 nodes=n3 corecnt=1 2>&1; scontrol show res rcore | head -3
echo "== $L: node reservation"; scontrol create reservation reservationname=rnode users=root starttime=now duration=10 nodes=n4 2>&1
timeout 60 srun --reservation=rnode -N1 hostname; echo rc=$?; squeue -h -o '%i %T %N %r'
scontrol show res | grep -E "ReservationName|Nodes="
