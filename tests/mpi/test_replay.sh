#!/usr/bin/env bash
# rlae replay on a real distributed run (1 learner + 2 groups of 2 actors under
# mpirun): inspect and export agree with what training recorded, replay train
# with the run's own settings reproduces the run's learner bit for bit, an
# override changes it, and bad runs / shards / options are one-line errors.
set -u
rlae=$1; fixture=$2; python=$3
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # $here, $mpirun, $tmp, pass, bad, summary
run=$tmp/run
if timeout 180 "$here/launch/mpirun.sh" -np 5 "$rlae" train --members "$fixture/a,$fixture/b" \
     --train-data "$fixture/train.jsonl" --batch 3 --max-new-tokens 8 --threads 1 --agent-hidden 16 \
     --critic-hidden 16 --out "$run" --iterations 6 --checkpoint-every 3 --lr 3e-3 >"$tmp/train.log" 2>&1
then pass "training run (np 5)"; else bad "training: $(tail -3 "$tmp/train.log")"; echo "$ok passed, $fail failed"; exit 1; fi

# inspect: episodes and accuracy are those of metrics.jsonl.
if timeout 60 "$rlae" replay inspect --run "$run" --windows 2 --json >"$tmp/inspect.json" 2>"$tmp/inspect.err" &&
   "$python" - "$tmp/inspect.json" "$run/metrics.jsonl" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
m = [json.loads(l) for l in open(sys.argv[2])]
assert j["shards"] == 6 and len(j["windows"]) == 2, j
assert j["episodes"] == sum(x["episodes"] for x in m), (j["episodes"], [x["episodes"] for x in m])
correct = sum(round(x["accuracy"] * x["episodes"]) for x in m)
got = sum(round(w["accuracy"] * w["episodes"]) for w in j["windows"])
assert got == correct, (got, correct)
assert j["members"] == ["a", "b"], j["members"]
for w in j["windows"]:
    for f in w["families"].values():
        assert abs(sum(f["mean_weights"]) - 1) < 1e-4, f
PY
then pass "inspect --json agrees with metrics.jsonl"; else bad "inspect: $(tail -3 "$tmp/inspect.err")"; fi
timeout 60 "$rlae" replay inspect "$run" >"$tmp/inspect.txt" 2>&1 && grep -q "iterations 0-" "$tmp/inspect.txt" \
  && pass "inspect table" || bad "inspect table: $(head -5 "$tmp/inspect.txt")"

# export: one line per episode, rewards match correctness, weights on the simplex.
if timeout 60 "$rlae" replay export --run "$run" --out "$tmp/episodes.jsonl" >"$tmp/export.log" 2>&1 &&
   "$python" - "$tmp/episodes.jsonl" "$tmp/inspect.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == json.load(open(sys.argv[2]))["episodes"], len(rows)
for r in rows:
    assert r["reward"] == (1.0 if r["correct"] else 0.0), r
    assert r["weights"] and len(r["weights"]) == len(r["values"]) == len(r["policy_version"]), r
    assert all(abs(sum(w) - 1) < 1e-4 and len(w) == 2 for w in r["weights"]), r
    assert {"iteration", "prompt_id", "task", "text"} <= set(r), r
PY
then pass "export: one line per episode"; else bad "export: $(tail -3 "$tmp/export.log")"; fi

# replay train with the run's settings = the run's learner, bit for bit.
same() { "$python" -c "
import sys; from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
sys.exit(0 if set(a) == set(b) and all((a[k] == b[k]).all() for k in a) else 1)" "$1" "$2"; }
if timeout 120 "$rlae" replay train --run "$run" --out "$tmp/re" >"$tmp/re.log" 2>&1; then
  pass "replay train exits 0"
  same "$run/checkpoints/ckpt-000006.safetensors" "$tmp/re/checkpoints/ckpt-000006.safetensors" \
    && pass "replay train reproduces the run's final learner state exactly" || bad "replayed learner differs"
  same "$run/checkpoints/ckpt-000003.safetensors" "$tmp/re/checkpoints/ckpt-000003.safetensors" \
    && pass "and its intermediate checkpoint" || bad "replayed checkpoint 3 differs"
  [ "$(wc -l < "$tmp/re/metrics.jsonl")" = 6 ] && pass "replay metrics: 6 lines" || bad "replay metrics"
else bad "replay train: $(tail -3 "$tmp/re.log")"; fi
if timeout 120 "$rlae" replay train --run "$run" --out "$tmp/re2" --lr 0.05 --passes 2 >"$tmp/re2.log" 2>&1; then
  grep -q "^lr = 0.05" "$tmp/re2/config.ini" && pass "override recorded in config.ini" || bad "config.ini lacks lr = 0.05"
  [ -f "$tmp/re2/checkpoints/ckpt-000012.safetensors" ] && pass "2 passes: 12 updates" || bad "2 passes: no ckpt-000012"
  same "$run/checkpoints/ckpt-000006.safetensors" "$tmp/re2/checkpoints/ckpt-000006.safetensors" \
    && bad "--lr 0.05 changed nothing" || pass "--lr 0.05 trains other agents"
else bad "replay train --lr: $(tail -3 "$tmp/re2.log")"; fi
timeout 60 "$rlae" eval --models "$fixture/a,$fixture/b" --policy "rlae:$tmp/re2/checkpoints/ckpt-000012.safetensors" \
  --data "$fixture/train.jsonl" --per-family 1 --max-new-tokens 4 --threads 1 >"$tmp/eval.log" 2>&1 \
  && pass "a replay-trained checkpoint evaluates" || bad "eval of replay checkpoint: $(tail -2 "$tmp/eval.log")"

# Bad input: one line, non-zero, naming what is wrong.
expect() { # expect NAME RC TEXT CMD...
  local name=$1 want=$2 text=$3; shift 3
  local out; out=$("$@" 2>&1); local rc=$?
  if [ "$rc" = "$want" ] && grep -qF -- "$text" <<<"$out" && [ "$(wc -l <<<"$out")" = 1 ]; then pass "$name"
  else bad "$name: exit $rc (want $want), output: $out"; fi
}
expect "no such run" 1 "$tmp/none/replay" "$rlae" replay inspect --run "$tmp/none"
expect "out = run" 2 "--out" "$rlae" replay train --run "$run" --out "$run"
expect "other algorithm" 1 "ppo" "$rlae" replay train --run "$run" --out "$tmp/x" --algo ppo
expect "export needs --out" 2 "--out" "$rlae" replay export --run "$run"
expect "unknown subcommand" 2 "inspect" "$rlae" replay frobnicate
cp -r "$run" "$tmp/broken"
head -c 700 "$run/replay/shard-000001.h5" > "$tmp/broken/replay/shard-000001.h5"
expect "truncated shard named" 1 "shard-000001.h5" "$rlae" replay inspect --run "$tmp/broken"
expect "truncated shard stops replay train" 1 "shard-000001.h5" "$rlae" replay train --run "$tmp/broken" --out "$tmp/y"

# A shard edited with h5py no longer matches its frame (size + CRC-32) and is
# refused naming the fix; `rlae replay seal` adopts it, and the edit is what reads
# back. A shard h5py wrote from scratch (no frame) is refused, then sealed too.
cp -r "$run" "$tmp/edited"
cp -r "$run" "$tmp/made"
if "$python" - "$tmp/edited/replay" "$tmp/made/replay" <<'PY'
import sys, h5py
import numpy as np
with h5py.File(f"{sys.argv[1]}/shard-000002.h5", "r+") as f:
    f["steps/rewards"][...] = 0.25
path = f"{sys.argv[2]}/shard-000003.h5"
with h5py.File(path, "r") as src:
    attrs = dict(src.attrs)
    data = {f"{g}/{n}": (ds[()], ds.chunks, ds.shuffle) for g in ("steps", "episodes") for n, ds in src[g].items()}
with h5py.File(path, "w") as dst:
    dst.attrs.update(attrs)
    for name, (v, chunks, shuffle) in data.items():
        if v.dtype.kind == "O":  # variable-length strings, UTF-8 as rlae writes them (bytes kept exact)
            v = np.array(list(v), dtype=h5py.string_dtype("utf-8"))
        dst.create_dataset(name, data=v, chunks=chunks, compression="gzip", shuffle=shuffle)
PY
then
  expect "h5py-edited shard refused" 1 "changed after rlae wrote it" "$rlae" replay inspect --run "$tmp/edited"
  expect "refusal names the fix" 1 "rlae replay seal" "$rlae" replay inspect --run "$tmp/edited"
  expect "h5py-made shard refused" 1 "without rlae's frame" "$rlae" replay export --run "$tmp/made" --out "$tmp/m.jsonl"
  if timeout 60 "$rlae" replay seal "$tmp/edited/replay/shard-000002.h5" "$tmp/made/replay/shard-000003.h5" >"$tmp/seal.log" 2>&1 &&
     timeout 60 "$rlae" replay export --run "$tmp/edited" --out "$tmp/edited.jsonl" >"$tmp/edited.log" 2>&1 &&
     timeout 60 "$rlae" replay export --run "$tmp/made" --out "$tmp/made.jsonl" >>"$tmp/edited.log" 2>&1 &&
     cmp -s "$tmp/made.jsonl" "$tmp/episodes.jsonl" &&
     "$python" - "$tmp/edited.jsonl" "$tmp/episodes.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
orig = [json.loads(l) for l in open(sys.argv[2])]
two = [r for r in rows if r["iteration"] == 2]  # shard-000002.h5 holds iteration 2
assert two and all(abs(r["reward"] - 0.25 * len(r["weights"])) < 1e-6 for r in two), two[:1]
assert [r for r in rows if r["iteration"] != 2] == [r for r in orig if r["iteration"] != 2]
PY
  then pass "seal adopts the edited and the h5py-made shard; the edit reads back, the copy reads as the original"
  else bad "seal: $(tail -2 "$tmp/seal.log") $(tail -2 "$tmp/edited.log")"; fi
  # seal checks the batch: a shard whose rewards lost a row is refused and left as it was.
  "$python" -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r+') as f:
    r = f['steps/rewards'][()]; del f['steps/rewards']; f['steps'].create_dataset('rewards', data=r[:-1], chunks=True, compression='gzip')
" "$tmp/edited/replay/shard-000004.h5"
  cp "$tmp/edited/replay/shard-000004.h5" "$tmp/before-seal.h5"
  expect "seal refuses a shard that is not a batch" 1 "shard-000004.h5" "$rlae" replay seal "$tmp/edited/replay/shard-000004.h5"
  cmp -s "$tmp/before-seal.h5" "$tmp/edited/replay/shard-000004.h5" && pass "and leaves it as it was" || bad "seal changed a refused file"
else bad "h5py could not edit the shards"; fi
expect "seal without files" 2 "FILE" "$rlae" replay seal

summary
