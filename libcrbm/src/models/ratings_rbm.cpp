// The ratings RBM (ratings.hpp): conditionals over the sparse rated entries of a batch of
// users (RatingsOps), the paper's mean-field prediction, top-N, checkpoints.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "crbm/ratings.hpp"
#include "crbm/safetensors.hpp"
#include "ratings_math.cuh"
#include "rng_streams.hpp"

namespace crbm {
namespace {

using namespace rng_stream::ratings;  // Philox stream ids (rng_streams.hpp)

// Per user, the union of the items of `a` and `b` (pattern only): the conditional
// model's "rated" input when predicting `b` from `a`.
HostSparseRows union_pattern(const HostSparseRows& a, const HostSparseRows& b) {
  HostSparseRows r;
  for (int64_t u = 0; u < a.users(); ++u) {
    std::vector<int32_t> items(a.item.begin() + a.offsets[size_t(u)],
                               a.item.begin() + a.offsets[size_t(u + 1)]);
    items.insert(items.end(), b.item.begin() + b.offsets[size_t(u)],
                 b.item.begin() + b.offsets[size_t(u + 1)]);
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    r.item.insert(r.item.end(), items.begin(), items.end());
    r.offsets.push_back(int32_t(r.item.size()));
  }
  return r;
}

}  // namespace

RatingsRbm::RatingsRbm(Backend& backend, int64_t items, std::vector<float> levels, int64_t hidden,
                       bool conditional)
    : backend_(&backend),
      ops_(make_ratings_ops(backend)),
      items_(items),
      hidden_(hidden),
      level_values_(std::move(levels)),
      conditional_(conditional) {
  const int64_t k = int64_t(level_values_.size());
  if (items < 1) CRBM_FAIL("ratings RBM: items = ", items, " (must be >= 1)");
  if (hidden < 1) CRBM_FAIL("ratings RBM: hidden = ", hidden, " (must be >= 1)");
  if (k < 2 || k > ratings_math::kMaxLevels) {
    CRBM_FAIL("ratings RBM: ", k, " rating levels (must be 2..", ratings_math::kMaxLevels, ")");
  }
  weights_ = Matrix(backend, items * k, hidden);
  visible_bias_ = Matrix(backend, 1, items * k);
  hidden_bias_ = Matrix(backend, 1, hidden);
  for (Matrix* m : {&weights_, &visible_bias_, &hidden_bias_}) backend.fill(*m, 0.0f);
  if (conditional) {
    rated_weights_ = Matrix(backend, items, hidden);
    backend.fill(rated_weights_, 0.0f);
  }
}

void RatingsRbm::init_random(uint64_t seed, float stddev, const RatingsData* train) {
  backend_->fill_normal(weights_, 0.0f, stddev, RngKey{seed, kStreamInit, 0});
  backend_->fill(hidden_bias_, 0.0f);
  if (conditional_) backend_->fill(rated_weights_, 0.0f);
  const int64_t k = levels();
  HostTensor b({1, items_ * k}, 0.0f);
  if (train != nullptr) {
    CRBM_CHECK_THROW(train->items == items_ && train->num_levels() == k,
                     "init_random: the data has ", train->items, " items and ", train->num_levels(),
                     " levels, the model ", items_, " and ", k);
    std::vector<double> count(size_t(items_ * k), 0.0);
    for (int64_t n = 0; n < train->nnz(); ++n) {
      count[size_t(int64_t(train->item[size_t(n)]) * k + train->level[size_t(n)])] += 1;
    }
    for (int64_t i = 0; i < items_; ++i) {
      double total = 0;
      for (int64_t l = 0; l < k; ++l) total += count[size_t(i * k + l)];
      for (int64_t l = 0; l < k; ++l) {
        b.data[size_t(i * k + l)] =
            float(std::log((count[size_t(i * k + l)] + 1.0) / (total + double(k))));
      }
    }
  }
  visible_bias_.upload(b);
}

void RatingsRbm::hidden_given_visible(const SparseRows& rows, CMatRef values,
                                      const SparseRows* rated, MatRef hidden) const {
  backend_->fill(hidden, 0.0f);
  ops_->up(rows, values, weights_, hidden);
  if (conditional_ && rated != nullptr && rated->nnz() > 0) {
    ops_->up(*rated, rated_values(rated->nnz()), rated_weights_, hidden);
  }
  backend_->scale_add_activate(hidden, 1.0f, CMatRef{}, hidden_bias_, Activation::sigmoid);
}

CMatRef RatingsRbm::rated_values(int64_t n) const {
  if (ones_.rows() < n) {
    ones_ = Matrix(*backend_, n, 1);
    backend_->fill(ones_, 1.0f);
  }
  return ones_.rows_view(0, n);
}

void RatingsRbm::visible_given_hidden(const SparseRows& rows, CMatRef hidden, MatRef probs) const {
  ops_->down(rows, hidden, weights_, visible_bias_, probs);
}

std::vector<float> RatingsRbm::predict(const HostSparseRows& known,
                                       const HostSparseRows& query) const {
  CRBM_CHECK_THROW(known.users() == query.users(), "predict: ", known.users(), " users known, ",
                   query.users(), " queried");
  const int64_t k = levels(), users = known.users();
  if (query.nnz() == 0) return {};
  const SparseRows known_rows = ops_->upload(known, items_, k);
  HostSparseRows query_pattern = query;
  query_pattern.level.clear();  // the queried levels are unknown (and unused)
  const SparseRows query_rows = ops_->upload(query_pattern, items_, k);
  SparseRows rated;
  if (conditional_) rated = ops_->upload(union_pattern(known, query), items_, 1);
  Matrix v0(*backend_, known.nnz(), k), p(*backend_, users, hidden_),
      probs(*backend_, query.nnz(), k);
  if (known.nnz() > 0) ops_->one_hot(known_rows, v0);
  hidden_given_visible(known_rows, v0, conditional_ ? &rated : nullptr, p);
  visible_given_hidden(query_rows, p, probs);
  const HostTensor q = probs.download();
  std::vector<float> out(size_t(query.nnz()));
  for (int64_t n = 0; n < query.nnz(); ++n) {
    out[size_t(n)] = ratings_math::expected_rating(q.data.data() + n * k, level_values_.data(), k);
  }
  return out;
}

std::vector<float> RatingsRbm::predict_split(const RatingsData& train, const RatingsData& test,
                                             int64_t batch) const {
  CRBM_CHECK_THROW(train.users == test.users && batch > 0, "predict_split: ", train.users,
                   " train users, ", test.users, " test users, batch ", batch);
  std::vector<float> out;
  out.reserve(size_t(test.nnz()));
  for (int64_t first = 0; first < train.users; first += batch) {
    std::vector<int64_t> users;
    for (int64_t u = first; u < std::min(train.users, first + batch); ++u) users.push_back(u);
    const std::vector<float> p = predict(gather_users(train, users), gather_users(test, users));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

std::vector<std::pair<int32_t, float>> RatingsRbm::top_n(const HostSparseRows& known,
                                                         int64_t n) const {
  CRBM_CHECK_THROW(known.users() == 1, "top_n takes one user, got ", known.users());
  std::vector<char> rated(size_t(items_), 0);
  for (int32_t i : known.item) rated[size_t(i)] = 1;
  HostSparseRows query;
  for (int32_t i = 0; i < items_; ++i) {
    if (!rated[size_t(i)]) query.item.push_back(i);
  }
  query.level.assign(query.item.size(), 0);
  query.offsets.push_back(int32_t(query.item.size()));
  const std::vector<float> p = predict(known, query);
  std::vector<std::pair<int32_t, float>> scored;
  for (size_t e = 0; e < p.size(); ++e) scored.emplace_back(query.item[e], p[e]);
  const size_t keep = std::min(scored.size(), size_t(std::max<int64_t>(n, 0)));
  std::partial_sort(scored.begin(), scored.begin() + long(keep), scored.end(),
                    [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  scored.resize(keep);
  return scored;
}

bool RatingsRbm::parameters_finite() const {
  bool ok = backend_->all_finite(weights_) && backend_->all_finite(visible_bias_) &&
            backend_->all_finite(hidden_bias_);
  if (conditional_) ok = ok && backend_->all_finite(rated_weights_);
  return ok;
}

// ---- checkpoints ----

void save_ratings_rbm(const std::string& path, const RatingsRbm& m,
                      const std::vector<int64_t>& item_ids,
                      const std::map<std::string, std::string>& extra) {
  CRBM_CHECK_THROW(item_ids.empty() || int64_t(item_ids.size()) == m.items(),
                   "save_ratings_rbm: ", item_ids.size(), " item ids for ", m.items(), " items");
  SafetensorsFile f = new_checkpoint("ratings_rbm", extra);
  const int64_t i = m.items(), k = m.levels(), h = m.hidden();
  f.tensors["weights"] = m.weights().download({i, k, h});
  f.tensors["visible_bias"] = m.visible_bias().download({i, k});
  f.tensors["hidden_bias"] = m.hidden_bias().download({h});
  HostTensor values({k});
  values.data = m.level_values();
  f.tensors["rating_values"] = values;
  if (m.conditional()) f.tensors["rated_weights"] = m.rated_weights().download({i, h});
  f.metadata["items"] = std::to_string(i);
  f.metadata["levels"] = std::to_string(k);
  f.metadata["hidden"] = std::to_string(h);
  f.metadata["conditional"] = m.conditional() ? "true" : "false";
  f.metadata["visible_units"] = "softmax";
  f.metadata["item_ids"] = nlohmann::json(item_ids).dump();
  save_safetensors(path, f);
}

RatingsRbm load_ratings_rbm(Backend& backend, const std::string& path,
                            std::vector<int64_t>* item_ids,
                            std::map<std::string, std::string>* metadata) {
  const SafetensorsFile f = load_checkpoint(path);
  require_model(f, "ratings_rbm", "a ratings RBM", path);
  const HostTensor& w = require_tensor(f, "weights", {-1, -1, -1}, path);
  const int64_t i = w.dim(0), k = w.dim(1), h = w.dim(2);
  const HostTensor& values = require_tensor(f, "rating_values", {k}, path);
  const bool conditional = f.tensors.count("rated_weights") > 0;
  RatingsRbm m(backend, i, values.data, h, conditional);
  m.weights().upload(w);
  m.visible_bias().upload(require_tensor(f, "visible_bias", {i, k}, path));
  m.hidden_bias().upload(require_tensor(f, "hidden_bias", {h}, path));
  if (conditional) m.rated_weights().upload(require_tensor(f, "rated_weights", {i, h}, path));
  if (item_ids != nullptr) {
    item_ids->clear();
    auto it = f.metadata.find("item_ids");
    if (it != f.metadata.end()) {
      try {
        *item_ids = nlohmann::json::parse(it->second).get<std::vector<int64_t>>();
      } catch (const std::exception&) {
        CRBM_FAIL(path, ": metadata item_ids is not a JSON array of integers");
      }
      if (!item_ids->empty() && int64_t(item_ids->size()) != i) {
        CRBM_FAIL(path, ": metadata item_ids has ", item_ids->size(), " ids for ", i, " items");
      }
    }
  }
  if (metadata != nullptr) *metadata = f.metadata;
  return m;
}

}  // namespace crbm
