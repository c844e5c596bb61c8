// DBM evaluation (see dbm.hpp): the equivalent even-odd RBM, log Z by enumeration or AIS
// through it, and the mean-field variational lower bound. A labelled DBM's y is summed over
// exactly (log Z: one clamped DBM per class), annealed with its side (eval/dbm_label_ais.cpp)
// and bounded with the free mean-field factor q(y).
#include <algorithm>
#include <cmath>

#include "crbm/dbm.hpp"
#include "crbm/exact.hpp"
#include "crbm/mathutil.hpp"
#include "models/dbm_internal.hpp"

namespace crbm {
namespace {

// Offset of each layer within its side of the bipartite RBM (even: v, h2, ...; odd: h1, h3).
std::vector<int64_t> side_offsets(const std::vector<int64_t>& sizes, int64_t* even, int64_t* odd) {
  std::vector<int64_t> offset(sizes.size(), 0);
  *even = *odd = 0;
  for (size_t l = 0; l < sizes.size(); ++l) {
    int64_t& total = l % 2 == 0 ? *even : *odd;
    offset[l] = total;
    total += sizes[l];
  }
  return offset;
}

}  // namespace

// ---- log Z ----

RbmParams Dbm::bipartite_rbm() const {
  const size_t n = sizes_.size();
  int64_t even = 0, odd = 0;
  const std::vector<int64_t> offset = side_offsets(sizes_, &even, &odd);
  RbmParams p;
  p.visible_type = VisibleType::bernoulli;
  p.weights = HostTensor({even, odd}, 0.0f);
  p.visible_bias = HostTensor({even});
  p.hidden_bias = HostTensor({odd});
  p.visible_sigma = HostTensor({even}, 1.0f);
  for (size_t l = 0; l < n; ++l) {
    const HostTensor b = biases_[l].download();
    HostTensor& dst = l % 2 == 0 ? p.visible_bias : p.hidden_bias;
    std::copy(b.data.begin(), b.data.end(), dst.data.begin() + offset[l]);
  }
  for (size_t l = 0; l + 1 < n; ++l) {
    const HostTensor w = weights_[l].download();
    const int64_t rows = sizes_[l], cols = sizes_[l + 1];
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        // W_l couples x_l (row i) and x_{l+1} (column j); the even one indexes the RBM row.
        const int64_t r = l % 2 == 0 ? offset[l] + i : offset[l + 1] + j;
        const int64_t c = l % 2 == 0 ? offset[l + 1] + j : offset[l] + i;
        p.weights.data[r * odd + c] = w.data[i * cols + j];
      }
    }
  }
  return p;
}

double Dbm::exact_log_partition() const {
  if (!labelled()) {
    Rbm rbm(*backend_, bipartite_rbm());
    return crbm::exact_log_partition(rbm);
  }
  // Z = sum_k exp(c_k) Z_k, Z_k the unlabelled DBM with y = e_k: b_L + U[:, k].
  const RbmParams base = bipartite_rbm();
  int64_t even = 0, odd = 0;
  const std::vector<int64_t> offset = side_offsets(sizes_, &even, &odd);
  const size_t L = depth();
  const HostTensor u = label_weights_.download(), c = label_bias_.download();
  std::vector<double> terms;
  for (int64_t k = 0; k < num_classes_; ++k) {
    RbmParams p = base;
    HostTensor& top_bias = L % 2 == 0 ? p.visible_bias : p.hidden_bias;
    for (int64_t j = 0; j < sizes_[L]; ++j) {
      top_bias.data[offset[L] + j] += u.data[j * num_classes_ + k];
    }
    Rbm rbm(*backend_, p);
    terms.push_back(double(c.data[k]) + crbm::exact_log_partition(rbm));
  }
  return log_sum_exp(terms);
}

AisResult Dbm::ais_log_partition(CMatRef data, const AisConfig& config, int64_t base_rows) const {
  const RbmParams bip = bipartite_rbm();
  Rbm rbm(*backend_, bip);
  HostTensor base;
  if (data.rows > 0) {
    CRBM_CHECK_THROW(data.cols == sizes_[0], "AIS base data has ", data.cols, " columns for ",
                     sizes_[0], " visible units");
    const int64_t n = std::min(data.rows, std::max<int64_t>(base_rows, 1));
    const CMatRef rows = data.row_range(0, n);
    std::vector<Matrix> mu;
    mean_field(rows, 10, mu);
    base = HostTensor({n, rbm.visible()});
    HostTensor vh({n, sizes_[0]});
    backend_->download(rows, vh.data.data());
    std::vector<HostTensor> even_mu;
    for (size_t l = 2; l < sizes_.size(); l += 2) even_mu.push_back(mu[l - 1].download());
    const int64_t width = rbm.visible();
    for (int64_t r = 0; r < n; ++r) {
      float* dst = base.data.data() + r * width;
      std::copy(vh.data.begin() + r * sizes_[0], vh.data.begin() + (r + 1) * sizes_[0], dst);
      int64_t off = sizes_[0];
      for (size_t k = 0; k < even_mu.size(); ++k) {
        const int64_t c = even_mu[k].cols();
        std::copy(even_mu[k].data.begin() + r * c, even_mu[k].data.begin() + (r + 1) * c,
                  dst + off);
        off += c;
      }
    }
  }
  if (labelled()) {
    int64_t even = 0, odd = 0;
    const std::vector<int64_t> offset = side_offsets(sizes_, &even, &odd);
    return detail::dbm_labelled_ais(*this, rbm, offset[depth()], base, config);
  }
  return crbm::ais_log_partition(rbm, base, config);
}

std::vector<double> Dbm::lower_bound(CMatRef v, double log_z, int sweeps, int64_t batch) const {
  CRBM_CHECK_THROW(v.cols == sizes_[0] && batch >= 1, "lower_bound: data has ", v.cols,
                   " columns for ", sizes_[0], " visible units");
  Backend& be = *backend_;
  const size_t L = depth();
  std::vector<double> out(static_cast<size_t>(v.rows), 0.0);
  for (int64_t first = 0; first < v.rows; first += batch) {
    const int64_t b = std::min(batch, v.rows - first);
    const CMatRef vb = v.row_range(first, b);
    std::vector<Matrix> mu, z;
    mean_field(vb, sweeps, mu, &z);
    Matrix col(be, b, 1);
    std::vector<double> acc(static_cast<size_t>(b), -log_z);
    auto add = [&](double sign) {
      const HostTensor c = col.download();
      for (int64_t r = 0; r < b; ++r) acc[r] += sign * c.data[r];
    };
    for (size_t l = 0; l <= L; ++l) {
      const CMatRef x = l == 0 ? vb : CMatRef(mu[l - 1]);
      be.gemm(false, true, 1.0f, x, biases_[l], 0.0f, col);  // b_l' x_l
      add(+1.0);
      if (l < L) {
        Matrix a(be, b, sizes_[l + 1]);
        be.gemm(false, false, 1.0f, x, weights_[l], 0.0f, a);  // x_l' W_l mu_{l+1}
        be.multiply(mu[l], a);
        be.row_reduce(a, RowReduce::sum, col);
        add(+1.0);
      }
      if (l > 0) {
        // Entropy of Bernoulli(sigm(z)): softplus(z) - mu z.
        Matrix mz(be, b, sizes_[l]);
        be.row_reduce(z[l - 1], RowReduce::softplus_sum, col);
        add(+1.0);
        be.copy(z[l - 1], mz);
        be.multiply(mu[l - 1], mz);
        be.row_reduce(mz, RowReduce::sum, col);
        add(-1.0);
      }
    }
    if (labelled()) {
      // E_q[h_L' U y + c' y] + H(q(y)) = sum_k q_k a_k - sum_k q_k log q_k = logsumexp_k a_k
      // for q(y) = softmax(a), a = mu_L U + c (z[L], from the final mu_L).
      const HostTensor a = z[L].download();
      for (int64_t r = 0; r < b; ++r) {
        acc[r] += log_sum_exp(a.data.data() + r * num_classes_, num_classes_);
      }
    }
    std::copy(acc.begin(), acc.end(), out.begin() + first);
  }
  return out;
}

}  // namespace crbm
