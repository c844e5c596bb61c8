// Helpers of the reduced-precision product tests (tests/unit/precision_test.cpp on the
// CPU, tests/parity/precision_parity_test.cpp CPU vs CUDA): seeded operands, one product
// in a given precision, and the error measure both bound: the largest
// |got - want| / S over the elements, S = sum_l |a_il b_lj| (the scale of the rounding
// errors of element (i, j)), and the bound on |product - exact| / S for operands carrying a
// relative error of at most u.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "crbm/backend.hpp"

namespace crbm::testing {

struct GemmCase {
  bool trans_a, trans_b;
  int64_t m, n, k;
};

// Uniform(-1, 1) entries, stored as the operand is (k x m for a transposed A).
inline HostTensor random_operand(int64_t rows, int64_t cols, uint32_t seed) {
  HostTensor t({rows, cols});
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : t.data) v = dist(gen);
  return t;
}

inline HostTensor operand_a(const GemmCase& c, uint32_t seed) {
  return c.trans_a ? random_operand(c.k, c.m, seed) : random_operand(c.m, c.k, seed);
}
inline HostTensor operand_b(const GemmCase& c, uint32_t seed) {
  return c.trans_b ? random_operand(c.n, c.k, seed) : random_operand(c.k, c.n, seed);
}

// C = op(A) op(B) on `backend`, in precision `p` (left set on the backend).
inline HostTensor product(Backend& backend, Precision p, const GemmCase& c, const HostTensor& a,
                          const HostTensor& b) {
  backend.set_precision(p);
  Matrix da = Matrix::from_host(backend, a), db = Matrix::from_host(backend, b);
  Matrix dc(backend, c.m, c.n);
  backend.gemm(c.trans_a, c.trans_b, 1.0f, da, db, 0.0f, dc);
  return dc.download();
}

// max over (i, j) of |got - want| / sum_l |a_il b_lj| (infinity for a NaN).
inline double max_scaled_error(const GemmCase& c, const HostTensor& a, const HostTensor& b,
                               const HostTensor& got, const HostTensor& want) {
  double worst = 0.0;
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      double s = 0.0;
      for (int64_t l = 0; l < c.k; ++l) {
        const double x = c.trans_a ? a.data[l * c.m + i] : a.data[i * c.k + l];
        const double y = c.trans_b ? b.data[j * c.k + l] : b.data[l * c.n + j];
        s += std::fabs(x * y);
      }
      const double err = std::fabs(double(got.data[i * c.n + j]) - want.data[i * c.n + j]);
      worst = std::isnan(err) ? std::numeric_limits<double>::infinity() : std::max(worst, err / s);
    }
  }
  return worst;
}

// Bound on |computed - exact| / S of an fp32-accumulated product whose operands carry a
// relative error of at most u: each term a~ b~ is within (2u + u^2) |a b| of a b, and the
// accumulation in any order adds at most gamma_k = k eps / (1 - k eps) of the sum of the
// terms' magnitudes (eps = 2^-24), at most (1 + u)^2 S.
inline double product_error_bound(double u, int64_t k) {
  const double eps = std::ldexp(1.0, -24);
  const double gamma = k * eps / (1.0 - k * eps);
  return 2 * u + u * u + gamma * (1 + u) * (1 + u);
}

// The unit roundoff of rounding to nearest into a format with `bits` mantissa bits.
inline double unit_roundoff(int bits) {
  return std::ldexp(1.0, -(bits + 1));
}

}  // namespace crbm::testing
