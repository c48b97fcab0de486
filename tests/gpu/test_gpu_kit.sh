#!/usr/bin/env bash
# launch/gpu-kit.sh on this build: the kit stays under 40 MiB and holds what a GPU
# machine without our Debian packages needs to build and run rlae.
set -euo pipefail
repo=$1 build=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
RLAE_BUILD_DIR=$build RLAE_KIT_SKIP_BUILD=1 bash "$repo/launch/gpu-kit.sh" "$tmp/kit" > "$tmp/out.txt" 2>&1 ||
  { cat "$tmp/out.txt"; exit 1; }
cat "$tmp/out.txt"
size=$(du -sk "$tmp/kit" | cut -f1)
[ "$size" -le $((40 * 1024)) ] || { echo "FAIL: kit is $((size / 1024)) MiB > 40"; exit 1; }
tar -tJf "$tmp/kit/root.tar.xz" > "$tmp/list.txt"
fail=0
for f in usr/lib/x86_64-linux-gnu/libmpi.so.40 usr/lib/x86_64-linux-gnu/libhdf5_serial_cpp.so.103 \
         usr/lib/x86_64-linux-gnu/libzmq.so.5 usr/lib/x86_64-linux-gnu/libonig.so.5 \
         usr/lib/x86_64-linux-gnu/libgtest.a usr/include/hdf5/serial/H5Cpp.h usr/include/zmq.hpp \
         usr/include/boost/program_options/options_description.hpp usr/include/nlohmann/json.hpp \
         usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h usr/bin/orted usr/share/openmpi/help-orterun.txt; do
  grep -q "^root/$f\$" "$tmp/list.txt" || { echo "FAIL: kit lacks $f"; fail=1; }
done
# Oniguruma's header, once our sources include it.
if grep -rqs '#include <oniguruma.h>' "$repo/common" "$repo/actors"; then
  grep -q '^root/usr/include/oniguruma.h$' "$tmp/list.txt" || { echo "FAIL: kit lacks usr/include/oniguruma.h"; fail=1; }
fi
# Every library the kit names for CMake is in it.
grep -o '${RLAE_KIT_ROOT}[^";]*' "$tmp/kit/rlae-kit.cmake" | sed 's|${RLAE_KIT_ROOT}/||' | sort -u | while read -r p; do
  grep -q "^root/$p/\?\$" "$tmp/list.txt" || { echo "FAIL: rlae-kit.cmake names $p, not in the kit"; exit 1; }
done || fail=1
# No network fabric plugins (they need libraries a one-node run does not).
if grep -E 'openmpi3/mca_(pml_ucx|mtl_ofi|btl_openib)' "$tmp/list.txt"; then echo "FAIL: fabric plugins kept"; fail=1; fi
[ $fail = 0 ] && echo "ok: kit $((size / 1024)) MiB, $(wc -l < "$tmp/list.txt") entries"
exit $fail
