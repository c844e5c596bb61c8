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
//
// A step is four backend operations (Backend::ais_hidden_step, the product W h,
// Backend::ais_visible_step, the product (v/s)'W): the increment, the hidden draw, the
// blended visible bias, the visible draw and v'd are fused into the two AIS ops, which read
// beta_k and beta_{k-1} from the schedule held in backend memory. The softplus differences
// are computed without cancellation (-log1p(expm1(-delta) p), kernels/crbm_hd.cuh) and summed in
// double, and log w is kept as a compensated float pair between host flushes.
// The draws are those of the unfused sequence this replaced (the same float operations and
// Philox keys), so only the log-weights' rounding changed.
#include "crbm/ais.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "crbm/cuda_graph.hpp"
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

// The steps of one captured CUDA graph: the largest divisor of flush_every up to 256 (a
// graph of 4 x 256 + 1 nodes; replays then start on flush boundaries).
int64_t graph_chunk(int64_t flush_every) {
  for (int64_t c = std::min<int64_t>(flush_every, 256); c > 1; --c) {
    if (flush_every % c == 0) return c;
  }
  return 1;
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
  // The backend takes float inverse temperatures; the schedule is rounded once so that
  // the beta used for a transition and for the two log p_k* it enters are identical.
  HostTensor betas_host({1, static_cast<int64_t>(schedule.size())});
  for (size_t k = 0; k < schedule.size(); ++k) betas_host.data[k] = static_cast<float>(schedule[k]);
  const int64_t steps = static_cast<int64_t>(schedule.size()) - 1;

  Backend& be = rbm.backend();
  const int64_t m = config.runs, nv = rbm.visible(), nh = rbm.hidden();
  const bool gaussian = rbm.visible_type() == VisibleType::gaussian;
  const bool scaled_input = gaussian && !rbm.unit_sigma();  // the products take v / s
  const CMatRef sigma = scaled_input ? rbm.visible_sigma().cref() : CMatRef{};

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
  Matrix d = Matrix::from_host(be, d_host);          // [1 x V]
  Matrix betas = Matrix::from_host(be, betas_host);  // [1 x (K+1)], read at index k on the backend

  Matrix v(be, m, nv), v_scaled(be, scaled_input ? m : 0, nv);  // [M x V]
  Matrix pre(be, m, nh), hidden(be, m, nh);                     // [M x H]
  Matrix dv(be, m, 1), log_w(be, m, 2);  // v'd [M x 1]; log w as a compensated pair [M x 2]
  std::vector<double> log_w_total(static_cast<size_t>(m), 0.0);

  const AisVisibleRows visible_rows{base_bias, rbm.visible_bias(), sigma, d,
                                    scaled_input ? rbm.inverse_sigma().cref() : CMatRef{}};
  const UnitDraw draw = gaussian ? UnitDraw::gaussian : UnitDraw::bernoulli;
  const CMatRef product_input = scaled_input ? v_scaled.cref() : v.cref();
  const MatRef scaled_output = scaled_input ? v_scaled.ref() : MatRef{};

  // v ~ p(v | h) at beta_k from v = W h (v = 0 and k = 0: the base model), v'd, and
  // x - c = (v/s)'W for the next weight increment.
  auto visible_half = [&](int64_t k) {
    be.ais_visible_step(v, draw, visible_rows, betas, k, dv, scaled_output,
                        RngKey{config.seed, kStreamAisVisible, static_cast<uint64_t>(k)});
    be.gemm(false, false, 1.0f, product_input, rbm.weights(), 0.0f, pre);
  };
  // Step k: log w += log p_k*(v) - log p_{k-1}*(v), then the Gibbs transition T_k (which
  // leaves p_k invariant: h | v, then v | h) unless k is the last step. Four backend
  // operations, whose only host-varying argument is k.
  auto step = [&](int64_t k) {
    const bool transition = k < steps;
    be.ais_hidden_step(pre, rbm.hidden_bias(), betas, k, dv, log_w,
                       transition ? hidden.ref() : MatRef{},
                       RngKey{config.seed, kStreamAisHidden, static_cast<uint64_t>(k)});
    if (!transition) return;
    be.gemm(false, true, 1.0f, hidden, rbm.weights(), 0.0f, v);  // W h   [M x V]
    visible_half(k);
  };
  auto flush = [&]() {
    const HostTensor w = log_w.download();
    for (int64_t r = 0; r < m; ++r) {
      log_w_total[r] += static_cast<double>(w.data[2 * r]) + static_cast<double>(w.data[2 * r + 1]);
    }
    be.fill(log_w, 0.0f);
  };

  // On the CUDA backend a chunk of `chunk` steps (a divisor of flush_every) is captured
  // once, as steps 1..chunk, and replayed for every aligned chunk whose steps all have a
  // transition: the replay offset j * chunk advances the keys' step and the schedule index
  // alike, so replay j runs exactly steps j * chunk + 1 ... (j + 1) * chunk. The other
  // steps, and every step on the CPU backend, run eagerly (the same calls).
  const int64_t chunk =
      config.cuda_graphs && is_cuda_backend(be) ? graph_chunk(config.flush_every) : 0;
  CudaGraph graph;

  const auto start = std::chrono::steady_clock::now();
  be.fill(log_w, 0.0f);
  be.fill(v, 0.0f);
  visible_half(0);  // v_1 ~ p_0: independent units with the base biases
  for (int64_t k = 1; k <= steps;) {
    const int64_t flush_at =
        std::min(steps, (k - 1) / config.flush_every * config.flush_every + config.flush_every);
    while (k <= flush_at) {
      const int64_t last = k + chunk - 1;
      if (chunk > 0 && (k - 1) % chunk == 0 && last <= flush_at && last < steps) {
        if (graph.empty()) {
          GraphCapture capture;
          capture.begin(be, static_cast<uint64_t>(chunk));
          for (int64_t j = 1; j <= chunk; ++j) step(j);
          graph = capture.end();
        }
        const auto replay = static_cast<uint64_t>((k - 1) / chunk);
        if (graph.replay_index() != replay) graph.set_replay_index(replay);
        graph.launch();
        k = last + 1;
      } else {
        step(k);
        ++k;
      }
    }
    flush();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  result.log_weights.resize(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r) result.log_weights[r] = log_w_total[r] - visible_constant;
  set_ais_estimate(result, "AIS");
  return result;
}

void set_ais_estimate(AisResult& result, const char* what) {
  for (size_t r = 0; r < result.log_weights.size(); ++r) {
    if (!std::isfinite(result.log_weights[r])) {
      CRBM_FAIL(what, ": the log-weight of run ", r, " is ", result.log_weights[r],
                " (the model's parameters or the schedule produce non-finite energies)");
    }
  }
  const LogWeightBand band = log_weight_band(result.log_weights);
  const double offset = band.offset + result.log_z_base;
  result.log_z = band.log_mean + offset;
  result.log_z_high = band.log_high + offset;
  result.log_z_low = band.log_low + offset;
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
