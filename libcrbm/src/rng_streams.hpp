// The Philox stream ids of every random draw the library makes, in one table.
//
// A draw is keyed (seed, stream, counter) (philox.cuh): each kind of draw has its own
// stream, so changing one setting (k, the batch size, a schedule) never reshuffles
// unrelated draws, and same-seed runs stay reproducible. The ids are part of what makes
// a checkpoint reproducible: never renumber one. Each component's ids live in its own
// namespace (its source file says `using namespace rng_stream::<component>`); the
// static_assert below keeps all of them distinct.
#pragma once

#include <cstdint>

namespace crbm::rng_stream {

namespace cd {  // dense CD/PCD trainer (train/train.cpp)
enum : uint32_t { kStreamHidden = 1, kStreamVisible, kStreamBinarize, kStreamChainInit };
enum : uint32_t { kStreamShuffle = 5 };  // shuffled_indices: every trainer that shuffles rows
}  // namespace cd
namespace conv {  // convolutional CD trainer (train/conv_train.cpp)
enum : uint32_t { kStreamHidden = 21, kStreamVisible, kStreamChainInit };
}  // namespace conv
namespace mlp {  // fine-tuning network initialisation (models/mlp.cpp)
enum : uint32_t { kStreamMlpInit = 0x3170 };
}  // namespace mlp
namespace softmax {  // softmax / replicated softmax RBM (models/softmax_rbm.cpp)
enum : uint32_t {
  kStreamSmHidden = 0x5f01,
  kStreamSmVisible,
  kStreamSmAisHidden,
  kStreamSmAisVisible,
  kStreamSmAisInit
};
}  // namespace softmax
namespace ratings {  // ratings RBM: synthetic data and splits, model, trainer
enum : uint32_t { kStreamGenFactors = 0x7a01, kStreamGenChoice, kStreamGenRating, kStreamSplit };
enum : uint32_t { kStreamInit = 0x7a10 };
enum : uint32_t { kStreamHidden = 0x7a20, kStreamVisible, kStreamShuffle };
}  // namespace ratings
namespace ais {  // annealed importance sampling of RBMs (eval/ais.cpp)
enum : uint32_t { kStreamAisHidden = 0xa150, kStreamAisVisible };
}  // namespace ais
namespace dbm {  // DBM: joint training and pretraining (models/dbm.cpp, train/dbm_train.cpp)
enum : uint32_t { kStreamDbmGibbs = 0xd8b0, kStreamDbmInit, kStreamDbmBinarize };
enum : uint32_t { kStreamPreHidden = 0xd8b3, kStreamPreVisible, kStreamPreBinarize };
// The label group: its Gibbs draws, sample()'s uniform start, the labelled AIS's draws.
enum : uint32_t { kStreamDbmLabel = 0xd8b6, kStreamDbmLabelInit, kStreamDbmAisLabel };
}  // namespace dbm
namespace dbn {  // DBN: labelled top RBM, up-down passes (models/dbn.cpp)
enum : uint32_t {
  kStreamTopHidden = 0xdb01,
  kStreamTopVisible,
  kStreamTopLabel,
  kStreamTopInit,
  kStreamDown,
  kStreamUp,
  kStreamChainInit
};
}  // namespace dbn

namespace detail {
// clang-format off
constexpr uint32_t kAll[] = {
    cd::kStreamHidden, cd::kStreamVisible, cd::kStreamBinarize, cd::kStreamChainInit, cd::kStreamShuffle,
    conv::kStreamHidden, conv::kStreamVisible, conv::kStreamChainInit,
    mlp::kStreamMlpInit,
    softmax::kStreamSmHidden, softmax::kStreamSmVisible, softmax::kStreamSmAisHidden, softmax::kStreamSmAisVisible, softmax::kStreamSmAisInit,
    ratings::kStreamGenFactors, ratings::kStreamGenChoice, ratings::kStreamGenRating, ratings::kStreamSplit,
    ratings::kStreamInit, ratings::kStreamHidden, ratings::kStreamVisible, ratings::kStreamShuffle,
    ais::kStreamAisHidden, ais::kStreamAisVisible,
    dbm::kStreamDbmGibbs, dbm::kStreamDbmInit, dbm::kStreamDbmBinarize, dbm::kStreamPreHidden, dbm::kStreamPreVisible, dbm::kStreamPreBinarize, dbm::kStreamDbmLabel, dbm::kStreamDbmLabelInit, dbm::kStreamDbmAisLabel,
    dbn::kStreamTopHidden, dbn::kStreamTopVisible, dbn::kStreamTopLabel, dbn::kStreamTopInit, dbn::kStreamDown, dbn::kStreamUp, dbn::kStreamChainInit};
// clang-format on
constexpr bool all_distinct() {
  const int n = static_cast<int>(sizeof(kAll) / sizeof(kAll[0]));
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (kAll[i] == kAll[j]) return false;
  return true;
}
static_assert(all_distinct(), "two kinds of random draw share a Philox stream id");
}  // namespace detail

}  // namespace crbm::rng_stream
