// Pseudo-likelihood, reconstruction error and free-energy gap (see metrics.hpp).
// Data is processed in row blocks of kBlock so memory stays bounded on large sets;
// the pseudo-likelihood flips one unit per row on the host (one element per row:
// download the block, flip, upload) and evaluates F on both copies with the backend.
#include "crbm/metrics.hpp"

#include <algorithm>
#include <cmath>

#include "crbm_hd.cuh"
#include "philox.cuh"

namespace crbm {
namespace {

constexpr int64_t kBlock = 4096;

// Sum over the rows of F(v) [in double], in blocks.
double sum_free_energy(const Rbm& rbm, CMatRef data) {
  Backend& be = rbm.backend();
  Matrix f(be, std::min(kBlock, data.rows), 1);
  double total = 0.0;
  for (int64_t first = 0; first < data.rows; first += kBlock) {
    const int64_t rows = std::min(kBlock, data.rows - first);
    MatRef out = f.rows_view(0, rows);
    rbm.free_energy(data.row_range(first, rows), out);
    std::vector<float> host(static_cast<size_t>(rows));
    be.download(out, host.data());
    for (float x : host) total += x;
  }
  return total;
}

}  // namespace

std::vector<int32_t> pseudo_likelihood_flips(int64_t rows, int64_t visible, uint64_t seed) {
  std::vector<int32_t> flips(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const double u = philox::uniform(seed, kPseudoLikelihoodStream, 0, static_cast<uint64_t>(r));
    flips[r] = static_cast<int32_t>(std::min<int64_t>(visible - 1, int64_t(u * double(visible))));
  }
  return flips;
}

std::vector<double> pseudo_log_likelihood_rows(const Rbm& rbm, CMatRef data, uint64_t seed) {
  if (rbm.visible_type() != VisibleType::bernoulli) {
    CRBM_FAIL("pseudo-likelihood is defined here for Bernoulli visible units only (the model has ",
              to_string(rbm.visible_type()), " visible units)");
  }
  const int64_t nv = rbm.visible();
  CRBM_CHECK_THROW(data.cols == nv, "pseudo-likelihood data has ", data.cols, " columns for ", nv,
                   " visible units");
  Backend& be = rbm.backend();
  const std::vector<int32_t> flips = pseudo_likelihood_flips(data.rows, nv, seed);
  const int64_t block = std::min(kBlock, std::max<int64_t>(data.rows, 1));
  Matrix flipped(be, block, nv);
  Matrix f(be, block, 1), f_flipped(be, block, 1);
  std::vector<float> host(static_cast<size_t>(block * nv));
  std::vector<float> fe(static_cast<size_t>(block)), fe_flipped(static_cast<size_t>(block));
  std::vector<double> pl(static_cast<size_t>(data.rows));
  for (int64_t first = 0; first < data.rows; first += block) {
    const int64_t rows = std::min(block, data.rows - first);
    const CMatRef v = data.row_range(first, rows);
    be.download(v, host.data());
    for (int64_t r = 0; r < rows; ++r) {
      float& x = host[r * nv + flips[first + r]];
      x = 1.0f - x;
    }
    MatRef vf = flipped.rows_view(0, rows);
    be.upload(host.data(), vf);
    rbm.free_energy(v, f.rows_view(0, rows));
    rbm.free_energy(vf, f_flipped.rows_view(0, rows));
    be.download(f.rows_view(0, rows), fe.data());
    be.download(f_flipped.rows_view(0, rows), fe_flipped.data());
    for (int64_t r = 0; r < rows; ++r) {
      // V * log sigm(F(v~) - F(v)) = -V * softplus(F(v) - F(v~))
      const double diff = double(fe[r]) - double(fe_flipped[r]);
      pl[first + r] = -static_cast<double>(nv) * math::softplus(diff);
    }
  }
  return pl;
}

double pseudo_log_likelihood(const Rbm& rbm, CMatRef data, uint64_t seed) {
  if (data.rows == 0) return 0.0;
  const std::vector<double> pl = pseudo_log_likelihood_rows(rbm, data, seed);
  double s = 0.0;
  for (double x : pl) s += x;
  return s / static_cast<double>(pl.size());
}

double reconstruction_error(const Rbm& rbm, CMatRef data) {
  if (data.rows == 0) return 0.0;
  CRBM_CHECK_THROW(data.cols == rbm.visible(), "reconstruction data has ", data.cols,
                   " columns for ", rbm.visible(), " visible units");
  Backend& be = rbm.backend();
  const int64_t block = std::min(kBlock, data.rows);
  Matrix hidden(be, block, rbm.hidden()), recon(be, block, rbm.visible());
  double total = 0.0;
  for (int64_t first = 0; first < data.rows; first += block) {
    const int64_t rows = std::min(block, data.rows - first);
    const CMatRef v = data.row_range(first, rows);
    MatRef h = hidden.rows_view(0, rows);
    MatRef vhat = recon.rows_view(0, rows);
    rbm.hidden_given_visible(v, h);
    rbm.visible_mean_given_hidden(h, vhat);
    total += be.sum_squared_diff(v, vhat);
  }
  return total / static_cast<double>(data.rows);
}

FreeEnergyGap free_energy_gap(const Rbm& rbm, CMatRef train, CMatRef holdout) {
  CRBM_CHECK_THROW(train.rows > 0 && holdout.rows > 0, "free_energy_gap needs rows in both sets (",
                   train.rows, " train, ", holdout.rows, " held out)");
  FreeEnergyGap g;
  g.train = sum_free_energy(rbm, train) / static_cast<double>(train.rows);
  g.holdout = sum_free_energy(rbm, holdout) / static_cast<double>(holdout.rows);
  g.gap = g.holdout - g.train;
  return g;
}

}  // namespace crbm
