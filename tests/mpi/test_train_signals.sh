#!/usr/bin/env bash
# SIGTERM (Slurm, mpirun) and SIGINT (Ctrl-C) stop a training run at the next safe
# point: a checkpoint of the iterations done, one line saying so, a non-zero exit,
# and --resume continues from it. In one process and under mpirun.
set -u
rlae=$1; fixture=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mpirun="$here/launch/mpirun.sh"
tmp=$(mktemp -d); trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
ok=0; fail=0; pid=
pass() { echo "ok   $1"; ok=$((ok+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
common=(--members "$fixture/a,$fixture/b" --train-data "$fixture/train.jsonl" --batch 3 --max-new-tokens 8
        --threads 1 --agent-hidden 16 --critic-hidden 16 --checkpoint-every 1000)

# run_and_stop NAME SIGNAL LAUNCH...: start, wait for 2 metric lines, send SIGNAL, wait.
run_and_stop() {
  local name=$1 sig=$2; shift 2
  local out="$tmp/$name"
  "$@" --out "$out" --iterations 500 >"$tmp/$name.log" 2>&1 &
  pid=$!
  local waited=0
  while [ "$({ wc -l < "$out/metrics.jsonl"; } 2>/dev/null || echo 0)" -lt 2 ] && [ $waited -lt 600 ]; do
    kill -0 $pid 2>/dev/null || break
    sleep 0.2; waited=$((waited + 1))
  done
  kill -"$sig" $pid
  local t0=$SECONDS rc=0
  # Ends within the timeout (waits up to 60 s, then fails).
  for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then bad "$name: still running 60 s after $sig"; kill -9 $pid; fi
  wait $pid; rc=$?
  pid=
  local line
  line=$(grep -m1 "stopped by SIG$sig" "$tmp/$name.log")
  if [ "$rc" != 0 ] && [ -n "$line" ]; then pass "$name: $sig ends the run (rc $rc, $((SECONDS - t0)) s): $line"
  else bad "$name: rc $rc; $(tail -3 "$tmp/$name.log")"; fi
  local it
  it=$(sed -n 's/.*checkpoint saved at iteration \([0-9]*\).*/\1/p' "$tmp/$name.log" | head -1)
  local ckpt
  ckpt=$(printf '%s/checkpoints/ckpt-%06d.safetensors' "$out" "${it:-0}")
  if [ -n "$it" ] && [ "$it" -ge 2 ] && [ -f "$ckpt" ] && grep -q "$(basename "$ckpt")" "$out/checkpoints/latest"; then
    pass "$name: checkpoint at iteration $it"
  else bad "$name: no checkpoint for iteration '${it}'"; fi
  # --resume continues: two more iterations, metrics without duplicates.
  "${@}" --out "$out" --iterations $((it + 2)) --resume >"$tmp/$name-resume.log" 2>&1
  local rrc=$?
  local lines
  lines=$(wc -l < "$out/metrics.jsonl")
  if [ $rrc = 0 ] && [ "$lines" = $((it + 2)) ]; then pass "$name: --resume continues to iteration $((it + 2))"
  else bad "$name: resume rc $rrc, $lines metric lines; $(tail -2 "$tmp/$name-resume.log")"; fi
}

run_and_stop inprocess TERM "$rlae" train "${common[@]}"
run_and_stop inprocess-int INT "$rlae" train "${common[@]}"
run_and_stop mpirun TERM "$mpirun" -np 3 "$rlae" train "${common[@]}"

echo "$ok passed, $fail failed"
[ $fail = 0 ]
