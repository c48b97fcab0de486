#!/usr/bin/env bash
# Creates the Python environment that the parity tests use: a virtual environment
# that sees Debian's python3-torch (1.13) and adds Hugging Face transformers,
# tokenizers and safetensors from PyPI. Idempotent; prints the interpreter path
# on its last line.
#
#   launch/setup-python.sh            # -> .venv/ in the repository
#   RLAE_VENV=/some/dir launch/setup-python.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${RLAE_VENV:-$repo/.venv}
# transformers 4.46 is the newest line that still runs on torch 1.13 and knows
# Llama 3 rope scaling, Qwen2 and Mistral.
pins=("transformers==4.46.3" "tokenizers==0.20.3" "safetensors==0.8.0")

sys_python=/usr/bin/python3
if [ ! -x "$sys_python" ]; then
  echo "setup-python: $sys_python not found; run launch/setup-deps.sh first" >&2
  exit 1
fi
if ! "$sys_python" -c 'import torch, h5py' 2>/dev/null; then
  echo "setup-python: Debian's python3-torch / python3-h5py are missing; run launch/setup-deps.sh first" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-python: creating $venv (with system site packages)" >&2
  "$sys_python" -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null
import sys, importlib.metadata as md
for pin in sys.argv[1:]:
    name, ver = pin.split("==")
    if md.version(name) != ver:
        sys.exit(1)
PY
then
  echo "setup-python: installing ${pins[*]} into $venv" >&2
  "$venv/bin/pip" install --disable-pip-version-check -q "${pins[@]}" >&2
fi
echo "$venv/bin/python"
