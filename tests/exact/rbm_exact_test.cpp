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
  const HostTensor codes = testing::all_codes(6);
  Matrix v = Matrix::from_host(*be, codes);
  Matrix f(*be, v.rows(), 1);
  rbm.free_energy(v, f);
  const HostTensor fh = f.download();
  for (int64_t c = 0; c < v.rows(); ++c) {
    EXPECT_NEAR(-fh.data[c], bf.log_marginal[c], 1e-4) << "visible code " << c;
  }
}

// The conditional means of one layer given each code of the other, from the joint by
// enumeration: row c holds E[h | v = code c] (of_hidden) or E[v | h = code c].
std::vector<double> conditional_means(const RbmParams& p, bool of_hidden) {
  const int64_t given = of_hidden ? p.visible() : p.hidden();
  const int64_t summed = of_hidden ? p.hidden() : p.visible();
  std::vector<double> means;
  for (uint64_t gc = 0; gc < (uint64_t(1) << given); ++gc) {
    double z = 0.0;
    std::vector<double> on(size_t(summed), 0.0);
    for (uint64_t sc = 0; sc < (uint64_t(1) << summed); ++sc) {
      const auto u = bits_of(sc, summed);
      const auto g = bits_of(gc, given);
      const double w =
          std::exp(of_hidden ? testing::neg_energy(p, g, u) : testing::neg_energy(p, u, g));
      z += w;
      for (int64_t k = 0; k < summed; ++k) on[size_t(k)] += w * u[size_t(k)];
    }
    for (const double x : on) means.push_back(x / z);
  }
  return means;
}

// The backend's conditional means of a random nv x nh model, for every code of the other
// layer, against conditional_means.
void expect_conditional_matches_joint(int64_t nv, int64_t nh, uint32_t seed, bool of_hidden) {
  auto be = cpu();
  const RbmParams p = random_params(nv, nh, 2.0, seed);
  Rbm rbm(*be, p);
  const int64_t given = of_hidden ? nv : nh, summed = of_hidden ? nh : nv;
  Matrix codes = Matrix::from_host(*be, testing::all_codes(given));
  Matrix means(*be, codes.rows(), summed);
  if (of_hidden) {
    rbm.hidden_given_visible(codes, means);
  } else {
    rbm.visible_mean_given_hidden(codes, means);
  }
  const HostTensor got = means.download();
  const std::vector<double> want = conditional_means(p, of_hidden);
  ASSERT_EQ(int64_t(want.size()), got.numel());
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got.data[k], want[k], 1e-5);
}

TEST(RbmExact, HiddenConditionalMatchesJoint) {
  expect_conditional_matches_joint(5, 4, 16, true);
}

TEST(RbmExact, VisibleConditionalMatchesJoint) {
  expect_conditional_matches_joint(4, 5, 17, false);
}

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
  const HostTensor data = testing::all_codes(5);
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

// CD-1 on bars at batch size 20 with weight decay 1e-4.
TrainConfig bars_config(int epochs, float learning_rate) {
  TrainConfig cfg;
  cfg.cd_k = 1;
  cfg.epochs = epochs;
  cfg.batch_size = 20;
  cfg.learning_rate = learning_rate;
  cfg.weight_decay = 1e-4f;
  return cfg;
}

TEST(RbmExact, CdTrainingRaisesExactLogLikelihood) {
  const TrainConfig cfg = bars_config(40, 0.1f);
  double before = 0.0;
  const double after = train_and_measure(cfg, 10, &before);
  // Uniform over 30 patterns is log(1/30) = -3.4; the initial model is ~ -11.
  EXPECT_GT(after, before + 3.0) << "before " << before << " after " << after;
}

TEST(RbmExact, PcdTrainingRaisesExactLogLikelihood) {
  TrainConfig cfg = bars_config(50, 0.05f);
  cfg.persistent = true;
  // Persistent chains lag behind fast-moving weights: keep momentum at 0.5.
  cfg.final_momentum = 0.5f;
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
