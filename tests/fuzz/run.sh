#!/usr/bin/env bash
# Builds and runs one libFuzzer target:   tests/fuzz/run.sh safetensors|tokenizer|wire [SECONDS]
# (installs clang from Debian when missing; corpus and binary under build-fuzz/).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=${1:?usage: tests/fuzz/run.sh safetensors|tokenizer|wire [SECONDS]}
seconds=${2:-60}
case "$name" in
  safetensors) src=(common/safetensors_format.cpp common/check.cpp) ;;
  tokenizer) src=(common/tokenizer.cpp common/unicode.cpp common/check.cpp) ;;
  wire) src=(common/wire.cpp common/check.cpp) ;;
  *) echo "run.sh: unknown target '$name' (safetensors, tokenizer, wire)" >&2; exit 2 ;;
esac
if ! command -v clang++ >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q clang >&2; else echo "run.sh: needs clang++: sudo apt-get install clang" >&2; exit 1; fi
fi
out="$repo/build-fuzz"
mkdir -p "$out/corpus-$name"
cd "$repo"
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. "tests/fuzz/fuzz_$name.cpp" "${src[@]}" \
  -o "$out/fuzz_$name"
exec "$out/fuzz_$name" "$out/corpus-$name" -max_total_time="$seconds" -max_len=8192
