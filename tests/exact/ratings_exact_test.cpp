// The ratings RBM against brute-force sums over every configuration of a tiny instance
// (4 items, K = 3 levels, 3 hidden units; one user who rated 3 of the items): the
// conditionals P(h | v) and P(v | h), the paper's mean-field predicted rating, and the
// expectation of the CD-1 gradient (the trainer's sampled gradients averaged over many
// Philox steps, within 5 standard errors of the enumerated expectation). Both the plain
// and the conditional ("which items were rated") model.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "crbm/ratings.hpp"
#include "philox.cuh"

namespace crbm {
namespace {

constexpr int64_t kItems = 4, kLevels = 3, kHidden = 3;

struct Tiny {
  std::vector<float> w, b, c, d;                         // W [I*K, H], b [I*K], c [H], D [I, H]
  std::vector<int32_t> items{0, 2, 3}, levels{2, 0, 1};  // the user's ratings
  std::vector<int32_t> rated{0, 1, 2, 3};                // conditional: item 1 rated, unknown
  bool conditional = false;
};

Tiny make_tiny(bool conditional) {
  Tiny t;
  t.conditional = conditional;
  auto draw = [](uint32_t stream, int64_t n, float sd) {
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[size_t(i)] = sd * philox::normal(7, stream, 0, uint64_t(i));
    return x;
  };
  t.w = draw(1, kItems * kLevels * kHidden, 0.8f);
  t.b = draw(2, kItems * kLevels, 0.5f);
  t.c = draw(3, kHidden, 0.5f);
  t.d = conditional ? draw(4, kItems * kHidden, 0.6f) : std::vector<float>(kItems * kHidden, 0.f);
  return t;
}

// -E(v, h) with v = one level per rated item (levels[e] for items[e]).
double neg_energy(const Tiny& t, const std::vector<int32_t>& items,
                  const std::vector<int32_t>& levels, uint64_t hcode) {
  double e = 0;
  for (int64_t j = 0; j < kHidden; ++j) {
    if (!((hcode >> j) & 1)) continue;
    e += t.c[size_t(j)];
    if (t.conditional) {
      for (int32_t i : t.rated) e += t.d[size_t(i * kHidden + j)];
    }
  }
  for (size_t n = 0; n < items.size(); ++n) {
    const int64_t row = int64_t(items[n]) * kLevels + levels[n];
    e += t.b[size_t(row)];
    for (int64_t j = 0; j < kHidden; ++j) {
      if ((hcode >> j) & 1) e += t.w[size_t(row * kHidden + j)];
    }
  }
  return e;
}

// P(h = code | v), by normalising e^{-E} over the 2^H codes.
std::vector<double> hidden_posterior(const Tiny& t, const std::vector<int32_t>& levels) {
  std::vector<double> p(size_t(1) << kHidden);
  double z = 0;
  for (uint64_t h = 0; h < p.size(); ++h) z += p[h] = std::exp(neg_energy(t, t.items, levels, h));
  for (double& x : p) x /= z;
  return p;
}

std::vector<double> hidden_marginals(const std::vector<double>& posterior) {
  std::vector<double> m(kHidden, 0.0);
  for (uint64_t h = 0; h < posterior.size(); ++h) {
    for (int64_t j = 0; j < kHidden; ++j) m[size_t(j)] += double((h >> j) & 1) * posterior[h];
  }
  return m;
}

// P(v = levels | h) over the K^3 joint level assignments of the rated items.
std::vector<double> visible_posterior(const Tiny& t, uint64_t h) {
  const int64_t n = int64_t(t.items.size());
  int64_t configs = 1;
  for (int64_t e = 0; e < n; ++e) configs *= kLevels;
  std::vector<double> p(static_cast<size_t>(configs));
  double z = 0;
  for (int64_t code = 0; code < configs; ++code) {
    std::vector<int32_t> lv(static_cast<size_t>(n));
    for (int64_t e = 0, x = code; e < n; ++e, x /= kLevels) lv[size_t(e)] = int32_t(x % kLevels);
    z += p[size_t(code)] = std::exp(neg_energy(t, t.items, lv, h));
  }
  for (double& x : p) x /= z;
  return p;
}

std::vector<int32_t> levels_of(int64_t code, int64_t n) {
  std::vector<int32_t> lv(static_cast<size_t>(n));
  for (int64_t e = 0; e < n; ++e, code /= kLevels) lv[size_t(e)] = int32_t(code % kLevels);
  return lv;
}

RatingsRbm load(Backend& be, const Tiny& t) {
  RatingsRbm m(be, kItems, {1.0f, 2.0f, 3.0f}, kHidden, t.conditional);
  HostTensor w({kItems * kLevels, kHidden}), b({1, kItems * kLevels}), c({1, kHidden}),
      d({kItems, kHidden});
  w.data = t.w;
  b.data = t.b;
  c.data = t.c;
  d.data = t.d;
  m.weights().upload(w);
  m.visible_bias().upload(b);
  m.hidden_bias().upload(c);
  if (t.conditional) m.rated_weights().upload(d);
  return m;
}

HostSparseRows user_rows(const Tiny& t) {
  HostSparseRows r;
  r.item = t.items;
  r.level = t.levels;
  r.offsets = {0, int32_t(t.items.size())};
  return r;
}

HostSparseRows rated_rows(const Tiny& t) {
  HostSparseRows r;
  r.item = t.rated;
  r.offsets = {0, int32_t(t.rated.size())};
  return r;
}

class RatingsExact : public ::testing::TestWithParam<bool> {};

TEST_P(RatingsExact, HiddenGivenVisibleMatchesEnumeration) {
  auto be = make_cpu_backend(1);
  const Tiny t = make_tiny(GetParam());
  RatingsRbm m = load(*be, t);
  const SparseRows rows = m.ops().upload(user_rows(t), kItems, kLevels);
  const SparseRows rated = m.ops().upload(rated_rows(t), kItems, 1);
  Matrix v(*be, rows.nnz(), kLevels), h(*be, 1, kHidden);
  m.ops().one_hot(rows, v);
  m.hidden_given_visible(rows, v, &rated, h);
  const std::vector<double> want = hidden_marginals(hidden_posterior(t, t.levels));
  const HostTensor got = h.download();
  for (int64_t j = 0; j < kHidden; ++j) EXPECT_NEAR(got.data[size_t(j)], want[size_t(j)], 1e-6);
}

TEST_P(RatingsExact, VisibleGivenHiddenMatchesEnumeration) {
  auto be = make_cpu_backend(1);
  const Tiny t = make_tiny(GetParam());
  RatingsRbm m = load(*be, t);
  const SparseRows rows = m.ops().upload(user_rows(t), kItems, kLevels);
  const int64_t n = int64_t(t.items.size());
  for (uint64_t hc = 0; hc < (uint64_t(1) << kHidden); ++hc) {
    HostTensor hv({1, kHidden});
    for (int64_t j = 0; j < kHidden; ++j) hv.data[size_t(j)] = float((hc >> j) & 1);
    Matrix h = Matrix::from_host(*be, hv), p(*be, n, kLevels);
    m.visible_given_hidden(rows, h, p);
    const HostTensor got = p.download();
    // Marginal of each rated item's level under the enumerated joint P(v | h).
    std::vector<double> want(size_t(n * kLevels), 0.0);
    const std::vector<double> joint = visible_posterior(t, hc);
    for (size_t code = 0; code < joint.size(); ++code) {
      const std::vector<int32_t> lv = levels_of(int64_t(code), n);
      for (int64_t e = 0; e < n; ++e) want[size_t(e * kLevels + lv[size_t(e)])] += joint[code];
    }
    for (size_t x = 0; x < want.size(); ++x) EXPECT_NEAR(got.data[x], want[x], 1e-6) << hc;
  }
}

TEST_P(RatingsExact, PredictedRatingIsTheMeanFieldRule) {
  auto be = make_cpu_backend(1);
  const Tiny t = make_tiny(GetParam());
  RatingsRbm m = load(*be, t);
  // Query item 1 (not rated) and item 3 (rated) given the user's ratings.
  HostSparseRows query;
  query.item = {1, 3};
  query.level = {0, 0};
  query.offsets = {0, 2};
  const std::vector<float> got = m.predict(user_rows(t), query);
  const std::vector<double> p = hidden_marginals(hidden_posterior(t, t.levels));
  for (size_t q = 0; q < query.item.size(); ++q) {
    std::vector<double> logit(kLevels);
    double z = 0, expected = 0;
    for (int64_t k = 0; k < kLevels; ++k) {
      const int64_t row = int64_t(query.item[q]) * kLevels + k;
      logit[size_t(k)] = t.b[size_t(row)];
      for (int64_t j = 0; j < kHidden; ++j) {
        logit[size_t(k)] += p[size_t(j)] * t.w[size_t(row * kHidden + j)];
      }
      z += std::exp(logit[size_t(k)]);
    }
    for (int64_t k = 0; k < kLevels; ++k)
      expected += double(k + 1) * std::exp(logit[size_t(k)]) / z;
    EXPECT_NEAR(got[q], expected, 1e-5) << "query " << q;
  }
  // The conditional model's prediction depends on which items were rated; the plain one
  // ignores D (all zero), so the rated set of `predict` is known + queried items.
}

// E[CD-1 gradient] = sum_{h1} P(h1 | v0) sum_{v1} P(v1 | h1) [v0 h0' - v1 P(h | v1)'],
// with h0 = P(h | v0) and the negative visible state sampled (sample_negative_visible).
TEST_P(RatingsExact, Cd1GradientExpectationMatchesEnumeration) {
  auto be = make_cpu_backend(1);
  const Tiny t = make_tiny(GetParam());
  RatingsRbm m = load(*be, t);
  const int64_t n = int64_t(t.items.size()), rows_w = kItems * kLevels;
  // Enumerated expectation.
  std::vector<double> ew(size_t(rows_w * kHidden), 0.0), eb(size_t(rows_w), 0.0), ec(kHidden, 0.0),
      ed(size_t(kItems * kHidden), 0.0);
  const std::vector<double> h0 = hidden_marginals(hidden_posterior(t, t.levels));
  auto add = [&](const std::vector<int32_t>& lv, const std::vector<double>& h, double weight) {
    for (int64_t e = 0; e < n; ++e) {
      const int64_t row = int64_t(t.items[size_t(e)]) * kLevels + lv[size_t(e)];
      eb[size_t(row)] += weight;
      for (int64_t j = 0; j < kHidden; ++j) ew[size_t(row * kHidden + j)] += weight * h[size_t(j)];
    }
    for (int64_t j = 0; j < kHidden; ++j) {
      ec[size_t(j)] += weight * h[size_t(j)];
      if (t.conditional) {
        for (int32_t i : t.rated) ed[size_t(i * kHidden + j)] += weight * h[size_t(j)];
      }
    }
  };
  add(t.levels, h0, 1.0);
  const std::vector<double> post0 = hidden_posterior(t, t.levels);
  for (uint64_t h1 = 0; h1 < post0.size(); ++h1) {
    const std::vector<double> joint = visible_posterior(t, h1);
    for (size_t code = 0; code < joint.size(); ++code) {
      const std::vector<int32_t> lv = levels_of(int64_t(code), n);
      add(lv, hidden_marginals(hidden_posterior(t, lv)), -post0[h1] * joint[code]);
    }
  }
  // The trainer's sampled gradients.
  RatingsTrainConfig cfg;
  cfg.sample_negative_visible = true;
  cfg.seed = 11;
  RatingsCdTrainer trainer(m, cfg);
  const SparseRows rows = m.ops().upload(user_rows(t), kItems, kLevels);
  const SparseRows rated = m.ops().upload(rated_rows(t), kItems, 1);
  constexpr int kDraws = 4000;
  struct Moments {
    std::vector<double> sum, sum_sq;
  };
  auto accumulate = [](Moments& mo, const HostTensor& g) {
    mo.sum.resize(g.data.size(), 0.0);
    mo.sum_sq.resize(g.data.size(), 0.0);
    for (size_t x = 0; x < g.data.size(); ++x) {
      mo.sum[x] += g.data[x];
      mo.sum_sq[x] += double(g.data[x]) * g.data[x];
    }
  };
  Moments mw, mb, mc, md;
  for (int s = 0; s < kDraws; ++s) {
    trainer.compute_gradient(rows, &rated, 1, uint64_t(s));
    accumulate(mw, trainer.grad_weights().download());
    accumulate(mb, trainer.grad_visible_bias().download());
    accumulate(mc, trainer.grad_hidden_bias().download());
    if (t.conditional) accumulate(md, trainer.grad_rated_weights().download());
  }
  auto check = [&](const Moments& mo, const std::vector<double>& want, const char* name) {
    ASSERT_EQ(mo.sum.size(), want.size()) << name;
    for (size_t x = 0; x < want.size(); ++x) {
      const double mean = mo.sum[x] / kDraws;
      const double var = std::max(0.0, mo.sum_sq[x] / kDraws - mean * mean);
      const double se = std::sqrt(var / kDraws);
      EXPECT_NEAR(mean, want[x], 5.0 * se + 1e-6) << name << "[" << x << "]";
    }
  };
  check(mw, ew, "weights");
  check(mb, eb, "visible_bias");
  check(mc, ec, "hidden_bias");
  if (t.conditional) check(md, ed, "rated_weights");
}

INSTANTIATE_TEST_SUITE_P(PlainAndConditional, RatingsExact, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "conditional" : "plain"; });

}  // namespace
}  // namespace crbm
