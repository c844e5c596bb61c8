// Pseudo-likelihood, reconstruction error and free-energy gap against direct
// computations on tiny models: PL(v) = V log P(v_i | v_-i) by brute-force
// marginals over all (v, h), the same quantity written as scikit-learn's
// score_samples formula -V * logaddexp(0, -(F(v~) - F(v))), and host loops for the rest.
#include "crbm/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "support/brute_force.hpp"

namespace crbm {
namespace {

using testing::brute_force;
using testing::random_params;

std::unique_ptr<Backend> cpu() {
  return make_cpu_backend();
}

// A random 6 x 4 RBM on the CPU (weights of scale `scale` from `seed`), its brute-force
// marginals, and all 2^6 visible configurations as rows (row c is the code c).
struct EnumeratedRbm {
  static constexpr int64_t kVisible = 6;
  EnumeratedRbm(double scale, uint64_t seed)
      : params(random_params(kVisible, 4, scale, seed)),
        rbm(*be, params),
        bf(brute_force(params)),
        codes(testing::all_codes(kVisible)),
        data(Matrix::from_host(*be, codes)) {}
  std::unique_ptr<Backend> be = cpu();
  RbmParams params;
  Rbm rbm;
  testing::BruteForce bf;
  HostTensor codes;
  Matrix data;
};

double logaddexp(double a, double b) {
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

TEST(PseudoLikelihood, FlipsAreDeterministicAndCoverAllUnits) {
  const auto a = pseudo_likelihood_flips(5000, 7, 3);
  EXPECT_EQ(a, pseudo_likelihood_flips(5000, 7, 3));
  EXPECT_NE(a, pseudo_likelihood_flips(5000, 7, 4));
  std::vector<int> counts(7, 0);
  for (int32_t i : a) {
    ASSERT_GE(i, 0);
    ASSERT_LT(i, 7);
    ++counts[i];
  }
  for (int c : counts) EXPECT_NEAR(c, 5000.0 / 7.0, 120.0);  // ~4.6 sigma of a binomial
}

// Every visible configuration of a 6x4 model: each row's PL term equals
// V * log P(v_i | v_-i) from the brute-force marginals, for the unit the seed flips.
TEST(PseudoLikelihood, MatchesBruteForceConditional) {
  EnumeratedRbm m(1.5, 51);
  const int64_t nv = EnumeratedRbm::kVisible;
  const Rbm& rbm = m.rbm;
  const testing::BruteForce& bf = m.bf;
  const HostTensor& codes = m.codes;
  const Matrix& data = m.data;
  const uint64_t seed = 17;
  const std::vector<double> got = pseudo_log_likelihood_rows(rbm, data, seed);
  const std::vector<int32_t> flips = pseudo_likelihood_flips(codes.rows(), nv, seed);
  double mean = 0.0;
  for (uint64_t c = 0; c < (uint64_t(1) << nv); ++c) {
    const uint64_t flipped = c ^ (uint64_t(1) << flips[c]);
    const double log_cond =
        bf.log_marginal[c] - logaddexp(bf.log_marginal[c], bf.log_marginal[flipped]);
    EXPECT_NEAR(got[c], nv * log_cond, 2e-4) << "code " << c;
    mean += nv * log_cond;
  }
  mean /= double(codes.rows());
  EXPECT_NEAR(pseudo_log_likelihood(rbm, data, seed), mean, 1e-4);
}

// scikit-learn's BernoulliRBM.score_samples: v_[ind] = 1 - v_[ind];
// return -V * logaddexp(0, -(F(v_) - F(v))). Here with F from the library's free
// energy on host-built flipped copies, for non-binary inputs in [0, 1] too.
TEST(PseudoLikelihood, FollowsScikitLearnFormula) {
  auto be = cpu();
  const int64_t nv = 9, n = 50;
  Rbm rbm(*be, random_params(nv, 5, 1.0, 52));
  Matrix data(*be, n, nv);
  be->fill_uniform(data, RngKey{8, 1, 0});
  const HostTensor x = data.download();
  const std::vector<int32_t> flips = pseudo_likelihood_flips(n, nv, 5);
  HostTensor xf = x;
  for (int64_t r = 0; r < n; ++r) xf.data[r * nv + flips[r]] = 1.0f - xf.data[r * nv + flips[r]];
  Matrix flipped = Matrix::from_host(*be, xf);
  Matrix f(*be, n, 1), ff(*be, n, 1);
  rbm.free_energy(data, f);
  rbm.free_energy(flipped, ff);
  const HostTensor fh = f.download(), ffh = ff.download();
  const std::vector<double> got = pseudo_log_likelihood_rows(rbm, data, 5);
  for (int64_t r = 0; r < n; ++r) {
    const double expected = -double(nv) * logaddexp(0.0, -(double(ffh.data[r]) - fh.data[r]));
    EXPECT_NEAR(got[r], expected, 1e-4) << "row " << r;
    EXPECT_LE(got[r], 0.0);
  }
}

TEST(PseudoLikelihood, BlocksDoNotChangeTheResult) {
  auto be = cpu();
  const int64_t nv = 5, n = 9000;  // more than one 4096-row block
  Rbm rbm(*be, random_params(nv, 3, 1.0, 53));
  Matrix probs(*be, n, nv), data(*be, n, nv);
  be->fill_uniform(probs, RngKey{3, 1, 0});
  be->sample_bernoulli(probs, data, RngKey{3, 2, 0});
  const std::vector<double> all = pseudo_log_likelihood_rows(rbm, data, 11);
  // Row r's value depends only on row r and the flip drawn for index r.
  const std::vector<double> tail = pseudo_log_likelihood_rows(rbm, data.rows_view(8000, 1000), 11);
  const std::vector<int32_t> flips = pseudo_likelihood_flips(n, nv, 11);
  const std::vector<int32_t> tail_flips = pseudo_likelihood_flips(1000, nv, 11);
  for (int64_t r = 0; r < 1000; ++r) {
    if (flips[8000 + r] == tail_flips[r]) {
      EXPECT_NEAR(all[8000 + r], tail[r], 1e-6);
    }
  }
}

TEST(PseudoLikelihood, RejectsGaussianVisible) {
  auto be = cpu();
  Rbm rbm(*be, 4, 3, VisibleType::gaussian);
  Matrix data(*be, 2, 4);
  be->fill(data, 0.0f);
  EXPECT_THROW(pseudo_log_likelihood(rbm, data, 1), Error);
}

TEST(ReconstructionError, MatchesHostMeanField) {
  auto be = cpu();
  const int64_t nv = 7, nh = 5, n = 30;
  const RbmParams p = random_params(nv, nh, 1.0, 54);
  Rbm rbm(*be, p);
  Matrix data(*be, n, nv);
  be->fill_uniform(data, RngKey{4, 1, 0});
  const HostTensor x = data.download();
  double total = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    std::vector<double> h(nh);
    for (int64_t j = 0; j < nh; ++j) {
      double a = p.hidden_bias.data[j];
      for (int64_t i = 0; i < nv; ++i) a += x.data[r * nv + i] * p.weights.data[i * nh + j];
      h[j] = 1.0 / (1.0 + std::exp(-a));
    }
    for (int64_t i = 0; i < nv; ++i) {
      double a = p.visible_bias.data[i];
      for (int64_t j = 0; j < nh; ++j) a += p.weights.data[i * nh + j] * h[j];
      const double d = x.data[r * nv + i] - 1.0 / (1.0 + std::exp(-a));
      total += d * d;
    }
  }
  EXPECT_NEAR(reconstruction_error(rbm, data), total / n, 1e-4);
}

TEST(FreeEnergyGap, MeansAndGap) {
  EnumeratedRbm m(1.0, 55);
  const Rbm& rbm = m.rbm;
  const testing::BruteForce& bf = m.bf;
  const CMatRef train = m.data.rows_view(0, 40), holdout = m.data.rows_view(40, 24);
  double ft = 0.0, fh = 0.0;
  for (int c = 0; c < 40; ++c) ft += -bf.log_marginal[c];
  for (int c = 40; c < 64; ++c) fh += -bf.log_marginal[c];
  const FreeEnergyGap g = free_energy_gap(rbm, train, holdout);
  EXPECT_NEAR(g.train, ft / 40, 1e-4);
  EXPECT_NEAR(g.holdout, fh / 24, 1e-4);
  EXPECT_NEAR(g.gap, fh / 24 - ft / 40, 1e-4);
  EXPECT_NEAR(free_energy_gap(rbm, train, train).gap, 0.0, 1e-9);
}

}  // namespace
}  // namespace crbm
