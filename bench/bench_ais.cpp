// AIS throughput on the CPU backend: M = 100 runs on a 784 x 500 RBM, per step two
// products [100 x 784][784 x 500] and [100 x 500][500 x 784] plus elementwise work.
// The floor is the same count of those two sgemm calls through OpenBLAS alone, timed in
// the same run; the exact-enumeration rate (configurations/s) is for a 784 x 20 RBM.
//   CRBM_AIS_MODEL=path.safetensors  use a trained checkpoint instead of random weights
//   CRBM_AIS_BENCH_STEPS=K           steps timed (default 725 = 5% of the 14,500 schedule;
//                                    the 14,500-step time is extrapolated and labelled so)
// Each iteration times the floor and then AIS back to back and the counters keep the
// fastest of each, so that load from other processes on a shared machine distorts less.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>

#include "bench_common.hpp"
#include "crbm/ais.hpp"
#include "crbm/exact.hpp"

namespace {

constexpr int64_t kVisible = crbm::bench::kAisVisible, kRuns = crbm::bench::kAisRuns,
                  kFullSteps = crbm::bench::kAisFullSteps;

int64_t bench_steps() {
  const char* s = std::getenv("CRBM_AIS_BENCH_STEPS");
  return s != nullptr ? std::max<int64_t>(3, std::atoll(s)) : kFullSteps / 20;
}

using crbm::bench::make_ais_rbm;

// Seconds for `steps` x (the two AIS products) with cblas_sgemm alone.
double sgemm_floor_seconds(int64_t steps, int64_t v, int64_t h) {
  std::vector<float> x(kRuns * v, 0.5f), w(v * h, 0.01f), pre(kRuns * h), back(kRuns * v);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < steps; ++k) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kRuns, h, v, 1.0f, x.data(), v, w.data(),
                h, 0.0f, pre.data(), h);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kRuns, v, h, 1.0f, pre.data(), h, w.data(),
                h, 0.0f, back.data(), v);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_AisCpu(benchmark::State& state) {
  auto be = crbm::make_cpu_backend(0);
  crbm::Rbm rbm = make_ais_rbm(*be);
  crbm::AisConfig cfg;
  cfg.runs = kRuns;
  cfg.steps = bench_steps();
  double floor = 1e300, seconds = 1e300;
  crbm::AisResult r;
  for (auto _ : state) {
    floor = std::min(floor, sgemm_floor_seconds(cfg.steps, rbm.visible(), rbm.hidden()));
    r = crbm::ais_log_partition(rbm, crbm::HostTensor{}, cfg);
    seconds = std::min(seconds, r.seconds);
    state.SetIterationTime(r.seconds);
  }
  state.counters["steps_timed"] = static_cast<double>(cfg.steps);
  state.counters["us_per_step"] = 1e6 * seconds / static_cast<double>(cfg.steps);
  state.counters["sgemm_floor_s"] = floor;
  state.counters["ratio_to_floor"] = seconds / floor;
  state.counters["extrapolated_14500_s"] = seconds * kFullSteps / static_cast<double>(cfg.steps);
  state.counters["log_z"] = r.log_z;
  state.SetLabel(be->describe());
}
BENCHMARK(BM_AisCpu)->UseManualTime()->Unit(benchmark::kSecond)->Iterations(3);

void BM_ExactEnumeration(benchmark::State& state) {
  const int64_t hidden = state.range(0);
  auto be = crbm::make_cpu_backend(0);
  crbm::Rbm rbm(*be, kVisible, hidden);
  rbm.init_random(3, 0.01f);
  double log_z = 0.0;
  for (auto _ : state) log_z = crbm::exact_log_partition(rbm);
  benchmark::DoNotOptimize(log_z);
  state.counters["configs_per_s"] = benchmark::Counter(
      static_cast<double>(int64_t{1} << hidden), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(be->describe());
}
BENCHMARK(BM_ExactEnumeration)->Arg(16)->Arg(20)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
