// Rounding an fp32 value to a narrower tensor-core input format, the operand
// conversion of the reduced-precision products (Backend::set_precision):
//   tf32: 8 exponent bits, 10 explicit mantissa bits (unit roundoff 2^-11)
//   bf16: 8 exponent bits,  7 explicit mantissa bits (unit roundoff 2^-8)
// Both keep fp32's exponent, so the rounded value is again an fp32 whose low
// 23 - bits mantissa bits are zero: the CPU emulation rounds each operand
// element with this function and then runs the fp32 GEMM (fp32 products of the
// rounded values are exact, so only the accumulation rounds, as on the GPU).
// Rounding is to nearest, ties to even, on the bit pattern: adding
// 2^(drop-1) - 1 plus the lowest kept bit and clearing the dropped bits carries
// into the exponent where the mantissa overflows, so subnormals and values next
// to a power of two round correctly, and a value past the largest finite one
// rounds to infinity. Infinities and NaNs are returned unchanged (a NaN whose
// payload sits in the dropped bits must not become an infinity).
#pragma once

#include <cstdint>
#include <cstring>

#include "crbm_hd.cuh"

namespace crbm::math {

// Explicit mantissa bits of the formats (fp32 itself: 23, nothing dropped).
inline constexpr int kFp32MantissaBits = 23;
inline constexpr int kTf32MantissaBits = 10;
inline constexpr int kBf16MantissaBits = 7;

CRBM_HD uint32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

CRBM_HD float float_from_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

// x rounded to `mantissa_bits` explicit mantissa bits (0 < mantissa_bits <= 23), to
// nearest with ties to even; inf and NaN unchanged.
CRBM_HD float round_mantissa(float x, int mantissa_bits) {
  const int drop = kFp32MantissaBits - mantissa_bits;
  uint32_t u = float_bits(x);
  if (drop <= 0 || (u & 0x7f800000u) == 0x7f800000u) return x;  // nothing dropped; inf/NaN
  const uint32_t lowest_kept = (u >> drop) & 1u;
  u += ((1u << (drop - 1)) - 1u) + lowest_kept;
  u &= ~((1u << drop) - 1u);
  return float_from_bits(u);
}

CRBM_HD float round_to_tf32(float x) {
  return round_mantissa(x, kTf32MantissaBits);
}

CRBM_HD float round_to_bf16(float x) {
  return round_mantissa(x, kBf16MantissaBits);
}

}  // namespace crbm::math
