// Exact log Z of a small RBM by batched enumeration (see exact.hpp).
#include "crbm/exact.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace crbm {
namespace {

// Streaming log-sum-exp in double.
class LogSumExp {
 public:
  void add(double x) {
    if (x == -std::numeric_limits<double>::infinity()) return;
    if (x > max_) {
      sum_ = sum_ * std::exp(max_ - x) + 1.0;
      max_ = x;
    } else {
      sum_ += std::exp(x - max_);
    }
  }
  double value() const { return max_ + std::log(sum_); }

 private:
  double max_ = -std::numeric_limits<double>::infinity();
  double sum_ = 0.0;
};

}  // namespace

bool exact_feasible(const Rbm& rbm, const ExactOptions& options) {
  const int64_t layer = rbm.visible_type() == VisibleType::gaussian
                            ? rbm.hidden()
                            : std::min(rbm.visible(), rbm.hidden());
  return layer <= options.max_enumerated_units;
}

double exact_log_partition(const Rbm& rbm, const ExactOptions& options) {
  Backend& be = rbm.backend();
  const int64_t v = rbm.visible(), h = rbm.hidden();
  const bool gaussian = rbm.visible_type() == VisibleType::gaussian;
  const bool enumerate_hidden = gaussian || h <= v;
  const int64_t bits = enumerate_hidden ? h : v;
  if (bits > options.max_enumerated_units) {
    CRBM_FAIL("exact log Z needs 2^", bits, " configurations (", v, " visible x ", h,
              " hidden); the limit is 2^", options.max_enumerated_units,
              " — use AIS for models this large");
  }
  const uint64_t total = uint64_t{1} << bits;
  // Bound the batch's working set (rows x max(V, H) floats) to 64 MiB.
  const int64_t memory_rows = std::max<int64_t>(1024, (int64_t{1} << 24) / std::max(v, h));
  const int64_t batch = static_cast<int64_t>(
      std::min<uint64_t>(total, uint64_t(std::min(options.batch, memory_rows))));
  Matrix codes(be, batch, bits);
  Matrix log_terms(be, batch, 1);
  Matrix pre(be, batch, enumerate_hidden ? v : h);
  Matrix extra(be, batch, 1);
  LogSumExp acc;

  // Per-visible-unit constants for the Gaussian case: b/s as a 1 x V row.
  Matrix b_over_s;
  if (gaussian) {
    b_over_s = Matrix(be, 1, v);
    be.copy(rbm.visible_bias(), b_over_s);
    be.scale_add_activate(b_over_s, 1.0f, rbm.inverse_sigma(), CMatRef{}, Activation::linear);
  }

  for (uint64_t first = 0; first < total; first += uint64_t(batch)) {
    const int64_t rows = static_cast<int64_t>(std::min<uint64_t>(uint64_t(batch), total - first));
    MatRef c = codes.rows_view(0, rows);
    be.fill_binary_codes(c, first);
    MatRef out = log_terms.rows_view(0, rows);
    if (!enumerate_hidden) {
      rbm.free_energy(c, out);
      be.axpby(0.0f, out, -1.0f, out);  // -F(v)
    } else {
      MatRef a = pre.rows_view(0, rows);
      MatRef e = extra.rows_view(0, rows);
      be.gemm(false, true, 1.0f, c, rbm.weights(), 0.0f, a);        // a = W h   [rows x V]
      be.gemm(false, true, 1.0f, c, rbm.hidden_bias(), 0.0f, out);  // c'h       [rows x 1]
      if (!gaussian) {
        be.scale_add_activate(a, 1.0f, CMatRef{}, rbm.visible_bias(), Activation::linear);
        be.row_reduce(a, RowReduce::softplus_sum, e);
        be.axpby(1.0f, e, 1.0f, out);
      } else {
        be.gemm(false, true, 1.0f, a, b_over_s, 0.0f, e);  // sum a_i b_i / s_i
        be.axpby(1.0f, e, 1.0f, out);
        be.row_reduce(a, RowReduce::square_sum, e);  // sum a_i^2
        be.axpby(0.5f, e, 1.0f, out);
      }
    }
    const HostTensor terms = log_terms.download();
    for (int64_t r = 0; r < rows; ++r) acc.add(terms.data[r]);
  }
  double log_z = acc.value();
  if (gaussian) {
    const HostTensor sigma = rbm.visible_sigma().download();
    for (float s : sigma.data) log_z += 0.5 * std::log(2.0 * M_PI) + std::log(double(s));
  }
  return log_z;
}

double mean_log_likelihood(const Rbm& rbm, CMatRef data, double log_z) {
  return -rbm.mean_free_energy(data) - log_z;
}

}  // namespace crbm
