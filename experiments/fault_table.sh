#!/usr/bin/env bash
# The fault table: faults injected into the quickstart job as a user meets them
# (launch/mpirun.sh -np 4 rlae train --config experiments/quickstart.ini, 1 learner +
# 3 actors over the zoo), each after 15 iterations, then a sweep of bad inputs.
# Prints one markdown row per case: exit code, seconds from the fault to the job's end,
# the job's own line about it, the latest checkpoint, and whether --resume continues
# from it (2 more iterations) with the shards readable by h5py.
#
#   experiments/fault_table.sh [WORK]     # WORK default runs/faults (emptied first); ~10 min on 2 cores
#
# Needs build/rlae, the zoo, runs/zoo/data (launch/quickstart.sh makes them) and .venv's
# h5py. The tmpfs cases need mount(8) rights (root); elsewhere their rows say so.
# Runs checkpoint every 10 iterations (--checkpoint-every 10; every 2 on the tmpfs
# disks, which fill within a few iterations: a shard holds ~0.8 MB) and count a silent
# rank as lost after 5 s (--dead-after-ms 5000; the default is 15 s).
set -u
# Job control: background jobs then take SIGINT as a foreground job takes Ctrl-C (a
# non-interactive shell otherwise starts them with SIGINT ignored, for good).
set -m
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
source tests/mpi_ranks.sh  # mpi_rank_pids
rlae=$repo/build/rlae
mpirun=$repo/launch/mpirun.sh
python=$repo/.venv/bin/python
work=${1:-$repo/runs/faults}
for f in "$rlae" experiments/members/addsub/model.safetensors runs/zoo/data/train.jsonl "$python"; do
  [ -e "$f" ] || { echo "fault_table.sh: $f is missing (launch/quickstart.sh builds and makes it)" >&2; exit 1; }
done
rm -rf "$work"; mkdir -p "$work"
common=(--config experiments/quickstart.ini --dead-after-ms 5000)
mounts=()
cleanup() { for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done; pkill -9 -f -- "--out $work/" 2>/dev/null; }
trap cleanup EXIT

echo "| fault | exit code | seconds to end | the job's message | latest checkpoint | --resume |"
echo "|---|---:|---:|---|---|---|"
row() { echo "| $1 | $2 | $3 | $4 | $5 | $6 |"; }
elapsed() { python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }  # since T0 (date +%s.%N)

# The job's own line about the fault, paths shortened: rlae's (the learner's verdict
# first), else the launcher's, else Open MPI's report of a killed rank.
message() {  # log
  { grep -m1 -E "^rlae [a-z]+: (stopped|lost|error|rank 0 \(learner\) failed)" "$1" ||
    grep -m1 -E "^rlae [a-z]+: .*(fail|error|stopp|refus|must|invalid|not )" "$1" | grep -v -E ": (learner|group [0-9]+ member)" ||
    grep -m1 -E "^launch/mpirun.sh: " "$1" ||
    grep -m1 -E "^mpirun noticed that process rank" "$1"; } \
    | head -n 1 | sed -e "s|$work/||g" -e "s|$repo/||g" -e 's/|/\\|/g' | cut -c1-320
}
# Starts a job in the background ($job), waits for N metric lines.
start() {  # out N launcher...
  local out=$1 n=$2; shift 2
  "$@" train --out "$out" "${common[@]}" --checkpoint-every 10 --iterations 100000 >"$out.log" 2>&1 &
  job=$!
  for _ in $(seq 1 1500); do
    [ "$(cat "$out/metrics.jsonl" 2>/dev/null | wc -l)" -ge "$n" ] && return 0
    kill -0 $job 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
# Waits at most $1 s for $job: sets rc and secs (124: still running, then killed).
finish() {
  local t0; t0=$(date +%s.%N)
  for _ in $(seq 1 $(($1 * 10))); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
  if kill -0 $job 2>/dev/null; then kill -9 $job; pkill -9 -f -- "--out $2 " 2>/dev/null; rc=124; else wait $job; rc=$?; fi
  secs=$(elapsed "$t0")
  left=$(pgrep -f -- "--out $2 " | wc -l)
}
rank_pid() { mpi_rank_pids "--out $1 " "$2"; }  # out rank
# "ckpt-000015 (15 of 15 metric lines)" and the resume verdict ($ck, $resumed).
after() {  # out launcher...
  local out=$1; shift
  local lines; lines=$(cat "$out/metrics.jsonl" 2>/dev/null | wc -l)
  local latest; latest=$(cat "$out/checkpoints/latest" 2>/dev/null)
  if [ -z "$latest" ]; then ck="none ($lines metric lines)"; resumed="nothing to resume from"; return; fi
  local it=$((10#$(echo "$latest" | sed 's/[^0-9]//g')))
  ck="${latest%.safetensors}, loads: $("$python" -c "from safetensors.numpy import load_file; import sys; load_file(sys.argv[1]); print('yes')" "$out/checkpoints/$latest" 2>/dev/null || echo no) ($lines metric lines)"
  if timeout 300 "$@" train --out "$out" "${common[@]}" --checkpoint-every "${every:-10}" --iterations $((it + 2)) --resume >"$out.resume.log" 2>&1 \
     && [ "$(wc -l < "$out/metrics.jsonl")" = $((it + 2)) ] \
     && "$python" -c "
import glob, h5py, sys
fs = sorted(glob.glob(sys.argv[1] + '/replay/*.h5'))
assert fs
for f in fs: h5py.File(f, 'r').close()
assert not glob.glob(sys.argv[1] + '/**/*.tmp*', recursive=True)
" "$out" 2>/dev/null
  then resumed="continues $it -> $((it + 2)); shards read, no temporary files"
  else resumed="FAILED: $(tail -1 "$out.resume.log" | sed -e "s|$work/||g" -e 's/|/\\|/g' | cut -c1-160)"; fi
}
job_row() {  # fault out launcher...
  local fault=$1 out=$2; shift 2
  local m; m=$(message "$out.log")
  [ "$left" = 0 ] || m="$m ($left processes left)"
  after "$out" "$@"
  row "$fault" "$rc" "$secs" "${m:-(none)}" "$ck" "$resumed"
}

# --- signals and lost ranks under mpirun ----------------------------------------------------
for sig in TERM INT; do
  out=$work/sig$sig
  if start "$out" 15 "$mpirun" -np 4 "$rlae"; then kill -$sig $job; finish 90 "$out"
    job_row "SIG$sig to launch/mpirun.sh" "$out" "$mpirun" -np 4 "$rlae"
  else row "SIG$sig to launch/mpirun.sh" "-" "-" "did not start: $(tail -1 "$out.log")" "-" "-"; fi
done
for r in 2 0; do
  out=$work/kill$r
  what=$([ $r = 0 ] && echo learner || echo actor)
  if start "$out" 15 "$mpirun" -np 4 "$rlae"; then kill -9 "$(rank_pid "$out" $r)"; finish 90 "$out"
    job_row "kill -9 of the $what (rank $r)" "$out" "$mpirun" -np 4 "$rlae"
  else row "kill -9 of the $what" "-" "-" "did not start" "-" "-"; fi
done
out=$work/stop2
if start "$out" 15 "$mpirun" -np 4 "$rlae"; then p=$(rank_pid "$out" 2); kill -STOP "$p"; finish 90 "$out"
  kill -9 "$p" 2>/dev/null
  job_row "SIGSTOP of an actor (rank 2)" "$out" "$mpirun" -np 4 "$rlae"
else row "SIGSTOP of an actor" "-" "-" "did not start" "-" "-"; fi

# --- disks too small: a real tmpfs as --out -------------------------------------------------
for spec in "3m mpirun" "8m mpirun" "3m inprocess"; do
  read -r size how <<<"$spec"
  disk=$work/tmpfs-$size-$how
  mkdir -p "$disk"
  launcher=("$rlae"); [ "$how" = mpirun ] && launcher=("$mpirun" -np 4 "$rlae")
  label="${size%m} MiB tmpfs as --out ($([ "$how" = mpirun ] && echo "mpirun -np 4" || echo "in-process"))"
  if ! mount -t tmpfs -o size=$size rlae-faults "$disk" 2>/dev/null; then
    row "$label" "-" "-" "not run: cannot mount a tmpfs here (needs root)" "-" "-"; continue
  fi
  mounts+=("$disk")
  out=$disk/run
  t0=$(date +%s)
  timeout 900 "${launcher[@]}" train --out "$out" "${common[@]}" --checkpoint-every 2 --iterations 100000 >"$work/tmpfs-$size-$how.log" 2>&1; rc=$?
  secs="$(( $(date +%s) - t0 )) (whole run)"
  m=$(message "$work/tmpfs-$size-$how.log")
  grep -qiE "segmentation|core dumped|H5close" "$work/tmpfs-$size-$how.log" && m="$m; CRASH at exit"
  mount -o remount,size=64m "$disk"  # the disk grown, as a user would, before resuming
  left=0
  every=2 after "$out" "${launcher[@]}"
  row "$label" "$rc" "$secs" "${m:-(none)}" "$ck" "$resumed"
done

# --- bad input: refused before the work, exit 2 for bad values ---------------------------------
bad_row() {  # what expected-rc launcher/command...
  local what=$1 want=$2; shift 2
  local t0; t0=$(date +%s.%N)
  timeout 300 "$@" >"$work/bad.log" 2>&1; rc=$?
  secs=$(elapsed "$t0")
  local m; m=$(message "$work/bad.log")
  row "$what" "$rc (expected $want)" "$secs (whole run)" "${m:-(none)}" "-" "-"
}
# A checkpoint of the members in another order.
"$rlae" train --config experiments/quickstart.ini --iterations 1 --checkpoint-every 1 --batch 4 --out "$work/order" \
  >"$work/order.log" 2>&1
sed 's|^members = .*|members = experiments/members/chain,experiments/members/muldiv,experiments/members/addsub|' \
  experiments/quickstart.ini >"$work/reordered.ini"
long=$work/long.jsonl
"$python" - "$long" <<'PY'
import json, sys
with open("runs/zoo/data/test.jsonl") as f:
    rows = [json.loads(l) for _, l in zip(range(40), f)]
rows[27]["question"] = " ".join([rows[27]["question"]] * 30)  # far past the members' 160 positions
with open(sys.argv[1], "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
PY
members=experiments/members/addsub,experiments/members/muldiv,experiments/members/chain
bad_row "--lr -0.001 (mpirun -np 4)" 2 "$mpirun" -np 4 "$rlae" train "${common[@]}" --out "$work/b1" --lr -0.001
bad_row "--batch 0 (mpirun -np 4)" 2 "$mpirun" -np 4 "$rlae" train "${common[@]}" --out "$work/b2" --batch 0
bad_row "--resume with the checkpoint of (addsub, muldiv, chain) for (chain, muldiv, addsub) (mpirun -np 4)" 1 \
  "$mpirun" -np 4 "$rlae" train --config "$work/reordered.ini" --out "$work/order" --iterations 3 --resume
bad_row "--max-new-tokens 200 with members of 160 positions (mpirun -np 4)" 2 \
  "$mpirun" -np 4 "$rlae" train "${common[@]}" --out "$work/b3" --max-new-tokens 200
bad_row "a prompt past the members' context, line 28 of 40 (rlae eval)" 1 \
  "$rlae" eval --models "$members" --policy uniform --data "$long" --max-new-tokens 48
bad_row "--iterations ten" 2 "$rlae" train "${common[@]}" --out "$work/b4" --iterations ten
bad_row "--mix blend" 2 "$rlae" train "${common[@]}" --out "$work/b5" --mix blend
bad_row "--members with one missing" 1 "$rlae" train "${common[@]}" --out "$work/b6" \
  --members experiments/members/addsub,experiments/members/nosuch
