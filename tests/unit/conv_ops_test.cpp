// CPU ConvOps against naive loops written here (the reference), the down pass as
// the exact transpose of the up pass (<up(v), h> == <v, down(h)>), the pooled
// softmax of kernels/pool_math.cuh against a direct evaluation, and sampled block
// states against the block softmax (chi-square over 20000 draws).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <vector>

#include "crbm/cdbn.hpp"
#include "crbm/conv.hpp"
#include "crbm/logreg.hpp"
#include "crbm/preprocess.hpp"
#include "philox.cuh"
#include "pool_math.cuh"
#include "support/tensor_check.hpp"

namespace crbm {
namespace {

using testing::max_rel_error;
using testing::random_tensor;

// ---- naive references ----

HostTensor naive_up(const ConvShape& s, const HostTensor& v, const HostTensor& w,
                    const HostTensor& bias, float scale) {
  const int64_t f = s.filter_size, hh = s.hidden_height(), wh = s.hidden_width();
  HostTensor h({s.batch, s.hidden_size()});
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t k = 0; k < s.filters; ++k)
      for (int64_t i = 0; i < hh; ++i)
        for (int64_t j = 0; j < wh; ++j) {
          double acc = 0.0;
          for (int64_t c = 0; c < s.channels; ++c)
            for (int64_t a = 0; a < f; ++a)
              for (int64_t b = 0; b < f; ++b)
                acc += double(w.data[((k * s.channels + c) * f + a) * f + b]) *
                       v.data[n * s.visible_size() + (c * s.height + i + a) * s.width + j + b];
          h.data[n * s.hidden_size() + (k * hh + i) * wh + j] = float(bias.data[k] + scale * acc);
        }
  return h;
}

HostTensor naive_down(const ConvShape& s, const HostTensor& h, const HostTensor& w) {
  const int64_t f = s.filter_size, hh = s.hidden_height(), wh = s.hidden_width();
  HostTensor v({s.batch, s.visible_size()});
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t y = 0; y < s.height; ++y)
        for (int64_t x = 0; x < s.width; ++x) {
          double acc = 0.0;
          for (int64_t k = 0; k < s.filters; ++k)
            for (int64_t a = 0; a < f; ++a)
              for (int64_t b = 0; b < f; ++b) {
                const int64_t i = y - a, j = x - b;
                if (i < 0 || j < 0 || i >= hh || j >= wh) continue;
                acc += double(w.data[((k * s.channels + c) * f + a) * f + b]) *
                       h.data[n * s.hidden_size() + (k * hh + i) * wh + j];
              }
          v.data[n * s.visible_size() + (c * s.height + y) * s.width + x] = float(acc);
        }
  return v;
}

HostTensor naive_grad(const ConvShape& s, const HostTensor& v, const HostTensor& h) {
  const int64_t f = s.filter_size, hh = s.hidden_height(), wh = s.hidden_width();
  HostTensor g({s.filters, s.filter_volume()});
  for (int64_t k = 0; k < s.filters; ++k)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t a = 0; a < f; ++a)
        for (int64_t b = 0; b < f; ++b) {
          double acc = 0.0;
          for (int64_t n = 0; n < s.batch; ++n)
            for (int64_t i = 0; i < hh; ++i)
              for (int64_t j = 0; j < wh; ++j)
                acc +=
                    double(
                        v.data[n * s.visible_size() + (c * s.height + i + a) * s.width + j + b]) *
                    h.data[n * s.hidden_size() + (k * hh + i) * wh + j];
          g.data[((k * s.channels + c) * f + a) * f + b] = float(acc);
        }
  return g;
}

// Block softmax evaluated directly in double: probs of the P*P units, then "off".
std::vector<double> direct_block_softmax(const std::vector<float>& logits) {
  double z = 1.0;
  for (float x : logits) z += std::exp(double(x));
  std::vector<double> p;
  for (float x : logits) p.push_back(std::exp(double(x)) / z);
  p.push_back(1.0 / z);
  return p;
}

const std::vector<ConvShape> kShapes = {
    // batch, C, H, W, K, F, P
    {2, 1, 4, 4, 1, 3, 2},   {3, 2, 7, 9, 3, 3, 2},
    {5, 3, 11, 8, 4, 4, 1},  {4, 1, 28, 28, 5, 12, 2},  // 17x17 valid hidden, cropped to 16x16
    {2, 2, 13, 13, 2, 2, 3},                            // 12x12 hidden, P=3
    {1, 4, 5, 6, 2, 5, 1},                              // F = H
};

class CpuConvOpsTest : public ::testing::TestWithParam<ConvShape> {
 protected:
  std::unique_ptr<Backend> be = make_cpu_backend();
  std::unique_ptr<ConvOps> ops = make_conv_ops(*be);
};

TEST_P(CpuConvOpsTest, UpMatchesNaiveLoops) {
  const ConvShape s = GetParam();
  const HostTensor v = random_tensor({s.batch, s.visible_size()}, 1);
  const HostTensor w = random_tensor({s.filters, s.filter_volume()}, 2);
  const HostTensor bias = random_tensor({1, s.filters}, 3);
  Matrix dv = Matrix::from_host(*be, v), dw = Matrix::from_host(*be, w),
         db = Matrix::from_host(*be, bias), dh(*be, s.batch, s.hidden_size());
  ops->up(s, dv, dw, db, 0.7f, dh);
  EXPECT_LT(max_rel_error(dh.download(), naive_up(s, v, w, bias, 0.7f)), 1e-5) << s.to_string();
}

TEST_P(CpuConvOpsTest, DownMatchesNaiveLoops) {
  const ConvShape s = GetParam();
  const HostTensor h = random_tensor({s.batch, s.hidden_size()}, 4);
  const HostTensor w = random_tensor({s.filters, s.filter_volume()}, 5);
  Matrix dh = Matrix::from_host(*be, h), dw = Matrix::from_host(*be, w),
         dv(*be, s.batch, s.visible_size());
  be->fill(dv, 123.0f);  // must be overwritten, edges included
  ops->down(s, dh, dw, dv);
  EXPECT_LT(max_rel_error(dv.download(), naive_down(s, h, w)), 1e-5) << s.to_string();
}

TEST_P(CpuConvOpsTest, WeightGradMatchesNaiveLoopsWithAlphaBeta) {
  const ConvShape s = GetParam();
  const HostTensor v = random_tensor({s.batch, s.visible_size()}, 6);
  const HostTensor h = random_tensor({s.batch, s.hidden_size()}, 7);
  const HostTensor g0 = random_tensor({s.filters, s.filter_volume()}, 8);
  Matrix dv = Matrix::from_host(*be, v), dh = Matrix::from_host(*be, h),
         dg = Matrix::from_host(*be, g0);
  ops->weight_grad(s, dv, dh, 0.5f, -2.0f, dg);
  HostTensor want = naive_grad(s, v, h);
  for (int64_t i = 0; i < want.numel(); ++i) want.data[i] = 0.5f * want.data[i] - 2.0f * g0.data[i];
  EXPECT_LT(max_rel_error(dg.download(), want), 1e-5) << s.to_string();
}

TEST_P(CpuConvOpsTest, DownIsTheTransposeOfUp) {
  const ConvShape s = GetParam();
  const HostTensor v = random_tensor({s.batch, s.visible_size()}, 9);
  const HostTensor h = random_tensor({s.batch, s.hidden_size()}, 10);
  const HostTensor w = random_tensor({s.filters, s.filter_volume()}, 11);
  Matrix dv = Matrix::from_host(*be, v), dh = Matrix::from_host(*be, h),
         dw = Matrix::from_host(*be, w), up_v(*be, s.batch, s.hidden_size()),
         down_h(*be, s.batch, s.visible_size());
  ops->up(s, dv, dw, CMatRef{}, 1.0f, up_v);
  ops->down(s, dh, dw, down_h);
  const HostTensor a = up_v.download(), b = down_h.download();
  double lhs = 0.0, rhs = 0.0, scale = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    lhs += double(a.data[i]) * h.data[i];
    scale += std::fabs(double(a.data[i]) * h.data[i]);
  }
  for (int64_t i = 0; i < b.numel(); ++i) rhs += double(v.data[i]) * b.data[i];
  EXPECT_NEAR(lhs, rhs, 1e-5 * std::max(1.0, scale)) << s.to_string();
}

TEST_P(CpuConvOpsTest, PoolProbsMatchDirectSoftmax) {
  const ConvShape s = GetParam();
  const HostTensor pre = random_tensor({s.batch, s.hidden_size()}, 12, -4.0f, 4.0f);
  Matrix dpre = Matrix::from_host(*be, pre), dh(*be, s.batch, s.hidden_size()),
         dp(*be, s.batch, s.pooled_size()), dz(*be, s.batch, 1);
  ops->pool_probs(s, dpre, dh, dp);
  ops->pool_log_partition(s, dpre, dz);
  const HostTensor h = dh.download(), p = dp.download(), z = dz.download();
  const int64_t hh = s.hidden_height(), wh = s.hidden_width(), P = s.pool;
  for (int64_t n = 0; n < s.batch; ++n) {
    double log_z = 0.0;
    for (int64_t k = 0; k < s.filters; ++k)
      for (int64_t bi = 0; bi < s.pooled_height(); ++bi)
        for (int64_t bj = 0; bj < s.pooled_width(); ++bj) {
          std::vector<float> logits;
          std::vector<int64_t> where;
          for (int64_t a = 0; a < P; ++a)
            for (int64_t b = 0; b < P; ++b) {
              where.push_back(n * s.hidden_size() + (k * hh + bi * P + a) * wh + bj * P + b);
              logits.push_back(pre.data[where.back()]);
            }
          const auto want = direct_block_softmax(logits);
          for (size_t u = 0; u < where.size(); ++u) EXPECT_NEAR(h.data[where[u]], want[u], 1e-6);
          const int64_t blk =
              ((n * s.filters + k) * s.pooled_height() + bi) * s.pooled_width() + bj;
          EXPECT_NEAR(p.data[blk], 1.0 - want.back(), 1e-6);
          log_z += -std::log(want.back());
        }
    EXPECT_NEAR(z.data[n], log_z, 1e-4 * std::max(1.0, log_z));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CpuConvOpsTest, ::testing::ValuesIn(kShapes));

TEST(PoolMath, StableForHugeLogits) {
  const float logits[4] = {1000.0f, 999.0f, -1000.0f, 80.0f};
  float probs[4];
  const float on = pool::block_probs(logits, 2, 2, 2, probs, 2);
  EXPECT_TRUE(std::isfinite(on));
  EXPECT_NEAR(on, 1.0f, 1e-6);
  EXPECT_NEAR(probs[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(pool::block_log_partition(logits, 2, 2, 2), 1000.0 + std::log1p(std::exp(-1.0)),
              1e-3);
  const float tiny[4] = {-1000.0f, -1000.0f, -1000.0f, -1000.0f};
  EXPECT_EQ(pool::block_probs(tiny, 2, 2, 2, probs, 2), 0.0f);
  EXPECT_EQ(pool::block_choose(tiny, 2, 2, 2, 0.999999f), -1);
}

TEST(PoolMath, ChooseCoversTheUnitInterval) {
  const float logits[4] = {0.5f, -1.0f, 2.0f, 0.0f};
  float probs[4];
  pool::block_probs(logits, 2, 2, 2, probs, 2);
  double edge = 0.0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(pool::block_choose(logits, 2, 2, 2, float(edge + 0.5 * probs[i])), i);
    edge += probs[i];
  }
  EXPECT_EQ(pool::block_choose(logits, 2, 2, 2, float(0.5 * (edge + 1.0))), -1);
}

// 20000 blocks with identical logits, one Philox uniform each: the counts of the
// five states must follow the block softmax (chi-square, 4 dof, p = 0.001 -> 18.47).
TEST(PoolSample, BlockStatesFollowTheSoftmax) {
  auto be = make_cpu_backend();
  auto ops = make_conv_ops(*be);
  const ConvShape s{1, 1, 2 * 100 + 1, 2 * 200 + 1, 1, 2, 2};  // 100 x 200 blocks of 2x2
  ASSERT_EQ(s.pool_blocks(), 20000);
  const float block[4] = {0.3f, -0.7f, 1.1f, -0.2f};
  HostTensor pre({1, s.hidden_size()});
  for (int64_t i = 0; i < s.hidden_height(); ++i)
    for (int64_t j = 0; j < s.hidden_width(); ++j)
      pre.data[i * s.hidden_width() + j] = block[(i % 2) * 2 + j % 2];
  Matrix dpre = Matrix::from_host(*be, pre), dh(*be, 1, s.hidden_size()),
         dp(*be, 1, s.pooled_size());
  ops->pool_sample(s, dpre, dh, dp, RngKey{42, 7, 3});
  const HostTensor h = dh.download(), p = dp.download();
  std::vector<double> counts(5, 0.0);
  for (int64_t bi = 0; bi < s.pooled_height(); ++bi)
    for (int64_t bj = 0; bj < s.pooled_width(); ++bj) {
      int on = 0, state = 4;
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b)
          if (h.data[(2 * bi + a) * s.hidden_width() + 2 * bj + b] == 1.0f) {
            ++on;
            state = a * 2 + b;
          }
      ASSERT_LE(on, 1) << "more than one unit on in a pooling block";
      EXPECT_EQ(p.data[bi * s.pooled_width() + bj], on == 1 ? 1.0f : 0.0f);
      counts[state] += 1.0;
    }
  const auto want = direct_block_softmax({block[0], block[1], block[2], block[3]});
  double chi2 = 0.0;
  for (int i = 0; i < 5; ++i) {
    const double expected = want[i] * 20000.0;
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  EXPECT_LT(chi2, 18.47) << "counts " << counts[0] << " " << counts[1] << " " << counts[2] << " "
                         << counts[3] << " off " << counts[4];
}

TEST(PoolSample, UsesOneUniformPerBlockAtTheBlockIndex) {
  auto be = make_cpu_backend();
  auto ops = make_conv_ops(*be);
  const ConvShape s{2, 1, 5, 5, 3, 2, 2};  // 2 images x 3 filters x 2x2 blocks
  const HostTensor pre = random_tensor({s.batch, s.hidden_size()}, 13, -2.0f, 2.0f);
  Matrix dpre = Matrix::from_host(*be, pre), dh(*be, s.batch, s.hidden_size());
  const RngKey key{9, 4, 11};
  ops->pool_sample(s, dpre, dh, Matrix{}.ref(), key);
  const HostTensor h = dh.download();
  for (int64_t blk = 0; blk < s.pool_blocks(); ++blk) {
    const int64_t bj = blk % 2, bi = (blk / 2) % 2, map = blk / 4;
    const int64_t off = map * s.hidden_plane() + bi * 2 * 4 + bj * 2;
    const float u = philox::uniform(key.seed, key.stream, key.step, uint64_t(blk));
    const int chosen = pool::block_choose(pre.data.data() + off, 4, 2, 2, u);
    for (int e = 0; e < 4; ++e) {
      EXPECT_EQ(h.data[off + (e / 2) * 4 + e % 2], e == chosen ? 1.0f : 0.0f) << "block " << blk;
    }
  }
}

TEST(ConvShapeTest, CropsHiddenToAMultipleOfThePool) {
  const ConvShape s{1, 1, 28, 28, 40, 12, 2};
  EXPECT_EQ(s.valid_height(), 17);
  EXPECT_EQ(s.hidden_height(), 16);
  EXPECT_EQ(s.pooled_height(), 8);
  EXPECT_TRUE(s.cropped());
  EXPECT_THROW((ConvShape{1, 1, 4, 4, 1, 5, 1}.validate()), Error);
  EXPECT_THROW((ConvShape{1, 1, 4, 4, 1, 3, 3}.validate()), Error);
  EXPECT_THROW((ConvShape{1, 1, 40, 40, 1, 3, 9}.validate()), Error);
}

TEST(ConvOpsCpu, SoftmaxRowsAndChannelHelpers) {
  auto be = make_cpu_backend();
  auto ops = make_conv_ops(*be);
  HostTensor x({2, 3});
  x.data = {1.0f, 2.0f, 3.0f, 1000.0f, 0.0f, -1000.0f};
  Matrix dx = Matrix::from_host(*be, x);
  ops->softmax_rows(dx);
  const HostTensor y = dx.download();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(y.data[2], std::exp(3.0) / z, 1e-6);
  EXPECT_NEAR(y.data[3], 1.0, 1e-6);
  EXPECT_NEAR(y.data[5], 0.0, 1e-6);

  HostTensor c({2, 4});  // 2 channels of plane 2
  c.data = {1, 2, 3, 4, 5, 6, 7, 8};
  Matrix dc = Matrix::from_host(*be, c), sums(*be, 1, 2), bias = Matrix::from_host(*be, [] {
                                                            HostTensor b({1, 2});
                                                            b.data = {10.0f, -10.0f};
                                                            return b;
                                                          }());
  ops->channel_sums(dc, 2, 0.5f, 0.0f, sums);
  const HostTensor s = sums.download();
  EXPECT_FLOAT_EQ(s.data[0], 0.5f * (1 + 2 + 5 + 6));
  EXPECT_FLOAT_EQ(s.data[1], 0.5f * (3 + 4 + 7 + 8));
  ops->channel_bias_activate(dc, 2, 2.0f, bias, Activation::linear);
  const HostTensor cb = dc.download();
  EXPECT_FLOAT_EQ(cb.data[0], 12.0f);
  EXPECT_FLOAT_EQ(cb.data[2], -4.0f);
  EXPECT_FLOAT_EQ(cb.data[7], 6.0f);
}

// ---- preprocessing, logistic regression, CDBN ----

TEST(Preprocess, WhiteningKeepsASingleCosineAndNormalises) {
  // The filter is real and radial, so a pure cosine comes back as itself, scaled
  // to unit variance: sqrt(2) cos(.).
  HostTensor im({1, 16, 16});
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      im.data[y * 16 + x] = 5.0f + std::cos(2 * M_PI * (3 * x + 2 * y) / 16.0);
  whiten_image(im);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      ASSERT_NEAR(im.data[y * 16 + x], std::sqrt(2.0) * std::cos(2 * M_PI * (3 * x + 2 * y) / 16.0),
                  1e-4);
}

TEST(Preprocess, WhiteningGainIsFrequencyTimesRollOff) {
  // Two cosines of equal amplitude at 2 and 8 cycles per image (N = 32, f0 = 12.8):
  // the output amplitudes must be in the ratio 8 e^{-(8/f0)^4} : 2 e^{-(2/f0)^4}.
  HostTensor im({1, 32, 32});
  auto wave = [](int f, int x) { return std::cos(2 * M_PI * f * x / 32.0); };
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) im.data[y * 32 + x] = float(wave(2, x) + wave(8, x));
  whiten_image(im);
  double a2 = 0, a8 = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      a2 += im.data[y * 32 + x] * wave(2, x);
      a8 += im.data[y * 32 + x] * wave(8, x);
    }
  const double f0 = 0.4 * 32;
  const double want = 8 * std::exp(-std::pow(8 / f0, 4)) / (2 * std::exp(-std::pow(2 / f0, 4)));
  EXPECT_NEAR(a8 / a2, want, 1e-3 * want);
}

TEST(Preprocess, StandardizeCropAndPatches) {
  HostTensor im({1, 4, 5});
  for (int i = 0; i < 20; ++i) im.data[i] = float(i);
  HostTensor crop = crop_image(im, 1, 2, 2, 3);
  EXPECT_EQ(crop.data, (std::vector<float>{7, 8, 9, 12, 13, 14}));
  EXPECT_THROW(crop_image(im, 3, 0, 2, 2), Error);
  standardize_image(crop);
  double m = 0, sq = 0;
  for (float v : crop.data) m += v;
  for (float v : crop.data) sq += v * v;
  EXPECT_NEAR(m, 0.0, 1e-5);
  EXPECT_NEAR(sq / 6.0, 1.0, 1e-5);
  const HostTensor patches = extract_patches({im}, 3, 10, 4);
  EXPECT_EQ(patches.shape, (std::vector<int64_t>{10, 9}));
  for (int64_t p = 0; p < 10; ++p) {  // each patch is a window: rows step by 5
    EXPECT_FLOAT_EQ(patches.data[p * 9 + 3], patches.data[p * 9] + 5.0f);
  }
}

TEST(LogisticRegressionTest, SeparatesThreeBlobs) {
  auto be = make_cpu_backend();
  const int64_t n = 600;
  HostTensor x({n, 2});
  std::vector<int32_t> y(n);
  std::mt19937 gen(2);
  std::normal_distribution<float> nd(0.0f, 0.5f);
  const float centres[3][2] = {{0, 3}, {3, -2}, {-3, -2}};
  for (int64_t i = 0; i < n; ++i) {
    y[i] = int32_t(i % 3);
    x.data[i * 2] = centres[y[i]][0] + nd(gen);
    x.data[i * 2 + 1] = centres[y[i]][1] + nd(gen);
  }
  Matrix dx = Matrix::from_host(*be, x);
  LogisticRegression clf(*be, 2, 3);
  LogRegConfig cfg;
  cfg.epochs = 10;
  cfg.batch_size = 50;
  double last_loss = 1e9;
  clf.fit(dx, y, cfg, [&](int, double loss) { last_loss = loss; });
  EXPECT_LT(last_loss, 0.1);
  EXPECT_LT(clf.error_rate(dx, y), 0.01);
  EXPECT_THROW(clf.fit(dx, std::vector<int32_t>(n, 5), cfg), Error);
}

TEST(CdbnTest, TwoLayersTrainFeaturesCheckpointAndVisualisation) {
  auto be = make_cpu_backend();
  const HostTensor data = testing::random_binary(40, 14 * 14, 3);
  Matrix d = Matrix::from_host(*be, data);
  Cdbn net(*be, 1, 14, 14);
  net.add_layer(4, 5, 2).init_random(1, 0.05f);  // hidden 10x10 -> pooled 5x5
  net.add_layer(3, 2, 2).init_random(2, 0.05f);  // hidden 4x4 -> pooled 2x2
  EXPECT_THROW(net.add_layer(2, 3, 1, VisibleType::gaussian), Error);
  ConvTrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch_size = 10;
  cfg.sparsity_target = 0.05f;
  EXPECT_EQ(net.train_layer(0, d, cfg).size(), 2u);
  EXPECT_EQ(net.train_layer(1, d, cfg).size(), 2u);
  EXPECT_EQ(net.feature_size(), 4 * 25 + 3 * 4);
  const HostTensor f = net.features(d, 7);
  EXPECT_EQ(f.shape, (std::vector<int64_t>{40, 112}));
  Matrix pooled1(*be, 40, 12);
  net.pooled_output(1, d, pooled1);
  const HostTensor p1 = pooled1.download();
  for (int64_t r = 0; r < 40; ++r)
    for (int64_t i = 0; i < 12; ++i)
      ASSERT_NEAR(f.data[r * 112 + 100 + i], p1.data[r * 12 + i], 1e-6);

  const std::string path = std::string(CRBM_BINARY_DIR) + "/cdbn_roundtrip.safetensors";
  save_cdbn(path, net, {{"data", "random"}});
  std::map<std::string, std::string> meta;
  Cdbn loaded = load_cdbn(path, *be, ConvAlgo::automatic, &meta);
  std::remove(path.c_str());
  EXPECT_EQ(meta.at("model"), "cdbn");
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded.features(d).data, f.data);

  int64_t tile = 0;
  const HostTensor vis = net.visualise_filters(1, &tile);
  EXPECT_EQ(tile, 2 * 2 + 5 - 1);
  EXPECT_EQ(vis.shape, (std::vector<int64_t>{3, tile * tile}));
}

// The checked layer of ConvOps refuses foreign memory in every op, the channel
// helpers and softmax_rows included, before anything is written.
TEST(ConvOpsCpu, RejectsForeignMemoryInEveryHelper) {
  auto be = make_cpu_backend(1);
  auto ops = make_conv_ops(*be);
  float x[4] = {1, 2, 3, 4};
  MatRef gpu_view{x, 1, 4, Device::cuda};
  Matrix sums(*be, 1, 2);
  EXPECT_THROW(ops->channel_sums(gpu_view, 2, 1.0f, 0.0f, sums), Error);
  EXPECT_THROW(ops->channel_bias_activate(gpu_view, 2, 1.0f, CMatRef{}, Activation::sigmoid),
               Error);
  EXPECT_THROW(ops->softmax_rows(gpu_view), Error);
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[3], 4.0f);
  const ConvShape s{1, 1, 4, 4, 1, 3, 1};
  Matrix v(*be, 1, 16), w(*be, 1, 9);
  MatRef gpu_hidden{x, 1, 4, Device::cuda};
  EXPECT_THROW(ops->up(s, v, w, CMatRef{}, 1.0f, gpu_hidden), Error);
}

}  // namespace
}  // namespace crbm
