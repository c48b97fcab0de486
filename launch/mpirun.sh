#!/usr/bin/env bash
# mpirun with the settings rlae needs on any machine: allowed as root, oversubscribed
# when there are more ranks than cores (one LibTorch thread per rank then).
#   launch/mpirun.sh -np 4 build/rlae train --config experiments/quickstart.ini
# Multi-node: add --hostfile FILE (see cluster/ for Slurm).
set -euo pipefail
args=()
if [ "$(id -u)" = 0 ]; then args+=(--allow-run-as-root); fi
# On SIGTERM/SIGINT mpirun forwards the signal to the ranks and kills them
# odls_base_sigkill_timeout seconds later (Open MPI's default: 1 s). RLAE_KILL_GRACE_S
# sets another grace. (A longer default is not safe yet: after a stop, ranks can stay
# in a collective and then the job would wait out the whole grace.)
if [ -n "${RLAE_KILL_GRACE_S:-}" ]; then args+=(--mca odls_base_sigkill_timeout "$RLAE_KILL_GRACE_S"); fi
exec mpirun "${args[@]}" --oversubscribe -x OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" "$@"
