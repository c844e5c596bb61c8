// CPU backend operations against direct loops (the parity suite then holds the
// CUDA backend to the CPU one).
#include <gtest/gtest.h>

#include <algorithm>
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

}  // namespace
}  // namespace crbm
