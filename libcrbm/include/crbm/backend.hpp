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
// - Checked once: every public operation below is non-virtual. It checks its
//   arguments (device of every view, shapes, ranges) with the same crbm::Error
//   message on every backend, counts itself (BackendCounters), returns when
//   its output is empty, and only then calls the backend's protected `*_impl`
//   virtual (the tiny-cuda-nn forward() -> forward_impl() pattern). An
//   implementation therefore never sees foreign memory, mismatched shapes or
//   an empty output.
// - copy: src and dst have the same shape; they are either the same range (a
//   no-op) or disjoint. Partly overlapping ranges throw on every backend.
//
// What synchronises (makes the host wait for the device). On the CUDA backend
// every operation is enqueued on the backend's stream and returns at once,
// except:
// - download, synchronize;
// - the host-returning reductions sum_squared_diff, all_finite and mean;
// - gather_rows (the indices are copied from host memory; the call waits until the
//   previous call's indices have left the pinned staging buffer, and synchronises the
//   stream when that buffer grows);
// - upload may wait while pageable host memory is staged by the driver;
// - deallocate only where the device has no stream-ordered memory pool
//   (cudaMallocAsync); with one (every current GPU) frees are stream-ordered
//   and allocations come from a pool that keeps freed memory cached.
// sample_multinomial_counts does not wait: the largest total, which numbers the draws,
// is found on the device, and an invalid total is thrown by the next call that
// synchronises (on the CPU backend, by the call itself).
// ConvOps' automatic algorithm choice times both paths once per shape (one
// synchronisation then). Everything else is asynchronous; on the CPU backend
// everything completes before returning. BackendCounters counts each of these
// calls on every backend, so a CPU test can hold a GPU contract ("no host
// round trip inside a training step": tests/unit/step_sync_test.cpp holds it for
// every trainer's update and for an AIS step).
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

// The visible draw of an AIS transition (Backend::ais_visible_step): Bernoulli units
// (u < sigm(mean)) or Gaussian units (mean + sigma * normal).
enum class UnitDraw { bernoulli, gaussian };

// The per-model rows of Backend::ais_visible_step, each 1 x V (see there).
struct AisVisibleRows {
  CMatRef base_bias;  // b_A, the base model's visible biases
  CMatRef bias;       // b, the target model's visible biases
  CMatRef col_sigma;  // s (Gaussian units); empty: 1
  CMatRef d;          // the coefficients of v in the energy difference (ais.cpp)
  CMatRef inv_sigma;  // 1 / s, the factors of `scaled`; empty: scaled is not written
};

// The arithmetic of the dense products (Backend::gemm), set per backend:
// - fp32 (the default): full single precision, the exact path results were always
//   computed with (OpenBLAS sgemm; cuBLAS sgemm with tensor-op math off);
// - tf32: each operand element rounded to TF32 (10 explicit mantissa bits), fp32
//   products and accumulation, fp32 output (cuBLAS CUBLAS_COMPUTE_32F_FAST_TF32);
// - bf16: the same with bfloat16 operands (7 mantissa bits; CUBLAS_COMPUTE_32F_FAST_16BF).
// Operands and results stay fp32 in memory; only the product's inputs are narrowed.
// The CPU backend emulates tf32/bf16 by rounding the operands to nearest (ties to
// even, kernels/precision_math.cuh) before its fp32 sgemm, so a CPU run shows what the
// narrower inputs do to training; the GPU's conversion inside cuBLAS is not documented
// bit for bit, so the two agree within the format's error bound, not exactly.
// Only gemm honours it: the convolution products (ConvOps) and the elementwise
// operations stay fp32 on every backend (see docs/user-guide.md, --precision).
enum class Precision { fp32, tf32, bf16 };
const char* to_string(Precision p);
// "fp32", "tf32" or "bf16"; anything else throws crbm::Error naming the value and the choices.
Precision parse_precision(const std::string& s);
// Explicit mantissa bits of a product operand: 23 (fp32), 10 (tf32), 7 (bf16).
int mantissa_bits(Precision p);

// Calls of a backend that allocate, free, move host memory or make the host wait
// for the device, counted by the public (checked) layer on every backend. For a
// test of "nothing of this kind happens inside a step":
//   backend.reset_counters();
//   trainer.update(batch);
//   EXPECT_EQ(backend.counters(), BackendCounters{});   // or check one field
// A composite call counts once, as what it is for the caller (mean is one host
// reduction, whatever it does inside); calls that throw on their arguments are
// not counted. Matrix's constructor and reset() count as allocate / deallocate.
struct BackendCounters {
  int64_t allocations = 0;       // allocate() of a non-empty buffer
  int64_t deallocations = 0;     // deallocate() of a non-null buffer
  int64_t uploads = 0;           // upload() (host -> backend)
  int64_t downloads = 0;         // download() (backend -> host; waits for the device)
  int64_t synchronizations = 0;  // synchronize()
  int64_t host_reductions = 0;   // sum_squared_diff, all_finite, mean (return host values)
  int64_t host_indexed = 0;      // gather_rows (host indices; waits on the CUDA backend)
  // Every checked Backend operation that reached its implementation (a kernel, cuBLAS
  // call or memory copy on the CUDA backend; allocate and deallocate are not operations,
  // nor are ConvOps/RatingsOps calls). A launch count: "an AIS step issues 4 operations"
  // (tests/unit/step_sync_test.cpp). Not part of == (a step is meant to launch work) nor
  // of to_string(); the other fields are what a step must not do.
  int64_t operations = 0;

  // Calls that make the host wait for the device on the CUDA backend.
  int64_t host_waits() const {
    return downloads + synchronizations + host_reductions + host_indexed;
  }
  bool operator==(const BackendCounters& o) const {
    return allocations == o.allocations && deallocations == o.deallocations &&
           uploads == o.uploads && downloads == o.downloads &&
           synchronizations == o.synchronizations && host_reductions == o.host_reductions &&
           host_indexed == o.host_indexed;
  }
  bool operator!=(const BackendCounters& o) const { return !(*this == o); }
  // "allocations=1 deallocations=0 ..." for test failure messages.
  std::string to_string() const;
};

class Backend {
 public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual Device device() const = 0;
  // Human-readable description, e.g. "cpu (2 threads, OpenBLAS 0.3.21)".
  virtual std::string describe() const = 0;
  // The native stream of a CUDA backend (a cudaStream_t), so that extension
  // operations (convolutions, cuDNN) run in the same order; nullptr on the CPU.
  virtual void* native_stream() const { return nullptr; }

  // ---- precision of the products (see Precision) ----
  // Applies to every later gemm call. A CUDA graph captured earlier refuses to replay
  // under another precision (CudaGraph::launch throws, naming both); the dense trainer
  // captures afresh each epoch, so a change between epochs is honoured.
  void set_precision(Precision p) { precision_ = p; }
  Precision precision() const { return precision_; }

  // ---- counting hook (see BackendCounters) ----
  BackendCounters counters() const { return counters_; }
  void reset_counters() { counters_ = BackendCounters{}; }

  // ---- memory (prefer crbm::Matrix, which calls these) ----
  // count == 0 returns nullptr (nothing allocated). Out of memory throws
  // crbm::Error naming the byte count.
  float* allocate(size_t count);
  void deallocate(float* ptr) noexcept;        // nullptr: nothing
  void upload(const float* host, MatRef dst);  // host -> backend
  void download(CMatRef src, float* host);     // backend -> host (syncs)
  void copy(CMatRef src, MatRef dst);          // same shape; same range (no-op) or disjoint
  void fill(MatRef dst, float value);
  void synchronize();

  // ---- dense algebra ----
  // C = alpha * op(A) op(B) + beta * C with op = transpose when the flag is set.
  // An empty inner dimension gives C = beta * C (0 when beta == 0, as in BLAS).
  void gemm(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta, MatRef c);
  // y = alpha * x + beta * y (same shape).
  void axpby(float alpha, CMatRef x, float beta, MatRef y);
  // out = alpha * (sum over rows of X) + beta * out; out is 1 x cols.
  void column_sums(CMatRef x, float alpha, float beta, MatRef out);
  // out[r] = sum_c f(X[r,c]); out is rows x 1.
  void row_reduce(CMatRef x, RowReduce op, MatRef out);

  // ---- fused elementwise ----
  // X[r,c] = act(scale * col_scale[c] * X[r,c] + bias[c]); col_scale and bias are
  // 1 x cols views or empty (data == nullptr: treated as 1 and 0).
  void scale_add_activate(MatRef x, float scale, CMatRef col_scale, CMatRef bias, Activation act);
  // SGD with momentum, L2 and L1 decay, in place (math::momentum_velocity):
  //   velocity = momentum * velocity + lr * (grad - l2 * param - l1 * sign(param))
  //   param   += velocity
  void momentum_update(MatRef param, MatRef velocity, CMatRef grad, float lr, float momentum,
                       float l2, float l1);

  // ---- random ----
  // out = 1 where u < probs else 0 (u = uniform element i of key).
  void sample_bernoulli(CMatRef probs, MatRef out, RngKey key);
  // out = mean + col_sigma[c] * n (n = normal element i of key); col_sigma may be empty (1).
  void sample_gaussian(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key);
  // out = uniform(0,1) or mean + stddev * normal.
  void fill_uniform(MatRef out, RngKey key);
  void fill_normal(MatRef out, float mean, float stddev, RngKey key);
  // Row r = the bits of the integer first + r (bit j -> column j), as 0/1 floats:
  // the configurations that exact enumeration sums over, made where they are used.
  void fill_binary_codes(MatRef out, uint64_t first);

  // ---- softmax units, fine-tuning ----
  // In place: each row is cols/group groups of `group` consecutive entries; each
  // group becomes softmax(group) (math::softmax_inplace, stable: max subtracted).
  // group == cols: row softmax.
  void softmax_groups(MatRef x, int64_t group);
  // One-hot draw per group from its probabilities; uniform element index of
  // group g in row r is r * (cols / group) + g.
  void sample_softmax_groups(CMatRef probs, int64_t group, MatRef out, RngKey key);
  // Counts of totals[r] draws from row r's categorical distribution `probs`
  // (replicated softmax: a document of length D). Uniform element index of draw
  // d in row r is r * max_total + d, with max_total the largest totals[r].
  // Totals must be finite and >= 0: the CPU backend throws at the call, the CUDA
  // backend (which numbers the draws on the device, without a host round trip) draws
  // nothing for such a row and throws the same error at its next synchronisation.
  void sample_multinomial_counts(CMatRef probs, CMatRef totals, MatRef out, RngKey key);
  // y = a .* y (elementwise).
  void multiply(CMatRef a, MatRef y);
  // delta = delta .* h .* (1 - h): backpropagation through a sigmoid layer.
  void sigmoid_backward(CMatRef h, MatRef delta);

  // ---- annealed importance sampling of a dense RBM (eval/ais.cpp) ----
  // One AIS step k of M runs in two fused calls (plus the two products). The schedule
  // `betas` (1 x (K+1): beta_0 = 0 < ... < beta_K = 1) lives in backend memory and is read
  // there at index k, so the calls of different steps differ only in k and in their keys'
  // step: under CUDA graph capture (crbm/cuda_graph.hpp) k is advanced on replay exactly
  // like RngKey::step (k + the graph's step offset), and a captured chunk of steps replays
  // as the next chunk. An index outside the schedule at run time (a replay past the end)
  // yields NaN (the log-weights, or v), never a read outside `betas`.
  //
  // Hidden half, 1 <= k <= K, beta = betas[k], beta' = betas[k-1], x = pre[r,:] + hidden_bias
  // (pre = (v/s)'W, the visible product; hidden_bias is 1 x H):
  //   log w_r += (beta - beta') dv[r] + sum_j [softplus(beta x_j) - softplus(beta' x_j)]
  //   hidden[r,j] = 1 if u < sigm(beta x_j) else 0   (u = uniform element r*H + j of key)
  // Each softplus difference is computed without cancellation (math::ais_softplus_difference,
  // kernels/crbm_hd.cuh) and the row sum in double; log_w is M x 2, a
  // float pair (hi, lo) whose sum in double is the running log-weight (compensated: an
  // increment of 1e-5 nats is not lost against a sum of hundreds). dv is M x 1; hidden is
  // M x H, or empty (the last step has no transition).
  void ais_hidden_step(CMatRef pre, CMatRef hidden_bias, CMatRef betas, int64_t k, CMatRef dv,
                       MatRef log_w, MatRef hidden, RngKey key);
  // Visible half, 0 <= k <= K, beta = betas[k], in place on v (M x V), which holds W h:
  //   mean[r,c] = beta * s_c * v[r,c] + ((1 - beta) b_A,c + beta b_c)
  //   bernoulli: v[r,c] = 1 if u < sigm(mean) else 0 (u = uniform element r*V + c of key)
  //   gaussian:  v[r,c] = mean + s_c * n               (n = normal element r*V + c of key)
  // then dv[r] = sum_c v[r,c] d_c (in double; dv is M x 1) and, where rows.inv_sigma is
  // given, scaled = v .* inv_sigma (M x V; the next product's input). The float operations
  // are those of scale_add_activate after axpby for the blended bias, then the sampler, so
  // the draws equal the unfused calls'. k = 0 with v = 0 draws from the base model.
  void ais_visible_step(MatRef v, UnitDraw draw, const AisVisibleRows& rows, CMatRef betas,
                        int64_t k, MatRef dv, MatRef scaled, RngKey key);

  // ---- data movement ----
  // dst row r = src row index[r] (indices on the host; dst.rows == index.size()).
  void gather_rows(CMatRef src, const std::vector<int32_t>& index, MatRef dst);

  // ---- host-returning reductions (synchronise) ----
  double sum_squared_diff(CMatRef a, CMatRef b);
  bool all_finite(CMatRef x);
  // Mean of all entries of x (column means on the backend, their mean on the host); the
  // training statistics' mean hidden activity. 0 for an empty matrix.
  double mean(CMatRef x);

 protected:
  // The implementations. Arguments are already checked (devices, shapes, ranges as
  // documented above) and outputs are non-empty unless stated.
  virtual float* allocate_impl(size_t count) = 0;         // count > 0
  virtual void deallocate_impl(float* ptr) noexcept = 0;  // ptr != nullptr
  virtual void upload_impl(const float* host, MatRef dst) = 0;
  virtual void download_impl(CMatRef src, float* host) = 0;
  virtual void copy_impl(CMatRef src, MatRef dst) = 0;  // disjoint ranges
  virtual void fill_impl(MatRef dst, float value) = 0;
  virtual void synchronize_impl() = 0;
  // m, n >= 1; k may be 0 (then C = beta * C); dimensions fit 32 bits.
  virtual void gemm_impl(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta,
                         MatRef c) = 0;
  virtual void axpby_impl(float alpha, CMatRef x, float beta, MatRef y) = 0;
  virtual void column_sums_impl(CMatRef x, float alpha, float beta,
                                MatRef out) = 0;                          // x.rows may be 0
  virtual void row_reduce_impl(CMatRef x, RowReduce op, MatRef out) = 0;  // x.cols may be 0
  virtual void scale_add_activate_impl(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                                       Activation act) = 0;
  virtual void momentum_update_impl(MatRef param, MatRef velocity, CMatRef grad, float lr,
                                    float momentum, float l2, float l1) = 0;
  virtual void sample_bernoulli_impl(CMatRef probs, MatRef out, RngKey key) = 0;
  virtual void sample_gaussian_impl(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) = 0;
  virtual void fill_uniform_impl(MatRef out, RngKey key) = 0;
  virtual void fill_normal_impl(MatRef out, float mean, float stddev, RngKey key) = 0;
  virtual void fill_binary_codes_impl(MatRef out, uint64_t first) = 0;  // cols <= 64
  virtual void softmax_groups_impl(MatRef x, int64_t group) = 0;        // group divides cols
  virtual void sample_softmax_groups_impl(CMatRef probs, int64_t group, MatRef out, RngKey key) = 0;
  // Also called with empty out (rows > 0, cols == 0) so that the totals are still checked.
  virtual void sample_multinomial_counts_impl(CMatRef probs, CMatRef totals, MatRef out,
                                              RngKey key) = 0;
  virtual void multiply_impl(CMatRef a, MatRef y) = 0;
  virtual void sigmoid_backward_impl(CMatRef h, MatRef delta) = 0;
  // betas has k (and k - 1) in range; log_w is M x 2; hidden is empty (data == nullptr) or
  // M x H; M > 0 (H may be 0).
  virtual void ais_hidden_step_impl(CMatRef pre, CMatRef hidden_bias, CMatRef betas, int64_t k,
                                    CMatRef dv, MatRef log_w, MatRef hidden, RngKey key) = 0;
  // M > 0 (V may be 0: dv = 0); rows' optional views are empty (data == nullptr) or 1 x V;
  // scaled is empty exactly when rows.inv_sigma is.
  virtual void ais_visible_step_impl(MatRef v, UnitDraw draw, const AisVisibleRows& rows,
                                     CMatRef betas, int64_t k, MatRef dv, MatRef scaled,
                                     RngKey key) = 0;
  // Indices already range-checked.
  virtual void gather_rows_impl(CMatRef src, const std::vector<int32_t>& index, MatRef dst) = 0;
  virtual double sum_squared_diff_impl(CMatRef a, CMatRef b) = 0;  // non-empty
  virtual bool all_finite_impl(CMatRef x) = 0;                     // non-empty

 private:
  // Throws unless `m` is this backend's memory (checked even for empty views).
  void check_mine(CMatRef m, const char* what) const;
  BackendCounters counters_;
  Precision precision_ = Precision::fp32;
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
