// The reduced-precision products, CUDA (cuBLAS TF32/BF16 compute types) against the CPU
// emulation (operands rounded to nearest, fp32 sgemm), for each precision and every
// transpose combination. cuBLAS does not document how it converts fp32 operands for the
// tensor cores (to nearest, or by dropping bits), so the two are compared through the
// error bound both obey rather than bit for bit: relative to S = sum_l |a_il b_lj|, a side
// whose operands carry a relative error of at most u is within (2u + u^2 + gamma_k (1+u)^2) S
// of the exact product (gamma_k = k eps / (1 - k eps), eps = 2^-24, any summation order);
// the CPU rounds to nearest (u = 2^-(bits+1)), the GPU is allowed truncation (u = 2^-bits),
// and the difference is within the sum of the two. fp32 is held to the fp32 bound alone
// (2 gamma_k S). Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "crbm/backend.hpp"
#include "support/precision_gemm.hpp"

namespace crbm {
namespace {

TEST(PrecisionParity, CudaProductsMatchTheCpuEmulationWithinTheFormatsBound) {
  if (!cuda_available()) {
    GTEST_SKIP() << "no CUDA device present: cuda_available() is false (CPU-only build or no "
                    "visible GPU)";
  }
  auto cpu = make_cpu_backend(2);
  auto gpu = make_cuda_backend(0);
  struct Mnk {
    int64_t m, n, k;
  };
  const Mnk sizes[] = {{1, 1, 1}, {7, 13, 5}, {100, 500, 784}, {257, 33, 1025}};
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::bf16}) {
    const int bits = mantissa_bits(p);
    for (Mnk d : sizes) {
      // fp32: exact operands on both sides (u = 0).
      const double bound = p == Precision::fp32
                               ? 2 * testing::product_error_bound(0.0, d.k)
                               : testing::product_error_bound(testing::unit_roundoff(bits), d.k) +
                                     testing::product_error_bound(std::ldexp(1.0, -bits), d.k);
      for (int ta = 0; ta < 2; ++ta) {
        for (int tb = 0; tb < 2; ++tb) {
          const testing::GemmCase c{ta != 0, tb != 0, d.m, d.n, d.k};
          const HostTensor a = testing::operand_a(c, 11), b = testing::operand_b(c, 12);
          const HostTensor want = testing::product(*cpu, p, c, a, b);
          const HostTensor got = testing::product(*gpu, p, c, a, b);
          EXPECT_LE(testing::max_scaled_error(c, a, b, got, want), bound)
              << to_string(p) << " gemm m=" << d.m << " n=" << d.n << " k=" << d.k << " ta=" << ta
              << " tb=" << tb;
        }
      }
    }
  }
}

}  // namespace
}  // namespace crbm
