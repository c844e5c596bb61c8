// Image preprocessing for convolutional models (host side, [C, H, W] float images):
//   standardize_image:  x <- (x - mean) / max(std, min_std), per image (all channels)
//   whiten_image:       Lee's / Olshausen's 1/f whitening filter, per channel, in the
//                       frequency domain: X(f) <- X(f) |f| exp(-(|f| / f0)^4),
//                       f0 = 0.4 * N (N = image size along each axis, |f| in cycles
//                       per image), computed with separable direct DFTs (O(N^3),
//                       fine for N <= 512); the result is real and rescaled to unit
//                       variance.
//   crop_image / extract_patches: sub-windows for training on large images.
#pragma once

#include <cstdint>
#include <vector>

#include "crbm/tensor.hpp"

namespace crbm {

// Per-image standardization in place; image is [C, H, W] (or any shape).
void standardize_image(HostTensor& image, float min_std = 1e-4f);
// Row-wise version for a dataset (N, D): each row is one image.
void standardize_rows(HostTensor& rows, float min_std = 1e-4f);

// 1/f whitening of each channel of a [C, H, W] image in place (Lee's
// "crbm_whiten_olshausen2": mean removed first, output scaled to unit variance).
void whiten_image(HostTensor& image, float f0_fraction = 0.4f);
// Row-wise version: rows (N, C*H*W) of images with the given geometry.
void whiten_rows(HostTensor& rows, int channels, int height, int width, float f0_fraction = 0.4f);

// The window [top, top+height) x [left, left+width) of a [C, H, W] image.
HostTensor crop_image(const HostTensor& image, int64_t top, int64_t left, int64_t height,
                      int64_t width);

// `count` random size x size patches from a list of [C, H, W] images (image and
// position drawn from Philox with `seed`), as rows (count, C*size*size).
HostTensor extract_patches(const std::vector<HostTensor>& images, int64_t size, int64_t count,
                           uint64_t seed);

}  // namespace crbm
