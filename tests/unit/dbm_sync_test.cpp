// No allocation and no host round trip inside a DBM update (issue 12): after the first
// update has sized its buffers and started the persistent chains, DbmTrainer::update
// allocates, frees, downloads, synchronizes, reduces on the host and gathers by host index
// nothing (counted on the CPU backend, Backend::counters()). Pretraining's update is not
// public: an epoch of 3n rows must count exactly what an epoch of n rows counts (what an
// epoch does once, shuffling and its statistics, is the same for both).
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/dbm.hpp"
#include "support/train_configs.hpp"

namespace crbm {
namespace {

using testing::quick_dbm_config;

HostTensor binary_rows(int64_t rows, int64_t cols) {
  HostTensor t({rows, cols});
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = float((i * 7 + i / 5) % 3 == 0);
  return t;
}

void expect_update_counts_nothing(DbmTrainConfig c) {
  auto be = make_cpu_backend(1);
  Dbm dbm(*be, 8, {5, 4});
  const Matrix x = Matrix::from_host(*be, binary_rows(10, 8));
  DbmTrainer trainer(dbm, c);
  trainer.update(x);  // warm-up: buffers, chains
  be->reset_counters();
  trainer.update(x);
  trainer.update(x);
  EXPECT_EQ(be->counters(), BackendCounters{}) << be->counters().to_string();
}

TEST(DbmSync, JointUpdateAllocatesAndWaitsForNothing) {
  expect_update_counts_nothing(quick_dbm_config());
}

TEST(DbmSync, JointUpdateWithSparsityAllocatesAndWaitsForNothing) {
  DbmTrainConfig c = quick_dbm_config();
  c.sparsity_target = 0.1f;
  expect_update_counts_nothing(c);
  c.sparsity_target = 0.0f;
  c.sparsity_targets = {0.2f, 0.1f};
  c.sparsity_weight_gradient = true;
  expect_update_counts_nothing(c);
}

TEST(DbmSync, JointUpdateWithoutResamplingAllocatesAndWaitsForNothing) {
  DbmTrainConfig c = quick_dbm_config();
  c.resample_binarization = false;
  expect_update_counts_nothing(c);
}

// The labelled update (y clamped in the data phase, sampled in the chains, U and c stepped),
// for 2 hidden layers (y odd) and 3 (y even).
TEST(DbmSync, LabelledJointUpdateAllocatesAndWaitsForNothing) {
  for (const std::vector<int64_t>& hidden : {std::vector<int64_t>{5, 4}, {5, 4, 3}}) {
    auto be = make_cpu_backend(1);
    Dbm dbm(*be, 8, hidden, 3);
    const Matrix x = Matrix::from_host(*be, binary_rows(10, 8));
    HostTensor y({10, 3}, 0.0f);
    for (int64_t r = 0; r < 10; ++r) y.data[r * 3 + r % 3] = 1.0f;
    const Matrix labels = Matrix::from_host(*be, y);
    DbmTrainer trainer(dbm, quick_dbm_config());
    trainer.update(x, labels);  // warm-up: buffers, chains
    be->reset_counters();
    trainer.update(x, labels);
    trainer.update(x, labels);
    EXPECT_EQ(be->counters(), BackendCounters{})
        << hidden.size() << " layers: " << be->counters().to_string();
  }
}

// What `on_large` (3n rows) counts on `be` equals what `on_small` (n rows) counts, each run from
// reset counters.
void expect_same_counts(Backend& be, const std::function<void()>& on_small,
                        const std::function<void()>& on_large) {
  be.reset_counters();
  on_small();
  const BackendCounters per_small = be.counters();
  be.reset_counters();
  on_large();
  EXPECT_EQ(be.counters(), per_small)
      << "3n rows: " << be.counters().to_string() << "\nn rows: " << per_small.to_string();
}

// A joint epoch of 3n rows counts what an epoch of n rows does: updates add nothing.
TEST(DbmSync, JointEpochCostDoesNotGrowWithItsUpdates) {
  auto be = make_cpu_backend(1);
  Dbm dbm(*be, 8, {5, 4});
  const Matrix small = Matrix::from_host(*be, binary_rows(20, 8));
  const Matrix large = Matrix::from_host(*be, binary_rows(60, 8));
  DbmTrainer a(dbm, quick_dbm_config()), b(dbm, quick_dbm_config());
  a.train_epoch(small);  // warm-up of each trainer
  b.train_epoch(large);
  expect_same_counts(
      *be, [&] { a.train_epoch(small); }, [&] { b.train_epoch(large); });
}

// The same for a labelled DBM's epoch (its labels gathered once per epoch).
TEST(DbmSync, LabelledJointEpochCostDoesNotGrowWithItsUpdates) {
  auto be = make_cpu_backend(1);
  Dbm dbm(*be, 8, {5, 4}, 2);
  const Matrix small = Matrix::from_host(*be, binary_rows(20, 8));
  const Matrix large = Matrix::from_host(*be, binary_rows(60, 8));
  std::vector<int32_t> ys(20), yl(60);
  for (size_t i = 0; i < yl.size(); ++i) yl[i] = int32_t(i % 2);
  for (size_t i = 0; i < ys.size(); ++i) ys[i] = yl[i];
  DbmTrainer a(dbm, quick_dbm_config()), b(dbm, quick_dbm_config());
  a.train_epoch(small, ys);
  b.train_epoch(large, yl);
  expect_same_counts(
      *be, [&] { a.train_epoch(small, ys); }, [&] { b.train_epoch(large, yl); });
}

// Pretraining: one epoch per layer; the 3n-row run counts what the n-row run counts.
TEST(DbmSync, PretrainingEpochCostDoesNotGrowWithItsUpdates) {
  auto be = make_cpu_backend(1);
  const Matrix small = Matrix::from_host(*be, binary_rows(20, 8));
  const Matrix large = Matrix::from_host(*be, binary_rows(60, 8));
  std::vector<TrainConfig> layers(2);
  for (TrainConfig& t : layers) {
    t.epochs = 1;
    t.batch_size = 10;
    t.sparsity_target = 0.1f;  // the sparsity term runs inside every update too
  }
  layers[0].resample_binarization = true;
  Dbm a(*be, 8, {5, 4}), b(*be, 8, {5, 4});
  expect_same_counts(
      *be, [&] { a.pretrain(small, layers); }, [&] { b.pretrain(large, layers); });
}

}  // namespace
}  // namespace crbm
