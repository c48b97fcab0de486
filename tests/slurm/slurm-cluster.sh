#!/usr/bin/env bash
# A one-node Slurm on loopback for the tests: munged, slurmctld and slurmd with
# their state, spool, logs and sockets under DIR, on ports no system Slurm uses.
#
#   slurm-cluster.sh start DIR [CPUS]   start it (waits until the node is idle); prints
#                                        'export SLURM_CONF=DIR/slurm.conf'
#   slurm-cluster.sh stop DIR           stop exactly the daemons 'start' started (pid files)
#
# Needs root (slurmd runs jobs as their user), Debian's slurm-wlm and munge
# (launch/setup-deps.sh installs them). On failure it prints the daemon log line
# that says why and exits non-zero: the tests fail, they do not skip.
set -uo pipefail

cmd=${1:-} dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [CPUS]" >&2; exit 2; }
cpus=${3:-8}
base_port=${RLAE_SLURM_PORT:-16817}

die() { echo "slurm-cluster: $*" >&2; exit 1; }

# Stops one daemon by its pid file: TERM, then KILL after 10 s; only that pid.
stop_pid() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null)
  rm -f "$f"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
  echo "slurm-cluster: $f: pid $pid did not stop in 10 s, killing it" >&2
  kill -KILL "$pid" 2>/dev/null
}

if [ "$cmd" = stop ]; then
  [ -d "$dir" ] || exit 0
  stop_pid "$dir/run/slurmd.pid"
  stop_pid "$dir/run/slurmctld.pid"
  stop_pid "$dir/run/munged.pid"
  echo "slurm-cluster: stopped the Slurm in $dir"
  exit 0
fi
[ "$cmd" = start ] || die "expected 'start' or 'stop', got '$cmd'"

[ "$(id -u)" = 0 ] || die "must run as root (slurmd starts jobs as their users)"
for b in munged slurmctld slurmd sinfo; do
  command -v "$b" > /dev/null || die "$b not found: install slurm-wlm and munge (launch/setup-deps.sh)"
done
mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd)
# A previous run that was not stopped: stop its daemons first (by their pid files).
"$0" stop "$dir" > /dev/null
rm -rf "$dir/state" "$dir/spool" "$dir/log" "$dir/run" "$dir/munge"
mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/run" "$dir/munge"
chmod 700 "$dir/munge"

# munged: a fresh key, its own socket.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" \
  || die "munged did not start: $(tail -n 1 "$dir/log/munged.log" 2>/dev/null)"

host=$(hostname -s)
mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
[ -n "$mem" ] || die "slurmd -C printed no RealMemory"
cat > "$dir/slurm.conf" <<CONF
# One node on loopback, written by tests/slurm/slurm-cluster.sh
ClusterName=rlaetest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base_port
SlurmdPort=$((base_port + 1))
SrunPortRange=$((base_port + 10))-$((base_port + 200))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd-%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
SchedulerParameters=defer_batch
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
MaxArraySize=1001
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF=$dir/slurm.conf

slurmctld -i -f "$SLURM_CONF" || die "slurmctld did not start: $(grep -E 'error|fatal' "$dir/log/slurmctld.log" | tail -n 1)"
slurmd -f "$SLURM_CONF" -N "$host" || die "slurmd did not start: $(grep -E 'error|fatal' "$dir/log/slurmd.log" | tail -n 1)"

# Wait (at most 30 s) for the node to be idle.
# A daemon that died (a port in use, a bad key) ends the wait at once.
alive() { local f=$dir/run/$1.pid; [ -f "$f" ] && [ -d "/proc/$(cat "$f")" ]; }
state=
for i in $(seq 150); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1)
  [ "$state" = idle ] && break
  if [ "$i" -gt 5 ] && ! { alive slurmctld && alive slurmd; }; then state="down (a daemon exited)"; break; fi
  sleep 0.2
done
if [ "$state" != idle ]; then
  echo "slurm-cluster: node $host did not become idle (waited at most 30 s): it is '${state:-unreachable}'" >&2
  for l in slurmctld slurmd munged; do
    line=$(grep -E 'error|fatal' "$dir/log/$l.log" 2>/dev/null | tail -n 1)
    [ -n "$line" ] && echo "slurm-cluster: $dir/log/$l.log: $line" >&2
  done
  "$0" stop "$dir" > /dev/null
  exit 1
fi
echo "slurm-cluster: one node ($host, $cpus CPUs, ${mem} MB) up in $dir; export SLURM_CONF=$SLURM_CONF"
