// DBM trainer bookkeeping: dbm_health_warnings (the signs of joint training leaving the data
// that `crbm dbm-train` prints without stopping the run: dead or saturated layers, a layer's
// activity jumping in one epoch, the reconstruction error climbing), resuming a run, and the
// per-layer sparsity terms (DbmTrainConfig::sparsity_targets), and a labelled DBM's epoch
// keeping each row's label with it through the shuffle.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/dbm.hpp"
#include "crbm/dbn.hpp"  // one_hot
#include "crbm/train.hpp"
#include "support/train_configs.hpp"

namespace crbm {
namespace {

DbmEpochStats stats(int epoch, double recon, std::vector<double> activity) {
  DbmEpochStats s;
  s.epoch = epoch;
  s.learning_rate = 0.005;
  s.momentum = 0.9;
  s.reconstruction_error = recon;
  s.mean_activation = std::move(activity);
  return s;
}

bool any_contains(const std::vector<std::string>& messages, const std::string& part) {
  for (const std::string& m : messages) {
    if (m.find(part) != std::string::npos) return true;
  }
  return false;
}

// The warnings for `now` after `previous` (nullptr: the first epoch) with the lowest
// reconstruction error so far `lowest`, expected to be `count` messages among which each of
// `parts` is found.
std::vector<std::string> expect_warnings(const DbmEpochStats& now, const DbmEpochStats* previous,
                                         double lowest, size_t count,
                                         const std::vector<std::string>& parts) {
  const std::vector<std::string> w = dbm_health_warnings(now, previous, lowest);
  EXPECT_EQ(w.size(), count) << "epoch " << now.epoch;
  for (const std::string& part : parts) {
    EXPECT_TRUE(any_contains(w, part)) << "epoch " << now.epoch << ": no \"" << part << "\"";
  }
  return w;
}

TEST(DbmHealth, HealthyEpochsGiveNoWarning) {
  const DbmEpochStats first = stats(1, 5.13, {0.49, 0.31});
  EXPECT_TRUE(dbm_health_warnings(first, nullptr, 0).empty());
  const DbmEpochStats second = stats(2, 5.02, {0.48, 0.30});
  EXPECT_TRUE(dbm_health_warnings(second, &first, 5.13).empty());
  // Small absolute moves of a quiet layer are not jumps even when relatively large.
  const DbmEpochStats quiet_a = stats(3, 5.0, {0.48, 0.010});
  const DbmEpochStats quiet_b = stats(4, 5.0, {0.48, 0.020});
  EXPECT_TRUE(dbm_health_warnings(quiet_b, &quiet_a, 5.0).empty());
}

TEST(DbmHealth, ActivityJumpIsReportedWithTheLayerAndTheCause) {
  // The MNIST failure of docs/results/deep-mnist.md: layer 1 fell from 0.487 to 0.363.
  const DbmEpochStats before = stats(5, 4.6, {0.487, 0.30});
  const DbmEpochStats after = stats(6, 4.7, {0.363, 0.30});
  expect_warnings(after, &before, 4.6, 1,
                  {"hidden layer 1 mean activity fell", "learning rate or momentum"});
  // A rise is reported as such.
  const std::vector<std::string> up = dbm_health_warnings(before, &after, 4.6);
  EXPECT_TRUE(any_contains(up, "rose"));
}

TEST(DbmHealth, ReconstructionClimbIsReported) {
  const DbmEpochStats before = stats(5, 4.6, {0.48, 0.30});
  const DbmEpochStats after = stats(6, 6.8, {0.48, 0.30});
  expect_warnings(after, &before, 4.6, 1, {"reconstruction error"});
  // Within 1.3x of the lowest: quiet.
  const DbmEpochStats mild = stats(6, 5.9, {0.48, 0.30});
  EXPECT_TRUE(dbm_health_warnings(mild, &before, 4.6).empty());
  // The first epoch has nothing to compare with.
  EXPECT_TRUE(dbm_health_warnings(after, nullptr, 4.6).empty());
}

TEST(DbmHealth, DeadAndSaturatedLayersAreReported) {
  expect_warnings(stats(1, 5.0, {0.48, 0.001}), nullptr, 0, 1, {"hidden layer 2 is nearly dead"});
  expect_warnings(stats(1, 5.0, {0.999, 0.3}), nullptr, 0, 1, {"hidden layer 1 is saturated"});
}

TEST(DbmHealth, SeveralSignsGiveSeveralMessagesAndOneHint) {
  const DbmEpochStats before = stats(5, 4.6, {0.487, 0.30});
  const DbmEpochStats after = stats(6, 6.8, {0.363, 0.001});
  const std::vector<std::string> w = expect_warnings(after, &before, 4.6, 3, {});
  int hints = 0;
  for (const std::string& m : w) hints += m.find("momentum may be too large") != std::string::npos;
  EXPECT_EQ(hints, 1);
}

// resume(): the schedule continues where the saved run stopped (lr decay, momentum switch,
// epoch numbers), and it is refused once the trainer has run.
TEST(DbmTrainerResume, ScheduleContinuesFromTheSavedEpoch) {
  auto be = make_cpu_backend(1);
  Dbm dbm(*be, 6, {4, 3});
  HostTensor data({40, 6});
  for (size_t i = 0; i < data.data.size(); ++i) data.data[i] = float((i * 7) % 3 == 0);
  const Matrix x = Matrix::from_host(*be, data);
  DbmTrainConfig c = testing::dbm_config(10, 5, 0.01f);
  c.lr_decay = 0.5f;
  c.momentum = 0.3f;
  c.final_momentum = 0.6f;
  c.momentum_switch_epoch = 3;
  DbmTrainer fresh(dbm, c);
  const DbmEpochStats first = fresh.train_epoch(x);
  EXPECT_EQ(first.epoch, 1);
  EXPECT_FLOAT_EQ(float(first.momentum), 0.3f);

  DbmTrainer resumed(dbm, c);
  resumed.resume(4, 16);
  EXPECT_EQ(resumed.epoch(), 4);
  EXPECT_EQ(resumed.updates(), 16);
  const DbmEpochStats fifth = resumed.train_epoch(x);
  EXPECT_EQ(fifth.epoch, 5);
  EXPECT_NEAR(fifth.learning_rate, 0.01 / (1.0 + 0.5 * 4), 1e-9);
  EXPECT_FLOAT_EQ(float(fifth.momentum), 0.6f);
  EXPECT_EQ(resumed.updates(), 20);
  EXPECT_THROW(resumed.resume(1, 1), Error);
  DbmTrainer bad(dbm, c);
  EXPECT_THROW(bad.resume(-1, 0), Error);
}

// ---- per-layer sparsity ----

HostTensor pattern_rows(int64_t rows, int64_t cols) {
  HostTensor t({rows, cols});
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = float((i * 7 + i / 3) % 3 == 0);
  return t;
}

// Joint training from the same pretrained-like start; returns the last epoch's statistics
// and the final parameters.
DbmEpochStats train_joint(const DbmTrainConfig& c, DbmParams* out = nullptr) {
  auto be = make_cpu_backend(1);
  Dbm dbm(*be, 8, {6, 5});
  DbmParams p = dbm.to_host();
  for (HostTensor& w : p.weights) {
    for (size_t i = 0; i < w.data.size(); ++i) w.data[i] = 0.3f * float(int(i * 5 % 7) - 3) / 3;
  }
  dbm.load(p);
  const Matrix x = Matrix::from_host(*be, pattern_rows(40, 8));
  DbmTrainer trainer(dbm, c);
  DbmEpochStats s;
  for (int e = 0; e < c.epochs; ++e) s = trainer.train_epoch(x);
  if (out != nullptr) *out = dbm.to_host();
  return s;
}

DbmTrainConfig sparsity_config() {
  DbmTrainConfig c = testing::dbm_config(10, 10, 0.05f, 6);
  c.sparsity_cost = 0.5f;
  return c;
}

void expect_same_params(const DbmParams& a, const DbmParams& b) {
  for (size_t l = 0; l < a.weights.size(); ++l) EXPECT_EQ(a.weights[l].data, b.weights[l].data);
  for (size_t l = 0; l < a.biases.size(); ++l) EXPECT_EQ(a.biases[l].data, b.biases[l].data);
}

// Off by default, and targets of 0 (or the weight term without targets) change nothing.
// train_epoch(data, labels) equals updates on the epoch's shuffled rows with the labels
// gathered in the same order (shuffled_indices(N, seed, epoch)), to the last bit; a label
// order that did not follow the rows would move U and c differently.
TEST(DbmTrainerLabels, EpochShufflesTheLabelsWithTheRows) {
  auto be = make_cpu_backend(1);
  const int64_t n = 30, nv = 8, classes = 3;
  HostTensor x({n, nv});
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    labels[r] = static_cast<int32_t>((r * 7) % classes);
    for (int64_t i = 0; i < nv; ++i) x.data[r * nv + i] = float((i + labels[r]) % 3 == 0);
  }
  DbmTrainConfig c = testing::quick_dbm_config();
  c.learning_rate = 0.05f;
  Dbm a(*be, nv, {5, 4}, classes), b(*be, nv, {5, 4}, classes);
  const Matrix data = Matrix::from_host(*be, x);
  DbmTrainer ta(a, c), tb(b, c);
  ta.train_epoch(data, labels);
  const std::vector<int32_t> order = shuffled_indices(n, c.seed, 0);
  const HostTensor y = one_hot(labels, int(classes));
  HostTensor xs({n, nv}), ys({n, classes});
  for (int64_t r = 0; r < n; ++r) {
    std::copy(x.data.begin() + order[r] * nv, x.data.begin() + (order[r] + 1) * nv,
              xs.data.begin() + r * nv);
    std::copy(y.data.begin() + order[r] * classes, y.data.begin() + (order[r] + 1) * classes,
              ys.data.begin() + r * classes);
  }
  const Matrix xm = Matrix::from_host(*be, xs), ym = Matrix::from_host(*be, ys);
  for (int64_t first = 0; first < n; first += c.batch_size) {
    tb.update(xm.rows_view(first, c.batch_size), ym.rows_view(first, c.batch_size));
  }
  const DbmParams pa = a.to_host(), pb = b.to_host();
  EXPECT_EQ(pa.label_weights.data, pb.label_weights.data);
  EXPECT_EQ(pa.label_bias.data, pb.label_bias.data);
  for (size_t l = 0; l < pa.weights.size(); ++l) EXPECT_EQ(pa.weights[l].data, pb.weights[l].data);
  // And the labels moved U at all (it starts at 0).
  float largest = 0;
  for (float u : pa.label_weights.data) largest = std::max(largest, std::abs(u));
  EXPECT_GT(largest, 0.0f);
}

TEST(DbmSparsity, OffByDefaultAndZeroTargetsChangeNothing) {
  DbmTrainConfig plain = sparsity_config();
  EXPECT_TRUE(DbmTrainConfig().sparsity_targets.empty());
  EXPECT_FLOAT_EQ(DbmTrainConfig().sparsity_target, 0.0f);
  EXPECT_FALSE(DbmTrainConfig().sparsity_weight_gradient);
  DbmParams reference, zeros, weights_only;
  train_joint(plain, &reference);
  DbmTrainConfig z = plain;
  z.sparsity_targets = {0.0f, 0.0f};
  train_joint(z, &zeros);
  expect_same_params(reference, zeros);
  DbmTrainConfig w = plain;
  w.sparsity_weight_gradient = true;
  train_joint(w, &weights_only);
  expect_same_params(reference, weights_only);
}

// Each layer's activity moves toward its own target: layer 1 down to 0.05, layer 2 up
// to 0.9, with the bias term alone and with the weight term of dbm_mf.m as well.
TEST(DbmSparsity, EachLayerMovesTowardItsTarget) {
  const DbmTrainConfig plain = sparsity_config();
  const DbmEpochStats none = train_joint(plain);
  for (bool weights : {false, true}) {
    DbmTrainConfig c = plain;
    c.sparsity_targets = {0.05f, 0.9f};
    c.sparsity_weight_gradient = weights;
    const DbmEpochStats s = train_joint(c);
    ASSERT_EQ(s.mean_activation.size(), 2u);
    EXPECT_LT(s.mean_activation[0], none.mean_activation[0] - 0.05) << "weights " << weights;
    EXPECT_GT(s.mean_activation[1], none.mean_activation[1] + 0.05) << "weights " << weights;
    EXPECT_LT(std::abs(s.mean_activation[0] - 0.05), std::abs(none.mean_activation[0] - 0.05));
    EXPECT_LT(std::abs(s.mean_activation[1] - 0.9), std::abs(none.mean_activation[1] - 0.9));
  }
  // A target for layer 1 only leaves layer 2 without a term (0 = off for that layer).
  DbmTrainConfig one = plain;
  one.sparsity_targets = {0.05f};
  const DbmEpochStats s = train_joint(one);
  EXPECT_LT(s.mean_activation[0], none.mean_activation[0] - 0.05);
}

TEST(DbmSparsity, BadTargetsAreRefusedByName) {
  DbmTrainConfig c = sparsity_config();
  c.sparsity_targets = {0.2f, 1.5f};
  try {
    c.validate();
    FAIL() << "target 1.5 validated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sparsity_targets[1]"), std::string::npos) << e.what();
  }
  c.sparsity_targets = {0.2f, 0.1f};
  c.sparsity_target = 0.1f;
  EXPECT_THROW(c.validate(), Error);
  c.sparsity_target = 0.0f;
  c.sparsity_targets = {0.2f, 0.1f, 0.1f};  // three targets for two hidden layers
  auto be = make_cpu_backend(1);
  Dbm dbm(*be, 8, {6, 5});
  EXPECT_THROW(DbmTrainer(dbm, c), Error);
  EXPECT_FLOAT_EQ(DbmTrainConfig().sparsity_target_of(1), 0.0f);
  c.sparsity_targets = {0.2f};
  EXPECT_FLOAT_EQ(c.sparsity_target_of(1), 0.2f);
  EXPECT_FLOAT_EQ(c.sparsity_target_of(2), 0.0f);
}

}  // namespace
}  // namespace crbm
