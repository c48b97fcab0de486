#!/usr/bin/env bash
# Exact resume under mpirun (issue 17): a distributed run (1 learner + 1 group of
# 2 actors) stopped part-way and continued with --resume writes the same
# checkpoints (every tensor bit for bit, and the same metadata), the same
# metrics.jsonl (apart from timings; no iteration twice) and the same replay
# shards as an uninterrupted run of the same iterations:
#   - stopped by SIGTERM to mpirun (checkpoint at the iteration where it stops);
#   - killed with kill -9 of the learner (the iterations past the last periodic
#     checkpoint are lost, cut from metrics.jsonl and decoded again).
# --max-policy-lag 0: each iteration acts with the newest policy, the
# deterministic mode (with a lag > 0 which version an actor decodes with depends
# on timing, so not even two uninterrupted runs are equal).
set -u
rlae=$1; fixture=$2; python=$3
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # $here, $mpirun, $tmp, pass, bad, summary
# 24 iterations of ~15 ms: the polling below must catch a run between iteration 3
# and its end; with 8 a loaded CI machine once ran past the end between two polls.
iters=24
common=(--members "$fixture/a,$fixture/b" --train-data "$fixture/train.jsonl" --batch 3 --max-new-tokens 8
        --threads 1 --agent-hidden 16 --critic-hidden 16 --max-policy-lag 0 --lr 1e-2
        --iterations $iters --checkpoint-every 2 --dead-after-ms 3000 --heartbeat-ms 200)

# Compares run directories: checkpoints present in both (the final one required),
# their tensors and metadata; metrics without timings; every shard's datasets and
# attributes.
same_runs() {
  "$python" - "$1" "$2" "$iters" <<'PY'
import glob, json, os, sys
import numpy as np, h5py
from safetensors import safe_open
a, b, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
def ckpts(d): return {os.path.basename(p) for p in glob.glob(d + "/checkpoints/ckpt-*.safetensors")}
common = sorted(ckpts(a) & ckpts(b))
final = [c for c in common if int("".join(ch for ch in c if ch.isdigit())) == iters]
assert final, f"no checkpoint of iteration {iters} in both: {sorted(ckpts(a))} / {sorted(ckpts(b))}"
hashes = {}
for name in common:
    with safe_open(f"{a}/checkpoints/{name}", "np") as fa, safe_open(f"{b}/checkpoints/{name}", "np") as fb:
        # config_hash covers --out (another folder here): compared within each run below.
        ma_, mb_ = dict(fa.metadata()), dict(fb.metadata())
        hashes.setdefault(a, set()).add(ma_.pop("config_hash")); hashes.setdefault(b, set()).add(mb_.pop("config_hash"))
        assert ma_ == mb_, f"{name}: metadata {ma_} vs {mb_}"
        assert set(fa.keys()) == set(fb.keys()), name
        for k in fa.keys():
            x, y = fa.get_tensor(k), fb.get_tensor(k)
            assert x.dtype == y.dtype and np.array_equal(x, y), f"{name}:{k} differs by {np.max(np.abs(x - y))}"
timing = {"seconds", "episodes_per_s", "tokens_per_s", "time"}
def metrics(d):
    return [{k: v for k, v in json.loads(l).items() if k not in timing} for l in open(d + "/metrics.jsonl")]
ma, mb = metrics(a), metrics(b)
assert [m["iteration"] for m in ma] == list(range(1, iters + 1)), [m["iteration"] for m in ma]
for x, y in zip(ma, mb):
    assert x == y, f"iteration {x['iteration']}: {x} vs {y}"
assert len(ma) == len(mb), (len(ma), len(mb))
shards = sorted(os.path.basename(p) for p in glob.glob(a + "/replay/shard-*.h5"))
assert len(shards) == iters and shards == sorted(os.path.basename(p) for p in glob.glob(b + "/replay/shard-*.h5"))
for s in shards:
    with h5py.File(f"{a}/replay/{s}") as fa, h5py.File(f"{b}/replay/{s}") as fb:
        aa, ab = dict(fa.attrs), dict(fb.attrs)
        for k in ("config_hash", "run_id"): aa.pop(k); ab.pop(k)  # the run's folder
        assert aa == ab, f"{s}: attributes {aa} vs {ab}"
        hashes[b].add(fb.attrs["config_hash"].decode() if isinstance(fb.attrs["config_hash"], bytes) else str(fb.attrs["config_hash"]))
        def walk(g, path=""):
            for k, v in g.items():
                if isinstance(v, h5py.Dataset): yield path + k, v[()]
                else: yield from walk(v, path + k + "/")
        da, db = dict(walk(fa)), dict(walk(fb))
        assert da.keys() == db.keys(), s
        for k in da: assert np.array_equal(np.asarray(da[k]), np.asarray(db[k])), f"{s}:{k} differs"
# The resumed run keeps one config_hash before and after --resume (checkpoints and shards).
assert len(hashes[b]) == 1, f"config_hash changed across the resume: {hashes[b]}"
print(f"{len(common)} common checkpoints identical ({', '.join(common)}), {len(ma)} metric lines, {len(shards)} shards")
PY
}

# Waits until run NAME wrote N metric lines (its job: $job), polling every 10 ms,
# then stops its ranks (SIGSTOP) so that the interruption lands before the end:
# an iteration of the fixture takes ~15 ms. thaw NAME continues them; a signal
# sent meanwhile is delivered when they continue.
wait_lines() {  # name n
  for _ in $(seq 1 18000); do
    if [ "$(cat "$tmp/$1/metrics.jsonl" 2>/dev/null | wc -l)" -ge "$2" ]; then
      kill -STOP $(rank_pids "$1") 2>/dev/null
      [ "$(wc -l < "$tmp/$1/metrics.jsonl")" -lt $iters ] && return 0
      echo "(run $1 reached the last iteration before it could be stopped)"; thaw "$1"; return 1
    fi
    kill -0 $job 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}
# name [rank]: the MPI ranks (not mpirun) of the job writing to $tmp/NAME, or that one rank
rank_pids() { mpi_rank_pids "--out $tmp/$1\$" "${2:-}"; }
thaw() { kill -CONT $(rank_pids "$1") 2>/dev/null; }
# Waits at most 60 s for $job; sets rc.
wait_job() {
  for _ in $(seq 1 300); do kill -0 $job 2>/dev/null || break; sleep 0.2; done
  if kill -0 $job 2>/dev/null; then kill -9 $job; rc=124; else wait $job; rc=$?; fi
}
learner_pid() { rank_pids "$1" 0; }  # name: rank 0 of the job writing to $tmp/NAME
resume() {  # name: --resume to the end
  if timeout 240 "$mpirun" -np 3 "$rlae" train "${common[@]}" --seed ${seed:-11} --resume --out "$tmp/$1" >"$tmp/$1.resume.log" 2>&1
  then pass "$1: --resume ran to iteration $iters ($(grep -o 'resuming from [^ ]* at iteration [0-9]*' "$tmp/$1.resume.log" | sed 's|.*/||'))"
  else bad "$1: --resume: $(tail -3 "$tmp/$1.resume.log")"; fi
}

if timeout 240 "$mpirun" -np 3 "$rlae" train "${common[@]}" --seed ${seed:-11} --out "$tmp/whole" >"$tmp/whole.log" 2>&1
then pass "uninterrupted mpirun -np 3 run of $iters iterations"
else bad "uninterrupted run: $(tail -3 "$tmp/whole.log")"; summary; fi

# SIGTERM to mpirun after 3 iterations: a checkpoint where it stops (3 or 4), then --resume.
"$mpirun" -np 3 "$rlae" train "${common[@]}" --seed ${seed:-11} --out "$tmp/term" >"$tmp/term.log" 2>&1 &
job=$!
if wait_lines term 3; then
  # as Slurm does on scancel / time limit: every task gets the signal, and mpirun
  kill -TERM $(rank_pids term) $job; sleep 0.2; thaw term; wait_job
  stopped=$(grep -o 'checkpoint saved at iteration [0-9]*' "$tmp/term.log" | grep -o '[0-9]*$')
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ -n "$stopped" ] && [ "$stopped" -lt $iters ] \
    && pass "SIGTERM: stopped at iteration $stopped (rc $rc)" || bad "SIGTERM: rc $rc: $(tail -25 "$tmp/term.log")"
  resume term
  if out=$(same_runs "$tmp/whole" "$tmp/term" 2>&1); then pass "SIGTERM + --resume = uninterrupted: $out"
  else bad "SIGTERM + --resume vs uninterrupted: $out"; fi
else bad "SIGTERM run did not reach 3 iterations: $(tail -3 "$tmp/term.log")"; fi

# kill -9 of the learner after 3 iterations: the last checkpoint is iteration 2;
# iteration 3's metrics line is cut and iteration 3 decoded again.
"$mpirun" -np 3 "$rlae" train "${common[@]}" --seed ${seed:-11} --out "$tmp/kill" >"$tmp/kill.log" 2>&1 &
job=$!
if wait_lines kill 3; then
  p=$(learner_pid kill)
  if [ -n "$p" ]; then kill -9 "$p"; fi
  thaw kill; wait_job
  lines=$(wc -l < "$tmp/kill/metrics.jsonl")
  [ -n "$p" ] && [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$lines" -ge 3 ] && [ "$lines" -lt $iters ] \
    && pass "kill -9 learner at $lines metric lines (rc $rc; last checkpoint $(cat "$tmp/kill/checkpoints/latest"))" \
    || bad "kill -9 learner: pid '${p}', rc $rc, $lines lines: $(tail -3 "$tmp/kill.log")"
  resume kill
  if out=$(same_runs "$tmp/whole" "$tmp/kill" 2>&1); then pass "kill -9 + --resume = uninterrupted: $out"
  else bad "kill -9 + --resume vs uninterrupted: $out"; fi
else bad "kill -9 run did not reach 3 iterations: $(tail -3 "$tmp/kill.log")"; fi

# The comparison can fail: another seed is not the same run.
if seed=12; timeout 240 "$mpirun" -np 3 "$rlae" train "${common[@]}" --seed ${seed:-11} --out "$tmp/other" >"$tmp/other.log" 2>&1 \
   && ! same_runs "$tmp/whole" "$tmp/other" >/dev/null 2>&1
then pass "a run with another seed differs"; else bad "another seed: not told apart (or failed: $(tail -2 "$tmp/other.log"))"; fi
summary
