// Throughput of the library's CD-1 update (crbm::CdTrainer) of a dense binary RBM
// on the CUDA backend, for (V, H, B) = (784, 500, 100) and (4096, 4096, 1024),
// against the floor of the same five matrix products done by raw cuBLAS alone
// (measured in the same run):
//   h0 = sigm(v0 W + c) (B,H); v1 = sigm(h0s W' + b) (B,V); h1 = sigm(v1 W + c);
//   dW = (v0' h0 - v1' h1) / B (V,H); db, dc = column sums; momentum updates.
// Counters: samples/s, steps/s, floor_us (cuBLAS-only time of the five products)
// and step_over_floor = step time / floor time. Whole epochs are measured with
// the update replayed as a CUDA graph and eagerly; the 784-500 epoch is MNIST's
// (600 updates of 100 rows), the 4096-4096 one 100 updates of 1024 rows.
// Each runs in every product precision (prec: 0 fp32, 1 tf32, 2 bf16; the label
// names it, crbm::Precision), the floor in the same precision (cublasGemmEx with
// the TF32/BF16 compute type, as the backend does), so step_over_floor compares
// like with like:  bench_rbm_gpu --benchmark_filter='prec:'  (docs/results/precision.md).
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "bench_common.hpp"
#include "crbm/backend.hpp"
#include "crbm/cuda_graph.hpp"
#include "crbm/train.hpp"

namespace {

using crbm::Backend;
using crbm::CMatRef;
using crbm::Matrix;
using crbm::RngKey;

struct RbmShape {
  int64_t visible;
  int64_t hidden;
  int64_t batch;
};

RbmShape shape_of(const benchmark::State& state) {
  return {state.range(0), state.range(1), state.range(2)};
}

// The library's own trainer on a GPU-resident dataset of `updates` full batches
// of binary data (pixels on with probability 0.3).
struct TrainerSetup {
  Matrix data;
  crbm::Rbm rbm;
  crbm::CdTrainer trainer;

  TrainerSetup(Backend& be, RbmShape s, int64_t updates, bool graphs)
      : data(be, s.batch * updates, s.visible),
        rbm(be, s.visible, s.hidden),
        trainer(rbm, config(s, graphs)) {
    rbm.init_random(1, 0.01f);
    be.fill(data, 0.3f);
    be.sample_bernoulli(data, data, RngKey{1, 1, 0});
  }
  static crbm::TrainConfig config(RbmShape s, bool graphs) {
    crbm::TrainConfig cfg;
    cfg.batch_size = s.batch;
    cfg.use_cuda_graphs = graphs;
    cfg.divergence_check_every = 1 << 30;  // the epoch-end check still runs
    return cfg;
  }
};

// Created once and deliberately never destroyed: tearing down cuBLAS from a static
// destructor can run after the CUDA runtime has shut down.
Backend& gpu() {
  static Backend* backend = crbm::make_cuda_backend(0).release();
  return *backend;
}

using crbm::bench::skip_without_gpu;

// Aborts, naming the call, where a CUDA runtime or cuBLAS call failed.
void check(bool ok, const char* call, const char* error) {
  if (ok) return;
  std::fprintf(stderr, "%s failed: %s\n", call, error);
  std::abort();
}
#define BENCH_CUDA(expr)                                     \
  do {                                                       \
    const cudaError_t e_ = (expr);                           \
    check(e_ == cudaSuccess, #expr, cudaGetErrorString(e_)); \
  } while (0)
#define BENCH_CUBLAS(expr)                                                \
  do {                                                                    \
    const cublasStatus_t s_ = (expr);                                     \
    check(s_ == CUBLAS_STATUS_SUCCESS, #expr, cublasGetStatusString(s_)); \
  } while (0)

// The product precision of a benchmark: its last argument (0 fp32, 1 tf32, 2 bf16).
crbm::Precision precision_of(const benchmark::State& state, int arg) {
  const int64_t p = state.range(arg);
  return p == 1 ? crbm::Precision::tf32 : p == 2 ? crbm::Precision::bf16 : crbm::Precision::fp32;
}

// Row-major C (m x n) = alpha op(A) op(B) + beta C via column-major cuBLAS, in `precision`
// (fp32: sgemm; tf32/bf16: GemmEx with fp32 data and the reduced compute type).
void rm_gemm(cublasHandle_t h, crbm::Precision precision, bool ta, bool tb, int m, int n, int k,
             float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c,
             int ldc) {
  const cublasOperation_t op_b = tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                          op_a = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (precision == crbm::Precision::fp32) {
    BENCH_CUBLAS(cublasSgemm(h, op_b, op_a, n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
    return;
  }
  const cublasComputeType_t compute = precision == crbm::Precision::tf32
                                          ? CUBLAS_COMPUTE_32F_FAST_TF32
                                          : CUBLAS_COMPUTE_32F_FAST_16BF;
  BENCH_CUBLAS(cublasGemmEx(h, op_b, op_a, n, m, k, &alpha, b, CUDA_R_32F, ldb, a, CUDA_R_32F, lda,
                            &beta, c, CUDA_R_32F, ldc, compute, CUBLAS_GEMM_DEFAULT));
}

// Seconds per step of the five CD-1 products done by cuBLAS alone (cached per shape and
// precision).
double cublas_floor_seconds(RbmShape s, crbm::Precision precision) {
  static std::map<std::tuple<int64_t, int64_t, int64_t, int>, double> cache;
  const auto key = std::make_tuple(s.visible, s.hidden, s.batch, static_cast<int>(precision));
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const int V = static_cast<int>(s.visible), H = static_cast<int>(s.hidden),
            B = static_cast<int>(s.batch);
  cudaStream_t stream;
  cublasHandle_t h;
  BENCH_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  BENCH_CUBLAS(cublasCreate(&h));
  BENCH_CUBLAS(cublasSetStream(h, stream));
  float *w, *dw, *v0, *h0, *v1, *h1;
  BENCH_CUDA(cudaMalloc(&w, sizeof(float) * V * H));
  BENCH_CUDA(cudaMalloc(&dw, sizeof(float) * V * H));
  BENCH_CUDA(cudaMalloc(&v0, sizeof(float) * B * V));
  BENCH_CUDA(cudaMalloc(&v1, sizeof(float) * B * V));
  BENCH_CUDA(cudaMalloc(&h0, sizeof(float) * B * H));
  BENCH_CUDA(cudaMalloc(&h1, sizeof(float) * B * H));
  BENCH_CUDA(cudaMemsetAsync(w, 0, sizeof(float) * V * H, stream));
  BENCH_CUDA(cudaMemsetAsync(v0, 0, sizeof(float) * B * V, stream));
  const float inv_b = 1.0f / static_cast<float>(B);
  auto five_products = [&] {
    rm_gemm(h, precision, false, false, B, H, V, 1.0f, v0, V, w, H, 0.0f, h0, H);
    rm_gemm(h, precision, false, true, B, V, H, 1.0f, h0, H, w, H, 0.0f, v1, V);
    rm_gemm(h, precision, false, false, B, H, V, 1.0f, v1, V, w, H, 0.0f, h1, H);
    rm_gemm(h, precision, true, false, V, H, B, inv_b, v0, V, h0, H, 0.0f, dw, H);
    rm_gemm(h, precision, true, false, V, H, B, -inv_b, v1, V, h1, H, 1.0f, dw, H);
  };
  for (int i = 0; i < 5; ++i) five_products();  // warm-up (heuristics, clocks)
  cudaEvent_t start, stop;
  BENCH_CUDA(cudaEventCreate(&start));
  BENCH_CUDA(cudaEventCreate(&stop));
  const int reps = 50;
  BENCH_CUDA(cudaEventRecord(start, stream));
  for (int i = 0; i < reps; ++i) five_products();
  BENCH_CUDA(cudaEventRecord(stop, stream));
  BENCH_CUDA(cudaEventSynchronize(stop));
  float ms = 0.0f;
  BENCH_CUDA(cudaEventElapsedTime(&ms, start, stop));
  const double seconds = ms * 1e-3 / reps;
  BENCH_CUDA(cudaEventDestroy(start));
  BENCH_CUDA(cudaEventDestroy(stop));
  for (float* p : {w, dw, v0, v1, h0, h1}) BENCH_CUDA(cudaFree(p));
  BENCH_CUBLAS(cublasDestroy(h));
  BENCH_CUDA(cudaStreamDestroy(stream));
  cache[key] = seconds;
  return seconds;
}

// Steps per timed iteration: amortises the synchronisation that ends each one.
constexpr int kStepsPerIteration = 10;

void report(benchmark::State& state, RbmShape s, crbm::Precision precision, double seconds,
            int64_t steps) {
  state.SetLabel(crbm::to_string(precision));
  const double per_step = seconds / static_cast<double>(steps);
  const double floor = cublas_floor_seconds(s, precision);
  state.counters["samples/s"] = static_cast<double>(s.batch) / per_step;
  state.counters["steps/s"] = 1.0 / per_step;
  state.counters["step_us"] = per_step * 1e6;
  state.counters["floor_us"] = floor * 1e6;
  state.counters["step_over_floor"] = per_step / floor;
}

// Times `steps` updates done by `run` in each iteration of the state, then reports.
// Returns the mean seconds per update.
template <class Run>
double time_steps(benchmark::State& state, RbmShape s, crbm::Precision precision, int64_t steps,
                  Run run) {
  double total = 0.0;
  int64_t done = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(dt);
    total += dt;
    done += steps;
  }
  report(state, s, precision, total, done);
  return done > 0 ? total / static_cast<double>(done) : 0.0;
}

// Eager CdTrainer::update on one fixed minibatch: every op is a kernel launch.
void BM_Cd1Step(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const RbmShape s = shape_of(state);
  const crbm::Precision precision = precision_of(state, 3);
  Backend& be = gpu();
  be.set_precision(precision);  // before the trainer exists (and captures any graph)
  TrainerSetup setup(be, s, 1, false);
  setup.trainer.update(setup.data);  // warm-up: allocates the trainer's buffers
  be.synchronize();
  time_steps(state, s, precision, kStepsPerIteration, [&] {
    for (int i = 0; i < kStepsPerIteration; ++i) setup.trainer.update(setup.data);
    be.synchronize();
  });
}

// Whole CdTrainer::train_epoch (shuffle, updates, epoch statistics), with the
// full-batch update replayed as a CUDA graph (range(3) = 1) or eager (0).
void BM_TrainEpoch(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const RbmShape s = shape_of(state);
  const crbm::Precision precision = precision_of(state, 4);
  const int64_t updates = s.visible == 784 ? 600 : 100;  // MNIST: 60,000 rows
  Backend& be = gpu();
  be.set_precision(precision);
  TrainerSetup setup(be, s, updates, state.range(3) != 0);
  setup.trainer.train_epoch(setup.data, CMatRef{}, s.batch);  // warm-up epoch
  const double per_update = time_steps(state, s, precision, updates, [&] {
    setup.trainer.train_epoch(setup.data, CMatRef{}, s.batch);  // synchronises at its end
  });
  state.counters["epoch_ms"] = per_update * static_cast<double>(updates) * 1e3;
}

void BM_CublasFloor(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const RbmShape s = shape_of(state);
  const crbm::Precision precision = precision_of(state, 3);
  state.SetLabel(crbm::to_string(precision));
  double seconds = 0.0;
  for (auto _ : state) {
    seconds = cublas_floor_seconds(s, precision);
    state.SetIterationTime(seconds);
  }
  state.counters["floor_us"] = seconds * 1e6;
  state.counters["samples/s"] = static_cast<double>(s.batch) / seconds;
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"V", "H", "B", "prec"});
  for (int64_t prec : {0, 1, 2}) {
    b->Args({784, 500, 100, prec});
    b->Args({4096, 4096, 1024, prec});
  }
}

BENCHMARK(BM_Cd1Step)->Apply(shapes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TrainEpoch)
    ->ArgNames({"V", "H", "B", "graph", "prec"})
    ->ArgsProduct({{784}, {500}, {100}, {0, 1}, {0, 1, 2}})
    ->ArgsProduct({{4096}, {4096}, {1024}, {0, 1}, {0, 1, 2}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CublasFloor)->Apply(shapes)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
