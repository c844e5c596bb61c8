// No host round trip inside a training step, held on the CPU backend through
// BackendCounters (crbm/backend.hpp): after warm-up, an update of every trainer and a step
// of AIS make no download, synchronisation, host reduction, host-indexed call (gather_rows
// with host indices), allocation, deallocation or upload. On the CUDA backend each of these
// would make the host wait for the device (or, for a free without a stream-ordered pool,
// the device idle), so counting them on the CPU holds the GPU contract in CI.
// Where update() is public the test counts a few updates after warm-up updates. Where it is
// not (epochs, fit, pretraining, AIS runs), it counts a whole call on n rows (or steps) and
// on 3n of them with the same minibatch size: the per-epoch work is the same, so identical
// counts mean that the 2n extra rows' updates (steps) added nothing, i.e. zero per update.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "crbm/ais.hpp"
#include "crbm/backend.hpp"
#include "crbm/conv_rbm.hpp"
#include "crbm/conv_train.hpp"
#include "crbm/dbn.hpp"
#include "crbm/logreg.hpp"
#include "crbm/mlp.hpp"
#include "crbm/ratings.hpp"
#include "crbm/rbm.hpp"
#include "crbm/softmax_rbm.hpp"
#include "crbm/train.hpp"
#include "philox.cuh"

namespace crbm {

// Failure messages show the counts by name.
void PrintTo(const BackendCounters& c, std::ostream* os) {
  *os << c.to_string();
}

namespace {

BackendCounters count(Backend& be, const std::function<void()>& run) {
  be.reset_counters();
  run();
  return be.counters();
}

// n x cols uniforms in [0, 1) (Philox, so the data is the same on every machine).
HostTensor uniforms(int64_t n, int64_t cols, uint32_t stream) {
  HostTensor t({n, cols});
  for (int64_t i = 0; i < t.numel(); ++i) t.data[i] = philox::uniform(5, stream, 0, uint64_t(i));
  return t;
}

HostTensor binary(int64_t n, int64_t cols, uint32_t stream) {
  HostTensor t = uniforms(n, cols, stream);
  for (float& x : t.data) x = x < 0.4f ? 1.0f : 0.0f;
  return t;
}

// One-hot rows of `groups` groups of `group` units.
HostTensor one_hot_groups(int64_t n, int64_t groups, int64_t group) {
  HostTensor t({n, groups * group}, 0.0f);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      const float u = philox::uniform(5, 9, 0, uint64_t(r * groups + g));
      t.data[(r * groups + g) * group + int64_t(u * float(group))] = 1.0f;
    }
  }
  return t;
}

// Word counts: documents of 1..12 words over `vocabulary` words.
HostTensor word_counts(int64_t n, int64_t vocabulary) {
  HostTensor t({n, vocabulary}, 0.0f);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t words = 1 + int64_t(philox::uniform(5, 10, 0, uint64_t(r)) * 12.0f);
    for (int64_t w = 0; w < words; ++w) {
      const float u = philox::uniform(5, 11, uint64_t(r), uint64_t(w));
      t.data[r * vocabulary + int64_t(u * float(vocabulary))] += 1.0f;
    }
  }
  return t;
}

// side x side single-channel images, 3x3 filters, 2x2 pooling.
ConvShape conv_shape(int64_t side, int64_t filters) {
  ConvShape s;
  s.height = s.width = side;
  s.filters = filters;
  s.filter_size = 3;
  s.pool = 2;
  return s;
}

std::vector<int32_t> labels_of(int64_t n, int classes) {
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) y[size_t(r)] = int32_t(r % classes);
  return y;
}

// Warm-up updates (buffers, PCD chains, convolution algorithm choice), then `updates`
// more that must be free of host round trips.
void expect_updates_free(Backend& be, const std::function<void(CMatRef)>& update, CMatRef data,
                         int64_t batch, const std::string& what) {
  const int64_t batches = data.rows / batch;
  ASSERT_GE(batches, 6) << what;
  for (int64_t i = 0; i < 2; ++i) update(data.row_range(i * batch, batch));
  const BackendCounters c = count(be, [&] {
    for (int64_t i = 2; i < batches; ++i) update(data.row_range(i * batch, batch));
  });
  EXPECT_EQ(c, BackendCounters{}) << what << ": " << c.to_string();
}

TEST(StepSync, DenseCdTrainerUpdates) {
  auto be = make_cpu_backend(1);
  constexpr int64_t kBatch = 10, kRows = 80, kVisible = 12;
  Matrix bin = Matrix::from_host(*be, binary(kRows, kVisible, 1));
  Matrix probs = Matrix::from_host(*be, uniforms(kRows, kVisible, 2));
  struct Case {
    std::string name;
    VisibleType type;
    std::function<void(TrainConfig&)> set;
  };
  const std::vector<Case> cases = {
      {"CD-1", VisibleType::bernoulli, [](TrainConfig&) {}},
      {"CD-3 + sparsity", VisibleType::bernoulli,
       [](TrainConfig& c) {
         c.cd_k = 3;
         c.sparsity_target = 0.1f;
         c.sparsity_cost = 0.1f;
       }},
      {"PCD", VisibleType::bernoulli, [](TrainConfig& c) { c.persistent = true; }},
      {"PCD, 7 chains, k=2", VisibleType::bernoulli,
       [](TrainConfig& c) {
         c.persistent = true;
         c.pcd_chains = 7;
         c.cd_k = 2;
       }},
      {"Gaussian visibles", VisibleType::gaussian, [](TrainConfig&) {}},
      {"resampled binarization", VisibleType::bernoulli,
       [](TrainConfig& c) { c.resample_binarization = true; }},
  };
  for (const Case& k : cases) {
    Rbm rbm(*be, kVisible, 8, k.type);
    rbm.init_random(3);
    TrainConfig cfg;
    cfg.batch_size = kBatch;
    cfg.learning_rate = 0.01f;
    cfg.divergence_check_every = 1000;  // the periodic check is counted below
    k.set(cfg);
    CdTrainer trainer(rbm, cfg);
    const CMatRef data = cfg.resample_binarization ? probs.cref() : bin.cref();
    expect_updates_free(
        *be, [&](CMatRef b) { trainer.update(b); }, data, kBatch, k.name);
  }
  // The one host wait that an update may make by design: the non-finite check every
  // divergence_check_every updates (an all_finite per parameter).
  Rbm rbm(*be, kVisible, 8);
  rbm.init_random(3);
  const BackendCounters want = count(*be, [&] { EXPECT_TRUE(rbm.parameters_finite()); });
  ASSERT_GT(want.host_reductions, 0);
  ASSERT_EQ(want.host_waits(), want.host_reductions);
  TrainConfig cfg;
  cfg.batch_size = kBatch;
  cfg.divergence_check_every = 4;
  CdTrainer trainer(rbm, cfg);
  for (int64_t i = 0; i < 4; ++i) trainer.update(bin.rows_view(i * kBatch, kBatch));
  const BackendCounters c = count(*be, [&] {
    for (int64_t i = 4; i < 8; ++i) trainer.update(bin.rows_view(i * kBatch, kBatch));
  });
  EXPECT_EQ(c, want) << c.to_string();
}

TEST(StepSync, ConvTrainerUpdates) {
  auto be = make_cpu_backend(1);
  const ConvShape shape = conv_shape(8, 3);
  constexpr int64_t kBatch = 4, kRows = 32;
  Matrix data = Matrix::from_host(*be, binary(kRows, shape.visible_size(), 3));
  for (const bool persistent : {false, true}) {
    ConvRbm rbm(*be, shape);
    rbm.init_random(4);
    ConvTrainConfig cfg;
    cfg.batch_size = kBatch;
    cfg.persistent = persistent;
    cfg.pcd_chains = persistent ? 6 : 0;
    cfg.sparsity_target = 0.05f;
    cfg.sparsity_cost = 0.1f;
    cfg.divergence_check_every = 1000;
    ConvTrainer trainer(rbm, cfg);
    expect_updates_free(
        *be, [&](CMatRef b) { trainer.update(b); }, data, kBatch,
        persistent ? "conv PCD" : "conv CD");
  }
}

TEST(StepSync, ConvTrainerEpochs) {
  // The epoch loop: one gather and one synchronisation per epoch, none per batch.
  auto be = make_cpu_backend(1);
  const ConvShape shape = conv_shape(6, 2);
  const auto epoch_counts = [&](int64_t n) {
    Matrix data = Matrix::from_host(*be, binary(n, shape.visible_size(), 4));
    ConvRbm rbm(*be, shape);
    rbm.init_random(5);
    ConvTrainConfig cfg;
    cfg.batch_size = 4;
    cfg.divergence_check_every = 1000;
    ConvTrainer trainer(rbm, cfg);
    trainer.train_epoch(data, 8);
    return count(*be, [&] { trainer.train_epoch(data, 8); });
  };
  const BackendCounters small = epoch_counts(16), large = epoch_counts(48);
  EXPECT_EQ(small, large) << small.to_string() << " vs " << large.to_string();
  EXPECT_EQ(small.host_indexed, 1) << small.to_string();
  EXPECT_EQ(small.synchronizations, 1) << small.to_string();
}

TEST(StepSync, SoftmaxCdTrainerUpdates) {
  auto be = make_cpu_backend(1);
  constexpr int64_t kBatch = 10, kRows = 70;
  {
    SoftmaxRbm model(*be, 12, 6, SoftmaxKind::groups, 3);
    model.init_random(6);
    Matrix data = Matrix::from_host(*be, one_hot_groups(kRows, 4, 3));
    TrainConfig cfg;
    cfg.batch_size = kBatch;
    cfg.cd_k = 2;
    SoftmaxCdTrainer trainer(model, cfg);
    expect_updates_free(
        *be, [&](CMatRef b) { trainer.update(b); }, data, kBatch, "softmax groups");
  }
  {
    SoftmaxRbm model(*be, 20, 6, SoftmaxKind::replicated);
    model.init_random(7);
    Matrix data = Matrix::from_host(*be, word_counts(kRows, 20));
    TrainConfig cfg;
    cfg.batch_size = kBatch;
    cfg.cd_k = 2;
    SoftmaxCdTrainer trainer(model, cfg);
    expect_updates_free(
        *be, [&](CMatRef b) { trainer.update(b); }, data, kBatch, "replicated softmax");
  }
}

TEST(StepSync, MlpTrainerEpochs) {
  auto be = make_cpu_backend(1);
  const auto epoch_counts = [&](int64_t n) {
    Matrix x = Matrix::from_host(*be, uniforms(n, 7, 5));
    const std::vector<int32_t> y = labels_of(n, 3);
    Mlp mlp(*be, {7, 5, 4, 3});
    mlp.init_random(8);
    MlpConfig cfg;
    cfg.batch_size = 8;
    MlpTrainer trainer(mlp, cfg);
    trainer.train_epoch(x, y);  // warm-up: one-hot targets, shuffle buffers, activations
    return count(*be, [&] { trainer.train_epoch(x, y); });
  };
  const BackendCounters small = epoch_counts(40), large = epoch_counts(120);
  EXPECT_EQ(small, large) << small.to_string() << " vs " << large.to_string();
  EXPECT_EQ(small.downloads, 1) << small.to_string();  // the epoch's loss
}

TEST(StepSync, LogisticRegressionFit) {
  auto be = make_cpu_backend(1);
  for (const bool with_progress : {false, true}) {
    const auto fit_counts = [&](int64_t n) {
      Matrix x = Matrix::from_host(*be, uniforms(n, 6, 6));
      const std::vector<int32_t> y = labels_of(n, 3);
      LogisticRegression model(*be, 6, 3);
      LogRegConfig cfg;
      cfg.epochs = 2;
      cfg.batch_size = 8;
      int epochs_seen = 0;
      const BackendCounters c = count(*be, [&] {
        if (with_progress) {
          model.fit(x, y, cfg, [&](int, double loss) {
            ++epochs_seen;
            EXPECT_GT(loss, 0.0);
          });
        } else {
          model.fit(x, y, cfg);
        }
      });
      EXPECT_EQ(epochs_seen, with_progress ? 2 : 0);
      return c;
    };
    const BackendCounters small = fit_counts(40), large = fit_counts(120);
    EXPECT_EQ(small, large) << "progress " << with_progress << ": " << small.to_string() << " vs "
                            << large.to_string();
  }
}

// n users who each rate `per_user` of `items` items (levels 1..5): every full minibatch
// has the same number of entries.
RatingsData ratings(int64_t n, int64_t items, int64_t per_user) {
  RatingsData d;
  d.source = "step_sync_test";
  d.users = n;
  d.items = items;
  d.levels = {1, 2, 3, 4, 5};
  for (int64_t i = 0; i < items; ++i) d.item_ids.push_back(i);
  for (int64_t u = 0; u < n; ++u) {
    d.user_ids.push_back(u);
    for (int64_t k = 0; k < per_user; ++k) {
      d.item.push_back(int32_t((u * 7 + k * 3) % items));
      d.level.push_back(int32_t(philox::uniform(5, 12, uint64_t(u), uint64_t(k)) * 5.0f));
    }
    d.offsets.push_back(int64_t(d.item.size()));
  }
  return d;
}

TEST(StepSync, RatingsTrainerEpochs) {
  auto be = make_cpu_backend(1);
  for (const bool conditional : {false, true}) {
    const auto epoch_counts = [&](int64_t n) {
      const RatingsData d = ratings(n, 15, 4);
      RatingsRbm model(*be, d.items, d.levels, 6, conditional);
      model.init_random(9, 0.01f, &d);
      RatingsTrainConfig cfg;
      cfg.batch_size = 10;
      cfg.cd_schedule = {{2, 1}};
      RatingsCdTrainer trainer(model, cfg);
      trainer.train_epoch(d);
      return count(*be, [&] { trainer.train_epoch(d); });
    };
    const BackendCounters small = epoch_counts(40), large = epoch_counts(120);
    EXPECT_EQ(small, large) << "conditional " << conditional << ": " << small.to_string() << " vs "
                            << large.to_string();
  }
}

TEST(StepSync, DbnLabelledTopTrainer) {
  // Reached through Dbn::pretrain: one layer, so the trainer is the labelled top RBM's.
  auto be = make_cpu_backend(1);
  for (const bool persistent : {false, true}) {
    const auto pretrain_counts = [&](int64_t n) {
      Matrix x = Matrix::from_host(*be, binary(n, 10, 7));
      const std::vector<int32_t> y = labels_of(n, 3);
      DbnConfig cfg;
      cfg.num_classes = 3;
      LayerConfig layer;
      layer.hidden = 6;
      layer.train.epochs = 2;
      layer.train.batch_size = 8;
      layer.train.persistent = persistent;
      cfg.layers.push_back(layer);
      Dbn dbn(*be, 10, cfg);
      return count(*be, [&] { dbn.pretrain(x, y, cfg); });
    };
    const BackendCounters small = pretrain_counts(40), large = pretrain_counts(120);
    EXPECT_EQ(small, large) << (persistent ? "PCD" : "CD") << ": " << small.to_string() << " vs "
                            << large.to_string();
  }
}

TEST(StepSync, RbmAisSteps) {
  auto be = make_cpu_backend(1);
  for (const VisibleType type : {VisibleType::bernoulli, VisibleType::gaussian}) {
    Rbm rbm(*be, 9, 5, type);
    rbm.init_random(10, 0.1f);
    const HostTensor base = binary(20, 9, 8);
    const auto ais_counts = [&](int64_t steps) {
      AisConfig cfg;
      cfg.runs = 16;
      cfg.steps = steps;
      cfg.flush_every = 1 << 20;  // one download, at the end
      return count(*be, [&] { (void)ais_log_partition(rbm, base, cfg); });
    };
    const BackendCounters small = ais_counts(30), large = ais_counts(90);
    EXPECT_EQ(small, large) << small.to_string() << " vs " << large.to_string();
  }
}

// Launches per AIS step: the operations (BackendCounters::operations) of a run of 3n steps
// minus those of n steps, over the 2n extra steps, for both visible types (the Gaussian
// with non-unit sigma also writes the scaled input of the product). A step is the fused
// hidden half, the product W h, the fused visible half and the product (v/s)'W: 4 (the
// unfused sequence it replaced issued 19, 21 with non-unit sigma).
TEST(StepSync, RbmAisStepIsFourOperations) {
  constexpr int64_t kMaxOperationsPerStep = 4;
  auto be = make_cpu_backend(1);
  const HostTensor base = binary(20, 9, 8);
  for (const bool unit_sigma : {true, false}) {
    for (const VisibleType type : {VisibleType::bernoulli, VisibleType::gaussian}) {
      if (!unit_sigma && type == VisibleType::bernoulli) continue;
      Rbm rbm(*be, 9, 5, type);
      rbm.init_random(10, 0.1f);
      if (!unit_sigma) {
        HostTensor s({1, 9});
        for (int64_t i = 0; i < 9; ++i) s.data[i] = 0.5f + 0.1f * float(i);
        rbm.set_visible_sigma(s);
        ASSERT_FALSE(rbm.unit_sigma());
      }
      const auto operations = [&](int64_t steps) {
        AisConfig cfg;
        cfg.runs = 16;
        cfg.steps = steps;
        cfg.flush_every = 1 << 20;
        return count(*be, [&] { (void)ais_log_partition(rbm, base, cfg); }).operations;
      };
      const int64_t small = operations(30), large = operations(90);
      const std::string what =
          std::string(type == VisibleType::gaussian ? "gaussian" : "bernoulli") +
          (unit_sigma ? "" : ", non-unit sigma");
      ASSERT_EQ((large - small) % 60, 0) << what << ": " << small << " vs " << large;
      const int64_t per_step = (large - small) / 60;
      std::printf("[ ais ] %s: %lld backend operations per step\n", what.c_str(),
                  static_cast<long long>(per_step));
      EXPECT_LE(per_step, kMaxOperationsPerStep) << what;
      EXPECT_GT(per_step, 0) << what;  // the counter sees the step at all
    }
  }
}

TEST(StepSync, SoftmaxAisSteps) {
  auto be = make_cpu_backend(1);
  struct Case {
    SoftmaxKind kind;
    int64_t group, length;
    HostTensor base;
  };
  const std::vector<Case> cases = {{SoftmaxKind::groups, 3, 1, one_hot_groups(20, 4, 3)},
                                   {SoftmaxKind::replicated, 0, 9, word_counts(20, 12)}};
  for (const Case& k : cases) {
    SoftmaxRbm model(*be, 12, 5, k.kind, k.group);
    model.init_random(11, 0.1f);
    const auto ais_counts = [&](int64_t steps) {
      AisConfig cfg;
      cfg.runs = 16;
      cfg.steps = steps;
      cfg.flush_every = 1 << 20;
      return count(*be, [&] { (void)model.ais_log_partition(k.base, cfg, k.length); });
    };
    const BackendCounters small = ais_counts(30), large = ais_counts(90);
    EXPECT_EQ(small, large) << to_string(k.kind) << ": " << small.to_string() << " vs "
                            << large.to_string();
  }
}

}  // namespace
}  // namespace crbm
