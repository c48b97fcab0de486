#!/usr/bin/env bash
# Installs missing dependencies, configures and builds rlae into build/ (or $RLAE_BUILD_DIR).
# Idempotent and incremental. Extra arguments go to cmake's configure step,
# e.g. -DRLAE_CUDA=OFF. LibTorch is the torch wheel of launch/setup-python.sh's
# environment unless -DCMAKE_PREFIX_PATH=/opt/libtorch names another.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RLAE_BUILD_DIR:-$repo/build}
jobs=${RLAE_JOBS:-$(nproc)}

"$repo/launch/setup-deps.sh"
python=$("$repo/launch/setup-python.sh" | tail -n 1)   # LibTorch comes from its torch wheel
if [ ! -f "$build/CMakeCache.txt" ] || [ $# -gt 0 ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRLAE_PYTHON="$python" "$@"
fi
cmake --build "$build" -j "$jobs"
echo "built: $build/rlae" >&2
