#!/usr/bin/env bash
# One training loop at every scale: `rlae train` in one process and under
# mpirun (1 learner + 1 group of K=2 actors; 1 learner + 2 groups against an
# in-process run with --groups 2, which decodes the same prompts one group after
# the other) with the same seed and --max-policy-lag 0 write the same
# checkpoints (max |diff| 0: every tensor bit for bit), the same metrics apart
# from timings, and the same replay shards; also with --agent-obs group.
set -u
rlae=$1; fixture=$2; python=$3
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # $here, $mpirun, $tmp, pass, bad, summary
common=(--members "$fixture/a,$fixture/b" --train-data "$fixture/train.jsonl" --batch 4 --max-new-tokens 10
        --threads 1 --agent-hidden 16 --critic-hidden 16 --iterations 4 --checkpoint-every 2 --seed 7
        --max-policy-lag 0 --lr 1e-2)

# Compares two run directories: checkpoints, metrics without timings, shards.
same_runs() {
  "$python" - "$1" "$2" <<'PY'
import glob, json, os, sys
import numpy as np
from safetensors.numpy import load_file
a, b = sys.argv[1], sys.argv[2]
def ckpts(d): return sorted(os.path.basename(p) for p in glob.glob(d + "/checkpoints/ckpt-*.safetensors"))
assert ckpts(a) == ckpts(b) and ckpts(a), (ckpts(a), ckpts(b))
worst = 0.0
for name in ckpts(a):
    ta, tb = load_file(f"{a}/checkpoints/{name}"), load_file(f"{b}/checkpoints/{name}")
    assert ta.keys() == tb.keys(), name
    for k in ta:
        d = float(np.max(np.abs(ta[k].astype(np.float64) - tb[k].astype(np.float64)))) if ta[k].size else 0.0
        worst = max(worst, d)
        assert np.array_equal(ta[k], tb[k]), f"{name}:{k} differs by {d}"
timing = {"seconds", "episodes_per_s", "tokens_per_s", "time"}
def metrics(d):
    return [{k: v for k, v in json.loads(l).items() if k not in timing} for l in open(d + "/metrics.jsonl")]
ma, mb = metrics(a), metrics(b)
assert len(ma) == 4 and ma == mb, f"metrics differ:\n{ma}\n{mb}"
assert all("time" in json.loads(l) for l in open(a + "/metrics.jsonl")), "no time breakdown"
import h5py
shards = sorted(os.path.basename(p) for p in glob.glob(a + "/replay/shard-*.h5"))
assert len(shards) == 4 and shards == sorted(os.path.basename(p) for p in glob.glob(b + "/replay/shard-*.h5"))
for s in shards:
    with h5py.File(f"{a}/replay/{s}") as fa, h5py.File(f"{b}/replay/{s}") as fb:
        def walk(g, path=""):
            for k, v in g.items():
                if isinstance(v, h5py.Dataset): yield path + k, v[()]
                else: yield from walk(v, path + k + "/")
        da, db = dict(walk(fa)), dict(walk(fb))
        assert da.keys() == db.keys(), s
        for k in da: assert np.array_equal(np.asarray(da[k]), np.asarray(db[k])), f"{s}:{k} differs"
print(f"{len(ckpts(a))} checkpoints identical (max |diff| {worst}), {len(ma)} metric lines, {len(shards)} shards")
PY
}

run() {  # NAME LOG ARGS...
  local name=$1 log=$2; shift 2
  if timeout 240 "$@" >"$log" 2>&1; then pass "$name exits 0"; else bad "$name: $(tail -3 "$log")"; fi
}
run "in-process" "$tmp/one.log" "$rlae" train "${common[@]}" --out "$tmp/one"
run "mpirun -np 3" "$tmp/np3.log" "$mpirun" -np 3 "$rlae" train "${common[@]}" --out "$tmp/np3"
if out=$(same_runs "$tmp/one" "$tmp/np3" 2>&1); then pass "np 3 = in-process: $out"; else bad "np 3 vs in-process: $out"; fi

run "in-process --groups 2" "$tmp/two.log" "$rlae" train "${common[@]}" --groups 2 --out "$tmp/two"
run "mpirun -np 5" "$tmp/np5.log" "$mpirun" -np 5 "$rlae" train "${common[@]}" --out "$tmp/np5"
if out=$(same_runs "$tmp/two" "$tmp/np5" 2>&1); then pass "np 5 = in-process --groups 2: $out"; else bad "np 5 vs --groups 2: $out"; fi
# The two-group run is not the one-group run (the test can tell runs apart).
if same_runs "$tmp/one" "$tmp/two" >/dev/null 2>&1; then bad "--groups 2 equals --groups 1"; else pass "--groups 2 differs from 1 group"; fi

# --agent-obs group (every MAPPO agent observes the whole group): the actors build
# their agents from the same option as the learner, so the two runs agree too.
run "in-process --agent-obs group" "$tmp/grp.log" "$rlae" train "${common[@]}" --agent-obs group --out "$tmp/grp"
run "mpirun -np 3 --agent-obs group" "$tmp/grp3.log" "$mpirun" -np 3 "$rlae" train "${common[@]}" --agent-obs group \
    --out "$tmp/grp3"
if out=$(same_runs "$tmp/grp" "$tmp/grp3" 2>&1); then pass "np 3 = in-process, --agent-obs group: $out"; else bad "np 3 vs in-process, --agent-obs group: $out"; fi
if out=$("$python" - "$tmp/grp3" 2>&1 <<'PY'
import glob, sys, h5py
for s in sorted(glob.glob(sys.argv[1] + "/replay/shard-*.h5")):
    with h5py.File(s) as f:
        obs = f.attrs["agent_obs"]
        obs = obs.decode() if isinstance(obs, bytes) else str(obs)
        assert obs == "group", f"{s}: agent_obs {obs}"
        assert f["steps/obs"].shape[2] == f["steps/share_obs"].shape[1], f"{s}: obs {f['steps/obs'].shape}"
print("shards say group; every agent's obs is the share_obs width")
PY
); then pass "$out"; else bad "--agent-obs group shards: $out"; fi
if same_runs "$tmp/one" "$tmp/grp" >/dev/null 2>&1; then bad "--agent-obs group equals own"; else pass "--agent-obs group differs from own"; fi

summary
