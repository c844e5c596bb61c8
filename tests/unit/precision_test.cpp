// Reduced-precision products (crbm::Precision) on the CPU: the rounding function against
// hand-computed bit patterns (ties to even, carries into the exponent, subnormals,
// overflow, inf/NaN passing through), the names, and the emulated tf32/bf16 gemm:
// exactly the fp32 gemm of the rounded operands, within the format's error bound of the
// fp32 product and measurably different from it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "crbm/backend.hpp"
#include "precision_math.cuh"
#include "support/expect_error.hpp"
#include "support/precision_gemm.hpp"

namespace crbm {
namespace {

float from_bits(uint32_t u) {
  return math::float_from_bits(u);
}
uint32_t bits_of(float x) {
  return math::float_bits(x);
}

TEST(PrecisionRounding, TiesGoToEven) {
  // tf32 keeps 10 mantissa bits: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
  EXPECT_EQ(math::round_to_tf32(1.0f + std::ldexp(1.0f, -11)), 1.0f);
  // 1 + 2^-10 + 2^-11: halfway between 1 + 2^-10 (odd last bit) and 1 + 2^-9 (even).
  EXPECT_EQ(math::round_to_tf32(1.0f + std::ldexp(1.0f, -10) + std::ldexp(1.0f, -11)),
            1.0f + std::ldexp(1.0f, -9));
  // Just above and just below the tie.
  EXPECT_EQ(math::round_to_tf32(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -23)),
            1.0f + std::ldexp(1.0f, -10));
  EXPECT_EQ(math::round_to_tf32(1.0f + std::ldexp(1.0f, -11) - std::ldexp(1.0f, -23)), 1.0f);
  // bf16 keeps 7: 1 + 2^-8 ties to 1, 1 + 2^-7 + 2^-8 ties up to 1 + 2^-6; the sign is kept.
  EXPECT_EQ(math::round_to_bf16(1.0f + std::ldexp(1.0f, -8)), 1.0f);
  EXPECT_EQ(math::round_to_bf16(-(1.0f + std::ldexp(1.0f, -7) + std::ldexp(1.0f, -8))),
            -(1.0f + std::ldexp(1.0f, -6)));
  // A bf16 pattern: 0x3F80_8000 (tie, even) -> 0x3F80_0000; 0x3F81_8000 -> 0x3F82_0000.
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x3F808000u))), 0x3F800000u);
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x3F818000u))), 0x3F820000u);
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x3F818001u))), 0x3F820000u);
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x3F817FFFu))), 0x3F810000u);
}

TEST(PrecisionRounding, RepresentableValuesAndZerosAreUnchanged) {
  for (float x : {0.0f, -0.0f, 1.0f, -2.5f, 0.15625f, 1024.0f, std::ldexp(1.0f, -126)}) {
    EXPECT_EQ(bits_of(math::round_to_tf32(x)), bits_of(x)) << x;
    EXPECT_EQ(bits_of(math::round_to_bf16(x)), bits_of(x)) << x;
  }
  // fp32 itself drops nothing.
  const float third = 1.0f / 3.0f;
  EXPECT_EQ(bits_of(math::round_mantissa(third, math::kFp32MantissaBits)), bits_of(third));
}

TEST(PrecisionRounding, CarriesIntoTheExponent) {
  // The largest float below 2 rounds up to 2 in both formats.
  const float below_two = std::nextafter(2.0f, 0.0f);
  EXPECT_EQ(math::round_to_tf32(below_two), 2.0f);
  EXPECT_EQ(math::round_to_bf16(below_two), 2.0f);
  // Past the largest finite bf16 by more than half an ulp: infinity (FLT_MAX itself is).
  EXPECT_EQ(math::round_to_bf16(std::numeric_limits<float>::max()),
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(math::round_to_bf16(-std::numeric_limits<float>::max()),
            -std::numeric_limits<float>::infinity());
  // The largest finite bf16, 0x7F7F0000, is kept.
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x7F7F0000u))), 0x7F7F0000u);
}

TEST(PrecisionRounding, Subnormals) {
  // bf16's smallest subnormal is 2^-133 (0x0001_0000). The smallest fp32 subnormal, 2^-149,
  // is far below half of it: 0. Exactly half (0x8000) ties to even: 0. 1.5 units ties up to 2.
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x00000001u))), 0u);
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x00008000u))), 0u);
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x00008001u))), 0x00010000u);
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x00018000u))), 0x00020000u);
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x80018000u))), 0x80020000u);
  // The largest subnormal rounds up to the smallest normal, 2^-126, in both formats.
  EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(0x007FFFFFu))), 0x00800000u);
  EXPECT_EQ(bits_of(math::round_to_tf32(from_bits(0x007FFFFFu))), 0x00800000u);
  // tf32 drops 13 bits: 0x1000 is half its smallest subnormal (ties to 0), 0x1001 rounds up.
  EXPECT_EQ(bits_of(math::round_to_tf32(from_bits(0x00001000u))), 0u);
  EXPECT_EQ(bits_of(math::round_to_tf32(from_bits(0x00001001u))), 0x00002000u);
}

TEST(PrecisionRounding, InfinityAndNanPassThrough) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(math::round_to_tf32(inf), inf);
  EXPECT_EQ(math::round_to_bf16(-inf), -inf);
  // NaNs keep their exact bits, also a payload that sits only in the dropped bits (it
  // would otherwise become an infinity).
  for (uint32_t nan : {0x7FC00000u, 0x7F800001u, 0xFF800100u, 0x7FFFFFFFu}) {
    EXPECT_EQ(bits_of(math::round_to_tf32(from_bits(nan))), nan) << std::hex << nan;
    EXPECT_EQ(bits_of(math::round_to_bf16(from_bits(nan))), nan) << std::hex << nan;
  }
}

TEST(PrecisionNames, RoundTripAndBadValuesAreNamed) {
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::bf16}) {
    EXPECT_EQ(parse_precision(to_string(p)), p);
  }
  EXPECT_EQ(mantissa_bits(Precision::fp32), 23);
  EXPECT_EQ(mantissa_bits(Precision::tf32), 10);
  EXPECT_EQ(mantissa_bits(Precision::bf16), 7);
  testing::expect_error([] { parse_precision("fp16"); }, {"'fp16'", "fp32, tf32 or bf16"});
  EXPECT_EQ(make_cpu_backend(1)->precision(), Precision::fp32);
}

using testing::GemmCase;

const GemmCase kCases[] = {{false, false, 37, 53, 64},
                           {true, false, 20, 31, 200},
                           {false, true, 64, 9, 784},
                           {true, true, 5, 17, 33},
                           {false, false, 100, 50, 500}};

std::string name(const GemmCase& c, Precision p) {
  return std::string(to_string(p)) + " ta=" + std::to_string(c.trans_a) +
         " tb=" + std::to_string(c.trans_b) + " " + std::to_string(c.m) + "x" +
         std::to_string(c.n) + "x" + std::to_string(c.k);
}

// The emulation is its definition: the fp32 gemm of the operands rounded on the host.
TEST(PrecisionGemmCpu, IsTheFp32ProductOfTheRoundedOperands) {
  auto backend = make_cpu_backend(1);
  for (const GemmCase& c : kCases) {
    const HostTensor a = testing::operand_a(c, 1), b = testing::operand_b(c, 2);
    for (Precision p : {Precision::tf32, Precision::bf16}) {
      HostTensor ra = a, rb = b;
      for (float& v : ra.data) v = math::round_mantissa(v, mantissa_bits(p));
      for (float& v : rb.data) v = math::round_mantissa(v, mantissa_bits(p));
      EXPECT_NE(ra.data, a.data) << name(c, p) << ": rounding changed nothing";
      const HostTensor want = testing::product(*backend, Precision::fp32, c, ra, rb);
      EXPECT_EQ(testing::product(*backend, p, c, a, b).data, want.data) << name(c, p);
    }
  }
}

// Against the fp32 product: both are within product_error_bound of the exact one (operand
// error u = 2^-(bits+1) for the emulation, 0 for fp32), so they differ by at most the sum.
// The difference must also be nonzero: the same sgemm runs on both sides, so any difference
// comes from the rounding, and the option demonstrably changes the arithmetic.
TEST(PrecisionGemmCpu, ErrorIsWithinTheFormatsBoundAndNotZero) {
  auto backend = make_cpu_backend(1);
  for (const GemmCase& c : kCases) {
    const HostTensor a = testing::operand_a(c, 3), b = testing::operand_b(c, 4);
    const HostTensor fp32 = testing::product(*backend, Precision::fp32, c, a, b);
    for (Precision p : {Precision::tf32, Precision::bf16}) {
      const double bound =
          testing::product_error_bound(testing::unit_roundoff(mantissa_bits(p)), c.k) +
          testing::product_error_bound(0.0, c.k);
      const HostTensor got = testing::product(*backend, p, c, a, b);
      const double err = testing::max_scaled_error(c, a, b, got, fp32);
      EXPECT_LE(err, bound) << name(c, p);
      EXPECT_GT(err, 0.0) << name(c, p) << ": same as fp32";
    }
  }
}

// Setting fp32 back after another precision is the default path, bit for bit.
TEST(PrecisionGemmCpu, Fp32IsTheDefaultPath) {
  const GemmCase c{false, false, 30, 40, 70};
  const HostTensor a = testing::operand_a(c, 5), b = testing::operand_b(c, 6);
  auto fresh = make_cpu_backend(1);
  Matrix da = Matrix::from_host(*fresh, a), db = Matrix::from_host(*fresh, b);
  Matrix dc(*fresh, c.m, c.n);
  fresh->gemm(false, false, 1.0f, da, db, 0.0f, dc);
  const HostTensor want = dc.download();
  auto switched = make_cpu_backend(1);
  EXPECT_NE(testing::product(*switched, Precision::bf16, c, a, b).data, want.data);
  EXPECT_EQ(testing::product(*switched, Precision::fp32, c, a, b).data, want.data);
}

}  // namespace
}  // namespace crbm
