#!/usr/bin/env bash
# Retrains the whole member zoo from scratch on a 2-core machine (the time of the shipped
# run is in experiments/members/README.md):
#   1. builds rlae if needed (launch/build.sh installs what is missing);
#   2. generates the task suite (runs/zoo/data: 50,000 train, 1,000 dev, 1,000 test and
#      1,000 test-wording and 1,000 dev-wording problems per family, seed 1);
#   3. learns the two tokenizers on the training split (rlae tokenizer train):
#      experiments/tokenizers/bytelevel-1024 and experiments/tokenizers/metaspace-1280;
#   4. pretrains the three members from the recipes in experiments/members/recipes/
#      (rlae pretrain --config), in two lanes of one LibTorch thread each: addsub (9,000
#      steps) on one core; muldiv (4,500 steps), then chain (3,300 steps) on the other;
#      the step counts are fixed, so a rerun gives the same members; logs in runs/zoo/logs/;
#   5. drops the checkpoints, so that only the Hugging Face directories remain.
# Then `experiments/members/evaluate.py` measures them (see README.md).
#
#   experiments/members/train.sh                 # everything
#   RLAE_ZOO_MINUTES=5 experiments/members/train.sh   # a smoke run: each member stops after 5 minutes
#   experiments/members/train.sh addsub          # only some members
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${RLAE_BUILD_DIR:-$repo/build}
cd "$repo"
[ -x "$build/rlae" ] || "$repo/launch/build.sh"
rlae="$build/rlae"
members=("$@")
[ ${#members[@]} -gt 0 ] || members=(addsub muldiv chain)
minutes=()
[ -n "${RLAE_ZOO_MINUTES:-}" ] && minutes=(--max-minutes "$RLAE_ZOO_MINUTES")

mkdir -p runs/zoo/logs
"$rlae" data make --out runs/zoo/data --seed 1 --train 50000
"$rlae" tokenizer train --corpus runs/zoo/data/train.jsonl --style bytelevel --vocab-size 1024 \
  --out experiments/tokenizers/bytelevel-1024
"$rlae" tokenizer train --corpus runs/zoo/data/train.jsonl --style metaspace --vocab-size 1280 \
  --out experiments/tokenizers/metaspace-1280

# Two lanes, one per core, one LibTorch thread each: addsub (the slowest skill to learn)
# has a core to itself; muldiv and then chain share the other.
train_one() {
  local m=$1
  [ -f "experiments/members/recipes/$m.ini" ] || { echo "train.sh: no recipe experiments/members/recipes/$m.ini" >&2; return 2; }
  echo "training $m (log: runs/zoo/logs/$m.log)"
  if OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 "$rlae" pretrain --config "experiments/members/recipes/$m.ini" \
       ${minutes[@]+"${minutes[@]}"} > "runs/zoo/logs/$m.log" 2>&1; then
    echo "$m: done ($(tail -n 1 "runs/zoo/logs/$m.log"))"
    rm -rf "experiments/members/$m/checkpoints"
  else
    echo "train.sh: $m failed; see runs/zoo/logs/$m.log" >&2
    return 1
  fi
}
lane1=() lane2=()
for m in "${members[@]}"; do
  if [ "$m" = addsub ]; then lane1+=("$m"); else lane2+=("$m"); fi
done
run_lane() { local m; for m in "$@"; do train_one "$m" || return 1; done; }
run_lane ${lane1[@]+"${lane1[@]}"} & pid1=$!
run_lane ${lane2[@]+"${lane2[@]}"} & pid2=$!
status=0
wait $pid1 || status=1
wait $pid2 || status=1
du -sh experiments/members/*/model.safetensors 2>/dev/null || true
exit $status
