#!/usr/bin/env bash
# mpirun with the settings rlae needs on any machine: allowed as root, oversubscribed
# when there are more ranks than cores (one LibTorch thread per rank then).
#   launch/mpirun.sh -np 4 build/rlae train --config experiments/quickstart.ini
# Multi-node: add --hostfile FILE (see cluster/ for Slurm).
set -euo pipefail
args=()
if [ "$(id -u)" = 0 ]; then args+=(--allow-run-as-root); fi
exec mpirun "${args[@]}" --oversubscribe -x OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" "$@"
