// Throughput of one CD-1 update of a dense binary RBM on the CUDA backend, for
// (V, H, B) = (784, 500, 100) and (4096, 4096, 1024), against the floor of the
// same five matrix products done by raw cuBLAS alone (measured in the same run):
//   h0 = sigm(v0 W + c) (B,H); v1 = sigm(h0s W' + b) (B,V); h1 = sigm(v1 W + c);
//   dW = (v0' h0 - v1' h1) / B (V,H); db, dc = column sums; momentum updates.
// Counters: samples/s, steps/s, floor_us (cuBLAS-only time of the five products)
// and step_over_floor = step time / floor time. At MNIST size a CUDA-graph
// replay of the same step is measured too.
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

#include "crbm/backend.hpp"
#include "crbm/cuda_graph.hpp"

namespace {

using crbm::Activation;
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

// Parameters, momentum, gradients and the activations of one minibatch.
struct DenseRbm {
  Matrix w, b, c;             // (V,H), (1,V), (1,H)
  Matrix vw, vb, vc;          // velocities
  Matrix dw, db, dc;          // gradients
  Matrix v0, h0, hs, v1, h1;  // (B,V), (B,H), (B,H), (B,V), (B,H)

  DenseRbm(Backend& be, RbmShape s)
      : w(be, s.visible, s.hidden),
        b(be, 1, s.visible),
        c(be, 1, s.hidden),
        vw(be, s.visible, s.hidden),
        vb(be, 1, s.visible),
        vc(be, 1, s.hidden),
        dw(be, s.visible, s.hidden),
        db(be, 1, s.visible),
        dc(be, 1, s.hidden),
        v0(be, s.batch, s.visible),
        h0(be, s.batch, s.hidden),
        hs(be, s.batch, s.hidden),
        v1(be, s.batch, s.visible),
        h1(be, s.batch, s.hidden) {
    be.fill_normal(w, 0.0f, 0.01f, RngKey{1, 0, 0});
    be.fill(b, 0.0f);
    be.fill(c, 0.0f);
    be.fill(vw, 0.0f);
    be.fill(vb, 0.0f);
    be.fill(vc, 0.0f);
    // A binary "data" batch: pixels on with probability 0.3.
    be.fill(v1, 0.3f);
    be.sample_bernoulli(v1, v0, RngKey{1, 1, 0});
  }
};

// One CD-1 update written against the Backend ops (the library's trainer step
// will replace this function).
void cd1_step(Backend& be, DenseRbm& m, RngKey key) {
  const float lr = 0.05f, momentum = 0.9f, l2 = 2e-4f;
  const float inv_b = 1.0f / static_cast<float>(m.v0.rows());
  be.gemm(false, false, 1.0f, m.v0, m.w, 0.0f, m.h0);  // (B,H)
  be.scale_add_activate(m.h0, 1.0f, CMatRef{}, m.c, Activation::sigmoid);
  be.sample_bernoulli(m.h0, m.hs, key);
  be.gemm(false, true, 1.0f, m.hs, m.w, 0.0f, m.v1);  // (B,V)
  be.scale_add_activate(m.v1, 1.0f, CMatRef{}, m.b, Activation::sigmoid);
  be.gemm(false, false, 1.0f, m.v1, m.w, 0.0f, m.h1);  // (B,H)
  be.scale_add_activate(m.h1, 1.0f, CMatRef{}, m.c, Activation::sigmoid);
  be.gemm(true, false, inv_b, m.v0, m.h0, 0.0f, m.dw);  // (V,H)
  be.gemm(true, false, -inv_b, m.v1, m.h1, 1.0f, m.dw);
  be.column_sums(m.v0, inv_b, 0.0f, m.db);
  be.column_sums(m.v1, -inv_b, 1.0f, m.db);
  be.column_sums(m.h0, inv_b, 0.0f, m.dc);
  be.column_sums(m.h1, -inv_b, 1.0f, m.dc);
  be.momentum_update(m.w, m.vw, m.dw, lr, momentum, l2, 0.0f);
  be.momentum_update(m.b, m.vb, m.db, lr, momentum, 0.0f, 0.0f);
  be.momentum_update(m.c, m.vc, m.dc, lr, momentum, 0.0f, 0.0f);
}

// Created once and deliberately never destroyed: tearing down cuBLAS from a static
// destructor can run after the CUDA runtime has shut down.
Backend& gpu() {
  static Backend* backend = crbm::make_cuda_backend(0).release();
  return *backend;
}

bool skip_without_gpu(benchmark::State& state) {
  if (crbm::cuda_available()) return false;
  state.SkipWithError("no CUDA device present (cuda_available() is false)");
  return true;
}

#define BENCH_CUDA(expr)                                                      \
  do {                                                                        \
    const cudaError_t e_ = (expr);                                            \
    if (e_ != cudaSuccess) {                                                  \
      std::fprintf(stderr, "%s failed: %s\n", #expr, cudaGetErrorString(e_)); \
      std::abort();                                                           \
    }                                                                         \
  } while (0)
#define BENCH_CUBLAS(expr)                                                       \
  do {                                                                           \
    const cublasStatus_t s_ = (expr);                                            \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                           \
      std::fprintf(stderr, "%s failed: %s\n", #expr, cublasGetStatusString(s_)); \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

// Row-major C (m x n) = alpha op(A) op(B) + beta C via column-major cuBLAS.
void rm_gemm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, float alpha, const float* a,
             int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  BENCH_CUBLAS(cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m,
                           k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

// Seconds per step of the five CD-1 products done by cuBLAS alone (cached per shape).
double cublas_floor_seconds(RbmShape s) {
  static std::map<std::tuple<int64_t, int64_t, int64_t>, double> cache;
  const auto key = std::make_tuple(s.visible, s.hidden, s.batch);
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
    rm_gemm(h, false, false, B, H, V, 1.0f, v0, V, w, H, 0.0f, h0, H);
    rm_gemm(h, false, true, B, V, H, 1.0f, h0, H, w, H, 0.0f, v1, V);
    rm_gemm(h, false, false, B, H, V, 1.0f, v1, V, w, H, 0.0f, h1, H);
    rm_gemm(h, true, false, V, H, B, inv_b, v0, V, h0, H, 0.0f, dw, H);
    rm_gemm(h, true, false, V, H, B, -inv_b, v1, V, h1, H, 1.0f, dw, H);
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

void report(benchmark::State& state, RbmShape s, double seconds, int64_t steps) {
  const double per_step = seconds / static_cast<double>(steps);
  const double floor = cublas_floor_seconds(s);
  state.counters["samples/s"] = static_cast<double>(s.batch) / per_step;
  state.counters["steps/s"] = 1.0 / per_step;
  state.counters["step_us"] = per_step * 1e6;
  state.counters["floor_us"] = floor * 1e6;
  state.counters["step_over_floor"] = per_step / floor;
}

void BM_Cd1Step(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const RbmShape s = shape_of(state);
  Backend& be = gpu();
  DenseRbm model(be, s);
  uint64_t step = 0;
  cd1_step(be, model, RngKey{7, 0, step++});  // warm-up
  be.synchronize();
  double total = 0.0;
  int64_t steps = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kStepsPerIteration; ++i) cd1_step(be, model, RngKey{7, 0, step++});
    be.synchronize();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(dt);
    total += dt;
    steps += kStepsPerIteration;
  }
  report(state, s, total, steps);
}

void BM_Cd1StepGraph(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const RbmShape s = shape_of(state);
  Backend& be = gpu();
  DenseRbm model(be, s);
  cd1_step(be, model, RngKey{7, 0, 0});  // warm-up outside the graph
  be.synchronize();
  crbm::GraphCapture capture;
  capture.begin(be);  // replay k draws with step 1 + k
  cd1_step(be, model, RngKey{7, 0, 1});
  crbm::CudaGraph graph = capture.end();
  graph.launch();
  be.synchronize();
  double total = 0.0;
  int64_t steps = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kStepsPerIteration; ++i) graph.launch();
    be.synchronize();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(dt);
    total += dt;
    steps += kStepsPerIteration;
  }
  report(state, s, total, steps);
}

void BM_CublasFloor(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const RbmShape s = shape_of(state);
  double seconds = 0.0;
  for (auto _ : state) {
    seconds = cublas_floor_seconds(s);
    state.SetIterationTime(seconds);
  }
  state.counters["floor_us"] = seconds * 1e6;
  state.counters["samples/s"] = static_cast<double>(s.batch) / seconds;
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"V", "H", "B"});
  b->Args({784, 500, 100});
  b->Args({4096, 4096, 1024});
}

BENCHMARK(BM_Cd1Step)->Apply(shapes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Cd1StepGraph)
    ->ArgNames({"V", "H", "B"})
    ->Args({784, 500, 100})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CublasFloor)->Apply(shapes)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
