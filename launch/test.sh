#!/usr/bin/env bash
# The test command: installs what is missing, builds, prepares the Python parity
# environment, and runs every test (units, MPI ranks under mpirun, CLI, parity
# with Hugging Face). Arguments go to ctest (e.g. -R Tokenizer, -L unit).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RLAE_BUILD_DIR:-$repo/build}

"$repo/launch/build.sh"
python=$("$repo/launch/setup-python.sh" | tail -n 1)
cmake -S "$repo" -B "$build" -DRLAE_PARITY_PYTHON="$python" >/dev/null
cmake --build "$build" -j "${RLAE_JOBS:-$(nproc)}"
cd "$build"
ctest --output-on-failure -j "${RLAE_JOBS:-$(nproc)}" "$@"
