#!/usr/bin/env bash
# The test command (README, .ci/run): configures and builds libcrbm into
# build/ (benchmarks off; the CUDA backend too when nvcc is found) and runs
# every ctest suite; GPU tests skip with the reason when there is no GPU.
# Extra arguments go to the cmake configure step, e.g. -DCRBM_CUDA=OFF.
# CRBM_BUILD_DIR (default build) and CRBM_JOBS (default 2) can be overridden.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${CRBM_JOBS:-2}
build_dir=${CRBM_BUILD_DIR:-build}
cuda_args=()
# CUDA code is compiled for the project's default architectures (80;90) when
# nvcc is found: device code is a few seconds of the build (measured), and CI
# thereby proves it compiles. CRBM_TEST_CUDA_ARCHS overrides (e.g. native).
if [[ -n "${CRBM_TEST_CUDA_ARCHS:-}" ]]; then
  cuda_args+=("-DCMAKE_CUDA_ARCHITECTURES=${CRBM_TEST_CUDA_ARCHS}")
fi

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCRBM_BUILD_BENCH=OFF "${cuda_args[@]}" "$@"
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
