// Dense RBMs against exact enumeration on tiny instances: log Z (both
// enumeration directions, Bernoulli and Gaussian visible), free energy,
// conditionals, the log-likelihood gradient, and that CD-k / PCD training
// raises the exact log-likelihood of the built-in data.
#include <gtest/gtest.h>

#include <cmath>

#include "crbm/data.hpp"
#include "crbm/exact.hpp"
#include "crbm/train.hpp"
#include "support/brute_force.hpp"

namespace crbm {
namespace {

using testing::bits_of;
using testing::brute_force;
using testing::random_params;

std::unique_ptr<Backend> cpu() {
  return make_cpu_backend();
}

HostTensor all_visible_codes(int64_t nv) {
  HostTensor t({int64_t(1) << nv, nv});
  for (uint64_t c = 0; c < (uint64_t(1) << nv); ++c) {
    const auto v = bits_of(c, nv);
    for (int64_t i = 0; i < nv; ++i) t.data[c * nv + i] = float(v[i]);
  }
  return t;
}

TEST(RbmExact, LogZEnumeratingHiddenMatchesBruteForce) {
  auto be = cpu();
  const RbmParams p = random_params(7, 5, 1.5, 11);
  Rbm rbm(*be, p);
  EXPECT_NEAR(exact_log_partition(rbm), brute_force(p).log_z, 1e-4);
}

TEST(RbmExact, LogZEnumeratingVisibleMatchesBruteForce) {
  auto be = cpu();
  const RbmParams p = random_params(5, 8, 1.5, 12);
  Rbm rbm(*be, p);
  EXPECT_NEAR(exact_log_partition(rbm), brute_force(p).log_z, 1e-4);
}

TEST(RbmExact, LogZSmallBatchesAgreeWithOneBatch) {
  auto be = cpu();
  Rbm rbm(*be, random_params(9, 9, 1.0, 13));
  ExactOptions small;
  small.batch = 7;  // many partial batches
  EXPECT_NEAR(exact_log_partition(rbm, small), exact_log_partition(rbm), 1e-4);
}

TEST(RbmExact, LogZStableForLargeWeights) {
  auto be = cpu();
  const RbmParams p = random_params(6, 6, 12.0, 14);
  Rbm rbm(*be, p);
  const double exact = exact_log_partition(rbm);
  ASSERT_TRUE(std::isfinite(exact));
  EXPECT_NEAR(exact / brute_force(p).log_z, 1.0, 1e-5);
}

TEST(RbmExact, RefusesTooManyConfigurations) {
  auto be = cpu();
  Rbm rbm(*be, 40, 40);
  ExactOptions opt;
  opt.max_enumerated_units = 20;
  EXPECT_FALSE(exact_feasible(rbm, opt));
  try {
    exact_log_partition(rbm, opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("AIS"), std::string::npos) << e.what();
  }
}

TEST(RbmExact, FreeEnergyIsNegativeLogMarginal) {
  auto be = cpu();
  const RbmParams p = random_params(6, 4, 2.0, 15);
  Rbm rbm(*be, p);
  const auto bf = brute_force(p);
  const HostTensor codes = all_visible_codes(6);
  Matrix v = Matrix::from_host(*be, codes);
  Matrix f(*be, v.rows(), 1);
  rbm.free_energy(v, f);
  const HostTensor fh = f.download();
  for (int64_t c = 0; c < v.rows(); ++c) {
    EXPECT_NEAR(-fh.data[c], bf.log_marginal[c], 1e-4) << "visible code " << c;
  }
}

TEST(RbmExact, HiddenConditionalMatchesJoint) {
  auto be = cpu();
  const RbmParams p = random_params(5, 4, 2.0, 16);
  Rbm rbm(*be, p);
  const HostTensor codes = all_visible_codes(5);
  Matrix v = Matrix::from_host(*be, codes);
  Matrix hp(*be, v.rows(), 4);
  rbm.hidden_given_visible(v, hp);
  const HostTensor got = hp.download();
  for (uint64_t vc = 0; vc < 32; ++vc) {
    double z = 0.0;
    std::vector<double> on(4, 0.0);
    for (uint64_t hc = 0; hc < 16; ++hc) {
      const auto h = bits_of(hc, 4);
      const double w = std::exp(testing::neg_energy(p, bits_of(vc, 5), h));
      z += w;
      for (int j = 0; j < 4; ++j) on[j] += w * h[j];
    }
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(got.data[vc * 4 + j], on[j] / z, 1e-5);
  }
}

TEST(RbmExact, VisibleConditionalMatchesJoint) {
  auto be = cpu();
  const RbmParams p = random_params(4, 5, 2.0, 17);
  Rbm rbm(*be, p);
  HostTensor hcodes({32, 5});
  for (uint64_t c = 0; c < 32; ++c)
    for (int j = 0; j < 5; ++j) hcodes.data[c * 5 + j] = float((c >> j) & 1u);
  Matrix h = Matrix::from_host(*be, hcodes);
  Matrix vm(*be, 32, 4);
  rbm.visible_mean_given_hidden(h, vm);
  const HostTensor got = vm.download();
  for (uint64_t hc = 0; hc < 32; ++hc) {
    double z = 0.0;
    std::vector<double> on(4, 0.0);
    for (uint64_t vc = 0; vc < 16; ++vc) {
      const auto v = bits_of(vc, 4);
      const double w = std::exp(testing::neg_energy(p, v, bits_of(hc, 5)));
      z += w;
      for (int i = 0; i < 4; ++i) on[i] += w * v[i];
    }
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(got.data[hc * 4 + i], on[i] / z, 1e-5);
  }
}

// Gaussian visible units: log Z against a direct numerical integral over v
// (V = 2, midpoint rule on a wide grid), summed over all h.
TEST(RbmExact, GaussianLogZMatchesNumericalIntegral) {
  auto be = cpu();
  RbmParams p = random_params(2, 3, 0.8, 18, VisibleType::gaussian);
  p.visible_sigma.data = {0.7f, 1.3f};
  Rbm rbm(*be, p);
  const double exact = exact_log_partition(rbm);
  const int n = 1500;
  const double lo = -14.0, hi = 14.0, dx = (hi - lo) / n;
  double z = 0.0;
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      const double v[2] = {lo + (a + 0.5) * dx, lo + (b + 0.5) * dx};
      for (uint64_t hc = 0; hc < 8; ++hc) {
        const auto h = bits_of(hc, 3);
        double ne = 0.0;
        for (int i = 0; i < 2; ++i) {
          const double s = p.visible_sigma.data[i];
          ne -= (v[i] - p.visible_bias.data[i]) * (v[i] - p.visible_bias.data[i]) / (2 * s * s);
          for (int j = 0; j < 3; ++j) ne += v[i] / s * p.weights.data[i * 3 + j] * h[j];
        }
        for (int j = 0; j < 3; ++j) ne += p.hidden_bias.data[j] * h[j];
        z += std::exp(ne) * dx * dx;
      }
    }
  }
  EXPECT_NEAR(exact, std::log(z), 1e-4);
}

TEST(RbmExact, GaussianFreeEnergyConsistentWithLogZ) {
  // Integral of exp(-F(v)) over v must equal Z: check via the same grid.
  auto be = cpu();
  RbmParams p = random_params(2, 2, 0.8, 19, VisibleType::gaussian);
  p.visible_sigma.data = {1.0f, 0.5f};
  Rbm rbm(*be, p);
  const int n = 600;
  const double lo = -10.0, hi = 10.0, dx = (hi - lo) / n;
  HostTensor grid({int64_t(n) * n, 2});
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b) {
      grid.data[(a * n + b) * 2] = float(lo + (a + 0.5) * dx);
      grid.data[(a * n + b) * 2 + 1] = float(lo + (b + 0.5) * dx);
    }
  Matrix v = Matrix::from_host(*be, grid);
  Matrix f(*be, v.rows(), 1);
  rbm.free_energy(v, f);
  const HostTensor fh = f.download();
  double z = 0.0;
  for (float x : fh.data) z += std::exp(-double(x)) * dx * dx;
  EXPECT_NEAR(exact_log_partition(rbm), std::log(z), 1e-3);
}

// d/dW mean log P(v) = <v h'>_data - <v h'>_model: finite differences of the
// library's exact log-likelihood against the brute-force expectation.
TEST(RbmExact, LogLikelihoodGradientMatchesFiniteDifferences) {
  auto be = cpu();
  RbmParams p = random_params(5, 4, 1.0, 20);
  const HostTensor data = all_visible_codes(5);
  HostTensor subset({6, 5});
  for (int r = 0; r < 6; ++r)
    for (int i = 0; i < 5; ++i) subset.data[r * 5 + i] = data.data[(r * 5 + 3) % 32 * 5 + i];
  auto ll = [&](const RbmParams& q) {
    Rbm rbm(*be, q);
    Matrix v = Matrix::from_host(*be, subset);
    return mean_log_likelihood(rbm, v, exact_log_partition(rbm));
  };
  const auto bf = brute_force(p);
  for (int64_t idx : {0, 7, 19}) {
    const int64_t i = idx / 4, j = idx % 4;
    // Data term with hidden probabilities.
    double data_term = 0.0;
    for (int r = 0; r < 6; ++r) {
      double pre = p.hidden_bias.data[j];
      for (int a = 0; a < 5; ++a) pre += subset.data[r * 5 + a] * p.weights.data[a * 4 + j];
      data_term += subset.data[r * 5 + i] / (1.0 + std::exp(-pre));
    }
    data_term /= 6.0;
    const double analytic = data_term - bf.model_vh[i * 4 + j];
    const float eps = 1e-2f;
    RbmParams plus = p, minus = p;
    plus.weights.data[idx] += eps;
    minus.weights.data[idx] -= eps;
    const double numeric = (ll(plus) - ll(minus)) / (2.0 * eps);
    EXPECT_NEAR(numeric, analytic, 2e-3) << "W[" << i << "," << j << "]";
  }
}

// One CD-k update with lr = eps, no momentum or decay, k large and many chains
// started at the data: dW / eps estimates <vh>_data - <vh>_model.
TEST(RbmExact, LongChainCdUpdateEstimatesTheGradient) {
  auto be = cpu();
  const RbmParams p = random_params(5, 4, 0.7, 21);
  Rbm rbm(*be, p);
  const int64_t rows = 4000;
  HostTensor batch({rows, 5});
  for (int64_t r = 0; r < rows; ++r)
    for (int i = 0; i < 5; ++i) batch.data[r * 5 + i] = float(((r % 3) + i) % 2);
  TrainConfig cfg;
  cfg.cd_k = 200;
  cfg.learning_rate = 1e-3f;
  cfg.momentum = cfg.final_momentum = 0.0f;
  cfg.weight_decay = 0.0f;
  cfg.batch_size = rows;
  cfg.seed = 5;
  CdTrainer trainer(rbm, cfg);
  Matrix v = Matrix::from_host(*be, batch);
  trainer.update(v);
  const HostTensor w1 = rbm.weights().download();
  const auto bf = brute_force(p);
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t j = 0; j < 4; ++j) {
      double data_term = 0.0;
      for (int64_t r = 0; r < rows; ++r) {
        double pre = p.hidden_bias.data[j];
        for (int a = 0; a < 5; ++a) pre += batch.data[r * 5 + a] * p.weights.data[a * 4 + j];
        data_term += batch.data[r * 5 + i] / (1.0 + std::exp(-pre));
      }
      data_term /= double(rows);
      const double expected = data_term - bf.model_vh[i * 4 + j];
      const double got = (w1.data[i * 4 + j] - p.weights.data[i * 4 + j]) / cfg.learning_rate;
      // Monte Carlo error of a mean over 4000 chains: sd <= 0.5 / sqrt(4000) ~ 0.008.
      EXPECT_NEAR(got, expected, 0.04) << "W[" << i << "," << j << "]";
    }
  }
}

double train_and_measure(TrainConfig cfg, int64_t hidden, double* before) {
  auto be = cpu();
  Dataset d = load_dataset("builtin:bars");
  Rbm rbm(*be, d.dim(), hidden);
  rbm.init_random(cfg.seed, 0.01f, &d.x);
  Matrix data = Matrix::from_host(*be, d.x);
  *before = mean_log_likelihood(rbm, data, exact_log_partition(rbm));
  CdTrainer trainer(rbm, cfg);
  for (int e = 0; e < cfg.epochs; ++e) trainer.train_epoch(data);
  return mean_log_likelihood(rbm, data, exact_log_partition(rbm));
}

TEST(RbmExact, CdTrainingRaisesExactLogLikelihood) {
  TrainConfig cfg;
  cfg.cd_k = 1;
  cfg.epochs = 40;
  cfg.batch_size = 20;
  cfg.learning_rate = 0.1f;
  cfg.weight_decay = 1e-4f;
  double before = 0.0;
  const double after = train_and_measure(cfg, 10, &before);
  // Uniform over 30 patterns is log(1/30) = -3.4; the initial model is ~ -11.
  EXPECT_GT(after, before + 3.0) << "before " << before << " after " << after;
}

TEST(RbmExact, PcdTrainingRaisesExactLogLikelihood) {
  TrainConfig cfg;
  cfg.cd_k = 1;
  cfg.persistent = true;
  cfg.epochs = 50;
  cfg.batch_size = 20;
  cfg.learning_rate = 0.05f;
  // Persistent chains lag behind fast-moving weights: keep momentum at 0.5.
  cfg.final_momentum = 0.5f;
  cfg.weight_decay = 1e-4f;
  double before = 0.0;
  const double after = train_and_measure(cfg, 10, &before);
  EXPECT_GT(after, before + 2.0) << "before " << before << " after " << after;
}

TEST(RbmTraining, SameSeedSameModelDifferentSeedDifferentModel) {
  auto run = [](uint64_t seed) {
    auto be = cpu();
    Dataset d = load_dataset("builtin:bars");
    Rbm rbm(*be, d.dim(), 6);
    rbm.init_random(seed);
    Matrix data = Matrix::from_host(*be, d.x);
    TrainConfig cfg;
    cfg.seed = seed;
    cfg.epochs = 2;
    CdTrainer trainer(rbm, cfg);
    for (int e = 0; e < cfg.epochs; ++e) trainer.train_epoch(data);
    return rbm.weights().download().data;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

TEST(RbmTraining, DivergenceStopsWithClearErrorAndKeepsLastGoodParameters) {
  auto be = cpu();
  Dataset d = load_dataset("builtin:bars");
  Rbm rbm(*be, d.dim(), 6);
  rbm.init_random(1);
  Matrix data = Matrix::from_host(*be, d.x);
  TrainConfig cfg;
  cfg.learning_rate = 1e30f;
  cfg.momentum = 0.0f;
  cfg.divergence_check_every = 1;
  CdTrainer trainer(rbm, cfg);
  try {
    trainer.train_epoch(data);
    trainer.train_epoch(data);
    FAIL() << "expected divergence";
  } catch (const DivergenceError& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("learning rate"), std::string::npos);
  }
  EXPECT_TRUE(rbm.parameters_finite());
}

TEST(RbmTraining, InvalidConfigurationNamesTheField) {
  TrainConfig cfg;
  cfg.momentum = 1.5f;
  try {
    cfg.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("momentum"), std::string::npos);
  }
  cfg = TrainConfig{};
  cfg.batch_size = 0;
  EXPECT_THROW(cfg.validate(), Error);
}

}  // namespace
}  // namespace crbm
