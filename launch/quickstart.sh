#!/usr/bin/env bash
# The main job from a fresh clone: installs and builds what is missing, then
# shows what this build can do and runs a real multi-rank exchange under mpirun.
# (Becomes the RLAE training quickstart once training lands.)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RLAE_BUILD_DIR:-$repo/build}

"$repo/launch/build.sh"
"$build/rlae" info
echo
echo "== 3 MPI ranks exchanging member distributions (all-gather, mixture, agreement) =="
"$repo/launch/mpirun.sh" -np 3 "$build/tests/rlae_mpi_tests"
