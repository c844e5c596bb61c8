// Fused AIS kernels of the CUDA backend: one launch per half step of M annealing runs
// instead of the ~15 separate copies, scalings, reductions and samplings (see
// eval/ais.cpp). One thread block per run; threads stride over the row's units, sum
// their terms in double and meet in block_sum (fixed order). Element i = r * cols + c of
// a draw takes Philox word i % 4 of block i / 4 (normals: block i), like the samplers of
// backend_kernels.cu, so the draws are the CPU backend's. The inverse temperatures are
// read from device memory at the step index (plus the graph's replay offset).
#include <algorithm>
#include <cstdint>

#include "ais_kernels.cuh"
#include "backend/cuda/cuda_check.hpp"
#include "block_reduce.cuh"
#include "crbm_hd.cuh"
#include "philox.cuh"

namespace crbm::cuda::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 8192;

__device__ __forceinline__ uint64_t replay_offset(const uint64_t* step_offset) {
  return step_offset != nullptr ? *step_offset : 0;
}

// betas[index], or NaN outside the schedule.
__device__ __forceinline__ float beta_at(const AisScheduleRef& s, int64_t index) {
  return index >= 0 && index < s.count ? s.betas[index] : __int_as_float(0x7fc00000);
}

__device__ __forceinline__ float uniform_of(const DeviceRngKey& key, uint64_t step, int64_t i) {
  const philox::Words4 w = philox::block(key.seed, key.stream, step, static_cast<uint64_t>(i) >> 2);
  return math::uniform_from_bits(w.x[i & 3]);
}

__global__ void ais_hidden_step_kernel(const float* __restrict__ pre,
                                       const float* __restrict__ hidden_bias, int64_t rows,
                                       int64_t cols, AisScheduleRef schedule,
                                       const float* __restrict__ dv, float* __restrict__ log_w,
                                       float* __restrict__ hidden, DeviceRngKey key) {
  const uint64_t offset = replay_offset(schedule.step_offset);
  const int64_t k = schedule.k + static_cast<int64_t>(offset);
  const float beta = beta_at(schedule, k), beta_prev = beta_at(schedule, k - 1);
  const uint64_t step = key.step + replay_offset(key.step_offset);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = pre + r * cols;
    double s = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float x = row[c] + hidden_bias[c];
      const float p = math::sigmoid(beta * x);
      s += math::ais_softplus_difference(x, beta, beta_prev, p);
      if (hidden != nullptr) {
        const int64_t i = r * cols + c;
        hidden[i] = math::bernoulli_from_uniform(p, uniform_of(key, step, i));
      }
    }
    s = block_sum(s);
    if (threadIdx.x == 0) {
      math::ais_accumulate(log_w[2 * r], log_w[2 * r + 1],
                           math::ais_log_weight_increment(beta, beta_prev, dv[r], s));
    }
  }
}

__global__ void ais_visible_step_kernel(float* __restrict__ v, int64_t rows, int64_t cols,
                                        bool gaussian, const float* __restrict__ base_bias,
                                        const float* __restrict__ bias,
                                        const float* __restrict__ sigma,
                                        const float* __restrict__ d,
                                        const float* __restrict__ inv_sigma,
                                        float* __restrict__ scaled, AisScheduleRef schedule,
                                        float* __restrict__ dv, DeviceRngKey key) {
  const int64_t k = schedule.k + static_cast<int64_t>(replay_offset(schedule.step_offset));
  const float beta = beta_at(schedule, k);
  const uint64_t step = key.step + replay_offset(key.step_offset);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double s = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const int64_t i = r * cols + c;
      const float mean = math::ais_visible_mean(
          v[i], beta, sigma, c, math::ais_blended_bias(base_bias[c], bias[c], beta));
      float x;
      if (gaussian) {
        const float sd = sigma != nullptr ? sigma[c] : 1.0f;
        x = mean + sd * philox::normal(key.seed, key.stream, step, static_cast<uint64_t>(i));
      } else {
        x = math::bernoulli_from_uniform(math::sigmoid(mean), uniform_of(key, step, i));
      }
      v[i] = x;
      s += static_cast<double>(x) * d[c];
      if (inv_sigma != nullptr) scaled[i] = x * inv_sigma[c];
    }
    s = block_sum(s);
    // A step outside the schedule poisons dv (and with it the log-weights): Bernoulli
    // draws at beta = NaN would otherwise be silently all zero.
    if (threadIdx.x == 0) dv[r] = beta == beta ? static_cast<float>(s) : beta;
  }
}

int row_blocks(int64_t rows) {
  return static_cast<int>(std::min<int64_t>(rows, kMaxBlocks));
}

}  // namespace

void launch_ais_hidden_step(const float* pre, const float* hidden_bias, int64_t rows, int64_t cols,
                            AisScheduleRef schedule, const float* dv, float* log_w, float* hidden,
                            DeviceRngKey key, cudaStream_t stream) {
  if (rows <= 0) return;
  ais_hidden_step_kernel<<<row_blocks(rows), kThreads, 0, stream>>>(
      pre, hidden_bias, rows, cols, schedule, dv, log_w, hidden, key);
  CRBM_CUDA_CHECK_LAUNCH("ais_hidden_step_kernel");
}

void launch_ais_visible_step(float* v, int64_t rows, int64_t cols, bool gaussian,
                             const float* base_bias, const float* bias, const float* sigma,
                             const float* d, const float* inv_sigma, float* scaled,
                             AisScheduleRef schedule, float* dv, DeviceRngKey key,
                             cudaStream_t stream) {
  if (rows <= 0) return;
  ais_visible_step_kernel<<<row_blocks(rows), kThreads, 0, stream>>>(
      v, rows, cols, gaussian, base_bias, bias, sigma, d, inv_sigma, scaled, schedule, dv, key);
  CRBM_CUDA_CHECK_LAUNCH("ais_visible_step_kernel");
}

}  // namespace crbm::cuda::kernels
