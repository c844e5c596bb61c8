// Per-image standardization, Lee's 1/f whitening filter (separable direct DFT in
// double precision), crops and random patches. See preprocess.hpp for the math.
#include "crbm/preprocess.hpp"

#include <cmath>
#include <complex>

#include "crbm/error.hpp"
#include "philox.cuh"

namespace crbm {
namespace {

using Complex = std::complex<double>;

// In-place 1-D DFT of n values at stride `stride` (inverse: conjugate twiddles, / n).
void dft_1d(Complex* data, int64_t n, int64_t stride, bool inverse,
            const std::vector<Complex>& twiddle, std::vector<Complex>& scratch) {
  scratch.assign(size_t(n), Complex(0.0, 0.0));
  for (int64_t k = 0; k < n; ++k) {
    Complex acc(0.0, 0.0);
    for (int64_t t = 0; t < n; ++t) {
      const Complex w = twiddle[size_t((k * t) % n)];
      acc += data[t * stride] * (inverse ? std::conj(w) : w);
    }
    scratch[size_t(k)] = inverse ? acc / double(n) : acc;
  }
  for (int64_t k = 0; k < n; ++k) data[k * stride] = scratch[size_t(k)];
}

std::vector<Complex> twiddles(int64_t n) {
  std::vector<Complex> w(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k)
    w[size_t(k)] = std::polar(1.0, -2.0 * M_PI * double(k) / double(n));
  return w;
}

// Signed frequency of DFT bin k of n (cycles per image).
double frequency(int64_t k, int64_t n) {
  return double(k <= n / 2 ? k : k - n);
}

void whiten_plane(float* plane, int64_t h, int64_t w, float f0_fraction) {
  double mean = 0.0;
  for (int64_t i = 0; i < h * w; ++i) mean += plane[i];
  mean /= double(h * w);
  std::vector<Complex> x(size_t(h * w));
  for (int64_t i = 0; i < h * w; ++i) x[size_t(i)] = Complex(plane[i] - mean, 0.0);
  const auto tw_rows = twiddles(w), tw_cols = twiddles(h);
  std::vector<Complex> scratch;
  for (int64_t r = 0; r < h; ++r) dft_1d(x.data() + r * w, w, 1, false, tw_rows, scratch);
  for (int64_t c = 0; c < w; ++c) dft_1d(x.data() + c, h, w, false, tw_cols, scratch);
  // Filter |f| exp(-(|f|/f0)^4) with f0 = fraction * N (Lee: 0.4 * image size).
  const double f0 = f0_fraction * double(std::min(h, w));
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      const double fy = frequency(r, h) * double(std::min(h, w)) / double(h);
      const double fx = frequency(c, w) * double(std::min(h, w)) / double(w);
      const double rho = std::sqrt(fx * fx + fy * fy);
      x[size_t(r * w + c)] *= rho * std::exp(-std::pow(rho / f0, 4.0));
    }
  }
  for (int64_t c = 0; c < w; ++c) dft_1d(x.data() + c, h, w, true, tw_cols, scratch);
  for (int64_t r = 0; r < h; ++r) dft_1d(x.data() + r * w, w, 1, true, tw_rows, scratch);
  double sq = 0.0;
  for (int64_t i = 0; i < h * w; ++i) sq += x[size_t(i)].real() * x[size_t(i)].real();
  const double std = std::sqrt(sq / double(h * w));
  const double inv = std > 1e-12 ? 1.0 / std : 1.0;
  for (int64_t i = 0; i < h * w; ++i) plane[i] = float(x[size_t(i)].real() * inv);
}

void standardize_span(float* x, int64_t n, float min_std) {
  double mean = 0.0, sq = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= double(std::max<int64_t>(n, 1));
  for (int64_t i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
  const double std = std::max(std::sqrt(sq / double(std::max<int64_t>(n, 1))), double(min_std));
  for (int64_t i = 0; i < n; ++i) x[i] = float((x[i] - mean) / std);
}

}  // namespace

void standardize_image(HostTensor& image, float min_std) {
  standardize_span(image.data.data(), image.numel(), min_std);
}

void standardize_rows(HostTensor& rows, float min_std) {
  const int64_t n = rows.rows(), d = rows.cols();
#pragma omp parallel for if (n > 16)
  for (int64_t r = 0; r < n; ++r) standardize_span(rows.data.data() + r * d, d, min_std);
}

void whiten_image(HostTensor& image, float f0_fraction) {
  CRBM_CHECK_THROW(image.shape.size() == 3, "whiten_image expects [C, H, W], got ",
                   image.shape_string());
  const int64_t c = image.shape[0], h = image.shape[1], w = image.shape[2];
  if (h > 512 || w > 512) {
    CRBM_FAIL("whiten_image: ", h, "x", w,
              " is larger than 512 (the direct DFT is O(N^3)); "
              "crop or downscale first");
  }
  for (int64_t ch = 0; ch < c; ++ch)
    whiten_plane(image.data.data() + ch * h * w, h, w, f0_fraction);
}

void whiten_rows(HostTensor& rows, int channels, int height, int width, float f0_fraction) {
  const int64_t n = rows.rows(), d = rows.cols();
  CRBM_CHECK_THROW(d == int64_t(channels) * height * width, "whiten_rows: rows of ", d,
                   " values for images of ", channels, "x", height, "x", width);
#pragma omp parallel for if (n > 4)
  for (int64_t r = 0; r < n; ++r) {
    for (int ch = 0; ch < channels; ++ch) {
      whiten_plane(rows.data.data() + r * d + int64_t(ch) * height * width, height, width,
                   f0_fraction);
    }
  }
}

HostTensor crop_image(const HostTensor& image, int64_t top, int64_t left, int64_t height,
                      int64_t width) {
  CRBM_CHECK_THROW(image.shape.size() == 3, "crop_image expects [C, H, W], got ",
                   image.shape_string());
  const int64_t c = image.shape[0], h = image.shape[1], w = image.shape[2];
  if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > h || left + width > w) {
    CRBM_FAIL("crop [", top, ", ", top + height, ") x [", left, ", ", left + width,
              ") outside an image of ", h, "x", w);
  }
  HostTensor out({c, height, width});
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x)
        out.data[(ch * height + y) * width + x] = image.data[(ch * h + top + y) * w + left + x];
  return out;
}

HostTensor extract_patches(const std::vector<HostTensor>& images, int64_t size, int64_t count,
                           uint64_t seed) {
  CRBM_CHECK_THROW(!images.empty(), "extract_patches: no images");
  const int64_t c = images[0].shape.at(0);
  for (const HostTensor& im : images) {
    if (im.shape.size() != 3 || im.shape[0] != c || im.shape[1] < size || im.shape[2] < size) {
      CRBM_FAIL("extract_patches: image ", im.shape_string(), " cannot give ", c, "x", size, "x",
                size, " patches");
    }
  }
  HostTensor out({count, c * size * size});
  for (int64_t p = 0; p < count; ++p) {
    const philox::Words4 r = philox::block(seed, 0x9a7c, 0, uint64_t(p));
    const HostTensor& im = images[r.x[0] % images.size()];
    const int64_t top = int64_t(r.x[1] % uint32_t(im.shape[1] - size + 1));
    const int64_t left = int64_t(r.x[2] % uint32_t(im.shape[2] - size + 1));
    const HostTensor patch = crop_image(im, top, left, size, size);
    std::copy(patch.data.begin(), patch.data.end(), out.data.begin() + p * c * size * size);
  }
  return out;
}

}  // namespace crbm
