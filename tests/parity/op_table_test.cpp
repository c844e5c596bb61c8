// Every case of the op table (tests/support/op_cases.hpp), two ways:
//  (a) OpTableCpu: the CPU op against plain loops written here in double precision,
//      independent of kernels/*.cuh (only Philox's raw 32-bit words are taken from
//      philox.cuh), so a bug in the shared CRBM_HD math fails here even though both
//      backends would agree on it. Random ops are compared decision by decision given
//      the same Philox words (u < p, the inverse CDF, the pooling block's slice); a
//      draw whose uniform lies within rounding of a boundary may go either way and is
//      checked only for validity. Large draws also pass moment checks.
//  (b) OpTableBackends: the op on every other available backend (CUDA with each
//      convolution algorithm) against the CPU; skipped without a GPU.
//
// Error bounds. u = 2^-24 is float's unit roundoff. An output element computed as a
// sum of n float terms whose absolute values add up to M may differ from the exact
// value by up to 1e-6 * sqrt(n) * M: the probabilistic bound u * sqrt(n) * M with a
// margin of 16 (and at least 4u * M, the few roundings of an elementwise op). Elementwise
// ops get their operation count in u; exp/log-based ones add the rounding of their
// argument (u * |argument|, which the exponent turns into a relative error). Two
// backends each within the bound of the exact value differ by at most twice the bound,
// which is the parity tolerance. NaN fails everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/conv.hpp"
#include "philox.cuh"
#include "support/op_cases.hpp"

namespace crbm::op_cases {
namespace {

constexpr double kU = 1.0 / 16777216.0;              // float unit roundoff, 2^-24
constexpr double kTiny = 1.1754943508222875e-38;     // float's smallest normal (underflow)
constexpr double kDoubleU = 1.1102230246251565e-16;  // double unit roundoff, 2^-53

double sum_bound(double magnitude, int64_t terms) {
  return 1e-6 * std::sqrt(double(std::max<int64_t>(terms, 1))) * magnitude;
}

// ---- the reference: exact values in double, an allowed error per element ----

struct Expected {
  HostTensor want;
  std::vector<double> allowed;  // |got - want| <= allowed (0: exact)
  std::vector<char> free;       // 1: a draw within rounding of a boundary, not compared
};

struct Reference {
  std::vector<Expected> outputs;
  bool scalar = false;
  double scalar_want = 0.0;
  double scalar_allowed = 0.0;
  // ais_hidden_step: output 0 is the compensated pair (hi, lo) per run; its value hi + lo
  // (in double) is compared with pair_want within pair_allowed (lo itself is left free).
  std::vector<double> pair_want, pair_allowed;
};

Expected expected(int64_t rows, int64_t cols) {
  Expected e;
  e.want = HostTensor({rows, cols});
  e.allowed.assign(size_t(rows * cols), 0.0);
  e.free.assign(size_t(rows * cols), 0);
  return e;
}

double sigmoid_ref(double v) {
  return 1.0 / (1.0 + std::exp(-v));
}

double softplus_ref(double v) {
  return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
}

// The documented conversion of 32 Philox bits to a float uniform in the OPEN interval
// (0, 1) (the top 24 bits, offset by half a step; a value that rounds to 1 becomes the
// largest float below 1), written here from the convention rather than taken from
// crbm_hd.cuh: element i of a draw is word i % 4 of block i / 4.
float uniform_of_bits(uint32_t bits) {
  const float u = static_cast<float>((static_cast<double>(bits >> 8) + 0.5) / 16777216.0);
  return u < 1.0f ? u : std::nextafter(1.0f, 0.0f);
}
float uniform_at(const RngKey& k, uint64_t i) {
  return uniform_of_bits(philox::block(k.seed, k.stream, k.step, i / 4).x[i % 4]);
}
// Normal element i: Box-Muller (cosine branch) on words 0 and 1 of block i, in double.
double normal_at(const RngKey& k, uint64_t i, double* radius = nullptr) {
  const philox::Words4 w = philox::block(k.seed, k.stream, k.step, i);
  const double u1 = uniform_of_bits(w.x[0]), u2 = uniform_of_bits(w.x[1]);
  const double r = std::sqrt(-2.0 * std::log(u1));
  if (radius) *radius = r;
  return r * std::cos(6.283185307179586 * u2);
}
// Error of the float Box-Muller per unit of radius: float(2 pi) is off by 1.7e-7,
// the product 2 pi u2 rounds by up to 3.7e-7, cosf adds an ulp; logf and sqrtf
// add a few u of relative error to the radius.
double normal_allowed(double radius) {
  return 1e-6 * radius + 4 * kU * radius;
}

// Inverse-CDF category of u over p[0..n) with the last category taking the slack
// (the documented rule), in double, and whether u lies within `band` of a boundary.
int64_t category_of(const float* p, int64_t n, double u, double band, bool* ambiguous) {
  double cdf = 0.0;
  int64_t pick = n - 1;
  *ambiguous = false;
  for (int64_t i = 0; i < n - 1; ++i) {
    cdf += p[i];
    if (std::abs(u - cdf) <= band) *ambiguous = true;
    if (pick == n - 1 && u < cdf) pick = i;
  }
  return pick;
}

// Visits every pooling block: (block index, offset of its top-left unit in a row-major
// [B, K*Hh*Wh] hidden tensor).
template <typename Body>
void for_each_block(const ConvShape& s, Body body) {
  int64_t block = 0;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t k = 0; k < s.filters; ++k) {
      for (int64_t bi = 0; bi < s.pooled_height(); ++bi) {
        for (int64_t bj = 0; bj < s.pooled_width(); ++bj) {
          const int64_t offset = n * s.hidden_size() + k * s.hidden_plane() +
                                 bi * s.pool * s.hidden_width() + bj * s.pool;
          body(block++, offset);
        }
      }
    }
  }
}

// Elementwise z = scale * [col_scale] * x + [bias] followed by the activation.
void affine_activate(double z, double magnitude, int roundings, Activation act, float* want,
                     double* allowed) {
  const double arg_error = roundings * kU * magnitude;
  if (act == Activation::linear) {
    *want = float(z);
    *allowed = arg_error;
    return;
  }
  const double s = sigmoid_ref(z);
  *want = float(s);
  // The argument's rounding moves sigm by s(1-s) per unit; expf, the add and the
  // division add a few u of relative error; below float's normal range, underflow.
  *allowed = s * (1 - s) * arg_error + 8 * kU * s + kTiny;
}

// A uniform u against a probability p known to within `allowed`: the draw u < p, free
// (not compared) when u lies within the band.
void bernoulli_decision(double u, double p, double allowed, float* want, char* free) {
  *want = u < p ? 1.0f : 0.0f;
  *free = std::abs(u - p) <= allowed ? 1 : 0;
}

// ais_hidden_step's reference: for each run, the exact new log-weight
//   hi + lo + (beta - beta') dv + sum_j [softplus(beta x_j) - softplus(beta' x_j)],
// x_j = pre + c (the op rounds x to float: the term's derivative times u |x|), and the draws
// u < sigm(beta x_j). Each term's bound: a few float roundings of the term itself where
// |delta| = |(beta - beta') x| <= 1/2 (the documented cancellation-free form), else of the
// two softplus values.
void ais_hidden_reference(const OpCase& c, const OpData& d, Reference& ref) {
  const std::vector<HostTensor>& in = d.in;
  const int64_t rows = c.rows, cols = c.cols;
  const double beta = in[2].data[size_t(c.k)], beta_prev = in[2].data[size_t(c.k - 1)];
  Expected log_w = expected(rows, 2), h = expected(rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = double(in[4].data[size_t(2 * r)]) + double(in[4].data[size_t(2 * r + 1)]);
    double allowed = 4 * kDoubleU * std::abs(sum);
    sum += (beta - beta_prev) * double(in[3].data[size_t(r)]);
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t i = r * cols + j;
      const double x = double(in[0].data[size_t(i)]) + double(in[1].data[size_t(j)]);
      const double a = beta * x, b = beta_prev * x;
      const double term = softplus_ref(a) - softplus_ref(b);
      const double p = sigmoid_ref(a);
      const double slope = std::abs(beta * p - beta_prev * sigmoid_ref(b));
      double e = slope * kU * std::abs(x);
      if (std::abs((beta - beta_prev) * x) <= 0.5) {
        e += (16 + 2 * std::abs(a)) * kU * std::abs(term);
      } else {
        e += 8 * kU * (softplus_ref(a) + softplus_ref(b)) + 2 * kU * (std::abs(a) + std::abs(b));
      }
      sum += term;
      allowed += e + 4 * kDoubleU * std::abs(sum);
      if (c.ais_transition) {
        const double p_allowed = p * (1 - p) * 3 * kU * std::abs(a) + 8 * kU * p + kTiny;
        bernoulli_decision(uniform_at(c.key, uint64_t(i)), p, p_allowed, &h.want.data[size_t(i)],
                           &h.free[size_t(i)]);
      }
    }
    log_w.want.data[size_t(2 * r)] = float(sum);
    log_w.allowed[size_t(2 * r)] = allowed + 2 * kU * std::abs(sum);
    log_w.free[size_t(2 * r + 1)] = 1;
    ref.pair_want.push_back(sum);
    ref.pair_allowed.push_back(allowed + 4 * kU * kU * std::abs(sum));
  }
  ref.outputs.push_back(log_w);
  if (c.ais_transition) ref.outputs.push_back(h);
}

// ais_visible_step's reference: mean = beta s wh + (1 - beta) b_A + beta b in double, the
// draw (u < sigm(mean), or mean + s n), dv = v . d and scaled = v / s (the op multiplies by
// the float 1/s it is given). A run with a draw left free has its dv and scaled row free.
void ais_visible_reference(const OpCase& c, const OpData& d, Reference& ref) {
  const std::vector<HostTensor>& in = d.in;
  const int64_t rows = c.rows, cols = c.cols;
  const double beta = in[6].data[size_t(c.k)];
  const bool gaussian = c.draw == UnitDraw::gaussian;
  Expected v = expected(rows, cols), dv = expected(rows, 1), scaled = expected(rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    double dot = 0.0, dot_allowed = 0.0, dot_magnitude = 0.0;
    bool any_free = false;
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t i = r * cols + j;
      const double sd = c.with_col_scale ? double(in[3].data[size_t(j)]) : 1.0;
      const double product = beta * sd * in[0].data[size_t(i)];
      const double base = (1 - beta) * in[1].data[size_t(j)], target = beta * in[2].data[size_t(j)];
      const double mean = product + base + target;
      const double mean_allowed = 4 * kU * (std::abs(product) + std::abs(base) + std::abs(target));
      float& want = v.want.data[size_t(i)];
      double& allowed = v.allowed[size_t(i)];
      if (gaussian) {
        double radius = 0.0;
        const double z = normal_at(c.key, uint64_t(i), &radius);
        want = float(mean + sd * z);
        allowed = mean_allowed + sd * normal_allowed(radius) +
                  2 * kU * (std::abs(mean) + sd * std::abs(z));
      } else {
        const double p = sigmoid_ref(mean);
        bernoulli_decision(uniform_at(c.key, uint64_t(i)), p,
                           p * (1 - p) * mean_allowed + 8 * kU * p + kTiny, &want,
                           &v.free[size_t(i)]);
      }
      any_free = any_free || v.free[size_t(i)];
      const double dj = in[4].data[size_t(j)];
      dot += double(want) * dj;
      dot_magnitude += std::abs(double(want) * dj);
      dot_allowed += std::abs(dj) * allowed;
      if (c.with_bias) {
        const double inv = in[5].data[size_t(j)];
        scaled.want.data[size_t(i)] = float(double(want) * inv);
        scaled.allowed[size_t(i)] = std::abs(inv) * allowed + 2 * kU * std::abs(double(want) * inv);
        scaled.free[size_t(i)] = v.free[size_t(i)];
      }
    }
    dv.want.data[size_t(r)] = float(dot);
    dv.allowed[size_t(r)] = dot_allowed + sum_bound(dot_magnitude, cols);
    if (any_free) {
      dv.free[size_t(r)] = 1;
      for (int64_t j = 0; j < cols; ++j) scaled.free[size_t(r * cols + j)] = 1;
    }
  }
  ref.outputs.push_back(v);
  ref.outputs.push_back(dv);
  if (c.with_bias) ref.outputs.push_back(scaled);
}

Reference reference(const OpCase& c, const OpData& d) {
  Reference ref;
  const std::vector<HostTensor>& in = d.in;
  const int64_t rows = c.rows, cols = c.cols;
  switch (c.op) {
    case Op::upload_download: {
      Expected e = expected(rows, cols);
      e.want = in[0];
      ref.outputs.push_back(e);
      break;
    }
    case Op::copy: {
      Expected e = expected(rows, cols);
      e.want = in[0];
      ref.outputs.push_back(e);
      break;
    }
    case Op::fill: {
      Expected e = expected(rows, cols);
      for (float& v : e.want.data) v = c.scale;
      ref.outputs.push_back(e);
      break;
    }
    case Op::gemm: {
      Expected e = expected(rows, cols);
      const HostTensor &a = in[0], &b = in[1], &c0 = in[2];
      const int64_t lda = a.dim(1), ldb = b.dim(1);
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
          double s = 0.0, m = 0.0;
          for (int64_t l = 0; l < c.k; ++l) {
            const double av = c.trans_a ? a.data[l * lda + i] : a.data[i * lda + l];
            const double bv = c.trans_b ? b.data[j * ldb + l] : b.data[l * ldb + j];
            s += av * bv;
            m += std::abs(av * bv);
          }
          const double prev = c.beta == 0.0f ? 0.0 : double(c.beta) * c0.data[i * cols + j];
          e.want.data[i * cols + j] = float(c.alpha * s + prev);
          e.allowed[i * cols + j] = sum_bound(std::abs(c.alpha) * m + std::abs(prev), c.k + 1);
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::axpby: {
      Expected e = expected(rows, cols);
      for (int64_t i = 0; i < rows * cols; ++i) {
        const double ax = double(c.alpha) * in[0].data[i], by = double(c.beta) * in[1].data[i];
        e.want.data[i] = float(ax + by);
        e.allowed[i] = 3 * kU * (std::abs(ax) + std::abs(by));  // two products and a sum
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::column_sums: {
      Expected e = expected(1, cols);
      for (int64_t j = 0; j < cols; ++j) {
        double s = 0.0, m = 0.0;
        for (int64_t r = 0; r < rows; ++r) {
          s += in[0].data[r * cols + j];
          m += std::abs(in[0].data[r * cols + j]);
        }
        const double prev = c.beta == 0.0f ? 0.0 : double(c.beta) * in[1].data[j];
        e.want.data[j] = float(c.alpha * s + prev);
        e.allowed[j] = sum_bound(std::abs(c.alpha) * m + std::abs(prev), rows + 1);
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::row_reduce: {
      Expected e = expected(rows, 1);
      for (int64_t r = 0; r < rows; ++r) {
        double s = 0.0, m = 0.0;
        for (int64_t j = 0; j < cols; ++j) {
          const double v = in[0].data[r * cols + j];
          const double f = c.reduce == RowReduce::sum            ? v
                           : c.reduce == RowReduce::softplus_sum ? softplus_ref(v)
                                                                 : v * v;
          s += f;
          m += std::abs(f);
        }
        e.want.data[r] = float(s);
        e.allowed[r] = sum_bound(m, cols);
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::scale_add_activate: {
      Expected e = expected(rows, cols);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t i = r * cols + j;
          double z = double(c.scale) * in[0].data[i];
          if (c.with_col_scale) z *= in[1].data[j];
          const double b = c.with_bias ? double(in[2].data[j]) : 0.0;
          affine_activate(z + b, std::abs(z) + std::abs(b), 3, c.act, &e.want.data[i],
                          &e.allowed[i]);
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::momentum_update: {
      Expected p = expected(rows, cols), v = expected(rows, cols);
      for (int64_t i = 0; i < rows * cols; ++i) {
        const double param = in[0].data[i], vel = in[1].data[i], g = in[2].data[i];
        const double sign = param > 0 ? 1.0 : (param < 0 ? -1.0 : 0.0);
        const double step = double(c.lr) * (g - double(c.l2) * param - double(c.l1) * sign);
        const double nv = double(c.momentum) * vel + step;
        // Magnitude of the terms of the velocity (five roundings: 3 products, 2 sums,
        // the l1 term a sixth).
        const double mv = std::abs(double(c.momentum) * vel) +
                          std::abs(double(c.lr)) * (std::abs(g) + std::abs(double(c.l2) * param) +
                                                    std::abs(double(c.l1) * sign));
        v.want.data[i] = float(nv);
        v.allowed[i] = 7 * kU * mv;
        p.want.data[i] = float(param + nv);
        p.allowed[i] = v.allowed[i] + 2 * kU * (std::abs(param) + std::abs(nv));
      }
      ref.outputs.push_back(p);
      ref.outputs.push_back(v);
      break;
    }
    case Op::sample_bernoulli: {
      Expected e = expected(rows, cols);
      for (int64_t i = 0; i < rows * cols; ++i) {
        e.want.data[i] = uniform_at(c.key, uint64_t(i)) < in[0].data[i] ? 1.0f : 0.0f;
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::sample_gaussian:
    case Op::fill_normal: {
      Expected e = expected(rows, cols);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t i = r * cols + j;
          double radius = 0.0;
          const double z = normal_at(c.key, uint64_t(i), &radius);
          double mean = 0.0, sd = 1.0;
          if (c.op == Op::fill_normal) {
            mean = c.normal_mean;
            sd = c.normal_stddev;
          } else {
            mean = in[0].data[i];
            sd = c.with_col_scale ? double(in[1].data[j]) : 1.0;
          }
          e.want.data[i] = float(mean + sd * z);
          e.allowed[i] =
              std::abs(sd) * normal_allowed(radius) + 2 * kU * (std::abs(mean) + std::abs(sd * z));
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::fill_uniform: {
      Expected e = expected(rows, cols);
      for (int64_t i = 0; i < rows * cols; ++i) e.want.data[i] = uniform_at(c.key, uint64_t(i));
      ref.outputs.push_back(e);
      break;
    }
    case Op::fill_binary_codes: {
      Expected e = expected(rows, cols);
      for (int64_t r = 0; r < rows; ++r) {
        const uint64_t code = c.first + uint64_t(r);
        for (int64_t j = 0; j < cols; ++j) e.want.data[r * cols + j] = float((code >> j) & 1u);
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::softmax_groups:
    case Op::conv_softmax_rows: {
      Expected e = expected(rows, cols);
      const int64_t group = c.op == Op::softmax_groups ? c.group : cols;
      for (int64_t g = 0; group > 0 && g < rows * cols / group; ++g) {
        const float* x = in[0].data.data() + g * group;
        double m = x[0], z = 0.0;
        for (int64_t i = 1; i < group; ++i) m = std::max(m, double(x[i]));
        for (int64_t i = 0; i < group; ++i) z += std::exp(x[i] - m);
        for (int64_t i = 0; i < group; ++i) {
          const double p = std::exp(x[i] - m) / z;
          e.want.data[g * group + i] = float(p);
          // x - max rounds by u|x - max| (a relative error of e^x), the float sum of
          // `group` terms by sum_bound, expf and the division a few u.
          e.allowed[g * group + i] =
              p * (2 * kU * std::abs(x[i] - m) + 4 * kU) + sum_bound(p, group) + kTiny;
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::sample_softmax_groups: {
      Expected e = expected(rows, cols);
      const int64_t group = c.group;
      for (int64_t g = 0; group > 0 && g < rows * cols / group; ++g) {
        const double u = uniform_at(c.key, uint64_t(g));
        bool ambiguous = false;
        // The float running sum of `group` probabilities is within (group + 2) u of
        // the exact one.
        const int64_t pick =
            category_of(in[0].data.data() + g * group, group, u, (group + 2) * kU, &ambiguous);
        for (int64_t i = 0; i < group; ++i) {
          e.want.data[g * group + i] = i == pick ? 1.0f : 0.0f;
          e.free[g * group + i] = ambiguous;
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::sample_multinomial_counts: {
      Expected e = expected(rows, cols);
      int64_t max_total = 0;
      for (float t : in[1].data) max_total = std::max<int64_t>(max_total, int64_t(t));
      for (int64_t r = 0; r < rows && cols > 0; ++r) {
        bool row_ambiguous = false;
        for (int64_t dd = 0; dd < int64_t(in[1].data[r]); ++dd) {
          const double u = uniform_at(c.key, uint64_t(r * max_total + dd));
          bool ambiguous = false;
          const int64_t pick =
              category_of(in[0].data.data() + r * cols, cols, u, (cols + 2) * kU, &ambiguous);
          e.want.data[r * cols + pick] += 1.0f;
          row_ambiguous = row_ambiguous || ambiguous;
        }
        for (int64_t j = 0; j < cols; ++j) e.free[r * cols + j] = row_ambiguous;
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::multiply: {
      Expected e = expected(rows, cols);
      // A product of two floats is exact in double: float() is the correctly rounded result.
      for (int64_t i = 0; i < rows * cols; ++i) {
        e.want.data[i] = float(double(in[0].data[i]) * in[1].data[i]);
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::sigmoid_backward: {
      Expected e = expected(rows, cols);
      for (int64_t i = 0; i < rows * cols; ++i) {
        const double h = in[0].data[i];
        const double w = double(in[1].data[i]) * h * (1.0 - h);
        e.want.data[i] = float(w);
        e.allowed[i] = 4 * kU * std::abs(w);  // 1 - h, two products, and rounding to float
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::gather_rows: {
      Expected e = expected(rows, cols);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < cols; ++j) {
          e.want.data[r * cols + j] = in[0].data[int64_t(d.index[r]) * cols + j];
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::sum_squared_diff: {
      double s = 0.0;
      for (int64_t i = 0; i < rows * cols; ++i) {
        const double diff = double(in[0].data[i]) - in[1].data[i];
        s += diff * diff;
      }
      ref.scalar = true;
      ref.scalar_want = s;
      // Accumulated in double in any order: gamma_n of double's unit roundoff.
      ref.scalar_allowed = 2.0 * double(rows * cols + 2) * kDoubleU * s;
      break;
    }
    case Op::all_finite: {
      bool finite = true;
      for (float v : in[0].data) finite = finite && std::isfinite(v);
      ref.scalar = true;
      ref.scalar_want = finite ? 1.0 : 0.0;
      break;
    }
    case Op::mean: {
      double s = 0.0, m = 0.0;
      for (float v : in[0].data) {
        s += v;
        m += std::abs(v);
      }
      const double n = double(rows * cols);
      ref.scalar = true;
      ref.scalar_want = n > 0 ? s / n : 0.0;
      // Column means in float (1/rows rounded, a sum over rows), averaged in double.
      ref.scalar_allowed = n > 0 ? sum_bound(m / n, rows + 2) : 0.0;
      break;
    }
    case Op::ais_hidden_step:
      ais_hidden_reference(c, d, ref);
      break;
    case Op::ais_visible_step:
      ais_visible_reference(c, d, ref);
      break;
    case Op::conv_up: {
      const ConvShape& s = c.conv;
      Expected e = expected(s.batch, s.hidden_size());
      const HostTensor &v = in[0], &w = in[1], &bias = in[2];
      const int64_t f = s.filter_size;
      for (int64_t n = 0; n < s.batch; ++n) {
        for (int64_t k = 0; k < s.filters; ++k) {
          for (int64_t i = 0; i < s.hidden_height(); ++i) {
            for (int64_t j = 0; j < s.hidden_width(); ++j) {
              double acc = 0.0, m = 0.0;
              for (int64_t ch = 0; ch < s.channels; ++ch) {
                for (int64_t a = 0; a < f; ++a) {
                  for (int64_t b = 0; b < f; ++b) {
                    const double t = double(w.data[k * s.filter_volume() + (ch * f + a) * f + b]) *
                                     v.data[n * s.visible_size() + ch * s.visible_plane() +
                                            (i + a) * s.width + (j + b)];
                    acc += t;
                    m += std::abs(t);
                  }
                }
              }
              const double bk = c.with_bias ? double(bias.data[k]) : 0.0;
              const int64_t o =
                  n * s.hidden_size() + k * s.hidden_plane() + i * s.hidden_width() + j;
              e.want.data[o] = float(bk + c.scale * acc);
              e.allowed[o] = sum_bound(std::abs(c.scale) * m + std::abs(bk), s.filter_volume() + 1);
            }
          }
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::conv_down: {
      const ConvShape& s = c.conv;
      Expected e = expected(s.batch, s.visible_size());
      const HostTensor &h = in[0], &w = in[1];
      const int64_t f = s.filter_size;
      for (int64_t n = 0; n < s.batch; ++n) {
        for (int64_t ch = 0; ch < s.channels; ++ch) {
          for (int64_t y = 0; y < s.height; ++y) {
            for (int64_t x = 0; x < s.width; ++x) {
              double acc = 0.0, m = 0.0;
              for (int64_t k = 0; k < s.filters; ++k) {
                for (int64_t a = 0; a < f; ++a) {
                  for (int64_t b = 0; b < f; ++b) {
                    const int64_t i = y - a, j = x - b;
                    if (i < 0 || j < 0 || i >= s.hidden_height() || j >= s.hidden_width()) {
                      continue;  // no hidden unit there (outside, or in the cropped edge)
                    }
                    const double t = double(w.data[k * s.filter_volume() + (ch * f + a) * f + b]) *
                                     h.data[n * s.hidden_size() + k * s.hidden_plane() +
                                            i * s.hidden_width() + j];
                    acc += t;
                    m += std::abs(t);
                  }
                }
              }
              const int64_t o = n * s.visible_size() + ch * s.visible_plane() + y * s.width + x;
              e.want.data[o] = float(acc);
              e.allowed[o] = sum_bound(m, s.filters * f * f);
            }
          }
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::conv_weight_grad: {
      const ConvShape& s = c.conv;
      Expected e = expected(s.filters, s.filter_volume());
      const HostTensor &v = in[0], &h = in[1], &g0 = in[2];
      const int64_t f = s.filter_size;
      for (int64_t k = 0; k < s.filters; ++k) {
        for (int64_t ch = 0; ch < s.channels; ++ch) {
          for (int64_t a = 0; a < f; ++a) {
            for (int64_t b = 0; b < f; ++b) {
              double acc = 0.0, m = 0.0;
              for (int64_t n = 0; n < s.batch; ++n) {
                for (int64_t i = 0; i < s.hidden_height(); ++i) {
                  for (int64_t j = 0; j < s.hidden_width(); ++j) {
                    const double t = double(v.data[n * s.visible_size() + ch * s.visible_plane() +
                                                   (i + a) * s.width + (j + b)]) *
                                     h.data[n * s.hidden_size() + k * s.hidden_plane() +
                                            i * s.hidden_width() + j];
                    acc += t;
                    m += std::abs(t);
                  }
                }
              }
              const int64_t o = k * s.filter_volume() + (ch * f + a) * f + b;
              const double prev = c.beta == 0.0f ? 0.0 : double(c.beta) * g0.data[o];
              e.want.data[o] = float(c.alpha * acc + prev);
              e.allowed[o] =
                  sum_bound(std::abs(c.alpha) * m + std::abs(prev), s.batch * s.hidden_plane() + 1);
            }
          }
        }
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::conv_pool_probs: {
      const ConvShape& s = c.conv;
      Expected h = expected(s.batch, s.hidden_size()), p = expected(s.batch, s.pooled_size());
      const float* pre = in[0].data.data();
      const int64_t n_units = s.pool * s.pool;
      for_each_block(s, [&](int64_t block, int64_t offset) {
        double m = 0.0;  // the "off" state's logit 0 counts in the max
        for (int64_t a = 0; a < s.pool; ++a) {
          for (int64_t b = 0; b < s.pool; ++b)
            m = std::max(m, double(pre[offset + a * s.hidden_width() + b]));
        }
        double z = std::exp(-m);
        for (int64_t a = 0; a < s.pool; ++a) {
          for (int64_t b = 0; b < s.pool; ++b)
            z += std::exp(pre[offset + a * s.hidden_width() + b] - m);
        }
        double on = 0.0, on_allowed = 0.0;
        for (int64_t a = 0; a < s.pool; ++a) {
          for (int64_t b = 0; b < s.pool; ++b) {
            const int64_t o = offset + a * s.hidden_width() + b;
            const double q = std::exp(pre[o] - m) / z;
            h.want.data[o] = float(q);
            // Argument rounding of I - m, the float normaliser of n + 1 terms, expf and
            // the division; a float underflow below the normal range.
            h.allowed[o] = q * (2 * kU * std::abs(pre[o] - m) + (n_units + 4) * kU) + kTiny;
            on += q;
            on_allowed += h.allowed[o];
          }
        }
        p.want.data[block] = float(on);
        p.allowed[block] = on_allowed + (n_units + 1) * kU * on;
      });
      ref.outputs.push_back(h);
      if (c.with_pooled) ref.outputs.push_back(p);
      break;
    }
    case Op::conv_pool_sample: {
      const ConvShape& s = c.conv;
      Expected h = expected(s.batch, s.hidden_size()), p = expected(s.batch, s.pooled_size());
      const float* pre = in[0].data.data();
      const int64_t n_units = s.pool * s.pool;
      for_each_block(s, [&](int64_t block, int64_t offset) {
        std::vector<int64_t> unit;  // offsets of the block's units in row-major order
        double m = 0.0;
        for (int64_t a = 0; a < s.pool; ++a) {
          for (int64_t b = 0; b < s.pool; ++b) {
            unit.push_back(offset + a * s.hidden_width() + b);
            m = std::max(m, double(pre[unit.back()]));
          }
        }
        double z = std::exp(-m);
        for (int64_t o : unit) z += std::exp(pre[o] - m);
        // Unit i takes the slice [cum_{i-1}, cum_i) of [0, 1); "off" takes the rest.
        const double u = uniform_at(c.key, uint64_t(block));
        // The float cumulative weights and normaliser are within 3 (n + 2) u of exact
        // (each weight's argument rounding adds at most u / e relative to Z).
        const double band = 3.0 * double(n_units + 2) * kU;
        double cum = 0.0;
        int64_t chosen = -1;
        bool ambiguous = false;
        for (size_t i = 0; i < unit.size(); ++i) {
          cum += std::exp(pre[unit[i]] - m) / z;
          if (std::abs(u - cum) <= band) ambiguous = true;
          if (chosen < 0 && u < cum) chosen = int64_t(i);
        }
        for (size_t i = 0; i < unit.size(); ++i) {
          h.want.data[unit[i]] = int64_t(i) == chosen ? 1.0f : 0.0f;
          h.free[unit[i]] = ambiguous;
        }
        p.want.data[block] = chosen >= 0 ? 1.0f : 0.0f;
        p.free[block] = ambiguous;
      });
      ref.outputs.push_back(h);
      if (c.with_pooled) ref.outputs.push_back(p);
      break;
    }
    case Op::conv_pool_log_partition: {
      const ConvShape& s = c.conv;
      Expected e = expected(s.batch, 1);
      const float* pre = in[0].data.data();
      const int64_t n_units = s.pool * s.pool;
      std::vector<double> total(size_t(s.batch), 0.0), allowed(size_t(s.batch), 0.0);
      for_each_block(s, [&](int64_t block, int64_t offset) {
        const int64_t n = block / s.pooled_size();
        double m = 0.0;
        for (int64_t a = 0; a < s.pool; ++a) {
          for (int64_t b = 0; b < s.pool; ++b)
            m = std::max(m, double(pre[offset + a * s.hidden_width() + b]));
        }
        double z = std::exp(-m), largest_arg = m;
        for (int64_t a = 0; a < s.pool; ++a) {
          for (int64_t b = 0; b < s.pool; ++b) {
            const double l = pre[offset + a * s.hidden_width() + b];
            z += std::exp(l - m);
            largest_arg = std::max(largest_arg, std::abs(l - m));
          }
        }
        const double lp = m + std::log(z);
        total[size_t(n)] += lp;
        // m + logf(z): the sum and logf round by u |lp|; z's n + 1 float terms (each with
        // its argument rounding, at most u / e relative to z) move the log by (n + 3) u.
        allowed[size_t(n)] += 2 * kU * std::abs(lp) + (n_units + 3) * kU;
      });
      for (int64_t n = 0; n < s.batch; ++n) {
        e.want.data[n] = float(total[size_t(n)]);
        e.allowed[n] = allowed[size_t(n)] + kU * std::abs(total[size_t(n)]);
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::conv_channel_sums: {
      Expected e = expected(1, c.group);
      const int64_t plane = cols / c.group;
      for (int64_t ch = 0; ch < c.group; ++ch) {
        double acc = 0.0, m = 0.0;
        for (int64_t n = 0; n < rows; ++n) {
          for (int64_t i = 0; i < plane; ++i) {
            const double v = in[0].data[n * cols + ch * plane + i];
            acc += v;
            m += std::abs(v);
          }
        }
        const double prev = c.beta == 0.0f ? 0.0 : double(c.beta) * in[1].data[ch];
        e.want.data[ch] = float(c.alpha * acc + prev);
        e.allowed[ch] = sum_bound(std::abs(c.alpha) * m + std::abs(prev), rows * plane + 1);
      }
      ref.outputs.push_back(e);
      break;
    }
    case Op::conv_channel_bias_activate: {
      Expected e = expected(rows, cols);
      const int64_t plane = cols / c.group;
      for (int64_t n = 0; n < rows; ++n) {
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t i = n * cols + j;
          const double z = double(c.scale) * in[0].data[i];
          const double b = c.with_bias ? double(in[1].data[j / plane]) : 0.0;
          affine_activate(z + b, std::abs(z) + std::abs(b), 2, c.act, &e.want.data[i],
                          &e.allowed[i]);
        }
      }
      ref.outputs.push_back(e);
      break;
    }
  }
  return ref;
}

// ---- comparisons ----

std::string where(const HostTensor& t, int64_t i) {
  const int64_t cols = t.dim(1);
  std::ostringstream s;
  s << "element " << i << " (row " << (cols > 0 ? i / cols : 0) << ", col "
    << (cols > 0 ? i % cols : 0) << ")";
  return s.str();
}

// got within factor * allowed of want at every compared element; NaN fails.
void expect_within(const HostTensor& got, const Expected& e, double factor,
                   const std::string& what) {
  ASSERT_EQ(got.shape, e.want.shape) << what;
  int64_t bad = 0, worst = -1;
  double worst_ratio = 0.0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (e.free[size_t(i)]) continue;
    const double g = got.data[size_t(i)], w = e.want.data[size_t(i)];
    const double diff = std::abs(g - w);
    const double allowed = factor * e.allowed[size_t(i)];
    const bool ok = !std::isnan(g) && !std::isnan(w) && (diff == 0.0 || diff <= allowed);
    if (ok) continue;
    ++bad;
    const double ratio = allowed > 0 ? diff / allowed : std::numeric_limits<double>::infinity();
    if (worst < 0 || !(ratio <= worst_ratio)) {
      worst = i;
      worst_ratio = ratio;
    }
  }
  if (bad > 0) {
    const size_t i = size_t(worst);
    ADD_FAILURE() << what << ": " << bad << " of " << got.numel() << " elements outside the bound; "
                  << "worst at " << where(got, worst) << ": got " << got.data[i] << ", want "
                  << e.want.data[i] << ", |diff| " << std::abs(double(got.data[i]) - e.want.data[i])
                  << " > allowed " << factor * e.allowed[i];
  }
}

// Validity of random outputs, including the draws near a boundary that the
// element-by-element comparison leaves free.
void expect_valid_draws(const OpCase& c, const OpData& d, const OpOutputs& got,
                        const std::string& what) {
  switch (c.op) {
    case Op::sample_bernoulli:
      // Binary; with u in (0, 1), p = 0 is never on and p = 1 always.
      for (int64_t i = 0; i < got.tensors[0].numel(); ++i) {
        const float v = got.tensors[0].data[size_t(i)], p = d.in[0].data[size_t(i)];
        ASSERT_TRUE(v == 0.0f || v == 1.0f) << what << ": " << v;
        if (p == 0.0f || p == 1.0f) {
          EXPECT_EQ(v, p) << what << ": p = " << p << " drew " << v << " at "
                          << where(got.tensors[0], i);
        }
      }
      break;
    case Op::fill_uniform:
      // Open interval, as documented: 0 and 1 never occur.
      for (int64_t i = 0; i < got.tensors[0].numel(); ++i) {
        const float v = got.tensors[0].data[size_t(i)];
        ASSERT_TRUE(v > 0.0f && v < 1.0f)
            << what << ": uniform " << v << " at " << where(got.tensors[0], i);
      }
      break;
    case Op::sample_softmax_groups: {
      const HostTensor& t = got.tensors[0];
      for (int64_t g = 0; c.group > 0 && g < t.numel() / c.group; ++g) {
        int64_t ones = 0;
        for (int64_t i = 0; i < c.group; ++i) {
          const float v = t.data[size_t(g * c.group + i)];
          ASSERT_TRUE(v == 0.0f || v == 1.0f) << what << ": group " << g << " holds " << v;
          ones += v == 1.0f;
        }
        EXPECT_EQ(ones, 1) << what << ": group " << g << " is not one-hot";
      }
      break;
    }
    case Op::sample_multinomial_counts: {
      const HostTensor& t = got.tensors[0];
      for (int64_t r = 0; r < c.rows && c.cols > 0; ++r) {
        double sum = 0.0;
        for (int64_t j = 0; j < c.cols; ++j) {
          const float v = t.data[size_t(r * c.cols + j)];
          ASSERT_TRUE(v >= 0.0f && v == std::floor(v)) << what << ": count " << v;
          sum += v;
        }
        EXPECT_EQ(sum, double(d.in[1].data[size_t(r)])) << what << ": row " << r;
      }
      break;
    }
    case Op::ais_hidden_step:
    case Op::ais_visible_step: {
      // The states drawn (AIS hidden half: output 1; Bernoulli visible half: output 0) are binary.
      const bool hidden = c.op == Op::ais_hidden_step;
      if (hidden ? !c.ais_transition : c.draw != UnitDraw::bernoulli) break;
      const HostTensor& t = got.tensors[hidden ? 1 : 0];
      for (int64_t i = 0; i < t.numel(); ++i) {
        const float v = t.data[size_t(i)];
        ASSERT_TRUE(v == 0.0f || v == 1.0f) << what << ": state " << v << " at " << where(t, i);
      }
      break;
    }
    case Op::conv_pool_sample: {
      const ConvShape& s = c.conv;
      const HostTensor& h = got.tensors[0];
      for_each_block(s, [&](int64_t block, int64_t offset) {
        int64_t ones = 0;
        for (int64_t a = 0; a < s.pool; ++a) {
          for (int64_t b = 0; b < s.pool; ++b) {
            const float v = h.data[size_t(offset + a * s.hidden_width() + b)];
            EXPECT_TRUE(v == 0.0f || v == 1.0f) << what << ": block " << block << " holds " << v;
            ones += v == 1.0f;
          }
        }
        EXPECT_LE(ones, 1) << what << ": block " << block << " has more than one unit on";
        if (c.with_pooled) {
          EXPECT_EQ(got.tensors[1].data[size_t(block)], ones == 1 ? 1.0f : 0.0f)
              << what << ": pooled state of block " << block;
        }
      });
      break;
    }
    default:
      break;
  }
}

// Moments of large draws: each check fails with probability below 1e-6 for a correct
// generator (5 standard deviations), and fails for a biased or mis-scaled one.
void expect_moments(const OpCase& c, const OpData& d, const OpOutputs& got,
                    const std::string& what) {
  const HostTensor& t = got.tensors.empty() ? HostTensor() : got.tensors[0];
  const double n = double(t.numel());
  if (n < 10000) return;
  double s1 = 0.0, s2 = 0.0;
  switch (c.op) {
    case Op::fill_uniform: {
      for (float v : t.data) {
        s1 += v;
        s2 += (v - 0.5) * (v - 0.5);
      }
      EXPECT_NEAR(s1 / n, 0.5, 5 * std::sqrt(1.0 / 12.0 / n)) << what;
      // Var of (u - 1/2)^2 is 1/80 - 1/144.
      EXPECT_NEAR(s2 / n, 1.0 / 12.0, 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n)) << what;
      break;
    }
    case Op::fill_normal: {
      for (float v : t.data) {
        const double z = (v - c.normal_mean) / c.normal_stddev;
        s1 += z;
        s2 += z * z;
      }
      EXPECT_NEAR(s1 / n, 0.0, 5 / std::sqrt(n)) << what;
      EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n)) << what;
      break;
    }
    case Op::sample_gaussian: {
      const int64_t cols = c.cols;
      for (int64_t i = 0; i < t.numel(); ++i) {
        const double sd = c.with_col_scale ? d.in[1].data[size_t(i % cols)] : 1.0;
        const double z = (t.data[size_t(i)] - d.in[0].data[size_t(i)]) / sd;
        s1 += z;
        s2 += z * z;
      }
      EXPECT_NEAR(s1 / n, 0.0, 5 / std::sqrt(n)) << what;
      EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n)) << what;
      break;
    }
    case Op::sample_bernoulli: {
      double mean = 0.0, var = 0.0;
      for (int64_t i = 0; i < t.numel(); ++i) {
        const double p = d.in[0].data[size_t(i)];
        s1 += t.data[size_t(i)];
        mean += p;
        var += p * (1 - p);
      }
      EXPECT_NEAR(s1, mean, 5 * std::sqrt(var)) << what << ": number of units on";
      break;
    }
    default:
      break;
  }
}

// The compensated pairs of output 0 (hi, lo per row): hi + lo in double within factor *
// allowed of want.
void expect_pairs_within(const OpOutputs& got, const std::vector<double>& want,
                         const std::vector<double>& allowed, double factor,
                         const std::string& what) {
  if (want.empty()) return;
  const HostTensor& t = got.tensors.at(0);
  ASSERT_EQ(t.numel(), int64_t(2 * want.size())) << what;
  for (size_t r = 0; r < want.size(); ++r) {
    const double value = double(t.data[2 * r]) + double(t.data[2 * r + 1]);
    EXPECT_TRUE(!std::isnan(value) && std::abs(value - want[r]) <= factor * allowed[r])
        << what << ": run " << r << " log-weight " << value << " (hi " << t.data[2 * r] << ", lo "
        << t.data[2 * r + 1] << "), want " << want[r] << ", |diff| " << std::abs(value - want[r])
        << " > allowed " << factor * allowed[r];
  }
}

void expect_matches_reference(const OpCase& c, const OpData& d, const OpOutputs& got, double factor,
                              const std::string& who) {
  const Reference ref = reference(c, d);
  if (ref.scalar) {
    const double diff = std::abs(got.scalar - ref.scalar_want);
    EXPECT_TRUE(!std::isnan(got.scalar) && (diff == 0.0 || diff <= factor * ref.scalar_allowed))
        << c.name << " on " << who << ": got " << got.scalar << ", want " << ref.scalar_want
        << ", allowed " << factor * ref.scalar_allowed;
    return;
  }
  ASSERT_EQ(got.tensors.size(), ref.outputs.size()) << c.name;
  for (size_t o = 0; o < ref.outputs.size(); ++o) {
    expect_within(got.tensors[o], ref.outputs[o], factor,
                  c.name + " on " + who + ", output " + std::to_string(o));
  }
  expect_pairs_within(got, ref.pair_want, ref.pair_allowed, factor, c.name + " on " + who);
}

std::string case_name(const ::testing::TestParamInfo<OpCase>& info) {
  return info.param.name;
}

// ---- (a) the CPU against the plain loops ----

class OpTableCpu : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpTableCpu, MatchesPlainLoopReference) {
  const OpCase& c = GetParam();
  auto cpu = make_cpu_backend(2);
  const OpData d = make_inputs(c);
  const OpOutputs got = run_case(c, d, *cpu);
  expect_matches_reference(c, d, got, 1.0, "cpu");
  expect_valid_draws(c, d, got, c.name + " on cpu");
  expect_moments(c, d, got, c.name + " on cpu");
}

INSTANTIATE_TEST_SUITE_P(Table, OpTableCpu, ::testing::ValuesIn(all_cases()), case_name);
// The benchmark-sized cases: billions of plain-loop multiply-adds, so not run by default
// (run by hand with --gtest_also_run_disabled_tests --gtest_filter='DISABLED_Perf/*').
INSTANTIATE_TEST_SUITE_P(DISABLED_Perf, OpTableCpu, ::testing::ValuesIn(bench_cases()), case_name);

// ---- (b) every other backend against the CPU ----

struct OtherBackend {
  std::string name;
  ConvAlgo algo;
};

std::vector<OtherBackend> other_backends(const OpCase& c) {
  std::vector<OtherBackend> out;
  if (!cuda_available()) return out;
  if (!is_conv(c.op)) return {{"cuda", ConvAlgo::automatic}};
  out.push_back({"cuda_custom", ConvAlgo::custom});
  if (cudnn_available()) out.push_back({"cuda_cudnn", ConvAlgo::cudnn});
  out.push_back({"cuda_auto", ConvAlgo::automatic});
  return out;
}

class OpTableBackends : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpTableBackends, MatchesCpu) {
  if (!cuda_available()) {
    GTEST_SKIP() << "no other backend: cuda_available() is false (CPU-only build or no visible "
                    "GPU)";
  }
  const OpCase& c = GetParam();
  const OpData d = make_inputs(c);
  auto cpu = make_cpu_backend(2);
  const OpOutputs want = run_case(c, d, *cpu);
  // Tolerance: twice the reference's bound (both backends within it of the exact
  // value); elements the reference leaves free (draws within rounding of a boundary)
  // may differ; decisions elsewhere must be identical.
  Reference ref = reference(c, d);
  for (const OtherBackend& other : other_backends(c)) {
    auto gpu = make_backend("cuda");
    const OpOutputs got = run_case(c, d, *gpu, other.algo);
    const std::string who = other.name + " vs cpu";
    if (ref.scalar) {
      const double diff = std::abs(got.scalar - want.scalar);
      EXPECT_TRUE(!std::isnan(got.scalar) && (diff == 0.0 || diff <= 2 * ref.scalar_allowed))
          << c.name << " on " << who << ": got " << got.scalar << ", cpu " << want.scalar
          << ", allowed " << 2 * ref.scalar_allowed;
      continue;
    }
    ASSERT_EQ(got.tensors.size(), want.tensors.size()) << c.name;
    for (size_t o = 0; o < want.tensors.size(); ++o) {
      Expected cpu_result = ref.outputs[o];
      cpu_result.want = want.tensors[o];
      expect_within(got.tensors[o], cpu_result, 2.0,
                    c.name + " on " + who + ", output " + std::to_string(o));
    }
    if (!ref.pair_want.empty()) {
      std::vector<double> cpu_pairs(ref.pair_want.size());
      for (size_t r = 0; r < cpu_pairs.size(); ++r) {
        cpu_pairs[r] =
            double(want.tensors[0].data[2 * r]) + double(want.tensors[0].data[2 * r + 1]);
      }
      expect_pairs_within(got, cpu_pairs, ref.pair_allowed, 2.0, c.name + " on " + who);
    }
    expect_valid_draws(c, d, got, c.name + " on " + other.name);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, OpTableBackends, ::testing::ValuesIn(all_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Perf, OpTableBackends, ::testing::ValuesIn(bench_cases()), case_name);

// ---- the table itself ----

// Every op of Backend and ConvOps has cases, among them an empty one and one above
// the CPU's parallel threshold (16384 elements); the known failures count (they are in
// the table, run disabled).
TEST(OpTable, CoversEveryOpWithEmptyAndLargeShapes) {
  std::set<Op> ops, empty, large;
  std::vector<OpCase> cases = all_cases();
  cases.insert(cases.end(), known_failure_cases().begin(), known_failure_cases().end());
  for (const OpCase& c : cases) {
    ops.insert(c.op);
    const OpData d = make_inputs(c);
    int64_t largest = c.rows * c.cols;
    for (const HostTensor& t : d.in) largest = std::max(largest, t.numel());
    if (c.rows == 0 || c.cols == 0 || (is_conv(c.op) && c.conv.batch == 0)) empty.insert(c.op);
    if (largest > 16384) large.insert(c.op);
  }
  for (int op = 0; op <= int(Op::conv_softmax_rows); ++op) {
    const Op o = Op(op);
    EXPECT_TRUE(ops.count(o)) << to_string(o) << " has no case";
    EXPECT_TRUE(empty.count(o)) << to_string(o) << " has no empty case";
    EXPECT_TRUE(large.count(o)) << to_string(o) << " has no case above 16384 elements";
  }
}

TEST(OpTable, NamesAreUniqueGtestNames) {
  std::set<std::string> names;
  for (const auto* table : {&all_cases(), &known_failure_cases(), &bench_cases()}) {
    for (const OpCase& c : *table) {
      EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;
      for (char ch : c.name) {
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') << c.name;
      }
      EXPECT_EQ(&find_case(c.name), &c);
    }
  }
}

// The inputs are a pure function of the case: the benches and both tests see the same bytes.
TEST(OpTable, InputsAreReproducible) {
  for (const OpCase& c : all_cases()) {
    const OpData a = make_inputs(c), b = make_inputs(c);
    ASSERT_EQ(a.in.size(), b.in.size()) << c.name;
    for (size_t i = 0; i < a.in.size(); ++i) {
      ASSERT_EQ(a.in[i].shape, b.in[i].shape) << c.name;
      // Bytes, not values: the poisoned inputs hold NaN.
      EXPECT_EQ(std::memcmp(a.in[i].data.data(), b.in[i].data.data(),
                            a.in[i].data.size() * sizeof(float)),
                0)
          << c.name;
    }
    EXPECT_EQ(a.index, b.index) << c.name;
  }
}

}  // namespace
}  // namespace crbm::op_cases
