// GPU throughput of one convolutional-RBM CD-1 update (samples/s) with the custom
// kernels and with cuDNN, next to the floor: the five cuDNN convolutions of a CD-1
// step alone (up x2, down, weight_grad x2), so ratio = step time / floor time.
// Cases as bench_conv.cpp at GPU batch sizes. Built only with CUDA; run on the device:
//   build/bench/bench_conv_gpu --benchmark_min_time=1s
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include "bench_common.hpp"

namespace {

using namespace crbm;

const ConvShape kCases[] = {
    {256, 1, 28, 28, 40, 12, 2},
    {128, 3, 64, 64, 64, 7, 2},
};
const ConvAlgo kAlgos[] = {ConvAlgo::custom, ConvAlgo::cudnn, ConvAlgo::automatic};

using bench::skip_without_gpu;
using testing::random_binary;

void BM_GpuConvCd1Step(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const ConvShape s = kCases[state.range(0)];
  const ConvAlgo algo = kAlgos[state.range(1)];
  if (algo != ConvAlgo::custom && !cudnn_available()) {
    state.SkipWithError("built without cuDNN");
    return;
  }
  auto be = make_cuda_backend(0);
  bench::ConvStep step(*be, s, algo);
  for (int i = 0; i < 3; ++i) step.trainer.update(step.batch);  // buffers, algorithm choice
  be->synchronize();
  for (auto _ : state) {
    step.trainer.update(step.batch);
    be->synchronize();
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
  state.SetLabel(std::string(to_string(algo)) + " " + s.to_string());
}
BENCHMARK(BM_GpuConvCd1Step)
    ->ArgsProduct({{0, 1}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The floor: the five convolutions of a CD-1 step through cuDNN alone.
void BM_GpuCudnnConvolutionsAlone(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  if (!cudnn_available()) {
    state.SkipWithError("built without cuDNN");
    return;
  }
  const ConvShape s = kCases[state.range(0)];
  auto be = make_cuda_backend(0);
  auto ops = make_conv_ops(*be, ConvAlgo::cudnn);
  Matrix v = Matrix::from_host(*be, random_binary(s.batch, s.visible_size(), 3));
  Matrix h = Matrix::from_host(*be, random_binary(s.batch, s.hidden_size(), 4));
  Matrix w(*be, s.filters, s.filter_volume()), dw(*be, s.filters, s.filter_volume()),
      out_h(*be, s.batch, s.hidden_size()), out_v(*be, s.batch, s.visible_size());
  be->fill_normal(w, 0.0f, 0.01f, RngKey{5, 0, 0});
  auto five = [&] {
    ops->up(s, v, w, CMatRef{}, 1.0f, out_h);
    ops->down(s, h, w, out_v);
    ops->up(s, out_v, w, CMatRef{}, 1.0f, out_h);
    ops->weight_grad(s, v, h, 1.0f, 0.0f, dw);
    ops->weight_grad(s, out_v, out_h, -1.0f, 1.0f, dw);
  };
  five();
  be->synchronize();
  for (auto _ : state) {
    five();
    be->synchronize();
  }
  state.SetItemsProcessed(state.iterations() * s.batch);
  state.SetLabel("cudnn convolutions alone " + s.to_string());
}
BENCHMARK(BM_GpuCudnnConvolutionsAlone)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
