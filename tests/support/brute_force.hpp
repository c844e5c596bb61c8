// Brute-force reference for tiny binary RBMs: sums over every (v, h) pair in
// double precision, independent of the library's enumeration code.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "crbm/rbm.hpp"

namespace crbm::testing {

inline std::vector<double> bits_of(uint64_t code, int64_t n) {
  std::vector<double> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = double((code >> i) & 1u);
  return x;
}

// Every configuration of n binary units, one per row: row c holds the bits of c.
inline HostTensor all_codes(int64_t n) {
  HostTensor t({int64_t(1) << n, n});
  for (uint64_t c = 0; c < (uint64_t(1) << n); ++c) {
    for (int64_t i = 0; i < n; ++i) t.data[c * n + i] = float((c >> i) & 1u);
  }
  return t;
}

// -E(v, h) for a Bernoulli-Bernoulli RBM.
inline double neg_energy(const RbmParams& p, const std::vector<double>& v,
                         const std::vector<double>& h) {
  const int64_t nv = p.visible(), nh = p.hidden();
  double e = 0.0;
  for (int64_t i = 0; i < nv; ++i) {
    e += p.visible_bias.data[i] * v[i];
    for (int64_t j = 0; j < nh; ++j) e += v[i] * p.weights.data[i * nh + j] * h[j];
  }
  for (int64_t j = 0; j < nh; ++j) e += p.hidden_bias.data[j] * h[j];
  return e;
}

struct BruteForce {
  double log_z = 0.0;
  std::vector<double> log_marginal;  // log p*(v) = -F(v) per visible code
  std::vector<double> model_vh;      // <v_i h_j>_model [V x H]
  std::vector<double> model_v, model_h;
};

inline BruteForce brute_force(const RbmParams& p) {
  const int64_t nv = p.visible(), nh = p.hidden();
  BruteForce r;
  r.log_marginal.assign(size_t(1) << nv, 0.0);
  double max_e = -1e300;
  std::vector<double> energies;
  energies.reserve((size_t(1) << nv) * (size_t(1) << nh));
  for (uint64_t vc = 0; vc < (uint64_t(1) << nv); ++vc) {
    for (uint64_t hc = 0; hc < (uint64_t(1) << nh); ++hc) {
      const double e = neg_energy(p, bits_of(vc, nv), bits_of(hc, nh));
      energies.push_back(e);
      max_e = std::max(max_e, e);
    }
  }
  double z = 0.0;
  r.model_vh.assign(size_t(nv * nh), 0.0);
  r.model_v.assign(size_t(nv), 0.0);
  r.model_h.assign(size_t(nh), 0.0);
  size_t k = 0;
  for (uint64_t vc = 0; vc < (uint64_t(1) << nv); ++vc) {
    double zv = 0.0;
    const auto v = bits_of(vc, nv);
    for (uint64_t hc = 0; hc < (uint64_t(1) << nh); ++hc) {
      const double w = std::exp(energies[k++] - max_e);
      zv += w;
      const auto h = bits_of(hc, nh);
      for (int64_t i = 0; i < nv; ++i) {
        r.model_v[i] += w * v[i];
        for (int64_t j = 0; j < nh; ++j) r.model_vh[i * nh + j] += w * v[i] * h[j];
      }
      for (int64_t j = 0; j < nh; ++j) r.model_h[j] += w * h[j];
    }
    r.log_marginal[vc] = std::log(zv) + max_e;
    z += zv;
  }
  for (double& x : r.model_vh) x /= z;
  for (double& x : r.model_v) x /= z;
  for (double& x : r.model_h) x /= z;
  r.log_z = std::log(z) + max_e;
  return r;
}

inline RbmParams random_params(int64_t nv, int64_t nh, double scale, uint64_t seed,
                               VisibleType type = VisibleType::bernoulli) {
  RbmParams p;
  p.visible_type = type;
  p.weights = HostTensor({nv, nh});
  p.visible_bias = HostTensor({nv});
  p.hidden_bias = HostTensor({nh});
  p.visible_sigma = HostTensor({nv}, 1.0f);
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  auto next = [&s]() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return double((s >> 11) & ((1ull << 53) - 1)) / double(1ull << 53) * 2.0 - 1.0;
  };
  for (float& w : p.weights.data) w = float(scale * next());
  for (float& b : p.visible_bias.data) b = float(scale * next());
  for (float& c : p.hidden_bias.data) c = float(scale * next());
  return p;
}

}  // namespace crbm::testing
