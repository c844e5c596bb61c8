// CUDA backend host code: memory (a stream-ordered pool), transfers, cuBLAS for
// the row-major products, and dispatch to the kernels in
// kernels/backend_kernels.cu. Arguments arrive checked (backend.cpp). Everything
// runs on one non-blocking stream; what waits for it is listed in backend.hpp.
//
// Row-major gemm through column-major cuBLAS: a row-major r x c matrix is the
// column-major c x r matrix of its transpose, so C = op(A) op(B) (row-major, m x n)
// is computed as C^T = op(B)^T op(A)^T (column-major, n x m): pass B first, A
// second, with the same transpose flags and m/n swapped.
#include "backend/cuda/cuda_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ais_kernels.cuh"
#include "backend/backend_checks.hpp"
#include "backend/cuda/cuda_check.hpp"
#include "backend_kernels.cuh"

namespace crbm {
namespace cuda {
namespace {

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
    // Full FP32 (no TF32) unless the precision says otherwise: the fp32 products must match
    // the CPU reference (gemm_impl passes a TF32/BF16 compute type per call for the others).
    CRBM_CUBLAS_CHECK(cublasSetMathMode(ctx_.cublas, CUBLAS_DEFAULT_MATH));
    ctx_.scratch_count = kScratchDoubles;
    ctx_.scratch = static_cast<double*>(
        malloc_checked(static_cast<size_t>(kScratchDoubles) * sizeof(double), "reduction scratch"));
    ctx_.d_result = static_cast<double*>(malloc_checked(sizeof(double), "a reduction result"));
    ctx_.d_flag = static_cast<unsigned int*>(malloc_checked(sizeof(unsigned int), "a flag"));
    CRBM_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&ctx_.h_result), sizeof(double)));
    CRBM_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&ctx_.h_flag), sizeof(unsigned int)));
    CRBM_CUDA_CHECK(cudaEventCreateWithFlags(&ctx_.index_copied, cudaEventDisableTiming));
    ctx_.d_multinomial = static_cast<kernels::MultinomialStatus*>(
        malloc_checked(sizeof(kernels::MultinomialStatus), "the multinomial status"));
    CRBM_CUDA_CHECK(cudaMemset(ctx_.d_multinomial, 0, sizeof(kernels::MultinomialStatus)));
    CRBM_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&ctx_.h_multinomial),
                                   sizeof(kernels::MultinomialStatus)));
    *ctx_.h_multinomial = kernels::MultinomialStatus{};
    // A pool of our own (not the device's default one, which other libraries in the
    // process may tune) that keeps freed memory cached: temporaries freed in a loop
    // are reused by the next allocation without a cudaFree or a synchronisation.
    int pools_supported = 0;
    CRBM_CUDA_CHECK(
        cudaDeviceGetAttribute(&pools_supported, cudaDevAttrMemoryPoolsSupported, ordinal));
    if (pools_supported != 0) {
      cudaMemPoolProps pool_props{};
      pool_props.allocType = cudaMemAllocationTypePinned;
      pool_props.handleTypes = cudaMemHandleTypeNone;
      pool_props.location.type = cudaMemLocationTypeDevice;
      pool_props.location.id = ordinal;
      CRBM_CUDA_CHECK(cudaMemPoolCreate(&ctx_.pool, &pool_props));
      uint64_t keep_everything = UINT64_MAX;
      CRBM_CUDA_CHECK(
          cudaMemPoolSetAttribute(ctx_.pool, cudaMemPoolAttrReleaseThreshold, &keep_everything));
    }
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
  for (float* p : deferred_free_) free_now(p);
  deferred_free_.clear();
  if (ctx_.stream != nullptr) (void)cudaStreamSynchronize(ctx_.stream);
  if (ctx_.cublas != nullptr) (void)cublasDestroy(ctx_.cublas);
  if (ctx_.index_copied != nullptr) (void)cudaEventDestroy(ctx_.index_copied);
  if (ctx_.stream != nullptr) (void)cudaStreamDestroy(ctx_.stream);
  (void)cudaFree(ctx_.cublas_workspace);
  (void)cudaFree(ctx_.scratch);
  (void)cudaFree(ctx_.d_result);
  (void)cudaFree(ctx_.d_flag);
  (void)cudaFree(ctx_.d_index);
  (void)cudaFree(ctx_.d_multinomial);
  (void)cudaFreeHost(ctx_.h_multinomial);
  (void)cudaFreeHost(ctx_.h_result);
  (void)cudaFreeHost(ctx_.h_flag);
  (void)cudaFreeHost(ctx_.h_index);
  // Buffers a caller still holds keep the pool alive until they are freed.
  if (ctx_.pool != nullptr) (void)cudaMemPoolDestroy(ctx_.pool);
  (void)cudaGetLastError();
  ctx_ = DeviceContext{};
}

std::string CudaBackend::describe() const {
  return fmt::format("cuda:{} ({}, sm_{}{}, {} SMs, {:.1f} GiB{})", ctx_.ordinal, ctx_.props.name,
                     ctx_.props.major, ctx_.props.minor, ctx_.props.multiProcessorCount,
                     static_cast<double>(ctx_.props.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0),
                     ctx_.pool != nullptr ? "" : ", no memory pools");
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
  for (float* p : pending) free_now(p);  // counted when they were deallocated
}

// ---------------------------------------------------------------- memory

float* CudaBackend::allocate_impl(size_t count) {
  require_not_capturing("allocate");
  DeviceGuard guard(ctx_.ordinal);
  const size_t bytes = count * sizeof(float);
  if (ctx_.pool == nullptr) return static_cast<float*>(malloc_checked(bytes, "a matrix"));
  void* p = nullptr;
  cudaError_t e = cudaMallocFromPoolAsync(&p, bytes, ctx_.pool, ctx_.stream);
  if (e == cudaErrorMemoryAllocation) {
    // Frees still queued on the stream, and memory the pool caches beyond what it
    // hands out, become available to the device after a synchronisation and a trim.
    (void)cudaGetLastError();
    (void)cudaStreamSynchronize(ctx_.stream);
    (void)cudaMemPoolTrimTo(ctx_.pool, 0);
    e = cudaMallocFromPoolAsync(&p, bytes, ctx_.pool, ctx_.stream);
  }
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    fail_out_of_memory(bytes, "a matrix");
  }
  if (e != cudaSuccess) {
    throw Error(cuda_error_message(e, "cudaMallocFromPoolAsync", __FILE__, __LINE__) +
                " allocating " + std::to_string(bytes) + " bytes for a matrix");
  }
  return static_cast<float*>(p);
}

void CudaBackend::deallocate_impl(float* ptr) noexcept {
  if (capturing_) {
    // A free inside the capture would become a node of the graph; free when it
    // ends. push_back may throw (bad_alloc) and this function is noexcept: then
    // the buffer leaks.
    try {
      deferred_free_.push_back(ptr);
    } catch (...) {
    }
    return;
  }
  free_now(ptr);
}

// Stream-ordered: the memory returns to the pool once the work queued before the
// free (which may still use it) is done; no host wait. Without a pool, cudaFree
// after the stream has drained.
void CudaBackend::free_now(float* ptr) noexcept {
  DeviceGuard guard(ctx_.ordinal);
  if (ctx_.pool != nullptr) {
    (void)cudaFreeAsync(ptr, ctx_.stream);
  } else {
    (void)cudaStreamSynchronize(ctx_.stream);
    (void)cudaFree(ptr);
  }
  (void)cudaGetLastError();
}

void CudaBackend::upload_impl(const float* host, MatRef dst) {
  require_not_capturing("upload");
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(dst.data, host, static_cast<size_t>(dst.size()) * sizeof(float),
                                  cudaMemcpyHostToDevice, ctx_.stream));
}

void CudaBackend::download_impl(CMatRef src, float* host) {
  require_not_capturing("download");
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(host, src.data, static_cast<size_t>(src.size()) * sizeof(float),
                                  cudaMemcpyDeviceToHost, ctx_.stream));
  CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  raise_deferred_errors();
}

void CudaBackend::copy_impl(CMatRef src, MatRef dst) {
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data,
                                  static_cast<size_t>(src.size()) * sizeof(float),
                                  cudaMemcpyDeviceToDevice, ctx_.stream));
}

void CudaBackend::fill_impl(MatRef dst, float value) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_fill(dst.data, dst.size(), value, ctx_.stream);
}

void CudaBackend::synchronize_impl() {
  require_not_capturing("synchronize");
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  raise_deferred_errors();
}

void CudaBackend::raise_deferred_errors() {
  kernels::MultinomialStatus& st = *ctx_.h_multinomial;
  if (st.bad == 0u) return;
  const int32_t row = st.row;
  const float total = st.total;
  st = kernels::MultinomialStatus{};
  CRBM_CUDA_CHECK(
      cudaMemsetAsync(ctx_.d_multinomial, 0, sizeof(kernels::MultinomialStatus), ctx_.stream));
  // The message of the CPU backend's check (backend_checks.hpp), raised here.
  CRBM_FAIL("sample_multinomial_counts: total ", total, " in row ", row,
            " (reported at the next synchronisation of the cuda backend)");
}

// ---------------------------------------------------------------- dense algebra

void CudaBackend::gemm_impl(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b,
                            float beta, MatRef c) {
  const int64_t m = c.rows, n = c.cols;
  const int64_t k = trans_a ? a.rows : a.cols;
  DeviceGuard guard(ctx_.ordinal);
  if (k == 0) {
    // op(A) op(B) is all zeros: C = beta * C (cuBLAS rejects a leading dimension of 0).
    kernels::launch_scale(c.data, c.size(), beta, ctx_.stream);
    return;
  }
  // Column-major: C^T (n x m, ld c.cols) = op(B)^T (n x k, ld b.cols) * op(A)^T (k x m, ld a.cols).
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (precision() == Precision::fp32) {
    // The exact path: sgemm under CUBLAS_DEFAULT_MATH (no tensor-op conversion).
    CRBM_CUBLAS_CHECK(cublasSgemm(ctx_.cublas, op_b, op_a, static_cast<int>(n), static_cast<int>(m),
                                  static_cast<int>(k), &alpha, b.data, static_cast<int>(b.cols),
                                  a.data, static_cast<int>(a.cols), &beta, c.data,
                                  static_cast<int>(c.cols)));
    return;
  }
  // fp32 operands and output; cuBLAS converts the inputs to TF32 or BF16 for the tensor
  // cores and accumulates in fp32.
  const cublasComputeType_t compute =
      precision() == Precision::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F_FAST_16BF;
  CRBM_CUBLAS_CHECK(cublasGemmEx(ctx_.cublas, op_b, op_a, static_cast<int>(n), static_cast<int>(m),
                                 static_cast<int>(k), &alpha, b.data, CUDA_R_32F,
                                 static_cast<int>(b.cols), a.data, CUDA_R_32F,
                                 static_cast<int>(a.cols), &beta, c.data, CUDA_R_32F,
                                 static_cast<int>(c.cols), compute, CUBLAS_GEMM_DEFAULT));
}

void CudaBackend::axpby_impl(float alpha, CMatRef x, float beta, MatRef y) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_axpby(alpha, x.data, beta, y.data, y.size(), ctx_.stream);
}

void CudaBackend::column_sums_impl(CMatRef x, float alpha, float beta, MatRef out) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_column_sums(x.data, x.rows, x.cols, alpha, beta, out.data, ctx_.scratch,
                              ctx_.scratch_count, ctx_.props.multiProcessorCount, ctx_.stream);
}

void CudaBackend::row_reduce_impl(CMatRef x, RowReduce op, MatRef out) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_row_reduce(x.data, x.rows, x.cols, detail::row_term_of(op), out.data,
                             ctx_.stream);
}

// ---------------------------------------------------------------- fused elementwise

void CudaBackend::scale_add_activate_impl(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                                          Activation act) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_scale_add_activate(x.data, x.rows, x.cols, scale, col_scale.data, bias.data,
                                     act == Activation::sigmoid, ctx_.stream);
}

void CudaBackend::momentum_update_impl(MatRef param, MatRef velocity, CMatRef grad, float lr,
                                       float momentum, float l2, float l1) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_momentum_update(param.data, velocity.data, grad.data, param.size(), lr, momentum,
                                  l2, l1, ctx_.stream);
}

// ---------------------------------------------------------------- random

void CudaBackend::sample_bernoulli_impl(CMatRef probs, MatRef out, RngKey key) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sample_bernoulli(probs.data, out.data, out.size(), device_key(key, step_offset_),
                                   ctx_.stream);
}

void CudaBackend::sample_gaussian_impl(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sample_gaussian(mean.data, col_sigma.data, out.data, out.rows, out.cols,
                                  device_key(key, step_offset_), ctx_.stream);
}

void CudaBackend::fill_uniform_impl(MatRef out, RngKey key) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_fill_uniform(out.data, out.size(), device_key(key, step_offset_), ctx_.stream);
}

void CudaBackend::fill_binary_codes_impl(MatRef out, uint64_t first) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_fill_binary_codes(out.data, out.rows, out.cols, first, ctx_.stream);
}

void CudaBackend::fill_normal_impl(MatRef out, float mean, float stddev, RngKey key) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_fill_normal(out.data, out.size(), mean, stddev, device_key(key, step_offset_),
                              ctx_.stream);
}

// ---------------------------------------------------------------- softmax units, fine-tuning

void CudaBackend::softmax_groups_impl(MatRef x, int64_t group) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_softmax_groups(x.data, x.rows * (x.cols / group), group, ctx_.stream);
}

void CudaBackend::sample_softmax_groups_impl(CMatRef probs, int64_t group, MatRef out, RngKey key) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sample_softmax_groups(probs.data, out.data, probs.rows * (probs.cols / group),
                                        group, device_key(key, step_offset_), ctx_.stream);
}

// No host round trip: the largest total (which fixes the uniform numbering) is found on
// the device, and an invalid total is recorded there and thrown by the next call that
// synchronises (raise_deferred_errors); the status is copied to pinned memory on the stream.
void CudaBackend::sample_multinomial_counts_impl(CMatRef probs, CMatRef totals, MatRef out,
                                                 RngKey key) {
  require_not_capturing("sample_multinomial_counts");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sample_multinomial_counts(probs.data, totals.data, out.data, probs.rows,
                                            probs.cols, ctx_.d_multinomial,
                                            device_key(key, step_offset_), ctx_.stream);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(ctx_.h_multinomial, ctx_.d_multinomial,
                                  sizeof(kernels::MultinomialStatus), cudaMemcpyDeviceToHost,
                                  ctx_.stream));
}

void CudaBackend::multiply_impl(CMatRef a, MatRef y) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_multiply(a.data, y.data, y.size(), ctx_.stream);
}

void CudaBackend::sigmoid_backward_impl(CMatRef h, MatRef delta) {
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sigmoid_backward(h.data, delta.data, delta.size(), ctx_.stream);
}

// ---------------------------------------------------------------- annealed importance sampling

void CudaBackend::ais_hidden_step_impl(CMatRef pre, CMatRef hidden_bias, CMatRef betas, int64_t k,
                                       CMatRef dv, MatRef log_w, MatRef hidden, RngKey key) {
  DeviceGuard guard(ctx_.ordinal);
  const kernels::AisScheduleRef schedule{betas.data, betas.size(), k, step_offset_};
  kernels::launch_ais_hidden_step(pre.data, hidden_bias.data, pre.rows, pre.cols, schedule, dv.data,
                                  log_w.data, hidden.data, device_key(key, step_offset_),
                                  ctx_.stream);
}

void CudaBackend::ais_visible_step_impl(MatRef v, UnitDraw draw, const AisVisibleRows& rows,
                                        CMatRef betas, int64_t k, MatRef dv, MatRef scaled,
                                        RngKey key) {
  DeviceGuard guard(ctx_.ordinal);
  const kernels::AisScheduleRef schedule{betas.data, betas.size(), k, step_offset_};
  kernels::launch_ais_visible_step(v.data, v.rows, v.cols, draw == UnitDraw::gaussian,
                                   rows.base_bias.data, rows.bias.data, rows.col_sigma.data,
                                   rows.d.data, rows.inv_sigma.data, scaled.data, schedule, dv.data,
                                   device_key(key, step_offset_), ctx_.stream);
}

// ---------------------------------------------------------------- data movement

void CudaBackend::gather_rows_impl(CMatRef src, const std::vector<int32_t>& index, MatRef dst) {
  require_not_capturing("gather_rows");
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

double CudaBackend::sum_squared_diff_impl(CMatRef a, CMatRef b) {
  require_not_capturing("sum_squared_diff");
  DeviceGuard guard(ctx_.ordinal);
  kernels::launch_sum_squared_diff(
      a.data, b.data, a.size(), ctx_.scratch,
      static_cast<int>(std::min<int64_t>(kReducePartials, ctx_.scratch_count)), ctx_.d_result,
      ctx_.stream);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(ctx_.h_result, ctx_.d_result, sizeof(double),
                                  cudaMemcpyDeviceToHost, ctx_.stream));
  CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  raise_deferred_errors();
  return *ctx_.h_result;
}

bool CudaBackend::all_finite_impl(CMatRef x) {
  require_not_capturing("all_finite");
  DeviceGuard guard(ctx_.ordinal);
  CRBM_CUDA_CHECK(cudaMemsetAsync(ctx_.d_flag, 0, sizeof(unsigned int), ctx_.stream));
  kernels::launch_flag_nonfinite(x.data, x.size(), ctx_.d_flag, ctx_.stream);
  CRBM_CUDA_CHECK(cudaMemcpyAsync(ctx_.h_flag, ctx_.d_flag, sizeof(unsigned int),
                                  cudaMemcpyDeviceToHost, ctx_.stream));
  CRBM_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  raise_deferred_errors();
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
