#!/usr/bin/env bash
# Installs what rlae needs from Debian packages, only what is missing, and makes
# OpenBLAS the system BLAS (Debian's LibTorch otherwise runs its matrix products
# on the reference BLAS: ~3.7 GFLOP/s on one thread against ~30+ with OpenBLAS).
# Idempotent: a second run installs nothing. Run as root, or it prints the exact
# sudo command to run instead.
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

# OpenBLAS as the libblas.so.3 that LibTorch loads.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
alt="libblas.so.3-$arch"
openblas="/usr/lib/$arch/openblas-pthread/libblas.so.3"
current=$(update-alternatives --query "$alt" 2>/dev/null | awk '/^Value:/{print $2}')
if [ -e "$openblas" ] && [ "$current" != "$openblas" ]; then
  echo "setup-deps: selecting OpenBLAS as $alt (was: ${current:-none})" >&2
  as_root update-alternatives --set "$alt" "$openblas"
fi

# CUDA / NCCL are not installed here: the build uses them when nvcc is found
# (PATH or /usr/local/cuda/bin).
if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup-deps: CUDA toolkit found; CUDA kernels and NCCL will be built" >&2
fi
