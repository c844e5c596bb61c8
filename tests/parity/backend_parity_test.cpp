// CPU vs CUDA parity for every Backend operation: the same seeded inputs go to
// both backends and the CUDA result must match the CPU reference (relative error
// with a floor of 1, NaN always fails; sampling compares the exact draws).
// Shapes include 1x1, odd sizes, 100x784, 257x1025 and empty. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crbm/ais.hpp"
#include "crbm/backend.hpp"
#include "crbm/cuda_graph.hpp"
#include "crbm/exact.hpp"
#include "support/tensor_check.hpp"

namespace crbm {
namespace {

struct Shape {
  int64_t rows;
  int64_t cols;
};

std::string to_string(Shape s) {
  return std::to_string(s.rows) + "x" + std::to_string(s.cols);
}

const std::vector<Shape> kShapesWithEmpty = {{1, 1},      {7, 13}, {100, 784},
                                             {257, 1025}, {0, 5},  {0, 0}};

HostTensor random_tensor(Shape s, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  return testing::random_tensor({s.rows, s.cols}, seed, lo, hi);
}

using testing::compare;
using testing::Comparison;
using testing::put;

#define EXPECT_CLOSE(cuda_result, cpu_result, tol, what)                                           \
  do {                                                                                             \
    const HostTensor g_ = (cuda_result);                                                           \
    const HostTensor w_ = (cpu_result);                                                            \
    ASSERT_EQ(g_.numel(), w_.numel()) << what;                                                     \
    const Comparison cmp_ = compare(g_, w_);                                                       \
    EXPECT_LE(cmp_.max_error, (tol))                                                               \
        << what << ": max rel error " << cmp_.max_error << " at index " << cmp_.index << " (cuda " \
        << cmp_.got << ", cpu " << cmp_.want << ")";                                               \
  } while (0)

// One CPU and one CUDA backend per test.
class BackendParity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) return;
    cpu_ = make_cpu_backend(2);
    gpu_ = make_cuda_backend(0);
  }
  Backend& cpu() { return *cpu_; }
  Backend& gpu() { return *gpu_; }

  std::unique_ptr<Backend> cpu_;
  std::unique_ptr<Backend> gpu_;
};

TEST_F(BackendParity, DescribesADevice) {
  SKIP_WITHOUT_CUDA();
  EXPECT_EQ(gpu().device(), Device::cuda);
  EXPECT_NE(gpu().describe().find("cuda"), std::string::npos) << gpu().describe();
}

TEST_F(BackendParity, UploadDownloadCopyFill) {
  SKIP_WITHOUT_CUDA();
  for (Shape s : kShapesWithEmpty) {
    const HostTensor x = random_tensor(s, 1);
    Matrix g = put(gpu(), x);
    EXPECT_EQ(g.download().data, x.data) << "round trip " << to_string(s);
    Matrix g2(gpu(), s.rows, s.cols);
    gpu().copy(g, g2);
    EXPECT_EQ(g2.download().data, x.data) << "copy " << to_string(s);
    gpu().fill(g2, 0.25f);
    EXPECT_EQ(g2.download().data, HostTensor({s.rows, s.cols}, 0.25f).data)
        << "fill " << to_string(s);
  }
}

TEST_F(BackendParity, GemmAllTransposeCombinations) {
  SKIP_WITHOUT_CUDA();
  struct Mnk {
    int64_t m, n, k;
  };
  const std::vector<Mnk> sizes = {{1, 1, 1},    {7, 13, 5}, {100, 500, 784}, {257, 33, 1025},
                                  {1, 1025, 3}, {5, 4, 0},  {0, 3, 2}};
  for (Mnk d : sizes) {
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        const Shape sa = ta ? Shape{d.k, d.m} : Shape{d.m, d.k};
        const Shape sb = tb ? Shape{d.n, d.k} : Shape{d.k, d.n};
        const HostTensor a = random_tensor(sa, 2);
        const HostTensor b = random_tensor(sb, 3);
        const HostTensor c0 = random_tensor({d.m, d.n}, 4);
        for (float beta : {0.0f, 0.5f}) {
          Matrix ca = put(cpu(), a), cb = put(cpu(), b), cc = put(cpu(), c0);
          Matrix ga = put(gpu(), a), gb = put(gpu(), b), gc = put(gpu(), c0);
          cpu().gemm(ta, tb, 0.75f, ca, cb, beta, cc);
          gpu().gemm(ta, tb, 0.75f, ga, gb, beta, gc);
          const double tol = 1e-4 * std::sqrt(static_cast<double>(std::max<int64_t>(d.k, 1)));
          EXPECT_CLOSE(gc.download(), cc.download(), tol,
                       "gemm m=" << d.m << " n=" << d.n << " k=" << d.k << " ta=" << ta
                                 << " tb=" << tb << " beta=" << beta);
        }
      }
    }
  }
}

TEST_F(BackendParity, Axpby) {
  SKIP_WITHOUT_CUDA();
  for (Shape s : kShapesWithEmpty) {
    const HostTensor x = random_tensor(s, 5), y = random_tensor(s, 6);
    Matrix cx = put(cpu(), x), cy = put(cpu(), y);
    Matrix gx = put(gpu(), x), gy = put(gpu(), y);
    cpu().axpby(1.5f, cx, -0.25f, cy);
    gpu().axpby(1.5f, gx, -0.25f, gy);
    EXPECT_CLOSE(gy.download(), cy.download(), 1e-5, "axpby " << to_string(s));
  }
}

TEST_F(BackendParity, ColumnSums) {
  SKIP_WITHOUT_CUDA();
  std::vector<Shape> shapes = kShapesWithEmpty;
  shapes.push_back({1000000, 3});  // many rows: exercises the split reduction
  shapes.push_back({4097, 70});
  shapes.push_back({2, 100000});
  for (Shape s : shapes) {
    const HostTensor x = random_tensor(s, 7);
    const HostTensor out0 = random_tensor({1, s.cols}, 8);
    for (float beta : {0.0f, 1.0f}) {
      Matrix cx = put(cpu(), x), co = put(cpu(), out0);
      Matrix gx = put(gpu(), x), go = put(gpu(), out0);
      cpu().column_sums(cx, -0.5f, beta, co);
      gpu().column_sums(gx, -0.5f, beta, go);
      const double tol = 1e-4 * std::sqrt(static_cast<double>(std::max<int64_t>(s.rows, 1)));
      EXPECT_CLOSE(go.download(), co.download(), tol,
                   "column_sums " << to_string(s) << " beta=" << beta);
    }
  }
}

TEST_F(BackendParity, RowReduce) {
  SKIP_WITHOUT_CUDA();
  std::vector<Shape> shapes = kShapesWithEmpty;
  shapes.push_back({3, 100000});  // long rows: block-per-row kernel
  shapes.push_back({20000, 3});
  for (Shape s : shapes) {
    const HostTensor x = random_tensor(s, 9, -4.0f, 4.0f);
    for (RowReduce op : {RowReduce::sum, RowReduce::softplus_sum, RowReduce::square_sum}) {
      Matrix cx = put(cpu(), x), co(cpu(), s.rows, 1);
      Matrix gx = put(gpu(), x), go(gpu(), s.rows, 1);
      cpu().row_reduce(cx, op, co);
      gpu().row_reduce(gx, op, go);
      const double tol = 1e-4 * std::sqrt(static_cast<double>(std::max<int64_t>(s.cols, 1)));
      EXPECT_CLOSE(go.download(), co.download(), tol,
                   "row_reduce op=" << static_cast<int>(op) << " " << to_string(s));
    }
  }
}

TEST_F(BackendParity, ScaleAddActivate) {
  SKIP_WITHOUT_CUDA();
  for (Shape s : kShapesWithEmpty) {
    const HostTensor x = random_tensor(s, 10, -6.0f, 6.0f);
    const HostTensor scale = random_tensor({1, s.cols}, 11, 0.5f, 2.0f);
    const HostTensor bias = random_tensor({1, s.cols}, 12);
    Matrix c_scale = put(cpu(), scale), c_bias = put(cpu(), bias);
    Matrix g_scale = put(gpu(), scale), g_bias = put(gpu(), bias);
    for (int variant = 0; variant < 4; ++variant) {
      const bool use_scale = variant & 1, use_bias = variant & 2;
      for (Activation act : {Activation::linear, Activation::sigmoid}) {
        Matrix cx = put(cpu(), x), gx = put(gpu(), x);
        cpu().scale_add_activate(cx, 0.7f, use_scale ? c_scale.cref() : CMatRef{},
                                 use_bias ? c_bias.cref() : CMatRef{}, act);
        gpu().scale_add_activate(gx, 0.7f, use_scale ? g_scale.cref() : CMatRef{},
                                 use_bias ? g_bias.cref() : CMatRef{}, act);
        EXPECT_CLOSE(gx.download(), cx.download(), 1e-5,
                     "scale_add_activate " << to_string(s) << " variant " << variant << " act "
                                           << static_cast<int>(act));
      }
    }
  }
}

TEST_F(BackendParity, MomentumUpdate) {
  SKIP_WITHOUT_CUDA();
  for (Shape s : kShapesWithEmpty) {
    HostTensor p = random_tensor(s, 13), v = random_tensor(s, 14), g = random_tensor(s, 15);
    if (p.numel() > 0) p.data[0] = 0.0f;  // sign(0) = 0
    Matrix cp = put(cpu(), p), cv = put(cpu(), v), cg = put(cpu(), g);
    Matrix gp = put(gpu(), p), gv = put(gpu(), v), gg = put(gpu(), g);
    cpu().momentum_update(cp, cv, cg, 0.05f, 0.9f, 2e-4f, 1e-3f);
    gpu().momentum_update(gp, gv, gg, 0.05f, 0.9f, 2e-4f, 1e-3f);
    EXPECT_CLOSE(gp.download(), cp.download(), 1e-5, "momentum param " << to_string(s));
    EXPECT_CLOSE(gv.download(), cv.download(), 1e-5, "momentum velocity " << to_string(s));
  }
}

TEST_F(BackendParity, SampleBernoulli) {
  SKIP_WITHOUT_CUDA();
  std::vector<Shape> shapes = kShapesWithEmpty;
  shapes.push_back({1, 5});  // n not a multiple of 4
  for (Shape s : shapes) {
    const HostTensor probs = random_tensor(s, 16, 0.0f, 1.0f);
    const RngKey key{0x1234567890abcdefull, 3, (uint64_t{1} << 33) + 17};
    Matrix cp = put(cpu(), probs), co(cpu(), s.rows, s.cols);
    Matrix gp = put(gpu(), probs), go(gpu(), s.rows, s.cols);
    cpu().sample_bernoulli(cp, co, key);
    gpu().sample_bernoulli(gp, go, key);
    const HostTensor want = co.download(), got = go.download();
    int64_t mismatches = 0;
    for (int64_t i = 0; i < want.numel(); ++i) mismatches += got.data[i] != want.data[i];
    EXPECT_LE(mismatches, static_cast<int64_t>(1e-4 * static_cast<double>(want.numel())))
        << "sample_bernoulli " << to_string(s);
  }
}

TEST_F(BackendParity, SampleGaussian) {
  SKIP_WITHOUT_CUDA();
  for (Shape s : kShapesWithEmpty) {
    const HostTensor mean = random_tensor(s, 17);
    const HostTensor sigma = random_tensor({1, s.cols}, 18, 0.5f, 2.0f);
    const RngKey key{99, 1, 5};
    Matrix c_sigma = put(cpu(), sigma), g_sigma = put(gpu(), sigma);
    for (bool use_sigma : {false, true}) {
      Matrix cm = put(cpu(), mean), co(cpu(), s.rows, s.cols);
      Matrix gm = put(gpu(), mean), go(gpu(), s.rows, s.cols);
      cpu().sample_gaussian(cm, use_sigma ? c_sigma.cref() : CMatRef{}, co, key);
      gpu().sample_gaussian(gm, use_sigma ? g_sigma.cref() : CMatRef{}, go, key);
      EXPECT_CLOSE(go.download(), co.download(), 1e-5,
                   "sample_gaussian " << to_string(s) << " sigma " << use_sigma);
    }
  }
}

TEST_F(BackendParity, FillUniformAndNormal) {
  SKIP_WITHOUT_CUDA();
  std::vector<Shape> shapes = kShapesWithEmpty;
  shapes.push_back({1, 6});
  for (Shape s : shapes) {
    const RngKey key{7, 2, 11};
    Matrix cu(cpu(), s.rows, s.cols), gu(gpu(), s.rows, s.cols);
    cpu().fill_uniform(cu, key);
    gpu().fill_uniform(gu, key);
    EXPECT_CLOSE(gu.download(), cu.download(), 1e-7, "fill_uniform " << to_string(s));
    Matrix cn(cpu(), s.rows, s.cols), gn(gpu(), s.rows, s.cols);
    cpu().fill_normal(cn, 0.5f, 0.01f, key);
    gpu().fill_normal(gn, 0.5f, 0.01f, key);
    EXPECT_CLOSE(gn.download(), cn.download(), 1e-5, "fill_normal " << to_string(s));
    cpu().fill_normal(cn, 0.0f, 1.0f, key);
    gpu().fill_normal(gn, 0.0f, 1.0f, key);
    EXPECT_CLOSE(gn.download(), cn.download(), 1e-5, "fill_normal N(0,1) " << to_string(s));
  }
}

TEST_F(BackendParity, FillBinaryCodes) {
  SKIP_WITHOUT_CUDA();
  for (Shape s : std::vector<Shape>{{1, 1}, {7, 13}, {1000, 30}, {0, 5}, {3, 64}}) {
    for (uint64_t first : {uint64_t{0}, uint64_t{12345}, uint64_t{1} << 40}) {
      Matrix c(cpu(), s.rows, s.cols), g(gpu(), s.rows, s.cols);
      cpu().fill_binary_codes(c, first);
      gpu().fill_binary_codes(g, first);
      EXPECT_EQ(g.download().data, c.download().data)
          << "fill_binary_codes " << to_string(s) << " from " << first;
    }
  }
}

// Exact log Z enumerates on the device; both backends must agree (30 hidden
// units: 2^30 configurations on the GPU is the practical limit the issue asks for
// — here 2^20 to keep the test short).
TEST_F(BackendParity, ExactLogPartitionAgrees) {
  SKIP_WITHOUT_CUDA();
  HostTensor w = random_tensor({40, 20}, 9, -0.3f, 0.3f);
  HostTensor b = random_tensor({1, 40}, 10, -0.5f, 0.5f);
  HostTensor c = random_tensor({1, 20}, 11, -0.5f, 0.5f);
  RbmParams p;
  p.weights = w;
  p.visible_bias = HostTensor({40});
  p.visible_bias.data = b.data;
  p.hidden_bias = HostTensor({20});
  p.hidden_bias.data = c.data;
  p.visible_sigma = HostTensor({40}, 1.0f);
  Rbm on_cpu(cpu(), p), on_gpu(gpu(), p);
  const double want = exact_log_partition(on_cpu);
  EXPECT_NEAR(exact_log_partition(on_gpu), want, 1e-5 * std::abs(want));
}

// AIS on the GPU (the fused ais_hidden_step / ais_visible_step and the graph replays of
// ais_log_partition): replayed 128-step graphs (flush_every 128; 7 replays, then 104 eager
// steps) compute bit for bit what the same calls launched one by one compute, and the
// estimate agrees with the CPU backend's within the two bands (the chains are the same
// decisions until a probability lies within rounding of its uniform, then they diverge).
TEST_F(BackendParity, AisGraphReplaysMatchEagerStepsAndTheCpu) {
  SKIP_WITHOUT_CUDA();
  for (const VisibleType type : {VisibleType::bernoulli, VisibleType::gaussian}) {
    RbmParams p;
    p.visible_type = type;
    p.weights = random_tensor({24, 12}, 21, -0.4f, 0.4f);
    p.visible_bias = HostTensor({24});
    p.visible_bias.data = random_tensor({1, 24}, 22, -0.5f, 0.5f).data;
    p.hidden_bias = HostTensor({12});
    p.hidden_bias.data = random_tensor({1, 12}, 23, -0.5f, 0.5f).data;
    p.visible_sigma = HostTensor({24}, 1.0f);
    if (type == VisibleType::gaussian)
      p.visible_sigma.data = random_tensor({1, 24}, 24, 0.6f, 1.4f).data;
    Rbm on_cpu(cpu(), p), on_gpu(gpu(), p);
    AisConfig graphed;
    graphed.runs = 64;
    graphed.steps = 1000;
    graphed.flush_every = 128;
    AisConfig eager = graphed;
    eager.cuda_graphs = false;
    const char* what = type == VisibleType::gaussian ? "gaussian, non-unit sigma" : "bernoulli";
    const AisResult g = ais_log_partition(on_gpu, HostTensor{}, graphed);
    const AisResult e = ais_log_partition(on_gpu, HostTensor{}, eager);
    EXPECT_EQ(g.log_weights, e.log_weights) << what << ": graph replays vs eager steps";
    const AisResult c = ais_log_partition(on_cpu, HostTensor{}, graphed);
    EXPECT_NEAR(g.log_z, c.log_z, 0.5 * (g.log_z_high - g.log_z_low + c.log_z_high - c.log_z_low))
        << what << ": cuda vs cpu";
  }
}

TEST_F(BackendParity, SoftmaxGroups) {
  SKIP_WITHOUT_CUDA();
  struct Case {
    Shape shape;
    int64_t group;
  };
  const std::vector<Case> cases = {{{1, 1}, 1},      {{7, 12}, 1},        {{7, 12}, 3},
                                   {{7, 12}, 12},    {{100, 784}, 16},    {{100, 784}, 784},
                                   {{257, 1025}, 5}, {{257, 1025}, 1025}, {{0, 6}, 3}};
  for (const Case& k : cases) {
    const HostTensor x = random_tensor(k.shape, 24, -6.0f, 6.0f);
    Matrix cx = put(cpu(), x), gx = put(gpu(), x);
    cpu().softmax_groups(cx, k.group);
    gpu().softmax_groups(gx, k.group);
    EXPECT_CLOSE(gx.download(), cx.download(), 1e-5,
                 "softmax_groups " << to_string(k.shape) << " group " << k.group);
  }
  Matrix gx(gpu(), 2, 6);
  EXPECT_THROW(gpu().softmax_groups(gx, 4), Error);
  EXPECT_THROW(gpu().softmax_groups(gx, 0), Error);
}

TEST_F(BackendParity, SampleSoftmaxGroups) {
  SKIP_WITHOUT_CUDA();
  struct Case {
    Shape shape;
    int64_t group;
  };
  const std::vector<Case> cases = {{{1, 1}, 1},       {{7, 12}, 3},     {{100, 784}, 16},
                                   {{100, 784}, 784}, {{257, 1025}, 5}, {{0, 6}, 3}};
  for (const Case& k : cases) {
    // Probabilities from the CPU softmax, identical bits on both sides.
    Matrix cp = put(cpu(), random_tensor(k.shape, 25, -3.0f, 3.0f));
    cpu().softmax_groups(cp, k.group);
    const HostTensor probs = cp.download();
    Matrix gp = put(gpu(), probs), co(cpu(), k.shape.rows, k.shape.cols),
           go(gpu(), k.shape.rows, k.shape.cols);
    const RngKey key{5, 4, 3};
    cpu().sample_softmax_groups(cp, k.group, co, key);
    gpu().sample_softmax_groups(gp, k.group, go, key);
    const HostTensor want = co.download(), got = go.download();
    int64_t mismatches = 0;
    for (int64_t i = 0; i < want.numel(); ++i) mismatches += got.data[i] != want.data[i];
    EXPECT_LE(mismatches, static_cast<int64_t>(2e-4 * static_cast<double>(want.numel())))
        << "sample_softmax_groups " << to_string(k.shape) << " group " << k.group;
  }
}

TEST_F(BackendParity, SampleMultinomialCounts) {
  SKIP_WITHOUT_CUDA();
  for (Shape s : {Shape{1, 1}, Shape{7, 13}, Shape{100, 784}, Shape{33, 2000}, Shape{0, 4}}) {
    Matrix cp = put(cpu(), random_tensor(s, 26, -3.0f, 3.0f));
    if (s.cols > 0) cpu().softmax_groups(cp, s.cols);
    const HostTensor probs = cp.download();
    HostTensor totals({s.rows, 1});
    std::mt19937 gen(27);
    std::uniform_int_distribution<int> len(0, 300);
    for (float& t : totals.data) t = static_cast<float>(len(gen));
    Matrix gp = put(gpu(), probs), ct = put(cpu(), totals), gt = put(gpu(), totals);
    Matrix co(cpu(), s.rows, s.cols), go(gpu(), s.rows, s.cols);
    const RngKey key{8, 1, 9};
    cpu().sample_multinomial_counts(cp, ct, co, key);
    gpu().sample_multinomial_counts(gp, gt, go, key);
    const HostTensor want = co.download(), got = go.download();
    int64_t mismatches = 0;
    for (int64_t i = 0; i < want.numel(); ++i) mismatches += got.data[i] != want.data[i];
    EXPECT_LE(mismatches, static_cast<int64_t>(1e-4 * static_cast<double>(want.numel())))
        << "sample_multinomial_counts " << to_string(s);
  }
  Matrix gp(gpu(), 2, 3), go(gpu(), 2, 3), gt(gpu(), 2, 1);
  gpu().fill(gt, -1.0f);
  // No host round trip: the invalid total is reported by the next synchronisation, once.
  EXPECT_THROW(
      {
        gpu().sample_multinomial_counts(gp, gt, go, RngKey{});
        gpu().synchronize();
      },
      Error);
  EXPECT_NO_THROW(gpu().synchronize());
}

TEST_F(BackendParity, MultiplyAndSigmoidBackward) {
  SKIP_WITHOUT_CUDA();
  for (Shape s : kShapesWithEmpty) {
    const HostTensor a = random_tensor(s, 28), y = random_tensor(s, 29),
                     h = random_tensor(s, 30, 0.0f, 1.0f);
    Matrix ca = put(cpu(), a), cy = put(cpu(), y), ch = put(cpu(), h);
    Matrix ga = put(gpu(), a), gy = put(gpu(), y), gh = put(gpu(), h);
    cpu().multiply(ca, cy);
    gpu().multiply(ga, gy);
    EXPECT_CLOSE(gy.download(), cy.download(), 1e-6, "multiply " << to_string(s));
    cpu().sigmoid_backward(ch, cy);
    gpu().sigmoid_backward(gh, gy);
    EXPECT_CLOSE(gy.download(), cy.download(), 1e-6, "sigmoid_backward " << to_string(s));
  }
  EXPECT_NE(gpu().native_stream(), nullptr);
  EXPECT_EQ(cpu().native_stream(), nullptr);
}

TEST_F(BackendParity, GatherRows) {
  SKIP_WITHOUT_CUDA();
  const Shape src_shape{257, 1025};
  const HostTensor src = random_tensor(src_shape, 19);
  Matrix cs = put(cpu(), src), gs = put(gpu(), src);
  std::mt19937 gen(20);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(src_shape.rows - 1));
  for (size_t count : {size_t{0}, size_t{1}, size_t{100}, size_t{3000}}) {
    std::vector<int32_t> index(count);
    for (int32_t& i : index) i = pick(gen);
    if (count > 1) index[1] = index[0];  // repeats are allowed
    Matrix cd(cpu(), static_cast<int64_t>(count), src_shape.cols);
    Matrix gd(gpu(), static_cast<int64_t>(count), src_shape.cols);
    cpu().gather_rows(cs, index, cd);
    gpu().gather_rows(gs, index, gd);
    EXPECT_EQ(gd.download().data, cd.download().data) << "gather_rows " << count;
  }
  Matrix gd(gpu(), 1, src_shape.cols);
  EXPECT_THROW(gpu().gather_rows(gs, {static_cast<int32_t>(src_shape.rows)}, gd), Error);
  EXPECT_THROW(gpu().gather_rows(gs, {-1}, gd), Error);
}

TEST_F(BackendParity, SumSquaredDiffAndAllFinite) {
  SKIP_WITHOUT_CUDA();
  std::vector<Shape> shapes = kShapesWithEmpty;
  shapes.push_back({1000, 1000});
  for (Shape s : shapes) {
    const HostTensor a = random_tensor(s, 21), b = random_tensor(s, 22);
    Matrix ca = put(cpu(), a), cb = put(cpu(), b);
    Matrix ga = put(gpu(), a), gb = put(gpu(), b);
    const double want = cpu().sum_squared_diff(ca, cb);
    const double got = gpu().sum_squared_diff(ga, gb);
    EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::abs(want))) << "ssd " << to_string(s);
    EXPECT_TRUE(gpu().all_finite(ga)) << to_string(s);
    if (a.numel() > 0) {
      for (float bad :
           {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
            -std::numeric_limits<float>::infinity()}) {
        for (int64_t where : {int64_t{0}, a.numel() - 1}) {
          HostTensor x = a;
          x.data[static_cast<size_t>(where)] = bad;
          Matrix gx = put(gpu(), x), cx = put(cpu(), x);
          EXPECT_FALSE(gpu().all_finite(gx)) << to_string(s) << " bad at " << where;
          EXPECT_EQ(gpu().all_finite(gx), cpu().all_finite(cx));
        }
      }
    }
  }
}

TEST_F(BackendParity, ErrorsOnShapeMismatchAndForeignMemory) {
  SKIP_WITHOUT_CUDA();
  Matrix a(gpu(), 3, 4), b(gpu(), 4, 3), c(gpu(), 3, 3), row(gpu(), 1, 5);
  EXPECT_THROW(gpu().axpby(1.0f, a, 1.0f, b), Error);
  EXPECT_THROW(gpu().copy(a, b), Error);
  EXPECT_THROW(gpu().gemm(false, false, 1.0f, a, a, 0.0f, c), Error);
  EXPECT_THROW(gpu().gemm(false, false, 1.0f, a, b, 0.0f, b), Error);
  EXPECT_THROW(gpu().column_sums(a, 1.0f, 0.0f, row), Error);
  EXPECT_THROW(gpu().row_reduce(a, RowReduce::sum, row), Error);
  EXPECT_THROW(gpu().scale_add_activate(a, 1.0f, CMatRef{}, row, Activation::sigmoid), Error);
  EXPECT_THROW(gpu().sample_bernoulli(a, b, RngKey{}), Error);
  EXPECT_THROW(gpu().sum_squared_diff(a, b), Error);

  HostTensor host({3, 4});
  EXPECT_THROW(gpu().fill(host_ref(host), 1.0f), Error);
  EXPECT_THROW(gpu().axpby(1.0f, host_ref(host), 1.0f, a), Error);
  EXPECT_THROW(gpu().download(host_ref(host), host.data.data()), Error);
  Matrix cpu_matrix(cpu(), 3, 4);
  EXPECT_THROW(gpu().copy(cpu_matrix, a), Error);
  EXPECT_THROW(cpu().copy(a, cpu_matrix), Error);
  try {
    gpu().fill(host_ref(host), 1.0f);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("passed to the cuda backend"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_cuda_backend(1 << 20), Error);
}

// Temporaries freed in a loop go back to the stream-ordered pool without a
// synchronisation; the next allocation may reuse the memory, and stream order keeps
// the results right. Both backends count the same calls.
TEST_F(BackendParity, StreamOrderedFreesAndCountersMatchCpu) {
  SKIP_WITHOUT_CUDA();
  const Shape s{256, 1024};
  for (Backend* be : {&cpu(), &gpu()}) be->reset_counters();
  std::vector<HostTensor> results;
  for (Backend* be : {&cpu(), &gpu()}) {
    Matrix acc(*be, s.rows, s.cols);
    be->fill(acc, 0.0f);
    for (int i = 1; i <= 40; ++i) {
      Matrix tmp(*be, s.rows, s.cols);  // freed at the end of each iteration
      be->fill(tmp, static_cast<float>(i));
      be->axpby(1.0f, tmp, 1.0f, acc);
    }
    results.push_back(acc.download());
  }
  EXPECT_EQ(results[1].data, results[0].data);
  EXPECT_EQ(results[0].data[0], 40.0f * 41.0f / 2.0f);
  EXPECT_EQ(gpu().counters(), cpu().counters())
      << "cuda " << gpu().counters().to_string() << " vs cpu " << cpu().counters().to_string();
  EXPECT_EQ(gpu().counters().allocations, 41);
  EXPECT_EQ(gpu().counters().deallocations, 41);
  EXPECT_EQ(gpu().counters().downloads, 1);

  // The copy contract holds on the GPU too: a partial overlap throws.
  Matrix m = put(gpu(), random_tensor({4, 2}, 9));
  gpu().copy(m.rows_view(1, 2), m.rows_view(1, 2));
  EXPECT_THROW(gpu().copy(m.rows_view(0, 2), m.rows_view(1, 2)), Error);
}

// A captured graph replayed k times draws what eager calls with step + k draw.
TEST_F(BackendParity, GraphReplayAdvancesRngStep) {
  SKIP_WITHOUT_CUDA();
  ASSERT_TRUE(is_cuda_backend(gpu()));
  EXPECT_FALSE(is_cuda_backend(cpu()));
  const Shape s{37, 101};
  const HostTensor probs = random_tensor(s, 23, 0.0f, 1.0f);
  Matrix gp = put(gpu(), probs), go(gpu(), s.rows, s.cols), gn(gpu(), s.rows, s.cols);
  Matrix cp = put(cpu(), probs), co(cpu(), s.rows, s.cols), cn(cpu(), s.rows, s.cols);
  const RngKey key{42, 1, 1000};
  const RngKey normal_key{42, 2, 2000};

  GraphCapture capture;
  EXPECT_THROW(capture.begin(cpu()), Error);
  capture.begin(gpu(), 2);
  EXPECT_THROW(gpu().synchronize(), Error);  // not capturable: refused, capture stays valid
  gpu().sample_bernoulli(gp, go, key);
  gpu().fill_normal(gn, 0.0f, 1.0f, normal_key);
  CudaGraph graph = capture.end();
  ASSERT_FALSE(graph.empty());

  for (uint64_t k = 0; k < 3; ++k) {
    graph.launch();
    const RngKey kk{key.seed, key.stream, key.step + 2 * k};
    const RngKey nk{normal_key.seed, normal_key.stream, normal_key.step + 2 * k};
    cpu().sample_bernoulli(cp, co, kk);
    cpu().fill_normal(cn, 0.0f, 1.0f, nk);
    EXPECT_EQ(go.download().data, co.download().data) << "replay " << k;
    EXPECT_CLOSE(gn.download(), cn.download(), 1e-5, "normal replay " << k);
  }
  graph.set_replay_index(10);
  graph.launch();
  cpu().sample_bernoulli(cp, co, RngKey{key.seed, key.stream, key.step + 20});
  EXPECT_EQ(go.download().data, co.download().data) << "replay 10";

  // Outside the capture the key is used as given again.
  gpu().sample_bernoulli(gp, go, key);
  cpu().sample_bernoulli(cp, co, key);
  EXPECT_EQ(go.download().data, co.download().data) << "eager after graph";
}

// A graph's cuBLAS products keep the precision they were captured with, so replaying one
// after set_precision would silently compute in the old precision: launch() refuses it,
// naming both precisions, and replays again once the precision is restored.
TEST_F(BackendParity, GraphReplayRefusesAChangedPrecision) {
  SKIP_WITHOUT_CUDA();
  Matrix a = put(gpu(), random_tensor({7, 13}, 31)), b = put(gpu(), random_tensor({13, 5}, 32));
  Matrix c(gpu(), 7, 5);
  GraphCapture capture;
  capture.begin(gpu());
  gpu().gemm(false, false, 1.0f, a, b, 0.0f, c);
  CudaGraph graph = capture.end();
  graph.launch();
  gpu().set_precision(Precision::tf32);
  try {
    graph.launch();
    ADD_FAILURE() << "a graph captured at fp32 replayed after set_precision(tf32)";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("captured with precision fp32"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("tf32"), std::string::npos) << e.what();
  }
  gpu().set_precision(Precision::fp32);
  graph.launch();
  gpu().synchronize();
}

}  // namespace
}  // namespace crbm
