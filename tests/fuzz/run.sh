#!/usr/bin/env bash
# libFuzzer targets for every parser of rlae's inputs (clang, ASan + UBSan).
#
#   tests/fuzz/run.sh TARGET [SECONDS]    build and run one target (default 60 s)
#   tests/fuzz/run.sh all [SECONDS]       every target, SECONDS each, then a table:
#                                         target, executions, execs/s, crashes
#   tests/fuzz/run.sh build [TARGET|all]  build only
#
# Targets: safetensors tokenizer wire ini grid dataset model_config shard_index
# checkpoint wire_tensor replay. Binaries, corpora (corpus-TARGET, seeded from the
# zoo's real files and each target's own seeds) and logs (TARGET.log) are under
# build-fuzz/; a crash leaves its input as build-fuzz/crash-TARGET-* (rerun it with
# build-fuzz/fuzz_TARGET FILE). wire_tensor and replay link LibTorch (the torch
# wheel of $RLAE_VENV, default .venv) and replay HDF5; the others need only clang.
# Jobs run under nice -n ${RLAE_FUZZ_NICE:-5}; RLAE_FUZZ_PREBUILT=1 skips rebuilding existing binaries. Installs clang from Debian when missing.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$repo/build-fuzz"
targets=(safetensors tokenizer wire ini grid dataset model_config shard_index checkpoint wire_tensor replay)
usage="usage: tests/fuzz/run.sh TARGET|all [SECONDS] | build [TARGET|all]   (targets: ${targets[*]})"

sources() {  # the rlae sources a target links
  case "$1" in
    safetensors) echo common/safetensors_format.cpp common/check.cpp ;;
    tokenizer) echo common/tokenizer.cpp common/regex.cpp common/unicode.cpp common/check.cpp ;;
    wire) echo common/wire.cpp common/check.cpp ;;
    ini) echo common/options.cpp common/sweep_grid.cpp common/fs.cpp common/check.cpp ;;
    grid) echo common/sweep_grid.cpp common/check.cpp ;;
    dataset) echo common/dataset.cpp common/answer.cpp common/fs.cpp common/check.cpp ;;
    model_config) echo actors/model_config.cpp common/fs.cpp common/check.cpp ;;
    shard_index) echo common/safetensors_format.cpp common/check.cpp ;;
    checkpoint) echo common/safetensors_format.cpp common/checkpoint_meta.cpp common/check.cpp ;;
    wire_tensor) echo common/wire.cpp common/wire_tensor.cpp common/trajectory.cpp common/check.cpp ;;
    replay) echo learner/replay.cpp common/trajectory.cpp common/fs.cpp common/wire.cpp common/wire_tensor.cpp common/check.cpp ;;
    *) return 1 ;;
  esac
}

max_len() {
  case "$1" in
    tokenizer|model_config) echo 32768 ;;  # the zoo's tokenizer.json files are ~21 KB
    wire|wire_tensor|replay) echo 65536 ;;
    *) echo 8192 ;;
  esac
}

torch_flags() {
  local venv=${RLAE_VENV:-$repo/.venv}
  local t
  t=$(ls -d "$venv"/lib/python3*/site-packages/torch 2>/dev/null | head -n 1)
  if [ -z "$t" ] || [ ! -d "$t/lib" ]; then
    echo "run.sh: no torch wheel under $venv (set RLAE_VENV or run launch/setup-python.sh)" >&2
    return 1
  fi
  echo "-isystem $t/include -isystem $t/include/torch/csrc/api/include -L$t/lib -Wl,-rpath,$t/lib -ltorch_cpu -lc10"
}

build() {
  local name=$1 extra=() torch=""
  case "$name" in wire_tensor|replay) torch=$(torch_flags) || exit 1 ;; esac
  case "$name" in
    ini) extra=(-lboost_program_options) ;;
    tokenizer) extra=(-lonig) ;;  # Oniguruma: the split patterns' regex engine
    wire_tensor) read -r -a extra <<<"$torch" ;;
    replay)
      read -r -a extra <<<"$torch"
      mkdir -p "$out/generated"
      printf '#pragma once\n#define RLAE_VERSION "fuzz"\n' >"$out/generated/rlae_build_info.h"
      extra+=(-I"$out/generated" -isystem /usr/include/hdf5/serial -L/usr/lib/x86_64-linux-gnu/hdf5/serial
              -lhdf5_cpp -lhdf5 -lz) ;;
  esac
  local bin="$out/fuzz_$name" f newer=0
  # Up to date when newer than its sources and the headers they include from the repository
  # (RLAE_FUZZ_PREBUILT=1: use the binaries there are).
  if [ -x "$bin" ] && [ -n "${RLAE_FUZZ_PREBUILT:-}" ]; then return 0; fi
  if [ -x "$bin" ]; then
    for f in "tests/fuzz/fuzz_$name.cpp" tests/fuzz/fuzz_util.h $(sources "$name") common/*.h actors/*.h learner/*.h; do
      [ "$repo/$f" -nt "$bin" ] && { newer=1; break; }
    done
    [ "$newer" = 0 ] && return 0
  fi
  # shellcheck disable=SC2046
  (cd "$repo" && nice -n "${RLAE_FUZZ_NICE:-5}" clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
     -fno-sanitize-recover=undefined -I. "tests/fuzz/fuzz_$name.cpp" $(sources "$name") "${extra[@]}" -o "$bin.tmp")
  mv "$bin.tmp" "$bin"
}

seed() {  # real files into an empty corpus
  local name=$1 dir="$out/corpus-$1" m
  mkdir -p "$dir"
  [ -z "$(ls -A "$dir")" ] || return 0
  case "$name" in
    ini) cp "$repo"/experiments/*.ini "$repo"/experiments/members/recipes/*.ini "$dir"/ 2>/dev/null || true ;;
    grid) cp "$repo"/experiments/sweep-example.ini "$dir"/
          printf 'base = run.ini\niterations = 10\n[grid]\nlr = 1e-4, 3e-4\nseed = 0,1,2\n' >"$dir/small.ini" ;;
    dataset)
      printf '%s\n' '{"id": "add-1", "task": "add", "question": "What is 3 + 4?", "answer": "3 + 4 = 7. #### 7"}' \
        '{"question": "Tom has 1,200 apples and eats 0.5 of them.", "answer": "1,200 * 0.5 = 600 #### 600"}' \
        '{"id": 7, "task": "mul_sub", "question": "x", "answer": "#### -12.5"}' >"$dir/rlae.jsonl" ;;
    model_config)
      for m in "$repo"/experiments/members/*/; do
        [ -f "$m/config.json" ] || continue
        { cat "$m/config.json"; printf '\0'; cat "$m/generation_config.json"; printf '\0'
          cat "$m/tokenizer_config.json"; printf '\0'; cat "$m/tokenizer.json"; } >"$dir/$(basename "$m")"
        { cat "$m/config.json"; printf '\0\0'; cat "$m/tokenizer_config.json"; } >"$dir/$(basename "$m")-no-gen"
      done ;;
    tokenizer)
      for m in "$repo"/experiments/members/*/ "$repo"/experiments/tokenizers/*/; do
        [ -f "$m/tokenizer.json" ] && cp "$m/tokenizer.json" "$dir/$(basename "$m").json"
      done ;;
    safetensors|checkpoint)
      # The header of each zoo member's weights (8 + N bytes) and their first data bytes.
      for m in "$repo"/experiments/members/*/; do
        [ -f "$m/model.safetensors" ] || continue
        python3 - "$m/model.safetensors" "$dir/$(basename "$m")" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    f.seek(0)
    blob = f.read(8 + n + 64)
open(sys.argv[2], "wb").write(blob)
PY
      done
      if [ "$name" = checkpoint ]; then
        python3 - "$dir/ckpt" <<'PY'
import json, struct, sys
meta = {"iteration": "10", "policy_version": "10", "algo": "mappo", "num_members": "3", "obs_width": "132",
        "members_fingerprint": "0123456789abcdef", "fingerprint_covers": "config,tokenizer,weights,order",
        "config_hash": "fedcba9876543210", "rlae_version": "0.1.0", "seed": "0", "members": "a,b,c"}
head = {"__metadata__": meta, "agent0.l1.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
h = json.dumps(head).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + bytes(16))
PY
      fi ;;
    shard_index)
      printf '%s' '{"metadata": {"total_size": 1024}, "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors", "model.embed_tokens.weight": "model-00001-of-00002.safetensors"}}' >"$dir/index.json" ;;
  esac
}

run_one() {  # run_one NAME SECONDS -> prints "NAME EXECS EXECS_PER_S CRASHES"
  local name=$1 seconds=$2 log="$out/$1.log"
  seed "$name"
  local rc=0 extra=
  # libhdf5 allocates what forged metadata claims (H5C_protect, ~1 TiB for
  # tests/fixtures/fuzz/replay-metadata-size.h5): in a real build that malloc fails
  # and libhdf5 reports an error, which the reader passes on; ASan must do the same
  # instead of ending the run (-rss_limit_mb still catches memory really used).
  [ "$name" = replay ] && extra=:allocator_may_return_null=1
  # libhdf5 spins for ever on some forged shards (tests/fixtures/fuzz/replay-hdf5-spin.h5):
  # the reader stops its child after RLAE_SHARD_READ_LIMIT_S, an error, within the
  # fuzzer's -timeout.
  local timeout=10
  [ "$name" = replay ] && { export RLAE_SHARD_READ_LIMIT_S=${RLAE_SHARD_READ_LIMIT_S:-3}; timeout=20; }
  (cd "$out" && ASAN_OPTIONS=detect_leaks=0:alloc_dealloc_mismatch=0$extra${ASAN_OPTIONS:+:$ASAN_OPTIONS} \
     nice -n "${RLAE_FUZZ_NICE:-5}" "$out/fuzz_$name" "$out/corpus-$name" -max_total_time="$seconds" \
     -max_len="$(max_len "$name")" -rss_limit_mb=2048 -timeout="$timeout" -print_final_stats=1 \
     -artifact_prefix="$out/crash-$name-" >"$log" 2>&1) || rc=$?
  local execs rate crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  crashes=$(grep -c 'Test unit written to' "$log" || true)  # libFuzzer stops at its first finding
  [ "$rc" = 0 ] || [ "$crashes" != 0 ] || crashes="rc=$rc"
  # replay: sanitizer reports of libhdf5 inside the reader's child process, which
  # the reader turned into errors (not findings of rlae; see fuzz_replay.cpp).
  if [ "$name" = replay ]; then
    crashes="$crashes (contained in the reader's child: $(grep -c '^==[0-9]*==ERROR: AddressSanitizer' "$log" || true))"
  fi
  echo "$name ${execs:-?} ${rate:-?} $crashes"
}

[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
if ! command -v clang++ >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q clang >&2; else echo "run.sh: needs clang++: sudo apt-get install clang" >&2; exit 1; fi
fi
mkdir -p "$out"
case "$1" in
  build)
    what=${2:-all}
    if [ "$what" = all ]; then for t in "${targets[@]}"; do build "$t"; done
    elif sources "$what" >/dev/null; then build "$what"
    else echo "run.sh: unknown target '$what'; $usage" >&2; exit 2; fi ;;
  all)
    seconds=${2:-60}
    for t in "${targets[@]}"; do build "$t"; done
    printf '%-14s %14s %10s %s\n' target executions execs/s crashes
    bad=0
    for t in "${targets[@]}"; do
      read -r n e r c <<<"$(run_one "$t" "$seconds")"
      printf '%-14s %14s %10s %s\n' "$n" "$e" "$r" "$c"
      [ "${c%% *}" = 0 ] || bad=1
    done
    exit "$bad" ;;
  *)
    sources "$1" >/dev/null || { echo "run.sh: unknown target '$1'; $usage" >&2; exit 2; }
    build "$1"
    read -r n e r c <<<"$(run_one "$1" "${2:-60}")"
    printf '%-14s %14s %10s %s   (log: build-fuzz/%s.log)\n' "$n" "$e" "$r" "$c" "$1"
    [ "${c%% *}" = 0 ] ;;
esac
