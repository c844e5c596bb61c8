#!/usr/bin/env bash
# CPU benchmark of dense-RBM CD-1 (784x500, batch 100, one 60,000-row epoch):
# libcrbm vs scikit-learn's BernoulliRBM side by side in one run, each next to
# its floor (OpenBLAS sgemm alone / numpy alone on the same products).
# Usage: bench/run_cpu_bench.sh [BUILD_DIR] [OUT.md]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${2:-$root/docs/results/cpu-rbm-bench.md}
py=/usr/bin/python3

if ! $py -c "import sklearn, numpy" 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn python3-numpy
  else
    echo "need python3-sklearn and python3-numpy (apt-get install python3-sklearn)" >&2
    exit 1
  fi
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCRBM_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_rbm_cpu >/dev/null

tmp=$(mktemp -d)
"$build/bench/bench_rbm_cpu" --benchmark_format=json --benchmark_out="$tmp/crbm.json" \
  --benchmark_out_format=json >/dev/null
$py "$root/bench/peers/sklearn_rbm.py" >"$tmp/sklearn.json"

$py - "$tmp/crbm.json" "$tmp/sklearn.json" "$out" <<'PY'
import json, sys, subprocess, datetime, platform
crbm = json.load(open(sys.argv[1]))
sk = json.load(open(sys.argv[2]))
rate = {b["name"].split("/")[0]: b["samples_per_s"] for b in crbm["benchmarks"]}
label = next(b.get("label", "") for b in crbm["benchmarks"] if b["name"].startswith("BM_Cd1Epoch"))
ours, floor = rate["BM_Cd1Epoch"], rate["BM_FloorFiveSgemms"]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
lines = [
  "# CPU benchmark: dense RBM CD-1, 784 visible x 500 hidden, batch 100, one 60,000-row epoch",
  "",
  f"Measured {datetime.date.today()} on `{cpu}` ({crbm['context']['num_cpus']} cores), commit `{commit}`,",
  f"with `bench/run_cpu_bench.sh` (libcrbm: `{label}`; scikit-learn {sk['sklearn']}, numpy {sk['numpy']}).",
  "",
  "| what | samples/s | ratio |",
  "| --- | ---: | --- |",
  f"| libcrbm CdTrainer CD-1 | {ours:,.0f} | {ours/sk['sklearn_samples_per_s']:.2f}x scikit-learn |",
  f"| floor: the five sgemm products alone (OpenBLAS, same run) | {floor:,.0f} | libcrbm at {ours/floor:.2f} of the floor |",
  f"| scikit-learn BernoulliRBM (PCD-1, float32) | {sk['sklearn_samples_per_s']:,.0f} | |",
  f"| numpy floor: the same five products | {sk['numpy_floor_samples_per_s']:,.0f} | |",
  "",
  "Timings are wall-clock over one epoch; both programs use all cores.",
]
open(sys.argv[3], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
rm -rf "$tmp"
