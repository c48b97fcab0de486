#!/usr/bin/env bash
# Installs missing dependencies, configures and builds rlae into build/ (or $RLAE_BUILD_DIR).
# Idempotent and incremental. Extra arguments go to cmake's configure step,
# e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch for an official CUDA LibTorch.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RLAE_BUILD_DIR:-$repo/build}
jobs=${RLAE_JOBS:-$(nproc)}

"$repo/launch/setup-deps.sh"
if [ ! -f "$build/CMakeCache.txt" ] || [ $# -gt 0 ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
fi
cmake --build "$build" -j "$jobs"
echo "built: $build/rlae" >&2
