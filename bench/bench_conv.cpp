// CPU throughput of the convolutional RBM: one CD-1 update (up, pooled sampling,
// down, up, two weight gradients, bias/sparsity terms, momentum) and the single
// ops, reported as samples/s (items_per_second). Cases (issue 4):
//   mnist: 1x28x28, 40 filters 12x12, P=2 (valid 17x17 hidden cropped to 16x16)
//   large: 3x64x64, 64 filters 7x7, P=2   (58x58 hidden)
// Run: build/bench/bench_conv --benchmark_min_time=2s
#include <benchmark/benchmark.h>

#include "bench_common.hpp"
#include "support/op_cases.hpp"

namespace {

using namespace crbm;

struct Case {
  ConvShape shape;  // batch = minibatch size
};

// The op case table's benchmark shapes (bench_cases()).
const Case kCases[] = {
    {op_cases::find_case("conv_up_100x1x28x28_K40F12P2").conv},
    {op_cases::find_case("conv_up_32x3x64x64_K64F7P2").conv},
};

void BM_ConvCd1Step(benchmark::State& state) {
  const ConvShape s = kCases[state.range(0)].shape;
  auto be = make_cpu_backend();
  bench::ConvStep step(*be, s);
  step.trainer.update(step.batch);  // buffers
  for (auto _ : state) step.trainer.update(step.batch);
  state.SetItemsProcessed(state.iterations() * s.batch);
  state.SetLabel(s.to_string());
}
BENCHMARK(BM_ConvCd1Step)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// The single ops on the conv RBMs' shapes, drawn from the op case table's benchmark
// cases (tests/support/op_cases.hpp; bench_ops times every case on every backend).
void BM_ConvOp(benchmark::State& state, const op_cases::OpCase* c) {
  auto be = make_cpu_backend();
  const op_cases::OpData data = op_cases::make_inputs(*c);
  op_cases::OpRunner runner(*c, data, *be);
  runner.run();  // warm-up
  for (auto _ : state) runner.run();
  state.SetItemsProcessed(state.iterations() * c->conv.batch);
  state.SetLabel(std::string(op_cases::to_string(c->op)) + " " + c->conv.to_string());
}

const bool kConvOpsRegistered = [] {
  for (const op_cases::OpCase& c : op_cases::bench_cases()) {
    if (c.op != op_cases::Op::conv_up && c.op != op_cases::Op::conv_down &&
        c.op != op_cases::Op::conv_weight_grad && c.op != op_cases::Op::conv_pool_sample) {
      continue;
    }
    benchmark::RegisterBenchmark(("BM_ConvOp/" + c.name).c_str(), BM_ConvOp, &c)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
