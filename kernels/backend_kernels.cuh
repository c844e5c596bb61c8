// Launchers for the CUDA backend's custom kernels (definitions in backend_kernels.cu).
// All matrices are row-major (rows x cols, leading dimension cols) device pointers;
// every launcher enqueues on `stream`, returns at once and throws crbm::Error when
// the launch fails. Sizes of zero are legal and launch nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "crbm_hd.cuh"

namespace crbm::cuda::kernels {

// A Philox draw address {seed, stream, step}. When step_offset is non-null (a CUDA
// graph is being captured, see crbm/cuda_graph.hpp) the kernels read the 64-bit
// counter it points to at run time and use step + *step_offset.
struct DeviceRngKey {
  uint64_t seed = 0;
  uint32_t stream = 0;
  uint64_t step = 0;
  const uint64_t* step_offset = nullptr;
};

// p[i] = value, i < n.
void launch_fill(float* p, int64_t n, float value, cudaStream_t stream);
// p[i] *= beta (p[i] = 0 when beta == 0, like BLAS).
void launch_scale(float* p, int64_t n, float beta, cudaStream_t stream);
// y = alpha * x + beta * y.
void launch_axpby(float alpha, const float* x, float beta, float* y, int64_t n,
                  cudaStream_t stream);

// out[c] = alpha * sum_r x[r,c] + beta * out[c]; x is rows x cols, out has cols.
// Rows are split across blocks when there are few column tiles; the per-split
// partial sums (doubles) go to `scratch` (capacity scratch_count doubles) and a
// second kernel adds them in a fixed order, so results are deterministic.
void launch_column_sums(const float* x, int64_t rows, int64_t cols, float alpha, float beta,
                        float* out, double* scratch, int64_t scratch_count, int sm_count,
                        cudaStream_t stream);
// out[r] = sum_c math::row_term(x[r,c], op) (identity, softplus or square); out has rows.
void launch_row_reduce(const float* x, int64_t rows, int64_t cols, math::RowTerm op, float* out,
                       cudaStream_t stream);

// x[r,c] = act(scale * col_scale[c] * x[r,c] + bias[c]); col_scale/bias may be null.
void launch_scale_add_activate(float* x, int64_t rows, int64_t cols, float scale,
                               const float* col_scale, const float* bias, bool sigmoid,
                               cudaStream_t stream);
// velocity = math::momentum_velocity(...); param += velocity.
void launch_momentum_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                            float momentum, float l2, float l1, cudaStream_t stream);

// out[i] = (u_i < probs[i]); one thread per Philox block of four elements.
void launch_sample_bernoulli(const float* probs, float* out, int64_t n, DeviceRngKey key,
                             cudaStream_t stream);
// out[r,c] = mean[r,c] + col_sigma[c] * normal_i (col_sigma may be null: 1).
void launch_sample_gaussian(const float* mean, const float* col_sigma, float* out, int64_t rows,
                            int64_t cols, DeviceRngKey key, cudaStream_t stream);
// out[i] = uniform_i.
void launch_fill_uniform(float* out, int64_t n, DeviceRngKey key, cudaStream_t stream);
// out[i] = mean + stddev * normal_i.
void launch_fill_normal(float* out, int64_t n, float mean, float stddev, DeviceRngKey key,
                        cudaStream_t stream);

// out[r,c] = bit c of (first + r).
void launch_fill_binary_codes(float* out, int64_t rows, int64_t cols, uint64_t first,
                              cudaStream_t stream);

// Softmax units. Each row holds cols/group groups of `group` consecutive entries;
// groups are numbered g = r * (cols/group) + j, `groups` in all. One thread per group.
void launch_softmax_groups(float* x, int64_t groups, int64_t group, cudaStream_t stream);
// One-hot draw per group with uniform element g of the key.
void launch_sample_softmax_groups(const float* probs, float* out, int64_t groups, int64_t group,
                                  DeviceRngKey key, cudaStream_t stream);
// sample_multinomial_counts without a host round trip: the largest total (which numbers
// the draws) is found on the device, and an invalid total (negative, NaN, Inf) is recorded
// here for the host to report at its next synchronisation. `bad`, `row`, `total` are
// sticky until the host clears them; max_total is set by each call.
struct MultinomialStatus {
  unsigned long long max_total = 0;
  unsigned int bad = 0;
  int32_t row = 0;
  float total = 0.0f;
};
// out[r,:] = counts of floor(totals[r]) categorical draws from probs[r,:]; draw d of row r
// uses uniform element r * max_total + d, max_total = the largest valid floor(totals[r])
// (computed into status->max_total first). A row with an invalid total draws nothing and
// marks status. One block per row, one thread per draw.
void launch_sample_multinomial_counts(const float* probs, const float* totals, float* out,
                                      int64_t rows, int64_t cols, MultinomialStatus* status,
                                      DeviceRngKey key, cudaStream_t stream);
// y = a .* y.
void launch_multiply(const float* a, float* y, int64_t n, cudaStream_t stream);
// delta = math::sigmoid_backward(delta, h) = delta .* h .* (1 - h).
void launch_sigmoid_backward(const float* h, float* delta, int64_t n, cudaStream_t stream);

// dst[r,:] = src[index[r],:]; dst is rows x cols; indices already validated.
void launch_gather_rows(const float* src, const int32_t* index, int64_t rows, int64_t cols,
                        float* dst, cudaStream_t stream);

// *result = sum_i (a[i] - b[i])^2 in double; partials holds max_partials doubles.
void launch_sum_squared_diff(const float* a, const float* b, int64_t n, double* partials,
                             int max_partials, double* result, cudaStream_t stream);
// *flag = 1 if any x[i] is NaN or infinite (the caller zeroes *flag first).
void launch_flag_nonfinite(const float* x, int64_t n, unsigned int* flag, cudaStream_t stream);

// Graph-replay step counter: *counter = value, or *counter += delta.
void launch_set_counter(uint64_t* counter, uint64_t value, cudaStream_t stream);
void launch_advance_counter(uint64_t* counter, uint64_t delta, cudaStream_t stream);

}  // namespace crbm::cuda::kernels
