// Fine-tuning network: backprop gradients against central finite differences of the
// cross-entropy, initialisation from a DBN (weights copied, label weights become the
// output layer), training on a separable toy problem, and checkpoints.
#include "crbm/mlp.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

namespace crbm {
namespace {

HostTensor random_tensor(std::vector<int64_t> shape, double scale, uint64_t seed) {
  HostTensor t(std::move(shape));
  uint64_t s = seed * 2862933555777941757ull + 3037000493ull;
  for (float& x : t.data) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = float(scale * (double((s >> 11) & ((1ull << 53) - 1)) / double(1ull << 53) * 2 - 1));
  }
  return t;
}

TEST(Mlp, BackpropMatchesFiniteDifferences) {
  auto be = make_cpu_backend(1);
  Mlp mlp(*be, {5, 4, 3, 3});
  mlp.init_random(3);
  const HostTensor x = random_tensor({6, 5}, 1.0, 1);
  const std::vector<int32_t> y = {0, 1, 2, 1, 0, 2};
  Matrix xm = Matrix::from_host(*be, x);
  Matrix ym = Matrix::from_host(*be, one_hot(y, 3));
  mlp.backward(xm, ym);
  const float eps = 1e-2f;
  int checked = 0;
  for (size_t l = 0; l < mlp.num_layers(); ++l) {
    for (int which = 0; which < 2; ++which) {
      Matrix& param = which == 0 ? mlp.weights(l) : mlp.bias(l);
      const HostTensor grad = (which == 0 ? mlp.grad_weights(l) : mlp.grad_bias(l)).download();
      HostTensor p = param.download();
      for (int64_t i = 0; i < p.numel(); ++i) {
        const float orig = p.data[i];
        p.data[i] = orig + eps;
        param.upload(p);
        const double up = mlp.loss(xm, y);
        p.data[i] = orig - eps;
        param.upload(p);
        const double down = mlp.loss(xm, y);
        p.data[i] = orig;
        param.upload(p);
        const double numeric = (up - down) / (2.0 * eps);
        EXPECT_NEAR(grad.data[i], numeric, 2e-3 + 2e-2 * std::abs(numeric))
            << "layer " << l << (which == 0 ? " weight " : " bias ") << i;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 5 * 4 + 4 + 4 * 3 + 3 + 3 * 3 + 3);
}

TEST(Mlp, ForwardRowsAreDistributions) {
  auto be = make_cpu_backend(1);
  Mlp mlp(*be, {3, 7, 4});
  mlp.init_random(9);
  Matrix x = Matrix::from_host(*be, random_tensor({5, 3}, 3.0, 2));
  HostTensor p({5, 4});
  be->download(mlp.forward(x), p.data.data());
  for (int r = 0; r < 5; ++r) {
    double s = 0;
    for (int k = 0; k < 4; ++k) s += p.data[r * 4 + k];
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
}

TEST(Mlp, TrainingFitsSeparableProblem) {
  auto be = make_cpu_backend(1);
  // Class = which of 3 blocks of 4 inputs is brightest.
  const int64_t n = 300;
  HostTensor x = random_tensor({n, 12}, 0.3, 5);
  std::vector<int32_t> y(n);
  for (int64_t r = 0; r < n; ++r) {
    y[r] = int32_t(r % 3);
    for (int i = 0; i < 4; ++i) x.data[r * 12 + y[r] * 4 + i] += 1.0f;
  }
  Mlp mlp(*be, {12, 8, 3});
  mlp.init_random(1);
  Matrix xm = Matrix::from_host(*be, x);
  const double before = mlp.loss(xm, y);
  MlpConfig cfg;
  cfg.batch_size = 20;
  cfg.learning_rate = 0.2f;
  MlpTrainer trainer(mlp, cfg);
  for (int e = 0; e < 30; ++e) trainer.train_epoch(xm, y);
  EXPECT_LT(mlp.loss(xm, y), 0.3 * before);
  EXPECT_LT(mlp.error_rate(xm, y), 0.02);
}

TEST(Mlp, FromDbnCopiesLayersAndLabelWeights) {
  auto be = make_cpu_backend(1);
  DbnParams d;
  d.num_classes = 3;
  RbmParams l0, l1;
  for (RbmParams* p : {&l0, &l1}) p->visible_type = VisibleType::bernoulli;
  l0.weights = random_tensor({6, 5}, 1.0, 1);
  l0.visible_bias = random_tensor({6}, 1.0, 2);
  l0.hidden_bias = random_tensor({5}, 1.0, 3);
  l0.visible_sigma = HostTensor({6}, 1.0f);
  l1.weights = random_tensor({5 + 3, 4}, 1.0, 4);
  l1.visible_bias = random_tensor({8}, 1.0, 5);
  l1.hidden_bias = random_tensor({4}, 1.0, 6);
  l1.visible_sigma = HostTensor({8}, 1.0f);
  d.layers = {l0, l1};
  Dbn dbn(*be, d);
  Mlp mlp = Mlp::from_dbn(dbn, 3, 1);
  ASSERT_EQ(mlp.sizes(), (std::vector<int64_t>{6, 5, 4, 3}));
  EXPECT_EQ(mlp.weights(0).download().data, l0.weights.data);
  EXPECT_EQ(mlp.bias(0).download().data, l0.hidden_bias.data);
  const HostTensor w1 = mlp.weights(1).download();
  for (int i = 0; i < 5 * 4; ++i) EXPECT_EQ(w1.data[i], l1.weights.data[i]);
  const HostTensor w2 = mlp.weights(2).download(), b2 = mlp.bias(2).download();
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(b2.data[k], l1.visible_bias.data[5 + k]);
    for (int j = 0; j < 4; ++j) EXPECT_EQ(w2.data[j * 3 + k], l1.weights.data[(5 + k) * 4 + j]);
  }
  // Checkpoint round trip.
  const std::string path = std::string(CRBM_BINARY_DIR) + "/mlp_test_roundtrip.safetensors";
  save_mlp(path, mlp.to_host());
  Mlp back(*be, load_mlp_params(path));
  EXPECT_EQ(back.sizes(), mlp.sizes());
  EXPECT_EQ(back.weights(2).download().data, w2.data);
  std::remove(path.c_str());
}

TEST(Mlp, RejectsBadInput) {
  auto be = make_cpu_backend(1);
  EXPECT_THROW(Mlp(*be, {3}), Error);
  EXPECT_THROW(Mlp(*be, {3, 1}), Error);
  MlpConfig cfg;
  cfg.learning_rate = -1;
  EXPECT_THROW(cfg.validate(), Error);
  EXPECT_THROW(one_hot({0, 3}, 3), Error);
}

}  // namespace
}  // namespace crbm
