#!/usr/bin/env bash
# The GPU check, in one command, for a machine with a GPU, PyTorch (its LibTorch
# is what rlae builds against), nvcc, CMake and ninja, but no network and none of
# our Debian -dev packages: those come from a kit of launch/gpu-kit.sh.
#
#   RLAE_KIT=DIR launch/gpu-check.sh OUTDIR       # DIR: launch/gpu-kit.sh's folder
#                                                 # (default: gpu-kit/ in the checkout)
#
# Builds with every core, then runs, in order, stopping at the first failure:
#   kernels     CUDA kernels vs their CPU references through the dispatch functions
#   models      Llama / Qwen2 / Mistral logits on CUDA vs CPU (f32 and bf16)
#   ensemble    members on one GPU choose the CPU's tokens (fixed weights, sampling)
#   comm        the communicator conformance script in-process on the GPU and over
#               NCCL with one rank per GPU (mpirun -np <GPUs>)
#   train       20 iterations of in-process RLAE training with members on the GPU
#   bench       rlae bench decode (bf16, 0.5B shape, beside transformers) and
#               rlae bench ensemble (overhead on GPU)
# Writes OUTDIR/summary.json (every step: status, seconds, figures) and one log per
# step; exits non-zero on the first failed step. Without a GPU every GPU step is
# reported "skipped" with the reason, after the build (so this machine tests the
# build part). RLAE_GPU_CHECK_BENCH=0 leaves the benchmarks out.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: [RLAE_KIT=DIR] launch/gpu-check.sh OUTDIR" >&2; exit 2; }
out=$(mkdir -p "$1" && cd "$1" && pwd)
kit=${RLAE_KIT:-$repo/gpu-kit}
work=${RLAE_GPU_CHECK_WORK:-/tmp/rlae-gpu-check}
python=${RLAE_PYTHON:-$(command -v python3)}
jobs=$(nproc)
mkdir -p "$work/logs"
rm -f "$work"/logs/*.log "$out/steps.log"
t_start=$(date +%s)
members="$repo/experiments/members/addsub,$repo/experiments/members/muldiv,$repo/experiments/members/chain"
# Each step logs to $work/logs/STEP.log; all of them end up in $out/steps.log (the
# device tool returns a few files only: summary.json, steps.log, build.log, info.txt,
# bench-decode.json, bench-ensemble.json).
logs="$work/logs"
collect() { for f in "$logs"/*.log; do [ -e "$f" ] && { echo "===== $(basename "$f" .log)"; cat "$f"; }; done > "$out/steps.log"; }
steps=()   # JSON objects, one per step

json_escape() { "$python" -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))'; }
record() {  # record NAME STATUS SECONDS DETAIL(JSON value)
  steps+=("{\"step\": \"$1\", \"status\": \"$2\", \"seconds\": $3, \"detail\": $4}")
}
write_summary() {
  local ok=$1
  {
    echo "{"
    echo "  \"ok\": $ok,"
    echo "  \"host\": \"$(hostname)\","
    echo "  \"seconds\": $(( $(date +%s) - t_start )),"
    echo "  \"gpus\": ${gpus:-0},"
    echo "  \"gpu\": $(printf '%s' "${gpu_name:-none}" | json_escape),"
    echo "  \"torch\": $(printf '%s' "${torch_version:-unknown}" | json_escape),"
    echo "  \"steps\": ["
    local i
    for i in "${!steps[@]}"; do
      [ "$i" -gt 0 ] && echo ","
      printf '    %s' "${steps[$i]}"
    done
    echo ""
    echo "  ]"
    echo "}"
  } > "$out/summary.json"
}
fail() {  # fail STEP MESSAGE: record, summarize, stop
  local msg
  msg=$(printf '%s' "$2" | json_escape)
  record "$1" failed "$(( $(date +%s) - t_step ))" "$msg"
  write_summary false
  collect
  echo "gpu-check: FAILED at $1: $2 (logs in $out)" >&2
  exit 1
}
skip() { record "$1" skipped 0 "$(printf '%s' "$2" | json_escape)"; echo "gpu-check: $1 skipped: $2"; }
pass() { record "$1" passed "$(( $(date +%s) - t_step ))" "${2:-null}"; echo "gpu-check: $1 passed ($(( $(date +%s) - t_step )) s)"; }

# --- what this machine has ------------------------------------------------------------
t_step=$(date +%s)
for tool in cmake nvcc; do
  command -v "$tool" >/dev/null || [ -x "/usr/local/cuda/bin/$tool" ] || fail environment "$tool not found"
done
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
torch_version=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null) ||
  fail environment "$python has no torch (RLAE_PYTHON=python-with-torch)"
gpus=$("$python" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
gpu_name=$("$python" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")' 2>/dev/null || echo none)
echo "gpu-check: torch $torch_version, $gpus GPU(s): $gpu_name; kit $kit; work $work"
pass environment "{\"gpus\": $gpus, \"torch\": \"$torch_version\"}"

# --- the kit ------------------------------------------------------------------------------
t_step=$(date +%s)
kit_args=()
if [ -f "$kit/rlae-kit.cmake" ]; then
  unpacked="$work/kit"
  if [ ! -f "$unpacked/.from" ] || [ "$(cat "$unpacked/.from")" != "$(stat -c '%s %Y' "$kit/root.tar.xz")" ]; then
    rm -rf "$unpacked"
    mkdir -p "$unpacked"
    xz -dc "$kit/root.tar.xz" | tar -C "$unpacked" -xf - || fail kit "cannot unpack $kit/root.tar.xz"
    cp "$kit/rlae-kit.cmake" "$unpacked/"
    stat -c '%s %Y' "$kit/root.tar.xz" > "$unpacked/.from"
  fi
  libdir="$unpacked/root/usr/lib/x86_64-linux-gnu"
  export OPAL_PREFIX="$unpacked/root/usr"
  export PMIX_MCA_mca_base_component_path="$libdir/pmix2/lib/pmix"
  export PATH="$unpacked/root/usr/bin:$PATH"
  export LD_LIBRARY_PATH="$libdir:$libdir/openmpi/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  kit_args=(-DRLAE_KIT="$unpacked")
  pass kit "\"$kit\""
elif command -v mpicc >/dev/null && [ -f /usr/include/hdf5/serial/H5Cpp.h ]; then
  skip kit "no kit at $kit: building against this machine's own packages"
else
  fail kit "no kit at $kit and no system MPI/HDF5: run launch/gpu-kit.sh DIR on a networked machine, then RLAE_KIT=DIR"
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export RLAE_NO_REEXEC=1 OMP_WAIT_POLICY=PASSIVE

# --- build --------------------------------------------------------------------------------
t_step=$(date +%s)
build="$work/build"
archs=${RLAE_CUDA_ARCHITECTURES:-$("$python" -c 'import torch; c=torch.cuda.get_device_capability(0); print(f"{c[0]}{c[1]}")' 2>/dev/null || echo "80;90")}
if ! cmake -S "$repo" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DRLAE_CUDA=ON \
     -DRLAE_CUDA_ARCHITECTURES="$archs" -DRLAE_PYTHON="$python" -DRLAE_PARITY_PYTHON="$python" "${kit_args[@]}" \
     > "$out/build.log" 2>&1 ||
   ! cmake --build "$build" -j "$jobs" >> "$out/build.log" 2>&1; then
  fail build "see build.log: $(grep -m1 -E 'error|Error' "$out/build.log")"
fi
"$build/rlae" info > "$out/info.txt" 2>&1 || fail build "rlae info failed: $(head -c 300 "$out/info.txt")"
pass build "{\"archs\": \"$archs\", \"jobs\": $jobs}"

# --- GPU steps ------------------------------------------------------------------------------
gtest() {  # gtest STEP FILTER
  t_step=$(date +%s)
  if [ "$gpus" = 0 ]; then skip "$1" "no GPU visible"; return; fi
  "$build/tests/rlae_unit" --gtest_filter="$2" > "$logs/$1.log" 2>&1 ||
    fail "$1" "$(grep -m3 -E 'Failure|FAILED|Expected|error' "$logs/$1.log" | tr '\n' ' ')"
  grep -q "SKIPPED" "$logs/$1.log" && fail "$1" "a GPU test skipped although $gpus GPU(s) are visible"
  pass "$1" "$(grep -m1 -E '^\[  PASSED' "$logs/$1.log" | json_escape)"
}
gtest kernels 'BackendOps.*'
gtest models 'Model.CudaMatchesCpu'
gtest ensemble 'EnsembleTest.OnTheGpuTheMembersChooseTheCpuTokens'

t_step=$(date +%s)
if [ "$gpus" = 0 ]; then
  skip comm "no GPU visible"
else
  { "$build/tests/rlae_unit" --gtest_filter='CommConformance.*' &&
    mpirun -np "$gpus" "$build/tests/rlae_mpi_tests" --gtest_filter='CommConformance.*'; } > "$logs/comm.log" 2>&1 ||
    fail comm "$(grep -m3 -E 'Failure|FAILED|error' "$logs/comm.log" | tr '\n' ' ')"
  grep -q "SKIPPED" "$logs/comm.log" && fail comm "a communicator test skipped with $gpus GPU(s) visible"
  pass comm "{\"nccl_ranks\": $gpus}"
fi

t_step=$(date +%s)
if [ "$gpus" = 0 ]; then
  skip train "no GPU visible"
else
  data="$work/data"
  [ -f "$data/train.jsonl" ] || "$build/rlae" data make --out "$data" --seed 1 > "$logs/train.log" 2>&1
  rm -rf "$work/train"
  "$build/rlae" train --config "$repo/experiments/quickstart.ini" --members "$members" --train-data "$data/train.jsonl" \
    --out "$work/train" --iterations 20 --checkpoint-every 10 --device cuda >> "$logs/train.log" 2>&1 ||
    fail train "$(tail -n 3 "$logs/train.log" | tr '\n' ' ')"
  lines=$(wc -l < "$work/train/metrics.jsonl")
  [ "$lines" = 20 ] || fail train "metrics.jsonl has $lines lines, expected 20"
  pass train "$(tail -n 1 "$work/train/metrics.jsonl")"
fi

t_step=$(date +%s)
if [ "$gpus" = 0 ]; then
  skip bench "no GPU visible"
elif [ "${RLAE_GPU_CHECK_BENCH:-1}" = 0 ]; then
  skip bench "RLAE_GPU_CHECK_BENCH=0"
else
  # transformers' side runs without the kit's libraries on its path.
  printf '#!/bin/sh\nunset LD_LIBRARY_PATH OPAL_PREFIX\nexec %s "$@"\n' "$python" > "$work/python-clean"
  chmod +x "$work/python-clean"
  { "$build/rlae" bench decode --sizes 0.5b --batches 1,32 --device cuda --dtype bf16 --threads "$jobs" \
      --work-dir "$work/bench-models" --python "$work/python-clean" --json "$out/bench-decode.json" &&
    "$build/rlae" bench ensemble --models "$members" --batches 1,32 --device cuda --json "$out/bench-ensemble.json"
  } > "$logs/bench.log" 2>&1 || fail bench "$(tail -n 3 "$logs/bench.log" | tr '\n' ' ')"
  pass bench "{\"decode\": $(cat "$out/bench-decode.json"), \"ensemble\": $(cat "$out/bench-ensemble.json")}"
fi

write_summary true
collect
echo "gpu-check: done in $(( $(date +%s) - t_start )) s; $out/summary.json"
