#!/usr/bin/env bash
# `nicsim sweep --slurm` against a real one-node Slurm cluster on this machine: installs Debian's
# slurm-wlm and munge (NICSIM_WITH_SLURM=1 scripts/install-deps.sh), writes a one-node slurm.conf
# in a temporary directory, starts munged, slurmctld and slurmd on 127.0.0.1, submits a small
# sweep as a job array with its merge job, waits for both, and compares the merged results.csv
# byte for byte with the same sweep run locally and unsharded. The daemons are stopped on exit,
# failed or not. It fails (never skips) when Slurm cannot be installed or started.
#
# Usage, as root, after a build: bash scripts/slurm_test.sh   (NICSIM_BUILD_DIR: default build)
# NICSIM_SLURM_KEEP=1 keeps the temporary directory (configuration, logs, the sweep).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
nicsim=$repo/${NICSIM_BUILD_DIR:-build}/tb/nicsim

fail() {
  echo "slurm_test: FAILED: $*" >&2
  exit 1
}

[ -x "$nicsim" ] || fail "$nicsim is missing: build first (bash scripts/build.sh)"
[ "$(id -u)" -eq 0 ] || fail "run as root: it starts munged, slurmctld and slurmd (SlurmUser=root)"
NICSIM_WITH_SLURM=1 bash scripts/install-deps.sh
for t in munged slurmctld slurmd sbatch squeue sinfo scontrol; do
  command -v "$t" >/dev/null || fail "$t is not installed (NICSIM_WITH_SLURM=1 bash scripts/install-deps.sh)"
done

tmp=$(mktemp -d /tmp/nicsim-slurm.XXXXXX)
chmod 0755 "$tmp"
daemon_pids=()
stop_daemons() {
  local status=$?
  # Jobs first, then the daemons in reverse order of start; each by its own pid.
  if [ -f "$tmp/slurm.conf" ]; then SLURM_CONF=$tmp/slurm.conf scancel --quiet --user=root 2>/dev/null || true; fi
  local i
  for ((i = ${#daemon_pids[@]} - 1; i >= 0; i--)); do kill "${daemon_pids[i]}" 2>/dev/null || true; done
  for pid in "${daemon_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for log in munged.log slurmctld.log slurmd.log; do
      [ -f "$tmp/$log" ] && { echo "---- $tmp/$log (last 30 lines)" >&2; tail -n 30 "$tmp/$log" >&2; }
    done
    for log in "$tmp"/sweep/slurm/logs/*; do
      [ -f "$log" ] && { echo "---- $log" >&2; tail -n 30 "$log" >&2; }
    done
  fi
  if [ "${NICSIM_SLURM_KEEP:-0}" = 1 ]; then echo "slurm_test: kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$status"
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

# Two free TCP ports on 127.0.0.1 for slurmctld and slurmd (another Slurm may hold 6817/6818).
read -r ctld_port slurmd_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

# munge: its own key, socket and files in the temporary directory.
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool"
chmod 0700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$tmp/munge/munge.key"
socket=$tmp/munge/munge.socket
munged -F --force --key-file="$tmp/munge/munge.key" --socket="$socket" --pid-file="$tmp/munge/munged.pid" \
  --log-file="$tmp/munged.log" --seed-file="$tmp/munge/munged.seed" >>"$tmp/munged.log" 2>&1 &
daemon_pids+=($!)
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || fail "munged did not create $socket"
echo nicsim | munge --socket="$socket" | unmunge --socket="$socket" >/dev/null || fail "munge cannot encode and decode a credential"

host=$(hostname -s)
hw=$(slurmd -C | head -n 1) || fail "slurmd -C cannot read this machine's hardware"
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
[ -n "$cpus" ] && [ -n "$mem" ] || fail "slurmd -C printed no CPUs/RealMemory: $hw"
cat >"$tmp/slurm.conf" <<EOF
# One node, this machine, written by scripts/slurm_test.sh.
ClusterName=nicsimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=nicsim Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$tmp/slurm.conf

# In the foreground (-D) so that this script knows their pids; their output goes to their logs.
slurmctld -D -i -f "$SLURM_CONF" >>"$tmp/slurmctld.log" 2>&1 &
daemon_pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >>"$tmp/slurmd.log" 2>&1 &
daemon_pids+=($!)
state=
for _ in $(seq 120); do
  state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || fail "the node did not become idle within 60 s (state: '${state:-no answer}')"
echo "slurm_test: one-node cluster up ($host, $cpus CPUs, $mem MB; ports $ctld_port/$slurmd_port)"

# The sweep: 6 points, 2 at a time per task, so 3 array tasks (at most 2 at once).
args=(--grid rx-usecs=0,20,50 --grid rate=1,3 --set sim.duration_us=300)
"$nicsim" sweep "${args[@]}" --jobs 2 --no-report --out "$tmp/local" 2>"$tmp/local.log" ||
  fail "the local sweep failed: $(cat "$tmp/local.log")"
cd "$tmp"  # the scripts must not depend on where they were submitted from
submitted=$("$nicsim" sweep "${args[@]}" --jobs 2 --slurm --array-parallel 2 --slurm-opt=--time=10 \
  --out "$tmp/sweep") || fail "nicsim sweep --slurm failed"
cd "$repo"
echo "$submitted"
array_id=$(sed -n 's/^array job \([0-9]*\) .*/\1/p' <<<"$submitted")
merge_id=$(sed -n 's/^merge job \([0-9]*\)$/\1/p' <<<"$submitted")
[ -n "$array_id" ] && [ -n "$merge_id" ] || fail "nicsim sweep --slurm printed no job ids: $submitted"
grep -q '^#SBATCH --array=0-2%2$' "$tmp/sweep/slurm/sweep.sbatch" || fail "sweep.sbatch: not --array=0-2%2"

job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u | tr '\n' ' '; }
done_states='^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) $'
merge_state=
for _ in $(seq 240); do
  merge_state=$(job_state "$merge_id")
  [[ "$merge_state" =~ $done_states ]] && break
  sleep 0.5
done
array_state=$(job_state "$array_id")
echo "slurm_test: array job $array_id: ${array_state:-?}; merge job $merge_id: ${merge_state:-?}"
[ "$array_state" = "COMPLETED " ] || fail "array job $array_id ended as '${array_state}'"
[ "$merge_state" = "COMPLETED " ] || fail "merge job $merge_id ended as '${merge_state}' (still running after 120 s?)"
for k in 0 1 2; do
  ls "$tmp"/sweep/slurm/logs/sweep-"${array_id}_$k".out >/dev/null || fail "no log of task $k"
  [ "$(cat "$tmp/sweep/slurm/status/$k")" = 0 ] || fail "task $k recorded a failure"
done
[ -f "$tmp/sweep/slurm/logs/merge-$merge_id.out" ] || fail "no log of the merge job"
cmp "$tmp/local/results.csv" "$tmp/sweep/results.csv" ||
  fail "the merged results.csv differs from the local unsharded sweep's"
[ "$(wc -l <"$tmp/sweep/results.csv")" -eq 7 ] || fail "results.csv has not 6 rows"
echo "slurm_test: passed (3 array tasks and a merge on Slurm $(sinfo -V | cut -d' ' -f2): results.csv identical to the local sweep)"
