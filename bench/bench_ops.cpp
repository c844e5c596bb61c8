// Op micro-benchmarks over the op case table (tests/support/op_cases.hpp), the same
// cases the op table test checks plus its benchmark-sized ones (bench_cases(): the
// shapes of bench_rbm_cpu and bench_conv): every case on every available backend (the CPU;
// CUDA when present, conv cases once per convolution algorithm). One iteration is one
// call of the op on operands already on the backend, synchronised (so a CUDA time
// includes the launch and the wait). items_per_second counts the case's work items
// (output elements; multiply-adds for gemm and the convolutions). Ops that shrink
// their operand each call (multiply, sigmoid_backward) restore it first, a device copy
// inside the timing, marked "+restore" in the label.
// Run: build/bench/bench_ops --benchmark_filter='gemm_NN|conv_up'
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/conv.hpp"
#include "support/op_cases.hpp"

namespace {

using namespace crbm;
using namespace crbm::op_cases;

struct Target {
  std::string name;
  Backend* backend;
  ConvAlgo algo;
  bool conv_only;  // a second conv algorithm: only conv cases
};

void run_case_bench(benchmark::State& state, const OpCase* c, Target target) {
  const OpData data = make_inputs(*c);
  OpRunner runner(*c, data, *target.backend, target.algo);
  const bool restore = decays_when_repeated(c->op);
  runner.run();  // warm-up: workspaces, cuDNN algorithm choice, first-touch pages
  target.backend->synchronize();
  for (auto _ : state) {
    if (restore) runner.restore();
    runner.run();
    target.backend->synchronize();
  }
  state.SetItemsProcessed(state.iterations() * c->work_items());
  std::string label = target.backend->describe();
  if (runner.conv_ops() != nullptr) label += "; " + runner.conv_ops()->describe();
  if (restore) label += " +restore";
  state.SetLabel(label);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<Target> targets;
  backends.push_back(make_cpu_backend());
  targets.push_back({"cpu", backends.back().get(), ConvAlgo::automatic, false});
  if (cuda_available()) {
    backends.push_back(make_cuda_backend(0));
    targets.push_back({"cuda", backends.back().get(), ConvAlgo::custom, false});
    if (cudnn_available()) {
      targets.push_back({"cuda_cudnn", backends.back().get(), ConvAlgo::cudnn, true});
    }
  }
  std::vector<const OpCase*> cases;
  for (const auto* table : {&all_cases(), &bench_cases()}) {
    for (const OpCase& c : *table) cases.push_back(&c);
  }
  for (const OpCase* cp : cases) {
    const OpCase& c = *cp;
    for (const Target& t : targets) {
      if (t.conv_only && !is_conv(c.op)) continue;
      benchmark::RegisterBenchmark(("op/" + c.name + "/" + t.name).c_str(), run_case_bench, &c, t)
          ->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
