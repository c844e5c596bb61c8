// Status checks for the CUDA runtime and cuBLAS: a failing status becomes a
// crbm::Error naming the call expression, the status name and text, and file:line.
// Internal header (CUDA builds only); public headers never include CUDA headers.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "crbm/error.hpp"

namespace crbm::cuda {

// Builds the message for a failed runtime call. Clears the (non-sticky) error so
// that it does not resurface in the next unrelated check.
inline std::string cuda_error_message(cudaError_t e, const char* expr, const char* file, int line) {
  (void)cudaGetLastError();
  std::string what = concat(expr, " failed: ", cudaGetErrorName(e), " (", cudaGetErrorString(e),
                            ") at ", file, ":", line);
  if (e == cudaErrorMemoryAllocation) what = "out of GPU memory: " + what;
  return what;
}

}  // namespace crbm::cuda

#define CRBM_CUDA_CHECK(expr)                                                              \
  do {                                                                                     \
    const cudaError_t crbm_cuda_status_ = (expr);                                          \
    if (crbm_cuda_status_ != cudaSuccess) {                                                \
      throw ::crbm::Error(                                                                 \
          ::crbm::cuda::cuda_error_message(crbm_cuda_status_, #expr, __FILE__, __LINE__)); \
    }                                                                                      \
  } while (0)

// After a kernel launch: reports bad launch configurations (and earlier asynchronous
// faults) with the kernel's name.
#define CRBM_CUDA_CHECK_LAUNCH(kernel_name)                                  \
  do {                                                                       \
    const cudaError_t crbm_cuda_status_ = cudaGetLastError();                \
    if (crbm_cuda_status_ != cudaSuccess) {                                  \
      throw ::crbm::Error(::crbm::cuda::cuda_error_message(                  \
          crbm_cuda_status_, "launch of " kernel_name, __FILE__, __LINE__)); \
    }                                                                        \
  } while (0)

#define CRBM_CUBLAS_CHECK(expr)                                                           \
  do {                                                                                    \
    const cublasStatus_t crbm_cublas_status_ = (expr);                                    \
    if (crbm_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                   \
      throw ::crbm::Error(::crbm::concat(                                                 \
          #expr, " failed: ", cublasGetStatusName(crbm_cublas_status_), " (",             \
          cublasGetStatusString(crbm_cublas_status_), ") at ", __FILE__, ":", __LINE__)); \
    }                                                                                     \
  } while (0)

namespace crbm::cuda {

// Throws "out of GPU memory allocating N bytes for WHAT (F bytes free of T on cuda
// device D)"; for the current device.
[[noreturn]] inline void fail_out_of_memory(size_t bytes, const char* what) {
  size_t free_b = 0, total_b = 0;
  int dev = -1;
  (void)cudaMemGetInfo(&free_b, &total_b);
  (void)cudaGetDevice(&dev);
  (void)cudaGetLastError();
  CRBM_FAIL("out of GPU memory allocating ", bytes, " bytes for ", what, " (", free_b,
            " bytes free of ", total_b, " on cuda device ", dev, ")");
}

// cudaMalloc with the size in the message (fail_out_of_memory).
inline void* malloc_checked(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    fail_out_of_memory(bytes, what);
  }
  if (e != cudaSuccess) {
    throw Error(cuda_error_message(e, "cudaMalloc", __FILE__, __LINE__) + " allocating " +
                std::to_string(bytes) + " bytes for " + what);
  }
  return p;
}

}  // namespace crbm::cuda
