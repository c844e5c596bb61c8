// Launchers for the convolutional RBM's custom CUDA kernels (definitions in
// conv_kernels.cu). Tensors are NCHW device pointers (shapes in conv.hpp);
// every launcher enqueues on `stream`, returns at once and throws crbm::Error
// when the launch fails. Empty sizes launch nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace crbm::cuda::conv_kernels {

struct Geometry {
  int batch, channels, height, width;  // visible B, C, H, W
  int filters, filter_size, pool;      // K, F, P
  int hidden_height, hidden_width;     // Hh, Wh (cropped to a multiple of P)
};

// h[n,k,i,j] = bias[k] + scale * sum_{c,a,b} w[k,c,a,b] v[n,c,i+a,j+b]; bias may be null.
void launch_up(const Geometry& g, const float* v, const float* w, const float* bias, float scale,
               float* h, cudaStream_t stream);
// v[n,c,y,x] = sum_{k,a,b} w[k,c,a,b] h[n,k,y-a,x-b] (0 where no hidden unit reaches).
void launch_down(const Geometry& g, const float* h, const float* w, float* v, cudaStream_t stream);
// dw[k,c,a,b] = alpha * sum_{n,i,j} v[n,c,i+a,j+b] h[n,k,i,j] + beta * dw; one thread
// block per filter element, a fixed-order reduction (deterministic).
void launch_weight_grad(const Geometry& g, const float* v, const float* h, float alpha, float beta,
                        float* dw, cudaStream_t stream);

// Pooling from the logits (one thread per P x P block; pool_math.cuh does the math).
void launch_pool_probs(const Geometry& g, const float* logits, float* hidden_probs,
                       float* pooled_on, cudaStream_t stream);
void launch_pool_sample(const Geometry& g, const float* logits, float* hidden_states,
                        float* pooled_states, uint64_t seed, uint32_t rng_stream, uint64_t step,
                        cudaStream_t stream);
// out[n] = sum over the blocks of row n of log(1 + sum e^I).
void launch_pool_log_partition(const Geometry& g, const float* logits, float* out,
                               cudaStream_t stream);

// x viewed as [rows, channels, plane].
void launch_channel_sums(const float* x, int64_t rows, int64_t channels, int64_t plane, float alpha,
                         float beta, float* out, cudaStream_t stream);
void launch_channel_bias_activate(float* x, int64_t rows, int64_t channels, int64_t plane,
                                  float scale, const float* bias, bool sigmoid,
                                  cudaStream_t stream);

// dst[p, y, x] = src[p, y, x] for y < src_h, x < src_w, else 0; p < planes. Crops
// (dst smaller) or zero-pads (dst larger) each plane at its bottom/right edge.
void launch_copy_top_left(const float* src, int64_t planes, int src_h, int src_w, float* dst,
                          int dst_h, int dst_w, cudaStream_t stream);

}  // namespace crbm::cuda::conv_kernels
