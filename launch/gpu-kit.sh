#!/usr/bin/env bash
# Packs what a GPU machine without network needs to build and run rlae's GPU check
# (launch/gpu-check.sh) beside its own PyTorch, CUDA, CMake and ninja: the files
# of our Debian dependencies (Open MPI with its runtime, HDF5, ZeroMQ + cppzmq,
# Boost.Program_options, GoogleTest, nlohmann-json, Oniguruma) that rlae's build
# actually uses, unpacked under DIR/root/ with their original paths (never into
# /), and DIR/rlae-kit.cmake, which CMake reads instead of find_package() for them.
#
#   launch/gpu-kit.sh DIR        # on a networked Debian 12 machine, run once
#   # copy DIR to the GPU machine (e.g. as the git-ignored gpu-kit/ of the
#   # checkout), then there:
#   RLAE_KIT=DIR launch/gpu-check.sh OUTDIR
#
# How: setup-deps.sh installs the Debian packages here; a build of rlae here
# records every header it includes (the compiler's dependency files) and ldd
# lists every shared library its binaries load; the kit takes the ones owned by
# those packages (and the libraries they pull in that a CUDA image may lack),
# plus Open MPI's runtime (plugins, orted, help files) for one-node runs. About
# 45 MiB unpacked, kept as one root.tar.xz of ~12 MiB; the script refuses to
# finish above 40 MiB.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: launch/gpu-kit.sh DIR" >&2; exit 2; }
kit=$(mkdir -p "$1" && cd "$1" && pwd)
build=${RLAE_BUILD_DIR:-$repo/build}
limit_mib=${RLAE_KIT_LIMIT_MIB:-40}

# The Debian packages, and a build whose dependency files we read (RLAE_KIT_SKIP_BUILD=1:
# take $build as it is; the test suite does, on its own build).
if [ "${RLAE_KIT_SKIP_BUILD:-0}" != 1 ]; then "$repo/launch/build.sh" >&2; fi
[ -x "$build/rlae" ] || { echo "gpu-kit: no build at $build" >&2; exit 1; }
root="$kit/root"
rm -rf "$root"
mkdir -p "$root"

copy() {  # copy ABSOLUTE_PATH...: into $root with the same path (links dereferenced)
  local f
  for f in "$@"; do
    [ -e "$f" ] || continue
    mkdir -p "$root$(dirname "$f")"
    cp -L --preserve=mode "$f" "$root$f"
  done
}

# 1. Headers: those our compiles included, restricted to the -dev packages we depend on.
dev_pkgs=(libopenmpi-dev libhdf5-dev libzmq3-dev cppzmq-dev nlohmann-json3-dev libgtest-dev libonig-dev
          libboost-program-options1.74-dev libboost1.74-dev libsodium-dev)
owned=$(mktemp)
trap 'rm -f "$owned" "$owned.h" "$owned.h.used"' EXIT
for p in "${dev_pkgs[@]}"; do dpkg -L "$p" 2>/dev/null || true; done | sort -u > "$owned"
find "$build" -name '*.o.d' -print0 | xargs -0 cat | tr ' \\' '\n\n' | grep -E '^/' | sort -u > "$owned.h"
comm -12 "$owned" "$owned.h" > "$owned.h.used"
n_headers=$(wc -l < "$owned.h.used")
while read -r f; do copy "$f"; done < "$owned.h.used"

# 2. Libraries to link: by their real file names (the .so links of -dev packages
#    point at them), and GoogleTest's static libraries.
arch=x86_64-linux-gnu
link_libs=(
  /usr/lib/$arch/openmpi/lib/libmpi.so
  /usr/lib/$arch/hdf5/serial/libhdf5.so /usr/lib/$arch/hdf5/serial/libhdf5_cpp.so
  /usr/lib/$arch/libzmq.so /usr/lib/$arch/libboost_program_options.so /usr/lib/$arch/libonig.so
)
declare -A real
for l in "${link_libs[@]}"; do
  r=$(readlink -f "$l")
  real[$l]=$r
  copy "$r"
done
copy /usr/lib/$arch/libgtest.a /usr/lib/$arch/libgtest_main.a /usr/lib/$arch/libgmock.a

# 3. Open MPI's runtime for one-node runs: plugins, PMIx, orted/mpirun, help texts,
#    default parameters. OPAL_PREFIX=$kit/root/usr relocates it (gpu-check.sh sets it).
for d in /usr/lib/$arch/openmpi/lib /usr/lib/$arch/pmix2 /usr/share/openmpi /usr/share/pmix /etc/openmpi; do
  [ -d "$d" ] && { mkdir -p "$root$d"; cp -a "$d/." "$root$d/"; }
done
copy /usr/bin/orted /usr/bin/orterun /usr/bin/prte 2>/dev/null || true
ln -sf orterun "$root/usr/bin/mpirun"
# One node needs shared memory, TCP and self: drop the plugins of network fabrics
# (UCX, OFI, PSM, verbs, ...), which pull in their own large libraries.
find "$root/usr/lib/$arch/openmpi" "$root/usr/lib/$arch/pmix2" -name '*.so' \
     \( -name '*ucx*' -o -name '*ofi*' -o -name '*psm*' -o -name '*openib*' -o -name '*uct*' -o -name '*verbs*' \
        -o -name '*portals*' -o -name '*usnic*' -o -name '*hcoll*' -o -name '*fca*' -o -name '*cuda*' \
        -o -name '*munge*' \) -delete
find "$root/usr/lib/$arch/openmpi" "$root/usr/lib/$arch/pmix2" -name '*.a' -delete
# 4. Shared libraries the binaries load, except the C runtime, the compiler's
#    runtime, CUDA and the torch wheel's (the GPU machine has its own).
skip='^(libc|libm|libdl|libpthread|librt|ld-linux-x86-64|libgcc_s|libstdc\+\+|libresolv|libutil)\.so'
for b in "$build/rlae" "$build/tests/rlae_unit" "$build/tests/rlae_mpi_tests" \
         "$root"/usr/lib/$arch/openmpi/lib/openmpi3/*.so "$root"/usr/lib/$arch/pmix2/lib/pmix/*.so \
         "$root"/usr/bin/orted; do
  [ -e "$b" ] || continue
  ldd "$b" 2>/dev/null | awk '$3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  [[ "$name" =~ $skip ]] && continue
  case "$path" in *site-packages*|/usr/local/cuda*|*/nvidia/*) continue ;; esac
  case "$path" in "$root"*) continue ;; esac
  mkdir -p "$root/usr/lib/$arch"
  [ -e "$root/usr/lib/$arch/$name" ] || cp -L "$path" "$root/usr/lib/$arch/$name"
done

# Same bytes twice (a soname beside its real file): keep one, link the other.
python3 - "$root" <<'PY'
import hashlib, os, sys
seen = {}
for d, _, files in os.walk(sys.argv[1]):
    for f in sorted(files):
        p = os.path.join(d, f)
        if os.path.islink(p) or os.path.getsize(p) < 65536:
            continue
        h = hashlib.sha1(open(p, "rb").read()).hexdigest()
        if h in seen and os.path.dirname(seen[h]) == d:
            os.remove(p)
            os.symlink(os.path.basename(seen[h]), p)
        else:
            seen.setdefault(h, p)
PY
# Trim what no one reads.
find "$root" \( -name '*.la' -o -name '*.pc' -o -path '*/doc/*' -o -path '*/man/*' \) -prune -exec rm -rf {} + 2>/dev/null || true

# 5. The CMake side: imported targets with the kit's paths.
R='${RLAE_KIT_ROOT}'
rel() { echo "$R${1}"; }
{
  echo "# Written by launch/gpu-kit.sh on $(hostname) ($(date -u +%F)); read by CMakeLists.txt (-DRLAE_KIT=DIR)."
  echo "get_filename_component(RLAE_KIT_ROOT \"\${CMAKE_CURRENT_LIST_DIR}/root\" ABSOLUTE)"
  echo "function(rlae_kit_target name lib incs)"
  echo "  add_library(\${name} INTERFACE IMPORTED GLOBAL)"
  echo "  set_target_properties(\${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES \"\${incs}\" INTERFACE_LINK_LIBRARIES \"\${lib}\")"
  echo "endfunction()"
  echo "rlae_kit_target(MPI::MPI_C \"$(rel "${real[/usr/lib/$arch/openmpi/lib/libmpi.so]}")\" \"$(rel /usr/lib/$arch/openmpi/include)\")"
  echo "rlae_kit_target(hdf5::hdf5 \"$(rel "${real[/usr/lib/$arch/hdf5/serial/libhdf5.so]}")\" \"$(rel /usr/include/hdf5/serial)\")"
  echo "rlae_kit_target(hdf5::hdf5_cpp \"$(rel "${real[/usr/lib/$arch/hdf5/serial/libhdf5_cpp.so]}")\" \"$(rel /usr/include/hdf5/serial)\")"
  echo "rlae_kit_target(cppzmq \"$(rel "${real[/usr/lib/$arch/libzmq.so]}")\" \"$(rel /usr/include)\")"
  echo "rlae_kit_target(Boost::program_options \"$(rel "${real[/usr/lib/$arch/libboost_program_options.so]}")\" \"$(rel /usr/include)\")"
  echo "rlae_kit_target(PkgConfig::ONIG \"$(rel "${real[/usr/lib/$arch/libonig.so]}")\" \"$(rel /usr/include)\")"
  echo "rlae_kit_target(nlohmann_json::nlohmann_json \"\" \"$(rel /usr/include)\")"
  echo "rlae_kit_target(GTest::gtest \"$(rel /usr/lib/$arch/libgtest.a);Threads::Threads\" \"$(rel /usr/include)\")"
  echo "rlae_kit_target(GTest::gtest_main \"$(rel /usr/lib/$arch/libgtest_main.a);GTest::gtest\" \"$(rel /usr/include)\")"
  echo "set(RLAE_MPIRUN \"$(rel /usr/bin/orterun)\" CACHE FILEPATH \"mpirun of the kit\")"
  echo "set(RLAE_KIT_LIBDIR \"$(rel /usr/lib/$arch)\")"
} > "$kit/rlae-kit.cmake"
cp "$repo/launch/gpu-kit.sh" "$kit/made-by-gpu-kit.sh"

n_libs=$(find "$root" -name '*.so*' | wc -l)
unpacked_kib=$(du -sk "$root" | cut -f1)
# One compressed file travels and is unpacked by gpu-check.sh where it runs.
rm -f "$kit/root.tar.xz"
tar -C "$kit" -cf - root | xz -T0 -6 > "$kit/root.tar.xz"
rm -rf "$root"
size_kib=$(du -sk "$kit" | cut -f1)
echo "gpu-kit: $kit: $((size_kib / 1024)) MiB ($((unpacked_kib / 1024)) MiB unpacked: $n_headers headers, $n_libs libraries)"
if [ "$size_kib" -gt $((limit_mib * 1024)) ]; then
  echo "gpu-kit: $kit is over ${limit_mib} MiB" >&2
  exit 1
fi
