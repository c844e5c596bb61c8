#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages libcrbm needs to build and test
# (CMake, g++, clang-format, OpenBLAS, CLI11, nlohmann-json, fmt, libpng, zlib, libdeflate
# (optional in CMake: faster gzip reads), liblinear,
# GoogleTest, Google Benchmark; python3-dev + python3-venv for the Python package that
# scripts/test.sh builds in a virtual environment). Does nothing when everything
# is present; when not root, prints what is missing and the apt-get command to run.
#   --plots   also python3-matplotlib + python3-numpy (scripts/plot_metrics.py)
#   --bench   also python3-numpy + python3-sklearn (the CPU peer benchmark)
#   --fuzz    also clang + libFuzzer/sanitizer runtimes + OpenMP for clang (scripts/fuzz.sh)
set -euo pipefail

packages=(cmake g++ make pkg-config clang-format libopenblas-openmp-dev libcli11-dev nlohmann-json3-dev
  libfmt-dev libpng-dev zlib1g-dev libdeflate-dev liblinear-dev libgtest-dev libbenchmark-dev python3-dev
  python3-venv)
for arg in "$@"; do
  case "$arg" in
    --plots) packages+=(python3-numpy python3-matplotlib) ;;
    --bench) packages+=(python3-numpy python3-matplotlib python3-sklearn) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev libomp-dev) ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg' (use --plots, --bench, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps.sh: all ${#packages[@]} packages are installed"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: missing packages: ${missing[*]}" >&2
  echo "install-deps.sh: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
