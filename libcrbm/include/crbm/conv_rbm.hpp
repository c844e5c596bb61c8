// Convolutional RBM with probabilistic max-pooling (Lee et al., ICML 2009).
// Visible v [C, H, W] (Bernoulli, or Gaussian with one sigma for all units),
// K filters W^k [C, F, F], hidden maps h^k [Hh, Wh] (valid size cropped to a
// multiple of P, see conv.hpp), pooling blocks of P x P with at most one unit on.
//   s = 1 (Bernoulli) or 1/sigma^2 (Gaussian; Lee's code: sharpens the filters)
//   E(v,h) = -sum_k h^k . (b_k + s W^k (*) v) + visible term
//            visible term: -sum_c c_c sum v_c (Bernoulli), sum (v - c)^2 / (2 sigma^2) (Gaussian)
//   I(h^k_ij) = b_k + s (W^k (*) v)_ij;  P(h|v), P(pool|v): softmax over each block's
//            P*P+1 states ("off" has logit 0)
//   E[v|h] = sigm(c + sum_k W^k * h^k)  or  c + sum_k W^k * h^k (Gaussian, variance sigma^2)
//   F(v) = visible term - sum_k sum_blocks log(1 + sum_{i in block} e^{I_i})
// Minibatches are rows: v [B, C*H*W], h [B, K*Hh*Wh], pooled [B, K*Hp*Wp].
#pragma once

#include <map>
#include <memory>
#include <string>

#include "crbm/conv.hpp"
#include "crbm/rbm.hpp"

namespace crbm {

struct SafetensorsFile;

// Host copy of a ConvRbm (what a checkpoint holds).
struct ConvRbmParams {
  VisibleType visible_type = VisibleType::bernoulli;
  float sigma = 1.0f;             // Gaussian visible standard deviation
  int64_t height = 0, width = 0;  // visible image size
  int64_t pool = 1;
  HostTensor filters;       // [K, C, F, F]
  HostTensor hidden_bias;   // [K]
  HostTensor visible_bias;  // [C]
  ConvShape shape(int64_t batch = 1) const;
};

class ConvRbm {
 public:
  // geometry.batch is ignored. Filters start at 0; call init_random.
  ConvRbm(Backend& backend, const ConvShape& geometry,
          VisibleType visible_type = VisibleType::bernoulli, ConvAlgo algo = ConvAlgo::automatic);
  ConvRbm(Backend& backend, const ConvRbmParams& params, ConvAlgo algo = ConvAlgo::automatic);
  ConvRbm(ConvRbm&&) = default;
  ConvRbm& operator=(ConvRbm&&) = default;

  // W ~ N(0, stddev^2), hidden bias = hidden_bias_init, visible bias = 0 or, given
  // data [N, C*H*W], the per-channel log-odds of the mean (Bernoulli) / the mean.
  void init_random(uint64_t seed, float stddev = 0.01f, const HostTensor* data = nullptr,
                   float hidden_bias_init = 0.0f);

  Backend& backend() const { return *backend_; }
  ConvOps& ops() const { return *ops_; }
  ConvShape shape(int64_t batch) const { return geometry_.with_batch(batch); }
  VisibleType visible_type() const { return visible_type_; }
  int64_t visible_size() const { return geometry_.visible_size(); }
  int64_t hidden_size() const { return geometry_.hidden_size(); }
  int64_t pooled_size() const { return geometry_.pooled_size(); }
  // The factor s of the hidden input: 1 or 1/sigma^2.
  float hidden_input_scale() const;
  float sigma() const { return sigma_; }
  void set_sigma(float sigma);  // Gaussian only; > 0

  Matrix& filters() { return filters_; }            // [K x C*F*F]
  Matrix& hidden_bias() { return hidden_bias_; }    // [1 x K]
  Matrix& visible_bias() { return visible_bias_; }  // [1 x C]
  const Matrix& filters() const { return filters_; }
  const Matrix& hidden_bias() const { return hidden_bias_; }
  const Matrix& visible_bias() const { return visible_bias_; }

  // logits [B, K*Hh*Wh] = I(h | v).
  void hidden_logits(CMatRef v, MatRef logits) const;
  // P(h=1|v) and P(pool on|v) (pooled may be empty).
  void hidden_given_visible(CMatRef v, MatRef hidden_probs, MatRef pooled_probs) const;
  // From logits already computed: probabilities, or one draw per block.
  void hidden_probs_from_logits(CMatRef logits, MatRef hidden_probs, MatRef pooled_probs) const;
  void sample_hidden_from_logits(CMatRef logits, MatRef hidden_states, MatRef pooled_states,
                                 RngKey key) const;
  // out [B, C*H*W] = E[v | h].
  void visible_mean_given_hidden(CMatRef h, MatRef out) const;
  // A draw of v given its mean (Bernoulli, or N(mean, sigma^2)); out may alias mean.
  void sample_visible(CMatRef mean, MatRef out, RngKey key) const;
  // out [B, 1] = F(v); mean over the rows (synchronises).
  void free_energy(CMatRef v, MatRef out) const;
  double mean_free_energy(CMatRef v) const;

  bool parameters_finite() const;
  ConvRbmParams to_host() const;
  void load(const ConvRbmParams& params);

 private:
  MatRef scratch(int64_t rows, int64_t cols, int slot) const;

  Backend* backend_;
  std::unique_ptr<ConvOps> ops_;
  ConvShape geometry_;
  VisibleType visible_type_;
  float sigma_ = 1.0f;
  Matrix filters_, hidden_bias_, visible_bias_;
  mutable Matrix sigma_row_;  // [1 x C*H*W] of sigma, for sample_gaussian
  mutable Matrix scratch_[4];
};

// Exact log Z of a small Bernoulli ConvRbm: log Z = logsumexp over all 2^(C*H*W)
// visible configurations of -F(v) (the hidden layer summed analytically by the
// pooled free energy). Throws when C*H*W > max_visible_units or for Gaussian units.
double exact_log_partition(const ConvRbm& rbm, int max_visible_units = 24);
// Mean over rows of log P(v) = -F(v) - log Z.
double mean_log_likelihood(const ConvRbm& rbm, CMatRef data, double log_z);

// Checkpoints: tensors `filters` [K,C,F,F], `hidden_bias` [K], `visible_bias` [C];
// metadata model "conv_rbm", visible_units, hidden_units, channels, height, width,
// filters, filter_size, pool, sigma, format_version. Stacks prefix names ("layer0.").
void save_conv_rbm(const std::string& path, const ConvRbm& rbm,
                   const std::map<std::string, std::string>& extra = {});
ConvRbmParams load_conv_rbm_params(const std::string& path,
                                   std::map<std::string, std::string>* metadata = nullptr);
void append_conv_rbm(SafetensorsFile& file, const ConvRbmParams& params,
                     const std::string& prefix = "");
ConvRbmParams extract_conv_rbm(const SafetensorsFile& file, const std::string& path_for_messages,
                               const std::string& prefix = "");

// Filters as image tiles [K*C, F*F] (one gray tile per filter and channel; for C = 3
// use [K, 3*F*F] RGB tiles instead: rgb = true) for write_png_grid.
HostTensor filter_tiles(const ConvRbmParams& params, bool rgb = false);

}  // namespace crbm
