// End-to-end parity of dense-RBM training: the CUDA trainer replaying each
// update as a CUDA graph must equal the eager CUDA trainer (same kernels, same
// Philox keys), and both must track the CPU trainer (same uniforms; float
// rounding may flip a rare sample, so the comparison is loose).
#include <gtest/gtest.h>

#include <cmath>

#include "crbm/data.hpp"
#include "crbm/exact.hpp"
#include "crbm/train.hpp"

namespace crbm {
namespace {

struct TrainedModel {
  RbmParams params;
  double log_likelihood;
};

TrainedModel train(Backend& be, bool graphs, bool persistent, int cd_k) {
  Dataset d = load_dataset("builtin:bars");
  Rbm rbm(be, d.dim(), 12);
  rbm.init_random(7, 0.01f, &d.x);
  Matrix data = Matrix::from_host(be, d.x);
  TrainConfig cfg;
  cfg.epochs = 3;
  cfg.batch_size = 40;  // 600 rows: 15 full batches per epoch
  cfg.cd_k = cd_k;
  cfg.persistent = persistent;
  cfg.learning_rate = 0.05f;
  cfg.sparsity_target = 0.2f;
  cfg.use_cuda_graphs = graphs;
  CdTrainer trainer(rbm, cfg);
  for (int e = 0; e < cfg.epochs; ++e) trainer.train_epoch(data);
  return TrainedModel{rbm.to_host(), mean_log_likelihood(rbm, data, exact_log_partition(rbm))};
}

double max_abs_diff(const HostTensor& a, const HostTensor& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    const double d = std::fabs(double(a.data[i]) - b.data[i]);
    if (std::isnan(d)) return INFINITY;
    m = std::max(m, d);
  }
  return m;
}

class TrainerParity : public ::testing::TestWithParam<std::tuple<bool, int>> {};

TEST_P(TrainerParity, GraphReplayEqualsEagerAndTracksCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present: trainer parity needs a GPU";
  const auto [persistent, k] = GetParam();
  auto gpu = make_cuda_backend(0);
  auto cpu = make_cpu_backend();
  const TrainedModel graph = train(*gpu, true, persistent, k);
  const TrainedModel eager = train(*gpu, false, persistent, k);
  const TrainedModel host = train(*cpu, false, persistent, k);
  EXPECT_EQ(max_abs_diff(graph.params.weights, eager.params.weights), 0.0);
  EXPECT_EQ(max_abs_diff(graph.params.hidden_bias, eager.params.hidden_bias), 0.0);
  // CPU vs GPU: identical uniforms, float rounding differs; the learned models
  // must be close and equally good.
  EXPECT_LT(max_abs_diff(host.params.weights, eager.params.weights), 0.05);
  EXPECT_NEAR(host.log_likelihood, eager.log_likelihood, 0.1);
}

INSTANTIATE_TEST_SUITE_P(CdAndPcd, TrainerParity,
                         ::testing::Values(std::make_tuple(false, 1), std::make_tuple(false, 3),
                                           std::make_tuple(true, 1)));

}  // namespace
}  // namespace crbm
