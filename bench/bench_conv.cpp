// CPU throughput of the convolutional RBM: one CD-1 update (up, pooled sampling,
// down, up, two weight gradients, bias/sparsity terms, momentum) and the single
// ops, reported as samples/s (items_per_second). Cases (issue 4):
//   mnist: 1x28x28, 40 filters 12x12, P=2 (valid 17x17 hidden cropped to 16x16)
//   large: 3x64x64, 64 filters 7x7, P=2   (58x58 hidden)
// Run: build/bench/bench_conv --benchmark_min_time=2s
#include <benchmark/benchmark.h>

#include <random>

#include "crbm/conv_rbm.hpp"
#include "crbm/conv_train.hpp"

namespace {

using namespace crbm;

struct Case {
  ConvShape shape;  // batch = minibatch size
};

const Case kCases[] = {
    {{100, 1, 28, 28, 40, 12, 2}},
    {{32, 3, 64, 64, 64, 7, 2}},
};

HostTensor random_binary(int64_t rows, int64_t cols, uint32_t seed) {
  HostTensor t({rows, cols});
  std::mt19937 gen(seed);
  std::bernoulli_distribution bit(0.3);
  for (float& x : t.data) x = bit(gen) ? 1.0f : 0.0f;
  return t;
}

void BM_ConvCd1Step(benchmark::State& state) {
  const ConvShape s = kCases[state.range(0)].shape;
  auto be = make_cpu_backend();
  ConvRbm rbm(*be, s);
  rbm.init_random(1, 0.01f);
  Matrix batch = Matrix::from_host(*be, random_binary(s.batch, s.visible_size(), 2));
  ConvTrainConfig cfg;
  cfg.batch_size = s.batch;
  cfg.sparsity_target = 0.02f;
  cfg.divergence_check_every = 1000000;
  ConvTrainer trainer(rbm, cfg);
  trainer.update(batch);  // buffers
  for (auto _ : state) trainer.update(batch);
  state.SetItemsProcessed(state.iterations() * s.batch);
  state.SetLabel(s.to_string());
}
BENCHMARK(BM_ConvCd1Step)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// op: 0 up, 1 down, 2 weight_grad, 3 pool_sample
void BM_ConvOp(benchmark::State& state) {
  const ConvShape s = kCases[state.range(0)].shape;
  const int op = int(state.range(1));
  auto be = make_cpu_backend();
  auto ops = make_conv_ops(*be);
  Matrix v = Matrix::from_host(*be, random_binary(s.batch, s.visible_size(), 3));
  Matrix h = Matrix::from_host(*be, random_binary(s.batch, s.hidden_size(), 4));
  Matrix w(*be, s.filters, s.filter_volume()), out_h(*be, s.batch, s.hidden_size()),
      out_v(*be, s.batch, s.visible_size());
  be->fill_normal(w, 0.0f, 0.01f, RngKey{5, 0, 0});
  uint64_t step = 0;
  for (auto _ : state) {
    switch (op) {
      case 0:
        ops->up(s, v, w, CMatRef{}, 1.0f, out_h);
        break;
      case 1:
        ops->down(s, h, w, out_v);
        break;
      case 2:
        ops->weight_grad(s, v, h, 1.0f, 0.0f, w);
        break;
      default:
        ops->pool_sample(s, h, out_h, MatRef{}, RngKey{1, 2, step++});
        break;
    }
  }
  static const char* names[] = {"up", "down", "weight_grad", "pool_sample"};
  state.SetItemsProcessed(state.iterations() * s.batch);
  state.SetLabel(std::string(names[op]) + " " + s.to_string());
}
BENCHMARK(BM_ConvOp)
    ->ArgsProduct({{0, 1}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
