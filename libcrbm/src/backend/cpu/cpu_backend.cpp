// CPU backend: OpenBLAS sgemm for the products, OpenMP loops for the rest.
// Reduced precision (tf32/bf16, crbm::Precision) is emulated: the operands are rounded
// element by element into scratch copies (math::round_mantissa), then multiplied by the
// same fp32 sgemm.
// Threads are one budget: OpenBLAS (OpenMP build) and our loops share the same
// OpenMP pool, sized once, so they never oversubscribe the cores.
// Per-element math comes from kernels/*.cuh, the same functions the CUDA
// kernels call. Arguments arrive checked and outputs non-empty (the public
// layer of crbm::Backend, backend.cpp); everything completes before returning.
#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/backend_checks.hpp"
#include "crbm/backend.hpp"
#include "crbm_hd.cuh"
#include "philox.cuh"
#include "precision_math.cuh"

extern "C" {
void openblas_set_num_threads(int);
char* openblas_get_config(void);
}

namespace crbm {
namespace {

// Parallel loops only pay above a few thousand elements.
constexpr int64_t kParallelMin = 1 << 14;
// sample_multinomial_counts: rows with more draws than this sort their uniforms.
constexpr int64_t kMultinomialScanMax = 16;

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) {
    threads_ = threads > 0 ? threads : omp_get_num_procs();
    omp_set_num_threads(threads_);
    openblas_set_num_threads(threads_);
  }

  Device device() const override { return Device::cpu; }
  std::string describe() const override {
    return fmt::format("cpu ({} thread{}, {})", threads_, threads_ == 1 ? "" : "s",
                       openblas_get_config());
  }

 protected:
  float* allocate_impl(size_t count) override {
    void* p = nullptr;
    if (posix_memalign(&p, 64, count * sizeof(float)) != 0 || p == nullptr) {
      CRBM_FAIL("out of host memory allocating ", count * sizeof(float), " bytes");
    }
    return static_cast<float*>(p);
  }
  void deallocate_impl(float* ptr) noexcept override { free(ptr); }

  void upload_impl(const float* host, MatRef dst) override {
    std::memcpy(dst.data, host, dst.size() * sizeof(float));
  }
  void download_impl(CMatRef src, float* host) override {
    std::memcpy(host, src.data, src.size() * sizeof(float));
  }
  void copy_impl(CMatRef src, MatRef dst) override {
    std::memcpy(dst.data, src.data, src.size() * sizeof(float));  // disjoint (checked)
  }
  void fill_impl(MatRef dst, float value) override {
    const int64_t n = dst.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dst.data[i] = value;
  }
  void synchronize_impl() override {}

  void gemm_impl(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta,
                 MatRef c) override {
    const int64_t m = c.rows, n = c.cols;
    const int64_t k = trans_a ? a.rows : a.cols;
    if (k == 0) {  // op(A) op(B) is all zeros; BLAS would reject a leading dimension of 0
      const int64_t size = m * n;
      for (int64_t i = 0; i < size; ++i) c.data[i] = beta == 0.0f ? 0.0f : beta * c.data[i];
      return;
    }
    const float* a_data = a.data;
    const float* b_data = b.data;
    if (precision() != Precision::fp32) {
      const int bits = mantissa_bits(precision());
      a_data = rounded_copy(a, bits, rounded_a_);
      b_data = rounded_copy(b, bits, rounded_b_);
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a_data, static_cast<int>(a.cols), b_data,
                static_cast<int>(b.cols), beta, c.data, static_cast<int>(c.cols));
  }

  // The operand of a reduced-precision product: m's elements rounded to `bits` mantissa
  // bits, in `scratch` (grown as needed, kept between calls; host memory of the backend's
  // own, not a Backend allocation, so the counters see no allocation inside a step).
  static const float* rounded_copy(CMatRef m, int bits, std::vector<float>& scratch) {
    const int64_t n = m.size();
    if (static_cast<int64_t>(scratch.size()) < n) scratch.resize(static_cast<size_t>(n));
    float* __restrict out = scratch.data();
    const float* __restrict in = m.data;
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) out[i] = math::round_mantissa(in[i], bits);
    return out;
  }

  void axpby_impl(float alpha, CMatRef x, float beta, MatRef y) override {
    const int64_t n = y.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) y.data[i] = alpha * x.data[i] + beta * y.data[i];
  }

  void column_sums_impl(CMatRef x, float alpha, float beta, MatRef out) override {
    const int64_t cols = x.cols;
    // Row by row into double accumulators, a block of columns at a time: a sequential
    // pass over the row-major data (a walk down each column strides by a whole row per
    // element). Each column still adds its rows in order from 0.0, so the sums are the
    // same bits. Each thread owns whole blocks of columns: no reduction races.
    constexpr int64_t kBlock = 128;
    const int64_t blocks = (cols + kBlock - 1) / kBlock;
#pragma omp parallel for if (x.size() > kParallelMin)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t first = b * kBlock, width = std::min(kBlock, cols - first);
      double s[kBlock] = {};
      for (int64_t r = 0; r < x.rows; ++r) {
        const float* __restrict row = x.data + r * cols + first;
        for (int64_t c = 0; c < width; ++c) s[c] += row[c];
      }
      for (int64_t c = 0; c < width; ++c) {
        float* o = out.data + first + c;
        *o = alpha * static_cast<float>(s[c]) + (beta == 0.0f ? 0.0f : beta * *o);
      }
    }
  }

  void row_reduce_impl(CMatRef x, RowReduce op, MatRef out) override {
    const math::RowTerm term = detail::row_term_of(op);
#pragma omp parallel for if (x.size() > kParallelMin)
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* row = x.data + r * x.cols;
      double s = 0.0;
      for (int64_t c = 0; c < x.cols; ++c) s += math::row_term(row[c], term);
      out.data[r] = static_cast<float>(s);
    }
  }

  void scale_add_activate_impl(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                               Activation act) override {
    const int64_t cols = x.cols;
    const float* __restrict cs = col_scale.data;
    const float* __restrict bs = bias.data;
    const bool sigmoid = act == Activation::sigmoid;
#pragma omp parallel for if (x.size() > kParallelMin)
    for (int64_t r = 0; r < x.rows; ++r) {
      float* __restrict row = x.data + r * cols;
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) {
        float v = scale * row[c];
        if (cs) v *= cs[c];
        if (bs) v += bs[c];
        row[c] = v;
      }
      if (!sigmoid) continue;
      // math::sigmoid, 1 / (1 + e^-v), in two passes over the row: libm's expf one
      // element at a time (a call: no vector form), then the quotient vectorised. The
      // same operations on each element, so the same bits as math::sigmoid(v).
      for (int64_t c = 0; c < cols; ++c) row[c] = expf(-row[c]);
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) row[c] = 1.0f / (1.0f + row[c]);
    }
  }

  void momentum_update_impl(MatRef param, MatRef velocity, CMatRef grad, float lr, float momentum,
                            float l2, float l1) override {
    const int64_t n = param.size();
    float* __restrict p = param.data;
    float* __restrict vel = velocity.data;
    const float* __restrict g = grad.data;
    // The update streams three arrays (W, its velocity, the gradient): keep it
    // vectorised; with a literal 0 for l1 the sign branch folds away.
    if (l1 == 0.0f) {
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float v = math::momentum_velocity(p[i], vel[i], g[i], lr, momentum, l2, 0.0f);
        vel[i] = v;
        p[i] += v;
      }
    } else {
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float v = math::momentum_velocity(p[i], vel[i], g[i], lr, momentum, l2, l1);
        vel[i] = v;
        p[i] += v;
      }
    }
  }

  void sample_bernoulli_impl(CMatRef probs, MatRef out, RngKey key) override {
    const int64_t n = out.size();
    // One Philox block gives four consecutive elements.
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t b = 0; b < (n + 3) / 4; ++b) {
      const philox::Words4 w = philox::block(key.seed, key.stream, key.step, b);
      for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j) {
        const int64_t i = 4 * b + j;
        out.data[i] = math::bernoulli_from_uniform(probs.data[i], math::uniform_from_bits(w.x[j]));
      }
    }
  }

  void sample_gaussian_impl(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) override {
    const int64_t cols = out.cols;
    const int64_t n = out.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const float s = col_sigma.data ? col_sigma.data[i % cols] : 1.0f;
      out.data[i] = mean.data[i] + s * philox::normal(key.seed, key.stream, key.step, i);
    }
  }

  void fill_uniform_impl(MatRef out, RngKey key) override {
    const int64_t n = out.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i)
      out.data[i] = philox::uniform(key.seed, key.stream, key.step, i);
  }

  void fill_normal_impl(MatRef out, float mean, float stddev, RngKey key) override {
    const int64_t n = out.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      out.data[i] = mean + stddev * philox::normal(key.seed, key.stream, key.step, i);
    }
  }

  void fill_binary_codes_impl(MatRef out, uint64_t first) override {
#pragma omp parallel for if (out.size() > kParallelMin)
    for (int64_t r = 0; r < out.rows; ++r) {
      for (int64_t j = 0; j < out.cols; ++j) {
        out.data[r * out.cols + j] = math::binary_code_bit(first + static_cast<uint64_t>(r), j);
      }
    }
  }

  void softmax_groups_impl(MatRef x, int64_t group) override {
    const int64_t groups = x.rows * (x.cols / group);
#pragma omp parallel for if (x.size() > kParallelMin)
    for (int64_t g = 0; g < groups; ++g) math::softmax_inplace(x.data + g * group, group);
  }

  void sample_softmax_groups_impl(CMatRef probs, int64_t group, MatRef out, RngKey key) override {
    const int64_t groups = probs.rows * (probs.cols / group);
#pragma omp parallel for if (probs.size() > kParallelMin)
    for (int64_t g = 0; g < groups; ++g) {
      const float u = philox::uniform(key.seed, key.stream, key.step, g);
      const int64_t pick = math::categorical_from_uniform(probs.data + g * group, group, u);
      float* o = out.data + g * group;
      for (int64_t i = 0; i < group; ++i) o[i] = i == pick ? 1.0f : 0.0f;
    }
  }

  void sample_multinomial_counts_impl(CMatRef probs, CMatRef totals, MatRef out,
                                      RngKey key) override {
    const int64_t max_total = detail::checked_max_total(totals.data, totals.size());
    const int64_t cols = probs.cols;
    if (cols == 0) return;  // no categories: nothing to count
#pragma omp parallel for if (probs.size() > kParallelMin)
    for (int64_t r = 0; r < probs.rows; ++r) {
      const float* p = probs.data + r * cols;
      float* o = out.data + r * cols;
      for (int64_t c = 0; c < cols; ++c) o[c] = 0.0f;
      const int64_t draws = static_cast<int64_t>(totals.data[r]);
      if (draws <= kMultinomialScanMax) {
        for (int64_t d = 0; d < draws; ++d) {
          const float u = philox::uniform(key.seed, key.stream, key.step, r * max_total + d);
          o[math::categorical_from_uniform(p, cols, u)] += 1.0f;
        }
        continue;
      }
      // Many draws: sort the same uniforms and sweep the CDF once, O(D log D + cols) instead
      // of O(D cols). The running sum is accumulated exactly as categorical_from_uniform
      // does, so every uniform lands in the same category (tests compare both).
      std::vector<float> u(static_cast<size_t>(draws));
      for (int64_t d = 0; d < draws; ++d) {
        u[d] = philox::uniform(key.seed, key.stream, key.step, r * max_total + d);
      }
      std::sort(u.begin(), u.end());
      int64_t c = 0;
      float cdf = cols > 1 ? p[0] : 0.0f;
      for (const float ud : u) {
        while (c < cols - 1 && !(ud < cdf)) {
          ++c;
          if (c < cols - 1) cdf += p[c];
        }
        o[c] += 1.0f;
      }
    }
  }

  void multiply_impl(CMatRef a, MatRef y) override {
    const int64_t n = y.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) y.data[i] *= a.data[i];
  }

  void sigmoid_backward_impl(CMatRef h, MatRef delta) override {
    const int64_t n = delta.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i)
      delta.data[i] = math::sigmoid_backward(delta.data[i], h.data[i]);
  }

  // AIS: one row per run, each row's sum in a fixed order (the result does not depend on
  // the thread count). The uniforms are those of sample_bernoulli: element i takes word
  // i % 4 of Philox block i / 4.
  void ais_hidden_step_impl(CMatRef pre, CMatRef hidden_bias, CMatRef betas, int64_t k, CMatRef dv,
                            MatRef log_w, MatRef hidden, RngKey key) override {
    const float beta = betas.data[k], beta_prev = betas.data[k - 1];
    const int64_t cols = pre.cols;
    const float* __restrict c_bias = hidden_bias.data;
    float* h = hidden.data;
#pragma omp parallel for if (pre.size() > kParallelMin)
    for (int64_t r = 0; r < pre.rows; ++r) {
      const float* __restrict x_row = pre.data + r * cols;
      double s = 0.0;
      philox::Words4 w{};
      for (int64_t c = 0; c < cols; ++c) {
        const float x = x_row[c] + c_bias[c];
        const float p = math::sigmoid(beta * x);
        s += math::ais_softplus_difference(x, beta, beta_prev, p);
        if (h == nullptr) continue;
        const int64_t i = r * cols + c;
        if (c == 0 || i % 4 == 0) w = philox::block(key.seed, key.stream, key.step, i / 4);
        h[i] = math::bernoulli_from_uniform(p, math::uniform_from_bits(w.x[i % 4]));
      }
      math::ais_accumulate(log_w.data[2 * r], log_w.data[2 * r + 1],
                           math::ais_log_weight_increment(beta, beta_prev, dv.data[r], s));
    }
  }

  void ais_visible_step_impl(MatRef v, UnitDraw draw, const AisVisibleRows& rows, CMatRef betas,
                             int64_t k, MatRef dv, MatRef scaled, RngKey key) override {
    const float beta = betas.data[k];
    const int64_t cols = v.cols;
    const float* __restrict base_bias = rows.base_bias.data;
    const float* __restrict bias = rows.bias.data;
    const float* sigma = rows.col_sigma.data;
    const float* __restrict d = rows.d.data;
    const float* __restrict inv_sigma = rows.inv_sigma.data;
    const bool gaussian = draw == UnitDraw::gaussian;
#pragma omp parallel for if (v.size() > kParallelMin)
    for (int64_t r = 0; r < v.rows; ++r) {
      double s = 0.0;
      philox::Words4 w{};
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t i = r * cols + c;
        const float mean = math::ais_visible_mean(
            v.data[i], beta, sigma, c, math::ais_blended_bias(base_bias[c], bias[c], beta));
        float x;
        if (gaussian) {
          const float sd = sigma != nullptr ? sigma[c] : 1.0f;
          x = mean + sd * philox::normal(key.seed, key.stream, key.step, static_cast<uint64_t>(i));
        } else {
          if (c == 0 || i % 4 == 0) w = philox::block(key.seed, key.stream, key.step, i / 4);
          x = math::bernoulli_from_uniform(math::sigmoid(mean),
                                           math::uniform_from_bits(w.x[i % 4]));
        }
        v.data[i] = x;
        s += static_cast<double>(x) * d[c];
        if (inv_sigma != nullptr) scaled.data[i] = x * inv_sigma[c];
      }
      dv.data[r] = static_cast<float>(s);
    }
  }

  void gather_rows_impl(CMatRef src, const std::vector<int32_t>& index, MatRef dst) override {
    const int64_t cols = src.cols;
#pragma omp parallel for if (dst.size() > kParallelMin)
    for (int64_t r = 0; r < dst.rows; ++r) {
      std::memcpy(dst.data + r * cols, src.data + static_cast<int64_t>(index[r]) * cols,
                  cols * sizeof(float));
    }
  }

  double sum_squared_diff_impl(CMatRef a, CMatRef b) override {
    const int64_t n = a.size();
    double s = 0.0;
#pragma omp parallel for reduction(+ : s) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(a.data[i]) - b.data[i];
      s += d * d;
    }
    return s;
  }

  bool all_finite_impl(CMatRef x) override {
    const int64_t n = x.size();
    int64_t bad = 0;
#pragma omp parallel for reduction(+ : bad) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) bad += std::isfinite(x.data[i]) ? 0 : 1;
    return bad == 0;
  }

 private:
  int threads_ = 1;
  // Rounded operands of the tf32/bf16 products (empty while the precision is fp32).
  std::vector<float> rounded_a_, rounded_b_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace crbm
