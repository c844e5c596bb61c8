// Softmax-group and replicated-softmax RBMs (see softmax_rbm.hpp): conditionals, CD-k,
// exact log Z by enumerating h, and AIS from the W = 0 base model:
//   log p_k*(v) = ((1-beta_k) b_A + beta_k b)'v + sum_j softplus(beta_k (v'W + D c)_j)
//   h ~ sigm(beta_k (v'W + D c)),  v ~ softmax per group of (1-beta_k) b_A + beta_k (b + W h)
//   log Z_A = H log 2 + sum_g logsumexp(b_A,g)   (replicated: H log 2 + D logsumexp(b_A))
#include "crbm/softmax_rbm.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "crbm/gibbs.hpp"
#include "crbm/mathutil.hpp"
#include "crbm/safetensors.hpp"
#include "rng_streams.hpp"

namespace crbm {
namespace {

using namespace rng_stream::softmax;  // Philox stream ids (rng_streams.hpp)

}  // namespace

const char* to_string(SoftmaxKind k) {
  return k == SoftmaxKind::groups ? "groups" : "replicated";
}

SoftmaxRbm::SoftmaxRbm(Backend& backend, int64_t visible, int64_t hidden, SoftmaxKind kind,
                       int64_t group)
    : rbm_(backend, visible, hidden),
      kind_(kind),
      group_(kind == SoftmaxKind::replicated ? visible : group) {
  if (group_ < 1 || visible % group_ != 0) {
    CRBM_FAIL("softmax groups of ", group_, " units do not divide ", visible, " visible units");
  }
}

SoftmaxRbm::SoftmaxRbm(Backend& backend, const RbmParams& params, SoftmaxKind kind, int64_t group)
    : SoftmaxRbm(backend, params.visible(), params.hidden(), kind, group) {
  rbm_.load(params);
}

MatRef SoftmaxRbm::scratch(int64_t rows, int64_t cols, int slot) const {
  Matrix& m = scratch_[slot];
  if (m.size() < rows * cols) m = Matrix(backend(), rows, cols);
  return MatRef{m.data(), rows, cols, backend().device()};
}

HostTensor softmax_base_visible_bias(const HostTensor& data, int64_t visible, int64_t group) {
  HostTensor b({1, visible}, 0.0f);
  if (data.numel() == 0) return b;  // uniform
  CRBM_CHECK_THROW(data.cols() == visible, "base data has ", data.cols(), " columns for ", visible,
                   " visible units");
  std::vector<double> count(static_cast<size_t>(visible), 0.0);
  for (int64_t r = 0; r < data.rows(); ++r)
    for (int64_t i = 0; i < visible; ++i) count[i] += data.data[r * visible + i];
  for (int64_t g = 0; g < visible / group; ++g) {
    double total = 0;
    for (int64_t k = 0; k < group; ++k) total += count[g * group + k];
    for (int64_t k = 0; k < group; ++k) {
      b.data[g * group + k] =
          static_cast<float>(std::log((count[g * group + k] + 1.0) / (total + double(group))));
    }
  }
  return b;
}

void SoftmaxRbm::init_random(uint64_t seed, float stddev, const HostTensor* data) {
  rbm_.init_random(seed, stddev, nullptr);
  rbm_.visible_bias().upload(
      softmax_base_visible_bias(data != nullptr ? *data : HostTensor(), visible(), group_));
}

void SoftmaxRbm::lengths(CMatRef v, MatRef out) const {
  backend().row_reduce(v, RowReduce::sum, out);
}

void SoftmaxRbm::hidden_given_visible(CMatRef v, MatRef out) const {
  CRBM_CHECK_THROW(v.cols == visible() && out.cols == hidden() && v.rows == out.rows,
                   "softmax hidden_given_visible: v ", v.rows, "x", v.cols, ", out ", out.rows, "x",
                   out.cols);
  Backend& be = backend();
  be.gemm(false, false, 1.0f, v, rbm_.weights(), 0.0f, out);
  if (kind_ == SoftmaxKind::replicated) {
    MatRef d = scratch(v.rows, 1, 0);
    lengths(v, d);
    be.gemm(false, false, 1.0f, d, rbm_.hidden_bias(), 1.0f, out);  // + D c (rank 1)
    be.scale_add_activate(out, 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
  } else {
    be.scale_add_activate(out, 1.0f, CMatRef{}, rbm_.hidden_bias(), Activation::sigmoid);
  }
}

void SoftmaxRbm::visible_probs_given_hidden(CMatRef h, MatRef out) const {
  Backend& be = backend();
  be.gemm(false, true, 1.0f, h, rbm_.weights(), 0.0f, out);
  be.scale_add_activate(out, 1.0f, CMatRef{}, rbm_.visible_bias(), Activation::linear);
  be.softmax_groups(out, group_);
}

void SoftmaxRbm::sample_visible(CMatRef probs, CMatRef lengths, MatRef out, RngKey key) const {
  if (kind_ == SoftmaxKind::replicated) {
    backend().sample_multinomial_counts(probs, lengths, out, key);
  } else {
    backend().sample_softmax_groups(probs, group_, out, key);
  }
}

void SoftmaxRbm::free_energy(CMatRef v, MatRef out) const {
  CRBM_CHECK_THROW(v.cols == visible() && out.rows == v.rows && out.cols == 1,
                   "softmax free_energy: v ", v.rows, "x", v.cols, ", out ", out.rows, "x",
                   out.cols);
  Backend& be = backend();
  MatRef pre = scratch(v.rows, hidden(), 1);
  be.gemm(false, false, 1.0f, v, rbm_.weights(), 0.0f, pre);
  if (kind_ == SoftmaxKind::replicated) {
    MatRef d = scratch(v.rows, 1, 0);
    lengths(v, d);
    be.gemm(false, false, 1.0f, d, rbm_.hidden_bias(), 1.0f, pre);
  } else {
    be.scale_add_activate(pre, 1.0f, CMatRef{}, rbm_.hidden_bias(), Activation::linear);
  }
  be.row_reduce(pre, RowReduce::softplus_sum, out);
  MatRef bv = scratch(v.rows, 1, 2);
  be.gemm(false, true, 1.0f, v, rbm_.visible_bias(), 0.0f, bv);
  be.axpby(-1.0f, bv, -1.0f, out);
}

double SoftmaxRbm::exact_log_partition(int64_t length) const {
  const int64_t nh = hidden(), nv = visible();
  if (nh > 24) CRBM_FAIL("exact log Z enumerates 2^", nh, " hidden states (limit 2^24): use AIS");
  if (kind_ == SoftmaxKind::replicated && length < 1) {
    CRBM_FAIL("replicated softmax log Z needs a document length >= 1 (got ", length, ")");
  }
  const double d = kind_ == SoftmaxKind::replicated ? double(length) : 1.0;
  Backend& be = backend();
  const uint64_t total = uint64_t{1} << nh;
  const int64_t batch = static_cast<int64_t>(std::min<uint64_t>(total, 4096));
  Matrix codes(be, batch, nh), a(be, batch, nv);
  const HostTensor c = rbm_.hidden_bias().download();
  std::vector<double> terms;
  terms.reserve(total);
  for (uint64_t first = 0; first < total; first += uint64_t(batch)) {
    const int64_t rows = static_cast<int64_t>(std::min<uint64_t>(uint64_t(batch), total - first));
    HostTensor h({rows, nh});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < nh; ++j) h.data[r * nh + j] = float(((first + r) >> j) & 1u);
    be.upload(h.data.data(), codes.rows_view(0, rows));
    MatRef ar = a.rows_view(0, rows);
    be.gemm(false, true, 1.0f, codes.rows_view(0, rows), rbm_.weights(), 0.0f, ar);
    be.scale_add_activate(ar, 1.0f, CMatRef{}, rbm_.visible_bias(), Activation::linear);
    HostTensor ah({rows, nv});
    be.download(ar, ah.data.data());
    for (int64_t r = 0; r < rows; ++r) {
      double t = 0;
      for (int64_t j = 0; j < nh; ++j) t += d * c.data[j] * h.data[r * nh + j];
      for (int64_t g = 0; g < nv / group_; ++g) {
        t += d * log_sum_exp(ah.data.data() + r * nv + g * group_, group_);
      }
      terms.push_back(t);
    }
  }
  return log_sum_exp(terms);
}

AisResult SoftmaxRbm::ais_log_partition(const HostTensor& base_data, const AisConfig& config,
                                        int64_t length) const {
  config.validate();
  if (kind_ == SoftmaxKind::replicated && length < 1) {
    CRBM_FAIL("replicated softmax AIS needs a document length >= 1 (got ", length, ")");
  }
  const auto start = std::chrono::steady_clock::now();
  Backend& be = backend();
  const std::vector<double> betas = ais_schedule(config);
  const int64_t m = config.runs, nv = visible(), nh = hidden();
  const float d = kind_ == SoftmaxKind::replicated ? float(length) : 1.0f;
  const HostTensor ba_host = softmax_base_visible_bias(base_data, nv, group_);
  double log_za = double(nh) * std::log(2.0);
  for (int64_t g = 0; g < nv / group_; ++g) {
    log_za += double(d) * log_sum_exp(ba_host.data.data() + g * group_, group_);
  }
  Matrix ba = Matrix::from_host(be, ba_host);
  Matrix diff(be, 1, nv);  // b - b_A
  be.copy(rbm_.visible_bias(), diff);
  be.axpby(-1.0f, ba, 1.0f, diff);
  Matrix dc(be, 1, nh);  // D c
  be.copy(rbm_.hidden_bias(), dc);
  be.scale_add_activate(dc, d, CMatRef{}, CMatRef{}, Activation::linear);
  Matrix v(be, m, nv), probs(be, m, nv), x(be, m, nh), t(be, m, nh), h(be, m, nh);
  Matrix col(be, m, 1), logw(be, m, 1), bmix(be, 1, nv), lens(be, m, 1);
  be.fill(logw, 0.0f);
  be.fill(lens, d);
  // v_0 from the base model.
  be.fill(probs, 0.0f);
  be.scale_add_activate(probs, 1.0f, CMatRef{}, ba, Activation::linear);
  be.softmax_groups(probs, group_);
  sample_visible(probs, lens, v, RngKey{config.seed, kStreamSmAisInit, 0});
  std::vector<double> acc(static_cast<size_t>(m), 0.0);
  auto flush = [&]() {
    const HostTensor w = logw.download();
    for (int64_t r = 0; r < m; ++r) acc[r] += w.data[r];
    be.fill(logw, 0.0f);
  };
  const int64_t steps = static_cast<int64_t>(betas.size()) - 1;
  for (int64_t k = 1; k <= steps; ++k) {
    const float bk = float(betas[k]), bp = float(betas[k - 1]);
    be.gemm(false, false, 1.0f, v, rbm_.weights(), 0.0f, x);
    be.scale_add_activate(x, 1.0f, CMatRef{}, dc, Activation::linear);  // x = v'W + D c
    // log w += (bk - bp) (b - b_A)'v + sum softplus(bk x) - sum softplus(bp x)
    be.gemm(false, true, bk - bp, v, diff, 1.0f, logw);
    be.copy(x, t);
    be.scale_add_activate(t, bk, CMatRef{}, CMatRef{}, Activation::linear);
    be.row_reduce(t, RowReduce::softplus_sum, col);
    be.axpby(1.0f, col, 1.0f, logw);
    be.copy(x, t);
    be.scale_add_activate(t, bp, CMatRef{}, CMatRef{}, Activation::linear);
    be.row_reduce(t, RowReduce::softplus_sum, col);
    be.axpby(-1.0f, col, 1.0f, logw);
    if (k == steps) break;
    // Transition at beta_k.
    be.copy(x, h);
    be.scale_add_activate(h, bk, CMatRef{}, CMatRef{}, Activation::sigmoid);
    be.sample_bernoulli(h, h, RngKey{config.seed, kStreamSmAisHidden, uint64_t(k)});
    be.copy(ba, bmix);
    be.axpby(bk, rbm_.visible_bias(), 1.0f - bk, bmix);  // (1-bk) b_A + bk b
    be.gemm(false, true, bk, h, rbm_.weights(), 0.0f, probs);
    be.scale_add_activate(probs, 1.0f, CMatRef{}, bmix, Activation::linear);
    be.softmax_groups(probs, group_);
    sample_visible(probs, lens, v, RngKey{config.seed, kStreamSmAisVisible, uint64_t(k)});
    if (k % config.flush_every == 0) flush();
  }
  flush();
  AisResult r;
  r.runs = static_cast<int>(m);
  r.steps = steps;
  r.log_z_base = log_za;
  r.log_weights = acc;
  set_ais_estimate(r, "AIS (replicated softmax)");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::vector<double> SoftmaxRbm::log_prob(CMatRef v,
                                         const std::map<int64_t, double>& log_z_by_length) const {
  Backend& be = backend();
  Matrix f(be, v.rows, 1), len(be, v.rows, 1);
  free_energy(v, f);
  lengths(v, len);
  const HostTensor fh = f.download(), lh = len.download();
  std::vector<double> out(static_cast<size_t>(v.rows));
  for (int64_t r = 0; r < v.rows; ++r) {
    const int64_t key = kind_ == SoftmaxKind::replicated ? std::llround(lh.data[r]) : 1;
    auto it = log_z_by_length.find(key);
    if (it == log_z_by_length.end()) {
      CRBM_FAIL("log_prob: no log Z for documents of length ", key, " (row ", r, ")");
    }
    out[r] = -double(fh.data[r]) - it->second;
  }
  return out;
}

// ---- training ----

SoftmaxCdTrainer::SoftmaxCdTrainer(SoftmaxRbm& model, TrainConfig config)
    : m_(model), config_(std::move(config)), be_(model.backend()) {
  config_.validate();
  if (config_.persistent) CRBM_FAIL("softmax RBM training uses CD-k; persistent is not supported");
  const int64_t v = model.visible(), h = model.hidden();
  step_ = RbmStep(be_, v, h, v, h);
  // Visible samples: one draw per group, or (replicated) D draws per row (its length),
  // which the negative phase always takes.
  GibbsModel gibbs;
  gibbs.hidden = [this](CLayerRef v, MatRef out) { m_.hidden_given_visible(v.units, out); };
  gibbs.sample_hidden = [this](CMatRef p, MatRef out, uint64_t step) {
    be_.sample_bernoulli(p, out, RngKey{config_.seed, kStreamSmHidden, step});
  };
  gibbs.visible = [this](CMatRef hs, LayerRef out) {
    m_.visible_probs_given_hidden(hs, out.units);
  };
  gibbs.sample_visible = [this](CLayerRef p, LayerRef out, uint64_t step) {
    m_.sample_visible(p.units, len_.rows_view(0, p.rows()), out.units,
                      RngKey{config_.seed, kStreamSmVisible, step});
  };
  gibbs.always_sample_visible = model.kind() == SoftmaxKind::replicated;
  negative_ = std::make_unique<CdNegativePhase>(be_, std::move(gibbs), config_, config_.batch_size,
                                                v, 0, h);
}

double SoftmaxCdTrainer::learning_rate() const {
  return config_.learning_rate_at(epoch_, updates_);
}
double SoftmaxCdTrainer::momentum() const {
  return config_.momentum_at(epoch_);
}

void SoftmaxCdTrainer::update(CMatRef v0) {
  const int64_t b = v0.rows, nh = m_.hidden();
  if (b == 0) return;
  if (rows_ < b) {
    h0_ = Matrix(be_, b, nh);
    len_ = Matrix(be_, b, 1);
    rows_ = b;
  }
  MatRef h0 = h0_.rows_view(0, b), len = len_.rows_view(0, b);
  const bool replicated = m_.kind() == SoftmaxKind::replicated;
  if (replicated) m_.lengths(v0, len);
  m_.hidden_given_visible(v0, h0);
  const CdNegativePhase::Sample negative = negative_->run(v0, h0, updates_);
  const CMatRef vneg = negative.v.units, hk = negative.h;
  const float inv = 1.0f / static_cast<float>(b);
  // Replicated: dE/dc_j = -D h_j, so the hidden-bias statistics are D-weighted:
  // sum_r D_r (h0 - hk)_r / B.
  const CMatRef weights = replicated ? CMatRef(len) : CMatRef{};
  step_.add_statistics(v0, h0, inv, 0.0f, weights);
  step_.add_statistics(vneg, hk, -inv, 1.0f, weights);
  step_.add_hidden_mean(config_, h0, inv);
  Rbm& rbm = m_.rbm();
  step_.apply(config_, epoch_, updates_, {rbm.weights(), rbm.visible_bias(), rbm.hidden_bias()});
  ++updates_;
}

EpochStats SoftmaxCdTrainer::train_epoch(CMatRef data) {
  const int64_t n = data.rows;
  if (n == 0) CRBM_FAIL("softmax RBM training data is empty");
  EpochStats st = run_shuffled_epoch<EpochStats>(be_, data, shuffled_, config_, epoch_, updates_,
                                                 [this](CMatRef b) { update(b); });
  st.samples_per_second = st.seconds > 0 ? n / st.seconds : 0;
  if (!m_.rbm().parameters_finite()) {
    throw divergence_error("softmax RBM training", epoch_, learning_rate());
  }
  st.free_energy_train = [&] {
    const int64_t m = std::min<int64_t>(n, 1000);
    Matrix f(be_, m, 1);
    m_.free_energy(shuffled_.rows_view(0, m), f);
    double s = 0;
    for (float x : f.download().data) s += x;
    return s / double(m);
  }();
  return finish_epoch(st, epoch_, updates_);
}

// ---- checkpoints ----

void save_softmax_rbm(const std::string& path, const SoftmaxRbm& model,
                      const std::map<std::string, std::string>& extra) {
  SafetensorsFile file = new_checkpoint("softmax_rbm", extra);
  file.metadata["softmax_kind"] = to_string(model.kind());
  file.metadata["softmax_group"] = std::to_string(model.group());
  append_rbm(file, model.rbm().to_host());
  file.metadata["visible_units"] = "softmax";
  save_safetensors(path, file);
}

SoftmaxRbm load_softmax_rbm(Backend& backend, const std::string& path,
                            std::map<std::string, std::string>* metadata) {
  SafetensorsFile file = load_checkpoint(path);
  require_model(file, "softmax_rbm", "a softmax RBM", path);
  const std::string kind = require_metadata(file, "softmax_kind", path);
  if (kind != "groups" && kind != "replicated") {
    CRBM_FAIL(path, ": softmax_kind '", kind, "' (expected groups or replicated)");
  }
  int64_t group = 0;
  try {
    group = std::stoll(require_metadata(file, "softmax_group", path));
  } catch (const std::invalid_argument&) {
    CRBM_FAIL(path, ": metadata softmax_group is not a number");
  }
  if (metadata != nullptr) *metadata = file.metadata;
  file.metadata.erase("visible_units");  // stored parameters are a plain dense RBM's
  const RbmParams p = extract_rbm(file, path);
  return SoftmaxRbm(backend, p, kind == "groups" ? SoftmaxKind::groups : SoftmaxKind::replicated,
                    group);
}

}  // namespace crbm
