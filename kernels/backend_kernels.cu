// Kernels of the CUDA backend: fills, axpby, column sums / row reductions,
// the fused scale-add-activate, the momentum update, Philox sampling, row gather
// and the host-returning reductions. Matrices are row-major (rows x cols); the
// per-element math is the CRBM_HD code in crbm_hd.cuh / philox.cuh that the CPU
// backend runs too. Loops are grid-stride with 64-bit indices.
#include <algorithm>
#include <cstdint>

#include "backend/cuda/cuda_check.hpp"
#include "backend_kernels.cuh"
#include "block_reduce.cuh"
#include "crbm_hd.cuh"
#include "philox.cuh"

namespace crbm::cuda::kernels {
namespace {

constexpr int kThreads = 256;
// Enough resident blocks for any current GPU; the grid-stride loops cover the rest.
constexpr int64_t kMaxBlocks = 8192;

int blocks_for(int64_t work, int threads = kThreads) {
  return static_cast<int>(std::min<int64_t>((work + threads - 1) / threads, kMaxBlocks));
}

__device__ __forceinline__ int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_threads() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

__device__ __forceinline__ uint64_t effective_step(const DeviceRngKey& key) {
  return key.step + (key.step_offset != nullptr ? *key.step_offset : 0);
}

// Block shape for row/column kernels: threadIdx.x walks columns (coalesced),
// threadIdx.y walks rows, so narrow matrices still fill the block.
struct RowColLaunch {
  dim3 grid;
  dim3 block;
};
RowColLaunch row_col_launch(int64_t rows, int64_t cols) {
  int bx = 32;
  while (bx < kThreads && bx < cols) bx *= 2;
  const int by = kThreads / bx;
  const int64_t gx = std::min<int64_t>((cols + bx - 1) / bx, 1 << 16);
  const int64_t gy = std::min<int64_t>((rows + by - 1) / by, 65535);
  return {dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy)),
          dim3(static_cast<unsigned>(bx), static_cast<unsigned>(by))};
}

// ---------------------------------------------------------------- elementwise

__global__ void fill_kernel(float* p, int64_t n, float value) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) p[i] = value;
}

__global__ void scale_kernel(float* p, int64_t n, float beta) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    p[i] = beta == 0.0f ? 0.0f : beta * p[i];
  }
}

__global__ void axpby_kernel(float alpha, const float* __restrict__ x, float beta,
                             float* __restrict__ y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] = alpha * x[i] + beta * y[i];
}

__global__ void scale_add_activate_kernel(float* x, int64_t rows, int64_t cols, float scale,
                                          const float* __restrict__ col_scale,
                                          const float* __restrict__ bias, bool sigmoid) {
  for (int64_t r = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; r < rows;
       r += static_cast<int64_t>(gridDim.y) * blockDim.y) {
    float* row = x + r * cols;
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
         c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      float v = scale * row[c];
      if (col_scale != nullptr) v *= col_scale[c];
      if (bias != nullptr) v += bias[c];
      row[c] = sigmoid ? math::sigmoid(v) : v;
    }
  }
}

__global__ void momentum_update_kernel(float* __restrict__ param, float* __restrict__ velocity,
                                       const float* __restrict__ grad, int64_t n, float lr,
                                       float momentum, float l2, float l1) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const float p = param[i];
    const float v = math::momentum_velocity(p, velocity[i], grad[i], lr, momentum, l2, l1);
    velocity[i] = v;
    param[i] = p + v;
  }
}

// ---------------------------------------------------------------- reductions

// Block (32 x 8): threadIdx.x = column in a 32-column tile, threadIdx.y = row lane.
// blockIdx.y = row split. With partial == nullptr the block finishes the column.
__global__ void column_sums_kernel(const float* __restrict__ x, int64_t rows, int64_t cols,
                                   int64_t rows_per_split, float alpha, float beta, float* out,
                                   double* partial) {
  __shared__ double lane_sums[8][33];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_split;
  const int64_t r1 = min(rows, r0 + rows_per_split);
  double s = 0.0;
  if (c < cols) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) s += x[r * cols + c];
  }
  lane_sums[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    for (int k = 1; k < 8; ++k) s += lane_sums[k][threadIdx.x];
    if (partial != nullptr) {
      partial[static_cast<int64_t>(blockIdx.y) * cols + c] = s;
    } else {
      out[c] = alpha * static_cast<float>(s) + (beta == 0.0f ? 0.0f : beta * out[c]);
    }
  }
}

__global__ void column_sums_finish_kernel(const double* __restrict__ partial, int64_t splits,
                                          int64_t cols, float alpha, float beta, float* out) {
  for (int64_t c = global_thread(); c < cols; c += grid_threads()) {
    double s = 0.0;
    for (int64_t k = 0; k < splits; ++k) s += partial[k * cols + c];
    out[c] = alpha * static_cast<float>(s) + (beta == 0.0f ? 0.0f : beta * out[c]);
  }
}

// One warp per row (rows of up to a few thousand columns).
__global__ void row_reduce_warp_kernel(const float* __restrict__ x, int64_t rows, int64_t cols,
                                       math::RowTerm op, float* __restrict__ out) {
  const int lane = threadIdx.x % 32;
  const int64_t warps_per_block = blockDim.x / 32;
  for (int64_t r = blockIdx.x * warps_per_block + threadIdx.x / 32; r < rows;
       r += gridDim.x * warps_per_block) {
    const float* row = x + r * cols;
    double s = 0.0;
    for (int64_t c = lane; c < cols; c += 32) s += math::row_term(row[c], op);
    for (int off = 16; off > 0; off /= 2) s += __shfl_down_sync(0xffffffffu, s, off);
    if (lane == 0) out[r] = static_cast<float>(s);
  }
}

// One block per row (long rows).
__global__ void row_reduce_block_kernel(const float* __restrict__ x, int64_t rows, int64_t cols,
                                        math::RowTerm op, float* __restrict__ out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * cols;
    double s = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += math::row_term(row[c], op);
    s = block_sum(s);
    if (threadIdx.x == 0) out[r] = static_cast<float>(s);
  }
}

__global__ void squared_diff_partial_kernel(const float* __restrict__ a,
                                            const float* __restrict__ b, int64_t n,
                                            double* __restrict__ partials) {
  double s = 0.0;
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const double d = static_cast<double>(a[i]) - b[i];
    s += d * d;
  }
  s = block_sum(s);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void sum_partials_kernel(const double* __restrict__ partials, int count,
                                    double* __restrict__ result) {
  double s = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
  s = block_sum(s);
  if (threadIdx.x == 0) *result = s;
}

__global__ void flag_nonfinite_kernel(const float* __restrict__ x, int64_t n, unsigned int* flag) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    if (!isfinite(x[i])) *flag = 1u;  // every writer stores the same value
  }
}

// ---------------------------------------------------------------- random

// One thread per Philox block: element 4b+j takes word j, exactly like the CPU;
// body(i, u) for each element i < n with its uniform u.
template <class Body>
__device__ __forceinline__ void for_each_uniform(int64_t n, const DeviceRngKey& key, Body body) {
  const uint64_t step = effective_step(key);
  const int64_t nblocks = (n + 3) / 4;
  for (int64_t b = global_thread(); b < nblocks; b += grid_threads()) {
    const philox::Words4 w = philox::block(key.seed, key.stream, step, static_cast<uint64_t>(b));
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t i = 4 * b + j;
      if (i < n) body(i, math::uniform_from_bits(w.x[j]));
    }
  }
}

__global__ void sample_bernoulli_kernel(const float* __restrict__ probs, float* __restrict__ out,
                                        int64_t n, DeviceRngKey key) {
  for_each_uniform(n, key,
                   [&](int64_t i, float u) { out[i] = math::bernoulli_from_uniform(probs[i], u); });
}

__global__ void fill_uniform_kernel(float* __restrict__ out, int64_t n, DeviceRngKey key) {
  for_each_uniform(n, key, [&](int64_t i, float u) { out[i] = u; });
}

__global__ void fill_binary_codes_kernel(float* __restrict__ out, int64_t rows, int64_t cols,
                                         uint64_t first) {
  const int64_t n = rows * cols;
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    out[i] = math::binary_code_bit(first + static_cast<uint64_t>(i / cols), i % cols);
  }
}

__global__ void fill_normal_kernel(float* __restrict__ out, int64_t n, float mean, float stddev,
                                   DeviceRngKey key) {
  const uint64_t step = effective_step(key);
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    out[i] = mean + stddev * philox::normal(key.seed, key.stream, step, static_cast<uint64_t>(i));
  }
}

__global__ void sample_gaussian_kernel(const float* __restrict__ mean,
                                       const float* __restrict__ col_sigma, float* __restrict__ out,
                                       int64_t rows, int64_t cols, DeviceRngKey key) {
  const uint64_t step = effective_step(key);
  for (int64_t r = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; r < rows;
       r += static_cast<int64_t>(gridDim.y) * blockDim.y) {
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
         c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      const int64_t i = r * cols + c;
      const float s = col_sigma != nullptr ? col_sigma[c] : 1.0f;
      out[i] = mean[i] + s * philox::normal(key.seed, key.stream, step, static_cast<uint64_t>(i));
    }
  }
}

// ---------------------------------------------------------------- softmax units

__global__ void softmax_groups_kernel(float* x, int64_t groups, int64_t group) {
  for (int64_t g = global_thread(); g < groups; g += grid_threads()) {
    math::softmax_inplace(x + g * group, group);
  }
}

__global__ void sample_softmax_groups_kernel(const float* __restrict__ probs,
                                             float* __restrict__ out, int64_t groups, int64_t group,
                                             DeviceRngKey key) {
  const uint64_t step = effective_step(key);
  for (int64_t g = global_thread(); g < groups; g += grid_threads()) {
    const float u = philox::uniform(key.seed, key.stream, step, static_cast<uint64_t>(g));
    const int64_t pick = math::categorical_from_uniform(probs + g * group, group, u);
    float* o = out + g * group;
    for (int64_t i = 0; i < group; ++i) o[i] = i == pick ? 1.0f : 0.0f;
  }
}

__device__ __forceinline__ bool valid_total(float t) {
  return t >= 0.0f && isfinite(t);
}

// status->max_total = max over rows of floor(totals[r]) (valid rows); the first invalid
// total found is recorded (sticky).
__global__ void multinomial_max_total_kernel(const float* __restrict__ totals, int64_t rows,
                                             MultinomialStatus* status) {
  for (int64_t r = global_thread(); r < rows; r += grid_threads()) {
    const float t = totals[r];
    if (!valid_total(t)) {
      if (atomicCAS(&status->bad, 0u, 1u) == 0u) {
        status->row = static_cast<int32_t>(r);
        status->total = t;
      }
      continue;
    }
    atomicMax(&status->max_total, static_cast<unsigned long long>(t));
  }
}

// Block per row: zero the row, then each thread adds its draws with atomicAdd of
// 1.0f (exact for counts below 2^24, so the result does not depend on the order).
__global__ void sample_multinomial_counts_kernel(
    const float* __restrict__ probs, const float* __restrict__ totals, float* __restrict__ out,
    int64_t rows, int64_t cols, const MultinomialStatus* __restrict__ status, DeviceRngKey key) {
  const uint64_t step = effective_step(key);
  const int64_t max_total = static_cast<int64_t>(status->max_total);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* p = probs + r * cols;
    float* o = out + r * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) o[c] = 0.0f;
    __syncthreads();
    const float t = totals[r];
    const int64_t draws = valid_total(t) ? static_cast<int64_t>(t) : 0;
    for (int64_t d = threadIdx.x; d < draws; d += blockDim.x) {
      const float u =
          philox::uniform(key.seed, key.stream, step, static_cast<uint64_t>(r * max_total + d));
      atomicAdd(o + math::categorical_from_uniform(p, cols, u), 1.0f);
    }
    __syncthreads();  // the next row's zeroing must not race this row's adds (same block)
  }
}

__global__ void multiply_kernel(const float* __restrict__ a, float* __restrict__ y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] *= a[i];
}

__global__ void sigmoid_backward_kernel(const float* __restrict__ h, float* __restrict__ delta,
                                        int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    delta[i] = math::sigmoid_backward(delta[i], h[i]);
  }
}

// ---------------------------------------------------------------- data movement

__global__ void gather_rows_kernel(const float* __restrict__ src, const int32_t* __restrict__ index,
                                   int64_t rows, int64_t cols, float* __restrict__ dst) {
  for (int64_t r = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; r < rows;
       r += static_cast<int64_t>(gridDim.y) * blockDim.y) {
    const float* from = src + static_cast<int64_t>(index[r]) * cols;
    float* to = dst + r * cols;
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
         c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      to[c] = from[c];
    }
  }
}

__global__ void set_counter_kernel(uint64_t* counter, uint64_t value) {
  *counter = value;
}
__global__ void advance_counter_kernel(uint64_t* counter, uint64_t delta) {
  *counter += delta;
}

}  // namespace

void launch_fill(float* p, int64_t n, float value, cudaStream_t stream) {
  if (n <= 0) return;
  fill_kernel<<<blocks_for(n), kThreads, 0, stream>>>(p, n, value);
  CRBM_CUDA_CHECK_LAUNCH("fill_kernel");
}

void launch_scale(float* p, int64_t n, float beta, cudaStream_t stream) {
  if (n <= 0) return;
  scale_kernel<<<blocks_for(n), kThreads, 0, stream>>>(p, n, beta);
  CRBM_CUDA_CHECK_LAUNCH("scale_kernel");
}

void launch_axpby(float alpha, const float* x, float beta, float* y, int64_t n,
                  cudaStream_t stream) {
  if (n <= 0) return;
  axpby_kernel<<<blocks_for(n), kThreads, 0, stream>>>(alpha, x, beta, y, n);
  CRBM_CUDA_CHECK_LAUNCH("axpby_kernel");
}

void launch_column_sums(const float* x, int64_t rows, int64_t cols, float alpha, float beta,
                        float* out, double* scratch, int64_t scratch_count, int sm_count,
                        cudaStream_t stream) {
  if (cols <= 0) return;
  const int64_t col_tiles = (cols + 31) / 32;
  // Aim for a few blocks per SM; split rows only while each split keeps >= 64 rows
  // and the partial sums fit in the scratch buffer.
  const int64_t target_blocks = 4 * static_cast<int64_t>(std::max(sm_count, 1));
  int64_t splits = (target_blocks + col_tiles - 1) / col_tiles;
  splits = std::min(splits, (rows + 63) / 64);
  splits = std::min<int64_t>(splits, 65535);
  splits = std::min(splits, scratch != nullptr ? scratch_count / cols : 0);
  if (splits < 2) splits = 1;
  const int64_t rows_per_split =
      splits == 1 ? std::max<int64_t>(rows, 1) : (rows + splits - 1) / splits;
  const dim3 grid(static_cast<unsigned>(col_tiles), static_cast<unsigned>(splits));
  const dim3 block(32, 8);
  column_sums_kernel<<<grid, block, 0, stream>>>(x, rows, cols, rows_per_split, alpha, beta, out,
                                                 splits == 1 ? nullptr : scratch);
  CRBM_CUDA_CHECK_LAUNCH("column_sums_kernel");
  if (splits > 1) {
    column_sums_finish_kernel<<<blocks_for(cols), kThreads, 0, stream>>>(scratch, splits, cols,
                                                                         alpha, beta, out);
    CRBM_CUDA_CHECK_LAUNCH("column_sums_finish_kernel");
  }
}

void launch_row_reduce(const float* x, int64_t rows, int64_t cols, math::RowTerm op, float* out,
                       cudaStream_t stream) {
  if (rows <= 0) return;
  if (cols <= 2048) {
    const int64_t warps_per_block = kThreads / 32;
    const int grid = static_cast<int>(
        std::min<int64_t>((rows + warps_per_block - 1) / warps_per_block, kMaxBlocks));
    row_reduce_warp_kernel<<<grid, kThreads, 0, stream>>>(x, rows, cols, op, out);
    CRBM_CUDA_CHECK_LAUNCH("row_reduce_warp_kernel");
  } else {
    const int grid = static_cast<int>(std::min<int64_t>(rows, kMaxBlocks));
    row_reduce_block_kernel<<<grid, kThreads, 0, stream>>>(x, rows, cols, op, out);
    CRBM_CUDA_CHECK_LAUNCH("row_reduce_block_kernel");
  }
}

void launch_scale_add_activate(float* x, int64_t rows, int64_t cols, float scale,
                               const float* col_scale, const float* bias, bool sigmoid,
                               cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const RowColLaunch l = row_col_launch(rows, cols);
  scale_add_activate_kernel<<<l.grid, l.block, 0, stream>>>(x, rows, cols, scale, col_scale, bias,
                                                            sigmoid);
  CRBM_CUDA_CHECK_LAUNCH("scale_add_activate_kernel");
}

void launch_momentum_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                            float momentum, float l2, float l1, cudaStream_t stream) {
  if (n <= 0) return;
  momentum_update_kernel<<<blocks_for(n), kThreads, 0, stream>>>(param, velocity, grad, n, lr,
                                                                 momentum, l2, l1);
  CRBM_CUDA_CHECK_LAUNCH("momentum_update_kernel");
}

void launch_sample_bernoulli(const float* probs, float* out, int64_t n, DeviceRngKey key,
                             cudaStream_t stream) {
  if (n <= 0) return;
  sample_bernoulli_kernel<<<blocks_for((n + 3) / 4), kThreads, 0, stream>>>(probs, out, n, key);
  CRBM_CUDA_CHECK_LAUNCH("sample_bernoulli_kernel");
}

void launch_sample_gaussian(const float* mean, const float* col_sigma, float* out, int64_t rows,
                            int64_t cols, DeviceRngKey key, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const RowColLaunch l = row_col_launch(rows, cols);
  sample_gaussian_kernel<<<l.grid, l.block, 0, stream>>>(mean, col_sigma, out, rows, cols, key);
  CRBM_CUDA_CHECK_LAUNCH("sample_gaussian_kernel");
}

void launch_fill_uniform(float* out, int64_t n, DeviceRngKey key, cudaStream_t stream) {
  if (n <= 0) return;
  fill_uniform_kernel<<<blocks_for((n + 3) / 4), kThreads, 0, stream>>>(out, n, key);
  CRBM_CUDA_CHECK_LAUNCH("fill_uniform_kernel");
}

void launch_fill_normal(float* out, int64_t n, float mean, float stddev, DeviceRngKey key,
                        cudaStream_t stream) {
  if (n <= 0) return;
  fill_normal_kernel<<<blocks_for(n), kThreads, 0, stream>>>(out, n, mean, stddev, key);
  CRBM_CUDA_CHECK_LAUNCH("fill_normal_kernel");
}

void launch_fill_binary_codes(float* out, int64_t rows, int64_t cols, uint64_t first,
                              cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  fill_binary_codes_kernel<<<blocks_for(rows * cols), kThreads, 0, stream>>>(out, rows, cols,
                                                                             first);
  CRBM_CUDA_CHECK_LAUNCH("fill_binary_codes_kernel");
}

void launch_softmax_groups(float* x, int64_t groups, int64_t group, cudaStream_t stream) {
  if (groups <= 0 || group <= 0) return;
  softmax_groups_kernel<<<blocks_for(groups), kThreads, 0, stream>>>(x, groups, group);
  CRBM_CUDA_CHECK_LAUNCH("softmax_groups_kernel");
}

void launch_sample_softmax_groups(const float* probs, float* out, int64_t groups, int64_t group,
                                  DeviceRngKey key, cudaStream_t stream) {
  if (groups <= 0 || group <= 0) return;
  sample_softmax_groups_kernel<<<blocks_for(groups), kThreads, 0, stream>>>(probs, out, groups,
                                                                            group, key);
  CRBM_CUDA_CHECK_LAUNCH("sample_softmax_groups_kernel");
}

void launch_sample_multinomial_counts(const float* probs, const float* totals, float* out,
                                      int64_t rows, int64_t cols, MultinomialStatus* status,
                                      DeviceRngKey key, cudaStream_t stream) {
  if (rows <= 0) return;
  CRBM_CUDA_CHECK(cudaMemsetAsync(&status->max_total, 0, sizeof(status->max_total), stream));
  multinomial_max_total_kernel<<<blocks_for(rows), kThreads, 0, stream>>>(totals, rows, status);
  CRBM_CUDA_CHECK_LAUNCH("multinomial_max_total_kernel");
  if (cols <= 0) return;
  const int grid = static_cast<int>(std::min<int64_t>(rows, kMaxBlocks));
  sample_multinomial_counts_kernel<<<grid, kThreads, 0, stream>>>(probs, totals, out, rows, cols,
                                                                  status, key);
  CRBM_CUDA_CHECK_LAUNCH("sample_multinomial_counts_kernel");
}

void launch_multiply(const float* a, float* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  multiply_kernel<<<blocks_for(n), kThreads, 0, stream>>>(a, y, n);
  CRBM_CUDA_CHECK_LAUNCH("multiply_kernel");
}

void launch_sigmoid_backward(const float* h, float* delta, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  sigmoid_backward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(h, delta, n);
  CRBM_CUDA_CHECK_LAUNCH("sigmoid_backward_kernel");
}

void launch_gather_rows(const float* src, const int32_t* index, int64_t rows, int64_t cols,
                        float* dst, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const RowColLaunch l = row_col_launch(rows, cols);
  gather_rows_kernel<<<l.grid, l.block, 0, stream>>>(src, index, rows, cols, dst);
  CRBM_CUDA_CHECK_LAUNCH("gather_rows_kernel");
}

void launch_sum_squared_diff(const float* a, const float* b, int64_t n, double* partials,
                             int max_partials, double* result, cudaStream_t stream) {
  const int grid = std::max(1, std::min(blocks_for(n), max_partials));
  squared_diff_partial_kernel<<<grid, kThreads, 0, stream>>>(a, b, n, partials);
  CRBM_CUDA_CHECK_LAUNCH("squared_diff_partial_kernel");
  sum_partials_kernel<<<1, kThreads, 0, stream>>>(partials, grid, result);
  CRBM_CUDA_CHECK_LAUNCH("sum_partials_kernel");
}

void launch_flag_nonfinite(const float* x, int64_t n, unsigned int* flag, cudaStream_t stream) {
  if (n <= 0) return;
  flag_nonfinite_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, n, flag);
  CRBM_CUDA_CHECK_LAUNCH("flag_nonfinite_kernel");
}

void launch_set_counter(uint64_t* counter, uint64_t value, cudaStream_t stream) {
  set_counter_kernel<<<1, 1, 0, stream>>>(counter, value);
  CRBM_CUDA_CHECK_LAUNCH("set_counter_kernel");
}

void launch_advance_counter(uint64_t* counter, uint64_t delta, cudaStream_t stream) {
  advance_counter_kernel<<<1, 1, 0, stream>>>(counter, delta);
  CRBM_CUDA_CHECK_LAUNCH("advance_counter_kernel");
}

}  // namespace crbm::cuda::kernels
