// CUDA backend host code: argument checks (same messages as the CPU backend),
// memory, transfers, cuBLAS for the row-major products, and dispatch to the
// kernels in kernels/backend_kernels.cu. Everything runs on one non-blocking
// stream; only download, synchronize and the host-returning reductions wait for it.
//
// Row-major gemm through column-major cuBLAS: a row-major r x c matrix is the
// column-major c x r matrix of its transpose, so C = op(A) op(B) (row-major, m x n)
// is computed as C^T = op(B)^T op(A)^T (column-major, n x m): pass B first, A
// second, with the same transpose flags and m/n swapped.
#include "backend/cuda/cuda_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "backend/backend_checks.hpp"
#include "backend_kernels.cuh"
#include "backend/cuda/cuda_check.hpp"

namespace crbm {
namespace cuda {
namespace {

using detail::check_same_shape;

void check_cuda(CMatRef m, const char* what) {
  detail::check_device(m, Device::cuda, what);
}

kernels::DeviceRngKey device_key(const RngKey& key, const uint64_t* step_offset) {
  kernels::DeviceRngKey k;
  k.seed = key.seed;
  k.stream = key.stream;
  k.step = key.step;
  k.step_offset = step_offset;
  return k;
}

// cuBLAS recommends a 32 MiB workspace on Hopper and newer, 4 MiB before.
size_t cublas_workspace_bytes(const cudaDeviceProp& props) {
  return props.major >= 9 ? (size_t{32} << 20) : (size_t{4} << 20);
}

// Partial-sum scratch: 2 MiB of doubles covers column_sums on any width the
// split heuristic asks for (wider matrices simply use fewer splits).
constexpr int64_t kScratchDoubles = int64_t{1} << 18;
// Blocks (and partial sums) of the sum_squared_diff reduction.
constexpr int kReducePartials = 1024;

}  // namespace

CudaBackend::CudaBackend(int ordinal) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    CRBM_FAIL("no CUDA device: cudaGetDeviceCount failed with ", cudaGetErrorName(e), " (",
              cudaGetErrorString(e), ")");
  }
  if (count == 0) CRBM_FAIL("no CUDA device: cudaGetDeviceCount reports 0 devices");
  if (ordinal < 0 || ordinal >= count) {
    CRBM_FAIL("no CUDA device: ordinal ", ordinal, " requested but ", count,
              " device(s) are visible (0..", count - 1, ")");
  }
  ctx_.ordinal = ordinal;
  DeviceGuard guard(ordinal);
  try {
    CRBM_CUDA_CHECK(cudaGetDeviceProperties(&ctx_.props, ordinal));
    CRBM_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking));
    CRBM_CUBLAS_CHECK(cublasCreate(&ctx_.cublas));
    // cublasSetStream resets the workspace, so the workspace is set after it. An
    // explicit workspace also keeps cuBLAS from allocating during graph capture.
    CRBM_CUBLAS_CHECK(cublasSetStream(ctx_.cublas, ctx_.stream));
    ctx_.cublas_workspace_bytes = cublas_workspace_bytes(ctx_.props);
    ctx_.cublas_workspace = malloc_checked(ctx_.cublas_workspace_bytes, "the cuBLAS workspace");
    CRBM_CUBLAS_CHECK(
        cublasSetWorkspace(ctx_.cublas, ctx_.cublas_workspace, ctx_.cublas_workspace_bytes));
    CRBM_CUBLAS_CHECK(cublasSetPointerMode(ctx_.cublas, CUBLAS_POINTER_MODE_HOST));
    // Full FP32 (no TF32): the products must match the CPU reference.
    CRBM_CUBLAS_CHECK(cublasSetMathMode(ctx_.cublas, CUBLAS_DEFAULT_MATH));
    ctx_.scratch_count = kScratchDoubles;
    ctx_.scratch = static_cast<double*>(
        malloc_checked(static_cast<size_t>(kScratchDoubles) * sizeof(double), "reduction scratch"));
    ctx_.d_result = static_cast<double*>(malloc_checked(sizeof(double), "a reduction result"));
    ctx_.d_flag = static_cast<unsigned int*>(malloc_checked(sizeof(unsigned int), "a flag"));
    CRBM_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&ctx_.h_result), sizeof(double)));
    CRBM_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&ctx_.h_flag), sizeof(unsigned int)));
    CRBM_CUDA_CHECK(cudaEventCreateWithFlags(&ctx_.index_copied, cudaEventDisableTiming));
  } catch (...) {
    release();
    throw;
  }
}

CudaBackend::~CudaBackend() {
  release();
}

void CudaBackend::release() noexcept {
  DeviceGuard guard(ctx_.ordinal);
  if (ctx_.stream != nullptr) (void)cudaStreamSynchronize(ctx_.stream);
  for (float* p : deferred_free_) (void)cudaFree(p);
  deferred_free_.clear();
  if (ctx_.cublas != nullptr) (void)cublasDestroy(ctx_.cublas);
  if (ctx_.index_copied != nullptr) (void)cudaEventDestroy(ctx_.index_copied);
  if (ctx_.stream != nullptr) (void)cudaStreamDestroy(ctx_.stream);
  (void)cudaFree(ctx_.cublas_workspace);
  (void)cudaFree(ctx_.scratch);
  (void)cudaFree(ctx_.d_result);
  (void)cudaFree(ctx_.d_flag);
  (void)cudaFree(ctx_.d_index);
  (void)cudaFreeHost(ctx_.h_result);
  (void)cudaFreeHost(ctx_.h_flag);
  (void)cudaFreeHost(ctx_.h_index);
  (void)cudaGetLastError();
  ctx_ = DeviceContext{};
}

std::string CudaBackend::describe() const {
  return fmt::format("cuda:{} ({}, sm_{}{}, {} SMs, {:.1f} GiB)", ctx_.ordinal, ctx_.props.name,
                     ctx_.props.major, ctx_.props.minor, ctx_.props.multiProcessorCount,
                     static_cast<double>(ctx_.props.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
}

void CudaBackend::require_not_capturing(const char* op) const {
  CRBM_CHECK_THROW(!capturing_, op,
                   " cannot be recorded in a CUDA graph (it transfers host memory, allocates or "
                   "synchronises); do it before GraphCapture::begin or after end");
}

void CudaBackend::clear_capture() noexcept {
  capturing_ = false;
  step_offset_ = nullptr;
  std::vector<float*> pending;
  pending.swap(deferred_free_);
  for (float* p : pending) deallocate(p);
}

// ---------------------------------------------------------------- memory

float* CudaBackend::allocate(size_t count) {
  require_not_capturing("allocate");
  DeviceGuard guard(ctx_.ordinal);
  return static_cast<float*>(malloc_checked(count * sizeof(float), "a matrix"));
}

void CudaBackend::deallocate(float* ptr) noexcept {
  if (ptr == nullptr) return;
  if (capturing_) {
    // cudaFree would invalidate the capture; free when it ends. push_back may
    // throw (bad_alloc) and this function is noexcept: then the buffer leaks.
    try {
      deferred_free_.push_back(ptr);
    } catch (...) {
    }
    return;
  }
  DeviceGuard guard(ctx_.ordinal);
  // Work still queued on our stream may use the buffer: let it finish first.
  (void)cudaStreamSynchronize(ctx_.stream);
  (void)cudaFree(ptr);
  (void)cudaGetLastError();
}

void CudaBackend::upload(const float* host, MatRef dst) {
  check_cuda(dst, "upload destination");
  require_not_capturing("upload");
  if (dst.size() == 0) return;
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(dst.data, host, static_cast<size_t>(dst.size()) * sizeof(float),
                                  cudaMemcpyHostToDevice, ctx_.stream));
}

void CudaBackend::download(CMatRef src, float* host) {
  check_cuda(src, "download source");
  require_not_capturing("download");
  if (src.size() == 0) return;
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(host, src.data, static_cast<size_t>(src.size()) * sizeof(float),
                                  cudaMemcpyDeviceToHost, ctx_.stream));
  CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
}

void CudaBackend::copy(CMatRef src, MatRef dst) {
  check_cuda(src, "copy source");
  check_cuda(dst, "copy destination");
  check_same_shape(src, dst, "copy");
  const int64_t n = src.size();
  if (n == 0 || src.data == dst.data) return;
  CRBM_CHECK_THROW(src.data + n <= dst.data || dst.data + n <= src.data,
                   "copy: overlapping source and destination are not supported on cuda");
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, static_cast<size_t>(n) * sizeof(float),
                                  cudaMemcpyDeviceToDevice, ctx_.stream));
}

void CudaBackend::fill(MatRef dst, float value) {
  check_cuda(dst, "fill destination");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_fill(dst.data, dst.size(), value, ctx_.stream);
}

void CudaBackend::synchronize() {
  require_not_capturing("synchronize");
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
}

// ---------------------------------------------------------------- dense algebra

void CudaBackend::gemm(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta,
                       MatRef c) {
  check_cuda(a, "gemm A");
  check_cuda(b, "gemm B");
  check_cuda(c, "gemm C");
  const int64_t m = trans_a ? a.cols : a.rows;
  const int64_t k = trans_a ? a.rows : a.cols;
  const int64_t kb = trans_b ? b.cols : b.rows;
  const int64_t n = trans_b ? b.rows : b.cols;
  CRBM_CHECK_THROW(k == kb && c.rows == m && c.cols == n, "gemm shapes: op(A) ", m, "x", k,
                   ", op(B) ", kb, "x", n, ", C ", c.rows, "x", c.cols);
  if (m == 0 || n == 0) return;
  DeviceGuard guard(ctx_.ordinal);
  if (k == 0) {
    // op(A) op(B) is all zeros: C = beta * C (cuBLAS rejects a leading dimension of 0).
    kernels::launch_scale(c.data, c.size(), beta, ctx_.stream);
    return;
  }
  const int64_t largest = std::max({m, n, k, a.cols, b.cols, c.cols});
  CRBM_CHECK_THROW(largest <= INT_MAX, "gemm: dimension ", largest,
                   " exceeds the 32-bit range of cuBLAS");
  // Column-major: C^T (n x m, ld c.cols) = op(B)^T (n x k, ld b.cols) * op(A)^T (k x m, ld a.cols).
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  CRBM_CUBLAS_CHECK(cublasSgemm(ctx_.cublas, op_b, op_a, static_cast<int>(n), static_cast<int>(m),
                                static_cast<int>(k), &alpha, b.data, static_cast<int>(b.cols),
                                a.data, static_cast<int>(a.cols), &beta, c.data,
                                static_cast<int>(c.cols)));
}

void CudaBackend::axpby(float alpha, CMatRef x, float beta, MatRef y) {
  check_cuda(x, "axpby x");
  check_cuda(y, "axpby y");
  check_same_shape(x, y, "axpby");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_axpby(alpha, x.data, beta, y.data, y.size(), ctx_.stream);
}

void CudaBackend::column_sums(CMatRef x, float alpha, float beta, MatRef out) {
  check_cuda(x, "column_sums input");
  check_cuda(out, "column_sums output");
  CRBM_CHECK_THROW(out.size() == x.cols, "column_sums: output has ", out.size(), " elements for ",
                   x.cols, " columns");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_column_sums(x.data, x.rows, x.cols, alpha, beta, out.data, ctx_.scratch,
                              ctx_.scratch_count, ctx_.props.multiProcessorCount, ctx_.stream);
}

void CudaBackend::row_reduce(CMatRef x, RowReduce op, MatRef out) {
  check_cuda(x, "row_reduce input");
  check_cuda(out, "row_reduce output");
  CRBM_CHECK_THROW(out.size() == x.rows, "row_reduce: output has ", out.size(), " elements for ",
                   x.rows, " rows");
  kernels::RowOp row_op = kernels::RowOp::sum;
  switch (op) {
    case RowReduce::sum:
      row_op = kernels::RowOp::sum;
      break;
    case RowReduce::softplus_sum:
      row_op = kernels::RowOp::softplus_sum;
      break;
    case RowReduce::square_sum:
      row_op = kernels::RowOp::square_sum;
      break;
  }
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_row_reduce(x.data, x.rows, x.cols, row_op, out.data, ctx_.stream);
}

// ---------------------------------------------------------------- fused elementwise

void CudaBackend::scale_add_activate(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                                     Activation act) {
  check_cuda(x, "scale_add_activate input");
  if (col_scale.data) {
    check_cuda(col_scale, "scale_add_activate col_scale");
    CRBM_CHECK_THROW(col_scale.size() == x.cols, "col_scale has ", col_scale.size(),
                     " elements for ", x.cols, " columns");
  }
  if (bias.data) {
    check_cuda(bias, "scale_add_activate bias");
    CRBM_CHECK_THROW(bias.size() == x.cols, "bias has ", bias.size(), " elements for ", x.cols,
                     " columns");
  }
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_scale_add_activate(x.data, x.rows, x.cols, scale, col_scale.data, bias.data,
                                     act == Activation::sigmoid, ctx_.stream);
}

void CudaBackend::momentum_update(MatRef param, MatRef velocity, CMatRef grad, float lr,
                                  float momentum, float l2, float l1) {
  check_cuda(param, "momentum_update param");
  check_cuda(velocity, "momentum_update velocity");
  check_cuda(grad, "momentum_update grad");
  check_same_shape(param, velocity, "momentum_update");
  check_same_shape(param, grad, "momentum_update");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_momentum_update(param.data, velocity.data, grad.data, param.size(), lr, momentum,
                                  l2, l1, ctx_.stream);
}

// ---------------------------------------------------------------- random

void CudaBackend::sample_bernoulli(CMatRef probs, MatRef out, RngKey key) {
  check_cuda(probs, "sample_bernoulli probs");
  check_cuda(out, "sample_bernoulli output");
  check_same_shape(probs, out, "sample_bernoulli");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sample_bernoulli(probs.data, out.data, out.size(), device_key(key, step_offset_),
                                   ctx_.stream);
}

void CudaBackend::sample_gaussian(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) {
  check_cuda(mean, "sample_gaussian mean");
  check_cuda(out, "sample_gaussian output");
  check_same_shape(mean, out, "sample_gaussian");
  if (col_sigma.data) {
    check_cuda(col_sigma, "sample_gaussian sigma");
    CRBM_CHECK_THROW(col_sigma.size() == out.cols, "sigma has ", col_sigma.size(), " elements for ",
                     out.cols, " columns");
  }
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sample_gaussian(mean.data, col_sigma.data, out.data, out.rows, out.cols,
                                  device_key(key, step_offset_), ctx_.stream);
}

void CudaBackend::fill_uniform(MatRef out, RngKey key) {
  check_cuda(out, "fill_uniform output");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_fill_uniform(out.data, out.size(), device_key(key, step_offset_), ctx_.stream);
}

void CudaBackend::fill_binary_codes(MatRef out, uint64_t first) {
  check_cuda(out, "fill_binary_codes output");
  CRBM_CHECK_THROW(out.cols <= 64, "fill_binary_codes: ", out.cols, " bits do not fit 64");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_fill_binary_codes(out.data, out.rows, out.cols, first, ctx_.stream);
}

void CudaBackend::fill_normal(MatRef out, float mean, float stddev, RngKey key) {
  check_cuda(out, "fill_normal output");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_fill_normal(out.data, out.size(), mean, stddev, device_key(key, step_offset_),
                              ctx_.stream);
}

// ---------------------------------------------------------------- softmax units, fine-tuning

void CudaBackend::softmax_groups(MatRef x, int64_t group) {
  check_cuda(x, "softmax_groups input");
  CRBM_CHECK_THROW(group > 0 && x.cols % group == 0, "softmax_groups: group size ", group,
                   " does not divide ", x.cols, " columns");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_softmax_groups(x.data, x.rows * (x.cols / group), group, ctx_.stream);
}

void CudaBackend::sample_softmax_groups(CMatRef probs, int64_t group, MatRef out, RngKey key) {
  check_cuda(probs, "sample_softmax_groups probs");
  check_cuda(out, "sample_softmax_groups output");
  check_same_shape(probs, out, "sample_softmax_groups");
  CRBM_CHECK_THROW(group > 0 && probs.cols % group == 0, "sample_softmax_groups: group size ",
                   group, " does not divide ", probs.cols, " columns");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sample_softmax_groups(probs.data, out.data, probs.rows * (probs.cols / group),
                                        group, device_key(key, step_offset_), ctx_.stream);
}

// The totals are validated, and their maximum (which fixes the uniform numbering)
// taken, on the host: this operation downloads them and so synchronises.
void CudaBackend::sample_multinomial_counts(CMatRef probs, CMatRef totals, MatRef out, RngKey key) {
  check_cuda(probs, "sample_multinomial_counts probs");
  check_cuda(totals, "sample_multinomial_counts totals");
  check_cuda(out, "sample_multinomial_counts output");
  check_same_shape(probs, out, "sample_multinomial_counts");
  CRBM_CHECK_THROW(totals.size() == probs.rows, "sample_multinomial_counts: ", totals.size(),
                   " totals for ", probs.rows, " rows");
  require_not_capturing("sample_multinomial_counts");
  if (probs.rows == 0) return;
  std::vector<float> host_totals(static_cast<size_t>(totals.size()));
  download(totals, host_totals.data());
  int64_t max_total = 0;
  for (size_t r = 0; r < host_totals.size(); ++r) {
    CRBM_CHECK_THROW(host_totals[r] >= 0.0f && std::isfinite(host_totals[r]),
                     "sample_multinomial_counts: total ", host_totals[r], " in row ", r);
    max_total = std::max<int64_t>(max_total, static_cast<int64_t>(host_totals[r]));
  }
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sample_multinomial_counts(probs.data, totals.data, out.data, probs.rows,
                                            probs.cols, max_total, device_key(key, step_offset_),
                                            ctx_.stream);
}

void CudaBackend::multiply(CMatRef a, MatRef y) {
  check_cuda(a, "multiply a");
  check_cuda(y, "multiply y");
  check_same_shape(a, y, "multiply");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_multiply(a.data, y.data, y.size(), ctx_.stream);
}

void CudaBackend::sigmoid_backward(CMatRef h, MatRef delta) {
  check_cuda(h, "sigmoid_backward h");
  check_cuda(delta, "sigmoid_backward delta");
  check_same_shape(h, delta, "sigmoid_backward");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sigmoid_backward(h.data, delta.data, delta.size(), ctx_.stream);
}

// ---------------------------------------------------------------- data movement

void CudaBackend::gather_rows(CMatRef src, const std::vector<int32_t>& index, MatRef dst) {
  check_cuda(src, "gather_rows source");
  check_cuda(dst, "gather_rows destination");
  CRBM_CHECK_THROW(dst.rows == static_cast<int64_t>(index.size()) && dst.cols == src.cols,
                   "gather_rows: ", index.size(), " indices into a ", dst.rows, "x", dst.cols,
                   " destination from ", src.cols, " columns");
  for (int32_t i : index) {
    CRBM_CHECK_THROW(i >= 0 && i < src.rows, "gather_rows: index ", i, " outside ", src.rows,
                     " rows");
  }
  require_not_capturing("gather_rows");
  if (index.empty() || dst.cols == 0) return;
  DeviceGuard guard(ctx_.ordinal);
  const size_t bytes = index.size() * sizeof(int32_t);
  // The pinned staging buffer may still be read by the previous call's copy.
  CRBM_CUDA_CHECK(cudaEventSynchronize(ctx_.index_copied));
  if (ctx_.index_capacity < index.size()) {
    // Kernels queued earlier may still read the device indices.
    CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
    CRBM_CUDA_CHECK(cudaFree(ctx_.d_index));
    CRBM_CUDA_CHECK(cudaFreeHost(ctx_.h_index));
    ctx_.d_index = nullptr;
    ctx_.h_index = nullptr;
    ctx_.index_capacity = 0;
    const size_t capacity = std::max<size_t>(index.size(), 1024);
    ctx_.d_index =
        static_cast<int32_t*>(malloc_checked(capacity * sizeof(int32_t), "gather_rows indices"));
    CRBM_CUDA_CHECK(
        cudaMallocHost(reinterpret_cast<void**>(&ctx_.h_index), capacity * sizeof(int32_t)));
    ctx_.index_capacity = capacity;
  }
  std::memcpy(ctx_.h_index, index.data(), bytes);
  CRBM_CUDA_CHECK(
      cudaMemcpyAsync(ctx_.d_index, ctx_.h_index, bytes, cudaMemcpyHostToDevice, ctx_.stream));
  CRBM_CUDA_CHECK(cudaEventRecord(ctx_.index_copied, ctx_.stream));
  kernels::launch_gather_rows(src.data, ctx_.d_index, dst.rows, dst.cols, dst.data, ctx_.stream);
}

// ---------------------------------------------------------------- host-returning reductions

double CudaBackend::sum_squared_diff(CMatRef a, CMatRef b) {
  check_cuda(a, "sum_squared_diff a");
  check_cuda(b, "sum_squared_diff b");
  check_same_shape(a, b, "sum_squared_diff");
  require_not_capturing("sum_squared_diff");
  if (a.size() == 0) return 0.0;
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sum_squared_diff(
      a.data, b.data, a.size(), ctx_.scratch,
      static_cast<int>(std::min<int64_t>(kReducePartials, ctx_.scratch_count)), ctx_.d_result,
      ctx_.stream);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(ctx_.h_result, ctx_.d_result, sizeof(double),
                                  cudaMemcpyDeviceToHost, ctx_.stream));
  CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  return *ctx_.h_result;
}

bool CudaBackend::all_finite(CMatRef x) {
  check_cuda(x, "all_finite input");
  require_not_capturing("all_finite");
  if (x.size() == 0) return true;
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaMemsetAsync(ctx_.d_flag, 0, sizeof(unsigned int), ctx_.stream));
  kernels::launch_flag_nonfinite(x.data, x.size(), ctx_.d_flag, ctx_.stream);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(ctx_.h_flag, ctx_.d_flag, sizeof(unsigned int),
                                  cudaMemcpyDeviceToHost, ctx_.stream));
  CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  return *ctx_.h_flag == 0u;
}

}  // namespace cuda

// ---------------------------------------------------------------- factory

std::unique_ptr<Backend> make_cuda_backend(int ordinal) {
  return std::make_unique<cuda::CudaBackend>(ordinal);
}

bool cuda_available() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return count > 0;
}

}  // namespace crbm
