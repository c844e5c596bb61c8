// AIS for a DBM with a label group y (see dbm.hpp), on its bipartite RBM (even x_e, odd x_o,
// weights W [E x O]) plus y, which couples to h_L through U and sits on the other side:
//   p_k*(x_e, y) = exp((1-beta) b_A'x_e + beta (b_e'x_e + c'y)) prod_j (1 + exp(beta z_j)),
//     z = x_e W + b_o (+ y U_o' when y is even)
// - y odd (2 hidden layers: h_L = h2 even): y is summed out with the odd side,
//   log p_k*(x_e) = (1-beta) b_A'x_e + beta b_e'x_e + sum_j softplus(beta z_j)
//                   + logsumexp_k beta (x_e U_e + c)_k
//   transition: h ~ sigm(beta z), y ~ softmax(beta (x_e U_e + c)), then
//               x_e ~ sigm(beta (W h + U_e y + b_e) + (1-beta) b_A);
// - y even (3 hidden layers: h_L = h3 odd): y is part of the chain state, sampled as
//   y ~ softmax(beta (h U_o + c)) after x_e ~ sigm(beta (W h + b_e) + (1-beta) b_A).
// The base model has W = 0, c = 0, U = 0: its y is uniform, so log Z_A = (the bipartite
// RBM's base log Z) + log K. U_e / U_o are U padded with zero rows to the whole side.
// The log-sum-exp terms are summed on the host in double, one [M x K] download per step.
#include <chrono>
#include <cmath>

#include "crbm/ais.hpp"
#include "crbm/mathutil.hpp"
#include "models/dbm_internal.hpp"
#include "rng_streams.hpp"

namespace crbm::detail {

AisResult dbm_labelled_ais(const Dbm& dbm, const Rbm& rbm, int64_t top_offset,
                           const HostTensor& base_data, const AisConfig& config) {
  CRBM_CHECK_THROW(dbm.labelled(), "dbm_labelled_ais: the DBM has no label group");
  const std::vector<double> schedule = ais_schedule(config);
  std::vector<float> betas(schedule.size());
  for (size_t k = 0; k < schedule.size(); ++k) betas[k] = static_cast<float>(schedule[k]);
  const int64_t steps = static_cast<int64_t>(betas.size()) - 1;

  Backend& be = rbm.backend();
  const int64_t m = config.runs, ne = rbm.visible(), no = rbm.hidden();
  const int64_t classes = dbm.num_classes();
  const size_t top = dbm.depth();
  const bool labels_odd = (top + 1) % 2 == 1;  // h_L even

  const HostTensor base_bias_host = ais_base_visible_bias(rbm, base_data);
  AisResult result;
  result.log_z_base = ais_base_log_partition(rbm, base_bias_host) + std::log(double(classes));
  result.runs = config.runs;
  result.steps = steps;

  // U padded to h_L's whole side: [E x K] (y odd) or [O x K] (y even).
  const int64_t side = labels_odd ? ne : no;
  HostTensor u_side({side, classes}, 0.0f);
  {
    const HostTensor u = dbm.label_weights().download();
    const int64_t n_top = dbm.layer_size(top);
    CRBM_CHECK_THROW(top_offset >= 0 && top_offset + n_top <= side, "dbm_labelled_ais: h_L at ",
                     top_offset, " outside a side of ", side, " units");
    std::copy(u.data.begin(), u.data.end(), u_side.data.begin() + top_offset * classes);
  }
  const Matrix u_pad = Matrix::from_host(be, u_side);
  const Matrix base_bias = Matrix::from_host(be, base_bias_host);  // [1 x E]
  HostTensor d_host = rbm.visible_bias().download();               // b_e - b_A
  for (int64_t i = 0; i < ne; ++i) d_host.data[i] -= base_bias_host.data[i];
  const Matrix d = Matrix::from_host(be, d_host);
  Matrix bias_k(be, 1, ne);

  Matrix x(be, m, ne), pre(be, m, no), hidden(be, m, no);
  Matrix y(be, m, classes), label_pre(be, m, classes), label_probs(be, m, classes);
  Matrix linear(be, m, 1), sp_prev(be, m, 1), increment(be, m, 1), log_w(be, m, 1);
  std::vector<double> log_w_total(static_cast<size_t>(m), 0.0);
  const auto start = std::chrono::steady_clock::now();
  be.fill(log_w, 0.0f);

  // pre = z, linear = (b_e - b_A)'x_e (+ c'y when y is even), label_pre = x_e U_e + c (y odd).
  auto state_changed = [&]() {
    be.gemm(false, false, 1.0f, x, rbm.weights(), 0.0f, pre);
    if (!labels_odd) be.gemm(false, true, 1.0f, y, u_pad, 1.0f, pre);
    be.scale_add_activate(pre, 1.0f, CMatRef{}, rbm.hidden_bias(), Activation::linear);
    be.gemm(false, true, 1.0f, x, d, 0.0f, linear);
    if (labels_odd) {
      be.gemm(false, false, 1.0f, x, u_pad, 0.0f, label_pre);
      be.scale_add_activate(label_pre, 1.0f, CMatRef{}, dbm.label_bias(), Activation::linear);
    } else {
      be.gemm(false, true, 1.0f, y, dbm.label_bias(), 1.0f, linear);
    }
  };
  auto flush = [&]() {
    const HostTensor w = log_w.download();
    for (int64_t r = 0; r < m; ++r) log_w_total[r] += w.data[r];
    be.fill(log_w, 0.0f);
  };
  // The base model: independent x_e with the base biases, a uniform class.
  be.fill(x, 0.0f);
  be.scale_add_activate(x, 1.0f, CMatRef{}, base_bias, Activation::sigmoid);
  be.sample_bernoulli(x, x, RngKey{config.seed, rng_stream::ais::kStreamAisVisible, 0});
  be.fill(label_probs, 1.0f / static_cast<float>(classes));
  be.sample_softmax_groups(label_probs, classes, y,
                           RngKey{config.seed, rng_stream::dbm::kStreamDbmAisLabel, 0});
  state_changed();

  std::vector<double> scaled(static_cast<size_t>(classes));
  for (int64_t k = 1; k <= steps; ++k) {
    const float beta_prev = betas[k - 1], beta = betas[k];
    be.copy(pre, hidden);
    be.scale_add_activate(hidden, beta_prev, CMatRef{}, CMatRef{}, Activation::linear);
    be.row_reduce(hidden, RowReduce::softplus_sum, sp_prev);
    be.copy(pre, hidden);
    be.scale_add_activate(hidden, beta, CMatRef{}, CMatRef{}, Activation::linear);
    be.row_reduce(hidden, RowReduce::softplus_sum, increment);
    be.axpby(-1.0f, sp_prev, 1.0f, increment);
    be.axpby(beta - beta_prev, linear, 1.0f, increment);
    be.axpby(1.0f, increment, 1.0f, log_w);
    if (labels_odd) {  // + logsumexp(beta a) - logsumexp(beta_prev a), a = x_e U_e + c
      const HostTensor a = label_pre.download();
      for (int64_t r = 0; r < m; ++r) {
        const float* row = a.data.data() + r * classes;
        for (int64_t c = 0; c < classes; ++c) scaled[c] = double(beta) * row[c];
        double delta = log_sum_exp(scaled);
        for (int64_t c = 0; c < classes; ++c) scaled[c] = double(beta_prev) * row[c];
        delta -= log_sum_exp(scaled);
        log_w_total[r] += delta;
      }
    }
    if (k % config.flush_every == 0) flush();
    if (k == steps) break;

    const uint64_t step = static_cast<uint64_t>(k);
    // The odd side given x_e: h, and y when it is odd.
    be.scale_add_activate(hidden, 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
    be.sample_bernoulli(hidden, hidden,
                        RngKey{config.seed, rng_stream::ais::kStreamAisHidden, step});
    if (labels_odd) {
      be.copy(label_pre, label_probs);
      be.scale_add_activate(label_probs, beta, CMatRef{}, CMatRef{}, Activation::linear);
      be.softmax_groups(label_probs, classes);
      be.sample_softmax_groups(label_probs, classes, y,
                               RngKey{config.seed, rng_stream::dbm::kStreamDbmAisLabel, step});
    }
    // The even side given the odd one: x_e, and y when it is even.
    be.copy(rbm.visible_bias(), bias_k);
    be.axpby(1.0f - beta, base_bias, beta, bias_k);
    be.gemm(false, true, 1.0f, hidden, rbm.weights(), 0.0f, x);
    if (labels_odd) be.gemm(false, true, 1.0f, y, u_pad, 1.0f, x);
    be.scale_add_activate(x, beta, CMatRef{}, bias_k, Activation::sigmoid);
    be.sample_bernoulli(x, x, RngKey{config.seed, rng_stream::ais::kStreamAisVisible, step});
    if (!labels_odd) {
      be.gemm(false, false, 1.0f, hidden, u_pad, 0.0f, label_probs);
      be.scale_add_activate(label_probs, 1.0f, CMatRef{}, dbm.label_bias(), Activation::linear);
      be.scale_add_activate(label_probs, beta, CMatRef{}, CMatRef{}, Activation::linear);
      be.softmax_groups(label_probs, classes);
      be.sample_softmax_groups(label_probs, classes, y,
                               RngKey{config.seed, rng_stream::dbm::kStreamDbmAisLabel, step});
    }
    state_changed();
  }
  if (steps % config.flush_every != 0) flush();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  result.log_weights = log_w_total;
  set_ais_estimate(result, "AIS (labelled DBM)");
  return result;
}

}  // namespace crbm::detail
