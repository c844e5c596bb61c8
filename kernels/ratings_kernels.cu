// Sparse CUDA kernels of the ratings RBM (launchers in ratings_kernels.cuh). The per-entry
// softmax is ratings_math::level_softmax, the very function the CPU ops call.
#include <algorithm>
#include <cstdint>

#include "backend/cuda/cuda_check.hpp"
#include "ratings_kernels.cuh"
#include "ratings_math.cuh"

namespace crbm::cuda::ratings_kernels {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGridX = 2147483647;

unsigned int blocks_for(int64_t n) {
  return static_cast<unsigned int>(std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxGridX));
}

__global__ void one_hot_kernel(Csr r, int64_t levels, float* values) {
  const int64_t total = r.nnz * levels;
  for (int64_t x = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; x < total;
       x += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = x / levels, l = x % levels;
    values[x] = l == r.level[n] ? 1.0f : 0.0f;
  }
}

// grid.x over hidden units, grid.y over users.
__global__ void up_kernel(Csr r, const float* values, int64_t levels, const float* w,
                          int64_t hidden, float* out) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= hidden) return;
  for (int64_t u = blockIdx.y; u < r.users; u += gridDim.y) {
    float acc = 0.0f;
    for (int32_t n = r.offsets[u]; n < r.offsets[u + 1]; ++n) {
      const int64_t row = int64_t(r.item[n]) * levels;
      for (int64_t l = 0; l < levels; ++l) {
        const float x = values[int64_t(n) * levels + l];
        if (x != 0.0f) acc += x * w[(row + l) * hidden + j];
      }
    }
    out[u * hidden + j] += acc;
  }
}

__global__ void down_kernel(Csr r, const float* h, const float* w, const float* bias,
                            int64_t levels, int64_t hidden, float* probs) {
  for (int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; n < r.nnz;
       n += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = int64_t(r.item[n]) * levels;
    ratings_math::level_softmax(w + row * hidden, bias != nullptr ? bias + row : nullptr,
                                h + int64_t(r.entry_user[n]) * hidden, levels, hidden,
                                probs + n * levels);
  }
}

// grid.x over hidden units, grid.y over entries.
__global__ void stats_kernel(Csr r, const float* values, int64_t levels, const float* h,
                             int64_t hidden, float alpha, float* gw, float* gb) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= hidden) return;
  for (int64_t n = blockIdx.y; n < r.nnz; n += gridDim.y) {
    const int64_t row = int64_t(r.item[n]) * levels;
    const float hj = h[int64_t(r.entry_user[n]) * hidden + j];
    for (int64_t l = 0; l < levels; ++l) {
      const float x = alpha * values[n * levels + l];
      if (x == 0.0f) continue;
      atomicAdd(gw + (row + l) * hidden + j, x * hj);
      if (gb != nullptr && j == 0) atomicAdd(gb + row + l, x);
    }
  }
}

dim3 grid_2d(int64_t hidden, int64_t rows) {
  return dim3(static_cast<unsigned int>((hidden + kThreads - 1) / kThreads),
              static_cast<unsigned int>(std::min<int64_t>(rows, 65535)));
}

}  // namespace

void launch_one_hot(const Csr& r, int64_t levels, float* values, cudaStream_t stream) {
  if (r.nnz == 0 || levels == 0) return;
  one_hot_kernel<<<blocks_for(r.nnz * levels), kThreads, 0, stream>>>(r, levels, values);
  CRBM_CUDA_CHECK_LAUNCH("ratings one_hot_kernel");
}

void launch_up(const Csr& r, const float* values, int64_t levels, const float* w, int64_t hidden,
               float* hidden_pre, cudaStream_t stream) {
  if (r.users == 0 || hidden == 0) return;
  up_kernel<<<grid_2d(hidden, r.users), kThreads, 0, stream>>>(r, values, levels, w, hidden,
                                                               hidden_pre);
  CRBM_CUDA_CHECK_LAUNCH("ratings up_kernel");
}

void launch_down(const Csr& r, const float* hidden, const float* w, const float* bias,
                 int64_t levels, int64_t hidden_units, float* probs, cudaStream_t stream) {
  if (r.nnz == 0) return;
  down_kernel<<<blocks_for(r.nnz), kThreads, 0, stream>>>(r, hidden, w, bias, levels, hidden_units,
                                                          probs);
  CRBM_CUDA_CHECK_LAUNCH("ratings down_kernel");
}

void launch_stats(const Csr& r, const float* values, int64_t levels, const float* hidden,
                  int64_t hidden_units, float alpha, float* grad_w, float* grad_b,
                  cudaStream_t stream) {
  if (r.nnz == 0 || hidden_units == 0) return;
  stats_kernel<<<grid_2d(hidden_units, r.nnz), kThreads, 0, stream>>>(
      r, values, levels, hidden, hidden_units, alpha, grad_w, grad_b);
  CRBM_CUDA_CHECK_LAUNCH("ratings stats_kernel");
}

}  // namespace crbm::cuda::ratings_kernels
