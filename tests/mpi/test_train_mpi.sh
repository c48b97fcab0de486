#!/usr/bin/env bash
# rlae train under mpirun: 1 learner + 1 and 2 groups of 2 actors train and
# write their outputs; a world size that does not fit is refused; killing an
# actor mid-run ends the job with a non-zero exit naming the lost rank, and the
# last checkpoint stays intact.
set -u
rlae=$1; fixture=$2; python=$3
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # $here, $mpirun, $tmp, pass, bad, summary
common=(--members "$fixture/a,$fixture/b" --train-data "$fixture/train.jsonl" --batch 3 --max-new-tokens 8
        --threads 1 --agent-hidden 16 --critic-hidden 16)

# 1 learner + 1 group.
if timeout 120 "$mpirun" -np 3 "$rlae" train "${common[@]}" --out "$tmp/g1" --iterations 3 --checkpoint-every 2 \
     >"$tmp/g1.log" 2>&1; then pass "np 3 exits 0"; else bad "np 3: $(tail -3 "$tmp/g1.log")"; fi
[ "$(wc -l < "$tmp/g1/metrics.jsonl" 2>/dev/null)" = 3 ] && pass "np 3: 3 metric lines" || bad "np 3: metrics"
[ -f "$tmp/g1/checkpoints/ckpt-000003.safetensors" ] && pass "np 3: final checkpoint" || bad "np 3: checkpoint"
[ -f "$tmp/g1/replay/shard-000002.h5" ] && pass "np 3: replay shards" || bad "np 3: replay"

# The trained policy beside fixed baselines in one table; one member alone.
if timeout 120 "$rlae" eval --models "$fixture/a,$fixture/b" --policy uniform --policy single:1 \
     --policy "rlae:$tmp/g1/checkpoints/ckpt-000003.safetensors" --data "$fixture/train.jsonl" --per-family 3 \
     --max-new-tokens 6 --threads 1 --out "$tmp/eval.json" >"$tmp/eval.log" 2>&1 \
   && "$python" -c "import json,sys; r=json.load(open(sys.argv[1])); assert len(r)==3 and all(x['overall']['problems']==6 for x in r)" "$tmp/eval.json"
then pass "eval: 3 policies in one table"; else bad "eval: $(tail -3 "$tmp/eval.log")"; fi
if timeout 60 "$rlae" eval --model "$fixture/a" --data "$fixture/train.jsonl" --per-family 2 --max-new-tokens 6 \
     --threads 1 >"$tmp/eval1.log" 2>&1 && grep -q "overall" "$tmp/eval1.log"
then pass "eval: one member"; else bad "eval one member: $(tail -3 "$tmp/eval1.log")"; fi

# 1 learner + 2 groups.
if timeout 120 "$mpirun" -np 5 "$rlae" train "${common[@]}" --out "$tmp/g2" --iterations 4 >"$tmp/g2.log" 2>&1
then pass "np 5 exits 0"; else bad "np 5: $(tail -3 "$tmp/g2.log")"; fi
[ "$(wc -l < "$tmp/g2/metrics.jsonl" 2>/dev/null)" = 4 ] && pass "np 5: 4 metric lines" || bad "np 5: metrics"

# A world size that does not fit 1 + G*K.
if timeout 60 "$mpirun" -np 4 "$rlae" train "${common[@]}" --out "$tmp/bad" --iterations 1 >"$tmp/bad.log" 2>&1
then bad "np 4 accepted"; else grep -q "do not fit" "$tmp/bad.log" && pass "np 4 refused" || bad "np 4: $(tail -2 "$tmp/bad.log")"; fi

# Errors on the learner end the whole job with their reason, never a hang:
# a bad value caught before work, and a checkpoint of other members on --resume.
if timeout 60 "$mpirun" -np 3 "$rlae" train "${common[@]}" --out "$tmp/badlr" --iterations 2 --lr -0.001 \
     >"$tmp/badlr.log" 2>&1; then bad "--lr -0.001 accepted"
else rc=$?; [ "$rc" -ne 124 ] && grep -q -- "--lr" "$tmp/badlr.log" && pass "--lr -0.001 refused (rc $rc)" \
  || bad "--lr -0.001: rc $rc $(tail -3 "$tmp/badlr.log")"; fi
if timeout 60 "$mpirun" -np 3 "$rlae" train --members "$fixture/b,$fixture/a" --train-data "$fixture/train.jsonl" \
     --batch 3 --max-new-tokens 8 --threads 1 --agent-hidden 16 --critic-hidden 16 --out "$tmp/g1" --iterations 5 \
     --resume >"$tmp/other.log" 2>&1; then bad "resume with other members accepted"
else rc=$?; [ "$rc" -ne 124 ] && grep -q "other members" "$tmp/other.log" && ! grep -q "group 0 member" "$tmp/other.log" \
    && pass "resume with other members refused before any actor started (rc $rc)" \
  || bad "resume with other members: rc $rc $(tail -3 "$tmp/other.log")"; fi

# Kill actor rank 2 once training runs.
"$mpirun" -np 3 "$rlae" train "${common[@]}" --out "$tmp/kill" --iterations 100000 --checkpoint-every 1 \
  --dead-after-ms 3000 --heartbeat-ms 200 >"$tmp/kill.log" 2>&1 &
job=$!
for _ in $(seq 1 600); do
  [ "$(cat "$tmp/kill/metrics.jsonl" 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.1
done
victim=""
for p in $(pgrep -f "rlae train" ); do
  if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=2"; then victim=$p; fi
done
if [ -n "$victim" ]; then kill -9 "$victim"; pass "killed rank 2 (pid $victim)"; else bad "no rank 2 process found"; fi
start=$(date +%s)
if timeout 90 bash -c "while kill -0 $job 2>/dev/null; do sleep 0.2; done"; then
  wait "$job"; rc=$?
  [ "$rc" -ne 0 ] && pass "job ended non-zero ($rc) after $(( $(date +%s) - start )) s" || bad "job exited 0 after a kill"
else
  bad "job still running 90 s after the kill"; kill -9 "$job" 2>/dev/null
fi
grep -Eq "rank 2" "$tmp/kill.log" && pass "the lost rank is named" || bad "no line names rank 2: $(tail -5 "$tmp/kill.log")"
ckpt="$tmp/kill/checkpoints/$(tr -d '\n' < "$tmp/kill/checkpoints/latest" 2>/dev/null)"
if "$python" -c "import sys; from safetensors.numpy import load_file; t = load_file(sys.argv[1]); assert 'agent0.l1.weight' in t" "$ckpt" 2>/dev/null
then pass "checkpoint intact ($ckpt)"; else bad "checkpoint unreadable: $ckpt"; fi
ls "$tmp/kill/checkpoints" | grep -q '\.tmp' && bad "a temporary checkpoint was left behind" || pass "no half-written checkpoint"

summary
