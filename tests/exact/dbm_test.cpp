// DBMs against brute-force enumeration of every (v, h1, h2[, h3]) on tiny instances:
// log Z (even/odd RBM enumeration and AIS within its band), mean-field fixed points and
// marginals, the variational lower bound, Gibbs sampling frequencies, pretraining + joint
// training raising the exact log-likelihood, checkpoints.
#include "crbm/dbm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "support/brute_force.hpp"

namespace crbm {
namespace {

using testing::all_codes;
using testing::bits_of;

double sigm(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

DbmParams random_dbm(const std::vector<int64_t>& sizes, double scale, uint64_t seed) {
  DbmParams p;
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  auto next = [&s]() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return double((s >> 11) & ((1ull << 53) - 1)) / double(1ull << 53) * 2.0 - 1.0;
  };
  for (size_t l = 0; l < sizes.size(); ++l) {
    HostTensor b({sizes[l]});
    for (float& x : b.data) x = float(scale * next());
    p.biases.push_back(b);
    if (l + 1 < sizes.size()) {
      HostTensor w({sizes[l], sizes[l + 1]});
      for (float& x : w.data) x = float(scale * next());
      p.weights.push_back(w);
    }
  }
  return p;
}

// Exhaustive sums over every joint state.
struct DbmBrute {
  double log_z = 0;
  std::vector<double> log_pv;                 // log p(v) per visible code
  std::vector<std::vector<double>> marginal;  // [v code][flat hidden unit] = p(h = 1 | v)
};

DbmBrute brute(const DbmParams& p) {
  const size_t n = p.biases.size();
  int64_t hidden_bits = 0;
  for (size_t l = 1; l < n; ++l) hidden_bits += p.layer_size(l);
  const int64_t nv = p.layer_size(0);
  DbmBrute r;
  std::vector<double> log_pstar(size_t(1) << nv);
  r.marginal.assign(size_t(1) << nv, std::vector<double>(size_t(hidden_bits), 0.0));
  double zmax = -1e300;
  std::vector<std::vector<double>> neg_e(size_t(1) << nv);
  for (uint64_t vc = 0; vc < (uint64_t(1) << nv); ++vc) {
    for (uint64_t hc = 0; hc < (uint64_t(1) << hidden_bits); ++hc) {
      std::vector<std::vector<double>> x(n);
      x[0] = bits_of(vc, nv);
      int64_t off = 0;
      for (size_t l = 1; l < n; ++l) {
        x[l] = bits_of(hc >> off, p.layer_size(l));
        off += p.layer_size(l);
      }
      double e = 0;
      for (size_t l = 0; l < n; ++l) {
        for (int64_t i = 0; i < p.layer_size(l); ++i) e += p.biases[l].data[i] * x[l][i];
        if (l + 1 < n) {
          const int64_t c = p.layer_size(l + 1);
          for (int64_t i = 0; i < p.layer_size(l); ++i)
            for (int64_t j = 0; j < c; ++j)
              e += x[l][i] * p.weights[l].data[i * c + j] * x[l + 1][j];
        }
      }
      neg_e[vc].push_back(e);
      zmax = std::max(zmax, e);
    }
  }
  double z = 0;
  for (uint64_t vc = 0; vc < (uint64_t(1) << nv); ++vc) {
    double zv = 0;
    for (uint64_t hc = 0; hc < neg_e[vc].size(); ++hc) {
      const double w = std::exp(neg_e[vc][hc] - zmax);
      zv += w;
      for (int64_t k = 0; k < hidden_bits; ++k) r.marginal[vc][k] += w * double((hc >> k) & 1u);
    }
    for (double& m : r.marginal[vc]) m /= zv;
    log_pstar[vc] = std::log(zv) + zmax;
    z += zv;
  }
  r.log_z = std::log(z) + zmax;
  for (double lp : log_pstar) r.log_pv.push_back(lp - r.log_z);
  return r;
}

TEST(DbmExact, LogZMatchesBruteForceTwoAndThreeLayers) {
  auto be = make_cpu_backend(1);
  for (const auto& sizes : {std::vector<int64_t>{4, 3, 3}, std::vector<int64_t>{3, 2, 3, 2}}) {
    const DbmParams p = random_dbm(sizes, 1.5, 31 + sizes.size());
    Dbm dbm(*be, p);
    EXPECT_NEAR(dbm.exact_log_partition(), brute(p).log_z, 1e-4) << sizes.size() - 1 << " layers";
  }
}

TEST(DbmExact, AisWithinItsBand) {
  auto be = make_cpu_backend(1);
  const DbmParams p = random_dbm({6, 4, 5}, 1.0, 32);
  Dbm dbm(*be, p);
  const double exact = brute(p).log_z;
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
  EXPECT_NEAR(dbm3.ais_log_partition(d3, c).log_z, brute(p3).log_z, 0.05);
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
  auto be = make_cpu_backend(1);
  const DbmParams p = random_dbm({4, 3, 3}, 0.1, 35);
  Dbm dbm(*be, p);
  const DbmBrute ex = brute(p);
  Matrix v = Matrix::from_host(*be, all_codes(4));
  std::vector<Matrix> mu;
  dbm.mean_field(v, 50, mu);
  const HostTensor m1 = mu[0].download(), m2 = mu[1].download();
  for (int r = 0; r < 16; ++r) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(m1.data[r * 3 + j], ex.marginal[r][j], 2e-3);
      EXPECT_NEAR(m2.data[r * 3 + j], ex.marginal[r][3 + j], 2e-3);
    }
  }
  const std::vector<double> bound = dbm.lower_bound(v, ex.log_z, 50);
  for (int r = 0; r < 16; ++r) {
    EXPECT_LE(bound[r], ex.log_pv[r] + 1e-5) << "code " << r;
    EXPECT_NEAR(bound[r], ex.log_pv[r], 2e-3) << "code " << r;  // q nearly exact
  }
}

TEST(DbmExact, LowerBoundBelowExactForStrongWeights) {
  auto be = make_cpu_backend(1);
  const DbmParams p = random_dbm({4, 3, 2, 3}, 2.0, 36);
  Dbm dbm(*be, p);
  const DbmBrute ex = brute(p);
  Matrix v = Matrix::from_host(*be, all_codes(4));
  const std::vector<double> bound = dbm.lower_bound(v, ex.log_z, 30);
  for (int r = 0; r < 16; ++r) EXPECT_LE(bound[r], ex.log_pv[r] + 1e-5) << "code " << r;
}

TEST(DbmExact, GibbsSamplesFollowTheMarginal) {
  auto be = make_cpu_backend(1);
  const DbmParams p = random_dbm({4, 3, 3}, 1.2, 37);
  Dbm dbm(*be, p);
  const DbmBrute ex = brute(p);
  const int64_t chains = 30000;
  const HostTensor probs = dbm.sample(chains, 100, 3);
  // E[v_i] from P(v|h1) of the chains vs exact marginal means.
  for (int i = 0; i < 4; ++i) {
    double exact = 0, got = 0;
    for (int c = 0; c < 16; ++c) exact += std::exp(ex.log_pv[c]) * ((c >> i) & 1);
    for (int64_t r = 0; r < chains; ++r) got += probs.data[r * 4 + i] / chains;
    EXPECT_NEAR(got, exact, 0.01) << "unit " << i;
  }
}

// Exact mean log p(v) over the rows of a host dataset.
double exact_mean_log_prob(const DbmParams& p, const HostTensor& data) {
  const DbmBrute ex = brute(p);
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
  std::vector<TrainConfig> pre(2);
  for (TrainConfig& c : pre) {
    c.epochs = 40;
    c.batch_size = 20;
    c.learning_rate = 0.1f;
  }
  dbm.pretrain(dm, pre);
  const double pretrained = exact_mean_log_prob(dbm.to_host(), data);
  EXPECT_GT(pretrained, init + 0.3);
  DbmTrainConfig jc;
  jc.epochs = 60;
  jc.batch_size = 20;
  jc.learning_rate = 0.02f;
  jc.chains = 50;
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

}  // namespace
}  // namespace crbm
