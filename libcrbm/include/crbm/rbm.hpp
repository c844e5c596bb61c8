// Dense restricted Boltzmann machine: V visible units (Bernoulli, or Gaussian
// with per-unit sigma), H Bernoulli hidden units, weights W [V x H], visible
// bias b [V], hidden bias c [H].
//
//   Bernoulli: E(v,h) = -v'Wh - b'v - c'h
//              P(h_j=1|v) = sigm(c_j + sum_i v_i W_ij),  P(v_i=1|h) = sigm(b_i + sum_j W_ij h_j)
//              F(v) = -b'v - sum_j softplus(c_j + v'W_:j)
//   Gaussian:  E(v,h) = sum_i (v_i-b_i)^2/(2 s_i^2) - sum_ij (v_i/s_i) W_ij h_j - c'h
//              P(h_j=1|v) = sigm(c_j + sum_i (v_i/s_i) W_ij),  v_i|h ~ N(b_i + s_i (Wh)_i, s_i^2)
//              F(v) = sum_i (v_i-b_i)^2/(2 s_i^2) - sum_j softplus(c_j + (v/s)'W_:j)
//
// All methods work on minibatches [B x V] / [B x H] in the model's backend memory.
#pragma once

#include <map>
#include <string>

#include "crbm/backend.hpp"

namespace crbm {

enum class VisibleType { bernoulli, gaussian };

const char* to_string(VisibleType t);
VisibleType parse_visible_type(const std::string& s);  // "bernoulli" | "gaussian" | "binary"

// Host copy of an RBM's parameters (what a checkpoint holds).
struct RbmParams {
  VisibleType visible_type = VisibleType::bernoulli;
  HostTensor weights;        // [V, H]
  HostTensor visible_bias;   // [V]
  HostTensor hidden_bias;    // [H]
  HostTensor visible_sigma;  // [V] (Gaussian; all ones for Bernoulli)
  int64_t visible() const { return weights.shape.empty() ? 0 : weights.shape[0]; }
  int64_t hidden() const { return weights.shape.size() < 2 ? 0 : weights.shape[1]; }
};

class Rbm {
 public:
  Rbm(Backend& backend, int64_t visible, int64_t hidden,
      VisibleType visible_type = VisibleType::bernoulli);
  Rbm(Backend& backend, const RbmParams& params);
  Rbm(Rbm&&) = default;
  Rbm& operator=(Rbm&&) = default;

  // W ~ N(0, stddev^2), c = 0, b = 0 or, given data, the log-odds of each
  // visible unit's mean (Bernoulli; clamped) / the data mean (Gaussian).
  void init_random(uint64_t seed, float stddev = 0.01f, const HostTensor* data = nullptr);
  // The same from the visible units' data means (one per unit, e.g. HostBytes::column_means);
  // empty means: b = 0.
  void init_random(uint64_t seed, float stddev, const std::vector<double>& visible_means);

  Backend& backend() const { return *backend_; }
  int64_t visible() const { return visible_; }
  int64_t hidden() const { return hidden_; }
  VisibleType visible_type() const { return visible_type_; }
  bool unit_sigma() const { return unit_sigma_; }

  Matrix& weights() { return weights_; }            // [V x H]
  Matrix& visible_bias() { return visible_bias_; }  // [1 x V]
  Matrix& hidden_bias() { return hidden_bias_; }    // [1 x H]
  const Matrix& weights() const { return weights_; }
  const Matrix& visible_bias() const { return visible_bias_; }
  const Matrix& hidden_bias() const { return hidden_bias_; }
  const Matrix& visible_sigma() const { return visible_sigma_; }  // [1 x V]
  const Matrix& inverse_sigma() const { return inverse_sigma_; }  // [1 x V]
  // Sets sigma (Gaussian units); values must be > 0.
  void set_visible_sigma(const HostTensor& sigma);

  // out [B x H] = P(h=1 | v) for v [B x V].
  void hidden_given_visible(CMatRef v, MatRef out) const;
  // out [B x V] = E[v | h]: sigm(b + W h) or b + s (W h).
  void visible_mean_given_hidden(CMatRef h, MatRef out) const;
  // Draws from the conditionals given their means.
  void sample_hidden(CMatRef probs, MatRef out, RngKey key) const;
  void sample_visible(CMatRef mean, MatRef out, RngKey key) const;
  // out [B x 1] = F(v).
  void free_energy(CMatRef v, MatRef out) const;
  // Mean of F over the rows of v (synchronises).
  double mean_free_energy(CMatRef v) const;

  // v / s for Gaussian units with non-unit sigma; otherwise returns v itself.
  CMatRef scaled_visible(CMatRef v, MatRef scratch) const;

  bool parameters_finite() const;
  RbmParams to_host() const;
  void load(const RbmParams& params);

 private:
  MatRef scratch(int64_t rows, int64_t cols, int slot) const;

  Backend* backend_;
  int64_t visible_;
  int64_t hidden_;
  VisibleType visible_type_;
  bool unit_sigma_ = true;
  Matrix weights_, visible_bias_, hidden_bias_, visible_sigma_, inverse_sigma_;
  mutable Matrix scratch_[4];
};

// Checkpoints (safetensors; tensor names of DESIGN.md: weights, visible_bias,
// hidden_bias, visible_sigma). `extra` entries are added to __metadata__.
void save_rbm(const std::string& path, const Rbm& rbm,
              const std::map<std::string, std::string>& extra = {});
void save_rbm(const std::string& path, const RbmParams& params,
              const std::map<std::string, std::string>& extra = {});
RbmParams load_rbm_params(const std::string& path,
                          std::map<std::string, std::string>* metadata = nullptr);

// Stacks: add/read one RBM's tensors under a name prefix ("layer0.") and its
// metadata keys under the same prefix.
struct SafetensorsFile;
void append_rbm(SafetensorsFile& file, const RbmParams& params, const std::string& prefix = "");
RbmParams extract_rbm(const SafetensorsFile& file, const std::string& path_for_messages,
                      const std::string& prefix = "");

}  // namespace crbm
