// The op case table, its seeded inputs and the runner that uploads a case's
// operands to a backend and calls the op (see op_cases.hpp for the roles).
#include "support/op_cases.hpp"

#include <cmath>
#include <limits>
#include <ostream>
#include <random>
#include <set>

namespace crbm::op_cases {

const char* to_string(Op op) {
  // In the order of the enumerators (Op is a plain 0, 1, 2, ... enumeration).
  static const char* const kNames[] = {
      "upload_download",
      "copy",
      "fill",
      "gemm",
      "axpby",
      "column_sums",
      "row_reduce",
      "scale_add_activate",
      "momentum_update",
      "sample_bernoulli",
      "sample_gaussian",
      "fill_uniform",
      "fill_normal",
      "fill_binary_codes",
      "softmax_groups",
      "sample_softmax_groups",
      "sample_multinomial_counts",
      "multiply",
      "sigmoid_backward",
      "gather_rows",
      "sum_squared_diff",
      "all_finite",
      "mean",
      "ais_hidden_step",
      "ais_visible_step",
      "conv_up",
      "conv_down",
      "conv_pool_probs",
      "conv_pool_sample",
      "conv_pool_log_partition",
      "conv_weight_grad",
      "conv_channel_sums",
      "conv_channel_bias_activate",
      "conv_softmax_rows",
  };
  static_assert(sizeof kNames / sizeof kNames[0] == size_t(Op::conv_softmax_rows) + 1,
                "one name per Op");
  const auto i = static_cast<size_t>(op);
  return i < sizeof kNames / sizeof kNames[0] ? kNames[i] : "?";
}

bool is_conv(Op op) {
  return op >= Op::conv_up;
}

bool decays_when_repeated(Op op) {
  return op == Op::multiply || op == Op::sigmoid_backward;
}

bool returns_scalar(Op op) {
  return op == Op::sum_squared_diff || op == Op::all_finite || op == Op::mean;
}

int64_t OpCase::work_items() const {
  switch (op) {
    case Op::gemm:
      return rows * cols * std::max<int64_t>(k, 1);
    case Op::conv_up:
    case Op::conv_down:
    case Op::conv_weight_grad:
      return conv.batch * conv.hidden_size() * conv.filter_volume();
    case Op::conv_pool_probs:
    case Op::conv_pool_sample:
    case Op::conv_pool_log_partition:
      return conv.batch * conv.hidden_size();
    default:
      return rows * cols;
  }
}

namespace {

std::string dims(int64_t r, int64_t c) {
  return std::to_string(r) + "x" + std::to_string(c);
}

// 0.5 -> "0p5", -0.25 -> "m0p25": parameter values inside a gtest name.
std::string num(double v) {
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  for (char& ch : s) {
    if (ch == '.') ch = 'p';
    if (ch == '-') ch = 'm';
  }
  return s;
}

std::string conv_dims(const ConvShape& s) {
  return std::to_string(s.batch) + "x" + std::to_string(s.channels) + "x" +
         std::to_string(s.height) + "x" + std::to_string(s.width) + "_K" +
         std::to_string(s.filters) + "F" + std::to_string(s.filter_size) + "P" +
         std::to_string(s.pool);
}

OpCase dense(Op op, int64_t rows, int64_t cols, std::string suffix = "") {
  OpCase c;
  c.op = op;
  c.rows = rows;
  c.cols = cols;
  c.name = std::string(to_string(op)) + "_" + dims(rows, cols) + suffix;
  return c;
}

// A key with a large step (above 2^32) and a nonzero stream, so both halves of
// the counter words are exercised.
RngKey key_for(uint64_t salt) {
  return RngKey{0x1234567890abcdefull + salt, static_cast<uint32_t>(3 + salt),
                (uint64_t{1} << 33) + 17 + salt};
}

const char* reduce_name(RowReduce r) {
  static const char* const kNames[] = {"sum", "softplus", "square"};  // RowReduce's order
  return kNames[static_cast<int>(r)];
}

struct Dims {
  int64_t rows, cols;
};

// Empty, tiny, odd, and above the CPU's parallel threshold (129*131 = 16899 > 16384).
const std::vector<Dims> kElementwise = {{0, 0}, {0, 5},  {5, 0},     {1, 1},
                                        {1, 5}, {7, 13}, {129, 131}, {257, 1025}};
const std::vector<Dims> kSmall = {{0, 5}, {5, 0}, {1, 1}, {7, 13}, {129, 131}};

void add_dense(std::vector<OpCase>& t) {
  for (Dims d : kElementwise) t.push_back(dense(Op::upload_download, d.rows, d.cols));
  for (Dims d : kElementwise) t.push_back(dense(Op::copy, d.rows, d.cols));
  for (Dims d : kSmall) {
    OpCase c = dense(Op::fill, d.rows, d.cols);
    c.scale = 0.25f;
    t.push_back(c);
  }

  struct Mnk {
    int64_t m, n, k;
  };
  const std::vector<Mnk> gemm_sizes = {{1, 1, 1}, {7, 13, 5},   {5, 4, 0},      {0, 3, 2},
                                       {3, 0, 2}, {1, 1025, 3}, {129, 131, 17}, {64, 100, 784}};
  for (Mnk d : gemm_sizes) {
    for (int trans = 0; trans < 4; ++trans) {
      for (float beta : {0.0f, 0.5f}) {
        OpCase c;
        c.op = Op::gemm;
        c.rows = d.m;
        c.cols = d.n;
        c.k = d.k;
        c.trans_a = trans & 1;
        c.trans_b = trans & 2;
        c.alpha = 0.75f;
        c.beta = beta;
        c.name = std::string("gemm_") + (c.trans_a ? "T" : "N") + (c.trans_b ? "T" : "N") + "_" +
                 dims(d.m, d.n) + "_k" + std::to_string(d.k) + "_beta" + num(beta);
        t.push_back(c);
      }
    }
  }

  for (Dims d : kElementwise) {
    OpCase c = dense(Op::axpby, d.rows, d.cols);
    c.alpha = 1.5f;
    c.beta = -0.25f;
    t.push_back(c);
  }

  // Many rows (the CUDA split reduction: 10^6 x 3), long rows (a block per row: 3 x 10^5).
  const std::vector<Dims> reduce_dims = {{0, 5},     {5, 0},       {0, 0},      {1, 1},
                                         {7, 13},    {129, 131},   {20000, 3},  {3, 10000},
                                         {4097, 70}, {1000000, 3}, {2, 100000}, {3, 100000}};
  for (Dims d : reduce_dims) {
    for (float beta : {0.0f, 1.0f}) {
      OpCase c = dense(Op::column_sums, d.rows, d.cols, "_beta" + num(beta));
      c.alpha = -0.5f;
      c.beta = beta;
      t.push_back(c);
    }
  }
  for (Dims d : reduce_dims) {
    for (RowReduce r : {RowReduce::sum, RowReduce::softplus_sum, RowReduce::square_sum}) {
      OpCase c = dense(Op::row_reduce, d.rows, d.cols, std::string("_") + reduce_name(r));
      c.reduce = r;
      c.lo = -4.0f;
      c.hi = 4.0f;
      t.push_back(c);
    }
  }

  for (Dims d : std::vector<Dims>{{0, 5}, {5, 0}, {1, 1}, {7, 13}, {129, 131}}) {
    for (int variant = 0; variant < 4; ++variant) {
      for (Activation act : {Activation::linear, Activation::sigmoid}) {
        const bool small = d.rows * d.cols <= 1;
        if (small && variant != 3) continue;  // the 1x1 and empty shapes: all operands only
        OpCase c = dense(Op::scale_add_activate, d.rows, d.cols,
                         std::string(act == Activation::sigmoid ? "_sigmoid" : "_linear") +
                             (variant & 1 ? "_colscale" : "") + (variant & 2 ? "_bias" : ""));
        c.scale = 0.7f;
        c.with_col_scale = variant & 1;
        c.with_bias = variant & 2;
        c.act = act;
        c.lo = -6.0f;
        c.hi = 6.0f;
        t.push_back(c);
      }
    }
  }
  // Large logits: sigmoid saturates to exactly 0 and 1 without NaN.
  {
    OpCase c = dense(Op::scale_add_activate, 7, 13, "_sigmoid_saturated");
    c.act = Activation::sigmoid;
    c.scale = 2.0f;
    c.lo = -60.0f;
    c.hi = 60.0f;
    t.push_back(c);
  }

  for (Dims d : kSmall) {
    for (float l1 : {0.0f, 1e-3f}) {
      OpCase c = dense(Op::momentum_update, d.rows, d.cols, "_l1_" + num(l1));
      c.l1 = l1;
      t.push_back(c);
    }
  }

  uint64_t salt = 0;
  for (Dims d : std::vector<Dims>{{0, 5}, {1, 1}, {1, 5}, {7, 13}, {129, 131}, {257, 1025}}) {
    OpCase c = dense(Op::sample_bernoulli, d.rows, d.cols);
    c.key = key_for(salt++);
    c.lo = 0.0f;
    t.push_back(c);
  }
  for (Dims d : kSmall) {
    for (bool sigma : {false, true}) {
      OpCase c = dense(Op::sample_gaussian, d.rows, d.cols, sigma ? "_sigma" : "");
      c.with_col_scale = sigma;
      c.key = key_for(salt++);
      t.push_back(c);
    }
  }
  // 1000x1000: a million draws for the moment checks.
  for (Dims d : std::vector<Dims>{{0, 5}, {1, 6}, {7, 13}, {129, 131}, {1000, 1000}}) {
    OpCase u = dense(Op::fill_uniform, d.rows, d.cols);
    u.key = key_for(salt++);
    t.push_back(u);
    OpCase n = dense(Op::fill_normal, d.rows, d.cols, "_mean0p5_sd2");
    n.normal_mean = 0.5f;
    n.normal_stddev = 2.0f;
    n.key = key_for(salt++);
    t.push_back(n);
  }
  {
    OpCase n = dense(Op::fill_normal, 129, 131, "_standard");
    n.key = RngKey{7, 2, 11};
    t.push_back(n);
  }

  struct Codes {
    int64_t rows, cols;
    uint64_t first;
  };
  for (Codes d : std::vector<Codes>{{0, 5, 0},
                                    {1, 1, 0},
                                    {7, 13, 0},
                                    {1000, 30, 12345},
                                    {3, 64, uint64_t{1} << 40},
                                    {20000, 20, 0}}) {
    OpCase c = dense(Op::fill_binary_codes, d.rows, d.cols, "_from" + std::to_string(d.first));
    c.first = d.first;
    t.push_back(c);
  }

  struct Grouped {
    int64_t rows, cols, group;
    float range;
  };
  const std::vector<Grouped> groups = {{1, 1, 1, 6},         {7, 12, 1, 6},      {7, 12, 3, 6},
                                       {7, 12, 12, 6},       {7, 12, 12, 80},    {100, 784, 16, 6},
                                       {100, 784, 784, 6},   {129, 132, 132, 6}, {257, 1025, 5, 6},
                                       {257, 1025, 1025, 6}, {0, 6, 3, 6},       {5, 0, 3, 6}};
  for (Grouped g : groups) {
    OpCase c = dense(Op::softmax_groups, g.rows, g.cols,
                     "_group" + std::to_string(g.group) + (g.range > 10 ? "_large_logits" : ""));
    c.group = g.group;
    c.lo = -g.range;
    c.hi = g.range;
    t.push_back(c);
  }
  for (Grouped g : std::vector<Grouped>{{1, 1, 1, 3},
                                        {7, 12, 3, 3},
                                        {7, 12, 12, 3},
                                        {100, 784, 16, 3},
                                        {100, 784, 784, 3},
                                        {129, 132, 132, 3},
                                        {257, 1025, 5, 3},
                                        {0, 6, 3, 3}}) {
    OpCase c = dense(Op::sample_softmax_groups, g.rows, g.cols, "_group" + std::to_string(g.group));
    c.group = g.group;
    c.lo = -g.range;
    c.hi = g.range;
    c.key = key_for(salt++);
    t.push_back(c);
  }
  for (Dims d : std::vector<Dims>{{1, 1}, {7, 13}, {100, 784}, {33, 2000}, {0, 4}, {3, 0}}) {
    OpCase c = dense(Op::sample_multinomial_counts, d.rows, d.cols);
    c.lo = -3.0f;
    c.hi = 3.0f;
    c.key = key_for(salt++);
    t.push_back(c);
  }

  for (Dims d : kElementwise) t.push_back(dense(Op::multiply, d.rows, d.cols));
  for (Dims d : kElementwise) {
    OpCase c = dense(Op::sigmoid_backward, d.rows, d.cols);
    t.push_back(c);
  }

  // gather_rows: rows = indices, k = source rows.
  struct Gather {
    int64_t count, src_rows, cols;
  };
  for (Gather g : std::vector<Gather>{
           {0, 257, 1025}, {1, 257, 1025}, {100, 257, 1025}, {3000, 257, 1025}, {3, 5, 0}}) {
    OpCase c;
    c.op = Op::gather_rows;
    c.rows = g.count;
    c.cols = g.cols;
    c.k = g.src_rows;
    c.name = "gather_rows_" + std::to_string(g.count) + "_of_" + dims(g.src_rows, g.cols);
    t.push_back(c);
  }

  for (Dims d : std::vector<Dims>{{0, 5}, {1, 1}, {7, 13}, {129, 131}, {1000, 1000}}) {
    t.push_back(dense(Op::sum_squared_diff, d.rows, d.cols));
  }
  struct Poisoned {
    Dims d;
    Poison p;
    const char* what;
  };
  for (Poisoned p : std::vector<Poisoned>{{{0, 5}, Poison::none, ""},
                                          {{7, 13}, Poison::none, ""},
                                          {{7, 13}, Poison::nan_first, "_nan_first"},
                                          {{7, 13}, Poison::inf_last, "_inf_last"},
                                          {{129, 131}, Poison::none, ""},
                                          {{129, 131}, Poison::minus_inf_last, "_minus_inf_last"},
                                          {{129, 131}, Poison::nan_last, "_nan_last"}}) {
    OpCase c = dense(Op::all_finite, p.d.rows, p.d.cols, p.what);
    c.poison = p.p;
    t.push_back(c);
  }
  for (Dims d : std::vector<Dims>{{0, 5}, {5, 0}, {1, 1}, {7, 13}, {129, 131}, {20000, 3}}) {
    t.push_back(dense(Op::mean, d.rows, d.cols));
  }
}

void add_ais(std::vector<OpCase>& t) {
  uint64_t salt = 300;
  // Empty runs, no units, one unit, odd, and the 784 x 500 RBM's 100 runs (above 16384).
  for (Dims d : std::vector<Dims>{{0, 5}, {5, 0}, {1, 1}, {7, 13}, {100, 500}}) {
    for (int64_t k : {1, 2, 3}) {
      OpCase c = dense(Op::ais_hidden_step, d.rows, d.cols, "_k" + std::to_string(k));
      c.k = k;
      c.lo = -6.0f;
      c.hi = 6.0f;
      c.key = key_for(salt++);
      t.push_back(c);
    }
  }
  for (Dims d : std::vector<Dims>{{7, 13}, {100, 500}}) {
    OpCase c = dense(Op::ais_hidden_step, d.rows, d.cols, "_k6_last");
    c.k = 6;
    c.ais_transition = false;
    c.lo = -6.0f;
    c.hi = 6.0f;
    t.push_back(c);
  }
  struct Variant {
    UnitDraw draw;
    bool sigma, scaled;
    const char* what;
  };
  for (Dims d : std::vector<Dims>{{0, 5}, {5, 0}, {1, 1}, {7, 13}, {100, 784}}) {
    for (Variant v : std::vector<Variant>{{UnitDraw::bernoulli, false, false, "_bernoulli"},
                                          {UnitDraw::gaussian, false, false, "_gaussian"},
                                          {UnitDraw::gaussian, true, true, "_gaussian_sigma"}}) {
      for (int64_t k : {0, 3}) {
        OpCase c = dense(Op::ais_visible_step, d.rows, d.cols,
                         std::string(v.what) + "_k" + std::to_string(k));
        c.k = k;
        c.draw = v.draw;
        c.with_col_scale = v.sigma;
        c.with_bias = v.scaled;
        c.lo = -4.0f;
        c.hi = 4.0f;
        c.key = key_for(salt++);
        t.push_back(c);
      }
    }
  }
}

void add_conv(std::vector<OpCase>& t) {
  // {batch, C, H, W, K, F, P}
  const std::vector<ConvShape> shapes = {
      {3, 1, 9, 9, 2, 4, 2},
      {5, 3, 13, 11, 7, 4, 2},   // odd sizes, C = 3
      {4, 1, 28, 28, 9, 12, 2},  // MNIST layer 1: 17 -> 16 cropped
      {2, 5, 17, 19, 6, 3, 3},   // cropped in both directions
      {7, 2, 10, 10, 5, 1, 1},
      {1, 4, 6, 7, 3, 6, 1},    // F = 1; F = H
      {2, 1, 16, 16, 3, 3, 8},  // P = 8 (the largest block), cropped
      // 9408 blocks, 12 images, 36864 visible values: the CPU's parallel paths (blocks >
      // 4096, images >= threads, channel ops above 32768 elements)
      {12, 3, 32, 32, 4, 5, 2},
      {0, 1, 8, 8, 2, 3, 2},  // empty batch
  };
  uint64_t salt = 100;
  for (const ConvShape& s : shapes) {
    const std::string d = conv_dims(s);
    auto make = [&](Op op, std::string suffix = "") {
      OpCase c;
      c.op = op;
      c.conv = s;
      c.rows = s.batch;
      c.name = std::string(to_string(op)) + "_" + d + suffix;
      return c;
    };
    OpCase up = make(Op::conv_up, "_bias");
    up.with_bias = true;
    up.scale = 0.3f;
    up.cols = s.hidden_size();
    t.push_back(up);
    up = make(Op::conv_up, "_nobias_scale2");
    up.scale = 2.0f;
    up.cols = s.hidden_size();
    t.push_back(up);

    OpCase down = make(Op::conv_down);
    down.cols = s.visible_size();
    t.push_back(down);

    OpCase grad = make(Op::conv_weight_grad);
    grad.alpha = s.batch > 0 ? 1.0f / float(s.batch * s.hidden_plane()) : 1.0f;
    grad.beta = 0.5f;
    grad.cols = s.filter_volume();
    t.push_back(grad);

    for (bool pooled : {true, false}) {
      OpCase p = make(Op::conv_pool_probs, pooled ? "" : "_no_pooled");
      p.with_pooled = pooled;
      p.lo = -5.0f;
      p.hi = 5.0f;
      p.cols = s.hidden_size();
      t.push_back(p);
      OpCase q = make(Op::conv_pool_sample, pooled ? "" : "_no_pooled");
      q.with_pooled = pooled;
      q.lo = -5.0f;
      q.hi = 5.0f;
      q.key = key_for(salt++);
      q.cols = s.hidden_size();
      t.push_back(q);
    }
    OpCase z = make(Op::conv_pool_log_partition);
    z.lo = -5.0f;
    z.hi = 5.0f;
    z.cols = 1;
    t.push_back(z);

    OpCase sums = make(Op::conv_channel_sums);
    sums.group = s.channels;
    sums.alpha = 0.25f;
    sums.beta = -1.0f;
    sums.cols = s.visible_size();
    t.push_back(sums);
    OpCase hidden_sums = make(Op::conv_channel_sums, "_hidden_maps");
    hidden_sums.group = s.filters;
    hidden_sums.alpha = 1.0f;
    hidden_sums.beta = 0.0f;
    hidden_sums.cols = s.hidden_size();
    t.push_back(hidden_sums);

    OpCase act = make(Op::conv_channel_bias_activate, "_sigmoid_bias");
    act.group = s.channels;
    act.scale = 1.5f;
    act.with_bias = true;
    act.act = Activation::sigmoid;
    act.cols = s.visible_size();
    t.push_back(act);
    act = make(Op::conv_channel_bias_activate, "_linear");
    act.group = s.channels;
    act.scale = -0.5f;
    act.act = Activation::linear;
    act.cols = s.visible_size();
    t.push_back(act);

    OpCase soft = make(Op::conv_softmax_rows);
    soft.cols = s.visible_size();
    soft.lo = -6.0f;
    soft.hi = 6.0f;
    t.push_back(soft);
  }
  // Large logits: every exponent would overflow without the max subtracted.
  {
    const ConvShape s{3, 1, 9, 9, 2, 4, 2};
    OpCase p;
    p.op = Op::conv_pool_probs;
    p.conv = s;
    p.rows = s.batch;
    p.cols = s.hidden_size();
    p.lo = -100.0f;
    p.hi = 100.0f;
    p.name = "conv_pool_probs_" + conv_dims(s) + "_large_logits";
    t.push_back(p);
    p.op = Op::conv_pool_sample;
    p.key = key_for(salt++);
    p.name = "conv_pool_sample_" + conv_dims(s) + "_large_logits";
    t.push_back(p);
    p.op = Op::conv_pool_log_partition;
    p.cols = 1;
    p.name = "conv_pool_log_partition_" + conv_dims(s) + "_large_logits";
    t.push_back(p);
    OpCase soft;
    soft.op = Op::conv_softmax_rows;
    soft.conv = s;
    soft.rows = 5;
    soft.cols = 33;
    soft.lo = -100.0f;
    soft.hi = 100.0f;
    soft.name = "conv_softmax_rows_5x33_large_logits";
    t.push_back(soft);
  }
}

void check_unique(const std::vector<OpCase>& t) {
  std::set<std::string> seen;
  for (const OpCase& c : t) {
    CRBM_CHECK_THROW(seen.insert(c.name).second, "op case table: duplicate name ", c.name);
  }
}

uint32_t seed_of(const std::string& name) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (char ch : name) h = (h ^ static_cast<uint8_t>(ch)) * 16777619u;
  return h;
}

HostTensor uniform_tensor(int64_t rows, int64_t cols, std::mt19937& gen, float lo, float hi) {
  HostTensor t({rows, cols});
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : t.data) v = dist(gen);
  return t;
}

// Probabilities: softmax of each group of `group` logits (computed in double).
HostTensor group_probs(int64_t rows, int64_t cols, int64_t group, std::mt19937& gen, float lo,
                       float hi) {
  HostTensor t = uniform_tensor(rows, cols, gen, lo, hi);
  for (int64_t g = 0; group > 0 && g < rows * cols / group; ++g) {
    float* x = t.data.data() + g * group;
    double z = 0.0;
    for (int64_t i = 0; i < group; ++i) z += std::exp(double(x[i]));
    for (int64_t i = 0; i < group; ++i) x[i] = float(std::exp(double(x[i])) / z);
  }
  return t;
}

}  // namespace

namespace {

struct Tables {
  std::vector<OpCase> passing, failing;
};

const Tables& tables() {
  static const Tables t = [] {
    std::vector<OpCase> all;
    add_dense(all);
    add_ais(all);
    add_conv(all);
    Tables out;
    for (OpCase& c : all) out.passing.push_back(std::move(c));
    // Element 3 of key {39075, 0, 0} has Philox bits 0xFFFFFFxx: (2^24 - 1 + 0.5) / 2^24
    // rounds to exactly 1.0f unless uniform_from_bits clamps it (it did not, until the
    // table found it), so the "open" uniform was 1.0f (probability 2^-24 per draw).
    OpCase u = dense(Op::fill_uniform, 1, 4, "_top_bits_all_ones");
    u.key = RngKey{39075, 0, 0};
    out.passing.push_back(u);
    // The same uniform decides a unit of probability 1: u < p fails and it stays off.
    OpCase b = dense(Op::sample_bernoulli, 1, 4, "_p1_top_bits_all_ones");
    b.key = RngKey{39075, 0, 0};
    b.lo = 1.0f;
    b.hi = 1.0f;
    out.passing.push_back(b);
    std::vector<OpCase> both = out.passing;
    both.insert(both.end(), out.failing.begin(), out.failing.end());
    check_unique(both);
    return out;
  }();
  return t;
}

}  // namespace

const std::vector<OpCase>& all_cases() {
  return tables().passing;
}

const std::vector<OpCase>& known_failure_cases() {
  return tables().failing;
}

const std::vector<OpCase>& bench_cases() {
  static const std::vector<OpCase> table = [] {
    std::vector<OpCase> t;
    // The dense RBM of bench_rbm_cpu: 784 visible, 500 hidden, batch 100. A CD-1 step's
    // products (v W, h W', v' h), its sampling, activation and update.
    const int64_t batch = 100, visible = 784, hidden = 500;
    struct Product {
      bool ta, tb;
      int64_t m, n, k;
      const char* what;
    };
    for (Product g : std::vector<Product>{{false, false, batch, hidden, visible, "_up"},
                                          {false, true, batch, visible, hidden, "_down"},
                                          {true, false, visible, hidden, batch, "_grad"}}) {
      OpCase c;
      c.op = Op::gemm;
      c.trans_a = g.ta;
      c.trans_b = g.tb;
      c.rows = g.m;
      c.cols = g.n;
      c.k = g.k;
      c.beta = g.ta ? 1.0f : 0.0f;
      c.name = std::string("gemm_") + (g.ta ? "T" : "N") + (g.tb ? "T" : "N") + "_" +
               dims(g.m, g.n) + "_k" + std::to_string(g.k) + "_rbm" + g.what;
      t.push_back(c);
    }
    OpCase act = dense(Op::scale_add_activate, batch, hidden, "_sigmoid_bias_rbm");
    act.act = Activation::sigmoid;
    act.with_bias = true;
    act.lo = -6.0f;
    act.hi = 6.0f;
    t.push_back(act);
    OpCase bern = dense(Op::sample_bernoulli, batch, hidden, "_rbm");
    bern.lo = 0.0f;
    bern.key = key_for(1000);
    t.push_back(bern);
    OpCase sums = dense(Op::column_sums, batch, hidden, "_rbm");
    t.push_back(sums);
    OpCase mom = dense(Op::momentum_update, visible, hidden, "_rbm");
    t.push_back(mom);
    // The convolutional RBMs of bench_conv (issue 4): MNIST layer 1 (17x17 hidden cropped
    // to 16x16) and a 3-channel 64x64 image.
    uint64_t salt = 2000;
    for (const ConvShape& s :
         std::vector<ConvShape>{{100, 1, 28, 28, 40, 12, 2}, {32, 3, 64, 64, 64, 7, 2}}) {
      auto make = [&](Op op, int64_t cols) {
        OpCase c;
        c.op = op;
        c.conv = s;
        c.rows = s.batch;
        c.cols = cols;
        c.key = key_for(salt++);
        c.name = std::string(to_string(op)) + "_" + conv_dims(s);
        return c;
      };
      t.push_back(make(Op::conv_up, s.hidden_size()));
      t.push_back(make(Op::conv_down, s.visible_size()));
      OpCase grad = make(Op::conv_weight_grad, s.filter_volume());
      grad.alpha = 1.0f / float(s.batch * s.hidden_plane());
      t.push_back(grad);
      OpCase probs = make(Op::conv_pool_probs, s.hidden_size());
      probs.lo = -5.0f;
      probs.hi = 5.0f;
      t.push_back(probs);
      OpCase sample = make(Op::conv_pool_sample, s.hidden_size());
      sample.lo = -5.0f;
      sample.hi = 5.0f;
      sample.with_pooled = false;
      t.push_back(sample);
    }
    std::vector<OpCase> both = t;
    both.insert(both.end(), all_cases().begin(), all_cases().end());
    check_unique(both);
    return t;
  }();
  return table;
}

const OpCase& find_case(const std::string& name) {
  for (const auto* table : {&all_cases(), &known_failure_cases(), &bench_cases()}) {
    for (const OpCase& c : *table) {
      if (c.name == name) return c;
    }
  }
  CRBM_FAIL("no op case named ", name);
}

const std::vector<float>& ais_betas() {
  static const std::vector<float> betas = {0.0f, 0.001f, 0.5f, 0.50001f, 0.9f, 0.99999f, 1.0f};
  return betas;
}

namespace {

HostTensor ais_betas_tensor() {
  HostTensor b({1, int64_t(ais_betas().size())});
  b.data = ais_betas();
  return b;
}

}  // namespace

OpData make_inputs(const OpCase& c) {
  OpData d;
  std::mt19937 gen(seed_of(c.name));
  auto rnd = [&](int64_t r, int64_t k) { return uniform_tensor(r, k, gen, c.lo, c.hi); };
  const int64_t r = c.rows, k = c.cols;
  const ConvShape& s = c.conv;
  switch (c.op) {
    case Op::upload_download:
    case Op::softmax_groups:
    case Op::row_reduce:
    case Op::mean:
    case Op::conv_softmax_rows:
      d.in = {rnd(r, k)};
      break;
    case Op::copy:
    case Op::axpby:
    case Op::multiply:
    case Op::sum_squared_diff:
      d.in = {rnd(r, k), rnd(r, k)};
      break;
    case Op::fill:
      d.in = {rnd(r, k)};
      break;
    case Op::gemm: {
      const HostTensor a = c.trans_a ? rnd(c.k, r) : rnd(r, c.k);
      const HostTensor b = c.trans_b ? rnd(k, c.k) : rnd(c.k, k);
      d.in = {a, b, rnd(r, k)};
      break;
    }
    case Op::column_sums:
      d.in = {rnd(r, k), rnd(1, k)};
      break;
    case Op::scale_add_activate:
      d.in = {rnd(r, k), uniform_tensor(1, k, gen, 0.5f, 2.0f), uniform_tensor(1, k, gen, -1, 1)};
      break;
    case Op::momentum_update:
      d.in = {rnd(r, k), rnd(r, k), rnd(r, k)};
      if (r * k > 0) d.in[0].data[0] = 0.0f;  // sign(0) = 0 in the L1 term
      break;
    case Op::sample_bernoulli: {
      HostTensor p = uniform_tensor(r, k, gen, c.lo, c.hi);
      // Exact 0s and 1s: never and always on.
      if (c.lo < c.hi) {
        for (int64_t i = 0; i < p.numel(); ++i) {
          if (i % 7 == 3) p.data[i] = 0.0f;
          if (i % 11 == 5) p.data[i] = 1.0f;
        }
      }
      d.in = {p};
      break;
    }
    case Op::sample_gaussian:
      d.in = {rnd(r, k), uniform_tensor(1, k, gen, 0.5f, 2.0f)};
      break;
    case Op::fill_uniform:
    case Op::fill_normal:
    case Op::fill_binary_codes:
      break;
    case Op::sample_softmax_groups:
      d.in = {group_probs(r, k, c.group, gen, c.lo, c.hi)};
      break;
    case Op::sample_multinomial_counts: {
      HostTensor totals({r, 1});
      std::uniform_int_distribution<int> len(0, int(c.max_total));
      for (float& v : totals.data) v = float(len(gen));
      // A row with no draws, and one with the most (the sorted path above 16 draws).
      if (r >= 2) totals.data[0] = 0.0f;
      if (r >= 3) totals.data[1] = float(c.max_total);
      if (r >= 4) totals.data[2] = 16.0f;  // the scan path's largest count
      d.in = {group_probs(r, k, k, gen, c.lo, c.hi), totals};
      break;
    }
    case Op::sigmoid_backward:
      d.in = {uniform_tensor(r, k, gen, 0.0f, 1.0f), rnd(r, k)};
      break;
    case Op::gather_rows: {
      d.in = {rnd(c.k, k)};
      std::uniform_int_distribution<int32_t> pick(0, int32_t(c.k - 1));
      d.index.resize(size_t(r));
      for (int32_t& i : d.index) i = pick(gen);
      if (r > 1) d.index[1] = d.index[0];  // repeats are allowed
      if (r > 2) d.index[2] = int32_t(c.k - 1);
      break;
    }
    case Op::all_finite: {
      HostTensor x = rnd(r, k);
      const int64_t n = x.numel();
      if (n > 0) {
        switch (c.poison) {
          case Poison::none:
            break;
          case Poison::nan_first:
            x.data[0] = std::numeric_limits<float>::quiet_NaN();
            break;
          case Poison::inf_last:
            x.data[n - 1] = std::numeric_limits<float>::infinity();
            break;
          case Poison::minus_inf_last:
            x.data[n - 1] = -std::numeric_limits<float>::infinity();
            break;
          case Poison::nan_last:
            x.data[n - 1] = std::numeric_limits<float>::quiet_NaN();
            break;
        }
      }
      d.in = {x};
      break;
    }
    case Op::ais_hidden_step: {
      // log w: a large running value and a small remainder, so the compensated pair matters.
      HostTensor log_w({r, 2});
      for (int64_t i = 0; i < r; ++i) {
        log_w.data[2 * i] = uniform_tensor(1, 1, gen, -100.0f, 100.0f).data[0];
        log_w.data[2 * i + 1] = uniform_tensor(1, 1, gen, -1e-6f, 1e-6f).data[0];
      }
      d.in = {rnd(r, k), uniform_tensor(1, k, gen, -1, 1), ais_betas_tensor(),
              uniform_tensor(r, 1, gen, -20, 20), log_w};
      break;
    }
    case Op::ais_visible_step: {
      HostTensor sigma = uniform_tensor(1, k, gen, 0.5f, 2.0f), inv({1, k});
      for (int64_t j = 0; j < k; ++j) inv.data[j] = 1.0f / sigma.data[j];
      d.in = {rnd(r, k),
              uniform_tensor(1, k, gen, -2, 2),
              uniform_tensor(1, k, gen, -2, 2),
              sigma,
              uniform_tensor(1, k, gen, -3, 3),
              inv,
              ais_betas_tensor()};
      break;
    }
    case Op::conv_up:
      d.in = {rnd(s.batch, s.visible_size()), rnd(s.filters, s.filter_volume()), rnd(1, s.filters)};
      break;
    case Op::conv_down:
      d.in = {rnd(s.batch, s.hidden_size()), rnd(s.filters, s.filter_volume())};
      break;
    case Op::conv_pool_probs:
    case Op::conv_pool_sample:
    case Op::conv_pool_log_partition:
      d.in = {rnd(s.batch, s.hidden_size())};
      break;
    case Op::conv_weight_grad:
      d.in = {rnd(s.batch, s.visible_size()), rnd(s.batch, s.hidden_size()),
              rnd(s.filters, s.filter_volume())};
      break;
    case Op::conv_channel_sums:
      d.in = {rnd(r, k), rnd(1, c.group)};
      break;
    case Op::conv_channel_bias_activate:
      d.in = {rnd(r, k), rnd(1, c.group)};
      break;
  }
  return d;
}

namespace {

// A backend matrix with the tensor's 2-D shape (HostTensor::cols() makes 0x5 a 0x0).
Matrix put(Backend& b, const HostTensor& t) {
  Matrix m(b, t.dim(0), t.dim(1));
  m.upload(t);
  return m;
}

// The inputs that each op overwrites (their indices in OpData::in).
std::vector<size_t> overwritten(Op op) {
  switch (op) {
    case Op::copy:
    case Op::axpby:
    case Op::column_sums:
    case Op::multiply:
    case Op::sigmoid_backward:
    case Op::conv_channel_sums:
      return {1};
    case Op::fill:
    case Op::scale_add_activate:
    case Op::ais_visible_step:
    case Op::softmax_groups:
    case Op::conv_channel_bias_activate:
    case Op::conv_softmax_rows:
      return {0};
    case Op::gemm:
    case Op::conv_weight_grad:
      return {2};
    case Op::momentum_update:
      return {0, 1};
    case Op::ais_hidden_step:
      return {4};
    default:
      return {};
  }
}

}  // namespace

OpRunner::OpRunner(const OpCase& c, const OpData& data, Backend& backend, ConvAlgo algo)
    : case_(c), index_(data.index), backend_(backend) {
  for (const HostTensor& t : data.in) in_.push_back(put(backend, t));
  for (size_t i : overwritten(c.op)) {
    while (pristine_.size() <= i) pristine_.emplace_back();
    pristine_[i] = put(backend, data.in[i]);
  }
  if (is_conv(c.op)) conv_ = make_conv_ops(backend, algo);
  // Pure outputs start as NaN: an element the op does not write fails the comparison.
  auto output = [&](int64_t rows, int64_t cols) {
    Matrix m(backend, rows, cols);
    backend.fill(m, std::numeric_limits<float>::quiet_NaN());
    out_.push_back(std::move(m));
  };
  const ConvShape& s = c.conv;
  switch (c.op) {
    case Op::row_reduce:
      output(c.rows, 1);
      break;
    case Op::sample_bernoulli:
    case Op::sample_gaussian:
    case Op::fill_uniform:
    case Op::fill_normal:
    case Op::fill_binary_codes:
    case Op::sample_softmax_groups:
    case Op::sample_multinomial_counts:
    case Op::gather_rows:
      output(c.rows, c.cols);
      break;
    case Op::ais_hidden_step:
      if (c.ais_transition) output(c.rows, c.cols);
      break;
    case Op::ais_visible_step:
      output(c.rows, 1);
      if (c.with_bias) output(c.rows, c.cols);
      break;
    case Op::conv_up:
      output(s.batch, s.hidden_size());
      break;
    case Op::conv_down:
      output(s.batch, s.visible_size());
      break;
    case Op::conv_pool_probs:
    case Op::conv_pool_sample:
      output(s.batch, s.hidden_size());
      if (c.with_pooled) output(s.batch, s.pooled_size());
      break;
    case Op::conv_pool_log_partition:
      output(s.batch, 1);
      break;
    default:
      break;
  }
}

OpRunner::~OpRunner() = default;

void OpRunner::run() {
  const OpCase& c = case_;
  Backend& b = backend_;
  switch (c.op) {
    case Op::upload_download: {
      HostTensor host = in_[0].download();
      b.upload(host.data.data(), in_[0]);
      break;
    }
    case Op::copy:
      b.copy(in_[0], in_[1]);
      break;
    case Op::fill:
      b.fill(in_[0], c.scale);
      break;
    case Op::gemm:
      b.gemm(c.trans_a, c.trans_b, c.alpha, in_[0], in_[1], c.beta, in_[2]);
      break;
    case Op::axpby:
      b.axpby(c.alpha, in_[0], c.beta, in_[1]);
      break;
    case Op::column_sums:
      b.column_sums(in_[0], c.alpha, c.beta, in_[1]);
      break;
    case Op::row_reduce:
      b.row_reduce(in_[0], c.reduce, out_[0]);
      break;
    case Op::scale_add_activate:
      b.scale_add_activate(in_[0], c.scale, c.with_col_scale ? in_[1].cref() : CMatRef{},
                           c.with_bias ? in_[2].cref() : CMatRef{}, c.act);
      break;
    case Op::momentum_update:
      b.momentum_update(in_[0], in_[1], in_[2], c.lr, c.momentum, c.l2, c.l1);
      break;
    case Op::sample_bernoulli:
      b.sample_bernoulli(in_[0], out_[0], c.key);
      break;
    case Op::sample_gaussian:
      b.sample_gaussian(in_[0], c.with_col_scale ? in_[1].cref() : CMatRef{}, out_[0], c.key);
      break;
    case Op::fill_uniform:
      b.fill_uniform(out_[0], c.key);
      break;
    case Op::fill_normal:
      b.fill_normal(out_[0], c.normal_mean, c.normal_stddev, c.key);
      break;
    case Op::fill_binary_codes:
      b.fill_binary_codes(out_[0], c.first);
      break;
    case Op::softmax_groups:
      b.softmax_groups(in_[0], c.group);
      break;
    case Op::sample_softmax_groups:
      b.sample_softmax_groups(in_[0], c.group, out_[0], c.key);
      break;
    case Op::sample_multinomial_counts:
      b.sample_multinomial_counts(in_[0], in_[1], out_[0], c.key);
      break;
    case Op::multiply:
      b.multiply(in_[0], in_[1]);
      break;
    case Op::sigmoid_backward:
      b.sigmoid_backward(in_[0], in_[1]);
      break;
    case Op::gather_rows:
      b.gather_rows(in_[0], index_, out_[0]);
      break;
    case Op::sum_squared_diff:
      scalar_ = b.sum_squared_diff(in_[0], in_[1]);
      break;
    case Op::all_finite:
      scalar_ = b.all_finite(in_[0]) ? 1.0 : 0.0;
      break;
    case Op::mean:
      scalar_ = b.mean(in_[0]);
      break;
    case Op::ais_hidden_step:
      b.ais_hidden_step(in_[0], in_[1], in_[2], c.k, in_[3], in_[4],
                        c.ais_transition ? out_[0].ref() : MatRef{}, c.key);
      break;
    case Op::ais_visible_step: {
      const AisVisibleRows rows{in_[1], in_[2], c.with_col_scale ? in_[3].cref() : CMatRef{},
                                in_[4], c.with_bias ? in_[5].cref() : CMatRef{}};
      b.ais_visible_step(in_[0], c.draw, rows, in_[6], c.k, out_[0],
                         c.with_bias ? out_[1].ref() : MatRef{}, c.key);
      break;
    }
    case Op::conv_up:
      conv_->up(c.conv, in_[0], in_[1], c.with_bias ? in_[2].cref() : CMatRef{}, c.scale, out_[0]);
      break;
    case Op::conv_down:
      conv_->down(c.conv, in_[0], in_[1], out_[0]);
      break;
    case Op::conv_pool_probs:
      conv_->pool_probs(c.conv, in_[0], out_[0], c.with_pooled ? out_[1].ref() : MatRef{});
      break;
    case Op::conv_pool_sample:
      conv_->pool_sample(c.conv, in_[0], out_[0], c.with_pooled ? out_[1].ref() : MatRef{}, c.key);
      break;
    case Op::conv_pool_log_partition:
      conv_->pool_log_partition(c.conv, in_[0], out_[0]);
      break;
    case Op::conv_weight_grad:
      conv_->weight_grad(c.conv, in_[0], in_[1], c.alpha, c.beta, in_[2]);
      break;
    case Op::conv_channel_sums:
      conv_->channel_sums(in_[0], c.group, c.alpha, c.beta, in_[1]);
      break;
    case Op::conv_channel_bias_activate:
      conv_->channel_bias_activate(in_[0], c.group, c.scale,
                                   c.with_bias ? in_[1].cref() : CMatRef{}, c.act);
      break;
    case Op::conv_softmax_rows:
      conv_->softmax_rows(in_[0]);
      break;
  }
}

void OpRunner::restore() {
  for (size_t i = 0; i < pristine_.size(); ++i) {
    if (pristine_[i].size() > 0) backend_.copy(pristine_[i], in_[i]);
  }
}

OpOutputs OpRunner::outputs() {
  OpOutputs o;
  o.scalar = scalar_;
  auto get = [&](const Matrix& m) { o.tensors.push_back(m.download()); };
  if (case_.op == Op::upload_download) get(in_[0]);
  for (size_t i : overwritten(case_.op)) get(in_[i]);
  for (const Matrix& m : out_) get(m);
  return o;
}

void PrintTo(const OpCase& c, std::ostream* os) {
  *os << c.name;
}

OpOutputs run_case(const OpCase& c, const OpData& data, Backend& backend, ConvAlgo algo) {
  OpRunner runner(c, data, backend, algo);
  runner.run();
  return runner.outputs();
}

}  // namespace crbm::op_cases
