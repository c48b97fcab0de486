#!/usr/bin/env bash
# mpirun with the settings rlae needs on any machine: allowed as root, oversubscribed
# when there are more ranks than cores (one LibTorch thread per rank then).
#   launch/mpirun.sh -np 4 build/rlae train --config experiments/quickstart.ini
# Multi-node: add --hostfile FILE (see cluster/ for Slurm).
#
# Stopping. Open MPI 4.1's mpirun answers SIGTERM / SIGINT by ending the job its own
# way: SIGCONT, then SIGTERM odls_base_sigkill_timeout seconds later (default 1 s),
# then SIGKILL as long again, whether or not the ranks have exited; and it refuses to
# forward SIGTERM as it is. So this script runs mpirun in a session of its own (a
# Ctrl-C reaches this script, not mpirun) and turns the first SIGTERM / SIGINT into
# SIGUSR1, which mpirun forwards to every rank at once; rlae's ranks take SIGUSR1 as a
# stop request (the learner finishes the iteration's shard, writes a checkpoint, says
# so; the actors leave). mpirun ends when the ranks have. Should the job still run
# RLAE_STOP_GRACE_S seconds later (default 60), or at a second signal, mpirun gets
# SIGTERM and ends it as above. Exit status: 128 + the signal received, mpirun's own
# otherwise.
set -euo pipefail
args=()
if [ "$(id -u)" = 0 ]; then args+=(--allow-run-as-root); fi
grace=${RLAE_STOP_GRACE_S:-60}
case $grace in
  '' | *[!0-9]*) echo "launch/mpirun.sh: RLAE_STOP_GRACE_S must be a whole number of seconds, got '$grace'" >&2; exit 2 ;;
esac

stopped=0   # the first signal's number
deadline=0  # when mpirun gets SIGTERM after a stop (SECONDS)
on_signal() {  # signo name
  if [ "$stopped" = 0 ]; then
    stopped=$1
    deadline=$((SECONDS + grace))
    echo "launch/mpirun.sh: $2: asking every rank to stop (SIGUSR1); the job is ended in ${grace} s if still running" >&2
    kill -USR1 "$pid" 2>/dev/null || true
  else
    echo "launch/mpirun.sh: $2 again: ending the job now" >&2
    kill -TERM "$pid" 2>/dev/null || true
  fi
}
setsid mpirun "${args[@]}" --oversubscribe -x OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" "$@" &
pid=$!
trap 'on_signal 15 SIGTERM' TERM
trap 'on_signal 2 SIGINT' INT
# `wait` returns early when a trapped signal arrives: wait again until mpirun is gone.
set +e
while kill -0 "$pid" 2>/dev/null; do
  if [ "$stopped" = 0 ]; then
    wait "$pid"
  else
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "launch/mpirun.sh: the job still runs ${grace} s after the stop request: ending it (RLAE_STOP_GRACE_S)" >&2
      kill -TERM "$pid" 2>/dev/null
      deadline=$((SECONDS + 3600))
    fi
    sleep 0.2
  fi
done
wait "$pid"  # mpirun's status (bash keeps it for a child it has reaped)
rc=$?
if [ "$stopped" != 0 ] && [ "$rc" != 0 ]; then exit $((128 + stopped)); fi
exit "$rc"
