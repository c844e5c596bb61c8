// The backend operations that every model and training algorithm is written
// against. Two implementations: CpuBackend (OpenBLAS + OpenMP loops) and
// CudaBackend (cuBLAS + custom kernels on one stream). Models never branch on
// the device; they call these.
//
// Conventions
// - Matrices are row-major views (MatRef/CMatRef) of memory owned by the same
//   backend; passing another backend's memory throws.
// - Random draws are addressed by RngKey {seed, stream, step}: element i of a
//   draw is a pure function of (key, i) (see kernels/philox.cuh), so the CPU
//   and the GPU produce identical uniforms for the same call.
// - Operations are asynchronous on the CUDA backend (ordered on its stream);
//   the ones that return a host value (sum_squared_diff, all_finite, download)
//   synchronise. Nothing else synchronises behind the caller's back.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crbm/tensor.hpp"

namespace crbm {

struct RngKey {
  uint64_t seed = 0;
  uint32_t stream = 0;
  uint64_t step = 0;
};

enum class Activation { linear, sigmoid };

// Row-wise reductions: out[r] = sum_c f(X[r,c]).
enum class RowReduce { sum, softplus_sum, square_sum };

class Backend {
 public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual Device device() const = 0;
  // Human-readable description, e.g. "cpu (2 threads, OpenBLAS 0.3.21)".
  virtual std::string describe() const = 0;

  // ---- memory (prefer crbm::Matrix, which calls these) ----
  virtual float* allocate(size_t count) = 0;
  virtual void deallocate(float* ptr) noexcept = 0;
  virtual void upload(const float* host, MatRef dst) = 0;  // host -> backend
  virtual void download(CMatRef src, float* host) = 0;     // backend -> host (syncs)
  virtual void copy(CMatRef src, MatRef dst) = 0;          // same shape
  virtual void fill(MatRef dst, float value) = 0;
  virtual void synchronize() = 0;
  // The native stream of a CUDA backend (a cudaStream_t), so that extension
  // operations (convolutions, cuDNN) run in the same order; nullptr on the CPU.
  virtual void* native_stream() const { return nullptr; }

  // ---- dense algebra ----
  // C = alpha * op(A) op(B) + beta * C with op = transpose when the flag is set.
  virtual void gemm(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta,
                    MatRef c) = 0;
  // y = alpha * x + beta * y (same shape).
  virtual void axpby(float alpha, CMatRef x, float beta, MatRef y) = 0;
  // out = alpha * (sum over rows of X) + beta * out; out is 1 x cols.
  virtual void column_sums(CMatRef x, float alpha, float beta, MatRef out) = 0;
  // out[r] = sum_c f(X[r,c]); out is rows x 1.
  virtual void row_reduce(CMatRef x, RowReduce op, MatRef out) = 0;

  // ---- fused elementwise ----
  // X[r,c] = act(scale * col_scale[c] * X[r,c] + bias[c]); col_scale and bias are
  // 1 x cols views or empty (data == nullptr: treated as 1 and 0).
  virtual void scale_add_activate(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                                  Activation act) = 0;
  // SGD with momentum, L2 and L1 decay, in place:
  //   velocity = momentum * velocity + lr * (grad - l2 * param - l1 * sign(param))
  //   param   += velocity
  virtual void momentum_update(MatRef param, MatRef velocity, CMatRef grad, float lr,
                               float momentum, float l2, float l1) = 0;

  // ---- random ----
  // out = 1 where u < probs else 0 (u = uniform element i of key).
  virtual void sample_bernoulli(CMatRef probs, MatRef out, RngKey key) = 0;
  // out = mean + col_sigma[c] * n (n = normal element i of key); col_sigma may be empty (1).
  virtual void sample_gaussian(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) = 0;
  // out = uniform(0,1) or mean + stddev * normal.
  virtual void fill_uniform(MatRef out, RngKey key) = 0;
  virtual void fill_normal(MatRef out, float mean, float stddev, RngKey key) = 0;
  // Row r = the bits of the integer first + r (bit j -> column j), as 0/1 floats:
  // the configurations that exact enumeration sums over, made where they are used.
  virtual void fill_binary_codes(MatRef out, uint64_t first) = 0;

  // ---- softmax units, fine-tuning (defaults throw: a backend that lacks them says so) ----
  // In place: each row is cols/group groups of `group` consecutive entries; each
  // group becomes softmax(group) (stable: max subtracted). group == cols: row softmax.
  virtual void softmax_groups(MatRef x, int64_t group);
  // One-hot draw per group from its probabilities; uniform element index of
  // group g in row r is r * (cols / group) + g.
  virtual void sample_softmax_groups(CMatRef probs, int64_t group, MatRef out, RngKey key);
  // Counts of totals[r] draws from row r's categorical distribution `probs`
  // (replicated softmax: a document of length D). Uniform element index of draw
  // d in row r is r * max_total + d, with max_total the largest totals[r].
  virtual void sample_multinomial_counts(CMatRef probs, CMatRef totals, MatRef out, RngKey key);
  // y = a .* y (elementwise).
  virtual void multiply(CMatRef a, MatRef y);
  // delta = delta .* h .* (1 - h): backpropagation through a sigmoid layer.
  virtual void sigmoid_backward(CMatRef h, MatRef delta);

  // ---- data movement ----
  // dst row r = src row index[r] (indices on the host; dst.rows == index.size()).
  virtual void gather_rows(CMatRef src, const std::vector<int32_t>& index, MatRef dst) = 0;

  // ---- host-returning reductions (synchronise) ----
  virtual double sum_squared_diff(CMatRef a, CMatRef b) = 0;
  virtual bool all_finite(CMatRef x) = 0;
  // Mean of all entries of x (column means on the backend, their mean on the host); the
  // training statistics' mean hidden activity. 0 for an empty matrix.
  double mean(CMatRef x);
};

// cpu backend; threads <= 0 means all cores (one budget for BLAS and loops).
std::unique_ptr<Backend> make_cpu_backend(int threads = 0);
// cuda backend on device `ordinal`; throws crbm::Error when CUDA support was not
// compiled in or no device is present.
std::unique_ptr<Backend> make_cuda_backend(int ordinal = 0);
// true when the library was built with CUDA and at least one GPU is visible.
bool cuda_available();
// "cpu" or "cuda".
std::unique_ptr<Backend> make_backend(const std::string& device);

// A matrix owned by a backend: move-only RAII over Backend::allocate (copying
// is deleted to prevent accidental device copies). Transfers are explicit.
class Matrix {
 public:
  Matrix() = default;
  Matrix(Backend& backend, int64_t rows, int64_t cols)
      : backend_(&backend), rows_(rows), cols_(cols) {
    CRBM_CHECK_THROW(rows >= 0 && cols >= 0, "negative matrix shape ", rows, "x", cols);
    if (rows * cols > 0) data_ = backend.allocate(static_cast<size_t>(rows * cols));
  }
  ~Matrix() { reset(); }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
  Matrix(Matrix&& o) noexcept { swap(o); }
  Matrix& operator=(Matrix&& o) noexcept {
    if (this != &o) {
      reset();
      swap(o);
    }
    return *this;
  }

  void reset() noexcept {
    if (data_ != nullptr) backend_->deallocate(data_);
    data_ = nullptr;
    rows_ = cols_ = 0;
  }
  bool empty() const { return data_ == nullptr; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }
  float* data() { return data_; }
  const float* data() const { return data_; }
  Backend& backend() const { return *backend_; }

  MatRef ref() { return MatRef{data_, rows_, cols_, backend_ ? backend_->device() : Device::cpu}; }
  CMatRef cref() const {
    return CMatRef{data_, rows_, cols_, backend_ ? backend_->device() : Device::cpu};
  }
  operator MatRef() { return ref(); }          // NOLINT
  operator CMatRef() const { return cref(); }  // NOLINT
  MatRef rows_view(int64_t first, int64_t count) { return ref().row_range(first, count); }
  CMatRef rows_view(int64_t first, int64_t count) const { return cref().row_range(first, count); }

  // Explicit transfers.
  void upload(const HostTensor& t) {
    CRBM_CHECK_THROW(t.numel() == size(), "upload of ", t.shape_string(), " into a ", rows_, "x",
                     cols_, " matrix");
    backend_->upload(t.data.data(), ref());
  }
  HostTensor download(std::vector<int64_t> shape = {}) const {
    if (shape.empty()) shape = {rows_, cols_};
    HostTensor t(shape);
    CRBM_CHECK_THROW(t.numel() == size(), "download shape ", t.shape_string(), " for a ", rows_,
                     "x", cols_, " matrix");
    backend_->download(cref(), t.data.data());
    return t;
  }
  static Matrix from_host(Backend& backend, const HostTensor& t) {
    Matrix m(backend, t.rows(), t.cols());
    m.upload(t);
    return m;
  }

 private:
  void swap(Matrix& o) noexcept {
    std::swap(backend_, o.backend_);
    std::swap(data_, o.data_);
    std::swap(rows_, o.rows_);
    std::swap(cols_, o.cols_);
  }
  Backend* backend_ = nullptr;
  float* data_ = nullptr;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
};

}  // namespace crbm
