// The one thread-block sum of the CUDA kernels (device code only). Every thread
// of the block calls it with its partial value; the result is valid in thread 0
// (threadIdx.x == threadIdx.y == 0). The block may be 1-D or 2-D, with
// blockDim.x * blockDim.y a multiple of 32 and at most 1024 threads. The order
// of the additions is fixed (warp shuffles, then the warps' sums by warp 0), so
// results are bitwise reproducible from run to run.
#pragma once

#include <cuda_runtime.h>

namespace crbm::cuda::kernels {

template <typename T>
__device__ T block_sum(T v) {
  __shared__ T warp_sums[32];
  const int tid = threadIdx.y * blockDim.x + threadIdx.x;
  const int nthreads = blockDim.x * blockDim.y;
  for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
  if (tid % 32 == 0) warp_sums[tid / 32] = v;
  __syncthreads();
  T s = T(0);
  if (tid < 32) {
    s = tid < nthreads / 32 ? warp_sums[tid] : T(0);
    for (int off = 16; off > 0; off /= 2) s += __shfl_down_sync(0xffffffffu, s, off);
  }
  __syncthreads();  // warp_sums may be reused by a following call
  return s;
}

}  // namespace crbm::cuda::kernels
