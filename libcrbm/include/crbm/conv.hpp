// Convolution operations of a convolutional RBM, an extension op-set beside the
// dense Backend with a CPU and a CUDA implementation (make_conv_ops picks the one
// of the backend). Tensors are MatRef views of that backend's memory, one row per
// example, NCHW inside a row:
//   visible  v [B, C*H*W]      hidden  h [B, K*Hh*Wh]      pooled  p [B, K*Hp*Wp]
//   filters  W [K, C*F*F]      hidden bias [1, K]          visible bias [1, C]
//   up:     h_pre[n,k,i,j] = bias[k] + scale * sum_c sum_ab W[k,c,a,b] v[n,c,i+a,j+b]
//   down:   v_pre[n,c,y,x] = sum_k sum_ab W[k,c,a,b] h[n,k,y-a,x-b]   (the transpose)
//   grad:   dW[k,c,a,b]    = alpha * sum_n sum_ij v[n,c,i+a,j+b] h[n,k,i,j] + beta * dW
// Edge policy (pooling): the valid hidden map (H-F+1) x (W-F+1) is cropped to a
// multiple of P, Hh = P*floor((H-F+1)/P): the trailing hidden positions do not
// exist, so the last (H-F+1) mod P visible rows/columns connect to fewer
// filters. When P divides H-F+1 (the usual case) nothing is cropped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "crbm/backend.hpp"

namespace crbm {

struct ConvShape {
  int64_t batch = 1;
  int64_t channels = 1;     // C
  int64_t height = 0;       // H (visible)
  int64_t width = 0;        // W (visible)
  int64_t filters = 1;      // K
  int64_t filter_size = 1;  // F
  int64_t pool = 1;         // P

  int64_t valid_height() const { return height - filter_size + 1; }
  int64_t valid_width() const { return width - filter_size + 1; }
  int64_t hidden_height() const { return pool > 0 ? valid_height() / pool * pool : 0; }
  int64_t hidden_width() const { return pool > 0 ? valid_width() / pool * pool : 0; }
  int64_t pooled_height() const { return pool > 0 ? valid_height() / pool : 0; }
  int64_t pooled_width() const { return pool > 0 ? valid_width() / pool : 0; }
  bool cropped() const {
    return hidden_height() != valid_height() || hidden_width() != valid_width();
  }

  int64_t visible_plane() const { return height * width; }
  int64_t hidden_plane() const { return hidden_height() * hidden_width(); }
  int64_t pooled_plane() const { return pooled_height() * pooled_width(); }
  int64_t visible_size() const { return channels * visible_plane(); }  // per example
  int64_t hidden_size() const { return filters * hidden_plane(); }
  int64_t pooled_size() const { return filters * pooled_plane(); }
  int64_t filter_volume() const { return channels * filter_size * filter_size; }
  int64_t pool_blocks() const { return batch * pooled_size(); }  // per batch

  ConvShape with_batch(int64_t b) const {
    ConvShape s = *this;
    s.batch = b;
    return s;
  }
  // Throws crbm::Error naming the invalid field (sizes, F > H, P > hidden size, P > 8).
  void validate() const;
  std::string to_string() const;  // "Bx CxHxW, K filters FxF, pool P"
};

enum class ConvAlgo { automatic, custom, cudnn };
const char* to_string(ConvAlgo a);
ConvAlgo parse_conv_algo(const std::string& s);  // "auto" | "custom" | "cudnn"

// Like Backend, checked once: the public operations are non-virtual, check their
// arguments (the shape, every tensor's size and device) with the same message on
// every backend and call the implementation's protected *_impl virtual.
class ConvOps {
 public:
  virtual ~ConvOps() = default;
  ConvOps() = default;
  ConvOps(const ConvOps&) = delete;
  ConvOps& operator=(const ConvOps&) = delete;

  virtual std::string describe() const = 0;
  Backend& backend() const { return *backend_; }

  // hidden_pre [B, K*Hh*Wh] = bias[k] + scale * corr(v, W). bias may be empty (0).
  void up(const ConvShape& s, CMatRef visible, CMatRef filters, CMatRef hidden_bias, float scale,
          MatRef hidden_pre);
  // visible_pre [B, C*H*W] = sum_k W[k,c] (full conv) h[n,k]; positions no hidden
  // unit reaches (the cropped edge) get 0.
  void down(const ConvShape& s, CMatRef hidden, CMatRef filters, MatRef visible_pre);
  // Probabilistic max-pooling from the logits I = hidden_pre: hidden_probs
  // [B, K*Hh*Wh] = P(h=1|v); pooled_on [B, K*Hp*Wp] = P(pool on|v) (may be empty).
  void pool_probs(const ConvShape& s, CMatRef hidden_pre, MatRef hidden_probs, MatRef pooled_on);
  // One multinomial draw per block from uniform element (block index) of `key`
  // (block index = ((n*K + k)*Hp + bi)*Wp + bj): binary hidden states and pooled
  // states (may be empty).
  void pool_sample(const ConvShape& s, CMatRef hidden_pre, MatRef hidden_states,
                   MatRef pooled_states, RngKey key);
  // out [B, 1] = sum_k sum_blocks log(1 + sum_{i in block} e^{I_i}).
  void pool_log_partition(const ConvShape& s, CMatRef hidden_pre, MatRef out);
  // grad_filters [K, C*F*F] = alpha * sum_n sum_ij v[n,c,i+a,j+b] h[n,k,i,j] + beta * grad.
  void weight_grad(const ConvShape& s, CMatRef visible, CMatRef hidden, float alpha, float beta,
                   MatRef grad_filters);

  // ---- per-channel helpers (x viewed as [B, channels, plane]) ----
  // out [1, channels] = alpha * sum_{n, p} x[n,c,p] + beta * out.
  void channel_sums(CMatRef x, int64_t channels, float alpha, float beta, MatRef out);
  // x[n,c,p] = act(scale * x[n,c,p] + bias[c]); bias may be empty (0).
  void channel_bias_activate(MatRef x, int64_t channels, float scale, CMatRef bias, Activation act);
  // Row-wise softmax in place (stable): x[r,:] = exp(x - max) / sum. The backend's
  // softmax_groups with one group per row (the same math::softmax_inplace).
  void softmax_rows(MatRef x);

 protected:
  explicit ConvOps(Backend& backend) : backend_(&backend) {}
  // The implementations; arguments checked, shape valid.
  virtual void up_impl(const ConvShape& s, CMatRef visible, CMatRef filters, CMatRef hidden_bias,
                       float scale, MatRef hidden_pre) = 0;
  virtual void down_impl(const ConvShape& s, CMatRef hidden, CMatRef filters,
                         MatRef visible_pre) = 0;
  // hidden_probs non-empty; pooled_on may be empty.
  virtual void pool_probs_impl(const ConvShape& s, CMatRef hidden_pre, MatRef hidden_probs,
                               MatRef pooled_on) = 0;
  // hidden_states non-empty; pooled_states may be empty.
  virtual void pool_sample_impl(const ConvShape& s, CMatRef hidden_pre, MatRef hidden_states,
                                MatRef pooled_states, RngKey key) = 0;
  virtual void pool_log_partition_impl(const ConvShape& s, CMatRef hidden_pre, MatRef out) = 0;
  virtual void weight_grad_impl(const ConvShape& s, CMatRef visible, CMatRef hidden, float alpha,
                                float beta, MatRef grad_filters) = 0;
  // channels > 0 divides x.cols; out has `channels` entries.
  virtual void channel_sums_impl(CMatRef x, int64_t channels, float alpha, float beta,
                                 MatRef out) = 0;
  virtual void channel_bias_activate_impl(MatRef x, int64_t channels, float scale, CMatRef bias,
                                          Activation act) = 0;

 private:
  Backend* backend_ = nullptr;
};

// The ops for `backend`: CPU (im2col + OpenBLAS, OpenMP) or CUDA (custom kernels
// or cuDNN; automatic times both once per shape and keeps the faster). The
// backend must outlive the ops. On the CPU the algo is ignored.
std::unique_ptr<ConvOps> make_conv_ops(Backend& backend, ConvAlgo algo = ConvAlgo::automatic);

// True when this build has the cuDNN path.
bool cudnn_available();

}  // namespace crbm
