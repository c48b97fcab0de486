#!/usr/bin/env bash
# Installs what rlae needs from Debian packages, only what is missing (LibTorch
# comes from PyPI's torch wheel: launch/setup-python.sh). Idempotent: a second
# run installs nothing. Run as root, or it prints the exact sudo command to run.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopenmpi-dev openmpi-bin         # MPI
  libhdf5-dev                        # HDF5 C and C++ API
  libzmq3-dev cppzmq-dev             # ZeroMQ + C++ bindings
  libboost-program-options-dev       # CLI and INI configuration
  libgtest-dev                       # GoogleTest
  nlohmann-json3-dev                 # JSON
  libonig-dev                        # Oniguruma: the regex engine of Hugging Face's pre-tokenizers
  slurm-wlm munge                    # a real one-node Slurm for the sweep and cluster tests
  ccache                             # rebuilds reuse objects
  python3-venv python3-matplotlib    # the Python environment (LibTorch comes from PyPI's torch wheel) and plots
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; return; fi
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; return; fi
  echo "setup-deps: needs root for: $*" >&2
  echo "setup-deps: run this, then run me again:" >&2
  echo "  sudo $*" >&2
  exit 1
}

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-deps: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ] && ! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
    echo "setup-deps: missing Debian packages and not root; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
else
  echo "setup-deps: all Debian packages present" >&2
fi

# The CUDA toolkit is not installed here: the build compiles the CUDA kernels when
# nvcc is found (PATH or /usr/local/cuda/bin); NCCL is the torch wheel's.
if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup-deps: CUDA toolkit found; CUDA kernels and NCCL will be built" >&2
fi
