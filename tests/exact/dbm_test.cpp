// DBMs against brute-force enumeration of every (v, h1, h2[, h3]) on tiny instances:
// log Z (even/odd RBM enumeration and AIS within its band), mean-field fixed points and
// marginals, the variational lower bound, Gibbs sampling frequencies, pretraining + joint
// training raising the exact log-likelihood, checkpoints.
#include "crbm/dbm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "support/dbm_brute_force.hpp"
#include "support/train_configs.hpp"

namespace crbm {
namespace {

// The helpers of support/dbm_brute_force.hpp and support/train_configs.hpp.
using namespace testing;

TEST(DbmExact, LogZMatchesBruteForceTwoAndThreeLayers) {
  auto be = make_cpu_backend(1);
  for (const auto& sizes : {std::vector<int64_t>{4, 3, 3}, std::vector<int64_t>{3, 2, 3, 2}}) {
    const DbmParams p = random_dbm(sizes, 1.5, 31 + sizes.size());
    Dbm dbm(*be, p);
    EXPECT_NEAR(dbm.exact_log_partition(), brute_force_dbm(p).log_z, 1e-4)
        << sizes.size() - 1 << " layers";
  }
}

TEST(DbmExact, AisWithinItsBand) {
  auto be = make_cpu_backend(1);
  const DbmParams p = random_dbm({6, 4, 5}, 1.0, 32);
  Dbm dbm(*be, p);
  const double exact = brute_force_dbm(p).log_z;
  AisConfig c;
  c.runs = 100;
  c.steps = 3000;
  Matrix data = Matrix::from_host(*be, all_codes(6));
  const AisResult r = dbm.ais_log_partition(data, c);
  EXPECT_NEAR(r.log_z, exact, 0.05);
  EXPECT_LE(r.log_z_low, exact + 0.02);
  EXPECT_GE(r.log_z_high, exact - 0.02);
  // Three layers as well.
  const DbmParams p3 = random_dbm({4, 3, 4, 3}, 1.0, 33);
  Dbm dbm3(*be, p3);
  Matrix d3 = Matrix::from_host(*be, all_codes(4));
  EXPECT_NEAR(dbm3.ais_log_partition(d3, c).log_z, brute_force_dbm(p3).log_z, 0.05);
}

TEST(DbmExact, MeanFieldReachesAFixedPoint) {
  auto be = make_cpu_backend(1);
  const DbmParams p = random_dbm({5, 4, 3, 3}, 1.0, 34);
  Dbm dbm(*be, p);
  Matrix v = Matrix::from_host(*be, all_codes(5));
  std::vector<Matrix> mu;
  dbm.mean_field(v, 300, mu);
  std::vector<HostTensor> m;
  for (Matrix& x : mu) m.push_back(x.download());
  const HostTensor vh = all_codes(5);
  double worst = 0;
  for (int64_t r = 0; r < 32; ++r) {
    for (size_t l = 1; l <= 3; ++l) {
      const int64_t n = p.layer_size(l);
      for (int64_t j = 0; j < n; ++j) {
        double a = p.biases[l].data[j];
        const int64_t nb = p.layer_size(l - 1);
        for (int64_t i = 0; i < nb; ++i) {
          const double below = l == 1 ? vh.data[r * nb + i] : m[l - 2].data[r * nb + i];
          a += below * p.weights[l - 1].data[i * n + j];
        }
        if (l < 3) {
          const int64_t na = p.layer_size(l + 1);
          for (int64_t k = 0; k < na; ++k)
            a += m[l].data[r * na + k] * p.weights[l].data[j * na + k];
        }
        worst = std::max(worst, std::abs(sigm(a) - m[l - 1].data[r * n + j]));
      }
    }
  }
  EXPECT_LT(worst, 1e-5) << "mu_l != sigm(mu_{l-1} W + mu_{l+1} W' + b) at convergence";
}

TEST(DbmExact, MeanFieldMarginalsAndBoundForWeakWeights) {
  DbmCase t({4, 3, 3}, 0.1, 35);
  Matrix v = Matrix::from_host(*t.be, all_codes(4));
  std::vector<Matrix> mu;
  t.dbm.mean_field(v, 50, mu);
  const HostTensor m1 = mu[0].download(), m2 = mu[1].download();
  for (int r = 0; r < 16; ++r) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(m1.data[r * 3 + j], t.ex.marginal[r][j], 2e-3);
      EXPECT_NEAR(m2.data[r * 3 + j], t.ex.marginal[r][3 + j], 2e-3);
    }
  }
  const std::vector<double> bound = t.dbm.lower_bound(v, t.ex.log_z, 50);
  for (int r = 0; r < 16; ++r) {
    EXPECT_LE(bound[r], t.ex.log_pv[r] + 1e-5) << "code " << r;
    EXPECT_NEAR(bound[r], t.ex.log_pv[r], 2e-3) << "code " << r;  // q nearly exact
  }
}

TEST(DbmExact, LowerBoundBelowExactForStrongWeights) {
  DbmCase t({4, 3, 2, 3}, 2.0, 36);
  Matrix v = Matrix::from_host(*t.be, all_codes(4));
  const std::vector<double> bound = t.dbm.lower_bound(v, t.ex.log_z, 30);
  for (int r = 0; r < 16; ++r) EXPECT_LE(bound[r], t.ex.log_pv[r] + 1e-5) << "code " << r;
}

TEST(DbmExact, GibbsSamplesFollowTheMarginal) {
  DbmCase t({4, 3, 3}, 1.2, 37);
  // E[v_i] from P(v|h1) of 30000 chains vs exact marginal means.
  expect_visible_means_match(t.dbm.sample(30000, 100, 3), t.ex, 0.01, "");
}

// Exact mean log p(v) over the rows of a host dataset.
double exact_mean_log_prob(const DbmParams& p, const HostTensor& data) {
  const DbmBrute ex = brute_force_dbm(p);
  double s = 0;
  const int64_t nv = p.layer_size(0);
  for (int64_t r = 0; r < data.rows(); ++r) {
    int code = 0;
    for (int64_t i = 0; i < nv; ++i) code |= int(data.data[r * nv + i] > 0.5f) << i;
    s += ex.log_pv[code];
  }
  return s / double(data.rows());
}

TEST(DbmTrain, PretrainingAndJointTrainingRaiseExactLikelihood) {
  auto be = make_cpu_backend(1);
  // 3x3 bars and stripes (9 visible units), all 14 patterns repeated.
  HostTensor data({14 * 20, 9});
  int row = 0;
  for (int rep = 0; rep < 20; ++rep) {
    for (int horizontal = 0; horizontal < 2; ++horizontal) {
      for (int mask = 1; mask < 8; ++mask) {
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j)
            data.data[row * 9 + i * 3 + j] = float((mask >> (horizontal ? i : j)) & 1);
        ++row;
      }
    }
  }
  Dbm dbm(*be, 9, {6, 4});
  Matrix dm = Matrix::from_host(*be, data);
  const double init = exact_mean_log_prob(dbm.to_host(), data);
  const std::vector<TrainConfig> pre(2, sgd_config<TrainConfig>(20, 0.1f, 40));
  dbm.pretrain(dm, pre);
  const double pretrained = exact_mean_log_prob(dbm.to_host(), data);
  EXPECT_GT(pretrained, init + 0.3);
  DbmTrainConfig jc = dbm_config(20, 50, 0.02f, 60);
  jc.resample_binarization = false;
  DbmTrainer trainer(dbm, jc);
  for (int e = 0; e < jc.epochs; ++e) {
    const DbmEpochStats s = trainer.train_epoch(dm);
    ASSERT_EQ(s.mean_activation.size(), 2u);
  }
  const double joint = exact_mean_log_prob(dbm.to_host(), data);
  EXPECT_GT(joint, pretrained + 0.5) << "init " << init << " pretrained " << pretrained;
  std::printf("exact mean log p(v): init %.3f, pretrained %.3f, joint %.3f (optimum %.3f)\n", init,
              pretrained, joint, -std::log(14.0));
  // Lower bound with the exact log Z stays below the exact log-likelihood.
  const std::vector<double> bound = dbm.lower_bound(dm, dbm.exact_log_partition(), 30);
  double mean_bound = 0;
  for (double b : bound) mean_bound += b / double(bound.size());
  EXPECT_LE(mean_bound, joint + 1e-4);
  // Checkpoint round trip.
  const std::string path = std::string(CRBM_BINARY_DIR) + "/dbm_test_roundtrip.safetensors";
  save_dbm(path, dbm.to_host());
  std::map<std::string, std::string> meta;
  Dbm back(*be, load_dbm_params(path, &meta));
  EXPECT_EQ(meta.at("model"), "dbm");
  EXPECT_EQ(meta.at("sizes"), "9,6,4");
  EXPECT_NEAR(back.exact_log_partition(), dbm.exact_log_partition(), 1e-6);
  std::remove(path.c_str());
}

// SharedBias::sum (the sh09-dbm recipe, as dbm_mf.m) differs from the default mean only in
// the biases of the layers two pretrained RBMs share: there it is exactly twice the mean
// (the same two pretraining runs, the same seeds), everywhere else the parameters agree
// bit for bit. Three hidden layers: h1 and h2 are shared.
TEST(DbmTrain, SharedBiasSumIsTwiceTheMeanOnSharedLayersOnly) {
  auto be = make_cpu_backend(1);
  HostTensor data({60, 8});
  for (size_t i = 0; i < data.data.size(); ++i) data.data[i] = float((i * 7 + i / 8) % 3 == 0);
  Matrix dm = Matrix::from_host(*be, data);
  const std::vector<TrainConfig> pre(3, sgd_config<TrainConfig>(10, 0.1f, 3));
  Dbm mean_dbm(*be, 8, {5, 4, 3}), sum_dbm(*be, 8, {5, 4, 3});
  mean_dbm.pretrain(dm, pre);  // SharedBias::mean, the default
  sum_dbm.pretrain(dm, pre, 0.01f, nullptr, SharedBias::sum);
  const DbmParams a = mean_dbm.to_host(), b = sum_dbm.to_host();
  for (size_t l = 0; l < a.weights.size(); ++l) EXPECT_EQ(a.weights[l].data, b.weights[l].data);
  EXPECT_EQ(a.biases[0].data, b.biases[0].data);  // v: the first RBM's visible bias
  EXPECT_EQ(a.biases[3].data, b.biases[3].data);  // the top: the last RBM's hidden bias
  for (size_t l : {size_t{1}, size_t{2}}) {
    bool any_nonzero = false;
    for (int64_t i = 0; i < a.biases[l].numel(); ++i) {
      EXPECT_EQ(b.biases[l].data[i], 2.0f * a.biases[l].data[i]) << "layer " << l << " unit " << i;
      any_nonzero = any_nonzero || a.biases[l].data[i] != 0.0f;
    }
    EXPECT_TRUE(any_nonzero) << "layer " << l << ": pretraining left the shared biases at 0";
  }
  EXPECT_EQ(parse_shared_bias("sum"), SharedBias::sum);
  EXPECT_STREQ(to_string(SharedBias::mean), "mean");
  EXPECT_THROW(parse_shared_bias("median"), Error);
}

}  // namespace
}  // namespace crbm
