// DBN evaluation (see dbn.hpp): label classification by free energy, the top RBM's log Z
// (exact or AIS, summed over the clamped labels) and the variational lower bound.
#include <algorithm>
#include <cmath>

#include "crbm/dbn.hpp"
#include "crbm/exact.hpp"
#include "crbm/mathutil.hpp"
#include "models/dbn_top.hpp"
#include "rng_streams.hpp"

namespace crbm {
namespace {

using namespace rng_stream::dbn;  // Philox stream ids (rng_streams.hpp)

// Per row r of the pen state `pen` [B x n] and class k: by_k + bp'pen_r +
// sum_j softplus(c_j + (pen_r Wp)_j + Wy_kj), the log of the top RBM's unnormalized
// probability of (pen_r, label k) with its hidden units summed out [B x K].
HostTensor class_log_terms(const LabelledTop& top, CMatRef pen) {
  Backend& be = top.rbm.backend();
  const int64_t b = pen.rows, nh = top.rbm.hidden(), n = top.pen;
  Matrix a(be, b, nh), t(be, b, nh), sp(be, b, 1), bterm(be, b, 1);
  be.gemm(false, false, 1.0f, pen, top.pen_weights(), 0.0f, a);
  be.scale_add_activate(a, 1.0f, CMatRef{}, top.rbm.hidden_bias(), Activation::linear);
  be.gemm(false, true, 1.0f, pen, top.pen_bias(), 0.0f, bterm);  // bp'pen
  const HostTensor bt = bterm.download();
  const HostTensor by = top.rbm.visible_bias().download();
  HostTensor out({b, int64_t{top.classes}});
  for (int k = 0; k < top.classes; ++k) {
    be.copy(a, t);
    be.scale_add_activate(t, 1.0f, CMatRef{}, top.rbm.weights().rows_view(n + k, 1),
                          Activation::linear);
    be.row_reduce(t, RowReduce::softplus_sum, sp);
    const HostTensor s = sp.download();
    for (int64_t r = 0; r < b; ++r) {
      out.data[r * top.classes + k] = by.data[n + k] + s.data[r] + bt.data[r];
    }
  }
  return out;
}

// The top RBM with its label clamped to class k: hidden bias c + Wy[k], pen rows only.
RbmParams clamped_top(const RbmParams& top, int64_t pen, int k) {
  RbmParams p;
  p.visible_type = top.visible_type;
  const int64_t h = top.hidden();
  p.weights = HostTensor({pen, h});
  std::copy(top.weights.data.begin(), top.weights.data.begin() + pen * h, p.weights.data.begin());
  p.visible_bias = HostTensor({pen});
  std::copy(top.visible_bias.data.begin(), top.visible_bias.data.begin() + pen,
            p.visible_bias.data.begin());
  p.visible_sigma = HostTensor({pen}, 1.0f);
  p.hidden_bias = top.hidden_bias;
  for (int64_t j = 0; j < h; ++j) p.hidden_bias.data[j] += top.weights.data[(pen + k) * h + j];
  return p;
}

}  // namespace

// ---- labels ----

HostTensor Dbn::class_free_energies(CMatRef v) const {
  if (num_classes_ == 0) CRBM_FAIL("class_free_energies: the DBN has no label units");
  const size_t top_in = depth() - 1;
  Matrix pen_store;
  CMatRef pen = v;
  if (top_in > 0) {
    pen_store = Matrix(*backend_, v.rows, layer_size(top_in));
    up_pass(v, top_in, pen_store);
    pen = pen_store;
  }
  HostTensor out = class_log_terms(LabelledTop{top(), layer_size(top_in), num_classes_}, pen);
  for (float& f : out.data) f = -f;
  return out;
}

std::vector<int32_t> Dbn::classify(CMatRef v) const {
  const HostTensor f = class_free_energies(v);
  std::vector<int32_t> pred(static_cast<size_t>(v.rows));
  for (int64_t r = 0; r < v.rows; ++r) {
    const float* row = f.data.data() + r * num_classes_;
    pred[r] = static_cast<int32_t>(std::min_element(row, row + num_classes_) - row);
  }
  return pred;
}

// ---- log Z and the bound ----

double Dbn::top_log_partition_exact() const {
  if (num_classes_ == 0) return exact_log_partition(top());
  const RbmParams t = top().to_host();
  const int64_t pen = layer_size(depth() - 1);
  std::vector<double> terms;
  for (int k = 0; k < num_classes_; ++k) {
    Rbm clamped(*backend_, clamped_top(t, pen, k));
    terms.push_back(t.visible_bias.data[pen + k] + exact_log_partition(clamped));
  }
  return log_sum_exp(terms);
}

AisResult Dbn::top_log_partition_ais(const HostTensor& base_data, const AisConfig& config) const {
  if (num_classes_ == 0) return ais_log_partition(top(), base_data, config);
  const RbmParams t = top().to_host();
  const int64_t pen = layer_size(depth() - 1);
  std::vector<double> mid, low, high;
  AisResult total;
  for (int k = 0; k < num_classes_; ++k) {
    Rbm clamped(*backend_, clamped_top(t, pen, k));
    AisConfig c = config;
    c.seed = config.seed + 1000003ull * k;
    const AisResult r = ais_log_partition(clamped, base_data, c);
    const double by = t.visible_bias.data[pen + k];
    mid.push_back(by + r.log_z);
    low.push_back(by + r.log_z_low);
    high.push_back(by + r.log_z_high);
    total.runs = r.runs;
    total.steps = r.steps;
    total.seconds += r.seconds;
  }
  total.log_z = log_sum_exp(mid);
  total.log_z_low = log_sum_exp(low);
  total.log_z_high = log_sum_exp(high);
  return total;
}

std::vector<double> Dbn::top_unnormalized_log_prob(CMatRef h) const {
  std::vector<double> out(static_cast<size_t>(h.rows));
  if (num_classes_ == 0) {
    Matrix f(*backend_, h.rows, 1);
    top().free_energy(h, f);
    const HostTensor fh = f.download();
    for (int64_t r = 0; r < h.rows; ++r) out[r] = -double(fh.data[r]);
    return out;
  }
  // Free energies per class of the pen state h itself (class_free_energies does an up pass
  // from v).
  const int64_t b = h.rows;
  const HostTensor terms =
      class_log_terms(LabelledTop{top(), layer_size(depth() - 1), num_classes_}, h);
  for (int64_t r = 0; r < b; ++r) {
    const float* row = terms.data.data() + r * num_classes_;
    out[r] = log_sum_exp(std::vector<double>(row, row + num_classes_));
  }
  return out;
}

DbnBoundResult Dbn::lower_bound(CMatRef v, double log_z_top, int samples, uint64_t seed,
                                int64_t batch) const {
  CRBM_CHECK_THROW(samples >= 1 && batch >= 1, "lower_bound: samples ", samples, ", batch ", batch);
  if (v.cols != layer_size(0)) {
    CRBM_FAIL("the data has ", v.cols, " values per row but the DBN's visible layer has ",
              layer_size(0), " units");
  }
  if (layers_[0].visible_type() != VisibleType::bernoulli) {
    CRBM_FAIL("the DBN lower bound is implemented for Bernoulli data only");
  }
  Backend& be = *backend_;
  DbnBoundResult res;
  res.bound.assign(static_cast<size_t>(v.rows), 0.0);
  res.importance.assign(static_cast<size_t>(v.rows), 0.0);
  for (int64_t first = 0; first < v.rows; first += batch) {
    const int64_t b = std::min(batch, v.rows - first);
    const CMatRef vb = v.row_range(first, b);
    std::vector<std::vector<double>> logw(static_cast<size_t>(b));
    Matrix col(be, b, 1);
    for (int s = 0; s < samples; ++s) {
      std::vector<double> acc(static_cast<size_t>(b), 0.0);
      auto add_rows = [&](double sign) {
        const HostTensor c = col.download();
        for (int64_t r = 0; r < b; ++r) acc[r] += sign * c.data[r];
      };
      Matrix x_store;
      CMatRef x = vb;
      for (size_t l = 0; l + 1 < depth(); ++l) {
        const Rbm& rbm = layers_[l];
        const int64_t nin = rbm.visible(), nout = rbm.hidden();
        Matrix z(be, b, nout), mu(be, b, nout), h(be, b, nout), prod(be, b, nout);
        be.gemm(false, false, 1.0f, x, rbm.weights(), 0.0f, z);
        be.scale_add_activate(z, 1.0f, CMatRef{}, rbm.hidden_bias(), Activation::linear);
        be.copy(z, mu);
        be.scale_add_activate(mu, 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
        const uint64_t step = (uint64_t(first) << 20) + uint64_t(s) * 64 + l;
        be.sample_bernoulli(mu, h, RngKey{seed, kStreamUp, step});
        // log q(h|x) = sum h z - softplus(z)
        be.copy(z, prod);
        be.multiply(h, prod);
        be.row_reduce(prod, RowReduce::sum, col);
        add_rows(-1.0);
        be.row_reduce(z, RowReduce::softplus_sum, col);
        add_rows(+1.0);
        // log p(x|h) = sum x a - softplus(a), a = h W' + b
        Matrix a(be, b, nin), xa(be, b, nin);
        be.gemm(false, true, 1.0f, h, rbm.weights(), 0.0f, a);
        be.scale_add_activate(a, 1.0f, CMatRef{}, rbm.visible_bias(), Activation::linear);
        be.copy(a, xa);
        be.multiply(x, xa);
        be.row_reduce(xa, RowReduce::sum, col);
        add_rows(+1.0);
        be.row_reduce(a, RowReduce::softplus_sum, col);
        add_rows(-1.0);
        x_store = std::move(h);
        x = x_store;
      }
      const std::vector<double> top_lp = top_unnormalized_log_prob(x);
      for (int64_t r = 0; r < b; ++r) logw[r].push_back(acc[r] + top_lp[r] - log_z_top);
    }
    for (int64_t r = 0; r < b; ++r) {
      double mean = 0;
      for (double w : logw[r]) mean += w;
      res.bound[first + r] = mean / samples;
      res.importance[first + r] = log_sum_exp(logw[r]) - std::log(double(samples));
    }
  }
  for (size_t r = 0; r < res.bound.size(); ++r) {
    res.mean_bound += res.bound[r];
    res.mean_importance += res.importance[r];
  }
  if (!res.bound.empty()) {
    res.mean_bound /= double(res.bound.size());
    res.mean_importance /= double(res.bound.size());
  }
  return res;
}

}  // namespace crbm
