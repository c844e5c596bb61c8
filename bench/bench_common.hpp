// Pieces the CPU and GPU benches share (header only: each bench is one source
// file): the skip without a GPU, the conv RBM CD-1 step and the AIS model.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>

#include "crbm/backend.hpp"
#include "crbm/conv_rbm.hpp"
#include "crbm/conv_train.hpp"
#include "crbm/rbm.hpp"
#include "support/random_data.hpp"

namespace crbm::bench {

// Marks the benchmark skipped, and says so, where no CUDA device is visible.
inline bool skip_without_gpu(benchmark::State& state) {
  if (cuda_available()) return false;
  state.SkipWithError("no CUDA device present (cuda_available() is false)");
  return true;
}

// A conv RBM of shape `s` (batch = minibatch size), its trainer, and one binary
// minibatch: what a CD-1 step bench times with trainer.update(batch).
struct ConvStep {
  ConvStep(Backend& be, const ConvShape& s, ConvAlgo algo = ConvAlgo::automatic)
      : rbm(be, s, VisibleType::bernoulli, algo),
        batch(Matrix::from_host(be, testing::random_binary(s.batch, s.visible_size(), 2))),
        trainer(init(rbm), config(s)) {}

  ConvRbm rbm;
  Matrix batch;
  ConvTrainer trainer;

 private:
  static ConvRbm& init(ConvRbm& r) {
    r.init_random(1, 0.01f);
    return r;
  }
  static ConvTrainConfig config(const ConvShape& s) {
    ConvTrainConfig cfg;
    cfg.batch_size = s.batch;
    cfg.sparsity_target = 0.02f;
    cfg.divergence_check_every = 1000000;
    return cfg;
  }
};

// The AIS benches' model: M = 100 runs on a 784 x 500 RBM of random weights, or the
// checkpoint named by CRBM_AIS_MODEL.
constexpr int64_t kAisVisible = 784, kAisHidden = 500, kAisRuns = 100, kAisFullSteps = 14500;

inline Rbm make_ais_rbm(Backend& be) {
  if (const char* path = std::getenv("CRBM_AIS_MODEL")) return Rbm(be, load_rbm_params(path));
  Rbm rbm(be, kAisVisible, kAisHidden);
  rbm.init_random(7, 0.01f);
  return rbm;
}

}  // namespace crbm::bench
