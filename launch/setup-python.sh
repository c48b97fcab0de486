#!/usr/bin/env bash
# Creates the project's Python environment: PyPI's torch wheel, whose LibTorch
# (headers, libraries, TorchConfig.cmake, its own NCCL) is what rlae builds
# against, and Hugging Face transformers, tokenizers and safetensors for the
# parity tests. Idempotent; prints the interpreter path on its last line.
#
#   launch/setup-python.sh            # -> .venv/ in the repository
#   RLAE_VENV=/some/dir launch/setup-python.sh
#
# torch 2.11.0 is PyPI's CUDA 13.0 build, like /usr/local/cuda's nvcc 13.0 (the
# wheel carries its CUDA libraries and NCCL 2.28.9); about 5 GB, ~90 s to install.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${RLAE_VENV:-$repo/.venv}
pins=("torch==2.11.0" "transformers==5.24.0" "tokenizers==0.23.3" "safetensors==0.8.0"
      "h5py==3.16.0" "numpy==2.4.6")

sys_python=/usr/bin/python3
if [ ! -x "$sys_python" ]; then
  echo "setup-python: $sys_python not found; run launch/setup-deps.sh first" >&2
  exit 1
fi
if [ -x "$venv/bin/python" ] && [ -f "$venv/pyvenv.cfg" ] &&
   grep -q "include-system-site-packages = true" "$venv/pyvenv.cfg"; then
  # An environment of the Debian-LibTorch era (system torch 1.13 visible): start over.
  echo "setup-python: $venv sees Debian's torch 1.13; recreating it" >&2
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-python: creating $venv" >&2
  "$sys_python" -m venv "$venv"
fi
if ! "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null
import sys, importlib.metadata as md
for pin in sys.argv[1:]:
    name, ver = pin.split("==")
    if md.version(name) != ver:
        sys.exit(1)
PY
then
  echo "setup-python: installing ${pins[*]} into $venv (torch with CUDA: ~5 GB)" >&2
  "$venv/bin/pip" install --disable-pip-version-check -q "${pins[@]}" >&2
fi
echo "$venv/bin/python"
