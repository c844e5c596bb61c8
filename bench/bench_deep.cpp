// Per-epoch time of the three deep-model phases at MNIST sizes, each as a ratio to its
// matrix products alone (the floor: the same gemm calls, same shapes, through the backend's
// BLAS: OpenBLAS sgemm on the CPU, cuBLAS on the GPU), measured in the same run:
//   pretraining   RBM 784-500, CD-1, batch 100:           5 products per update
//   DBM joint     784-500-1000, 10 mean-field sweeps, 100 chains x 5 Gibbs steps
//   fine-tuning   784-500-500-10 sigmoid/softmax net, batch 100
// Usage: bench_deep [--rows N] [--threads T] [--data SPEC] [--device cpu|cuda|all]
//   (data: --data, else MNIST under $CRBM_DATA_DIR, else random binary rows of 784)
//                   [--json PATH] [--benchmark_out=PATH]
// --device all (the default) runs the CPU and, when a GPU is present, the GPU. --json writes
// {"runs": [{device, rows, phases: [...]}]}; --benchmark_out= writes the same rows in Google
// Benchmark's JSON layout (name, real_time, counters), which bench/gpu_check.sh tabulates.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crbm/data.hpp"
#include "crbm/dbm.hpp"
#include "crbm/mlp.hpp"
#include "crbm/train.hpp"

namespace {

using crbm::Backend;
using crbm::Matrix;

double seconds(const std::function<void()>& f) {
  const auto t = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// One row-major product C[m x n] = op(A) op(B) with fresh operands, repeated `count` times.
struct Product {
  bool ta, tb;
  int m, n, k;
  int count;
};

double floor_seconds(Backend& be, const std::vector<Product>& per_update, int64_t updates) {
  // Operands of each shape, allocated once on the backend; values do not matter for speed.
  std::vector<Matrix> a, b, c;
  for (const Product& p : per_update) {
    a.emplace_back(be, p.ta ? p.k : p.m, p.ta ? p.m : p.k);
    b.emplace_back(be, p.tb ? p.n : p.k, p.tb ? p.k : p.n);
    c.emplace_back(be, p.m, p.n);
    be.fill(a.back(), 0.01f);
    be.fill(b.back(), 0.02f);
  }
  be.synchronize();
  return seconds([&] {
    for (int64_t u = 0; u < updates; ++u) {
      for (size_t i = 0; i < per_update.size(); ++i) {
        for (int r = 0; r < per_update[i].count; ++r) {
          be.gemm(per_update[i].ta, per_update[i].tb, 1.0f, a[i], b[i], 0.0f, c[i]);
        }
      }
    }
    be.synchronize();
  });
}

struct PhaseResult {
  std::string name;
  double epoch_s, floor_s;
};

// The three phases on one backend; prints the table rows as it goes.
std::vector<PhaseResult> run_phases(Backend& be, const crbm::Dataset& d) {
  const int64_t n = d.size(), B = 100, V = 784;
  const int64_t updates = (n + B - 1) / B;
  Matrix x = Matrix::from_host(be, d.x);
  fmt::print("bench_deep: {} rows x {} on {}\n", n, V, be.describe());
  fmt::print("{:<14} {:>12} {:>12} {:>8}\n", "phase", "epoch (s)", "gemm floor", "ratio");
  std::vector<PhaseResult> out;
  auto report = [&](const char* name, double t, double f) {
    fmt::print("{:<14} {:>12.3f} {:>12.3f} {:>8.2f}\n", name, t, f, t / f);
    std::fflush(stdout);
    out.push_back({name, t, f});
  };

  // ---- pretraining: CD-1 on a 784-500 RBM ----
  {
    const int H = 500;
    crbm::Rbm rbm(be, V, H);
    rbm.init_random(1);
    crbm::TrainConfig c;
    c.batch_size = B;
    crbm::CdTrainer t(rbm, c);
    t.train_epoch(x);  // warm-up
    const double epoch = t.train_epoch(x).seconds;
    const std::vector<Product> p = {{false, false, int(B), H, int(V), 2},  // h0, hk
                                    {false, true, int(B), int(V), H, 1},   // vk
                                    {true, false, int(V), H, int(B), 2}};  // statistics
    report("pretraining", epoch, floor_seconds(be, p, updates));
  }
  // ---- DBM joint training: 784-500-1000 ----
  {
    const int H1 = 500, H2 = 1000, C = 100, K = 5, S = 10;
    crbm::Dbm dbm(be, V, {H1, H2});
    crbm::HostTensor w0({V, H1}), w1({H1, H2});
    for (size_t i = 0; i < w0.data.size(); ++i) w0.data[i] = 0.01f * float(int(i % 7) - 3);
    for (size_t i = 0; i < w1.data.size(); ++i) w1.data[i] = 0.01f * float(int(i % 5) - 2);
    dbm.weights(0).upload(w0);
    dbm.weights(1).upload(w1);
    crbm::DbmTrainConfig c;
    c.batch_size = B;
    c.chains = C;
    c.gibbs_steps = K;
    c.mean_field_sweeps = S;
    crbm::DbmTrainer t(dbm, c);
    t.train_epoch(x);
    const double epoch = t.train_epoch(x).seconds;
    const std::vector<Product> p = {
        {false, false, int(B), H1, int(V), 1 + S},  // v W0 (init + sweeps)
        {false, false, int(B), H2, H1, 1 + S},      // mu1 W1
        {false, true, int(B), H1, H2, S},           // mu2 W1'
        {false, false, C, H1, int(V), K},           // chains: h1 from v
        {false, true, C, H1, H2, K},                //         h1 from h2
        {false, true, C, int(V), H1, K},            //         v from h1
        {false, false, C, H2, H1, K},               //         h2 from h1
        {true, false, int(V), H1, int(B), 2},       // statistics W0 (data, chains)
        {true, false, H1, H2, int(B), 2}};          // statistics W1
    report("dbm-joint", epoch, floor_seconds(be, p, updates));
  }
  // ---- fine-tuning: 784-500-500-10 ----
  {
    crbm::Mlp mlp(be, {V, 500, 500, 10});
    mlp.init_random(1);
    crbm::MlpConfig c;
    c.batch_size = B;
    crbm::MlpTrainer t(mlp, c);
    t.train_epoch(x, d.labels);
    const double epoch = t.train_epoch(x, d.labels).seconds;
    const std::vector<Product> p = {
        {false, false, int(B), 500, int(V), 1}, {false, false, int(B), 500, 500, 1},
        {false, false, int(B), 10, 500, 1},  // forward
        {true, false, 500, 10, int(B), 1},      {true, false, 500, 500, int(B), 1},
        {true, false, int(V), 500, int(B), 1},                                        // dW
        {false, true, int(B), 500, 10, 1},      {false, true, int(B), 500, 500, 1}};  // deltas
    report("fine-tuning", epoch, floor_seconds(be, p, updates));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 2000;
  int threads = 0;
  // MNIST when CRBM_DATA_DIR points at a folder with mnist/ in it (or --data), else random
  // binary data of the same shape: the speed does not depend on the values.
  std::string spec;
  if (const char* dir = std::getenv("CRBM_DATA_DIR"))
    spec = std::string("mnist:") + dir + "/mnist:train";
  bool spec_given = false;
  std::string json, gbench_json, device = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a.rfind("--benchmark_out=", 0) == 0) {
      gbench_json = a.substr(std::strlen("--benchmark_out="));
    } else if (a.rfind("--benchmark", 0) == 0) {
      // other Google Benchmark flags (bench/gpu_check.sh passes them to every bench_*)
    } else if (a == "--rows" && has_value) {
      rows = std::stoll(argv[++i]);
    } else if (a == "--threads" && has_value) {
      threads = std::stoi(argv[++i]);
    } else if (a == "--data" && has_value) {
      spec = argv[++i];
      spec_given = true;
    } else if (a == "--json" && has_value) {
      json = argv[++i];
    } else if (a == "--device" && has_value) {
      device = argv[++i];
    } else {
      std::fprintf(stderr, "bench_deep: unknown or incomplete argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (device != "cpu" && device != "cuda" && device != "all") {
    std::fprintf(stderr, "bench_deep: --device must be cpu, cuda or all, not '%s'\n",
                 device.c_str());
    return 2;
  }
  crbm::LoadOptions lo;
  lo.limit = rows;
  crbm::Dataset d;
  try {
    if (!spec.empty()) d = crbm::load_dataset(spec, lo);
  } catch (const crbm::Error& e) {
    if (spec_given) {
      std::fprintf(stderr, "bench_deep: --data %s: %s\n", spec.c_str(), e.what());
      return 1;
    }
    std::fprintf(stderr, "bench_deep: %s; using random data\n", e.what());
    spec.clear();
  }
  if (!spec.empty() && (d.dim() != 784 || d.labels.size() != size_t(d.size()))) {
    std::fprintf(stderr, "bench_deep: --data %s: needs 784 values and a label per row (MNIST)\n",
                 spec.c_str());
    return 1;
  }
  if (spec.empty()) {
    d.x = crbm::HostTensor({rows, 784});
    for (size_t i = 0; i < d.x.data.size(); ++i) d.x.data[i] = float((i * 2654435761u >> 7) % 2);
    d.labels.assign(size_t(rows), 0);
    for (int64_t r = 0; r < rows; ++r) d.labels[r] = int32_t(r % 10);
    d.num_classes = 10;
  }
  std::vector<std::unique_ptr<Backend>> backends;
  if (device != "cuda") backends.push_back(crbm::make_cpu_backend(threads));
  if (device != "cpu") {
    if (crbm::cuda_available()) {
      backends.push_back(crbm::make_cuda_backend(0));
    } else if (device == "cuda") {
      std::fprintf(stderr, "bench_deep: --device cuda but no CUDA device is available\n");
      return 1;
    } else {
      fmt::print("bench_deep: no CUDA device; CPU only\n");
    }
  }
  nlohmann::json runs = nlohmann::json::array(), gb_rows = nlohmann::json::array();
  for (auto& be : backends) {
    const std::vector<PhaseResult> res = run_phases(*be, d);
    const bool gpu = be->describe().rfind("cpu", 0) != 0;
    nlohmann::json phases = nlohmann::json::array();
    for (const PhaseResult& r : res) {
      const double ratio = r.epoch_s / r.floor_s;
      phases.push_back(
          {{"phase", r.name}, {"epoch_s", r.epoch_s}, {"floor_s", r.floor_s}, {"ratio", ratio}});
      gb_rows.push_back({{"name", fmt::format("deep/{}/{}", gpu ? "cuda" : "cpu", r.name)},
                         {"run_type", "iteration"},
                         {"iterations", 1},
                         {"real_time", r.epoch_s},
                         {"cpu_time", r.epoch_s},
                         {"time_unit", "s"},
                         {"floor_s", r.floor_s},
                         {"ratio_to_floor", ratio}});
    }
    runs.push_back({{"device", be->describe()}, {"rows", d.size()}, {"phases", phases}});
  }
  auto write = [](const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "bench_deep: cannot write %s\n", path.c_str());
      return false;
    }
    std::fputs(text.c_str(), f);
    return std::fclose(f) == 0;
  };
  bool ok = true;
  if (!json.empty()) ok &= write(json, nlohmann::json{{"runs", runs}}.dump(1) + "\n");
  if (!gbench_json.empty()) {
    const nlohmann::json gb = {{"context", {{"executable", "bench_deep"}}},
                               {"benchmarks", gb_rows}};
    ok &= write(gbench_json, gb.dump(1) + "\n");
  }
  return ok ? 0 : 1;
}
