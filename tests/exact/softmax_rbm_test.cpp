// Softmax-group and replicated-softmax RBMs against enumeration: log Z (every visible
// configuration / every count vector with its multinomial coefficient), AIS within its
// band, sampling frequencies vs probabilities (chi-square), CD training raising the exact
// log-likelihood of synthetic documents, and checkpoints.
#include "crbm/softmax_rbm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include "crbm/bow.hpp"
#include "support/brute_force.hpp"

namespace crbm {
namespace {

using testing::random_params;

double softplus(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// -F(v) = b'v + sum_j softplus(D c_j + v'W_j) in double.
double neg_free_energy(const RbmParams& p, const std::vector<double>& v, double d) {
  double s = 0;
  for (int64_t i = 0; i < p.visible(); ++i) s += p.visible_bias.data[i] * v[i];
  for (int64_t j = 0; j < p.hidden(); ++j) {
    double a = d * p.hidden_bias.data[j];
    for (int64_t i = 0; i < p.visible(); ++i) a += v[i] * p.weights.data[i * p.hidden() + j];
    s += softplus(a);
  }
  return s;
}

double lse(const std::vector<double>& x) {
  double m = -1e300;
  for (double v : x) m = std::max(m, v);
  double s = 0;
  for (double v : x) s += std::exp(v - m);
  return m + std::log(s);
}

// Every one-hot-per-group configuration of G groups of K.
std::vector<std::vector<double>> all_group_configs(int64_t groups, int64_t k) {
  std::vector<std::vector<double>> out;
  int64_t total = 1;
  for (int64_t g = 0; g < groups; ++g) total *= k;
  for (int64_t c = 0; c < total; ++c) {
    std::vector<double> v(size_t(groups * k), 0.0);
    int64_t x = c;
    for (int64_t g = 0; g < groups; ++g, x /= k) v[g * k + x % k] = 1.0;
    out.push_back(v);
  }
  return out;
}

// log Z_D over ordered documents: sum over count vectors n (sum n = D) of
// D!/prod n_k! * exp(-F(n)).
double brute_replicated_log_z(const RbmParams& p, int64_t d) {
  std::vector<double> terms;
  std::vector<double> n(size_t(p.visible()), 0.0);
  std::function<void(int64_t, int64_t)> rec = [&](int64_t i, int64_t left) {
    if (i + 1 == p.visible()) {
      n[i] = double(left);
      double log_coef = std::lgamma(double(d) + 1);
      for (double c : n) log_coef -= std::lgamma(c + 1);
      terms.push_back(log_coef + neg_free_energy(p, n, double(d)));
      return;
    }
    for (int64_t c = 0; c <= left; ++c) {
      n[i] = double(c);
      rec(i + 1, left - c);
    }
  };
  rec(0, d);
  return lse(terms);
}

TEST(SoftmaxRbmExact, GroupsLogZMatchesEnumeration) {
  auto be = make_cpu_backend(1);
  const RbmParams p = random_params(6, 4, 1.5, 41);  // 2 groups of 3
  SoftmaxRbm m(*be, p, SoftmaxKind::groups, 3);
  std::vector<double> terms;
  for (const auto& v : all_group_configs(2, 3)) terms.push_back(neg_free_energy(p, v, 1.0));
  const double exact = lse(terms);
  EXPECT_NEAR(m.exact_log_partition(), exact, 1e-4);
  // log_prob sums to one over all configurations.
  HostTensor all({9, 6});
  const auto cfgs = all_group_configs(2, 3);
  for (size_t r = 0; r < cfgs.size(); ++r)
    for (int i = 0; i < 6; ++i) all.data[r * 6 + i] = float(cfgs[r][i]);
  Matrix am = Matrix::from_host(*be, all);
  const auto lp = m.log_prob(am, {{1, exact}});
  double total = 0;
  for (double x : lp) total += std::exp(x);
  EXPECT_NEAR(total, 1.0, 1e-4);
  AisConfig c;
  c.runs = 100;
  c.steps = 2000;
  const AisResult r = m.ais_log_partition(HostTensor(), c);
  EXPECT_NEAR(r.log_z, exact, 0.05);
  EXPECT_LE(r.log_z_low, exact + 0.02);
  EXPECT_GE(r.log_z_high, exact - 0.02);
}

TEST(SoftmaxRbmExact, ReplicatedLogZMatchesEnumerationAndAis) {
  auto be = make_cpu_backend(1);
  RbmParams p = random_params(4, 3, 0.8, 42);  // vocabulary 4, 3 hidden
  SoftmaxRbm m(*be, p, SoftmaxKind::replicated);
  for (int64_t d : {1, 2, 5, 9}) {
    const double exact = brute_replicated_log_z(p, d);
    EXPECT_NEAR(m.exact_log_partition(d), exact, 1e-4 * std::max(1.0, std::abs(exact)))
        << "D = " << d;
    AisConfig c;
    c.runs = 100;
    c.steps = 2000;
    c.seed = uint64_t(d);
    const AisResult r = m.ais_log_partition(HostTensor(), c, d);
    EXPECT_NEAR(r.log_z, exact, 0.05) << "D = " << d;
  }
}

TEST(SoftmaxRbmExact, SamplingFrequenciesMatchProbabilities) {
  auto be = make_cpu_backend(1);
  const int64_t rows = 20000, k = 5;
  SoftmaxRbm m(*be, random_params(10, 3, 1.0, 43), SoftmaxKind::groups, k);
  HostTensor h({rows, 3}, 0.0f);
  for (int64_t r = 0; r < rows; ++r) h.data[r * 3] = h.data[r * 3 + 2] = 1.0f;
  Matrix hm = Matrix::from_host(*be, h), probs(*be, rows, 10), out(*be, rows, 10);
  Matrix len(*be, rows, 1);
  m.visible_probs_given_hidden(hm, probs);
  m.sample_visible(probs, len, out, RngKey{7, 1, 0});
  const HostTensor p = probs.download(), o = out.download();
  // Chi-square per group, df = k - 1 = 4: the 99.9% quantile is 18.47.
  for (int g = 0; g < 2; ++g) {
    double chi2 = 0;
    for (int64_t i = 0; i < k; ++i) {
      double seen = 0;
      for (int64_t r = 0; r < rows; ++r) seen += o.data[r * 10 + g * k + i];
      const double expected = rows * p.data[g * k + i];
      chi2 += (seen - expected) * (seen - expected) / expected;
    }
    EXPECT_LT(chi2, 18.47) << "group " << g;
  }
  // Replicated: counts of D = 7 draws; totals per word vs 7 * rows * p (df = 9: 27.88).
  SoftmaxRbm rs(*be, random_params(10, 3, 1.0, 44), SoftmaxKind::replicated);
  rs.visible_probs_given_hidden(hm, probs);
  be->fill(len, 7.0f);
  rs.sample_visible(probs, len, out, RngKey{7, 2, 0});
  const HostTensor pr = probs.download(), orr = out.download();
  double chi2 = 0;
  for (int64_t i = 0; i < 10; ++i) {
    double seen = 0;
    for (int64_t r = 0; r < rows; ++r) seen += orr.data[r * 10 + i];
    const double expected = 7.0 * rows * pr.data[i];
    chi2 += (seen - expected) * (seen - expected) / expected;
  }
  EXPECT_LT(chi2, 27.88);
  for (int64_t r = 0; r < 50; ++r) {
    double s = 0;
    for (int64_t i = 0; i < 10; ++i) s += orr.data[r * 10 + i];
    EXPECT_EQ(s, 7.0);
  }
}

// The mean of per-row log-probabilities.
double mean_of(const std::vector<double>& lp) {
  double s = 0;
  for (double x : lp) s += x / double(lp.size());
  return s;
}

// `epochs` epochs of CD-1 on `data` at batch size `batch` and learning rate `lr`.
void train_cd1(SoftmaxRbm& m, const Matrix& data, int epochs, int64_t batch, float lr) {
  TrainConfig c;
  c.epochs = epochs;
  c.batch_size = batch;
  c.learning_rate = lr;
  SoftmaxCdTrainer trainer(m, c);
  for (int e = 0; e < c.epochs; ++e) trainer.train_epoch(data);
}

TEST(SoftmaxRbmTrain, CdRaisesExactLikelihoodOfSyntheticDocuments) {
  auto be = make_cpu_backend(1);
  std::vector<int32_t> topic;
  const HostTensor docs = synthetic_documents(300, 12, 3, 4, 9, 5, &topic);
  Matrix dm = Matrix::from_host(*be, docs);
  SoftmaxRbm m(*be, 12, 4, SoftmaxKind::replicated);
  m.init_random(3, 0.01f, &docs);
  auto mean_log_prob = [&]() {
    std::map<int64_t, double> log_z;
    for (int64_t d = 4; d <= 9; ++d) log_z[d] = m.exact_log_partition(d);
    return mean_of(m.log_prob(dm, log_z));
  };
  const double before = mean_log_prob();
  train_cd1(m, dm, 30, 20, 0.02f);
  const double after = mean_log_prob();
  std::printf("replicated softmax exact mean log p(doc): before %.4f after %.4f\n", before, after);
  EXPECT_GT(after, before + 0.3);
  // Checkpoint round trip.
  const std::string path = std::string(CRBM_BINARY_DIR) + "/softmax_rbm_roundtrip.safetensors";
  save_softmax_rbm(path, m);
  std::map<std::string, std::string> meta;
  SoftmaxRbm back = load_softmax_rbm(*be, path, &meta);
  EXPECT_EQ(meta.at("model"), "softmax_rbm");
  EXPECT_EQ(back.kind(), SoftmaxKind::replicated);
  EXPECT_NEAR(back.exact_log_partition(6), m.exact_log_partition(6), 1e-6);
  std::remove(path.c_str());
}

TEST(SoftmaxRbmTrain, GroupsTrainingRaisesExactLikelihood) {
  auto be = make_cpu_backend(1);
  // Two groups of 3 that are perfectly correlated: state i in group 0 <=> state i in group 1.
  HostTensor data({90, 6}, 0.0f);
  for (int r = 0; r < 90; ++r) data.data[r * 6 + r % 3] = data.data[r * 6 + 3 + r % 3] = 1.0f;
  Matrix dm = Matrix::from_host(*be, data);
  SoftmaxRbm m(*be, 6, 3, SoftmaxKind::groups, 3);
  m.init_random(1, 0.01f, &data);
  auto ll = [&]() { return mean_of(m.log_prob(dm, {{1, m.exact_log_partition()}})); };
  const double before = ll();
  train_cd1(m, dm, 100, 10, 0.1f);
  EXPECT_GT(ll(), before + 0.8) << "before " << before;  // optimum log(1/3) vs 2 log(1/3)
}

}  // namespace
}  // namespace crbm
