#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: one per file parser; clang, the
# library instrumented with ASan + UBSan) into build-fuzz/ and runs each for a
# fixed time on a copy of its seed corpus (tests/fuzz/corpus/<parser>). Any
# crash, sanitizer report, leak, hang (> 10 s per input) or non-crbm::Error
# exception fails the script; the crashing input is kept in build-fuzz/crashes/.
# Needs: scripts/install-deps.sh --fuzz (clang, libclang-rt-14-dev, libomp-dev).
#   CRBM_FUZZ_SECONDS   seconds per target (default 25)
#   CRBM_FUZZ_TARGETS   space-separated subset (default: all seven)
#   CRBM_JOBS           build jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${CRBM_FUZZ_SECONDS:-25}
targets=${CRBM_FUZZ_TARGETS:-"safetensors npy idx amat docword image toml"}
build=build-fuzz
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DCRBM_CUDA=OFF -DCRBM_BUILD_FUZZ=ON -DCRBM_BUILD_TESTS=OFF \
  -DCRBM_BUILD_TOOLS=OFF -DCRBM_BUILD_BENCH=OFF -DBUILD_SHARED_LIBS=OFF "$@" > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
fuzzers=()
for t in $targets; do fuzzers+=("crbm_fuzz_$t"); done
cmake --build "$build" -j "${CRBM_JOBS:-2}" --target "${fuzzers[@]}"

mkdir -p "$build/crashes"
status=0
summary=()
for t in $targets; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/"$t"/* "$work"/
  log="$build/fuzz-$t.log"
  # OpenBLAS and OpenMP threads are not needed by the parsers.
  if OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/tests/fuzz/crbm_fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" "$work" \
    > "$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    tail -n 60 "$log"
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  corpus=$(ls "$work" | wc -l)
  summary+=("$(printf '%-12s %-6s %10s executions, corpus %d files' "$t" "$result" "$runs" "$corpus")")
  rm -rf "$work"
done
echo "== fuzz summary (${seconds} s per target; crashes in $build/crashes/)"
printf '%s\n' "${summary[@]}"
exit $status
