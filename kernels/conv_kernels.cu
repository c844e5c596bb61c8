// Custom CUDA kernels of the convolutional RBM (launchers in conv_kernels.cuh).
//   up:   one thread per hidden position, kFiltersPerThread filters at once (each
//         visible value read once feeds several filters); the filters' current
//         channel slice is staged in shared memory.
//   down: one thread per visible pixel, the transpose gather (no atomics).
//   grad: one thread block per filter element (k,c,a,b), reducing over
//         (n,i,j) in a fixed order, so results are bitwise reproducible.
//   pooling: one thread per P x P block, the per-block math of pool_math.cuh.
#include <algorithm>
#include <cstdint>

#include "backend/cuda/cuda_check.hpp"
#include "block_reduce.cuh"
#include "conv_kernels.cuh"
#include "crbm_hd.cuh"
#include "philox.cuh"
#include "pool_math.cuh"

namespace crbm::cuda::conv_kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kFiltersPerThread = 4;
constexpr int kReduceThreads = 256;

inline unsigned int blocks_for(int64_t n, int threads) {
  return static_cast<unsigned int>((n + threads - 1) / threads);
}

using kernels::block_sum;

__global__ void up_kernel(Geometry g, const float* __restrict__ v, const float* __restrict__ w,
                          const float* __restrict__ bias, float scale, float* __restrict__ h) {
  extern __shared__ float filter_slice[];  // [kFiltersPerThread, F, F]
  const int k0 = blockIdx.y * kFiltersPerThread;
  const int positions = g.hidden_height * g.hidden_width;
  const int p = blockIdx.x * blockDim.x + threadIdx.x;
  const bool active = p < positions;
  const int i = active ? p / g.hidden_width : 0;
  const int j = active ? p % g.hidden_width : 0;
  const int ff = g.filter_size * g.filter_size;
  // Images stride over grid.z (gridDim.z is capped at 65535); n depends on the
  // thread block only, so every thread of the block takes the same iterations.
  for (int n = blockIdx.z; n < g.batch; n += gridDim.z) {
    float acc[kFiltersPerThread] = {};
    for (int c = 0; c < g.channels; ++c) {
      __syncthreads();  // the previous channel's (or image's) slice is no longer read
      for (int t = threadIdx.x; t < kFiltersPerThread * ff; t += blockDim.x) {
        const int kk = t / ff, e = t % ff;
        filter_slice[t] = k0 + kk < g.filters
                              ? w[(static_cast<int64_t>(k0 + kk) * g.channels + c) * ff + e]
                              : 0.0f;
      }
      __syncthreads();
      if (active) {
        const float* src =
            v + ((static_cast<int64_t>(n) * g.channels + c) * g.height + i) * g.width + j;
        for (int a = 0; a < g.filter_size; ++a) {
          for (int b = 0; b < g.filter_size; ++b) {
            const float x = __ldg(src + a * g.width + b);
#pragma unroll
            for (int kk = 0; kk < kFiltersPerThread; ++kk) {
              acc[kk] = fmaf(filter_slice[kk * ff + a * g.filter_size + b], x, acc[kk]);
            }
          }
        }
      }
    }
    if (active) {
#pragma unroll
      for (int kk = 0; kk < kFiltersPerThread; ++kk) {
        const int k = k0 + kk;
        if (k < g.filters) {
          const float b = bias != nullptr ? bias[k] : 0.0f;
          h[(static_cast<int64_t>(n) * g.filters + k) * positions + p] = b + scale * acc[kk];
        }
      }
    }
  }
}

__global__ void down_kernel(Geometry g, const float* __restrict__ h, const float* __restrict__ w,
                            float* __restrict__ v) {
  extern __shared__ float filter_slice[];  // [F, F] of filter (k, c)
  const int c = blockIdx.y;
  const int plane = g.height * g.width;
  const int p = blockIdx.x * blockDim.x + threadIdx.x;
  const bool active = p < plane;
  const int y = active ? p / g.width : 0;
  const int x = active ? p % g.width : 0;
  const int f = g.filter_size, ff = f * f;
  const int positions = g.hidden_height * g.hidden_width;
  // Filter rows a with 0 <= y - a < Hh, columns b with 0 <= x - b < Wh.
  const int a_lo = max(0, y - g.hidden_height + 1), a_hi = min(f - 1, y);
  const int b_lo = max(0, x - g.hidden_width + 1), b_hi = min(f - 1, x);
  // Images stride over grid.z (capped at 65535), uniformly per thread block.
  for (int n = blockIdx.z; n < g.batch; n += gridDim.z) {
    float acc = 0.0f;
    for (int k = 0; k < g.filters; ++k) {
      __syncthreads();
      for (int t = threadIdx.x; t < ff; t += blockDim.x) {
        filter_slice[t] = w[(static_cast<int64_t>(k) * g.channels + c) * ff + t];
      }
      __syncthreads();
      if (!active) continue;
      const float* hk = h + (static_cast<int64_t>(n) * g.filters + k) * positions;
      for (int a = a_lo; a <= a_hi; ++a) {
        const float* hrow = hk + (y - a) * g.hidden_width;  // hidden row y - a
        for (int b = b_lo; b <= b_hi; ++b) {
          acc = fmaf(filter_slice[a * f + b], __ldg(hrow + (x - b)), acc);
        }
      }
    }
    if (active) v[(static_cast<int64_t>(n) * g.channels + c) * plane + p] = acc;
  }
}

__global__ void weight_grad_kernel(Geometry g, const float* __restrict__ v,
                                   const float* __restrict__ h, float alpha, float beta,
                                   float* __restrict__ dw) {
  const int f = g.filter_size;
  const int ab = blockIdx.x, c = blockIdx.y, k = blockIdx.z;
  const int a = ab / f, b = ab % f;
  const int positions = g.hidden_height * g.hidden_width;
  const int64_t total = static_cast<int64_t>(g.batch) * positions;
  const int64_t plane = static_cast<int64_t>(g.height) * g.width;
  float acc = 0.0f;
  for (int64_t t = threadIdx.x; t < total; t += blockDim.x) {
    const int64_t n = t / positions;
    const int p = static_cast<int>(t - n * positions);
    const int i = p / g.hidden_width, j = p % g.hidden_width;
    const float hv = __ldg(h + (n * g.filters + k) * positions + p);
    const float vv = __ldg(v + (n * g.channels + c) * plane + (i + a) * g.width + j + b);
    acc = fmaf(vv, hv, acc);
  }
  const float sum = block_sum(acc);
  if (threadIdx.x == 0) {
    float* out = dw + (static_cast<int64_t>(k) * g.channels + c) * f * f + ab;
    *out = alpha * sum + (beta == 0.0f ? 0.0f : beta * *out);
  }
}

// Offset of pooling block `blk` (flat over [B, K, Hp, Wp]) in a hidden tensor.
__device__ __forceinline__ int64_t block_offset(const Geometry& g, int64_t blk) {
  return pool::block_offset(blk, g.hidden_height / g.pool, g.hidden_width / g.pool, g.hidden_width,
                            g.pool);
}

__global__ void pool_probs_kernel(Geometry g, int64_t blocks, const float* __restrict__ logits,
                                  float* __restrict__ probs, float* __restrict__ pooled) {
  const int64_t blk = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (blk >= blocks) return;
  const int64_t off = block_offset(g, blk);
  const float on =
      pool::block_probs(logits + off, g.hidden_width, g.pool, g.pool, probs + off, g.hidden_width);
  if (pooled != nullptr) pooled[blk] = on;
}

__global__ void pool_sample_kernel(Geometry g, int64_t blocks, const float* __restrict__ logits,
                                   float* __restrict__ states, float* __restrict__ pooled,
                                   uint64_t seed, uint32_t rng_stream, uint64_t step) {
  const int64_t blk = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (blk >= blocks) return;
  const int64_t off = block_offset(g, blk);
  const float u = philox::uniform(seed, rng_stream, step, static_cast<uint64_t>(blk));
  const float on = pool::block_sample(logits + off, g.hidden_width, g.pool, g.pool, u, states + off,
                                      g.hidden_width);
  if (pooled != nullptr) pooled[blk] = on;
}

__global__ void pool_log_partition_kernel(Geometry g, const float* __restrict__ logits,
                                          float* __restrict__ out) {
  const int n = blockIdx.x;
  const int64_t per_row =
      static_cast<int64_t>(g.filters) * (g.hidden_height / g.pool) * (g.hidden_width / g.pool);
  double acc = 0.0;
  for (int64_t t = threadIdx.x; t < per_row; t += blockDim.x) {
    const int64_t off = block_offset(g, n * per_row + t);
    acc += pool::block_log_partition(logits + off, g.hidden_width, g.pool, g.pool);
  }
  const double sum = block_sum(acc);
  if (threadIdx.x == 0) out[n] = static_cast<float>(sum);
}

__global__ void channel_sums_kernel(const float* __restrict__ x, int64_t rows, int64_t channels,
                                    int64_t plane, float alpha, float beta,
                                    float* __restrict__ out) {
  const int64_t c = blockIdx.x;
  const int64_t total = rows * plane;
  double acc = 0.0;
  for (int64_t t = threadIdx.x; t < total; t += blockDim.x) {
    const int64_t n = t / plane, p = t - n * plane;
    acc += x[(n * channels + c) * plane + p];
  }
  const double sum = block_sum(acc);
  if (threadIdx.x == 0) {
    out[c] = alpha * static_cast<float>(sum) + (beta == 0.0f ? 0.0f : beta * out[c]);
  }
}

__global__ void channel_bias_activate_kernel(float* __restrict__ x, int64_t count, int64_t channels,
                                             int64_t plane, float scale,
                                             const float* __restrict__ bias, bool sigmoid) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const int64_t c = (i / plane) % channels;
  const float z = scale * x[i] + (bias != nullptr ? bias[c] : 0.0f);
  x[i] = sigmoid ? math::sigmoid(z) : z;
}

__global__ void copy_top_left_kernel(const float* __restrict__ src, int64_t planes, int src_h,
                                     int src_w, float* __restrict__ dst, int dst_h, int dst_w) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t dst_plane = static_cast<int64_t>(dst_h) * dst_w;
  if (i >= planes * dst_plane) return;
  const int64_t p = i / dst_plane;
  const int y = static_cast<int>((i - p * dst_plane) / dst_w);
  const int x = static_cast<int>((i - p * dst_plane) % dst_w);
  dst[i] = (y < src_h && x < src_w) ? src[(p * src_h + y) * src_w + x] : 0.0f;
}

}  // namespace

constexpr unsigned int kMaxGridYZ = 65535;  // gridDim.y / gridDim.z limit

void launch_up(const Geometry& g, const float* v, const float* w, const float* bias, float scale,
               float* h, cudaStream_t stream) {
  const int positions = g.hidden_height * g.hidden_width;
  if (g.batch == 0 || positions == 0) return;
  CRBM_CHECK_THROW(g.filter_size <= 48, "custom conv up kernel: filter size ", g.filter_size,
                   " exceeds 48 (shared-memory slice); use the cudnn algorithm");
  const unsigned int filter_groups = blocks_for(g.filters, kFiltersPerThread);
  CRBM_CHECK_THROW(filter_groups <= kMaxGridYZ, "custom conv up kernel: ", g.filters,
                   " filters exceed the grid limit; use the cudnn algorithm");
  const dim3 grid(blocks_for(positions, kThreads), filter_groups,
                  std::min(static_cast<unsigned int>(g.batch), kMaxGridYZ));
  const size_t shared = sizeof(float) * kFiltersPerThread * g.filter_size * g.filter_size;
  up_kernel<<<grid, kThreads, shared, stream>>>(g, v, w, bias, scale, h);
  CRBM_CUDA_CHECK_LAUNCH("conv up_kernel");
}

void launch_down(const Geometry& g, const float* h, const float* w, float* v, cudaStream_t stream) {
  if (g.batch == 0) return;
  CRBM_CHECK_THROW(g.filter_size <= 110, "custom conv down kernel: filter size ", g.filter_size,
                   " exceeds 110 (shared-memory slice); use the cudnn algorithm");
  CRBM_CHECK_THROW(static_cast<unsigned int>(g.channels) <= kMaxGridYZ,
                   "custom conv down kernel: ", g.channels,
                   " channels exceed the grid limit; use the cudnn algorithm");
  const dim3 grid(blocks_for(static_cast<int64_t>(g.height) * g.width, kThreads),
                  static_cast<unsigned int>(g.channels),
                  std::min(static_cast<unsigned int>(g.batch), kMaxGridYZ));
  const size_t shared = sizeof(float) * g.filter_size * g.filter_size;
  down_kernel<<<grid, kThreads, shared, stream>>>(g, h, w, v);
  CRBM_CUDA_CHECK_LAUNCH("conv down_kernel");
}

void launch_weight_grad(const Geometry& g, const float* v, const float* h, float alpha, float beta,
                        float* dw, cudaStream_t stream) {
  if (g.filters == 0 || g.channels == 0 || g.filter_size == 0) return;
  CRBM_CHECK_THROW(static_cast<unsigned int>(g.channels) <= kMaxGridYZ &&
                       static_cast<unsigned int>(g.filters) <= kMaxGridYZ,
                   "custom conv weight_grad kernel: ", g.channels, " channels x ", g.filters,
                   " filters exceed the grid limit; use the cudnn algorithm");
  const dim3 grid(static_cast<unsigned int>(g.filter_size * g.filter_size),
                  static_cast<unsigned int>(g.channels), static_cast<unsigned int>(g.filters));
  weight_grad_kernel<<<grid, kReduceThreads, 0, stream>>>(g, v, h, alpha, beta, dw);
  CRBM_CUDA_CHECK_LAUNCH("conv weight_grad_kernel");
}

namespace {
int64_t pool_blocks(const Geometry& g) {
  return static_cast<int64_t>(g.batch) * g.filters * (g.hidden_height / g.pool) *
         (g.hidden_width / g.pool);
}
}  // namespace

void launch_pool_probs(const Geometry& g, const float* logits, float* hidden_probs,
                       float* pooled_on, cudaStream_t stream) {
  const int64_t blocks = pool_blocks(g);
  if (blocks == 0) return;
  pool_probs_kernel<<<blocks_for(blocks, kThreads), kThreads, 0, stream>>>(g, blocks, logits,
                                                                           hidden_probs, pooled_on);
  CRBM_CUDA_CHECK_LAUNCH("conv pool_probs_kernel");
}

void launch_pool_sample(const Geometry& g, const float* logits, float* hidden_states,
                        float* pooled_states, uint64_t seed, uint32_t rng_stream, uint64_t step,
                        cudaStream_t stream) {
  const int64_t blocks = pool_blocks(g);
  if (blocks == 0) return;
  pool_sample_kernel<<<blocks_for(blocks, kThreads), kThreads, 0, stream>>>(
      g, blocks, logits, hidden_states, pooled_states, seed, rng_stream, step);
  CRBM_CUDA_CHECK_LAUNCH("conv pool_sample_kernel");
}

void launch_pool_log_partition(const Geometry& g, const float* logits, float* out,
                               cudaStream_t stream) {
  if (g.batch == 0) return;
  pool_log_partition_kernel<<<static_cast<unsigned int>(g.batch), kReduceThreads, 0, stream>>>(
      g, logits, out);
  CRBM_CUDA_CHECK_LAUNCH("conv pool_log_partition_kernel");
}

void launch_channel_sums(const float* x, int64_t rows, int64_t channels, int64_t plane, float alpha,
                         float beta, float* out, cudaStream_t stream) {
  if (channels == 0) return;
  channel_sums_kernel<<<static_cast<unsigned int>(channels), kReduceThreads, 0, stream>>>(
      x, rows, channels, plane, alpha, beta, out);
  CRBM_CUDA_CHECK_LAUNCH("conv channel_sums_kernel");
}

void launch_channel_bias_activate(float* x, int64_t rows, int64_t channels, int64_t plane,
                                  float scale, const float* bias, bool sigmoid,
                                  cudaStream_t stream) {
  const int64_t count = rows * channels * plane;
  if (count == 0) return;
  channel_bias_activate_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(
      x, count, channels, plane, scale, bias, sigmoid);
  CRBM_CUDA_CHECK_LAUNCH("conv channel_bias_activate_kernel");
}

void launch_copy_top_left(const float* src, int64_t planes, int src_h, int src_w, float* dst,
                          int dst_h, int dst_w, cudaStream_t stream) {
  const int64_t count = planes * dst_h * dst_w;
  if (count == 0) return;
  copy_top_left_kernel<<<blocks_for(count, 256), 256, 0, stream>>>(src, planes, src_h, src_w, dst,
                                                                   dst_h, dst_w);
  CRBM_CUDA_CHECK_LAUNCH("conv copy_top_left_kernel");
}

}  // namespace crbm::cuda::conv_kernels
