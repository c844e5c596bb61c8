// The dense trainer on uint8 rows (CdTrainer::train_epoch(const HostBytes&, ...)): each
// minibatch converted to float as it is used must give the very parameters and epoch
// statistics of training on the float copy of the same data, same seed (bit-identical),
// on the CPU backend and, where a GPU is present, on the CUDA backend.
#include <gtest/gtest.h>

#include "crbm/data.hpp"
#include "crbm/train.hpp"
#include "philox.cuh"

namespace crbm {
namespace {

// 250 rows of 20 pixel-like bytes (values byte / 255), with a pattern so that training moves.
HostBytes pixel_rows() {
  HostBytes b;
  b.rows = 250;
  b.cols = 20;
  b.scale = 1.0f / 255.0f;
  for (int64_t r = 0; r < b.rows; ++r) {
    for (int64_t c = 0; c < b.cols; ++c) {
      const float u = philox::uniform(11, 0, 0, static_cast<uint64_t>(r * b.cols + c));
      const bool on = (c % 5) == (r % 5);
      b.data.push_back(static_cast<uint8_t>(on ? 200 + 55 * u : 60 * u));
    }
  }
  return b;
}

struct Run {
  RbmParams params;
  std::vector<EpochStats> stats;
};

Run train(Backend& be, const HostBytes& bytes, const HostTensor& holdout, bool as_bytes,
          bool persistent) {
  const HostTensor x = bytes.to_float();
  Rbm rbm(be, bytes.cols, 8);
  if (as_bytes) {
    rbm.init_random(3, 0.01f, bytes.column_means());
  } else {
    rbm.init_random(3, 0.01f, &x);
  }
  TrainConfig cfg;
  cfg.batch_size = 32;  // 250 rows: 7 full minibatches and one of 26
  cfg.learning_rate = 0.1f;
  cfg.persistent = persistent;
  cfg.resample_binarization = true;
  cfg.sparsity_target = 0.2f;
  cfg.seed = 5;
  CdTrainer trainer(rbm, cfg);
  Matrix data = Matrix::from_host(be, x);
  Matrix held = Matrix::from_host(be, holdout);
  Run run;
  for (int e = 0; e < 3; ++e) {
    run.stats.push_back(as_bytes ? trainer.train_epoch(bytes, held.cref(), 100)
                                 : trainer.train_epoch(data, held.cref(), 100));
  }
  run.params = rbm.to_host();
  return run;
}

void expect_identical(const Run& a, const Run& b) {
  EXPECT_EQ(a.params.weights.data, b.params.weights.data);
  EXPECT_EQ(a.params.visible_bias.data, b.params.visible_bias.data);
  EXPECT_EQ(a.params.hidden_bias.data, b.params.hidden_bias.data);
  ASSERT_EQ(a.stats.size(), b.stats.size());
  for (size_t e = 0; e < a.stats.size(); ++e) {
    EXPECT_EQ(a.stats[e].reconstruction_error, b.stats[e].reconstruction_error) << "epoch " << e;
    EXPECT_EQ(a.stats[e].free_energy_train, b.stats[e].free_energy_train) << "epoch " << e;
    EXPECT_EQ(a.stats[e].free_energy_holdout, b.stats[e].free_energy_holdout) << "epoch " << e;
    EXPECT_EQ(a.stats[e].mean_hidden_activation, b.stats[e].mean_hidden_activation);
    EXPECT_EQ(a.stats[e].updates, b.stats[e].updates);
  }
}

void check_backend(Backend& be) {
  const HostBytes bytes = pixel_rows();
  const HostTensor holdout = bytes.to_float(0, 40);
  for (const bool persistent : {false, true}) {
    SCOPED_TRACE(persistent ? "PCD" : "CD");
    const Run floats = train(be, bytes, holdout, false, persistent);
    const Run from_bytes = train(be, bytes, holdout, true, persistent);
    expect_identical(floats, from_bytes);
    // Training moved the parameters (the comparison is not between two untouched models).
    EXPECT_NE(floats.stats.front().reconstruction_error, floats.stats.back().reconstruction_error);
    EXPECT_GT(floats.stats.back().first_update_seconds, 0.0);
  }
}

TEST(ByteTrainer, CpuMinibatchesFromBytesEqualTheFloatPath) {
  auto cpu = make_cpu_backend(1);
  check_backend(*cpu);
}

TEST(ByteTrainer, CudaMinibatchesFromBytesEqualTheFloatPath) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present: the CUDA byte path needs a GPU";
  auto gpu = make_cuda_backend(0);
  check_backend(*gpu);
}

TEST(ByteTrainer, ShapeErrors) {
  auto cpu = make_cpu_backend(1);
  Rbm rbm(*cpu, 21, 4);
  CdTrainer trainer(rbm, TrainConfig{});
  EXPECT_THROW(trainer.train_epoch(pixel_rows()), Error);  // 20 columns for 21 visible units
  HostBytes broken = pixel_rows();
  broken.cols = 21;
  broken.data.resize(10);
  EXPECT_THROW(trainer.train_epoch(broken), Error);  // fewer bytes than rows x cols
  Matrix wrong(*cpu, 32, 19);
  EXPECT_THROW(gather_byte_rows(*cpu, pixel_rows(), shuffled_indices(250, 1, 0), 0, wrong.ref()),
               Error);
  EXPECT_THROW(rbm.init_random(1, 0.01f, std::vector<double>(20, 0.5)), Error);
}

}  // namespace
}  // namespace crbm
