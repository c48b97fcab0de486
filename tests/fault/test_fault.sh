#!/usr/bin/env bash
# Faults injected into a running rlae train (1 learner + 1 group of 2 actors
# under mpirun, and in-process): each ends the job within its timeout with the
# stated message and exit code, leaves the latest checkpoint intact and the
# shards readable, and --resume continues from there.
#   SIGTERM to launch/mpirun.sh, SIGINT in-process -> "stopped by SIG...; checkpoint saved", rc 128+signal
#   kill -9 of an actor, SIGSTOP of an actor -> "lost rank 2", rc != 0
#   kill -9 of the learner -> job ends (mpirun's report), rc != 0
#   metrics.jsonl on /dev/full, a 1 MiB tmpfs as --out -> one error naming the file, rc 1
set -u
rlae=$1; fixture=$2; python=$3
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # $here, $mpirun, $tmp, pass, bad, summary
common=(--members "$fixture/a,$fixture/b" --train-data "$fixture/train.jsonl" --batch 3 --max-new-tokens 8
        --threads 1 --agent-hidden 16 --critic-hidden 16 --dead-after-ms 3000 --heartbeat-ms 200)

# Starts a run in the background ($job: its pid) and waits until it wrote N metric lines.
start() {  # name N launcher-args...
  local name=$1 n=$2; shift 2
  "$@" train "${common[@]}" --out "$tmp/$name" --iterations 100000 --checkpoint-every "${every:-1000}" >"$tmp/$name.log" 2>&1 &
  job=$!
  for _ in $(seq 1 600); do
    [ "$(cat "$tmp/$name/metrics.jsonl" 2>/dev/null | wc -l)" -ge "$n" ] && return 0
    kill -0 $job 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
# Waits at most $2 s for $job; sets rc and secs.
finish() {
  local t0=$SECONDS
  for _ in $(seq 1 $(($2 * 5))); do kill -0 $job 2>/dev/null || break; sleep 0.2; done
  if kill -0 $job 2>/dev/null; then kill -9 $job; rc=124; else wait $job; rc=$?; fi
  secs=$((SECONDS - t0))
}
# The latest checkpoint loads and --resume continues for 2 more iterations.
resumes() {  # name launcher-args...
  local name=$1; shift
  local done_it; done_it=$(cat "$tmp/$name/metrics.jsonl" | wc -l)
  [ -f "$tmp/$name/checkpoints/latest" ] || { bad "$name: no checkpoint"; return; }
  local ck; ck=$(cat "$tmp/$name/checkpoints/latest")
  local it=$((10#$(echo "$ck" | sed 's/[^0-9]//g')))
  # A stop checkpoints where it stops; after kill -9 the iterations past the last checkpoint are lost.
  [ "$it" -ge 1 ] && { [ "$it" -eq "$done_it" ] || { [ -n "${lossy:-}" ] && [ "$it" -le "$done_it" ]; }; } \
    && pass "$name: checkpoint at iteration $it ($done_it metric lines)" \
    || bad "$name: checkpoint $ck vs $done_it metric lines"
  if timeout 120 "$@" train "${common[@]}" --out "$tmp/$name" --iterations $((it + 2)) --checkpoint-every 1000 --resume \
       >"$tmp/$name.resume.log" 2>&1 && [ "$(wc -l < "$tmp/$name/metrics.jsonl")" = $((it + 2)) ]
  then pass "$name: --resume continues to $((it + 2))"; else bad "$name: resume: $(tail -3 "$tmp/$name.resume.log")"; fi
  "$python" -c "
import glob, h5py, sys
fs = sorted(glob.glob(sys.argv[1] + '/replay/*.h5'))
assert fs, 'no shards'
for f in fs: h5py.File(f, 'r').close()
assert not glob.glob(sys.argv[1] + '/replay/*.tmp') and not glob.glob(sys.argv[1] + '/checkpoints/*.tmp*')
" "$tmp/$name" && timeout 60 "$rlae" replay inspect --run "$tmp/$name" >"$tmp/$name.inspect" 2>&1 \
    && pass "$name: shards readable (h5py, rlae replay inspect), no temporary files" \
    || bad "$name: shards: $(tail -1 "$tmp/$name.inspect" 2>/dev/null)"
}

# SIGTERM to launch/mpirun.sh (Ctrl-C or Slurm signalling the launcher): it asks every
# rank to stop with SIGUSR1 (Open MPI's mpirun forwards that at once, and SIGTERM
# only after its kill grace), the learner checkpoints, and the job ends long before
# the script's own grace (RLAE_STOP_GRACE_S=45 here; a stop that did not reach the
# ranks would run into it, past finish's 30 s).
if RLAE_STOP_GRACE_S=45 start term 2 "$mpirun" -np 3 "$rlae"; then
  kill -TERM $job; finish term 30
  [ "$rc" = 143 ] && grep -q "stopped by SIGUSR1; checkpoint saved at iteration" "$tmp/term.log" \
    && grep -q "launch/mpirun.sh: SIGTERM: asking every rank to stop" "$tmp/term.log" \
    && pass "SIGTERM to launch/mpirun.sh: rc $rc in ${secs}s" || bad "SIGTERM to launch/mpirun.sh: rc $rc in ${secs}s: $(tail -4 "$tmp/term.log")"
  [ -z "$(pgrep -f -- "--out $tmp/term ")" ] && pass "SIGTERM: no rank left" || bad "SIGTERM: ranks left"
  resumes term "$mpirun" -np 3 "$rlae"
else bad "SIGTERM: the run did not start: $(tail -3 "$tmp/term.log")"; fi

# SIGINT in-process (Ctrl-C).
if start int 2 "$rlae"; then
  kill -INT $job; finish int 60
  [ "$rc" = 130 ] && grep -q "stopped by SIGINT; checkpoint saved at iteration" "$tmp/int.log" \
    && pass "SIGINT in-process: rc $rc in ${secs}s" || bad "SIGINT in-process: rc $rc: $(tail -4 "$tmp/int.log")"
  resumes int "$rlae"
else bad "SIGINT: the run did not start: $(tail -3 "$tmp/int.log")"; fi

# The pid of rank R of the job started last (its command line holds the run's folder).
rank_pid() { mpi_rank_pids "--out $tmp/$1 " "$2"; }  # name rank

# SIGSTOP of actor rank 2: lost after --dead-after-ms, the job ends.
if start stop 2 "$mpirun" -np 3 "$rlae"; then
  p=$(rank_pid stop 2); kill -STOP "$p"; finish stop 60
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "lost rank 2" "$tmp/stop.log" \
    && pass "SIGSTOP actor: rc $rc in ${secs}s" || bad "SIGSTOP actor: rc $rc: $(tail -4 "$tmp/stop.log")"
  kill -9 "$p" 2>/dev/null
  resumes stop "$mpirun" -np 3 "$rlae"
else bad "SIGSTOP: the run did not start"; fi

# kill -9 of the learner (rank 0): mpirun ends the job.
if every=1 start kill0 2 "$mpirun" -np 3 "$rlae"; then
  p=$(rank_pid kill0 0); kill -9 "$p"; finish kill0 60
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && pass "kill -9 learner: rc $rc in ${secs}s" \
    || bad "kill -9 learner: rc $rc: $(tail -4 "$tmp/kill0.log")"
  [ -z "$(pgrep -f -- "--out $tmp/kill0 ")" ] && pass "kill -9 learner: no rank left" || bad "kill -9 learner: ranks left"
  lossy=1 resumes kill0 "$mpirun" -np 3 "$rlae"
else bad "kill -9 learner: the run did not start"; fi

# A full disk under metrics.jsonl (/dev/full: every write fails with ENOSPC), in-process
# and under mpirun: one line naming the file, exit 1, and no checkpoint: the metric line
# goes out before its iteration's checkpoint, so no checkpoint is ever without its line.
for how in inprocess mpirun; do
  mkdir -p "$tmp/full-$how" && ln -sf /dev/full "$tmp/full-$how/metrics.jsonl"
  launcher=("$rlae"); [ "$how" = mpirun ] && launcher=("$mpirun" -np 3 "$rlae")
  timeout 120 "${launcher[@]}" train "${common[@]}" --out "$tmp/full-$how" --iterations 3 --checkpoint-every 1 \
    >"$tmp/full-$how.log" 2>&1; rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "metrics.jsonl: write failed (disk full?)" "$tmp/full-$how.log" \
    && grep -q "no checkpoint of the failed iteration 1 (there is no earlier one to resume from)" "$tmp/full-$how.log" \
    && [ -z "$(ls "$tmp/full-$how/checkpoints" 2>/dev/null | grep -v '^latest$')" ] \
    && pass "metrics.jsonl on a full disk ($how): rc $rc, no checkpoint without its metric line" \
    || bad "metrics.jsonl on a full disk ($how): rc $rc: $(tail -3 "$tmp/full-$how.log")"
done

# A real disk too small for the run: a 1 MiB tmpfs as --out under mpirun, a checkpoint
# every iteration (~130 KiB with its shard), so the disk fills after a few iterations,
# in whichever write comes first. The job ends with one error naming the file, rc 1,
# the latest checkpoint loads, the shards read; with the disk grown (remount 8 MiB)
# --resume continues. Needs mount(8) rights (root); elsewhere the case says so and is skipped.
small=$tmp/small
mkdir -p "$small"
if mount -t tmpfs -o size=1m rlae-fault "$small" 2>/dev/null; then
  trap 'umount -l "$small" 2>/dev/null; rm -rf "$tmp"' EXIT  # (a SIGKILL of the test leaves it mounted)
  timeout 120 "$mpirun" -np 3 "$rlae" train "${common[@]}" --out "$small/run" --iterations 100000 --checkpoint-every 1 \
    >"$tmp/small.log" 2>&1; rc=$?
  if [ "$rc" = 1 ] && grep -qE "rlae train: rank 0 \(learner\) failed: $small/run/.*(disk full|No space left)" "$tmp/small.log" \
     && ! grep -qiE "segmentation|core dumped|H5close" "$tmp/small.log" \
     && [ -z "$(find "$small/run" -name '*.tmp*')" ]; then
    pass "1 MiB tmpfs: rc $rc, $(grep -m1 -oE "$small/run/[^:]*" "$tmp/small.log" | sed "s|$small/run/||") named"
  else bad "1 MiB tmpfs: rc $rc: $(tail -3 "$tmp/small.log")"; fi
  ck=$(cat "$small/run/checkpoints/latest" 2>/dev/null)
  [ -n "$ck" ] && "$python" -c "from safetensors.numpy import load_file; import sys; load_file(sys.argv[1])" "$small/run/checkpoints/$ck" \
    && pass "1 MiB tmpfs: latest checkpoint $ck loads" || bad "1 MiB tmpfs: latest checkpoint '$ck' does not load"
  if mount -o remount,size=8m "$small"; then
    lossy=1 resumes small/run "$mpirun" -np 3 "$rlae"
  else bad "tmpfs: remount to 8 MiB failed"; fi
  umount "$small" || umount -l "$small"
else echo "skip 1 MiB tmpfs: cannot mount a tmpfs here (not root?); the /dev/full cases above stand in"; fi
summary
