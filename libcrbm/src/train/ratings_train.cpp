// CD-k for the ratings RBM (ratings.hpp). One update on a batch of B users:
//   v0 = one-hot data [nnz, K], h0 = P(h | v0)                        positive phase
//   k times: h ~ Bernoulli(h_prev), p = P(v | h) on the rated entries,
//            v = one-hot draw from p (the last step keeps p unless
//            sample_negative_visible), h_prev = P(h | v)               negative phase
//   dW[i,k,:] = (sum_n v0[n,k] h0[u_n,:] - v[n,k] hk[u_n,:]) / B over the entries of item i
//   db[i,k] likewise without h; dc = sum_u (h0 - hk) / B; conditional D: dD[i,:] =
//   sum over users who rated i of (h0 - hk) / B.
// k follows cd_schedule (the paper raises it from 1 to 3, 5, 9 as learning progresses).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "crbm/ratings.hpp"
#include "crbm/train.hpp"
#include "philox.cuh"
#include "rng_streams.hpp"
#include "train/config_check.hpp"

namespace crbm {
namespace {

using namespace rng_stream::ratings;  // Philox stream ids (rng_streams.hpp)
constexpr int kMaxCdK = 1000;
constexpr int64_t kRmseUsers = 1000;  // users in the per-epoch training RMSE

}  // namespace

std::vector<CdStage> parse_cd_schedule(const std::string& text) {
  std::vector<CdStage> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string piece = text.substr(pos, comma - pos);
    pos = comma + 1;
    CdStage s;
    const size_t at = piece.find('@');
    try {
      size_t used = 0;
      s.k = std::stoi(piece.substr(0, at), &used);
      if (used != (at == std::string::npos ? piece.size() : at)) throw std::invalid_argument("");
      s.from_epoch = 1;
      if (at != std::string::npos) {
        s.from_epoch = std::stoi(piece.substr(at + 1), &used);
        if (used != piece.size() - at - 1) throw std::invalid_argument("");
      }
    } catch (const std::exception&) {
      CRBM_FAIL("CD schedule '", text, "': '", piece,
                "' is not K or K@EPOCH (e.g. 1,3@20,5@30,9@40)");
    }
    if (s.k < 1 || s.k > kMaxCdK || s.from_epoch < 1) {
      CRBM_FAIL("CD schedule '", text, "': '", piece, "' needs 1 <= K <= ", kMaxCdK,
                " and EPOCH >= 1");
    }
    if (!out.empty() && s.from_epoch <= out.back().from_epoch) {
      CRBM_FAIL("CD schedule '", text, "': epochs must increase ('", piece, "')");
    }
    out.push_back(s);
    if (comma == text.size()) break;
  }
  return out;
}

int RatingsTrainConfig::cd_k_at(int epoch) const {
  int k = 1;
  for (const CdStage& s : cd_schedule) {
    if (epoch >= s.from_epoch) k = s.k;
  }
  return k;
}

void RatingsTrainConfig::validate() const {
  validate_sgd("ratings RBM training");
  const detail::ConfigCheck check("ratings RBM training");
  check.fail_if(sparsity_target != 0.0f, "sparsity_target", sparsity_target,
                "is not supported by the ratings RBM (use 0)");
  for (size_t s = 0; s < cd_schedule.size(); ++s) {
    check.fail_if(cd_schedule[s].k < 1 || cd_schedule[s].k > kMaxCdK, "cd_schedule.k",
                  cd_schedule[s].k, "must be in [1, 1000]");
    check.fail_if(s > 0 && cd_schedule[s].from_epoch <= cd_schedule[s - 1].from_epoch,
                  "cd_schedule.from_epoch", cd_schedule[s].from_epoch, "must increase");
  }
}

std::string RatingsTrainConfig::to_json() const {
  nlohmann::ordered_json stages = nlohmann::ordered_json::array();
  for (const CdStage& s : cd_schedule) stages.push_back({{"from_epoch", s.from_epoch}, {"k", s.k}});
  return fmt::format("{{{},\"cd_schedule\":{},\"sample_negative_visible\":{}}}", sgd_json_fields(),
                     stages.dump(), sample_negative_visible ? "true" : "false");
}

RatingsCdTrainer::RatingsCdTrainer(RatingsRbm& model, RatingsTrainConfig config)
    : m_(model), config_(std::move(config)), be_(model.backend()) {
  config_.validate();
  const int64_t ik = model.items() * model.levels(), h = model.hidden();
  step_ = RbmStep(be_, ik, h, ik, h);
  if (model.conditional()) {
    gd_ = Matrix(be_, model.items(), h);
    vd_ = Matrix(be_, model.items(), h);
    be_.fill(vd_, 0.0f);
  }
}

void RatingsCdTrainer::ensure_buffers(int64_t users, int64_t nnz) {
  const int64_t nk = m_.levels(), nh = m_.hidden();
  if (v0_.rows() < nnz) {
    v0_ = Matrix(be_, nnz, nk);
    vk_ = Matrix(be_, nnz, nk);
    pk_ = Matrix(be_, nnz, nk);
  }
  if (h0_.rows() < users) {
    h0_ = Matrix(be_, users, nh);
    hs_ = Matrix(be_, users, nh);
    hk_ = Matrix(be_, users, nh);
  }
}

void RatingsCdTrainer::compute_gradient(const SparseRows& rows, const SparseRows* rated, int k,
                                        uint64_t step) {
  const int64_t b = rows.users(), nnz = rows.nnz(), nk = m_.levels();
  CRBM_CHECK_THROW(k >= 1 && k <= kMaxCdK, "CD-", k, " (k must be in [1, ", kMaxCdK, "])");
  ensure_buffers(b, nnz);
  MatRef v0 = v0_.rows_view(0, nnz), vk = vk_.rows_view(0, nnz), pk = pk_.rows_view(0, nnz);
  MatRef h0 = h0_.rows_view(0, b), hs = hs_.rows_view(0, b), hk = hk_.rows_view(0, b);
  const SparseRows* r = m_.conditional() ? rated : nullptr;
  m_.ops().one_hot(rows, v0);
  m_.hidden_given_visible(rows, v0, r, h0);
  CMatRef hprev = h0, vneg = vk;
  for (int s = 0; s < k; ++s) {
    const uint64_t key_step = step * uint64_t(kMaxCdK) + uint64_t(s);
    be_.sample_bernoulli(hprev, hs, RngKey{config_.seed, kStreamHidden, key_step});
    m_.visible_given_hidden(rows, hs, pk);
    if (s + 1 < k || config_.sample_negative_visible) {
      be_.sample_softmax_groups(pk, nk, vk, RngKey{config_.seed, kStreamVisible, key_step});
      vneg = vk;
    } else {
      vneg = pk;
    }
    m_.hidden_given_visible(rows, vneg, r, hk);
    hprev = hk;
  }
  const float inv = b > 0 ? 1.0f / float(b) : 0.0f;
  Matrix &gw = step_.grad_w(), &gb = step_.grad_visible(), &gc = step_.grad_hidden();
  be_.fill(gw, 0.0f);
  be_.fill(gb, 0.0f);
  m_.ops().stats(rows, v0, h0, inv, gw, gb);
  m_.ops().stats(rows, vneg, hk, -inv, gw, gb);
  be_.column_sums(h0, inv, 0.0f, gc);
  be_.column_sums(hk, -inv, 1.0f, gc);
  if (m_.conditional()) {
    be_.fill(gd_, 0.0f);
    if (r != nullptr && r->nnz() > 0) {
      const CMatRef ones = m_.rated_values(r->nnz());
      m_.ops().stats(*r, ones, h0, inv, gd_, MatRef{});
      m_.ops().stats(*r, ones, hk, -inv, gd_, MatRef{});
    }
  }
}

RatingsEpochStats RatingsCdTrainer::train_epoch(const RatingsData& train,
                                                const RatingsData* rated) {
  CRBM_CHECK_THROW(train.items == m_.items() && train.num_levels() == m_.levels(),
                   "ratings training: the data has ", train.items, " items and ",
                   train.num_levels(), " levels, the model ", m_.items(), " and ", m_.levels());
  if (train.nnz() == 0) CRBM_FAIL(train.source, ": no training ratings");
  const RatingsData& pattern = rated != nullptr ? *rated : train;
  CRBM_CHECK_THROW(pattern.users == train.users, "ratings training: the rated-items set has ",
                   pattern.users, " users, the training set ", train.users);
  const auto start = std::chrono::steady_clock::now();
  RatingsEpochStats st;
  st.learning_rate = config_.learning_rate_at(epoch_, updates_);
  st.momentum = config_.momentum_at(epoch_);
  st.cd_k = config_.cd_k_at(epoch_ + 1);

  // A seeded random order of the users (Philox keys, sorted).
  std::vector<std::pair<uint32_t, int64_t>> keys(static_cast<size_t>(train.users));
  for (int64_t u = 0; u < train.users; ++u) {
    const philox::Words4 w =
        philox::block(config_.seed, kStreamShuffle, uint64_t(epoch_), uint64_t(u));
    keys[size_t(u)] = {w.x[0], u};
  }
  std::sort(keys.begin(), keys.end());
  // The epoch's minibatches (users with no ratings in the batch are skipped) are gathered
  // on the host and uploaded once, in one buffer; the buffers of the largest batch are
  // sized before the first update: no allocation or transfer inside an update.
  std::vector<HostSparseRows> host_batches, host_patterns;
  int64_t max_users = 0, max_nnz = 0;
  for (int64_t first = 0; first < train.users; first += config_.batch_size) {
    std::vector<int64_t> users;
    for (int64_t e = first; e < std::min(train.users, first + config_.batch_size); ++e) {
      users.push_back(keys[size_t(e)].second);
    }
    HostSparseRows host = gather_users(train, users);
    if (host.nnz() == 0) continue;
    max_users = std::max(max_users, host.users());
    max_nnz = std::max(max_nnz, host.nnz());
    host_batches.push_back(std::move(host));
    if (m_.conditional()) {
      HostSparseRows p = gather_users(pattern, users);
      p.level.clear();
      host_patterns.push_back(std::move(p));
    }
  }
  const SparseBatches batches = m_.ops().upload_batches(host_batches, m_.items(), m_.levels());
  const SparseBatches patterns = m_.ops().upload_batches(host_patterns, m_.items(), 1);
  ensure_buffers(max_users, max_nnz);
  for (size_t batch = 0; batch < batches.batches.size(); ++batch) {
    const SparseRows& rows = batches.batches[batch];
    compute_gradient(rows, m_.conditional() ? &patterns.batches[batch] : nullptr, st.cd_k,
                     uint64_t(updates_));
    step_.apply(config_, epoch_, updates_, {m_.weights(), m_.visible_bias(), m_.hidden_bias()});
    if (m_.conditional()) {
      momentum_step(be_, m_.rated_weights(), vd_, gd_, step_rates(config_, epoch_, updates_),
                    config_, Decay::weights);
    }
    ++updates_;
  }
  be_.synchronize();
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  st.ratings_per_second = st.seconds > 0 ? double(train.nnz()) / st.seconds : 0.0;
  if (!m_.parameters_finite()) {
    throw divergence_error("ratings RBM training", epoch_, st.learning_rate);
  }
  // Reconstruction RMSE on (up to) the first kRmseUsers users: each user's ratings
  // predicted from themselves by the mean-field rule.
  {
    std::vector<int64_t> users;
    for (int64_t u = 0; u < std::min(train.users, kRmseUsers); ++u) users.push_back(u);
    const HostSparseRows sub = gather_users(train, users);
    const std::vector<float> p = m_.predict(sub, sub);
    double s = 0;
    for (int64_t n = 0; n < sub.nnz(); ++n) {
      const double e = p[size_t(n)] - train.levels[size_t(sub.level[size_t(n)])];
      s += e * e;
    }
    st.train_rmse = sub.nnz() > 0 ? std::sqrt(s / double(sub.nnz())) : 0.0;
  }
  ++epoch_;
  st.epoch = epoch_;
  st.updates = updates_;
  return st;
}

}  // namespace crbm
