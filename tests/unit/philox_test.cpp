// Philox4x32-10 against the Random123 known-answer vectors (kat_vectors,
// philox4x32 with 10 rounds), and the uniform/normal conventions built on it.
#include "philox.cuh"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using crbm::philox::philox4x32_10;
using crbm::philox::Words4;

void expect_words(Words4 got, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  EXPECT_EQ(got.x[0], a);
  EXPECT_EQ(got.x[1], b);
  EXPECT_EQ(got.x[2], c);
  EXPECT_EQ(got.x[3], d);
}

TEST(Philox, KnownAnswerZeros) {
  expect_words(philox4x32_10(Words4{{0, 0, 0, 0}}, 0, 0), 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu,
               0x9b00dbd8u);
}

TEST(Philox, KnownAnswerOnes) {
  expect_words(philox4x32_10(Words4{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                             0xffffffffu, 0xffffffffu),
               0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
}

TEST(Philox, KnownAnswerPi) {
  expect_words(philox4x32_10(Words4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                             0xa4093822u, 0x299f31d0u),
               0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

TEST(Philox, UniformsAreOpenAndCentred) {
  double sum = 0.0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const float u = crbm::philox::uniform(42, 3, 7, i);
    ASSERT_GT(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
  }
  // Mean of n uniforms: sd = sqrt(1/12/n) ~ 6.5e-4; 5 sd.
  EXPECT_NEAR(sum / n, 0.5, 5 * std::sqrt(1.0 / 12.0 / n));
}

TEST(Philox, NormalMoments) {
  double s1 = 0.0, s2 = 0.0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = crbm::philox::normal(1, 0, 0, i);
    ASSERT_TRUE(std::isfinite(z));
    s1 += z;
    s2 += z * z;
  }
  EXPECT_NEAR(s1 / n, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
}

TEST(Philox, DistinctStreamsAndSteps) {
  EXPECT_NE(crbm::philox::uniform(1, 0, 0, 0), crbm::philox::uniform(1, 1, 0, 0));
  EXPECT_NE(crbm::philox::uniform(1, 0, 0, 0), crbm::philox::uniform(1, 0, 1, 0));
  EXPECT_NE(crbm::philox::uniform(1, 0, 0, 0), crbm::philox::uniform(2, 0, 0, 0));
  EXPECT_EQ(crbm::philox::uniform(9, 4, 5, 17), crbm::philox::uniform(9, 4, 5, 17));
}

}  // namespace
