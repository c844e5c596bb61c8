// DBNs against exact enumeration on tiny instances: the distribution of generated v
// (Gibbs in the top RBM + stochastic down pass) vs the exact marginal
//   p(v) = sum_h1 p(v|h1) p_top(h1),
// the variational lower bound (<= log p(v); equal when the top RBM is the bottom one
// transposed, which makes q(h1|v) the exact posterior), top-RBM log Z with labels,
// class free energies, inpainting as exact conditional Gibbs, pretraining and checkpoints.
#include "crbm/dbn.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "crbm/exact.hpp"
#include "support/brute_force.hpp"

namespace crbm {
namespace {

using testing::bits_of;
using testing::brute_force;
using testing::random_params;

double sigm(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// log p(x|h) for the directed layer x <- h of RBM p (x are its visible units).
double log_p_visible_given_hidden(const RbmParams& p, const std::vector<double>& x,
                                  const std::vector<double>& h) {
  double s = 0;
  for (int64_t i = 0; i < p.visible(); ++i) {
    double a = p.visible_bias.data[i];
    for (int64_t j = 0; j < p.hidden(); ++j) a += p.weights.data[i * p.hidden() + j] * h[j];
    const double q = sigm(a);
    s += x[i] > 0.5 ? std::log(q) : std::log(1 - q);
  }
  return s;
}
double log_q_hidden_given_visible(const RbmParams& p, const std::vector<double>& x,
                                  const std::vector<double>& h) {
  double s = 0;
  for (int64_t j = 0; j < p.hidden(); ++j) {
    double a = p.hidden_bias.data[j];
    for (int64_t i = 0; i < p.visible(); ++i) a += x[i] * p.weights.data[i * p.hidden() + j];
    const double q = sigm(a);
    s += h[j] > 0.5 ? std::log(q) : std::log(1 - q);
  }
  return s;
}

// Exact log p(v) of a 2-layer DBN for every visible code.
std::vector<double> exact_dbn_log_marginal(const DbnParams& d) {
  const RbmParams& l0 = d.layers[0];
  const auto top = brute_force(d.layers[1]);  // log p*_top(h1) per code, log Z
  const int64_t nv = l0.visible(), nh = l0.hidden();
  std::vector<double> out;
  for (uint64_t vc = 0; vc < (uint64_t(1) << nv); ++vc) {
    double s = 0;
    for (uint64_t hc = 0; hc < (uint64_t(1) << nh); ++hc) {
      s += std::exp(log_p_visible_given_hidden(l0, bits_of(vc, nv), bits_of(hc, nh)) +
                    top.log_marginal[hc] - top.log_z);
    }
    out.push_back(std::log(s));
  }
  return out;
}

DbnParams tiny_dbn(uint64_t seed, double scale) {
  DbnParams d;
  d.layers.push_back(random_params(4, 3, scale, seed));
  d.layers.push_back(random_params(3, 3, scale, seed + 1));
  return d;
}

TEST(DbnExact, GeneratedDistributionMatchesExactMarginal) {
  auto be = make_cpu_backend(1);
  const DbnParams d = tiny_dbn(21, 1.5);
  Dbn dbn(*be, d);
  DbnSampleOptions o;
  o.chains = 40000;
  o.gibbs_steps = 60;
  o.seed = 5;
  o.stochastic_down = true;
  const HostTensor v = dbn.sample(o);
  std::vector<double> freq(16, 0.0);
  for (int64_t r = 0; r < o.chains; ++r) {
    int code = 0;
    for (int i = 0; i < 4; ++i) code |= (v.data[r * 4 + i] > 0.5f) << i;
    freq[code] += 1.0 / o.chains;
  }
  const auto exact = exact_dbn_log_marginal(d);
  double tv = 0, total = 0;
  for (int c = 0; c < 16; ++c) {
    tv += 0.5 * std::abs(freq[c] - std::exp(exact[c]));
    total += std::exp(exact[c]);
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_LT(tv, 0.02) << "total-variation distance between generated and exact p(v)";
}

TEST(DbnExact, DeterministicDownPassGivesConditionalMeans) {
  auto be = make_cpu_backend(1);
  Dbn dbn(*be, tiny_dbn(22, 1.0));
  DbnSampleOptions o;
  o.chains = 8;
  o.gibbs_steps = 5;
  const HostTensor v = dbn.sample(o);
  for (float x : v.data) {
    EXPECT_GT(x, 0.0f);
    EXPECT_LT(x, 1.0f);
  }
}

TEST(DbnExact, LowerBoundBelowExactLogProbability) {
  auto be = make_cpu_backend(1);
  const DbnParams d = tiny_dbn(23, 1.5);
  Dbn dbn(*be, d);
  const double log_z = dbn.top_log_partition_exact();
  EXPECT_NEAR(log_z, brute_force(d.layers[1]).log_z, 1e-4);
  const HostTensor codes = testing::all_codes(4);
  Matrix v = Matrix::from_host(*be, codes);
  const DbnBoundResult r = dbn.lower_bound(v, log_z, 4000, 3);
  const auto exact = exact_dbn_log_marginal(d);
  const auto top = brute_force(d.layers[1]);
  for (int c = 0; c < 16; ++c) {
    // The expectation E_q[log w] by enumeration of h1.
    double eq = 0;
    const auto x = bits_of(uint64_t(c), 4);
    for (uint64_t hc = 0; hc < 8; ++hc) {
      const auto h = bits_of(hc, 3);
      const double lq = log_q_hidden_given_visible(d.layers[0], x, h);
      eq += std::exp(lq) *
            (log_p_visible_given_hidden(d.layers[0], x, h) + top.log_marginal[hc] - top.log_z - lq);
    }
    EXPECT_LE(eq, exact[c] + 1e-9) << "code " << c;
    EXPECT_NEAR(r.bound[c], eq, 0.05) << "code " << c;
    // log of an unbiased estimate of p(v): close to exact with many samples.
    EXPECT_NEAR(r.importance[c], exact[c], 0.1) << "code " << c;
    EXPECT_GE(r.importance[c], r.bound[c] - 1e-9) << "code " << c;
  }
}

TEST(DbnExact, LowerBoundTightWhenTopIsBottomTransposed) {
  auto be = make_cpu_backend(1);
  DbnParams d;
  d.layers.push_back(random_params(5, 3, 1.5, 24));
  RbmParams t = random_params(3, 5, 0.0, 25);
  const RbmParams& b = d.layers[0];
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t j = 0; j < 3; ++j) t.weights.data[j * 5 + i] = b.weights.data[i * 3 + j];
    t.hidden_bias.data[i] = b.visible_bias.data[i];
  }
  for (int64_t j = 0; j < 3; ++j) t.visible_bias.data[j] = b.hidden_bias.data[j];
  d.layers.push_back(t);
  Dbn dbn(*be, d);
  // The DBN equals the bottom RBM: log p(v) = -F_0(v) - log Z_0, and every sample is exact.
  const auto ref = brute_force(d.layers[0]);
  const HostTensor codes = testing::all_codes(5);
  Matrix v = Matrix::from_host(*be, codes);
  const DbnBoundResult r = dbn.lower_bound(v, dbn.top_log_partition_exact(), 3, 9);
  for (int c = 0; c < 32; ++c) {
    EXPECT_NEAR(r.bound[c], ref.log_marginal[c] - ref.log_z, 2e-3) << "code " << c;
  }
}

TEST(DbnExact, LabelledTopFreeEnergiesAndLogZ) {
  auto be = make_cpu_backend(1);
  // One-layer DBN with 3 labels: top RBM over [v(3) | y(3)], 4 hidden.
  DbnParams d;
  d.num_classes = 3;
  d.layers.push_back(random_params(6, 4, 1.2, 26));
  Dbn dbn(*be, d);
  const RbmParams& p = d.layers[0];
  // Exact Z over pen codes x one-hot y x h.
  std::vector<double> terms;
  std::vector<std::vector<double>> free(8, std::vector<double>(3));
  for (uint64_t pc = 0; pc < 8; ++pc) {
    for (int y = 0; y < 3; ++y) {
      std::vector<double> v = bits_of(pc, 3);
      for (int k = 0; k < 3; ++k) v.push_back(k == y ? 1.0 : 0.0);
      double lse = 0;  // -F(v) = b'v + sum softplus
      for (int64_t i = 0; i < 6; ++i) lse += p.visible_bias.data[i] * v[i];
      for (int64_t j = 0; j < 4; ++j) {
        double a = p.hidden_bias.data[j];
        for (int64_t i = 0; i < 6; ++i) a += v[i] * p.weights.data[i * 4 + j];
        lse += std::log1p(std::exp(a));
      }
      free[pc][y] = -lse;
      terms.push_back(lse);
    }
  }
  double m = -1e300, s = 0;
  for (double t : terms) m = std::max(m, t);
  for (double t : terms) s += std::exp(t - m);
  EXPECT_NEAR(dbn.top_log_partition_exact(), m + std::log(s), 1e-4);
  Matrix v = Matrix::from_host(*be, testing::all_codes(3));
  const HostTensor f = dbn.class_free_energies(v);
  const auto cls = dbn.classify(v);
  for (int pc = 0; pc < 8; ++pc) {
    for (int y = 0; y < 3; ++y) EXPECT_NEAR(f.data[pc * 3 + y], free[pc][y], 1e-4);
    int best = 0;
    for (int y = 1; y < 3; ++y) best = free[pc][y] < free[pc][best] ? y : best;
    EXPECT_EQ(cls[pc], best);
  }
  // AIS on the labelled top: K clamped runs combined.
  AisConfig ac;
  ac.runs = 100;
  ac.steps = 1000;
  const AisResult ais = dbn.top_log_partition_ais(HostTensor(), ac);
  EXPECT_NEAR(ais.log_z, m + std::log(s), 0.05);
}

TEST(DbnExact, InpaintingIsConditionalGibbsForOneLayer) {
  auto be = make_cpu_backend(1);
  DbnParams d;
  d.layers.push_back(random_params(4, 3, 1.5, 27));
  Dbn dbn(*be, d);
  const int64_t rows = 20000;
  HostTensor v({rows, 4}, 0.0f), mask({rows, 4}, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    v.data[r * 4 + 0] = 1.0f;  // clamp v0 = 1, v1 = 0
    mask.data[r * 4 + 0] = mask.data[r * 4 + 1] = 1.0f;
  }
  Matrix vm = Matrix::from_host(*be, v), mm = Matrix::from_host(*be, mask);
  const HostTensor out = dbn.inpaint(vm, mm, 30, 1, 4);
  // Exact E[v2], E[v3] given v0 = 1, v1 = 0.
  const auto bf = brute_force(d.layers[0]);
  double z = 0, e2 = 0, e3 = 0;
  for (uint64_t c = 0; c < 16; ++c) {
    if ((c & 3u) != 1u) continue;
    const double w = std::exp(bf.log_marginal[c]);
    z += w;
    e2 += w * double((c >> 2) & 1u);
    e3 += w * double((c >> 3) & 1u);
  }
  double m2 = 0, m3 = 0;
  for (int64_t r = 0; r < rows; ++r) {
    ASSERT_EQ(out.data[r * 4 + 0], 1.0f);
    ASSERT_EQ(out.data[r * 4 + 1], 0.0f);
    m2 += out.data[r * 4 + 2] / rows;
    m3 += out.data[r * 4 + 3] / rows;
  }
  EXPECT_NEAR(m2, e2 / z, 0.015);
  EXPECT_NEAR(m3, e3 / z, 0.015);
}

// The values under the mask's zeros are what inpainting must fill in: they may not leak
// into the result (same known part, same seed, different hidden values -> same output).
TEST(DbnExact, InpaintingDoesNotSeeTheHiddenValues) {
  auto be = make_cpu_backend(1);
  DbnParams d;
  d.layers.push_back(random_params(6, 5, 1.5, 31));
  d.layers.push_back(random_params(5, 4, 1.5, 32));
  Dbn dbn(*be, d);
  HostTensor a({8, 6}, 0.0f), b({8, 6}, 0.0f), mask({8, 6}, 0.0f);
  for (int64_t r = 0; r < 8; ++r) {
    for (int64_t i = 0; i < 6; ++i) {
      const bool known = i < 3;
      mask.data[r * 6 + i] = known ? 1.0f : 0.0f;
      a.data[r * 6 + i] = known ? float((r >> i) & 1) : 0.0f;
      b.data[r * 6 + i] = known ? a.data[r * 6 + i] : 1.0f;
    }
  }
  Matrix am = Matrix::from_host(*be, a), bm = Matrix::from_host(*be, b);
  Matrix mm = Matrix::from_host(*be, mask);
  // One round: the first up pass is where a leak would show.
  const HostTensor out_a = dbn.inpaint(am, mm, 1, 2, 9);
  const HostTensor out_b = dbn.inpaint(bm, mm, 1, 2, 9);
  for (size_t i = 0; i < out_a.data.size(); ++i) {
    ASSERT_EQ(out_a.data[i], out_b.data[i]) << "element " << i;
  }
}

// Two noisy prototypes of 12 bits; labels = prototype.
void two_prototypes(int64_t n, HostTensor* x, std::vector<int32_t>* y) {
  *x = HostTensor({n, 12});
  y->resize(static_cast<size_t>(n));
  uint64_t s = 77;
  for (int64_t r = 0; r < n; ++r) {
    const int k = static_cast<int>(r % 2);
    (*y)[r] = k;
    for (int i = 0; i < 12; ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const bool flip = ((s >> 33) % 100) < 8;
      const bool bit = (k == 0) ? (i < 6) : (i % 2 == 0);
      x->data[r * 12 + i] = float(bit != flip);
    }
  }
}

TEST(DbnTrain, LabelledPretrainingClassifiesAndRoundTrips) {
  auto be = make_cpu_backend(1);
  HostTensor x;
  std::vector<int32_t> y;
  two_prototypes(400, &x, &y);
  DbnConfig cfg;
  cfg.num_classes = 2;
  for (int64_t h : {10, 8}) {
    LayerConfig lc;
    lc.hidden = h;
    lc.train.epochs = 30;
    lc.train.batch_size = 20;
    lc.train.learning_rate = 0.1f;
    cfg.layers.push_back(lc);
  }
  cfg.layers[1].train.persistent = true;  // PCD needs a smaller step than CD here
  cfg.layers[1].train.learning_rate = 0.01f;
  Dbn dbn(*be, 12, cfg);
  Matrix xm = Matrix::from_host(*be, x);
  int epochs_seen = 0;
  dbn.pretrain(xm, y, cfg, [&](size_t, const EpochStats& s) {
    ++epochs_seen;
    EXPECT_TRUE(std::isfinite(s.reconstruction_error));
  });
  EXPECT_EQ(epochs_seen, 60);
  const auto pred = dbn.classify(xm);
  int correct = 0;
  for (size_t r = 0; r < y.size(); ++r) correct += pred[r] == y[r];
  EXPECT_GT(correct, 380);
  // Class-clamped generation produces the class's prototype most of the time.
  DbnSampleOptions o;
  o.chains = 200;
  o.gibbs_steps = 200;
  o.clamp_label = 1;
  const HostTensor g = dbn.sample(o);
  double even_on = 0;
  for (int64_t r = 0; r < o.chains; ++r) {
    for (int i = 0; i < 12; i += 2) even_on += g.data[r * 12 + i] / (6.0 * o.chains);
  }
  EXPECT_GT(even_on, 0.7);
  // Checkpoint round trip.
  const std::string path = std::string(CRBM_BINARY_DIR) + "/dbn_test_roundtrip.safetensors";
  save_dbn(path, dbn.to_host(), {{"note", "test"}});
  std::map<std::string, std::string> meta;
  const DbnParams back = load_dbn_params(path, &meta);
  EXPECT_EQ(meta.at("model"), "dbn");
  EXPECT_EQ(meta.at("note"), "test");
  ASSERT_EQ(back.layers.size(), 2u);
  EXPECT_EQ(back.num_classes, 2);
  Dbn copy(*be, back);
  EXPECT_EQ(copy.classify(xm), pred);
  std::remove(path.c_str());
}

TEST(DbnTrain, RejectsBadConfigurations) {
  DbnConfig cfg;
  EXPECT_THROW(cfg.validate(), Error);
  LayerConfig lc;
  lc.hidden = 4;
  cfg.layers = {lc, lc};
  cfg.layers[1].visible_type = VisibleType::gaussian;
  EXPECT_THROW(cfg.validate(), Error);
  cfg.layers[1].visible_type = VisibleType::bernoulli;
  cfg.num_classes = 1;
  EXPECT_THROW(cfg.validate(), Error);
}

}  // namespace
}  // namespace crbm
