#!/usr/bin/env bash
# The test command (README, .ci/run): configures and builds libcrbm into
# build/ (benchmarks off; the CUDA backend too when nvcc is found) and runs
# every ctest suite; GPU tests skip with the reason when there is no GPU. Then
# the Python package (docs/python.md): a virtual environment under the build
# directory ($build_dir/python-venv, pip packages from PyPI), `pip install .`
# CPU-only into a persistent build tree ($build_dir/python, ccache when present)
# and the pytest suite tests/python (CRBM_SKIP_PYTHON=1 skips this part).
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

if [[ "${CRBM_SKIP_PYTHON:-0}" == 1 ]]; then
  echo "test.sh: CRBM_SKIP_PYTHON=1: Python package not built or tested"
  exit 0
fi
venv="$build_dir/python-venv"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  "nanobind>=2.0" "scikit-build-core>=0.10" "numpy>=1.21" "scikit-learn>=1.6" "pytest>=7"
py_args=(-Cbuild-dir="$build_dir/python" -Ccmake.define.CRBM_CUDA=OFF)
if command -v ccache >/dev/null; then
  py_args+=(-Ccmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
CMAKE_BUILD_PARALLEL_LEVEL=$jobs "$venv/bin/python" -m pip install -q --disable-pip-version-check \
  --no-build-isolation "${py_args[@]}" .
# pytest exits 5 when it collects nothing: set -e makes that (like any failure) fail here.
# One BLAS thread for NumPy/scikit-learn: on 2 shared cores more threads only contend.
CRBM_CLI="$build_dir/tools/crbm" OPENBLAS_NUM_THREADS=1 "$venv/bin/python" -m pytest -q -rs \
  -p no:cacheprovider tests/python
