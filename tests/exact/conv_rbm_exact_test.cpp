// Tiny convolutional RBMs against brute force over every (v, h) pair, where h
// runs over the valid pooled configurations only (each block: one of P*P units
// on, or none). Checks P(h|v), P(pool|v), E[v|h], the pooled free energy, log Z,
// a checkpoint round trip, and that CD-1 / PCD-1 raise the exact log-likelihood.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "crbm/conv_rbm.hpp"
#include "crbm/conv_train.hpp"

namespace crbm {
namespace {

ConvRbmParams random_conv_params(const ConvShape& s, double scale, uint32_t seed) {
  ConvRbmParams p;
  p.height = s.height;
  p.width = s.width;
  p.pool = s.pool;
  p.filters = HostTensor({s.filters, s.channels, s.filter_size, s.filter_size});
  p.hidden_bias = HostTensor({s.filters});
  p.visible_bias = HostTensor({s.channels});
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, scale);
  for (float& x : p.filters.data) x = float(dist(gen));
  for (float& x : p.hidden_bias.data) x = float(dist(gen));
  for (float& x : p.visible_bias.data) x = float(dist(gen));
  return p;
}

// random_conv_params with Gaussian visible units of standard deviation `sigma`.
ConvRbmParams random_gaussian_conv_params(const ConvShape& s, double scale, uint32_t seed,
                                          float sigma) {
  ConvRbmParams p = random_conv_params(s, scale, seed);
  p.visible_type = VisibleType::gaussian;
  p.sigma = sigma;
  return p;
}

// Every valid hidden configuration: per block, state in [0, P*P] (P*P = off).
struct HiddenEnumerator {
  ConvShape s;
  int64_t blocks() const { return s.filters * s.pooled_plane(); }
  uint64_t count() const {
    uint64_t c = 1;
    for (int64_t b = 0; b < blocks(); ++b) c *= uint64_t(s.pool * s.pool + 1);
    return c;
  }
  std::vector<double> decode(uint64_t code) const {
    std::vector<double> h(size_t(s.hidden_size()), 0.0);
    const int64_t states = s.pool * s.pool + 1;
    for (int64_t blk = 0; blk < blocks(); ++blk) {
      const int64_t state = int64_t(code % uint64_t(states));
      code /= uint64_t(states);
      if (state == states - 1) continue;
      const int64_t k = blk / s.pooled_plane(), bi = (blk / s.pooled_width()) % s.pooled_height(),
                    bj = blk % s.pooled_width();
      const int64_t i = bi * s.pool + state / s.pool, j = bj * s.pool + state % s.pool;
      h[size_t((k * s.hidden_height() + i) * s.hidden_width() + j)] = 1.0;
    }
    return h;
  }
};

std::vector<double> bits(uint64_t code, int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = double((code >> i) & 1u);
  return v;
}

// -E(v, h) for a Bernoulli ConvRbm, straight from the definition.
double neg_energy(const ConvRbmParams& p, const std::vector<double>& v,
                  const std::vector<double>& h) {
  const ConvShape s = p.shape(1);
  const int64_t f = s.filter_size, hh = s.hidden_height(), wh = s.hidden_width();
  double e = 0.0;
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t i = 0; i < s.visible_plane(); ++i)
      e += p.visible_bias.data[c] * v[size_t(c * s.visible_plane() + i)];
  for (int64_t k = 0; k < s.filters; ++k)
    for (int64_t i = 0; i < hh; ++i)
      for (int64_t j = 0; j < wh; ++j) {
        const double hv = h[size_t((k * hh + i) * wh + j)];
        if (hv == 0.0) continue;
        double input = p.hidden_bias.data[k];
        for (int64_t c = 0; c < s.channels; ++c)
          for (int64_t a = 0; a < f; ++a)
            for (int64_t b = 0; b < f; ++b)
              input += double(p.filters.data[((k * s.channels + c) * f + a) * f + b]) *
                       v[size_t((c * s.height + i + a) * s.width + j + b)];
        e += hv * input;
      }
  return e;
}

double log_sum_exp(const std::vector<double>& x) {
  double m = -INFINITY;
  for (double v : x) m = std::max(m, v);
  double s = 0.0;
  for (double v : x) s += std::exp(v - m);
  return m + std::log(s);
}

struct Case {
  ConvShape shape;  // batch unused
  const char* name;
};

const std::vector<Case> kCases = {
    {{1, 1, 3, 3, 1, 2, 2}, "1 filter, 3x3, F=2, one 2x2 block"},
    {{1, 1, 3, 3, 2, 2, 1}, "2 filters, 3x3, F=2, P=1 (four blocks each)"},
    {{1, 1, 4, 4, 2, 3, 2}, "2 filters, 4x4, F=3, one block each"},
    {{1, 2, 3, 2, 2, 2, 1}, "2 channels, 3x2, F=2, P=1"},
    {{1, 1, 4, 3, 1, 2, 2}, "4x3, F=2: hidden 3x2 cropped to 2x2"},
};

class ConvRbmExact : public ::testing::TestWithParam<Case> {
 protected:
  std::unique_ptr<Backend> be = make_cpu_backend();
};

TEST_P(ConvRbmExact, ConditionalsFreeEnergyAndLogZ) {
  const ConvShape s = GetParam().shape;
  const ConvRbmParams p = random_conv_params(s, 1.0, 17);
  ConvRbm rbm(*be, p);
  const int64_t nv = s.visible_size();
  const HiddenEnumerator hidden{s};
  const uint64_t n_v = uint64_t(1) << nv;

  // Brute force: -E for every (v, h), log p*(v), conditionals for a few v.
  std::vector<std::vector<double>> h_configs;
  for (uint64_t hc = 0; hc < hidden.count(); ++hc) h_configs.push_back(hidden.decode(hc));
  std::vector<double> all_terms, log_marginal(n_v);
  HostTensor v_all({int64_t(n_v), nv});
  for (uint64_t vc = 0; vc < n_v; ++vc) {
    const auto v = bits(vc, nv);
    for (int64_t i = 0; i < nv; ++i) v_all.data[vc * nv + i] = float(v[size_t(i)]);
    std::vector<double> terms;
    for (const auto& h : h_configs) terms.push_back(neg_energy(p, v, h));
    log_marginal[vc] = log_sum_exp(terms);
    all_terms.push_back(log_marginal[vc]);
  }
  const double brute_log_z = log_sum_exp(all_terms);

  Matrix dv = Matrix::from_host(*be, v_all), f(*be, int64_t(n_v), 1);
  rbm.free_energy(dv, f);
  const HostTensor fe = f.download();
  for (uint64_t vc = 0; vc < n_v; ++vc) {
    ASSERT_NEAR(-fe.data[vc], log_marginal[vc], 1e-4 * std::max(1.0, std::fabs(log_marginal[vc])))
        << "free energy of v code " << vc;
  }
  EXPECT_NEAR(exact_log_partition(rbm), brute_log_z, 1e-4 * std::max(1.0, brute_log_z));

  // P(h=1|v) and P(pool on|v) for a handful of visible codes.
  Matrix hp(*be, int64_t(n_v), s.hidden_size()), pp(*be, int64_t(n_v), s.pooled_size());
  rbm.hidden_given_visible(dv, hp, pp);
  const HostTensor h_probs = hp.download(), p_probs = pp.download();
  for (uint64_t vc : {uint64_t(0), uint64_t(5), n_v / 3, n_v - 1}) {
    const auto v = bits(vc, nv);
    std::vector<double> want_h(size_t(s.hidden_size()), 0.0), want_p(size_t(s.pooled_size()), 0.0);
    double z = 0.0;
    for (uint64_t hc = 0; hc < hidden.count(); ++hc) {
      const auto h = hidden.decode(hc);
      const double w = std::exp(neg_energy(p, v, h) - log_marginal[vc]);
      z += w;
      for (size_t u = 0; u < h.size(); ++u) want_h[u] += w * h[u];
      for (int64_t k = 0; k < s.filters; ++k)
        for (int64_t bi = 0; bi < s.pooled_height(); ++bi)
          for (int64_t bj = 0; bj < s.pooled_width(); ++bj) {
            double on = 0.0;
            for (int64_t a = 0; a < s.pool; ++a)
              for (int64_t b = 0; b < s.pool; ++b)
                on += h[size_t((k * s.hidden_height() + bi * s.pool + a) * s.hidden_width() +
                               bj * s.pool + b)];
            want_p[size_t((k * s.pooled_height() + bi) * s.pooled_width() + bj)] += w * on;
          }
    }
    ASSERT_NEAR(z, 1.0, 1e-9);
    for (size_t u = 0; u < want_h.size(); ++u)
      EXPECT_NEAR(h_probs.data[vc * s.hidden_size() + u], want_h[u], 1e-5)
          << "v " << vc << " h " << u;
    for (size_t u = 0; u < want_p.size(); ++u)
      EXPECT_NEAR(p_probs.data[vc * s.pooled_size() + u], want_p[u], 1e-5)
          << "v " << vc << " pool " << u;
  }

  // E[v|h] for a few valid hidden configurations: v units are independent given h.
  for (uint64_t hc : {uint64_t(0), uint64_t(1), hidden.count() / 2, hidden.count() - 1}) {
    const auto h = hidden.decode(hc);
    std::vector<double> terms(n_v), want(size_t(nv), 0.0);
    for (uint64_t vc = 0; vc < n_v; ++vc) terms[vc] = neg_energy(p, bits(vc, nv), h);
    const double lz = log_sum_exp(terms);
    for (uint64_t vc = 0; vc < n_v; ++vc) {
      const auto v = bits(vc, nv);
      for (int64_t i = 0; i < nv; ++i) want[size_t(i)] += std::exp(terms[vc] - lz) * v[size_t(i)];
    }
    HostTensor ht({1, s.hidden_size()});
    for (size_t u = 0; u < h.size(); ++u) ht.data[u] = float(h[u]);
    Matrix dh = Matrix::from_host(*be, ht), mean(*be, 1, nv);
    rbm.visible_mean_given_hidden(dh, mean);
    const HostTensor m = mean.download();
    for (int64_t i = 0; i < nv; ++i) EXPECT_NEAR(m.data[i], want[size_t(i)], 1e-5) << "h " << hc;
  }
}

INSTANTIATE_TEST_SUITE_P(Tiny, ConvRbmExact, ::testing::ValuesIn(kCases));

TEST(ConvRbmExactGaussian, FreeEnergyMatchesNumericalIntegralIn1D) {
  // One visible pixel is not a conv; instead check F for Gaussian units against the
  // definition: F(v) = sum (v-c)^2/(2 s^2) - sum_blocks log(1 + sum e^{b + W*v/s^2}).
  auto be = make_cpu_backend();
  const ConvShape s{1, 1, 3, 3, 2, 2, 2};
  const ConvRbmParams p = random_gaussian_conv_params(s, 0.5, 5, 0.5f);
  ConvRbm rbm(*be, p);
  HostTensor v({1, 9});
  std::mt19937 gen(3);
  std::normal_distribution<float> nd;
  for (float& x : v.data) x = nd(gen);
  Matrix dv = Matrix::from_host(*be, v), f(*be, 1, 1);
  rbm.free_energy(dv, f);
  double want = 0.0;
  for (int i = 0; i < 9; ++i) want += std::pow(v.data[i] - p.visible_bias.data[0], 2) / (2 * 0.25);
  for (int k = 0; k < 2; ++k) {
    double z = 1.0;
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) {
        double in = 0.0;
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b)
            in += p.filters.data[(k * 2 + a) * 2 + b] * v.data[(i + a) * 3 + j + b];
        z += std::exp(p.hidden_bias.data[k] + in / 0.25);
      }
    want -= std::log(z);
  }
  EXPECT_NEAR(f.download().data[0], want, 1e-4 * std::max(1.0, std::fabs(want)));
}

TEST(ConvRbmCheckpoint, RoundTripKeepsEverything) {
  auto be = make_cpu_backend();
  const ConvShape s{1, 2, 7, 6, 3, 3, 2};
  const ConvRbmParams p = random_gaussian_conv_params(s, 1.0, 8, 0.2f);
  ConvRbm rbm(*be, p);
  const std::string path = std::string(CRBM_BINARY_DIR) + "/conv_rbm_roundtrip.safetensors";
  save_conv_rbm(path, rbm, {{"note", "test"}});
  std::map<std::string, std::string> meta;
  const ConvRbmParams q = load_conv_rbm_params(path, &meta);
  std::remove(path.c_str());
  EXPECT_EQ(meta.at("model"), "conv_rbm");
  EXPECT_EQ(meta.at("note"), "test");
  EXPECT_EQ(meta.at("pool"), "2");
  EXPECT_EQ(q.filters.shape, (std::vector<int64_t>{3, 2, 3, 3}));
  EXPECT_EQ(q.filters.data, p.filters.data);
  EXPECT_EQ(q.hidden_bias.data, p.hidden_bias.data);
  EXPECT_EQ(q.visible_bias.data, p.visible_bias.data);
  EXPECT_EQ(q.visible_type, VisibleType::gaussian);
  EXPECT_FLOAT_EQ(q.sigma, 0.2f);
  EXPECT_EQ(q.height, 7);
  EXPECT_EQ(q.width, 6);
}

// 4x4 binary images: the 8 single-pixel-wide bars (4 rows, 4 columns); CD-1 and
// PCD-1 must raise the exact mean log-likelihood well above the initial model's.
HostTensor tiny_bar_data() {
  HostTensor d({8, 16}, 0.0f);
  for (int pattern = 0; pattern < 8; ++pattern) {
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        const bool horizontal = pattern < 4;
        const int coord = horizontal ? y : x;
        const int which = pattern % 4;  // bar of width 1 at row/col `which`
        d.data[pattern * 16 + y * 4 + x] = coord == which ? 1.0f : 0.0f;
      }
  }
  return d;
}

void expect_training_raises_likelihood(bool persistent) {
  auto be = make_cpu_backend();
  const ConvShape s{1, 1, 4, 4, 3, 3, 2};
  ConvRbm rbm(*be, s);
  const HostTensor data = tiny_bar_data();
  rbm.init_random(3, 0.1f, &data);
  Matrix d = Matrix::from_host(*be, data);
  const double before = mean_log_likelihood(rbm, d, exact_log_partition(rbm));
  ConvTrainConfig cfg;
  cfg.batch_size = 4;
  cfg.learning_rate = 0.1f;
  cfg.weight_decay = 1e-4f;
  cfg.persistent = persistent;
  cfg.momentum_switch_epoch = 5;
  ConvTrainer trainer(rbm, cfg);
  for (int e = 0; e < 150; ++e) trainer.train_epoch(d);
  const double after = mean_log_likelihood(rbm, d, exact_log_partition(rbm));
  EXPECT_GT(after, before + 1.0) << "before " << before << " after " << after;
}

TEST(ConvRbmTraining, Cd1RaisesExactLogLikelihood) {
  expect_training_raises_likelihood(false);
}
TEST(ConvRbmTraining, Pcd1RaisesExactLogLikelihood) {
  expect_training_raises_likelihood(true);
}

TEST(ConvTrainConfigTest, ValidateNamesTheField) {
  ConvTrainConfig c;
  c.sparsity_target = 1.5f;
  try {
    c.validate();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sparsity_target"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace crbm
