// Launchers of the CUDA backend's fused AIS kernels (definitions in ais_kernels.cu; the
// math is Backend::ais_hidden_step / ais_visible_step in crbm/backend.hpp, shared with the
// CPU through crbm_hd.cuh). Matrices are row-major device pointers; each launcher enqueues
// one kernel on `stream` (one thread block per run, a fixed-order row sum: deterministic),
// returns at once and throws crbm::Error when the launch fails. rows == 0 launches nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backend_kernels.cuh"

namespace crbm::cuda::kernels {

// The schedule in device memory and the step: the kernels read betas[k + *step_offset]
// (step_offset non-null while a CUDA graph is captured, as for DeviceRngKey), and
// betas[k - 1 + ...] for the hidden half. An index outside 0..count-1 gives NaN.
struct AisScheduleRef {
  const float* betas = nullptr;
  int64_t count = 0;
  int64_t k = 0;
  const uint64_t* step_offset = nullptr;
};

// log_w[r] (pair hi, lo) += increment of run r; hidden = Bernoulli(sigm(beta x)) draws unless
// null. pre and hidden are rows x cols; dv rows x 1; log_w rows x 2.
void launch_ais_hidden_step(const float* pre, const float* hidden_bias, int64_t rows, int64_t cols,
                            AisScheduleRef schedule, const float* dv, float* log_w, float* hidden,
                            DeviceRngKey key, cudaStream_t stream);

// v (rows x cols, W h on entry) becomes the draw; dv[r] = v[r,:] . d; scaled = v .* inv_sigma
// when inv_sigma is non-null. sigma null: 1 (and Bernoulli units always pass null).
void launch_ais_visible_step(float* v, int64_t rows, int64_t cols, bool gaussian,
                             const float* base_bias, const float* bias, const float* sigma,
                             const float* d, const float* inv_sigma, float* scaled,
                             AisScheduleRef schedule, float* dv, DeviceRngKey key,
                             cudaStream_t stream);

}  // namespace crbm::cuda::kernels
