// CudaBackend: crbm::Backend on one GPU. Owns a DeviceContext (a non-blocking
// stream, a cuBLAS handle bound to it with its own workspace, the device
// properties, small scratch buffers); every operation is enqueued on that stream.
// Internal header: the graph-capture support (src/cuda_graph.cpp) needs the stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crbm/backend.hpp"

namespace crbm::cuda {

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
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int ordinal);
  ~CudaBackend() override;

  Device device() const override { return Device::cuda; }
  std::string describe() const override;

  float* allocate(size_t count) override;
  void deallocate(float* ptr) noexcept override;
  void upload(const float* host, MatRef dst) override;
  void download(CMatRef src, float* host) override;
  void copy(CMatRef src, MatRef dst) override;
  void fill(MatRef dst, float value) override;
  void synchronize() override;
  void* native_stream() const override { return ctx_.stream; }

  void gemm(bool trans_a, bool trans_b, float alpha, CMatRef a, CMatRef b, float beta,
            MatRef c) override;
  void axpby(float alpha, CMatRef x, float beta, MatRef y) override;
  void column_sums(CMatRef x, float alpha, float beta, MatRef out) override;
  void row_reduce(CMatRef x, RowReduce op, MatRef out) override;

  void scale_add_activate(MatRef x, float scale, CMatRef col_scale, CMatRef bias,
                          Activation act) override;
  void momentum_update(MatRef param, MatRef velocity, CMatRef grad, float lr, float momentum,
                       float l2, float l1) override;

  void sample_bernoulli(CMatRef probs, MatRef out, RngKey key) override;
  void sample_gaussian(CMatRef mean, CMatRef col_sigma, MatRef out, RngKey key) override;
  void fill_uniform(MatRef out, RngKey key) override;
  void fill_binary_codes(MatRef out, uint64_t first) override;
  void fill_normal(MatRef out, float mean, float stddev, RngKey key) override;

  void softmax_groups(MatRef x, int64_t group) override;
  void sample_softmax_groups(CMatRef probs, int64_t group, MatRef out, RngKey key) override;
  void sample_multinomial_counts(CMatRef probs, CMatRef totals, MatRef out, RngKey key) override;
  void multiply(CMatRef a, MatRef y) override;
  void sigmoid_backward(CMatRef h, MatRef delta) override;

  void gather_rows(CMatRef src, const std::vector<int32_t>& index, MatRef dst) override;

  double sum_squared_diff(CMatRef a, CMatRef b) override;
  bool all_finite(CMatRef x) override;

  // ---- graph capture hooks (used by crbm::GraphCapture only) ----
  cudaStream_t stream() const { return ctx_.stream; }
  int ordinal() const { return ctx_.ordinal; }
  // While set, sampling kernels add *step_offset (a device counter) to key.step and
  // operations that cannot be captured (host transfers, synchronising reductions,
  // allocation) throw.
  void set_capture(const uint64_t* step_offset) {
    capturing_ = true;
    step_offset_ = step_offset;
  }
  void clear_capture() noexcept;
  bool capturing() const { return capturing_; }

 private:
  void require_not_capturing(const char* op) const;
  void release() noexcept;

  DeviceContext ctx_;
  bool capturing_ = false;
  const uint64_t* step_offset_ = nullptr;
  // Buffers released while a capture was open (cudaFree is illegal then).
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
