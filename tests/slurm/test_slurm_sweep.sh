#!/usr/bin/env bash
# rlae sweeps and training jobs on the real one-node Slurm that the fixture
# slurm_cluster started (SLURM_CONF set by ctest): one-rank and multi-rank
# (1 learner + 1 group of 2 actors) trials submitted with 'rlae sweep slurm
# --submit' and waited for, failing trials shown as failed, a cancelled task
# resubmitted and resumed (metrics equal to an uninterrupted run's apart from
# timings), srun without PMI refused, and cluster/rlae-train.sbatch under srun
# --mpi=pmix and under mpirun.
#   test_slurm_sweep.sh RLAE FIXTURE PYTHON REPO
set -u
rlae=$1; fixture=$2; python=$3; repo=$4
: "${SLURM_CONF:?the slurm_cluster fixture sets SLURM_CONF}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rlae-slurm.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
ok=0; fail=0
pass() { echo "ok   $1"; ok=$((ok+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }

# wait_job ID SECONDS: until the job (all its array tasks) has left the queue.
wait_job() {
  local id=$1 limit=$2 t=0
  while [ -n "$(squeue -h -j "$id" -o %i 2>/dev/null)" ]; do
    if [ "$t" -ge $((limit * 5)) ]; then
      echo "waited ${limit} s for Slurm job $id to finish; still queued:"; squeue -j "$id"; return 1
    fi
    sleep 0.2; t=$((t+1))
  done
}
# job_id OUTPUT_FILE: the N of "Submitted batch job N", which must be the last line.
job_id() { tail -n 1 "$1" | sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p'; }

common="members = $fixture/a,$fixture/b
batch = 2
max-new-tokens = 6
threads = 1
agent-hidden = 8
critic-hidden = 8
checkpoint-every = 1"

# 1. One-rank trials: 2 x 2, the two trials on missing data fail.
cat > "$tmp/grid1.ini" <<INI
$common
iterations = 3
[grid]
train-data = $fixture/train.jsonl, $tmp/no-such-dir/missing-training-data.jsonl
lr = 1e-3, 1e-2
INI
(cd "$tmp" && "$rlae" sweep plan --grid grid1.ini --out s1 > plan1.log 2>&1) || bad "plan 1: $(cat "$tmp/plan1.log")"
"$rlae" sweep slurm --sweep "$tmp/s1" --ntasks 1 --time 00:05:00 --submit > "$tmp/sub1.log" 2>&1
id=$(job_id "$tmp/sub1.log")
if [ -n "$id" ] && head -n 1 "$tmp/sub1.log" | grep -q "^rlae sweep slurm: .*4 array tasks, 1 ranks each"; then
  pass "one-rank sweep submitted (job $id), rlae's line before sbatch's"
else bad "submit 1: $(cat "$tmp/sub1.log")"; fi
[ -n "$id" ] && wait_job "$id" 120 && pass "one-rank array job $id left the queue" || bad "one-rank job $id"
"$rlae" sweep compare --sweep "$tmp/s1" --json > "$tmp/c1.json" 2>&1
if "$python" - "$tmp/c1.json" <<'PY'
import json, sys
rows = {r["trial"]: r for r in json.load(open(sys.argv[1]))}
assert [rows[t]["status"] for t in sorted(rows)] == ["finished", "finished", "failed", "failed"], rows
assert rows["trial-000"]["iterations"] == 3 and 0 <= rows["trial-000"]["accuracy"] <= 1, rows
assert "missing-training-data.jsonl" in rows["trial-002"]["error"] and rows["trial-002"]["error"].startswith("exit 1: "), rows
PY
then pass "compare: 2 finished, 2 failed with their error line"; else bad "compare 1: $(cat "$tmp/c1.json")"; fi
"$rlae" sweep compare --sweep "$tmp/s1" > "$tmp/c1.txt" 2>&1
grep -q "^finished: 2 of 4 trials" "$tmp/c1.txt" && grep -q "^not finished: 2" "$tmp/c1.txt" \
  && grep -qF "$tmp/no-such-dir/missing-training-data.jsonl  1e-2" "$tmp/c1.txt" \
  && grep -q "^trial-003 .* failed at iteration 0: exit 1: .*missing-training-data" "$tmp/c1.txt" \
  && pass "compare table: finished ranked apart, full path values, failure line" || bad "compare table: $(cat "$tmp/c1.txt")"

# 2. Multi-rank trials: 3 ranks each (learner + 2 actors) under srun --mpi=pmix.
cat > "$tmp/grid2.ini" <<INI
$common
train-data = $fixture/train.jsonl
iterations = 3
[grid]
lr = 1e-3, 1e-2
INI
(cd "$tmp" && "$rlae" sweep plan --grid grid2.ini --out s2 > plan2.log 2>&1) || bad "plan 2: $(cat "$tmp/plan2.log")"
"$rlae" sweep slurm --sweep "$tmp/s2" --ntasks 3 --time 00:05:00 --submit > "$tmp/sub2.log" 2>&1
id=$(job_id "$tmp/sub2.log")
[ -n "$id" ] && wait_job "$id" 150 && pass "multi-rank array job $id left the queue" || bad "multi-rank submit: $(cat "$tmp/sub2.log")"
for t in 000 001; do
  d=$tmp/s2/trial-$t
  if grep -q "srun --mpi=pmix" "$tmp/s2/sweep.sbatch" && grep -q "learner channel" "$d/train.log" \
     && [ "$(wc -l < "$d/metrics.jsonl")" = 3 ] && [ ! -e "$d/FAILED" ] && [ -f "$d/checkpoints/latest" ]; then
    pass "trial-$t: 3 ranks under srun --mpi=pmix, 3 metrics lines"
  else bad "trial-$t: $(tail -n 5 "$d/train.log" 2>&1)"; fi
done
"$rlae" sweep compare --sweep "$tmp/s2" | grep -q "^finished: 2 of 2" && pass "compare: both multi-rank trials finished" \
  || bad "compare 2: $("$rlae" sweep compare --sweep "$tmp/s2" 2>&1)"
"$rlae" sweep slurm --sweep "$tmp/s2" --ntasks 64 --submit > "$tmp/sub64.log" 2>&1; rc=$?
[ "$rc" = 1 ] && grep -q "at most [0-9]* CPUs: the tasks would pend for ever; pass --overcommit" "$tmp/sub64.log" \
  && ! grep -q "Submitted" "$tmp/sub64.log" && pass "more ranks than CPUs refused before sbatch" \
  || bad "--ntasks 64: exit $rc: $(cat "$tmp/sub64.log")"

# 3. A cancelled task, resubmitted, resumes; its metrics equal an uninterrupted run's apart from timings.
cat > "$tmp/grid3.ini" <<INI
$common
train-data = $fixture/train.jsonl
iterations = 150
[grid]
seed = 7
INI
(cd "$tmp" && "$rlae" sweep plan --grid grid3.ini --out s3 > plan3.log 2>&1) || bad "plan 3: $(cat "$tmp/plan3.log")"
"$rlae" sweep slurm --sweep "$tmp/s3" --ntasks 1 --submit > "$tmp/sub3.log" 2>&1
id=$(job_id "$tmp/sub3.log"); m=$tmp/s3/trial-000/metrics.jsonl; t=0
while [ "$(cat "$m" 2>/dev/null | wc -l)" -lt 10 ] && [ $t -lt 300 ]; do sleep 0.2; t=$((t+1)); done
if [ -n "$id" ] && [ $t -lt 300 ]; then
  scancel "$id"; wait_job "$id" 60
  "$rlae" sweep compare --sweep "$tmp/s3" --json > "$tmp/c3.json"
  "$python" -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; assert r["status"]=="partial" and 0<r["iterations"]<150, r' \
    "$tmp/c3.json" && pass "cancelled task shows partial ($(grep -o '"iterations": [0-9]*' "$tmp/c3.json") of 150)" \
    || bad "after scancel: $(cat "$tmp/c3.json")"
  "$rlae" sweep slurm --sweep "$tmp/s3" --ntasks 1 --submit > "$tmp/sub3b.log" 2>&1
  id=$(job_id "$tmp/sub3b.log")
  [ -n "$id" ] && wait_job "$id" 120 && grep -q "resumed" "$tmp/s3"/slurm-"$id"_0.out \
    && pass "resubmitted task resumed and finished" || bad "resubmit: $(cat "$tmp/sub3b.log"; cat "$tmp/s3"/slurm-*_0.out | tail -3)"
  # The trial's config.ini is rewritten by rlae train as it resolved it (resume = true now).
  grep -v '^resume *=' "$tmp/s3/trial-000/config.ini" > "$tmp/ref.ini"
  (cd "$tmp" && timeout 120 "$rlae" train --config ref.ini --out "$tmp/ref" > ref.log 2>&1) || bad "reference run: $(tail -3 "$tmp/ref.log")"
  if "$python" - "$m" "$tmp/ref/metrics.jsonl" <<'PY'
import json, sys
timing = {"seconds", "time", "episodes_per_s", "tokens_per_s"}
def load(p): return [{k: v for k, v in json.loads(l).items() if k not in timing} for l in open(p) if l.strip()]
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == len(b) == 150, (len(a), len(b))
for x, y in zip(a, b): assert x == y, (x, y)
PY
  then pass "resumed trial's 150 metrics lines equal the uninterrupted run's (timings aside)"
  else bad "resumed metrics differ from the uninterrupted run's"; fi
else bad "the long trial never reached 10 iterations: $(cat "$tmp/sub3.log")"; [ -n "$id" ] && scancel "$id"; fi

# 4. srun with no PMI: every rank would train alone; each says so and nothing is written.
out=$(cd "$tmp" && timeout 60 srun -n 2 --mpi=none "$rlae" train --config s2/trial-000/config.ini --out "$tmp/alone" 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q "srun started 2 tasks (SLURM_STEP_NUM_TASKS) but gave them no PMI" <<<"$out" && [ ! -e "$tmp/alone" ] \
  && pass "srun --mpi=none refused before writing anything" || bad "srun --mpi=none: exit $rc: $out"

# 5. cluster/rlae-train.sbatch: srun --mpi=pmix, and mpirun, 3 ranks.
for l in srun mpirun; do
  (cd "$tmp" && RLAE_BIN=$rlae RLAE_LAUNCHER=$l RLAE_OUT=$tmp/job-$l sbatch --ntasks=3 --output="$tmp/job-$l.out" \
     "$repo/cluster/rlae-train.sbatch" "$tmp/s2/trial-000/config.ini" --iterations 2 > "$tmp/sb-$l.log" 2>&1)
  id=$(job_id "$tmp/sb-$l.log")
  if [ -n "$id" ] && wait_job "$id" 120 && grep -q "learner channel" "$tmp/job-$l.out" \
     && [ "$(wc -l < "$tmp/job-$l/metrics.jsonl")" = 2 ] && grep -q "rlae train: done" "$tmp/job-$l.out"; then
    pass "cluster/rlae-train.sbatch under $l: 3 ranks, 2 iterations"
  else bad "rlae-train.sbatch ($l): $(cat "$tmp/sb-$l.log"; tail -n 8 "$tmp/job-$l.out" 2>&1)"; fi
done

echo "$ok passed, $fail failed"
[ "$fail" -eq 0 ]
