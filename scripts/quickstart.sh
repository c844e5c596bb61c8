#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds libcrbm
# and the crbm command (CPU only, so no CUDA compile time), and trains an RBM
# on the built-in bars-and-stripes data: progress per epoch, the exact
# log-likelihood, and out/quickstart/{model.safetensors, filters.png,
# samples.png, metrics.jsonl}. Extra arguments go to `crbm train`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build-quickstart -DCMAKE_BUILD_TYPE=Release -DCRBM_CUDA=OFF \
  -DCRBM_BUILD_TESTS=OFF -DCRBM_BUILD_BENCH=OFF
cmake --build build-quickstart -j "${CRBM_JOBS:-2}" --target crbm_cli
mkdir -p out/quickstart
./build-quickstart/tools/crbm train --out out/quickstart/model.safetensors \
  --filters out/quickstart/filters.png --samples out/quickstart/samples.png \
  --metrics out/quickstart/metrics.jsonl "$@"
