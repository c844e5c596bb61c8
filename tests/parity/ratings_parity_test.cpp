// CPU vs CUDA parity for the ratings RBM's sparse ops (one_hot, up, down, stats) on
// seeded random CSR minibatches (users with no ratings, one item, odd sizes, K = 2..10),
// plus one CD-3 gradient of the trainer and the predictions of a model (same Philox
// draws on both backends). Relative error with a floor of 1; NaN fails. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "crbm/ratings.hpp"
#include "support/tensor_check.hpp"

namespace crbm {
namespace {

struct Case {
  int64_t users, items, levels, hidden;
};

std::string name_of(const Case& c) {
  return std::to_string(c.users) + "u_" + std::to_string(c.items) + "i_K" +
         std::to_string(c.levels) + "_H" + std::to_string(c.hidden);
}

const Case kCases[] = {
    {1, 1, 2, 1}, {7, 13, 5, 10}, {100, 300, 5, 64}, {33, 50, 10, 129}, {0, 4, 3, 3}};

HostSparseRows random_rows(const Case& c, uint32_t seed) {
  std::mt19937 gen(seed);
  HostSparseRows r;
  for (int64_t u = 0; u < c.users; ++u) {
    const int64_t n =
        u % 5 == 3 ? 0 : int64_t(gen() % uint32_t(std::min<int64_t>(c.items, 40))) + 1;
    std::vector<int32_t> items(size_t(c.items));
    for (int64_t i = 0; i < c.items; ++i) items[size_t(i)] = int32_t(i);
    std::shuffle(items.begin(), items.end(), gen);
    for (int64_t e = 0; e < n; ++e) {
      r.item.push_back(items[size_t(e)]);
      r.level.push_back(int32_t(gen() % uint32_t(c.levels)));
    }
    r.offsets.push_back(int32_t(r.item.size()));
  }
  return r;
}

using testing::max_rel_error;
using testing::put;

class RatingsParity : public ::testing::TestWithParam<Case> {};

TEST_P(RatingsParity, SparseOpsMatchCpu) {
  SKIP_WITHOUT_CUDA();
  const Case c = GetParam();
  auto cpu = make_cpu_backend(2);
  auto gpu = make_cuda_backend(0);
  auto cops = make_ratings_ops(*cpu);
  auto gops = make_ratings_ops(*gpu);
  const HostSparseRows host = random_rows(c, 1);
  const SparseRows cr = cops->upload(host, c.items, c.levels);
  const SparseRows gr = gops->upload(host, c.items, c.levels);
  const int64_t nnz = host.nnz(), ik = c.items * c.levels;
  const HostTensor w = testing::random_tensor({ik, c.hidden}, 2, -1, 1);
  const HostTensor b = testing::random_tensor({1, ik}, 3, -1, 1);
  const HostTensor h = testing::random_tensor({c.users, c.hidden}, 4, 0, 1);
  const HostTensor soft = testing::random_tensor({nnz, c.levels}, 5, 0, 1);
  Matrix cw = put(*cpu, w), gw = put(*gpu, w), cb = put(*cpu, b), gb = put(*gpu, b);
  Matrix ch = put(*cpu, h), gh = put(*gpu, h), cs = put(*cpu, soft), gs = put(*gpu, soft);

  Matrix cv(*cpu, nnz, c.levels), gv(*gpu, nnz, c.levels);
  cops->one_hot(cr, cv);
  gops->one_hot(gr, gv);
  EXPECT_EQ(max_rel_error(gv.download({nnz, c.levels}), cv.download({nnz, c.levels})), 0.0);

  // up, from a non-zero start (it accumulates), with one-hot and with soft values.
  for (Matrix* values : {&cv, &cs}) {
    Matrix* gvalues = values == &cv ? &gv : &gs;
    const HostTensor start = testing::random_tensor({c.users, c.hidden}, 6, -1, 1);
    Matrix cu = put(*cpu, start), gu = put(*gpu, start);
    cops->up(cr, *values, cw, cu);
    gops->up(gr, *gvalues, gw, gu);
    EXPECT_LE(max_rel_error(gu.download({c.users, c.hidden}), cu.download({c.users, c.hidden})),
              1e-5);
  }

  Matrix cp(*cpu, nnz, c.levels), gp(*gpu, nnz, c.levels);
  cops->down(cr, ch, cw, cb, cp);
  gops->down(gr, gh, gw, gb, gp);
  EXPECT_LE(max_rel_error(gp.download({nnz, c.levels}), cp.download({nnz, c.levels})), 1e-5);
  cops->down(cr, ch, cw, CMatRef{}, cp);
  gops->down(gr, gh, gw, CMatRef{}, gp);
  EXPECT_LE(max_rel_error(gp.download({nnz, c.levels}), cp.download({nnz, c.levels})), 1e-5);

  const HostTensor g0 = testing::random_tensor({ik, c.hidden}, 7, -1, 1);
  const HostTensor gb0 = testing::random_tensor({1, ik}, 8, -1, 1);
  Matrix cgw = put(*cpu, g0), ggw = put(*gpu, g0), cgb = put(*cpu, gb0), ggb = put(*gpu, gb0);
  cops->stats(cr, cs, ch, 0.37f, cgw, cgb);
  gops->stats(gr, gs, gh, 0.37f, ggw, ggb);
  cops->stats(cr, cv, ch, -0.5f, cgw, MatRef{});
  gops->stats(gr, gv, gh, -0.5f, ggw, MatRef{});
  EXPECT_LE(max_rel_error(ggw.download({ik, c.hidden}), cgw.download({ik, c.hidden})), 1e-5);
  EXPECT_LE(max_rel_error(ggb.download({1, ik}), cgb.download({1, ik})), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Shapes, RatingsParity, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return name_of(info.param); });

TEST(RatingsTrainerParity, CdGradientAndPredictionsMatchCpu) {
  SKIP_WITHOUT_CUDA();
  auto cpu = make_cpu_backend(2);
  auto gpu = make_cuda_backend(0);
  const RatingsData d = load_ratings("builtin:ratings:60x40");
  for (bool conditional : {false, true}) {
    RatingsRbm cm(*cpu, d.items, d.levels, 16, conditional);
    RatingsRbm gm(*gpu, d.items, d.levels, 16, conditional);
    cm.init_random(5, 0.3f, &d);
    gm.init_random(5, 0.3f, &d);  // same Philox draws on both
    if (conditional) {
      const HostTensor dw = testing::random_tensor({d.items, 16}, 9, -0.3f, 0.3f);
      cm.rated_weights().upload(dw);
      gm.rated_weights().upload(dw);
    }
    std::vector<int64_t> users;
    for (int64_t u = 0; u < 20; ++u) users.push_back(u);
    const HostSparseRows batch = gather_users(d, users);
    HostSparseRows pattern = batch;
    pattern.level.clear();
    RatingsTrainConfig cfg;
    cfg.seed = 3;
    RatingsCdTrainer ct(cm, cfg), gt(gm, cfg);
    const SparseRows crow = cm.ops().upload(batch, d.items, 5),
                     grow = gm.ops().upload(batch, d.items, 5);
    const SparseRows crat = cm.ops().upload(pattern, d.items, 1),
                     grat = gm.ops().upload(pattern, d.items, 1);
    ct.compute_gradient(crow, &crat, 3, 7);
    gt.compute_gradient(grow, &grat, 3, 7);
    EXPECT_LE(max_rel_error(gt.grad_weights().download(), ct.grad_weights().download()), 1e-4);
    EXPECT_LE(max_rel_error(gt.grad_visible_bias().download(), ct.grad_visible_bias().download()),
              1e-4);
    EXPECT_LE(max_rel_error(gt.grad_hidden_bias().download(), ct.grad_hidden_bias().download()),
              1e-4);
    if (conditional) {
      EXPECT_LE(
          max_rel_error(gt.grad_rated_weights().download(), ct.grad_rated_weights().download()),
          1e-4);
    }
    const std::vector<float> cp = cm.predict(batch, batch), gp = gm.predict(batch, batch);
    ASSERT_EQ(cp.size(), gp.size());
    for (size_t n = 0; n < cp.size(); ++n) EXPECT_NEAR(gp[n], cp[n], 1e-4 * std::abs(cp[n]) + 1e-5);
  }
}

}  // namespace
}  // namespace crbm
