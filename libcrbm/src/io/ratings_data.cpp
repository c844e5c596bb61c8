// Ratings data (ratings.hpp): the MovieLens text readers, the builtin:ratings generator
// (a known low-rank preference model, so tests and results know the best possible
// RMSE), the per-user train/test split, CSR batches of users, RMSE and the two
// baselines (item means; global mean + user and item biases).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <unordered_map>

#include "crbm/atomic_file.hpp"
#include "crbm/ratings.hpp"
#include "philox.cuh"
#include "rng_streams.hpp"

namespace crbm {
namespace {

using namespace rng_stream::ratings;  // Philox stream ids (rng_streams.hpp)
constexpr int64_t kMaxLevels = 32;

struct RawRating {
  int64_t user, item;
  float value;
};

// Builds the user-major CSR from ratings in file order (ids renumbered by first appearance).
RatingsData from_raw(const std::string& source, const std::vector<RawRating>& raw) {
  RatingsData d;
  d.source = source;
  if (raw.empty()) CRBM_FAIL(source, ": no ratings");
  std::unordered_map<int64_t, int32_t> user_index, item_index;
  std::vector<int64_t> count;
  for (const RawRating& r : raw) {
    auto [u, new_user] = user_index.emplace(r.user, int32_t(d.user_ids.size()));
    if (new_user) {
      d.user_ids.push_back(r.user);
      count.push_back(0);
    }
    ++count[size_t(u->second)];
    if (item_index.emplace(r.item, int32_t(d.item_ids.size())).second) d.item_ids.push_back(r.item);
  }
  d.levels.clear();
  for (const RawRating& r : raw) d.levels.push_back(r.value);
  std::sort(d.levels.begin(), d.levels.end());
  d.levels.erase(std::unique(d.levels.begin(), d.levels.end()), d.levels.end());
  if (int64_t(d.levels.size()) > kMaxLevels) {
    CRBM_FAIL(source, ": ", d.levels.size(), " distinct rating values (at most ", kMaxLevels,
              " levels are supported)");
  }
  d.users = int64_t(d.user_ids.size());
  d.items = int64_t(d.item_ids.size());
  d.offsets.assign(size_t(d.users + 1), 0);
  for (int64_t u = 0; u < d.users; ++u)
    d.offsets[size_t(u + 1)] = d.offsets[size_t(u)] + count[size_t(u)];
  d.item.resize(raw.size());
  d.level.resize(raw.size());
  std::vector<int64_t> fill(d.offsets.begin(), d.offsets.end() - 1);
  for (const RawRating& r : raw) {
    const int64_t n = fill[size_t(user_index[r.user])]++;
    d.item[size_t(n)] = item_index[r.item];
    d.level[size_t(n)] =
        int32_t(std::lower_bound(d.levels.begin(), d.levels.end(), r.value) - d.levels.begin());
  }
  return d;
}

enum class TextFormat { whitespace, csv, dat };

std::vector<std::string> split_fields(const std::string& line, TextFormat f) {
  std::vector<std::string> out;
  if (f == TextFormat::whitespace) {
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      out.push_back(line.substr(i, j - i));
      i = j;
    }
    return out;
  }
  const std::string sep = f == TextFormat::csv ? "," : "::";
  size_t i = 0;
  while (true) {
    const size_t j = line.find(sep, i);
    out.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + sep.size();
  }
  return out;
}

bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  out = v;
  return true;
}

bool parse_float(const std::string& s, float& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const float v = std::strtof(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

RatingsData read_movielens(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_contents(path);
  const std::string text(bytes.begin(), bytes.end());
  std::vector<RawRating> raw;
  std::unordered_map<uint64_t, int64_t> seen;  // (user, item) -> line of the first rating
  bool format_known = false;
  TextFormat format = TextFormat::whitespace;
  const char* format_name = "";
  int64_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (!format_known) {
      format_known = true;
      if (line.find("::") != std::string::npos) {
        format = TextFormat::dat;
        format_name = "'user::item::rating::timestamp' (ratings.dat)";
      } else if (line.find(',') != std::string::npos) {
        format = TextFormat::csv;
        format_name = "'user,item,rating,timestamp' (ratings.csv)";
        const std::vector<std::string> f = split_fields(line, format);
        int64_t ignored = 0;
        if (!parse_int(f[0], ignored)) continue;  // the header line
      } else {
        format = TextFormat::whitespace;
        format_name = "'user item rating timestamp' separated by tabs or spaces (u.data)";
      }
    }
    const std::vector<std::string> f = split_fields(line, format);
    if (f.size() < 3 || f.size() > 4) {
      CRBM_FAIL(path, ":", line_no, ": expected ", format_name, ", got ", f.size(),
                " field(s) in '", line.substr(0, 80), "'");
    }
    RawRating r{};
    if (!parse_int(f[0], r.user) || r.user < 0) {
      CRBM_FAIL(path, ":", line_no, ": user id '", f[0], "' is not a non-negative integer");
    }
    if (!parse_int(f[1], r.item) || r.item < 0) {
      CRBM_FAIL(path, ":", line_no, ": item id '", f[1], "' is not a non-negative integer");
    }
    if (!parse_float(f[2], r.value)) {
      CRBM_FAIL(path, ":", line_no, ": rating '", f[2], "' is not a finite number");
    }
    const uint64_t key = (uint64_t(r.user) << 32) ^ uint64_t(r.item);
    auto [it, fresh] = seen.emplace(key, line_no);
    if (!fresh) {
      CRBM_FAIL(path, ":", line_no, ": user ", r.user, " rated item ", r.item,
                " again (first on line ", it->second, "); keep one rating per pair");
    }
    raw.push_back(r);
  }
  return from_raw(path, raw);
}

// builtin:ratings: users u and items i get factors a_u, q_i ~ N(0, I_5 / sqrt 5) scaled so
// that a_u . q_i has unit variance, item biases ~ N(0, 0.5^2), user biases ~ N(0, 0.3^2);
// the rating r in 1..5 is drawn from P(r) ~ exp(-(r - s)^2 / (2 * 0.8^2)) with
// s = 3 + item bias + user bias + a_u . q_i. Each user rates 20..80 items, chosen with a
// popularity weight 1/(i+10)^0.7 (weighted sampling without replacement).
RatingsData make_builtin(int64_t users, int64_t items, uint64_t seed, const std::string& source) {
  if (users < 1 || items < 20) CRBM_FAIL(source, ": needs at least 1 user and 20 items");
  constexpr int kRank = 5;
  constexpr int kLevels = 5;
  const float scale = 1.0f / std::sqrt(std::sqrt(float(kRank)));
  auto normal = [&](uint64_t step, uint64_t index) {
    return philox::normal(seed, kStreamGenFactors, step, index);
  };
  std::vector<float> a(static_cast<size_t>(users * kRank)), q(static_cast<size_t>(items * kRank));
  std::vector<float> bu(static_cast<size_t>(users)), bi(static_cast<size_t>(items));
  for (int64_t x = 0; x < users * kRank; ++x) a[size_t(x)] = scale * normal(0, uint64_t(x));
  for (int64_t x = 0; x < items * kRank; ++x) q[size_t(x)] = scale * normal(1, uint64_t(x));
  for (int64_t u = 0; u < users; ++u) bu[size_t(u)] = 0.3f * normal(2, uint64_t(u));
  for (int64_t i = 0; i < items; ++i) bi[size_t(i)] = 0.5f * normal(3, uint64_t(i));

  std::vector<RawRating> raw;
  std::vector<float> mean, var;
  std::vector<std::pair<float, int64_t>> keys(static_cast<size_t>(items));
  const int64_t lo = std::min<int64_t>(20, items), hi = std::min<int64_t>(80, items);
  for (int64_t u = 0; u < users; ++u) {
    const int64_t n =
        lo + int64_t(philox::uniform(seed, kStreamGenChoice, uint64_t(u), 0) * float(hi - lo + 1)) %
                 (hi - lo + 1);
    for (int64_t i = 0; i < items; ++i) {
      const float w = 1.0f / std::pow(float(i) + 10.0f, 0.7f);
      const float uni = philox::uniform(seed, kStreamGenChoice, uint64_t(u), uint64_t(i + 1));
      keys[size_t(i)] = {std::log(uni) / w, i};  // Efraimidis-Spirakis: largest keys win
    }
    std::partial_sort(keys.begin(), keys.begin() + n, keys.end(),
                      [](const auto& x, const auto& y) { return x.first > y.first; });
    for (int64_t e = 0; e < n; ++e) {
      const int64_t i = keys[size_t(e)].second;
      float s = 3.0f + bi[size_t(i)] + bu[size_t(u)];
      for (int c = 0; c < kRank; ++c) s += a[size_t(u * kRank + c)] * q[size_t(i * kRank + c)];
      float p[kLevels], z = 0;
      for (int k = 0; k < kLevels; ++k) {
        const float dk = float(k + 1) - s;
        p[k] = std::exp(-dk * dk / (2.0f * 0.8f * 0.8f));
        z += p[k];
      }
      float m = 0, m2 = 0;
      for (int k = 0; k < kLevels; ++k) {
        p[k] /= z;
        m += p[k] * float(k + 1);
        m2 += p[k] * float((k + 1) * (k + 1));
      }
      const float uni = philox::uniform(seed, kStreamGenRating, uint64_t(u), uint64_t(i));
      const int64_t k = math::categorical_from_uniform(p, kLevels, uni);
      raw.push_back({u + 1, i + 1, float(k + 1)});
      mean.push_back(m);
      var.push_back(std::max(0.0f, m2 - m * m));
    }
  }
  RatingsData d = from_raw(source, raw);
  // from_raw keeps file order within each user and users appear in order, so entry n of
  // the CSR is raw rating n.
  d.truth_mean = std::move(mean);
  d.truth_var = std::move(var);
  if (d.num_levels() != kLevels) {
    // A tiny set may miss a level; keep the level indices meaning 1..5 regardless.
    d.levels = {1, 2, 3, 4, 5};
    for (int64_t n = 0; n < d.nnz(); ++n) d.level[size_t(n)] = int32_t(raw[size_t(n)].value) - 1;
  }
  return d;
}

}  // namespace

RatingsData load_ratings(const std::string& spec, const RatingsLoadOptions& o) {
  const std::string builtin = "builtin:ratings";
  if (spec.rfind(builtin, 0) == 0) {
    int64_t users = o.builtin_users, items = o.builtin_items;
    if (spec.size() > builtin.size()) {
      const std::string size = spec.substr(builtin.size());
      const size_t x = size.find('x');
      if (size[0] != ':' || x == std::string::npos || !parse_int(size.substr(1, x - 1), users) ||
          !parse_int(size.substr(x + 1), items)) {
        CRBM_FAIL("'", spec, "': expected builtin:ratings or builtin:ratings:USERSxITEMS");
      }
    }
    return make_builtin(users, items, o.seed, spec);
  }
  if (spec.rfind("builtin:", 0) == 0) {
    CRBM_FAIL("unknown ratings set '", spec, "' (the builtin one is builtin:ratings)");
  }
  return read_movielens(spec);
}

RatingsSplit split_ratings(const RatingsData& d, double test_fraction, uint64_t seed) {
  if (!(test_fraction >= 0.0 && test_fraction < 1.0)) {
    CRBM_FAIL("test fraction ", test_fraction, " is not in [0, 1)");
  }
  RatingsSplit s;
  for (RatingsData* part : {&s.train, &s.test}) {
    part->source = d.source;
    part->users = d.users;
    part->items = d.items;
    part->levels = d.levels;
    part->user_ids = d.user_ids;
    part->item_ids = d.item_ids;
    part->offsets.assign(1, 0);
  }
  const bool truth = !d.truth_mean.empty();
  std::vector<std::pair<float, int64_t>> keys;
  std::vector<char> is_test;
  for (int64_t u = 0; u < d.users; ++u) {
    const int64_t lo = d.offsets[size_t(u)], n = d.offsets[size_t(u + 1)] - lo;
    const int64_t n_test =
        std::min<int64_t>(n - 1, int64_t(std::llround(test_fraction * double(n))));
    keys.resize(size_t(n));
    for (int64_t e = 0; e < n; ++e) {
      keys[size_t(e)] = {philox::uniform(seed, kStreamSplit, uint64_t(u), uint64_t(e)), e};
    }
    std::sort(keys.begin(), keys.end());
    is_test.assign(size_t(n), 0);
    for (int64_t e = 0; e < std::max<int64_t>(n_test, 0); ++e)
      is_test[size_t(keys[size_t(e)].second)] = 1;
    for (int64_t e = 0; e < n; ++e) {
      RatingsData& part = is_test[size_t(e)] ? s.test : s.train;
      const size_t src = size_t(lo + e);
      part.item.push_back(d.item[src]);
      part.level.push_back(d.level[src]);
      if (truth) {
        part.truth_mean.push_back(d.truth_mean[src]);
        part.truth_var.push_back(d.truth_var[src]);
      }
    }
    s.train.offsets.push_back(s.train.nnz());
    s.test.offsets.push_back(s.test.nnz());
  }
  return s;
}

RatingsData align_ratings(const RatingsData& d, const std::vector<int64_t>& item_ids,
                          const std::vector<float>& levels, int64_t* dropped) {
  std::unordered_map<int64_t, int32_t> index;
  for (size_t i = 0; i < item_ids.size(); ++i) index.emplace(item_ids[i], int32_t(i));
  std::vector<int32_t> level_map(d.levels.size());
  for (size_t k = 0; k < d.levels.size(); ++k) {
    auto it = std::find(levels.begin(), levels.end(), d.levels[k]);
    if (it == levels.end()) {
      CRBM_FAIL(d.source, ": rating value ", d.levels[k], " is not one of the model's ",
                levels.size(), " levels");
    }
    level_map[k] = int32_t(it - levels.begin());
  }
  RatingsData out;
  out.source = d.source;
  out.users = d.users;
  out.items = int64_t(item_ids.size());
  out.levels = levels;
  out.user_ids = d.user_ids;
  out.item_ids = item_ids;
  int64_t lost = 0;
  const bool truth = !d.truth_mean.empty();
  for (int64_t u = 0; u < d.users; ++u) {
    for (int64_t n = d.offsets[size_t(u)]; n < d.offsets[size_t(u + 1)]; ++n) {
      auto it = index.find(d.item_ids[size_t(d.item[size_t(n)])]);
      if (it == index.end()) {
        ++lost;
        continue;
      }
      out.item.push_back(it->second);
      out.level.push_back(level_map[size_t(d.level[size_t(n)])]);
      if (truth) {
        out.truth_mean.push_back(d.truth_mean[size_t(n)]);
        out.truth_var.push_back(d.truth_var[size_t(n)]);
      }
    }
    out.offsets.push_back(out.nnz());
  }
  if (dropped != nullptr) *dropped = lost;
  return out;
}

HostSparseRows gather_users(const RatingsData& d, const std::vector<int64_t>& users) {
  HostSparseRows r;
  for (int64_t u : users) {
    CRBM_CHECK_THROW(u >= 0 && u < d.users, "user index ", u, " outside [0, ", d.users, ")");
    for (int64_t n = d.offsets[size_t(u)]; n < d.offsets[size_t(u + 1)]; ++n) {
      r.item.push_back(d.item[size_t(n)]);
      r.level.push_back(d.level[size_t(n)]);
    }
    r.offsets.push_back(int32_t(r.item.size()));
  }
  return r;
}

double rmse(const RatingsData& d, const std::vector<float>& predicted) {
  CRBM_CHECK_THROW(int64_t(predicted.size()) == d.nnz(), predicted.size(), " predictions for ",
                   d.nnz(), " ratings");
  if (d.nnz() == 0) return 0.0;
  double s = 0;
  for (int64_t n = 0; n < d.nnz(); ++n) {
    const double e = double(predicted[size_t(n)]) - double(d.value(n));
    s += e * e;
  }
  return std::sqrt(s / double(d.nnz()));
}

namespace {
double global_mean(const RatingsData& train) {
  double s = 0;
  for (int64_t n = 0; n < train.nnz(); ++n) s += train.value(n);
  return train.nnz() > 0 ? s / double(train.nnz()) : 0.0;
}
}  // namespace

std::vector<float> item_mean_predictions(const RatingsData& train, const RatingsData& test) {
  const double mu = global_mean(train);
  std::vector<double> sum(size_t(train.items), 0.0), count(size_t(train.items), 0.0);
  for (int64_t n = 0; n < train.nnz(); ++n) {
    sum[size_t(train.item[size_t(n)])] += train.value(n);
    count[size_t(train.item[size_t(n)])] += 1;
  }
  std::vector<float> out(size_t(test.nnz()));
  for (int64_t n = 0; n < test.nnz(); ++n) {
    const size_t i = size_t(test.item[size_t(n)]);
    out[size_t(n)] = float(count[i] > 0 ? sum[i] / count[i] : mu);
  }
  return out;
}

std::vector<float> bias_predictions(const RatingsData& train, const RatingsData& test,
                                    double lambda, int iterations) {
  CRBM_CHECK_THROW(train.users == test.users, "bias baseline: train and test users differ");
  const double mu = global_mean(train);
  std::vector<double> bu(size_t(train.users), 0.0), bi(size_t(train.items), 0.0);
  std::vector<double> sum, cnt;
  for (int it = 0; it < iterations; ++it) {
    sum.assign(size_t(train.items), 0.0);
    cnt.assign(size_t(train.items), 0.0);
    for (int64_t u = 0; u < train.users; ++u) {
      for (int64_t n = train.offsets[size_t(u)]; n < train.offsets[size_t(u + 1)]; ++n) {
        sum[size_t(train.item[size_t(n)])] += train.value(n) - mu - bu[size_t(u)];
        cnt[size_t(train.item[size_t(n)])] += 1;
      }
    }
    for (int64_t i = 0; i < train.items; ++i)
      bi[size_t(i)] = sum[size_t(i)] / (lambda + cnt[size_t(i)]);
    for (int64_t u = 0; u < train.users; ++u) {
      double s = 0, c = 0;
      for (int64_t n = train.offsets[size_t(u)]; n < train.offsets[size_t(u + 1)]; ++n) {
        s += train.value(n) - mu - bi[size_t(train.item[size_t(n)])];
        c += 1;
      }
      bu[size_t(u)] = s / (lambda + c);
    }
  }
  const float lo = train.levels.front(), hi = train.levels.back();
  std::vector<float> out(size_t(test.nnz()));
  for (int64_t u = 0; u < test.users; ++u) {
    for (int64_t n = test.offsets[size_t(u)]; n < test.offsets[size_t(u + 1)]; ++n) {
      const double p = mu + bu[size_t(u)] + bi[size_t(test.item[size_t(n)])];
      out[size_t(n)] = std::clamp(float(p), lo, hi);
    }
  }
  return out;
}

}  // namespace crbm
