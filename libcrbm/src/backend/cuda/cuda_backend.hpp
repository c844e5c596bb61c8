// CudaBackend: crbm::Backend on one GPU. Owns a DeviceContext (a non-blocking
// stream, a cuBLAS handle bound to it with its own workspace, the device
// properties, small scratch buffers, a stream-ordered memory pool); every
// operation is enqueued on that stream. Arguments arrive checked (the public
// layer of crbm::Backend).
// Internal header: the graph-capture support (src/backend/cuda_graph.cpp) needs the stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crbm/backend.hpp"

namespace crbm::cuda {
namespace kernels {
struct MultinomialStatus;
}

// Everything an operation needs to touch the GPU. Created and destroyed with the
// backend; move-free (the backend is not copyable or movable either).
struct DeviceContext {
  int ordinal = 0;
  cudaDeviceProp props{};
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  void* cublas_workspace = nullptr;
  size_t cublas_workspace_bytes = 0;
  // Partial sums for column_sums / sum_squared_diff (fixed size: never grown, so
  // those operations can be captured in a CUDA graph).
  double* scratch = nullptr;
  int64_t scratch_count = 0;
  // Device results of the host-returning reductions and their pinned host copies.
  double* d_result = nullptr;
  unsigned int* d_flag = nullptr;
  double* h_result = nullptr;
  unsigned int* h_flag = nullptr;
  // gather_rows indices: pinned staging + device copy (grown as needed); the event
  // marks when the staging buffer has been read by the last copy.
  int32_t* d_index = nullptr;
  int32_t* h_index = nullptr;
  size_t index_capacity = 0;
  cudaEvent_t index_copied = nullptr;
  // sample_multinomial_counts: its device-side largest total and invalid-total record,
  // and the pinned host copy that each call refreshes (read after a synchronisation).
  kernels::MultinomialStatus* d_multinomial = nullptr;
  kernels::MultinomialStatus* h_multinomial = nullptr;
  // Stream-ordered allocator: a pool of this device whose release threshold keeps
  // freed memory cached (nullptr where memory pools are unsupported).
  cudaMemPool_t pool = nullptr;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int ordinal);
  ~CudaBackend() override;

  Device device() const override { return Device::cuda; }
  std::string describe() const override;
  void* native_stream() const override { return ctx_.stream; }

  // ---- graph capture hooks (used by crbm::GraphCapture only) ----
  cudaStream_t stream() const { return ctx_.stream; }
  int ordinal() const { return ctx_.ordinal; }
  // While set, sampling kernels add *step_offset (a device counter) to key.step (the AIS
  // steps also to their schedule index) and
  // operations that cannot be captured (host transfers, synchronising reductions,
  // allocation) throw.
  void set_capture(const uint64_t* step_offset) {
    capturing_ = true;
    step_offset_ = step_offset;
  }
  void clear_capture() noexcept;
  bool capturing() const { return capturing_; }
  // True when allocations come from the stream-ordered pool (cudaMallocAsync);
  // false on a device without memory pools (then deallocate synchronises).
  bool stream_ordered_memory() const { return ctx_.pool != nullptr; }

 protected:
  float* allocate_impl(size_t count) override;
  void deallocate_impl(float* ptr) noexcept override;
  void upload_impl(const float* host, MatRef dst) override;
  void download_impl(CMatRef src, float* host) override;
  void copy_impl(CMatRef src, MatRef dst) override;
  void fill_impl(MatRef dst, float value) override;
  void synchronize_impl() override;

  void gemm_impl(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta,
                 MatRef c) override;
  void axpby_impl(float alpha, CMatRef x, float beta, MatRef y) override;
  void column_sums_impl(CMatRef x, float alpha, float beta, MatRef out) override;
  void row_reduce_impl(CMatRef x, RowReduce op, MatRef out) override;

  void scale_add_activate_impl(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                               Activation act) override;
  void momentum_update_impl(MatRef param, MatRef velocity, CMatRef grad, float lr, float momentum,
                            float l2, float l1) override;

  void sample_bernoulli_impl(CMatRef probs, MatRef out, RngKey key) override;
  void sample_gaussian_impl(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) override;
  void fill_uniform_impl(MatRef out, RngKey key) override;
  void fill_normal_impl(MatRef out, float mean, float stddev, RngKey key) override;
  void fill_binary_codes_impl(MatRef out, uint64_t first) override;

  void softmax_groups_impl(MatRef x, int64_t group) override;
  void sample_softmax_groups_impl(CMatRef probs, int64_t group, MatRef out, RngKey key) override;
  void sample_multinomial_counts_impl(CMatRef probs, CMatRef totals, MatRef out,
                                      RngKey key) override;
  void multiply_impl(CMatRef a, MatRef y) override;
  void sigmoid_backward_impl(CMatRef h, MatRef delta) override;

  void ais_hidden_step_impl(CMatRef pre, CMatRef hidden_bias, CMatRef betas, int64_t k, CMatRef dv,
                            MatRef log_w, MatRef hidden, RngKey key) override;
  void ais_visible_step_impl(MatRef v, UnitDraw draw, const AisVisibleRows& rows, CMatRef betas,
                             int64_t k, MatRef dv, MatRef scaled, RngKey key) override;

  void gather_rows_impl(CMatRef src, const std::vector<int32_t>& index, MatRef dst) override;

  double sum_squared_diff_impl(CMatRef a, CMatRef b) override;
  bool all_finite_impl(CMatRef x) override;

 private:
  void require_not_capturing(const char* op) const;
  // After a stream synchronisation: throws the error an asynchronous operation recorded
  // on the device (an invalid sample_multinomial_counts total), once.
  void raise_deferred_errors();
  void release() noexcept;
  void free_now(float* ptr) noexcept;

  DeviceContext ctx_;
  bool capturing_ = false;
  const uint64_t* step_offset_ = nullptr;
  // Buffers released while a capture was open (a free is not a capturable node
  // of ours); freed when the capture ends.
  std::vector<float*> deferred_free_;
};

// Makes `ordinal` the current device for the guard's lifetime (restores the old one).
class DeviceGuard {
 public:
  explicit DeviceGuard(int ordinal) noexcept {
    if (cudaGetDevice(&previous_) == cudaSuccess && previous_ != ordinal) {
      if (cudaSetDevice(ordinal) == cudaSuccess) switched_ = true;
    }
    (void)cudaGetLastError();
  }
  ~DeviceGuard() {
    if (switched_) (void)cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

}  // namespace crbm::cuda
