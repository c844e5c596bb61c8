// Brute-force reference for tiny DBMs, labelled or not: sums over every (v, h1, h2[, h3][, y])
// in double precision, independent of the library's enumeration code; and seeded random
// parameters for them.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/dbm.hpp"
#include "support/brute_force.hpp"

namespace crbm::testing {

inline double sigm(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// Layer sizes `sizes` (visible first), every value uniform in [-scale, scale) from a fixed
// LCG: biases and weights layer by layer, then (classes > 0) the label weights and biases.
inline DbmParams random_dbm(const std::vector<int64_t>& sizes, double scale, uint64_t seed,
                            int64_t classes = 0) {
  DbmParams p;
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  auto next = [&s]() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return double((s >> 11) & ((1ull << 53) - 1)) / double(1ull << 53) * 2.0 - 1.0;
  };
  auto fill = [&](std::vector<int64_t> shape) {
    HostTensor t(shape);
    for (float& x : t.data) x = float(scale * next());
    return t;
  };
  for (size_t l = 0; l < sizes.size(); ++l) {
    p.biases.push_back(fill({sizes[l]}));
    if (l + 1 < sizes.size()) p.weights.push_back(fill({sizes[l], sizes[l + 1]}));
  }
  if (classes > 0) {
    p.label_weights = fill({sizes.back(), classes});
    p.label_bias = fill({classes});
  }
  return p;
}

// Exhaustive sums over every joint state (and every label y of a labelled DBM).
struct DbmBrute {
  double log_z = 0;
  std::vector<double> log_pv;                 // log p(v) per visible code (y summed)
  std::vector<std::vector<double>> log_pvy;   // labelled: [v code][y] log p(v, y)
  std::vector<std::vector<double>> marginal;  // [v code][flat hidden unit] p(h = 1 | v)
};

inline DbmBrute brute_force_dbm(const DbmParams& p) {
  const size_t n = p.biases.size();
  const bool labelled = p.num_classes() > 0;
  // An unlabelled DBM is enumerated as one "label" without energy terms.
  const int64_t nv = p.layer_size(0), K = labelled ? p.num_classes() : 1;
  const int64_t top = p.layer_size(n - 1);
  int64_t hidden_bits = 0;
  for (size_t l = 1; l < n; ++l) hidden_bits += p.layer_size(l);
  const uint64_t nvc = uint64_t(1) << nv, nhc = uint64_t(1) << hidden_bits;
  std::vector<std::vector<double>> neg_e(nvc, std::vector<double>(nhc * K));
  double emax = -1e300;
  for (uint64_t vc = 0; vc < nvc; ++vc) {
    for (uint64_t hc = 0; hc < nhc; ++hc) {
      std::vector<std::vector<double>> x(n);
      x[0] = bits_of(vc, nv);
      int64_t off = 0;
      for (size_t l = 1; l < n; ++l) {
        x[l] = bits_of(hc >> off, p.layer_size(l));
        off += p.layer_size(l);
      }
      double e = 0;
      for (size_t l = 0; l < n; ++l) {
        for (int64_t i = 0; i < p.layer_size(l); ++i) e += p.biases[l].data[i] * x[l][i];
        if (l + 1 < n) {
          const int64_t c = p.layer_size(l + 1);
          for (int64_t i = 0; i < p.layer_size(l); ++i)
            for (int64_t j = 0; j < c; ++j)
              e += x[l][i] * p.weights[l].data[i * c + j] * x[l + 1][j];
        }
      }
      for (int64_t y = 0; y < K; ++y) {
        double ey = e;
        if (labelled) {
          ey += p.label_bias.data[y];
          for (int64_t j = 0; j < top; ++j) ey += x[n - 1][j] * p.label_weights.data[j * K + y];
        }
        neg_e[vc][hc * K + y] = ey;
        emax = std::max(emax, ey);
      }
    }
  }
  DbmBrute r;
  r.marginal.assign(nvc, std::vector<double>(size_t(hidden_bits), 0.0));
  if (labelled) r.log_pvy.assign(nvc, std::vector<double>(size_t(K), 0.0));
  std::vector<double> zv(nvc, 0.0);
  double z = 0;
  for (uint64_t vc = 0; vc < nvc; ++vc) {
    std::vector<double> zy(size_t(K), 0.0);
    for (uint64_t hc = 0; hc < nhc; ++hc) {
      for (int64_t y = 0; y < K; ++y) {
        const double w = std::exp(neg_e[vc][hc * K + y] - emax);
        zy[y] += w;
        zv[vc] += w;
        for (int64_t k = 0; k < hidden_bits; ++k) r.marginal[vc][k] += w * double((hc >> k) & 1u);
      }
    }
    for (double& m : r.marginal[vc]) m /= zv[vc];
    if (labelled) {
      for (int64_t y = 0; y < K; ++y) r.log_pvy[vc][y] = std::log(zy[y]) + emax;
    }
    z += zv[vc];
  }
  r.log_z = std::log(z) + emax;
  for (uint64_t vc = 0; vc < nvc; ++vc) {
    r.log_pv.push_back(std::log(zv[vc]) + emax - r.log_z);
    if (labelled) {
      for (double& x : r.log_pvy[vc]) x -= r.log_z;
    }
  }
  return r;
}

// A random DBM (random_dbm's arguments) on a one-thread CPU backend, with its exhaustive sums.
struct DbmCase {
  DbmCase(const std::vector<int64_t>& sizes, double scale, uint64_t seed, int64_t classes = 0)
      : params(random_dbm(sizes, scale, seed, classes)),
        dbm(*be, params),
        ex(brute_force_dbm(params)) {}
  std::unique_ptr<Backend> be = make_cpu_backend(1);
  DbmParams params;
  Dbm dbm;
  DbmBrute ex;
};

// Each of the 4 visible units' mean over the rows of `samples` [rows x 4] (sampled
// probabilities) against its exact mean under p(v), within `tol`.
inline void expect_visible_means_match(const HostTensor& samples, const DbmBrute& ex, double tol,
                                       const std::string& what) {
  const int64_t rows = samples.rows();
  for (int i = 0; i < 4; ++i) {
    double exact = 0, got = 0;
    for (int c = 0; c < 16; ++c) exact += std::exp(ex.log_pv[c]) * ((c >> i) & 1);
    for (int64_t r = 0; r < rows; ++r) got += samples.data[r * 4 + i] / rows;
    EXPECT_NEAR(got, exact, tol) << what << "unit " << i;
  }
}

}  // namespace crbm::testing
