// CPU backend operations against direct loops (the parity suite then holds the
// CUDA backend to the CPU one).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm_hd.cuh"
#include "philox.cuh"

namespace crbm {
namespace {

TEST(CpuBackend, FillBinaryCodesEnumeratesConfigurations) {
  auto be = make_cpu_backend();
  Matrix codes(*be, 8, 3);
  be->fill_binary_codes(codes, 0);
  const HostTensor t = codes.download();
  for (int r = 0; r < 8; ++r)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(t.data[r * 3 + j], float((r >> j) & 1)) << r << "," << j;
  Matrix wide(*be, 2, 64);
  be->fill_binary_codes(wide, uint64_t{1} << 63);
  const HostTensor u = wide.download();
  EXPECT_EQ(u.data[63], 1.0f);
  EXPECT_EQ(u.data[64 + 0], 1.0f);  // (2^63 + 1) has bit 0 set
  Matrix too_wide(*be, 1, 65);
  EXPECT_THROW(be->fill_binary_codes(too_wide, 0), Error);
}

// Rows with many draws take the sorted-uniform sweep; each draw must still land in the
// category the per-draw inverse-CDF scan picks for the same Philox uniform (rows with
// few draws take that scan directly), including zero-probability categories and a
// distribution whose float CDF ends short of 1.
TEST(CpuBackend, MultinomialCountsMatchPerDrawInverseCdf) {
  auto be = make_cpu_backend();
  const int64_t rows = 5, cols = 37;
  HostTensor p({rows, cols}, 0.0f), totals({rows, 1});
  const std::vector<float> draws = {0, 3, 16, 17, 2500};
  for (int64_t r = 0; r < rows; ++r) {
    float sum = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const float w = (c % 5 == 2) ? 0.0f : philox::uniform(7, 1, uint64_t(r), uint64_t(c));
      p.data[r * cols + c] = w;
      sum += w;
    }
    for (int64_t c = 0; c < cols; ++c) p.data[r * cols + c] /= sum * (r == 4 ? 1.001f : 1.0f);
    totals.data[r] = draws[r];
  }
  Matrix mp = Matrix::from_host(*be, p), mt = Matrix::from_host(*be, totals);
  Matrix out(*be, rows, cols);
  const RngKey key{11, 22, 33};
  be->sample_multinomial_counts(mp, mt, out, key);
  const HostTensor got = out.download();
  const int64_t max_total = 2500;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<float> want(cols, 0.0f);
    for (int64_t d = 0; d < int64_t(draws[r]); ++d) {
      const float u = philox::uniform(key.seed, key.stream, key.step, r * max_total + d);
      want[math::categorical_from_uniform(p.data.data() + r * cols, cols, u)] += 1.0f;
    }
    float sum = 0;
    for (int64_t c = 0; c < cols; ++c) {
      EXPECT_EQ(got.data[r * cols + c], want[c]) << "row " << r << " category " << c;
      if (c % 5 == 2 && c != cols - 1) {
        EXPECT_EQ(got.data[r * cols + c], 0.0f);
      }
      sum += got.data[r * cols + c];
    }
    EXPECT_EQ(sum, draws[r]) << "row " << r;
  }
}

TEST(CpuBackend, GemmTransposesMatchLoops) {
  auto be = make_cpu_backend();
  HostTensor a({3, 4}), b({4, 5});
  for (int i = 0; i < 12; ++i) a.data[i] = float(i % 5) - 2.0f;
  for (int i = 0; i < 20; ++i) b.data[i] = float(i % 7) * 0.5f - 1.0f;
  Matrix ma = Matrix::from_host(*be, a), mb = Matrix::from_host(*be, b);
  Matrix c(*be, 3, 5);
  be->gemm(false, false, 2.0f, ma, mb, 0.0f, c);
  const HostTensor got = c.download();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) {
      float s = 0.0f;
      for (int k = 0; k < 4; ++k) s += a.data[i * 4 + k] * b.data[k * 5 + j];
      EXPECT_FLOAT_EQ(got.data[i * 5 + j], 2.0f * s);
    }
  // (A' as a 4x3 operand): C2 = A'^T B = A B computed through the transpose flag.
  HostTensor at({4, 3});
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 4; ++k) at.data[k * 3 + i] = a.data[i * 4 + k];
  Matrix mat = Matrix::from_host(*be, at);
  Matrix c2(*be, 3, 5);
  be->gemm(true, false, 2.0f, mat, mb, 0.0f, c2);
  EXPECT_EQ(c2.download().data, got.data);
  Matrix bad(*be, 2, 5);
  EXPECT_THROW(be->gemm(false, false, 1.0f, ma, mb, 0.0f, bad), Error);
}

TEST(CpuBackend, GemmWithEmptyInnerDimensionScalesC) {
  auto be = make_cpu_backend();
  Matrix a(*be, 3, 0), b(*be, 0, 2);
  Matrix c = Matrix::from_host(*be, HostTensor({3, 2}, 2.0f));
  be->gemm(false, false, 1.0f, a, b, 0.5f, c);
  EXPECT_EQ(c.download().data, std::vector<float>(6, 1.0f));
  be->gemm(false, false, 1.0f, a, b, 0.0f, c);
  EXPECT_EQ(c.download().data, std::vector<float>(6, 0.0f));
}

TEST(CpuBackend, MeanOfAllEntries) {
  auto be = make_cpu_backend(1);
  HostTensor t({3, 4});
  double expected = 0;
  for (size_t i = 0; i < t.data.size(); ++i) {
    t.data[i] = static_cast<float>(i * i % 7) / 7.0f;
    expected += t.data[i] / 12.0;
  }
  const Matrix m = Matrix::from_host(*be, t);
  EXPECT_NEAR(be->mean(m), expected, 1e-6);
  EXPECT_NEAR(
      be->mean(m.rows_view(1, 2)),
      [&] {
        double s = 0;
        for (size_t i = 4; i < 12; ++i) s += t.data[i] / 8.0;
        return s;
      }(),
      1e-6);
  EXPECT_EQ(be->mean(m.rows_view(0, 0)), 0.0);
}

TEST(CpuBackend, RejectsForeignMemory) {
  auto be = make_cpu_backend();
  float x = 0.0f;
  MatRef gpu_view{&x, 1, 1, Device::cuda};
  EXPECT_THROW(be->fill(gpu_view, 1.0f), Error);
}

// ---- the counting hook (BackendCounters): every kind of call that allocates, frees,
// moves host memory or waits for the device is counted in the public layer.

TEST(BackendCounters, CountEachKindOfCall) {
  auto be = make_cpu_backend(1);
  be->reset_counters();
  EXPECT_EQ(be->counters(), BackendCounters{});

  Matrix a(*be, 2, 3), b(*be, 2, 3), empty(*be, 0, 3);
  BackendCounters expected;
  expected.allocations = 2;  // the empty matrix allocates nothing
  EXPECT_EQ(be->counters(), expected) << be->counters().to_string();

  HostTensor t({2, 3}, 0.25f);
  a.upload(t);
  b.upload(t);
  expected.uploads = 2;
  EXPECT_EQ(be->counters(), expected) << be->counters().to_string();

  (void)a.download();
  expected.downloads = 1;
  be->synchronize();
  expected.synchronizations = 1;
  (void)be->sum_squared_diff(a, b);
  (void)be->all_finite(a);
  (void)be->mean(a);  // one host reduction, whatever it does inside
  expected.host_reductions = 3;
  be->gather_rows(a, {1, 0}, b);
  Matrix totals = Matrix::from_host(*be, HostTensor({2, 1}, 2.0f));
  expected.allocations += 1;
  expected.uploads += 1;
  be->sample_multinomial_counts(a, totals, b, RngKey{1, 0, 0});  // numbered on the device
  expected.host_indexed = 1;
  EXPECT_EQ(be->counters(), expected) << be->counters().to_string();
  EXPECT_EQ(be->counters().host_waits(), 1 + 1 + 3 + 1);

  Matrix moved = std::move(a);  // moving a matrix is not an allocation
  EXPECT_EQ(be->counters(), expected) << be->counters().to_string();
  moved.reset();
  empty.reset();  // nothing to free
  expected.deallocations = 1;
  EXPECT_EQ(be->counters(), expected) << be->counters().to_string();

  be->reset_counters();
  EXPECT_EQ(be->counters(), BackendCounters{});
}

// The asynchronous ops of a CD step count nothing: this is what a test of "no host
// round trip inside update()" relies on.
TEST(BackendCounters, AsynchronousOpsCountNothing) {
  auto be = make_cpu_backend(1);
  Matrix v(*be, 4, 6), w(*be, 6, 5), h(*be, 4, 5), dw(*be, 6, 5), vel(*be, 6, 5), bias(*be, 1, 5);
  Matrix row(*be, 4, 1);
  be->reset_counters();
  be->fill_uniform(v, RngKey{3, 0, 0});
  be->fill_normal(w, 0.0f, 0.1f, RngKey{3, 1, 0});
  be->fill(bias, 0.5f);
  be->fill(vel, 0.0f);
  be->gemm(false, false, 1.0f, v, w, 0.0f, h);
  be->scale_add_activate(h, 1.0f, CMatRef{}, bias, Activation::sigmoid);
  be->sample_bernoulli(h, h, RngKey{3, 2, 0});
  be->gemm(true, false, 0.25f, v, h, 0.0f, dw);
  be->column_sums(h, 0.25f, 0.0f, bias);
  be->row_reduce(h, RowReduce::softplus_sum, row);
  be->momentum_update(w, vel, dw, 0.1f, 0.5f, 1e-4f, 1e-5f);
  be->axpby(1.0f, dw, 0.5f, vel);
  be->copy(dw, vel);
  be->softmax_groups(h, 5);
  be->sample_softmax_groups(h, 5, h, RngKey{3, 3, 0});
  be->multiply(dw, vel);
  be->sigmoid_backward(dw, vel);
  EXPECT_EQ(be->counters(), BackendCounters{}) << be->counters().to_string();
}

TEST(BackendCounters, RejectedCallsAreNotCountedAndNameTheirFields) {
  auto be = make_cpu_backend(1);
  Matrix a(*be, 2, 3), b(*be, 3, 2);
  be->reset_counters();
  EXPECT_THROW((void)be->sum_squared_diff(a, b), Error);
  EXPECT_THROW(be->gather_rows(a, {0, 2}, b.rows_view(0, 2)), Error);
  EXPECT_EQ(be->counters(), BackendCounters{}) << be->counters().to_string();
  const std::string text = BackendCounters{1, 2, 3, 4, 5, 6, 7}.to_string();
  EXPECT_NE(text.find("allocations=1"), std::string::npos) << text;
  EXPECT_NE(text.find("host_indexed=7"), std::string::npos) << text;
}

// ---- the copy contract (backend.hpp): same range is a no-op, disjoint ranges copy,
// partly overlapping ranges throw and leave the destination untouched.
TEST(CpuBackend, CopyOfOverlappingRanges) {
  auto be = make_cpu_backend(1);
  HostTensor t({4, 2});
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<float>(i);
  Matrix m = Matrix::from_host(*be, t);

  be->copy(m.rows_view(1, 2), m.rows_view(1, 2));  // the same range
  EXPECT_EQ(m.download().data, t.data);

  be->copy(m.rows_view(0, 2), m.rows_view(2, 2));  // disjoint rows of one matrix
  HostTensor expected = t;
  for (int i = 0; i < 4; ++i) expected.data[4 + i] = t.data[i];
  EXPECT_EQ(m.download().data, expected.data);

  try {
    be->copy(m.rows_view(0, 2), m.rows_view(1, 2));  // rows 0-1 onto rows 1-2
    FAIL() << "overlapping copy did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("overlap"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m.download().data, expected.data);
  // Reinterpreted shapes that overlap by a single element are refused too.
  EXPECT_THROW(
      be->copy(CMatRef{m.data(), 1, 3, Device::cpu}, MatRef{m.data() + 2, 1, 3, Device::cpu}),
      Error);
}

// The momentum step (math::momentum_velocity) against the formula written out, with
// and without the L1 term.
TEST(CpuBackend, MomentumUpdateMatchesTheFormula) {
  auto be = make_cpu_backend(1);
  const int64_t n = 7;
  HostTensor p({1, n}), v({1, n}), g({1, n});
  for (int64_t i = 0; i < n; ++i) {
    p.data[i] = static_cast<float>(i - 3) * 0.5f;  // includes 0: sign(0) = 0
    v.data[i] = 0.01f * static_cast<float>(i);
    g.data[i] = 0.3f - 0.1f * static_cast<float>(i);
  }
  for (const float l1 : {0.0f, 0.02f}) {
    Matrix dp = Matrix::from_host(*be, p), dv = Matrix::from_host(*be, v);
    const Matrix dg = Matrix::from_host(*be, g);
    const float lr = 0.1f, mom = 0.9f, l2 = 0.01f;
    be->momentum_update(dp, dv, dg, lr, mom, l2, l1);
    const HostTensor np = dp.download(), nv = dv.download();
    for (int64_t i = 0; i < n; ++i) {
      const float sign = p.data[i] > 0 ? 1.0f : (p.data[i] < 0 ? -1.0f : 0.0f);
      const float vel = mom * v.data[i] + lr * (g.data[i] - l2 * p.data[i] - l1 * sign);
      EXPECT_FLOAT_EQ(nv.data[i], vel) << "l1 " << l1 << " element " << i;
      EXPECT_FLOAT_EQ(np.data[i], p.data[i] + vel) << "l1 " << l1 << " element " << i;
    }
  }
}

TEST(CpuBackend, SigmoidBackwardAndRowReduceTerms) {
  auto be = make_cpu_backend(1);
  HostTensor h({2, 3}), d({2, 3});
  for (size_t i = 0; i < h.data.size(); ++i) {
    h.data[i] = 0.1f + 0.15f * static_cast<float>(i);
    d.data[i] = 1.0f - 0.4f * static_cast<float>(i);
  }
  const Matrix dh = Matrix::from_host(*be, h);
  Matrix dd = Matrix::from_host(*be, d);
  be->sigmoid_backward(dh, dd);
  const HostTensor out = dd.download();
  for (size_t i = 0; i < h.data.size(); ++i) {
    EXPECT_FLOAT_EQ(out.data[i], d.data[i] * h.data[i] * (1.0f - h.data[i])) << i;
  }
  Matrix sums(*be, 2, 1);
  for (const RowReduce op : {RowReduce::sum, RowReduce::softplus_sum, RowReduce::square_sum}) {
    be->row_reduce(dd, op, sums);
    const HostTensor s = sums.download();
    for (int r = 0; r < 2; ++r) {
      double expected = 0;
      for (int c = 0; c < 3; ++c) {
        const double x = out.data[r * 3 + c];
        expected += op == RowReduce::sum          ? x
                    : op == RowReduce::square_sum ? x * x
                                                  : std::log1p(std::exp(x));
      }
      EXPECT_NEAR(s.data[r], expected, 1e-6) << "op " << static_cast<int>(op) << " row " << r;
    }
  }
}

}  // namespace
}  // namespace crbm
