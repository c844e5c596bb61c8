// Per-epoch time of the three deep-model phases at MNIST sizes, each as a ratio to its
// matrix products alone (the floor: the same sgemm calls, same shapes, through the backend's
// BLAS — OpenBLAS on the CPU), measured in the same run:
//   pretraining   RBM 784-500, CD-1, batch 100:           5 products per update
//   DBM joint     784-500-1000, 10 mean-field sweeps, 100 chains x 5 Gibbs steps
//   fine-tuning   784-500-500-10 sigmoid/softmax net, batch 100
// Usage: bench_deep [--rows N] [--threads T] [--data SPEC] [--json PATH]
#include <cblas.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
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

double floor_seconds(const std::vector<Product>& per_update, int64_t updates) {
  int maxdim = 0;
  for (const Product& p : per_update) maxdim = std::max({maxdim, p.m * p.k, p.k * p.n, p.m * p.n});
  std::vector<float> a(maxdim, 0.01f), b(maxdim, 0.02f), c(maxdim, 0.0f);
  return seconds([&] {
    for (int64_t u = 0; u < updates; ++u) {
      for (const Product& p : per_update) {
        for (int r = 0; r < p.count; ++r) {
          cblas_sgemm(CblasRowMajor, p.ta ? CblasTrans : CblasNoTrans,
                      p.tb ? CblasTrans : CblasNoTrans, p.m, p.n, p.k, 1.0f, a.data(),
                      p.ta ? p.m : p.k, b.data(), p.tb ? p.k : p.n, 0.0f, c.data(), p.n);
        }
      }
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 2000;
  int threads = 0;
  std::string spec = "mnist:/work/shared/data/mnist:train";
  std::string json;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rows")
      rows = std::stoll(argv[i + 1]);
    else if (a == "--threads")
      threads = std::stoi(argv[i + 1]);
    else if (a == "--data")
      spec = argv[i + 1];
    else if (a == "--json")
      json = argv[i + 1];
  }
  auto be = crbm::make_cpu_backend(threads);
  crbm::LoadOptions lo;
  lo.limit = rows;
  crbm::Dataset d;
  try {
    d = crbm::load_dataset(spec, lo);
  } catch (const crbm::Error& e) {
    std::fprintf(stderr, "bench_deep: %s; using random data\n", e.what());
    d.x = crbm::HostTensor({rows, 784});
    for (size_t i = 0; i < d.x.data.size(); ++i) d.x.data[i] = float((i * 2654435761u >> 7) % 2);
    d.labels.assign(size_t(rows), 0);
    for (int64_t r = 0; r < rows; ++r) d.labels[r] = int32_t(r % 10);
    d.num_classes = 10;
  }
  const int64_t n = d.size(), B = 100, V = 784;
  const int64_t updates = (n + B - 1) / B;
  Matrix x = Matrix::from_host(*be, d.x);
  fmt::print("bench_deep: {} rows x {} on {}\n", n, V, be->describe());
  fmt::print("{:<14} {:>12} {:>12} {:>8}\n", "phase", "epoch (s)", "gemm floor", "ratio");
  std::string json_rows;
  auto report = [&](const char* name, double t, double f) {
    fmt::print("{:<14} {:>12.3f} {:>12.3f} {:>8.2f}\n", name, t, f, t / f);
    json_rows += fmt::format("{}{{\"phase\":\"{}\",\"epoch_s\":{},\"floor_s\":{},\"ratio\":{}}}",
                             json_rows.empty() ? "" : ",", name, t, f, t / f);
  };

  // ---- pretraining: CD-1 on a 784-500 RBM ----
  {
    const int H = 500;
    crbm::Rbm rbm(*be, V, H);
    rbm.init_random(1);
    crbm::TrainConfig c;
    c.batch_size = B;
    crbm::CdTrainer t(rbm, c);
    t.train_epoch(x);  // warm-up
    const double epoch = t.train_epoch(x).seconds;
    const std::vector<Product> p = {{false, false, int(B), H, int(V), 2},  // h0, hk
                                    {false, true, int(B), int(V), H, 1},   // vk
                                    {true, false, int(V), H, int(B), 2}};  // statistics
    report("pretraining", epoch, floor_seconds(p, updates));
  }
  // ---- DBM joint training: 784-500-1000 ----
  {
    const int H1 = 500, H2 = 1000, C = 100, K = 5, S = 10;
    crbm::Dbm dbm(*be, V, {H1, H2});
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
    report("dbm-joint", epoch, floor_seconds(p, updates));
  }
  // ---- fine-tuning: 784-500-500-10 ----
  {
    crbm::Mlp mlp(*be, {V, 500, 500, 10});
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
    report("fine-tuning", epoch, floor_seconds(p, updates));
  }
  if (!json.empty()) {
    std::FILE* f = std::fopen(json.c_str(), "w");
    if (f != nullptr) {
      std::fprintf(f, "{\"device\":\"%s\",\"rows\":%lld,\"phases\":[%s]}\n", be->describe().c_str(),
                   static_cast<long long>(n), json_rows.c_str());
      std::fclose(f);
    }
  }
  return 0;
}
