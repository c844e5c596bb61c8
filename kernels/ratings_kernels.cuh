// Launchers for the ratings RBM's sparse CUDA kernels (definitions in ratings_kernels.cu;
// the ops they implement are described in crbm/ratings_ops.hpp). All pointers are device
// memory; the CSR arrays are int32 (offsets [users+1], entry_user/item/level [nnz]).
// Every launcher enqueues on `stream`, returns at once and throws crbm::Error when the
// launch fails. Empty sizes launch nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace crbm::cuda::ratings_kernels {

struct Csr {
  int64_t users = 0, nnz = 0;
  const int32_t* offsets = nullptr;
  const int32_t* entry_user = nullptr;
  const int32_t* item = nullptr;
  const int32_t* level = nullptr;
};

// values [nnz, levels] = one-hot of level[n].
void launch_one_hot(const Csr& r, int64_t levels, float* values, cudaStream_t stream);
// hidden [users, H] += sum_{n in u} sum_k values[n,k] w[(item_n*K + k), :]; one thread
// per (user, hidden unit), entries in order.
void launch_up(const Csr& r, const float* values, int64_t levels, const float* w, int64_t hidden,
               float* hidden_pre, cudaStream_t stream);
// probs [nnz, K] = softmax_k(b + W h) of each entry (ratings_math::level_softmax); b may be null.
void launch_down(const Csr& r, const float* hidden, const float* w, const float* bias,
                 int64_t levels, int64_t hidden_units, float* probs, cudaStream_t stream);
// grad_w [(item*K + k), :] += alpha values[n,k] h[u_n, :]; grad_b (may be null) likewise;
// atomic adds (the order of the sum is not fixed).
void launch_stats(const Csr& r, const float* values, int64_t levels, const float* hidden,
                  int64_t hidden_units, float alpha, float* grad_w, float* grad_b,
                  cudaStream_t stream);

}  // namespace crbm::cuda::ratings_kernels
