// CPU backend: OpenBLAS sgemm for the products, OpenMP loops for the rest.
// Threads are one budget: OpenBLAS (OpenMP build) and our loops share the same
// OpenMP pool, sized once, so they never oversubscribe the cores.
// Per-element math comes from kernels/*.cuh, the same functions the CUDA
// kernels call.
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

extern "C" {
void openblas_set_num_threads(int);
char* openblas_get_config(void);
}

namespace crbm {
namespace {

using detail::check_same_shape;

void check_cpu(CMatRef m, const char* what) {
  detail::check_device(m, Device::cpu, what);
}

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

  float* allocate(size_t count) override {
    void* p = nullptr;
    if (posix_memalign(&p, 64, count * sizeof(float)) != 0 || p == nullptr) {
      CRBM_FAIL("out of host memory allocating ", count * sizeof(float), " bytes");
    }
    return static_cast<float*>(p);
  }
  void deallocate(float* ptr) noexcept override { free(ptr); }

  void upload(const float* host, MatRef dst) override {
    check_cpu(dst, "upload destination");
    std::memcpy(dst.data, host, dst.size() * sizeof(float));
  }
  void download(CMatRef src, float* host) override {
    check_cpu(src, "download source");
    std::memcpy(host, src.data, src.size() * sizeof(float));
  }
  void copy(CMatRef src, MatRef dst) override {
    check_cpu(src, "copy source");
    check_cpu(dst, "copy destination");
    check_same_shape(src, dst, "copy");
    std::memmove(dst.data, src.data, src.size() * sizeof(float));
  }
  void fill(MatRef dst, float value) override {
    check_cpu(dst, "fill destination");
    const int64_t n = dst.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dst.data[i] = value;
  }
  void synchronize() override {}

  void gemm(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta,
            MatRef c) override {
    check_cpu(a, "gemm A");
    check_cpu(b, "gemm B");
    check_cpu(c, "gemm C");
    const int64_t m = trans_a ? a.cols : a.rows;
    const int64_t k = trans_a ? a.rows : a.cols;
    const int64_t kb = trans_b ? b.cols : b.rows;
    const int64_t n = trans_b ? b.rows : b.cols;
    CRBM_CHECK_THROW(k == kb && c.rows == m && c.cols == n, "gemm shapes: op(A) ", m, "x", k,
                     ", op(B) ", kb, "x", n, ", C ", c.rows, "x", c.cols);
    if (m == 0 || n == 0) return;
    if (k == 0) {  // op(A) op(B) is all zeros; BLAS would reject a leading dimension of 0
      const int64_t size = m * n;
      for (int64_t i = 0; i < size; ++i) c.data[i] = beta == 0.0f ? 0.0f : beta * c.data[i];
      return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a.data, static_cast<int>(a.cols), b.data,
                static_cast<int>(b.cols), beta, c.data, static_cast<int>(c.cols));
  }

  void axpby(float alpha, CMatRef x, float beta, MatRef y) override {
    check_cpu(x, "axpby x");
    check_cpu(y, "axpby y");
    check_same_shape(x, y, "axpby");
    const int64_t n = y.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) y.data[i] = alpha * x.data[i] + beta * y.data[i];
  }

  void column_sums(CMatRef x, float alpha, float beta, MatRef out) override {
    check_cpu(x, "column_sums input");
    check_cpu(out, "column_sums output");
    CRBM_CHECK_THROW(out.size() == x.cols, "column_sums: output has ", out.size(), " elements for ",
                     x.cols, " columns");
    const int64_t cols = x.cols;
    // Each thread owns a slice of columns and walks all rows: no reduction races.
#pragma omp parallel for if (x.size() > kParallelMin)
    for (int64_t c = 0; c < cols; ++c) {
      double s = 0.0;
      for (int64_t r = 0; r < x.rows; ++r) s += x.data[r * cols + c];
      out.data[c] = alpha * static_cast<float>(s) + (beta == 0.0f ? 0.0f : beta * out.data[c]);
    }
  }

  void row_reduce(CMatRef x, RowReduce op, MatRef out) override {
    check_cpu(x, "row_reduce input");
    check_cpu(out, "row_reduce output");
    CRBM_CHECK_THROW(out.size() == x.rows, "row_reduce: output has ", out.size(), " elements for ",
                     x.rows, " rows");
#pragma omp parallel for if (x.size() > kParallelMin)
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* row = x.data + r * x.cols;
      double s = 0.0;
      for (int64_t c = 0; c < x.cols; ++c) {
        const float v = row[c];
        switch (op) {
          case RowReduce::sum:
            s += v;
            break;
          case RowReduce::softplus_sum:
            s += math::softplus(v);
            break;
          case RowReduce::square_sum:
            s += static_cast<double>(v) * v;
            break;
        }
      }
      out.data[r] = static_cast<float>(s);
    }
  }

  void scale_add_activate(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                          Activation act) override {
    check_cpu(x, "scale_add_activate input");
    if (col_scale.data) {
      check_cpu(col_scale, "scale_add_activate col_scale");
      CRBM_CHECK_THROW(col_scale.size() == x.cols, "col_scale has ", col_scale.size(),
                       " elements for ", x.cols, " columns");
    }
    if (bias.data) {
      check_cpu(bias, "scale_add_activate bias");
      CRBM_CHECK_THROW(bias.size() == x.cols, "bias has ", bias.size(), " elements for ", x.cols,
                       " columns");
    }
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
        row[c] = sigmoid ? math::sigmoid(v) : v;
      }
    }
  }

  void momentum_update(MatRef param, MatRef velocity, CMatRef grad, float lr, float momentum,
                       float l2, float l1) override {
    check_cpu(param, "momentum_update param");
    check_cpu(velocity, "momentum_update velocity");
    check_cpu(grad, "momentum_update grad");
    check_same_shape(param, velocity, "momentum_update");
    check_same_shape(param, grad, "momentum_update");
    const int64_t n = param.size();
    float* __restrict p = param.data;
    float* __restrict vel = velocity.data;
    const float* __restrict g = grad.data;
    // The update streams three arrays (W, its velocity, the gradient): keep it
    // vectorised, and the L1 sign out of the common path.
    if (l1 == 0.0f) {
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float v = momentum * vel[i] + lr * (g[i] - l2 * p[i]);
        vel[i] = v;
        p[i] += v;
      }
    } else {
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) {
        const float sign = p[i] > 0.0f ? 1.0f : (p[i] < 0.0f ? -1.0f : 0.0f);
        const float v = momentum * vel[i] + lr * (g[i] - l2 * p[i] - l1 * sign);
        vel[i] = v;
        p[i] += v;
      }
    }
  }

  void sample_bernoulli(CMatRef probs, MatRef out, RngKey key) override {
    check_cpu(probs, "sample_bernoulli probs");
    check_cpu(out, "sample_bernoulli output");
    check_same_shape(probs, out, "sample_bernoulli");
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

  void sample_gaussian(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) override {
    check_cpu(mean, "sample_gaussian mean");
    check_cpu(out, "sample_gaussian output");
    check_same_shape(mean, out, "sample_gaussian");
    if (col_sigma.data) {
      check_cpu(col_sigma, "sample_gaussian sigma");
      CRBM_CHECK_THROW(col_sigma.size() == out.cols, "sigma has ", col_sigma.size(),
                       " elements for ", out.cols, " columns");
    }
    const int64_t cols = out.cols;
    const int64_t n = out.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const float s = col_sigma.data ? col_sigma.data[i % cols] : 1.0f;
      out.data[i] = mean.data[i] + s * philox::normal(key.seed, key.stream, key.step, i);
    }
  }

  void fill_uniform(MatRef out, RngKey key) override {
    check_cpu(out, "fill_uniform output");
    const int64_t n = out.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i)
      out.data[i] = philox::uniform(key.seed, key.stream, key.step, i);
  }

  void fill_normal(MatRef out, float mean, float stddev, RngKey key) override {
    check_cpu(out, "fill_normal output");
    const int64_t n = out.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      out.data[i] = mean + stddev * philox::normal(key.seed, key.stream, key.step, i);
    }
  }

  void softmax_groups(MatRef x, int64_t group) override {
    check_cpu(x, "softmax_groups input");
    CRBM_CHECK_THROW(group > 0 && x.cols % group == 0, "softmax_groups: group size ", group,
                     " does not divide ", x.cols, " columns");
    const int64_t groups = x.rows * (x.cols / group);
#pragma omp parallel for if (x.size() > kParallelMin)
    for (int64_t g = 0; g < groups; ++g) math::softmax_inplace(x.data + g * group, group);
  }

  void sample_softmax_groups(CMatRef probs, int64_t group, MatRef out, RngKey key) override {
    check_cpu(probs, "sample_softmax_groups probs");
    check_cpu(out, "sample_softmax_groups output");
    check_same_shape(probs, out, "sample_softmax_groups");
    CRBM_CHECK_THROW(group > 0 && probs.cols % group == 0, "sample_softmax_groups: group size ",
                     group, " does not divide ", probs.cols, " columns");
    const int64_t groups = probs.rows * (probs.cols / group);
#pragma omp parallel for if (probs.size() > kParallelMin)
    for (int64_t g = 0; g < groups; ++g) {
      const float u = philox::uniform(key.seed, key.stream, key.step, g);
      const int64_t pick = math::categorical_from_uniform(probs.data + g * group, group, u);
      float* o = out.data + g * group;
      for (int64_t i = 0; i < group; ++i) o[i] = i == pick ? 1.0f : 0.0f;
    }
  }

  void sample_multinomial_counts(CMatRef probs, CMatRef totals, MatRef out, RngKey key) override {
    check_cpu(probs, "sample_multinomial_counts probs");
    check_cpu(totals, "sample_multinomial_counts totals");
    check_cpu(out, "sample_multinomial_counts output");
    check_same_shape(probs, out, "sample_multinomial_counts");
    CRBM_CHECK_THROW(totals.size() == probs.rows, "sample_multinomial_counts: ", totals.size(),
                     " totals for ", probs.rows, " rows");
    int64_t max_total = 0;
    for (int64_t r = 0; r < totals.size(); ++r) {
      CRBM_CHECK_THROW(totals.data[r] >= 0.0f && std::isfinite(totals.data[r]),
                       "sample_multinomial_counts: total ", totals.data[r], " in row ", r);
      max_total = std::max<int64_t>(max_total, static_cast<int64_t>(totals.data[r]));
    }
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

  void multiply(CMatRef a, MatRef y) override {
    check_cpu(a, "multiply a");
    check_cpu(y, "multiply y");
    check_same_shape(a, y, "multiply");
    const int64_t n = y.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) y.data[i] *= a.data[i];
  }

  void sigmoid_backward(CMatRef h, MatRef delta) override {
    check_cpu(h, "sigmoid_backward h");
    check_cpu(delta, "sigmoid_backward delta");
    check_same_shape(h, delta, "sigmoid_backward");
    const int64_t n = delta.size();
#pragma omp parallel for if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) delta.data[i] *= h.data[i] * (1.0f - h.data[i]);
  }

  void fill_binary_codes(MatRef out, uint64_t first) override {
    check_cpu(out, "fill_binary_codes output");
    CRBM_CHECK_THROW(out.cols <= 64, "fill_binary_codes: ", out.cols, " bits do not fit 64");
#pragma omp parallel for if (out.size() > kParallelMin)
    for (int64_t r = 0; r < out.rows; ++r) {
      for (int64_t j = 0; j < out.cols; ++j) {
        out.data[r * out.cols + j] = math::binary_code_bit(first + static_cast<uint64_t>(r), j);
      }
    }
  }

  void gather_rows(CMatRef src, const std::vector<int32_t>& index, MatRef dst) override {
    check_cpu(src, "gather_rows source");
    check_cpu(dst, "gather_rows destination");
    CRBM_CHECK_THROW(dst.rows == static_cast<int64_t>(index.size()) && dst.cols == src.cols,
                     "gather_rows: ", index.size(), " indices into a ", dst.rows, "x", dst.cols,
                     " destination from ", src.cols, " columns");
    for (int32_t i : index) {
      CRBM_CHECK_THROW(i >= 0 && i < src.rows, "gather_rows: index ", i, " outside ", src.rows,
                       " rows");
    }
    const int64_t cols = src.cols;
#pragma omp parallel for if (dst.size() > kParallelMin)
    for (int64_t r = 0; r < dst.rows; ++r) {
      std::memcpy(dst.data + r * cols, src.data + static_cast<int64_t>(index[r]) * cols,
                  cols * sizeof(float));
    }
  }

  double sum_squared_diff(CMatRef a, CMatRef b) override {
    check_cpu(a, "sum_squared_diff a");
    check_cpu(b, "sum_squared_diff b");
    check_same_shape(a, b, "sum_squared_diff");
    const int64_t n = a.size();
    double s = 0.0;
#pragma omp parallel for reduction(+ : s) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(a.data[i]) - b.data[i];
      s += d * d;
    }
    return s;
  }

  bool all_finite(CMatRef x) override {
    check_cpu(x, "all_finite input");
    const int64_t n = x.size();
    int64_t bad = 0;
#pragma omp parallel for reduction(+ : bad) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) bad += std::isfinite(x.data[i]) ? 0 : 1;
    return bad == 0;
  }

 private:
  int threads_ = 1;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace crbm
