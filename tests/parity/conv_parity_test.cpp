// CPU vs custom CUDA vs cuDNN for every ConvOps operation, on random shapes with
// odd sizes, several channels, cropped hidden maps (P does not divide H-F+1) and
// a ConvRbm CD-1 update end to end. Same seeded inputs on both sides; sampling
// compares the draws (one Philox uniform per block, identical on both devices;
// a handful of flips where u falls within rounding of a boundary are tolerated).
// Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "crbm/conv.hpp"
#include "crbm/conv_rbm.hpp"
#include "crbm/conv_train.hpp"
#include "support/tensor_check.hpp"

namespace crbm {
namespace {

using testing::max_rel_error;

struct Param {
  ConvShape shape;
  ConvAlgo algo;
};

std::string name_of(const ::testing::TestParamInfo<Param>& info) {
  const ConvShape& s = info.param.shape;
  return std::string(to_string(info.param.algo)) + "_" + std::to_string(s.batch) + "x" +
         std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
         std::to_string(s.width) + "_K" + std::to_string(s.filters) + "F" +
         std::to_string(s.filter_size) + "P" + std::to_string(s.pool);
}

const std::vector<ConvShape> kShapes = {
    {3, 1, 9, 9, 2, 4, 2},    {5, 3, 13, 11, 7, 4, 2},  // odd sizes, C = 3
    {4, 1, 28, 28, 9, 12, 2},                           // MNIST layer 1, 17 -> 16 cropped
    {2, 5, 17, 19, 6, 3, 3},                            // cropped in both directions
    {7, 2, 10, 10, 5, 1, 1},  {1, 4, 6, 7, 3, 6, 1},    // F = 1, F = H
};

std::vector<Param> params() {
  std::vector<Param> out;
  for (ConvAlgo a : {ConvAlgo::custom, ConvAlgo::cudnn, ConvAlgo::automatic}) {
    for (const ConvShape& s : kShapes) out.push_back({s, a});
  }
  return out;
}

class ConvParity : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_CUDA();
    if (GetParam().algo == ConvAlgo::cudnn && !cudnn_available()) {
      GTEST_SKIP() << "this libcrbm was built without cuDNN";
    }
    cpu = make_cpu_backend();
    gpu = make_cuda_backend(0);
    cpu_ops = make_conv_ops(*cpu);
    gpu_ops = make_conv_ops(*gpu, GetParam().algo);
  }
  std::unique_ptr<Backend> cpu, gpu;
  std::unique_ptr<ConvOps> cpu_ops, gpu_ops;
};

constexpr double kTolerance = 1e-4;

TEST_P(ConvParity, Up) {
  const ConvShape s = GetParam().shape;
  const HostTensor v = testing::random_tensor({s.batch, s.visible_size()}, 1);
  const HostTensor w = testing::random_tensor({s.filters, s.filter_volume()}, 2);
  const HostTensor b = testing::random_tensor({1, s.filters}, 3);
  Matrix cv = Matrix::from_host(*cpu, v), cw = Matrix::from_host(*cpu, w),
         cb = Matrix::from_host(*cpu, b), ch(*cpu, s.batch, s.hidden_size());
  Matrix gv = Matrix::from_host(*gpu, v), gw = Matrix::from_host(*gpu, w),
         gb = Matrix::from_host(*gpu, b), gh(*gpu, s.batch, s.hidden_size());
  cpu_ops->up(s, cv, cw, cb, 0.3f, ch);
  gpu_ops->up(s, gv, gw, gb, 0.3f, gh);
  EXPECT_LT(max_rel_error(gh.download(), ch.download()), kTolerance);
  gpu_ops->up(s, gv, gw, CMatRef{}, 2.0f, gh);  // no bias
  cpu_ops->up(s, cv, cw, CMatRef{}, 2.0f, ch);
  EXPECT_LT(max_rel_error(gh.download(), ch.download()), kTolerance);
}

TEST_P(ConvParity, Down) {
  const ConvShape s = GetParam().shape;
  const HostTensor h = testing::random_tensor({s.batch, s.hidden_size()}, 4);
  const HostTensor w = testing::random_tensor({s.filters, s.filter_volume()}, 5);
  Matrix ch = Matrix::from_host(*cpu, h), cw = Matrix::from_host(*cpu, w),
         cv(*cpu, s.batch, s.visible_size());
  Matrix gh = Matrix::from_host(*gpu, h), gw = Matrix::from_host(*gpu, w),
         gv(*gpu, s.batch, s.visible_size());
  gpu->fill(gv, 77.0f);  // every pixel must be written, uncovered edges included
  cpu_ops->down(s, ch, cw, cv);
  gpu_ops->down(s, gh, gw, gv);
  EXPECT_LT(max_rel_error(gv.download(), cv.download()), kTolerance);
}

TEST_P(ConvParity, WeightGradWithAlphaBeta) {
  const ConvShape s = GetParam().shape;
  const HostTensor v = testing::random_tensor({s.batch, s.visible_size()}, 6);
  const HostTensor h = testing::random_tensor({s.batch, s.hidden_size()}, 7);
  const HostTensor g0 = testing::random_tensor({s.filters, s.filter_volume()}, 8);
  Matrix cv = Matrix::from_host(*cpu, v), ch = Matrix::from_host(*cpu, h),
         cg = Matrix::from_host(*cpu, g0);
  Matrix gv = Matrix::from_host(*gpu, v), gh = Matrix::from_host(*gpu, h),
         gg = Matrix::from_host(*gpu, g0);
  const float alpha = 1.0f / float(s.batch * s.hidden_plane());
  cpu_ops->weight_grad(s, cv, ch, alpha, 0.5f, cg);
  gpu_ops->weight_grad(s, gv, gh, alpha, 0.5f, gg);
  EXPECT_LT(max_rel_error(gg.download(), cg.download()), kTolerance);
}

TEST_P(ConvParity, PoolingProbsSamplesAndLogPartition) {
  const ConvShape s = GetParam().shape;
  const HostTensor pre = testing::random_tensor({s.batch, s.hidden_size()}, 9, -5.0f, 5.0f);
  Matrix cpre = Matrix::from_host(*cpu, pre), gpre = Matrix::from_host(*gpu, pre);
  Matrix ch(*cpu, s.batch, s.hidden_size()), cp(*cpu, s.batch, s.pooled_size()),
      cz(*cpu, s.batch, 1);
  Matrix gh(*gpu, s.batch, s.hidden_size()), gp(*gpu, s.batch, s.pooled_size()),
      gz(*gpu, s.batch, 1);
  cpu_ops->pool_probs(s, cpre, ch, cp);
  gpu_ops->pool_probs(s, gpre, gh, gp);
  EXPECT_LT(max_rel_error(gh.download(), ch.download()), 1e-5);
  EXPECT_LT(max_rel_error(gp.download(), cp.download()), 1e-5);
  cpu_ops->pool_log_partition(s, cpre, cz);
  gpu_ops->pool_log_partition(s, gpre, gz);
  EXPECT_LT(max_rel_error(gz.download(), cz.download()), 1e-5);

  const RngKey key{1234, 21, 77};
  cpu_ops->pool_sample(s, cpre, ch, cp, key);
  gpu_ops->pool_sample(s, gpre, gh, gp, key);
  const HostTensor a = gh.download(), b = ch.download();
  int64_t differing = 0;
  for (int64_t i = 0; i < a.numel(); ++i) differing += a.data[i] != b.data[i];
  EXPECT_LE(differing, 2 + a.numel() / 10000) << "hidden states drawn differently";
  const HostTensor pa = gp.download(), pb = cp.download();
  int64_t pooled_differing = 0;
  for (int64_t i = 0; i < pa.numel(); ++i) pooled_differing += pa.data[i] != pb.data[i];
  EXPECT_LE(pooled_differing, 2 + pa.numel() / 10000);
}

TEST_P(ConvParity, ChannelHelpersAndSoftmax) {
  const ConvShape s = GetParam().shape;
  const HostTensor x = testing::random_tensor({s.batch, s.visible_size()}, 10);
  const HostTensor bias = testing::random_tensor({1, s.channels}, 11);
  Matrix cx = Matrix::from_host(*cpu, x), gx = Matrix::from_host(*gpu, x);
  Matrix cb = Matrix::from_host(*cpu, bias), gb = Matrix::from_host(*gpu, bias);
  Matrix cs = Matrix::from_host(*cpu, bias), gs = Matrix::from_host(*gpu, bias);
  cpu_ops->channel_sums(cx, s.channels, 0.25f, -1.0f, cs);
  gpu_ops->channel_sums(gx, s.channels, 0.25f, -1.0f, gs);
  EXPECT_LT(max_rel_error(gs.download(), cs.download()), 1e-5);
  cpu_ops->channel_bias_activate(cx, s.channels, 1.5f, cb, Activation::sigmoid);
  gpu_ops->channel_bias_activate(gx, s.channels, 1.5f, gb, Activation::sigmoid);
  EXPECT_LT(max_rel_error(gx.download(), cx.download()), 1e-6);
  cpu_ops->softmax_rows(cx);
  gpu_ops->softmax_rows(gx);
  EXPECT_LT(max_rel_error(gx.download(), cx.download()), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvParity, ::testing::ValuesIn(params()), name_of);

// A few CD-1 updates of a ConvRbm on both devices from the same parameters and
// data: the parameters must stay close (the sampled blocks use the same uniforms).
TEST(ConvRbmParity, Cd1UpdatesMatch) {
  SKIP_WITHOUT_CUDA();
  auto cpu = make_cpu_backend();
  auto gpu = make_cuda_backend(0);
  const ConvShape s{8, 1, 12, 12, 4, 5, 2};
  ConvRbm cpu_rbm(*cpu, s), gpu_rbm(*gpu, s, VisibleType::bernoulli, ConvAlgo::custom);
  cpu_rbm.init_random(5, 0.1f);
  gpu_rbm.load(cpu_rbm.to_host());
  HostTensor data = testing::random_tensor({s.batch, s.visible_size()}, 12, 0.0f, 1.0f);
  for (float& x : data.data) x = x > 0.6f ? 1.0f : 0.0f;
  Matrix cd = Matrix::from_host(*cpu, data), gd = Matrix::from_host(*gpu, data);
  ConvTrainConfig cfg;
  cfg.batch_size = s.batch;
  cfg.learning_rate = 0.05f;
  cfg.sparsity_target = 0.05f;
  ConvTrainer ct(cpu_rbm, cfg), gt(gpu_rbm, cfg);
  for (int i = 0; i < 3; ++i) {
    ct.update(cd);
    gt.update(gd);
  }
  const ConvRbmParams a = cpu_rbm.to_host(), b = gpu_rbm.to_host();
  HostTensor fa({1, a.filters.numel()}), fb({1, b.filters.numel()});
  fa.data = a.filters.data;
  fb.data = b.filters.data;
  EXPECT_LT(max_rel_error(fb, fa), 1e-3);
}

}  // namespace
}  // namespace crbm
