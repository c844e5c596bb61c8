// CPU throughput of dense-RBM CD-1 training (784 visible, 500 hidden, batch
// 100 by default), reported in samples/s next to the floor measured in the same
// run: the five matrix products of a CD-1 step (v0 W, h W', v1 W, v0'h0, v1'h1)
// done by OpenBLAS sgemm alone on the same shapes. ratio = step time / floor.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdlib>
#include <vector>

#include "crbm/data.hpp"
#include "crbm/train.hpp"

namespace {

constexpr int64_t kVisible = 784;
constexpr int64_t kHidden = 500;
constexpr int64_t kBatch = 100;
constexpr int64_t kEpochRows = 60000;

// MNIST training images when CRBM_DATA_DIR points at ../shared/data, else
// random binary data of the same shape (the speed does not depend on values).
const crbm::HostTensor& epoch_data() {
  static crbm::HostTensor data = [] {
    if (const char* dir = std::getenv("CRBM_DATA_DIR")) {
      try {
        crbm::LoadOptions opt;
        opt.binarize = crbm::Binarize::stochastic;
        return crbm::load_dataset(std::string("mnist:") + dir + "/mnist:train", opt).x;
      } catch (const crbm::Error&) {
      }
    }
    crbm::HostTensor t({kEpochRows, kVisible});
    for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = float((i * 2654435761u >> 7) & 1u);
    return t;
  }();
  return data;
}

double measured_floor_seconds_per_batch = 0.0;

void BM_Cd1Epoch(benchmark::State& state) {
  auto backend = crbm::make_cpu_backend(static_cast<int>(state.range(0)));
  const crbm::HostTensor& host = epoch_data();
  crbm::Matrix data = crbm::Matrix::from_host(*backend, host);
  crbm::Rbm rbm(*backend, kVisible, kHidden);
  rbm.init_random(1, 0.01f, &host);
  crbm::TrainConfig cfg;
  cfg.batch_size = kBatch;
  cfg.divergence_check_every = 1 << 30;  // the epoch-end check still runs
  crbm::CdTrainer trainer(rbm, cfg);
  const int64_t rows = data.rows();
  for (auto _ : state) {
    // The update loop alone (epoch statistics are measured separately below).
    for (int64_t first = 0; first < rows; first += kBatch) {
      trainer.update(data.rows_view(first, std::min(kBatch, rows - first)));
    }
  }
  const double batches = double((rows + kBatch - 1) / kBatch) * double(state.iterations());
  state.counters["samples_per_s"] =
      benchmark::Counter(double(rows) * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["batches"] = batches;
  state.SetLabel(backend->describe());
}

void BM_FloorFiveSgemms(benchmark::State& state) {
  auto backend = crbm::make_cpu_backend(static_cast<int>(state.range(0)));  // sets threads
  std::vector<float> v0(kBatch * kVisible, 1.0f), v1(kBatch * kVisible, 0.5f);
  std::vector<float> h0(kBatch * kHidden, 0.5f), h1(kBatch * kHidden, 0.25f);
  std::vector<float> w(kVisible * kHidden, 0.01f), grad(kVisible * kHidden, 0.0f);
  const int64_t rows = kEpochRows;
  for (auto _ : state) {
    for (int64_t first = 0; first < rows; first += kBatch) {
      const int b = static_cast<int>(kBatch), v = static_cast<int>(kVisible),
                h = static_cast<int>(kHidden);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, h, v, 1.0f, v0.data(), v, w.data(),
                  h, 0.0f, h0.data(), h);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, v, h, 1.0f, h0.data(), h, w.data(), h,
                  0.0f, v1.data(), v);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, h, v, 1.0f, v1.data(), v, w.data(),
                  h, 0.0f, h1.data(), h);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, v, h, b, 1.0f, v0.data(), v, h0.data(),
                  h, 0.0f, grad.data(), h);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, v, h, b, -1.0f, v1.data(), v, h1.data(),
                  h, 1.0f, grad.data(), h);
    }
    benchmark::DoNotOptimize(grad.data());
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(double(rows) * double(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

// Threads: 0 = all cores (one budget shared by OpenBLAS and the loops).
BENCHMARK(BM_Cd1Epoch)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_FloorFiveSgemms)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_MAIN();
