// AIS on the CUDA backend: M = 100 runs, 784 x 500 RBM, the full 14,500-step schedule.
// Floor: the same count of the two per-step products [100 x 784][784 x 500] and
// [100 x 500][500 x 784] issued through the backend's gemm alone (cuBLAS sgemm on one
// stream), timed in the same run, and the same products replayed from a captured CUDA
// graph of 256 steps (the launch-free floor of the graph-replayed AIS). Also timed: the
// AIS with its graphs off (AisConfig::cuda_graphs = false, the four operations per step
// launched one by one). Skips when no GPU is visible.
//   CRBM_AIS_MODEL=path.safetensors  use a trained checkpoint instead of random weights
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>

#include "bench_common.hpp"
#include "crbm/ais.hpp"
#include "crbm/cuda_graph.hpp"
#include "crbm/exact.hpp"

namespace {

constexpr int64_t kVisible = crbm::bench::kAisVisible, kRuns = crbm::bench::kAisRuns,
                  kFullSteps = crbm::bench::kAisFullSteps;

using crbm::bench::make_ais_rbm;

double gemm_floor_seconds(crbm::Backend& be, const crbm::Rbm& rbm, int64_t steps) {
  crbm::Matrix x(be, kRuns, rbm.visible()), pre(be, kRuns, rbm.hidden()),
      back(be, kRuns, rbm.visible());
  be.fill(x, 0.5f);
  be.synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < steps; ++k) {
    be.gemm(false, false, 1.0f, x, rbm.weights(), 0.0f, pre);
    be.gemm(false, true, 1.0f, pre, rbm.weights(), 0.0f, back);
  }
  be.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The same products, captured 256 steps to a graph and replayed.
double gemm_graph_floor_seconds(crbm::Backend& be, const crbm::Rbm& rbm, int64_t steps) {
  constexpr int64_t kChunk = 256;
  crbm::Matrix x(be, kRuns, rbm.visible()), pre(be, kRuns, rbm.hidden()),
      back(be, kRuns, rbm.visible());
  be.fill(x, 0.5f);
  crbm::GraphCapture capture;
  capture.begin(be);
  for (int64_t k = 0; k < kChunk; ++k) {
    be.gemm(false, false, 1.0f, x, rbm.weights(), 0.0f, pre);
    be.gemm(false, true, 1.0f, pre, rbm.weights(), 0.0f, back);
  }
  crbm::CudaGraph graph = capture.end();
  graph.launch();  // warm-up
  be.synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < steps; k += kChunk) graph.launch();
  be.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_AisGpu(benchmark::State& state) {
  if (crbm::bench::skip_without_gpu(state)) return;
  auto be = crbm::make_cuda_backend(0);
  crbm::Rbm rbm = make_ais_rbm(*be);
  crbm::AisConfig cfg;
  cfg.runs = kRuns;  // default schedule: 14,500 steps
  crbm::ais_log_partition(rbm, crbm::HostTensor{}, crbm::AisConfig{kRuns, {}, 100, 1, 1024});
  const double floor = gemm_floor_seconds(*be, rbm, kFullSteps);
  const double graph_floor = gemm_graph_floor_seconds(*be, rbm, kFullSteps);
  crbm::AisConfig eager = cfg;
  eager.cuda_graphs = false;
  const crbm::AisResult e = crbm::ais_log_partition(rbm, crbm::HostTensor{}, eager);
  crbm::AisResult r;
  for (auto _ : state) {
    r = crbm::ais_log_partition(rbm, crbm::HostTensor{}, cfg);
    state.SetIterationTime(r.seconds);
  }
  state.counters["eager_s"] = e.seconds;
  state.counters["log_z_eager"] = e.log_z;
  state.counters["cublas_graph_floor_s"] = graph_floor;
  state.counters["ratio_to_graph_floor"] = r.seconds / graph_floor;
  state.counters["us_per_step"] = 1e6 * r.seconds / static_cast<double>(r.steps);
  state.counters["cublas_floor_s"] = floor;
  state.counters["ratio_to_floor"] = r.seconds / floor;
  state.counters["log_z"] = r.log_z;
  state.SetLabel(be->describe());
}
BENCHMARK(BM_AisGpu)->UseManualTime()->Unit(benchmark::kSecond)->Iterations(3);

void BM_ExactEnumerationGpu(benchmark::State& state) {
  if (crbm::bench::skip_without_gpu(state)) return;
  const int64_t hidden = state.range(0);
  auto be = crbm::make_cuda_backend(0);
  crbm::Rbm rbm(*be, kVisible, hidden);
  rbm.init_random(3, 0.01f);
  crbm::ExactOptions opt;
  opt.batch = 1 << 16;
  double log_z = 0.0;
  for (auto _ : state) log_z = crbm::exact_log_partition(rbm, opt);
  benchmark::DoNotOptimize(log_z);
  state.counters["configs_per_s"] = benchmark::Counter(
      static_cast<double>(int64_t{1} << hidden), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ExactEnumerationGpu)->Arg(20)->Arg(25)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
