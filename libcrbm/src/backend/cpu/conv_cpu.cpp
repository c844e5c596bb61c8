// CPU convolution ops: im2col + OpenBLAS sgemm per image, images spread over the
// OpenMP threads (OpenBLAS runs single-threaded inside a parallel region, so the
// two never oversubscribe); with fewer images than threads the images run one
// after the other and sgemm takes the threads. Per image (NCHW):
//   col [C*F*F, Hh*Wh],  col[(c*F+a)*F+b, i*Wh+j] = v[c, i+a, j+b]
//   up:   h_n [K, Hh*Wh] = scale * W [K, CFF] col + bias
//   down: col = W' h_n, then scatter-add col back to the image (col2im)
//   grad: dW += h_n col'  (a private accumulator per thread, summed at the end)
// Pooling calls the per-block functions of kernels/pool_math.cuh. Arguments
// arrive checked (ConvOps' public layer, conv_ops.cpp).
#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "backend/backend_checks.hpp"
#include "crbm/conv.hpp"
#include "philox.cuh"
#include "pool_math.cuh"

namespace crbm {
namespace {

void im2col(const ConvShape& s, const float* image, float* col) {
  const int64_t f = s.filter_size, hh = s.hidden_height(), wh = s.hidden_width();
  for (int64_t c = 0; c < s.channels; ++c) {
    const float* plane = image + c * s.visible_plane();
    for (int64_t a = 0; a < f; ++a) {
      for (int64_t b = 0; b < f; ++b) {
        float* row = col + ((c * f + a) * f + b) * hh * wh;
        for (int64_t i = 0; i < hh; ++i) {
          const float* src = plane + (i + a) * s.width + b;
          float* dst = row + i * wh;
          for (int64_t j = 0; j < wh; ++j) dst[j] = src[j];
        }
      }
    }
  }
}

// image (zeroed first) += col scattered back.
void col2im(const ConvShape& s, const float* col, float* image) {
  const int64_t f = s.filter_size, hh = s.hidden_height(), wh = s.hidden_width();
  std::fill(image, image + s.visible_size(), 0.0f);
  for (int64_t c = 0; c < s.channels; ++c) {
    float* plane = image + c * s.visible_plane();
    for (int64_t a = 0; a < f; ++a) {
      for (int64_t b = 0; b < f; ++b) {
        const float* row = col + ((c * f + a) * f + b) * hh * wh;
        for (int64_t i = 0; i < hh; ++i) {
          float* dst = plane + (i + a) * s.width + b;
          const float* src = row + i * wh;
          for (int64_t j = 0; j < wh; ++j) dst[j] += src[j];
        }
      }
    }
  }
}

class CpuConvOps final : public ConvOps {
 public:
  explicit CpuConvOps(Backend& backend) : ConvOps(backend) {}

  std::string describe() const override { return "cpu conv (im2col + OpenBLAS sgemm)"; }

 protected:
  void up_impl(const ConvShape& s, CMatRef visible, CMatRef filters, CMatRef hidden_bias,
               float scale, MatRef hidden_pre) override {
    const int64_t positions = s.hidden_plane(), cff = s.filter_volume();
    for_each_image(s, [&](int64_t n, float* col) {
      im2col(s, visible.data + n * s.visible_size(), col);
      float* out = hidden_pre.data + n * s.hidden_size();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.filters), int(positions),
                  int(cff), scale, filters.data, int(cff), col, int(positions), 0.0f, out,
                  int(positions));
      if (hidden_bias.data != nullptr) {
        for (int64_t k = 0; k < s.filters; ++k) {
          const float bk = hidden_bias.data[k];
          for (int64_t p = 0; p < positions; ++p) out[k * positions + p] += bk;
        }
      }
    });
  }

  void down_impl(const ConvShape& s, CMatRef hidden, CMatRef filters, MatRef visible_pre) override {
    const int64_t positions = s.hidden_plane(), cff = s.filter_volume();
    for_each_image(s, [&](int64_t n, float* col) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(cff), int(positions), int(s.filters),
                  1.0f, filters.data, int(cff), hidden.data + n * s.hidden_size(), int(positions),
                  0.0f, col, int(positions));
      col2im(s, col, visible_pre.data + n * s.visible_size());
    });
  }

  void weight_grad_impl(const ConvShape& s, CMatRef visible, CMatRef hidden, float alpha,
                        float beta, MatRef grad_filters) override {
    const int64_t positions = s.hidden_plane(), cff = s.filter_volume();
    const int64_t count = s.filters * cff;
    const int threads = parallel_images(s) ? omp_get_max_threads() : 1;
    std::vector<float> partial(static_cast<size_t>(threads * count), 0.0f);
    for_each_image(s, [&](int64_t n, float* col) {
      im2col(s, visible.data + n * s.visible_size(), col);
      float* acc = partial.data() + omp_get_thread_num() * count;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(s.filters), int(cff), int(positions),
                  1.0f, hidden.data + n * s.hidden_size(), int(positions), col, int(positions),
                  1.0f, acc, int(cff));
    });
    for (int64_t i = 0; i < count; ++i) {
      double sum = 0.0;
      for (int t = 0; t < threads; ++t) sum += partial[t * count + i];
      const float prev = beta == 0.0f ? 0.0f : beta * grad_filters.data[i];
      grad_filters.data[i] = alpha * static_cast<float>(sum) + prev;
    }
  }

  void pool_probs_impl(const ConvShape& s, CMatRef hidden_pre, MatRef hidden_probs,
                       MatRef pooled_on) override {
    for_each_block(s, [&](int64_t block, int64_t offset) {
      const float on = pool::block_probs(hidden_pre.data + offset, s.hidden_width(), int(s.pool),
                                         int(s.pool), hidden_probs.data + offset, s.hidden_width());
      if (pooled_on.data != nullptr) pooled_on.data[block] = on;
    });
  }

  void pool_sample_impl(const ConvShape& s, CMatRef hidden_pre, MatRef hidden_states,
                        MatRef pooled_states, RngKey key) override {
    for_each_block(s, [&](int64_t block, int64_t offset) {
      const float u = philox::uniform(key.seed, key.stream, key.step, uint64_t(block));
      const float on =
          pool::block_sample(hidden_pre.data + offset, s.hidden_width(), int(s.pool), int(s.pool),
                             u, hidden_states.data + offset, s.hidden_width());
      if (pooled_states.data != nullptr) pooled_states.data[block] = on;
    });
  }

  void pool_log_partition_impl(const ConvShape& s, CMatRef hidden_pre, MatRef out) override {
    const int64_t per_row = s.pooled_size();
#pragma omp parallel for if (s.batch > 1)
    for (int64_t n = 0; n < s.batch; ++n) {
      double sum = 0.0;
      for (int64_t blk = 0; blk < per_row; ++blk) {
        sum += pool::block_log_partition(hidden_pre.data + block_offset(s, n * per_row + blk),
                                         s.hidden_width(), int(s.pool), int(s.pool));
      }
      out.data[n] = static_cast<float>(sum);
    }
  }

  void channel_sums_impl(CMatRef x, int64_t channels, float alpha, float beta,
                         MatRef out) override {
    const int64_t plane = x.cols / channels;
    // One parallel region over channels (a region per channel costs a barrier each,
    // which is expensive on a loaded machine).
#pragma omp parallel for if (channels > 1 && x.size() > (1 << 15))
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0.0;
      for (int64_t n = 0; n < x.rows; ++n) {
        const float* p = x.data + n * x.cols + c * plane;
        float row = 0.0f;  // a plane is short; the running total is double
        for (int64_t i = 0; i < plane; ++i) row += p[i];
        sum += row;
      }
      out.data[c] = alpha * static_cast<float>(sum) + (beta == 0.0f ? 0.0f : beta * out.data[c]);
    }
  }

  void channel_bias_activate_impl(MatRef x, int64_t channels, float scale, CMatRef bias,
                                  Activation act) override {
    const int64_t plane = x.cols / channels;
#pragma omp parallel for if (x.size() > (1 << 15))
    for (int64_t n = 0; n < x.rows; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const float bc = bias.data != nullptr ? bias.data[c] : 0.0f;
        float* p = x.data + n * x.cols + c * plane;
        for (int64_t i = 0; i < plane; ++i) {
          const float z = scale * p[i] + bc;
          p[i] = act == Activation::sigmoid ? math::sigmoid(z) : z;
        }
      }
    }
  }

 private:
  static bool parallel_images(const ConvShape& s) {
    return s.batch >= omp_get_max_threads();
  }

  // Runs body(n, col) for every image with a per-thread im2col buffer.
  template <typename Body>
  void for_each_image(const ConvShape& s, Body body) {
    const size_t col_size = static_cast<size_t>(s.filter_volume() * s.hidden_plane());
    if (parallel_images(s)) {
#pragma omp parallel
      {
        std::vector<float> col(col_size);
#pragma omp for schedule(static)
        for (int64_t n = 0; n < s.batch; ++n) body(n, col.data());
      }
    } else {
      std::vector<float> col(col_size);
      for (int64_t n = 0; n < s.batch; ++n) body(n, col.data());
    }
  }

  // Offset of block `block` (flat index over [B, K, Hp, Wp]) in a hidden tensor.
  static int64_t block_offset(const ConvShape& s, int64_t block) {
    return pool::block_offset(block, s.pooled_height(), s.pooled_width(), s.hidden_width(),
                              int(s.pool));
  }

  template <typename Body>
  void for_each_block(const ConvShape& s, Body body) {
    const int64_t blocks = s.pool_blocks();
#pragma omp parallel for if (blocks > 4096)
    for (int64_t blk = 0; blk < blocks; ++blk) body(blk, block_offset(s, blk));
  }
};

}  // namespace

std::unique_ptr<ConvOps> make_cpu_conv_ops(Backend& backend) {
  return detail::make_ops_on<CpuConvOps>(Device::cpu, "make_cpu_conv_ops", backend);
}

}  // namespace crbm
