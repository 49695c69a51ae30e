#!/usr/bin/env bash
# Installs the Debian packages nicsim needs, only those that are missing.
# Idempotent and non-interactive; run as root (or with sudo available).
# NICSIM_WITH_SLURM=1 also installs Slurm and munge (Debian's slurm-wlm), which only the real-Slurm
# test (scripts/slurm_test.sh) needs; the default install stays without them.
# NICSIM_WITH_VALGRIND=1 also installs valgrind, for scripts/bench_instructions.sh.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libsystemc-dev verilator
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
  libpcap-dev gtkwave tshark
  zlib1g-dev                        # --frames FILE.csv.gz
  python3 python3-matplotlib
  strace                            # sweep tests kill -9 a sweep at exact moments (fault injection)
  clang libclang-rt-14-dev          # libFuzzer targets: scripts/fuzz.sh (clang 14 is Debian 12's)
)
if [ "${NICSIM_WITH_SLURM:-0}" = 1 ]; then
  packages+=(slurm-wlm munge)        # slurmctld, slurmd, sbatch/squeue/scontrol; munged
fi
if [ "${NICSIM_WITH_VALGRIND:-0}" = 1 ]; then
  packages+=(valgrind)               # callgrind: scripts/bench_instructions.sh
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo_cmd[@]}" debconf-set-selections
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
