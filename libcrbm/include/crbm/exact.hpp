// Exact log partition function of a small dense RBM, by enumerating the
// smaller layer and summing the other analytically, in log space:
//   enumerate h (Bernoulli v): log Z = logsumexp_h [ c'h + sum_i softplus(b_i + (W h)_i) ]
//   enumerate h (Gaussian v):  log Z = logsumexp_h [ c'h + sum_i (a_i b_i / s_i + a_i^2 / 2) ]
//                                     + sum_i log(sqrt(2 pi) s_i),   a = W h
//   enumerate v (Bernoulli v): log Z = logsumexp_v [ -F(v) ]
// Configurations are processed in batches through the model's backend (so the
// GPU enumerates in parallel); the log-sum-exp is accumulated in double.
#pragma once

#include "crbm/rbm.hpp"

namespace crbm {

struct ExactOptions {
  int max_enumerated_units = 30;  // refuse beyond 2^30 configurations
  int64_t batch = 1 << 16;        // configurations per backend batch
};

// Throws when the smaller layer has more than max_enumerated_units units.
double exact_log_partition(const Rbm& rbm, const ExactOptions& options = {});
// Mean over rows of log P(v) = -F(v) - log Z (data in the model's backend memory).
double mean_log_likelihood(const Rbm& rbm, CMatRef data, double log_z);
// True when exact_log_partition is feasible under the options.
bool exact_feasible(const Rbm& rbm, const ExactOptions& options = {});

}  // namespace crbm
