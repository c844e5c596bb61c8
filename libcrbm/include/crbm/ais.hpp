// Annealed importance sampling (Salakhutdinov & Murray, ICML 2008) for the log
// partition function of a dense RBM B, from a base model A with W = 0, c = 0:
//   p_k*(v) = sum_h exp(-(1-beta_k) E_A(v,h) - beta_k E_B(v,h)),  0 = beta_0 < ... < beta_K = 1
//   log w = sum_k [log p_k*(v_k) - log p_{k-1}*(v_k)],  v_{k+1} ~ T_k(v_k) (Gibbs at beta_k)
//   log Z_B ~= logmeanexp(log w) + log Z_A.  M runs advance together as one [M x V] batch.
#pragma once

#include <cstdint>
#include <vector>

#include "crbm/rbm.hpp"

namespace crbm {

struct AisConfig {
  int runs = 100;             // M, parallel annealing runs
  std::vector<double> betas;  // explicit schedule (0 first, 1 last, increasing); empty: default
  int64_t steps = 0;          // >0 (and betas empty): that many steps, three-segment shape
  uint64_t seed = 1;
  int64_t flush_every = 1024;  // steps between host accumulations of the log-weights (double)
  // CUDA backend: replay captured CUDA graphs of up to 256 steps (a divisor of flush_every)
  // instead of launching each step's four operations; the same draws and weights. No
  // effect on the CPU backend.
  bool cuda_graphs = true;

  // Throws crbm::Error naming the first invalid field.
  void validate() const;
};

// The inverse temperatures a config runs with (K + 1 values, 0 ... 1):
// default = the authors' [0:1/1000:0.5, 0.5:1/10000:0.9, 0.9:1/100000:1] (14,500 steps);
// steps = K > 0: K intervals split 500:4000:10000 over the same segments.
std::vector<double> ais_schedule(const AisConfig& config);

struct AisResult {
  double log_z = 0;       // estimate of log Z_B
  double log_z_low = 0;   // log(mean(w) - 3 std(w)/sqrt(M)) + log Z_A; -inf when that is <= 0
  double log_z_high = 0;  // log(mean(w) + 3 std(w)/sqrt(M)) + log Z_A
  double log_z_base = 0;  // log Z_A
  int runs = 0;
  int64_t steps = 0;                // K, transitions per run
  double seconds = 0;               // wall time of the annealing loop
  std::vector<double> log_weights;  // [M], log w of each run (without log Z_A)
};

// Sets result.log_z, log_z_low and log_z_high from result.log_weights and
// result.log_z_base: log Z_B = log mean(w) + log Z_A, band log(mean(w) +- 3 std(w) /
// sqrt(M)) with std over M - 1 as in the authors' RBM_AIS.m, computed relative to
// max(log w) (log_weight_band, crbm/mathutil.hpp). Every AIS estimator finishes here.
// Throws, naming `what` (e.g. "AIS") and the run, when a log-weight is not finite.
void set_ais_estimate(AisResult& result, const char* what);

// The base model's visible biases b_A from data (host, [N x V]):
//   Bernoulli: b_A = log(p / (1 - p)), p = (count + 5B) / (N + 10B) with B = ceil(N / 100):
//              the authors' pseudo-count of 5 per 100-case batch, given to both outcomes
//              (their (count + 5B) / (N + 5B) is 1, b_A = inf, for an always-on unit);
//   Gaussian:  b_A = data mean (sigma is the target's, so E_A = sum (v - b_A)^2 / (2 s^2)).
// Empty data: b_A = 0 (Bernoulli: uniform base) / the model's own b (Gaussian).
HostTensor ais_base_visible_bias(const Rbm& rbm, const HostTensor& base_data);

// log Z_A = sum_i softplus(b_A,i) + H log 2 (Bernoulli)
//         = sum_i log(sqrt(2 pi) s_i) + H log 2 (Gaussian).
double ais_base_log_partition(const Rbm& rbm, const HostTensor& base_visible_bias);

// AIS estimate of log Z for `rbm` (either visible type), all runs through the
// model's backend: per step Backend::ais_hidden_step, two products and
// Backend::ais_visible_step, with the schedule in backend memory. The weights stay on the
// backend in an [M x 2] matrix (a compensated float pair per run) and are downloaded
// every `flush_every` steps (to sum them in double) and at the end; nothing else
// transfers or waits between those downloads.
AisResult ais_log_partition(const Rbm& rbm, const HostTensor& base_data,
                            const AisConfig& config = {});

// Mean test log-likelihood with the AIS band:
//   mean log P(v) = -mean F(v) - log Z;  low/high use log_z_high/log_z_low.
struct LikelihoodEstimate {
  double mean = 0, low = 0, high = 0;
};
LikelihoodEstimate ais_mean_log_likelihood(const Rbm& rbm, CMatRef data, const AisResult& ais);

}  // namespace crbm
