#!/usr/bin/env bash
# rlae sweep end to end on the train fixture: plan a 2 x 2 grid (one trial of a
# third axis value fails on purpose), run the trials here (one of them under
# mpirun), compare, re-run (finished trials are skipped), and run a trial through
# the generated Slurm array script the way Slurm would (SLURM_ARRAY_TASK_ID set).
set -u
rlae=$1; fixture=$2; python=$3
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # $here, $mpirun, $tmp, pass, bad, summary
expect() { # expect NAME RC TEXT CMD...: exit RC, one line of output containing TEXT
  local name=$1 want=$2 text=$3; shift 3
  local out; out=$("$@" 2>&1); local rc=$?
  if [ "$rc" = "$want" ] && grep -qF -- "$text" <<<"$out" && [ "$(wc -l <<<"$out")" = 1 ]; then pass "$name"
  else bad "$name: exit $rc (want $want), output: $out"; fi
}
cat > "$tmp/grid.ini" <<INI
# tiny trials on the fixture members
members = $fixture/a,$fixture/b
batch = 2
max-new-tokens = 6
threads = 1
agent-hidden = 8
critic-hidden = 8
iterations = 2
checkpoint-every = 1
[grid]
train-data = $fixture/train.jsonl, $tmp/missing.jsonl
lr = 1e-3, 1e-2
INI
sweep=$tmp/sweep
if "$rlae" sweep plan --grid "$tmp/grid.ini" --out "$sweep" >"$tmp/plan.log" 2>&1 \
   && [ "$(ls -d "$sweep"/trial-* | wc -l)" = 4 ] && grep -q "^lr = 1e-2$" "$sweep/trial-001/config.ini" \
   && grep -q "^out = $sweep/trial-003$" "$sweep/trial-003/config.ini"
then pass "plan: 4 trial configs"; else bad "plan: $(cat "$tmp/plan.log")"; fi
"$rlae" sweep plan --grid "$tmp/grid.ini" --out "$sweep" >/dev/null 2>&1 && pass "plan again: same sweep accepted" \
  || bad "re-planning the same grid refused"
sed 's/^lr = .*/lr = 5e-3, 1e-2/' "$tmp/grid.ini" > "$tmp/grid2.ini"
expect "another grid into the same directory" 1 "already holds another sweep" \
  "$rlae" sweep plan --grid "$tmp/grid2.ini" --out "$sweep"
sed 's/^batch = 2/bacth = 2/' "$tmp/grid.ini" > "$tmp/typo.ini"
expect "unknown option in a grid" 2 "bacth" "$rlae" sweep plan --grid "$tmp/typo.ini" --out "$tmp/typo"
[ -e "$tmp/typo" ] && bad "a refused plan wrote files" || pass "a refused plan writes nothing"
printf '[grid]\nlr = 1,,2\n' > "$tmp/empty.ini"
expect "malformed grid names file:line" 1 "empty.ini:2" "$rlae" sweep plan --grid "$tmp/empty.ini" --out "$tmp/e"

# Run: trial-000 under mpirun (1 learner + 1 group of 2), the rest in-process;
# trials 002/003 lack their data and fail, the others still train.
timeout 300 "$rlae" sweep run --sweep "$sweep" --np 3 --only trial-000 >"$tmp/run0.log" 2>&1 \
  && pass "trial-000 under mpirun -np 3" || bad "trial-000: $(tail -3 "$tmp/run0.log"; tail -3 "$sweep/trial-000/train.log")"
timeout 300 "$rlae" sweep run --sweep "$sweep" >"$tmp/run.log" 2>&1; rc=$?
[ "$rc" = 1 ] && grep -q "2 of 3 trials failed, first trial-002" "$tmp/run.log" \
  && pass "run: failing trials reported, exit 1" || bad "run: exit $rc: $(tail -3 "$tmp/run.log")"
grep -q "trial-000: done already" "$tmp/run.log" && pass "finished trial skipped" || bad "trial-000 retrained"
grep -q "missing.jsonl" "$sweep/trial-002/train.log" && pass "the failure is in the trial's train.log" \
  || bad "trial-002/train.log: $(cat "$sweep/trial-002/train.log")"
"$rlae" sweep compare --sweep "$sweep" --json > "$tmp/compare.json" 2>&1
if "$python" - "$tmp/compare.json" <<'PY'
import json, sys
rows = {r["trial"]: r for r in json.load(open(sys.argv[1]))}
assert [rows[t]["status"] for t in sorted(rows)] == ["finished", "finished", "failed", "failed"], rows
assert rows["trial-001"]["point"]["lr"] == "1e-2" and rows["trial-001"]["iterations"] == 2, rows
assert 0 <= rows["trial-000"]["accuracy"] <= 1 and rows["trial-002"]["accuracy"] is None, rows
PY
then pass "compare: statuses, points, accuracy"; else bad "compare: $(cat "$tmp/compare.json")"; fi
"$rlae" sweep compare --sweep "$sweep" > "$tmp/compare.txt" 2>&1 && grep -q "trial-001 .*1e-2 .*2/2" "$tmp/compare.txt" \
  && pass "compare table" || bad "compare table: $(cat "$tmp/compare.txt")"
before=$(stat -c %Y "$sweep/trial-001/checkpoints/ckpt-000002.safetensors")
timeout 120 "$rlae" sweep run --sweep "$sweep" --only trial-000,trial-001 >"$tmp/rerun.log" 2>&1 \
  && [ "$(stat -c %Y "$sweep/trial-001/checkpoints/ckpt-000002.safetensors")" = "$before" ] \
  && pass "re-run: nothing to do" || bad "re-run: $(cat "$tmp/rerun.log")"

# Slurm: the array script, run as Slurm would run task 1.
"$rlae" sweep slurm --sweep "$sweep" --ntasks 1 >"$tmp/slurm.log" 2>&1 && bash -n "$sweep/sweep.sbatch" \
  && grep -q "^#SBATCH --array=0-3$" "$sweep/sweep.sbatch" && pass "sweep.sbatch: a 4-task array" \
  || bad "slurm: $(cat "$tmp/slurm.log")"
rm -rf "$sweep/trial-001/checkpoints" "$sweep/trial-001/metrics.jsonl"
(cd / && SLURM_ARRAY_TASK_ID=1 timeout 120 bash "$sweep/sweep.sbatch") >"$tmp/task1.log" 2>&1 \
  && [ -f "$sweep/trial-001/checkpoints/ckpt-000002.safetensors" ] && pass "array task 1 trains trial-001" \
  || bad "array task 1: $(tail -3 "$tmp/task1.log")"
if ! command -v sbatch >/dev/null 2>&1; then
  expect "--submit without Slurm" 1 "sbatch not found" env PATH=/usr/bin:/bin "$rlae" sweep slurm --sweep "$sweep" --submit
fi
expect "no sweep here" 1 "sweep.json: missing" "$rlae" sweep compare --sweep "$tmp"
expect "unknown subcommand" 2 "plan" "$rlae" sweep frobnicate

summary
