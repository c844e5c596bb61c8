#!/usr/bin/env bash
# GPU check for libcrbm, to run on a machine with an NVIDIA GPU: configures a
# Release build with CRBM_CUDA=ON, builds, runs the whole ctest suite (log kept),
# runs every bench_* binary with JSON output and writes a markdown report
# (device, commit, date, test summary, compute-sanitizer counts, benchmark table)
# to $1 (default: docs/results/gpu-<date>). compute-sanitizer's memcheck (with leak
# checking), racecheck, initcheck and synccheck run over the parity suites
# (crbm_parity_tests, crbm_op_table_tests); SKIP_SANITIZER=1 skips them.
#
#   bench/gpu_check.sh [OUTPUT_DIR]
# Environment: BUILD_DIR (default build-gpu-check), CUDA_ARCHS (CMAKE_CUDA_ARCHITECTURES,
# default: the project's default), JOBS (default: nproc), SKIP_APT=1 to skip apt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATE="$(date -u +%Y-%m-%d)"
OUT="${1:-docs/results/gpu-${DATE}}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
BUILD_DIR="${BUILD_DIR:-build-gpu-check}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 4)}"
LOG="$OUT/gpu_check.log"
: >"$LOG"

say() { echo "[gpu_check] $*" | tee -a "$LOG"; }

# ---- 1. dependencies (optional: the GPU machine may have no network) ----
PACKAGES=(libopenblas-openmp-dev libcli11-dev nlohmann-json3-dev libfmt-dev libpng-dev zlib1g-dev
  liblinear-dev libgtest-dev libbenchmark-dev)
if [[ "${SKIP_APT:-0}" != "1" ]] && command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    SUDO=""
    [[ "$(id -u)" != "0" ]] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
    say "installing missing packages: ${missing[*]} (failure is not fatal)"
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >>"$LOG" 2>&1; then
      say "apt-get failed (no network or no root?); continuing with what is installed"
    fi
  fi
fi

# ---- 2. device ----
DEVICE="unknown (nvidia-smi not found)"
DRIVER=""
if command -v nvidia-smi >/dev/null 2>&1; then
  DEVICE="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -n1 || true)"
  DRIVER="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n1 || true)"
  nvidia-smi >>"$LOG" 2>&1 || true
fi
COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
DIRTY=""
[[ -n "$(git status --porcelain 2>/dev/null || true)" ]] && DIRTY=" (uncommitted changes)"
NVCC="$(nvcc --version 2>/dev/null | tail -n1 || echo 'nvcc not on PATH')"
say "device: $DEVICE, driver $DRIVER; commit $COMMIT$DIRTY; $NVCC"

# ---- 3. configure + build ----
CONFIGURE=(cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCRBM_CUDA=ON)
[[ -n "${CUDA_ARCHS:-}" ]] && CONFIGURE+=("-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHS}")
BUILD_OK=1
say "configure: ${CONFIGURE[*]}"
if ! "${CONFIGURE[@]}" >>"$LOG" 2>&1; then
  BUILD_OK=0
  say "configure FAILED (see $LOG)"
elif ! cmake --build "$BUILD_DIR" -j "$JOBS" >>"$LOG" 2>&1; then
  # Keep going: build every target that can be built, then test and bench those.
  BUILD_OK=2
  say "build FAILED (see $LOG); building the remaining targets with keep-going"
  if [[ -f "$BUILD_DIR/build.ninja" ]]; then
    cmake --build "$BUILD_DIR" -j "$JOBS" -- -k 0 >>"$LOG" 2>&1 || true
  else
    cmake --build "$BUILD_DIR" -j "$JOBS" -- -k >>"$LOG" 2>&1 || true
  fi
  [[ -d "$BUILD_DIR/tests" || -d "$BUILD_DIR/bench" ]] || BUILD_OK=0
fi
BUILD_STATUS="ok"
((BUILD_OK == 2)) && BUILD_STATUS="FAILED for some targets (partial; see gpu_check.log)"
((BUILD_OK == 0)) && BUILD_STATUS="FAILED"

# ---- 4. tests (a failure is reported, not fatal) ----
TEST_SUMMARY="not run (build failed)"
TEST_LOG="$OUT/ctest.log"
if ((BUILD_OK)); then
  say "running ctest"
  set +e
  (cd "$BUILD_DIR" && ctest --output-on-failure --timeout 900) >"$TEST_LOG" 2>&1
  TEST_RC=$?
  set -e
  TEST_SUMMARY="$(grep -E 'tests passed|tests failed' "$TEST_LOG" | tail -n1 || true)"
  [[ -z "$TEST_SUMMARY" ]] && TEST_SUMMARY="ctest exited with status $TEST_RC (no summary line)"
  say "tests: $TEST_SUMMARY (exit $TEST_RC)"
fi

# ---- 4b. compute-sanitizer over the parity suites (errors counted per tool) ----
SANITIZER_ROWS=()
SANITIZER="$(command -v compute-sanitizer || true)"
[[ -z "$SANITIZER" && -x /usr/local/cuda/bin/compute-sanitizer ]] && SANITIZER=/usr/local/cuda/bin/compute-sanitizer
if ((BUILD_OK)) && [[ "${SKIP_SANITIZER:-0}" != "1" ]]; then
  if [[ -z "$SANITIZER" ]]; then
    SANITIZER_ROWS+=("| all | not run: compute-sanitizer not found | |")
  else
    for tool in memcheck racecheck initcheck synccheck; do
      extra=()
      [[ "$tool" == memcheck ]] && extra=(--leak-check full)
      for suite in crbm_parity_tests crbm_op_table_tests; do
        bin="$BUILD_DIR/tests/$suite"
        [[ -x "$bin" ]] || continue
        slog="$OUT/sanitizer-$tool-$suite.log"
        say "compute-sanitizer --tool $tool $suite"
        set +e
        "$SANITIZER" --tool "$tool" "${extra[@]}" --error-exitcode 99 "$bin" >"$slog" 2>&1
        rc=$?
        set -e
        # The summary line: "========= ERROR SUMMARY: N errors" (racecheck: "RACECHECK SUMMARY").
        summary="$(grep -E '(ERROR|RACECHECK) SUMMARY' "$slog" | tail -n1 | sed 's/^=* *//' || true)"
        [[ -z "$summary" ]] && summary="no summary line (exit $rc)"
        SANITIZER_ROWS+=("| $tool | $suite | $summary (exit $rc) |")
      done
    done
  fi
fi

# ---- 5. benchmarks ----
BENCH_JSON=()
if ((BUILD_OK)); then
  while IFS= read -r bin; do
    name="$(basename "$bin")"
    json="$OUT/${name}.json"
    say "running $name"
    set +e
    "$bin" --benchmark_format=json --benchmark_out="$json" --benchmark_out_format=json \
      >"$OUT/${name}.stdout" 2>>"$LOG"
    rc=$?
    set -e
    if ((rc != 0)); then
      say "$name exited with status $rc"
    fi
    [[ -s "$json" ]] && BENCH_JSON+=("$json")
  done < <(find "$BUILD_DIR/bench" -maxdepth 1 -type f -name 'bench_*' -perm -u+x | sort)
fi

# ---- 6. report ----
REPORT="$OUT/README.md"
{
  echo "# libcrbm GPU check, $DATE"
  echo
  echo "| | |"
  echo "| --- | --- |"
  echo "| device | $DEVICE |"
  echo "| driver | ${DRIVER:-unknown} |"
  echo "| toolkit | $NVCC |"
  echo "| commit | \`$COMMIT\`$DIRTY |"
  echo "| date (UTC) | $(date -u '+%Y-%m-%d %H:%M') |"
  echo "| build | $BUILD_STATUS (Release, CRBM_CUDA=ON${CUDA_ARCHS:+, arch $CUDA_ARCHS}) |"
  echo "| tests | $TEST_SUMMARY |"
  echo
  if [[ -f "$TEST_LOG" ]] && grep -q -E '^\s*[0-9]+ - .*\((Failed|Timeout|Subprocess|SEGFAULT|Exception)' "$TEST_LOG"; then
    echo "## Failed tests"
    echo
    echo '```'
    grep -E '^\s*[0-9]+ - .*\((Failed|Timeout|Subprocess|SEGFAULT|Exception)' "$TEST_LOG" || true
    echo '```'
    echo
  fi
  if ((${#SANITIZER_ROWS[@]})); then
    echo "## compute-sanitizer"
    echo
    echo "| tool | suite | result |"
    echo "| --- | --- | --- |"
    printf '%s\n' "${SANITIZER_ROWS[@]}"
    echo
  fi
  echo "## Benchmarks"
  echo
  if ((${#BENCH_JSON[@]})) && command -v python3 >/dev/null 2>&1; then
    python3 - "${BENCH_JSON[@]}" <<'PY'
import json, sys
skip = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
        "iterations", "real_time", "cpu_time", "time_unit", "family_index",
        "per_family_instance_index", "aggregate_name", "aggregate_unit", "error_occurred",
        "error_message", "label"}
for path in sys.argv[1:]:
    with open(path) as f:
        data = json.load(f)
    rows = data.get("benchmarks", [])
    print(f"### {path.rsplit('/', 1)[-1]}\n")
    if not rows:
        print("(no results)\n")
        continue
    counters = []
    for r in rows:
        for k in r:
            if k not in skip and k not in counters and isinstance(r[k], (int, float)):
                counters.append(k)
    print("| benchmark | time | " + " | ".join(counters) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in counters) + " |")
    for r in rows:
        if r.get("error_occurred"):
            print(f"| {r['name']} | error: {r.get('error_message', '')} |" + " |" * len(counters))
            continue
        t = f"{r.get('real_time', 0):.4g} {r.get('time_unit', '')}"
        cells = []
        for k in counters:
            v = r.get(k)
            cells.append("" if v is None else f"{v:.4g}")
        print(f"| {r['name']} | {t} | " + " | ".join(cells) + " |")
    print()
PY
  elif ((${#BENCH_JSON[@]})); then
    echo "python3 not found; raw results:"
    for j in "${BENCH_JSON[@]}"; do echo "- $(basename "$j")"; done
  else
    echo "(no benchmark results)"
  fi
  echo
  echo "Logs: \`gpu_check.log\` (configure/build/bench stderr), \`ctest.log\`; raw JSON per benchmark binary."
} >"$REPORT"
say "report written to $REPORT"
