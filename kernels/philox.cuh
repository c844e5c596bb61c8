// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011): a counter-based generator. Output = bijection(counter, key), so any
// element of any stream can be computed independently on the CPU or the GPU.
//
// libcrbm's convention (both backends): a draw is addressed by RngKey
// {seed, stream, step}; element i of that draw takes word (i % 4) of
//   philox4x32_10(counter = {i / 4, stream, step_lo, step_hi},
//                 key     = {seed_lo, seed_hi}).
// Normal draw i uses block i (words 0,1 -> Box-Muller).
#pragma once

#include <cstdint>

#include "crbm_hd.cuh"

namespace crbm::philox {

struct Words4 {
  uint32_t x[4];
};

constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

CRBM_HD void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

CRBM_HD Words4 philox4x32_10(Words4 ctr, uint32_t key0, uint32_t key1) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, ctr.x[0], hi0, lo0);
    mulhilo(kMul1, ctr.x[2], hi1, lo1);
    Words4 next;
    next.x[0] = hi1 ^ ctr.x[1] ^ key0;
    next.x[1] = lo1;
    next.x[2] = hi0 ^ ctr.x[3] ^ key1;
    next.x[3] = lo0;
    ctr = next;
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return ctr;
}

// The block of four words that holds element `index` of draw (seed, stream, step).
CRBM_HD Words4 block(uint64_t seed, uint32_t stream, uint64_t step, uint64_t block_index) {
  Words4 ctr;
  ctr.x[0] = static_cast<uint32_t>(block_index);
  ctr.x[1] = stream ^ static_cast<uint32_t>(block_index >> 32);
  ctr.x[2] = static_cast<uint32_t>(step);
  ctr.x[3] = static_cast<uint32_t>(step >> 32);
  return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform in (0,1) for element `index` of the draw.
CRBM_HD float uniform(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index) {
  const Words4 w = block(seed, stream, step, index >> 2);
  return math::uniform_from_bits(w.x[index & 3]);
}

// Standard normal for element `index` of the draw.
CRBM_HD float normal(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index) {
  const Words4 w = block(seed, stream, step, index);
  return math::normal_from_uniforms(math::uniform_from_bits(w.x[0]),
                                    math::uniform_from_bits(w.x[1]));
}

}  // namespace crbm::philox
