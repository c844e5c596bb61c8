// The checked layer of crbm::Backend: every public operation checks its
// arguments once (devices, shapes, ranges), counts itself (BackendCounters),
// skips empty outputs and calls the backend's *_impl. The messages are the ones
// both backends used to repeat, so callers see the same errors on every device.
#include "crbm/backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "precision_math.cuh"

namespace crbm {

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return make_cpu_backend();
  if (device == "cuda" || device == "gpu") return make_cuda_backend(0);
  CRBM_FAIL("unknown device '", device, "' (expected cpu or cuda)");
}

const char* to_string(Precision p) {
  switch (p) {
    case Precision::fp32:
      return "fp32";
    case Precision::tf32:
      return "tf32";
    case Precision::bf16:
      return "bf16";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "tf32") return Precision::tf32;
  if (s == "bf16") return Precision::bf16;
  CRBM_FAIL("unknown precision '", s, "' (expected fp32, tf32 or bf16)");
}

int mantissa_bits(Precision p) {
  switch (p) {
    case Precision::fp32:
      return math::kFp32MantissaBits;
    case Precision::tf32:
      return math::kTf32MantissaBits;
    case Precision::bf16:
      return math::kBf16MantissaBits;
  }
  return math::kFp32MantissaBits;
}

std::string BackendCounters::to_string() const {
  return fmt::format(
      "allocations={} deallocations={} uploads={} downloads={} synchronizations={} "
      "host_reductions={} host_indexed={}",
      allocations, deallocations, uploads, downloads, synchronizations, host_reductions,
      host_indexed);
}

namespace {

void check_same_shape(CMatRef a, CMatRef b, const char* op) {
  CRBM_CHECK_THROW(a.rows == b.rows && a.cols == b.cols, op, ": shape ", a.rows, "x", a.cols,
                   " vs ", b.rows, "x", b.cols);
}

// Throws unless `m` is memory of the device `mine` (Backend::check_mine).
void check_device(Device mine, CMatRef m, const char* what) {
  CRBM_CHECK_THROW(m.device == mine, what, " is ", crbm::to_string(m.device),
                   " memory, passed to the ", crbm::to_string(mine), " backend");
}

// The two operands of an elementwise op: both memory of `mine` (named `a_what`, `b_what`),
// then one shape (named by `op`).
void check_pair(Device mine, CMatRef a, const char* a_what, CMatRef b, const char* b_what,
                const char* op) {
  check_device(mine, a, a_what);
  check_device(mine, b, b_what);
  check_same_shape(a, b, op);
}

// An optional 1 x cols operand (empty: absent) has one entry per column.
void check_per_column(CMatRef v, int64_t cols, const char* what) {
  if (v.data == nullptr) return;
  CRBM_CHECK_THROW(v.size() == cols, what, " has ", v.size(), " elements for ", cols, " columns");
}

void check_group(int64_t group, int64_t cols, const char* op) {
  CRBM_CHECK_THROW(group > 0 && cols % group == 0, op, ": group size ", group, " does not divide ",
                   cols, " columns");
}

// Byte ranges [a, a + n) and [b, b + n) overlap (compared as integers: the
// pointers may belong to different arrays).
bool overlaps(const float* a, const float* b, int64_t n) {
  const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  const auto bytes = static_cast<uintptr_t>(n) * sizeof(float);
  return pa < pb + bytes && pb < pa + bytes;
}

}  // namespace

void Backend::check_mine(CMatRef m, const char* what) const {
  check_device(device(), m, what);
}

// ---------------------------------------------------------------- memory

float* Backend::allocate(size_t count) {
  if (count == 0) return nullptr;
  float* p = allocate_impl(count);
  ++counters_.allocations;
  return p;
}

void Backend::deallocate(float* ptr) noexcept {
  if (ptr == nullptr) return;
  ++counters_.deallocations;
  deallocate_impl(ptr);
}

void Backend::upload(const float* host, MatRef dst) {
  check_mine(dst, "upload destination");
  ++counters_.uploads;
  if (dst.size() == 0) return;
  ++counters_.operations;
  upload_impl(host, dst);
}

void Backend::download(CMatRef src, float* host) {
  check_mine(src, "download source");
  ++counters_.downloads;
  if (src.size() == 0) return;
  ++counters_.operations;
  download_impl(src, host);
}

void Backend::copy(CMatRef src, MatRef dst) {
  check_pair(device(), src, "copy source", dst, "copy destination", "copy");
  const int64_t n = src.size();
  if (n == 0 || src.data == dst.data) return;
  CRBM_CHECK_THROW(!overlaps(src.data, dst.data, n),
                   "copy: source and destination overlap (they must be the same range or "
                   "disjoint)");
  ++counters_.operations;
  copy_impl(src, dst);
}

void Backend::fill(MatRef dst, float value) {
  check_mine(dst, "fill destination");
  if (dst.size() == 0) return;
  ++counters_.operations;
  fill_impl(dst, value);
}

void Backend::synchronize() {
  ++counters_.synchronizations;
  synchronize_impl();
}

// ---------------------------------------------------------------- dense algebra

void Backend::gemm(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta,
                   MatRef c) {
  check_mine(a, "gemm A");
  check_mine(b, "gemm B");
  check_mine(c, "gemm C");
  const int64_t m = trans_a ? a.cols : a.rows;
  const int64_t k = trans_a ? a.rows : a.cols;
  const int64_t kb = trans_b ? b.cols : b.rows;
  const int64_t n = trans_b ? b.rows : b.cols;
  CRBM_CHECK_THROW(k == kb && c.rows == m && c.cols == n, "gemm shapes: op(A) ", m, "x", k,
                   ", op(B) ", kb, "x", n, ", C ", c.rows, "x", c.cols);
  if (m == 0 || n == 0) return;
  // Both BLAS libraries take 32-bit sizes and leading dimensions.
  const int64_t largest = std::max({m, n, k, a.cols, b.cols, c.cols});
  CRBM_CHECK_THROW(largest <= INT_MAX, "gemm: dimension ", largest,
                   " exceeds the 32-bit range of BLAS");
  ++counters_.operations;
  gemm_impl(trans_a, trans_b, alpha, a, b, beta, c);
}

void Backend::axpby(float alpha, CMatRef x, float beta, MatRef y) {
  check_pair(device(), x, "axpby x", y, "axpby y", "axpby");
  if (y.size() == 0) return;
  ++counters_.operations;
  axpby_impl(alpha, x, beta, y);
}

void Backend::column_sums(CMatRef x, float alpha, float beta, MatRef out) {
  check_mine(x, "column_sums input");
  check_mine(out, "column_sums output");
  CRBM_CHECK_THROW(out.size() == x.cols, "column_sums: output has ", out.size(), " elements for ",
                   x.cols, " columns");
  if (out.size() == 0) return;
  ++counters_.operations;
  column_sums_impl(x, alpha, beta, out);
}

void Backend::row_reduce(CMatRef x, RowReduce op, MatRef out) {
  check_mine(x, "row_reduce input");
  check_mine(out, "row_reduce output");
  CRBM_CHECK_THROW(out.size() == x.rows, "row_reduce: output has ", out.size(), " elements for ",
                   x.rows, " rows");
  if (out.size() == 0) return;
  ++counters_.operations;
  row_reduce_impl(x, op, out);
}

// ---------------------------------------------------------------- fused elementwise

void Backend::scale_add_activate(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                                 Activation act) {
  check_mine(x, "scale_add_activate input");
  if (col_scale.data) check_mine(col_scale, "scale_add_activate col_scale");
  check_per_column(col_scale, x.cols, "col_scale");
  if (bias.data) check_mine(bias, "scale_add_activate bias");
  check_per_column(bias, x.cols, "bias");
  if (x.size() == 0) return;
  ++counters_.operations;
  scale_add_activate_impl(x, scale, col_scale, bias, act);
}

void Backend::momentum_update(MatRef param, MatRef velocity, CMatRef grad, float lr, float momentum,
                              float l2, float l1) {
  check_mine(param, "momentum_update param");
  check_mine(velocity, "momentum_update velocity");
  check_mine(grad, "momentum_update grad");
  check_same_shape(param, velocity, "momentum_update");
  check_same_shape(param, grad, "momentum_update");
  if (param.size() == 0) return;
  ++counters_.operations;
  momentum_update_impl(param, velocity, grad, lr, momentum, l2, l1);
}

// ---------------------------------------------------------------- random

void Backend::sample_bernoulli(CMatRef probs, MatRef out, RngKey key) {
  check_pair(device(), probs, "sample_bernoulli probs", out, "sample_bernoulli output",
             "sample_bernoulli");
  if (out.size() == 0) return;
  ++counters_.operations;
  sample_bernoulli_impl(probs, out, key);
}

void Backend::sample_gaussian(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) {
  check_pair(device(), mean, "sample_gaussian mean", out, "sample_gaussian output",
             "sample_gaussian");
  if (col_sigma.data) check_mine(col_sigma, "sample_gaussian sigma");
  check_per_column(col_sigma, out.cols, "sigma");
  if (out.size() == 0) return;
  ++counters_.operations;
  sample_gaussian_impl(mean, col_sigma, out, key);
}

void Backend::fill_uniform(MatRef out, RngKey key) {
  check_mine(out, "fill_uniform output");
  if (out.size() == 0) return;
  ++counters_.operations;
  fill_uniform_impl(out, key);
}

void Backend::fill_normal(MatRef out, float mean, float stddev, RngKey key) {
  check_mine(out, "fill_normal output");
  if (out.size() == 0) return;
  ++counters_.operations;
  fill_normal_impl(out, mean, stddev, key);
}

void Backend::fill_binary_codes(MatRef out, uint64_t first) {
  check_mine(out, "fill_binary_codes output");
  CRBM_CHECK_THROW(out.cols <= 64, "fill_binary_codes: ", out.cols, " bits do not fit 64");
  if (out.size() == 0) return;
  ++counters_.operations;
  fill_binary_codes_impl(out, first);
}

// ---------------------------------------------------------------- softmax units, fine-tuning

void Backend::softmax_groups(MatRef x, int64_t group) {
  check_mine(x, "softmax_groups input");
  check_group(group, x.cols, "softmax_groups");
  if (x.size() == 0) return;
  ++counters_.operations;
  softmax_groups_impl(x, group);
}

void Backend::sample_softmax_groups(CMatRef probs, int64_t group, MatRef out, RngKey key) {
  check_pair(device(), probs, "sample_softmax_groups probs", out, "sample_softmax_groups output",
             "sample_softmax_groups");
  check_group(group, probs.cols, "sample_softmax_groups");
  if (out.size() == 0) return;
  ++counters_.operations;
  sample_softmax_groups_impl(probs, group, out, key);
}

void Backend::sample_multinomial_counts(CMatRef probs, CMatRef totals, MatRef out, RngKey key) {
  check_mine(probs, "sample_multinomial_counts probs");
  check_mine(totals, "sample_multinomial_counts totals");
  check_mine(out, "sample_multinomial_counts output");
  check_same_shape(probs, out, "sample_multinomial_counts");
  CRBM_CHECK_THROW(totals.size() == probs.rows, "sample_multinomial_counts: ", totals.size(),
                   " totals for ", probs.rows, " rows");
  if (probs.rows == 0) return;
  ++counters_.operations;
  sample_multinomial_counts_impl(probs, totals, out, key);
}

void Backend::multiply(CMatRef a, MatRef y) {
  check_pair(device(), a, "multiply a", y, "multiply y", "multiply");
  if (y.size() == 0) return;
  ++counters_.operations;
  multiply_impl(a, y);
}

void Backend::sigmoid_backward(CMatRef h, MatRef delta) {
  check_pair(device(), h, "sigmoid_backward h", delta, "sigmoid_backward delta",
             "sigmoid_backward");
  if (delta.size() == 0) return;
  ++counters_.operations;
  sigmoid_backward_impl(h, delta);
}

// ---------------------------------------------------------------- annealed importance sampling

namespace {

// The schedule is one row (or empty); min_k <= k < its length.
void check_schedule(CMatRef betas, int64_t k, int64_t min_k, const char* op) {
  CRBM_CHECK_THROW(betas.rows == 1 || betas.size() == 0, op, ": betas is ", betas.rows, "x",
                   betas.cols, " (one row of inverse temperatures expected)");
  CRBM_CHECK_THROW(k >= min_k && k < betas.size(), op, ": step ", k, " outside the schedule's ",
                   min_k, "..", betas.size() - 1);
}

// An M x 1 column of per-run values.
void check_per_row(CMatRef v, int64_t rows, const char* op, const char* what) {
  CRBM_CHECK_THROW(v.rows == rows && v.cols == 1, op, ": ", what, " is ", v.rows, "x", v.cols,
                   " for ", rows, " runs (", rows, "x1 expected)");
}

}  // namespace

void Backend::ais_hidden_step(CMatRef pre, CMatRef hidden_bias, CMatRef betas, int64_t k,
                              CMatRef dv, MatRef log_w, MatRef hidden, RngKey key) {
  const char* op = "ais_hidden_step";
  check_mine(pre, "ais_hidden_step pre");
  check_mine(hidden_bias, "ais_hidden_step hidden_bias");
  check_mine(betas, "ais_hidden_step betas");
  check_mine(dv, "ais_hidden_step dv");
  check_mine(log_w, "ais_hidden_step log_w");
  CRBM_CHECK_THROW(hidden_bias.size() == pre.cols, op, ": hidden_bias has ", hidden_bias.size(),
                   " elements for ", pre.cols, " hidden units");
  check_schedule(betas, k, 1, op);
  check_per_row(dv, pre.rows, op, "dv");
  CRBM_CHECK_THROW(log_w.rows == pre.rows && log_w.cols == 2, op, ": log_w is ", log_w.rows, "x",
                   log_w.cols, " for ", pre.rows, " runs (", pre.rows,
                   "x2 expected: the compensated pair)");
  if (hidden.data != nullptr) {
    check_mine(hidden, "ais_hidden_step hidden");
    check_same_shape(pre, hidden, op);
  }
  if (pre.rows == 0) return;
  ++counters_.operations;
  ais_hidden_step_impl(pre, hidden_bias, betas, k, dv, log_w, hidden, key);
}

void Backend::ais_visible_step(MatRef v, UnitDraw draw, const AisVisibleRows& rows, CMatRef betas,
                               int64_t k, MatRef dv, MatRef scaled, RngKey key) {
  const char* op = "ais_visible_step";
  check_mine(v, "ais_visible_step v");
  check_mine(rows.base_bias, "ais_visible_step base_bias");
  check_mine(rows.bias, "ais_visible_step bias");
  check_mine(rows.d, "ais_visible_step d");
  check_mine(betas, "ais_visible_step betas");
  check_mine(dv, "ais_visible_step dv");
  CRBM_CHECK_THROW(rows.base_bias.size() == v.cols, op, ": base_bias has ", rows.base_bias.size(),
                   " elements for ", v.cols, " visible units");
  CRBM_CHECK_THROW(rows.bias.size() == v.cols, op, ": bias has ", rows.bias.size(),
                   " elements for ", v.cols, " visible units");
  CRBM_CHECK_THROW(rows.d.size() == v.cols, op, ": d has ", rows.d.size(), " elements for ", v.cols,
                   " visible units");
  if (rows.col_sigma.data) check_mine(rows.col_sigma, "ais_visible_step col_sigma");
  check_per_column(rows.col_sigma, v.cols, "col_sigma");
  CRBM_CHECK_THROW(draw == UnitDraw::gaussian || rows.col_sigma.data == nullptr, op,
                   ": col_sigma is given for Bernoulli units");
  check_schedule(betas, k, 0, op);
  check_per_row(dv, v.rows, op, "dv");
  if (rows.inv_sigma.data) {
    check_mine(rows.inv_sigma, "ais_visible_step inv_sigma");
    check_per_column(rows.inv_sigma, v.cols, "inv_sigma");
    check_mine(scaled, "ais_visible_step scaled");
    check_same_shape(v, scaled, op);
  } else {
    CRBM_CHECK_THROW(scaled.data == nullptr, op, ": scaled is given without inv_sigma");
  }
  if (v.rows == 0) return;
  ++counters_.operations;
  ais_visible_step_impl(v, draw, rows, betas, k, dv, scaled, key);
}

// ---------------------------------------------------------------- data movement

void Backend::gather_rows(CMatRef src, const std::vector<int32_t>& index, MatRef dst) {
  check_mine(src, "gather_rows source");
  check_mine(dst, "gather_rows destination");
  CRBM_CHECK_THROW(dst.rows == static_cast<int64_t>(index.size()) && dst.cols == src.cols,
                   "gather_rows: ", index.size(), " indices into a ", dst.rows, "x", dst.cols,
                   " destination from ", src.cols, " columns");
  for (int32_t i : index) {
    CRBM_CHECK_THROW(i >= 0 && i < src.rows, "gather_rows: index ", i, " outside ", src.rows,
                     " rows");
  }
  ++counters_.host_indexed;
  if (dst.size() == 0) return;
  ++counters_.operations;
  gather_rows_impl(src, index, dst);
}

// ---------------------------------------------------------------- host-returning reductions

double Backend::sum_squared_diff(CMatRef a, CMatRef b) {
  check_pair(device(), a, "sum_squared_diff a", b, "sum_squared_diff b", "sum_squared_diff");
  ++counters_.host_reductions;
  if (a.size() == 0) return 0.0;
  ++counters_.operations;
  return sum_squared_diff_impl(a, b);
}

bool Backend::all_finite(CMatRef x) {
  check_mine(x, "all_finite input");
  ++counters_.host_reductions;
  if (x.size() == 0) return true;
  ++counters_.operations;
  return all_finite_impl(x);
}

// Counted as one host reduction: its 1 x cols temporary and its download are
// implementation details, made through the *_impl layer.
double Backend::mean(CMatRef x) {
  check_mine(x, "mean input");
  ++counters_.host_reductions;
  if (x.rows == 0 || x.cols == 0) return 0.0;
  ++counters_.operations;
  const int64_t cols = x.cols;
  std::vector<float> host(static_cast<size_t>(cols));
  float* column_means = allocate_impl(static_cast<size_t>(cols));
  try {
    const MatRef means{column_means, 1, cols, device()};
    column_sums_impl(x, 1.0f / static_cast<float>(x.rows), 0.0f, means);
    download_impl(means, host.data());
  } catch (...) {
    deallocate_impl(column_means);
    throw;
  }
  deallocate_impl(column_means);
  double total = 0.0;
  for (float c : host) total += c;
  return total / static_cast<double>(cols);
}

}  // namespace crbm
