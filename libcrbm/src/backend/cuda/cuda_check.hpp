// Status checks for the CUDA runtime, cuBLAS and cuRAND: a failing status becomes a
// crbm::Error naming the call expression, the status name and text, and file:line.
// Internal header (CUDA builds only); public headers never include CUDA headers.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <cstddef>
#include <string>

#include "crbm/error.hpp"

namespace crbm::cuda {

inline const char* curand_status_name(curandStatus_t s) {
  switch (s) {
    case CURAND_STATUS_SUCCESS:
      return "CURAND_STATUS_SUCCESS";
    case CURAND_STATUS_VERSION_MISMATCH:
      return "CURAND_STATUS_VERSION_MISMATCH";
    case CURAND_STATUS_NOT_INITIALIZED:
      return "CURAND_STATUS_NOT_INITIALIZED";
    case CURAND_STATUS_ALLOCATION_FAILED:
      return "CURAND_STATUS_ALLOCATION_FAILED";
    case CURAND_STATUS_TYPE_ERROR:
      return "CURAND_STATUS_TYPE_ERROR";
    case CURAND_STATUS_OUT_OF_RANGE:
      return "CURAND_STATUS_OUT_OF_RANGE";
    case CURAND_STATUS_LENGTH_NOT_MULTIPLE:
      return "CURAND_STATUS_LENGTH_NOT_MULTIPLE";
    case CURAND_STATUS_DOUBLE_PRECISION_REQUIRED:
      return "CURAND_STATUS_DOUBLE_PRECISION_REQUIRED";
    case CURAND_STATUS_LAUNCH_FAILURE:
      return "CURAND_STATUS_LAUNCH_FAILURE";
    case CURAND_STATUS_PREEXISTING_FAILURE:
      return "CURAND_STATUS_PREEXISTING_FAILURE";
    case CURAND_STATUS_INITIALIZATION_FAILED:
      return "CURAND_STATUS_INITIALIZATION_FAILED";
    case CURAND_STATUS_ARCH_MISMATCH:
      return "CURAND_STATUS_ARCH_MISMATCH";
    case CURAND_STATUS_INTERNAL_ERROR:
      return "CURAND_STATUS_INTERNAL_ERROR";
  }
  return "CURAND_STATUS_<unknown>";
}

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

#define CRBM_CURAND_CHECK(expr)                                                              \
  do {                                                                                       \
    const curandStatus_t crbm_curand_status_ = (expr);                                       \
    if (crbm_curand_status_ != CURAND_STATUS_SUCCESS) {                                      \
      throw ::crbm::Error(::crbm::concat(                                                    \
          #expr, " failed: ", ::crbm::cuda::curand_status_name(crbm_curand_status_), " at ", \
          __FILE__, ":", __LINE__));                                                         \
    }                                                                                        \
  } while (0)

namespace crbm::cuda {

// cudaMalloc with the size in the message: "out of GPU memory allocating N bytes
// (F bytes free of T on device D)".
inline void* malloc_checked(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    int dev = -1;
    (void)cudaMemGetInfo(&free_b, &total_b);
    (void)cudaGetDevice(&dev);
    (void)cudaGetLastError();
    CRBM_FAIL("out of GPU memory allocating ", bytes, " bytes for ", what, " (", free_b,
              " bytes free of ", total_b, " on cuda device ", dev, ")");
  }
  if (e != cudaSuccess) {
    throw Error(cuda_error_message(e, "cudaMalloc", __FILE__, __LINE__) + " allocating " +
                std::to_string(bytes) + " bytes for " + what);
  }
  return p;
}

}  // namespace crbm::cuda
