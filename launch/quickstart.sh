#!/usr/bin/env bash
# The main job from a fresh clone: installs and builds what is missing, then trains an
# RLAE_MAPPO policy over the three zoo members with 1 learner + 3 actors under mpirun
# (experiments/quickstart.ini), then evaluates it beside the fixed-weight baselines
# (uniform, each member alone, the best fixed vector, PackLLM-sim, GaC-threshold) on the
# zoo's test-wording split (wording never seen in training) and its test split, and prints
# the tables. About 10-15 minutes on a 2-core machine.
#
#   launch/quickstart.sh                      # everything
#   launch/quickstart.sh --algo ppo --seed 2  # extra options go to rlae train
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RLAE_BUILD_DIR:-$repo/build}
cd "$repo"

"$repo/launch/build.sh"
rlae="$build/rlae"
for m in addsub muldiv chain; do
  [ -f "experiments/members/$m/model.safetensors" ] || {
    echo "quickstart: the zoo member experiments/members/$m is missing (retrain: experiments/members/train.sh)" >&2
    exit 1; }
done
[ -f runs/zoo/data/test-wording.jsonl ] || "$rlae" data make --out runs/zoo/data --seed 1 --train 50000  # as experiments/members/train.sh
out=runs/quickstart
if [ -e "$out" ]; then rm -rf "$out.prev"; mv "$out" "$out.prev"; echo "quickstart: kept the previous run in $out.prev"; fi

echo "== training: 1 learner + 3 actors (experiments/quickstart.ini) =="
"$repo/launch/mpirun.sh" -np 4 "$rlae" train --config experiments/quickstart.ini --out "$out" "$@"
ckpt=$(ls "$out"/checkpoints/ckpt-*.safetensors | sort | tail -n 1)

echo
echo "== how the policy weighted the members while it learned (rlae replay inspect) =="
"$rlae" replay inspect --run "$out" --windows 2

echo
echo "== the trained policy beside the fixed-weight baselines (100 problems per family of each split) =="
members=experiments/members/addsub,experiments/members/muldiv,experiments/members/chain
policies=(--policy "rlae:$ckpt" --policy uniform --policy single:addsub --policy single:muldiv
          --policy single:chain --policy packllm --policy gac-threshold:0.9)
best=$(python3 -c 'import json,sys; print(",".join("%g" % x for x in json.load(open(sys.argv[1]))["best_fixed_vector"]))' \
       experiments/members/results.json 2>/dev/null || true)
[ -n "$best" ] && policies+=(--policy "weights:$best")
for split in test-wording test; do
  echo "-- $split$([ $split = test-wording ] && echo ': phrasings, names and objects never seen in training')"
  OMP_NUM_THREADS=2 "$rlae" eval --models "$members" "${policies[@]}" --data "runs/zoo/data/$split.jsonl" \
    --per-family 100 --max-new-tokens 48 --threads 2 --out "$out/eval-$split.json"
done
echo "quickstart: run in $out (metrics.jsonl, checkpoints/, replay/), tables in $out/eval-{test-wording,test}.json"
