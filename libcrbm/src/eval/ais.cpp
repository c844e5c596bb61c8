// AIS for dense RBMs (see ais.hpp). With E_k = (1-beta) E_A + beta E_B and
// x = (v/s)'W + c [M x H]:
//   Bernoulli: log p_k*(v) = ((1-beta) b_A + beta b)'v + sum_j softplus(beta x_j)
//              h ~ sigm(beta x),  v ~ sigm(beta W h + (1-beta) b_A + beta b)
//   Gaussian:  log p_k*(v) = -sum_i [(1-beta)(v_i-b_A,i)^2 + beta (v_i-b_i)^2] / (2 s_i^2)
//                            + sum_j softplus(beta x_j)
//              h ~ sigm(beta x),  v ~ N((1-beta) b_A + beta (b + s (W h)), s^2)
// The increment log p_k*(v) - log p_{k-1}*(v) for one v is
//   (beta_k - beta_{k-1}) (v'd - const) + sum softplus(beta_k x) - sum softplus(beta_{k-1} x)
// with d = b - b_A, const = 0 (Bernoulli) or d = (b - b_A)/s^2, const = sum (b^2 - b_A^2)/(2 s^2)
// (Gaussian); the constant telescopes to -const over the schedule and is added on the host.
#include "crbm/ais.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "crbm/mathutil.hpp"
#include "crbm/memory.hpp"
#include "crbm_hd.cuh"
#include "rng_streams.hpp"

namespace crbm {
namespace {

using namespace rng_stream::ais;  // Philox stream ids (rng_streams.hpp)

// Appends first, first + 1/n, ..., (excluding last) to `out`.
void append_segment(std::vector<double>& out, double first, double last, int64_t intervals) {
  for (int64_t i = 0; i < intervals; ++i) {
    out.push_back(first + (last - first) * static_cast<double>(i) / static_cast<double>(intervals));
  }
}

}  // namespace

void AisConfig::validate() const {
  if (runs < 1) CRBM_FAIL("invalid AIS configuration: runs = ", runs, " (must be >= 1)");
  if (steps < 0) CRBM_FAIL("invalid AIS configuration: steps = ", steps, " (must be >= 0)");
  if (betas.empty() && steps > 0 && steps < 3) {
    CRBM_FAIL("invalid AIS configuration: steps = ", steps,
              " (at least 3: one per segment of the schedule)");
  }
  if (flush_every < 1) {
    CRBM_FAIL("invalid AIS configuration: flush_every = ", flush_every, " (must be >= 1)");
  }
  if (!betas.empty()) {
    if (betas.size() < 2 || betas.front() != 0.0 || betas.back() != 1.0) {
      CRBM_FAIL(
          "invalid AIS configuration: betas must start at 0, end at 1 and have at least "
          "two values (got ",
          betas.size(), " values)");
    }
    for (size_t k = 1; k < betas.size(); ++k) {
      if (!(betas[k] > betas[k - 1])) {
        CRBM_FAIL("invalid AIS configuration: betas must increase strictly (betas[", k,
                  "] = ", betas[k], " after ", betas[k - 1], ")");
      }
    }
  }
}

std::vector<double> ais_schedule(const AisConfig& config) {
  config.validate();
  if (!config.betas.empty()) return config.betas;
  int64_t n1 = 500, n2 = 4000, n3 = 10000;
  if (config.steps > 0) {
    const double k = static_cast<double>(config.steps);
    n1 = std::max<int64_t>(1, std::llround(k * 500.0 / 14500.0));
    n2 = std::max<int64_t>(1, std::llround(k * 4000.0 / 14500.0));
    n3 = config.steps - n1 - n2;
    if (n3 < 1) {  // tiny schedules: take the missing interval from the middle segment
      n2 -= 1 - n3;
      n3 = 1;
    }
  }
  // The schedule is held as double here and as float by the samplers.
  check_host_allocation("the AIS schedule (one inverse temperature per step)",
                        static_cast<uint64_t>(n1 + n2 + n3) + 1, sizeof(double) + sizeof(float),
                        "the number of AIS steps, AisConfig::steps / --ais-steps");
  std::vector<double> betas;
  betas.reserve(static_cast<size_t>(n1 + n2 + n3 + 1));
  append_segment(betas, 0.0, 0.5, n1);
  append_segment(betas, 0.5, 0.9, n2);
  append_segment(betas, 0.9, 1.0, n3);
  betas.push_back(1.0);
  return betas;
}

HostTensor ais_base_visible_bias(const Rbm& rbm, const HostTensor& base_data) {
  const int64_t nv = rbm.visible();
  HostTensor b({1, nv}, 0.0f);
  if (base_data.numel() == 0) {
    if (rbm.visible_type() == VisibleType::gaussian) b = rbm.visible_bias().download();
    return b;
  }
  CRBM_CHECK_THROW(base_data.cols() == nv, "AIS base data has ", base_data.cols(), " columns for ",
                   nv, " visible units");
  const int64_t n = base_data.rows();
  std::vector<double> sum(static_cast<size_t>(nv), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < nv; ++i) sum[i] += base_data.data[r * nv + i];
  }
  if (rbm.visible_type() == VisibleType::gaussian) {
    for (int64_t i = 0; i < nv; ++i) b.data[i] = static_cast<float>(sum[i] / double(n));
    return b;
  }
  // 5 pseudo-counts per 100-case batch as in the authors' base_rate.m, added to both
  // outcomes: their (count + 5B) / (N + 5B) gives p = 1 (b_A = +inf) for a unit that is
  // on in every row (e.g. bars' corners are not, but a constant pixel would be).
  const double pseudo = 5.0 * std::ceil(static_cast<double>(n) / 100.0);
  for (int64_t i = 0; i < nv; ++i) {
    const double p = (sum[i] + pseudo) / (static_cast<double>(n) + 2.0 * pseudo);
    b.data[i] = static_cast<float>(std::log(p) - std::log1p(-p));
  }
  return b;
}

double ais_base_log_partition(const Rbm& rbm, const HostTensor& base_visible_bias) {
  CRBM_CHECK_THROW(base_visible_bias.numel() == rbm.visible(), "base visible bias has ",
                   base_visible_bias.numel(), " elements for ", rbm.visible(), " visible units");
  double log_z = static_cast<double>(rbm.hidden()) * std::log(2.0);
  if (rbm.visible_type() == VisibleType::bernoulli) {
    for (float b : base_visible_bias.data) log_z += math::softplus(static_cast<double>(b));
  } else {
    const HostTensor sigma = rbm.visible_sigma().download();
    for (float s : sigma.data) log_z += 0.5 * std::log(2.0 * M_PI) + std::log(double(s));
  }
  return log_z;
}

AisResult ais_log_partition(const Rbm& rbm, const HostTensor& base_data, const AisConfig& config) {
  const std::vector<double> schedule = ais_schedule(config);
  // The backend takes float scales; the schedule is rounded once so that the
  // beta used for a transition and for the two log p_k* it enters are identical.
  std::vector<float> betas(schedule.size());
  for (size_t k = 0; k < schedule.size(); ++k) betas[k] = static_cast<float>(schedule[k]);
  const int64_t steps = static_cast<int64_t>(betas.size()) - 1;

  Backend& be = rbm.backend();
  const int64_t m = config.runs, nv = rbm.visible(), nh = rbm.hidden();
  const bool gaussian = rbm.visible_type() == VisibleType::gaussian;
  const CMatRef sigma = (gaussian && !rbm.unit_sigma()) ? rbm.visible_sigma().cref() : CMatRef{};

  const HostTensor base_bias_host = ais_base_visible_bias(rbm, base_data);
  AisResult result;
  result.log_z_base = ais_base_log_partition(rbm, base_bias_host);
  result.runs = config.runs;
  result.steps = steps;

  // Per-model rows: b_A, d (see the file comment) and the host constant.
  Matrix base_bias = Matrix::from_host(be, base_bias_host);  // [1 x V]
  HostTensor d_host({1, nv});
  double visible_constant = 0.0;
  {
    const HostTensor b = rbm.visible_bias().download();
    const HostTensor s = rbm.visible_sigma().download();
    for (int64_t i = 0; i < nv; ++i) {
      const double bi = b.data[i], ai = base_bias_host.data[i];
      if (gaussian) {
        const double s2 = double(s.data[i]) * s.data[i];
        d_host.data[i] = static_cast<float>((bi - ai) / s2);
        visible_constant += (bi * bi - ai * ai) / (2.0 * s2);
      } else {
        d_host.data[i] = static_cast<float>(bi - ai);
      }
    }
  }
  Matrix d = Matrix::from_host(be, d_host);  // [1 x V]
  Matrix bias_k(be, 1, nv);                  // (1-beta) b_A + beta b

  Matrix v(be, m, nv), v_scaled(be, m, nv);                                      // [M x V]
  Matrix pre(be, m, nh), hidden(be, m, nh);                                      // [M x H]
  Matrix dv(be, m, 1), sp_prev(be, m, 1), increment(be, m, 1), log_w(be, m, 1);  // [M x 1]
  std::vector<double> log_w_total(static_cast<size_t>(m), 0.0);

  const auto start = std::chrono::steady_clock::now();
  be.fill(log_w, 0.0f);

  // x = (v/s)'W + c and v'd for the current v.
  auto visible_changed = [&]() {
    const CMatRef vs = rbm.scaled_visible(v, v_scaled);
    be.gemm(false, false, 1.0f, vs, rbm.weights(), 0.0f, pre);
    be.scale_add_activate(pre, 1.0f, CMatRef{}, rbm.hidden_bias(), Activation::linear);
    be.gemm(false, true, 1.0f, v, d, 0.0f, dv);
  };
  auto flush = [&]() {
    const HostTensor w = log_w.download();
    for (int64_t r = 0; r < m; ++r) log_w_total[r] += w.data[r];
    be.fill(log_w, 0.0f);
  };

  // v_1 ~ p_0: independent units with the base biases.
  be.fill(v, 0.0f);
  be.scale_add_activate(v, 1.0f, CMatRef{}, base_bias,
                        gaussian ? Activation::linear : Activation::sigmoid);
  const RngKey first_key{config.seed, kStreamAisVisible, 0};
  if (gaussian) {
    be.sample_gaussian(v, sigma, v, first_key);
  } else {
    be.sample_bernoulli(v, v, first_key);
  }
  visible_changed();

  for (int64_t k = 1; k <= steps; ++k) {
    const float beta_prev = betas[k - 1], beta = betas[k];
    // increment = (beta - beta_prev) v'd + sum softplus(beta x) - sum softplus(beta_prev x)
    be.copy(pre, hidden);
    be.scale_add_activate(hidden, beta_prev, CMatRef{}, CMatRef{}, Activation::linear);
    be.row_reduce(hidden, RowReduce::softplus_sum, sp_prev);
    be.copy(pre, hidden);
    be.scale_add_activate(hidden, beta, CMatRef{}, CMatRef{}, Activation::linear);
    be.row_reduce(hidden, RowReduce::softplus_sum, increment);
    be.axpby(-1.0f, sp_prev, 1.0f, increment);
    be.axpby(beta - beta_prev, dv, 1.0f, increment);
    be.axpby(1.0f, increment, 1.0f, log_w);
    if (k % config.flush_every == 0) flush();
    if (k == steps) break;

    // Gibbs transition T_k, which leaves p_k invariant: h | v, then v | h.
    const uint64_t step = static_cast<uint64_t>(k);
    be.scale_add_activate(hidden, 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
    be.sample_bernoulli(hidden, hidden, RngKey{config.seed, kStreamAisHidden, step});
    be.copy(rbm.visible_bias(), bias_k);
    be.axpby(1.0f - beta, base_bias, beta, bias_k);
    be.gemm(false, true, 1.0f, hidden, rbm.weights(), 0.0f, v);  // W h   [M x V]
    const RngKey visible_key{config.seed, kStreamAisVisible, step};
    if (gaussian) {
      be.scale_add_activate(v, beta, sigma, bias_k, Activation::linear);
      be.sample_gaussian(v, sigma, v, visible_key);
    } else {
      be.scale_add_activate(v, beta, CMatRef{}, bias_k, Activation::sigmoid);
      be.sample_bernoulli(v, v, visible_key);
    }
    visible_changed();
  }
  if (steps % config.flush_every != 0) flush();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // log Z_B = log mean(w) + log Z_A; band log(mean(w) +- 3 std(w) / sqrt(M)) as in the
  // authors' RBM_AIS.m (std with M - 1), computed relative to max(log w) to avoid overflow
  // (log_weight_band, crbm/mathutil.hpp).
  result.log_weights.resize(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r) {
    result.log_weights[r] = log_w_total[r] - visible_constant;
    if (!std::isfinite(result.log_weights[r])) {
      CRBM_FAIL("AIS: the log-weight of run ", r, " is ", result.log_weights[r],
                " (the model's parameters or the schedule produce non-finite energies)");
    }
  }
  const LogWeightBand band = log_weight_band(result.log_weights);
  const double offset = band.offset + result.log_z_base;
  result.log_z = band.log_mean + offset;
  result.log_z_high = band.log_high + offset;
  result.log_z_low = band.log_low + offset;
  return result;
}

LikelihoodEstimate ais_mean_log_likelihood(const Rbm& rbm, CMatRef data, const AisResult& ais) {
  const double neg_free_energy = -rbm.mean_free_energy(data);
  LikelihoodEstimate e;
  e.mean = neg_free_energy - ais.log_z;
  e.low = neg_free_energy - ais.log_z_high;
  e.high = neg_free_energy - ais.log_z_low;
  return e;
}

}  // namespace crbm
