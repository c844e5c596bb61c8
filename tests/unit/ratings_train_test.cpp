// The ratings RBM on the CPU: CD training on builtin:ratings lowers the held-out RMSE
// below the item-mean baseline (plain and conditional), checkpoints round-trip, top-N,
// the CD-k schedule and the input checks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <set>

#include "crbm/ratings.hpp"
#include "crbm/safetensors.hpp"
#include "support/temp_dir.hpp"

namespace crbm {
namespace {

const testing::BuildDirFiles kFiles("ratings_train_test");

struct Fitted {
  double first = 0, last = 0, item_mean = 0;
};

Fitted fit(bool conditional, int epochs) {
  auto be = make_cpu_backend(1);
  const RatingsData d = load_ratings("builtin:ratings:1000x100");
  const RatingsSplit s = split_ratings(d, 0.2, 1);
  RatingsRbm m(*be, d.items, d.levels, 20, conditional);
  m.init_random(3, 0.01f, &s.train);
  RatingsTrainConfig cfg;
  cfg.epochs = epochs;
  cfg.batch_size = 50;
  cfg.cd_schedule = {{1, 1}, {epochs / 2 + 1, 3}};
  RatingsCdTrainer trainer(m, cfg);
  // The conditional model sees every item the user rated (train + test).
  Fitted f;
  f.item_mean = rmse(s.test, item_mean_predictions(s.train, s.test));
  for (int e = 0; e < epochs; ++e) {
    const RatingsEpochStats st = trainer.train_epoch(s.train, conditional ? &d : nullptr);
    EXPECT_EQ(st.epoch, e + 1);
    EXPECT_EQ(st.cd_k, e + 1 > epochs / 2 ? 3 : 1);
    EXPECT_GT(st.ratings_per_second, 0);
    const double r = rmse(s.test, m.predict_split(s.train, s.test));
    if (e == 0) f.first = r;
    f.last = r;
  }
  return f;
}

TEST(RatingsTrain, HeldOutRmseBeatsItemMeans) {
  const Fitted f = fit(false, 10);
  EXPECT_LT(f.last, f.first);
  EXPECT_LT(f.last, f.item_mean) << "first epoch " << f.first;
}

TEST(RatingsTrain, ConditionalHeldOutRmseBeatsItemMeans) {
  const Fitted f = fit(true, 10);
  EXPECT_LT(f.last, f.first);
  EXPECT_LT(f.last, f.item_mean) << "first epoch " << f.first;
}

TEST(RatingsModel, CheckpointRoundTripAndTopN) {
  auto be = make_cpu_backend(1);
  const RatingsData d = load_ratings("builtin:ratings:50x30");
  for (bool conditional : {false, true}) {
    RatingsRbm m(*be, d.items, d.levels, 4, conditional);
    m.init_random(9, 0.5f, &d);
    if (conditional) be->fill_normal(m.rated_weights(), 0.0f, 0.5f, RngKey{1, 2, 3});
    const std::string path = kFiles.path(conditional ? "cond.safetensors" : "plain.safetensors");
    save_ratings_rbm(path, m, d.item_ids, {{"note", "x"}});
    std::vector<int64_t> ids;
    std::map<std::string, std::string> meta;
    const RatingsRbm back = load_ratings_rbm(*be, path, &ids, &meta);
    EXPECT_EQ(ids, d.item_ids);
    EXPECT_EQ(meta.at("model"), "ratings_rbm");
    EXPECT_EQ(meta.at("note"), "x");
    EXPECT_EQ(back.conditional(), conditional);
    EXPECT_EQ(back.level_values(), d.levels);
    const std::vector<int64_t> users{0, 1, 2};
    const HostSparseRows known = gather_users(d, users);
    EXPECT_EQ(m.predict(known, known), back.predict(known, known));
    const SafetensorsFile f = load_safetensors(path);
    EXPECT_EQ(f.tensors.at("weights").shape, (std::vector<int64_t>{d.items, 5, 4}));
    EXPECT_EQ(f.tensors.count("rated_weights"), conditional ? 1u : 0u);

    // top-N: unrated items only, best first, scores equal to predict().
    const HostSparseRows one = gather_users(d, {0});
    const auto top = m.top_n(one, 5);
    ASSERT_EQ(top.size(), 5u);
    const std::set<int32_t> rated(one.item.begin(), one.item.end());
    HostSparseRows query;
    for (const auto& [item, score] : top) {
      EXPECT_EQ(rated.count(item), 0u);
      query.item.push_back(item);
      query.level.push_back(0);
    }
    query.offsets = {0, int32_t(query.item.size())};
    for (size_t e = 1; e < top.size(); ++e) EXPECT_GE(top[e - 1].second, top[e].second);
    if (!conditional) {  // the conditional rated set differs (all unrated items vs these 5)
      const std::vector<float> p = m.predict(one, query);
      for (size_t e = 0; e < top.size(); ++e) EXPECT_FLOAT_EQ(p[e], top[e].second);
    }
  }
  // Not a ratings model.
  SafetensorsFile other = new_checkpoint("rbm");
  other.tensors["weights"] = HostTensor({2, 2});
  save_safetensors(kFiles.path("other.safetensors"), other);
  EXPECT_THROW(load_ratings_rbm(*be, kFiles.path("other.safetensors")), Error);
}

TEST(RatingsTrain, CdScheduleParsing) {
  const std::vector<CdStage> s = parse_cd_schedule("1,3@20,5@30,9@40");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[1].from_epoch, 20);
  EXPECT_EQ(s[3].k, 9);
  RatingsTrainConfig c;
  c.cd_schedule = s;
  EXPECT_EQ(c.cd_k_at(1), 1);
  EXPECT_EQ(c.cd_k_at(19), 1);
  EXPECT_EQ(c.cd_k_at(20), 3);
  EXPECT_EQ(c.cd_k_at(45), 9);
  EXPECT_EQ(parse_cd_schedule("2").front().k, 2);
  for (const char* bad : {"", "0", "x", "3@", "1,3@5,5@5", "2@0", "1,,2"}) {
    EXPECT_THROW(parse_cd_schedule(bad), Error) << bad;
  }
  c.sparsity_target = 0.1f;
  EXPECT_THROW(c.validate(), Error);
  c.sparsity_target = 0;
  c.learning_rate = -1;
  EXPECT_THROW(c.validate(), Error);
}

TEST(RatingsOps, UploadAndShapeChecks) {
  auto be = make_cpu_backend(1);
  auto ops = make_ratings_ops(*be);
  HostSparseRows r;
  r.item = {0, 5};
  r.level = {0, 1};
  r.offsets = {0, 2};
  EXPECT_THROW(ops->upload(r, 5, 3), Error);  // item 5 of 5
  r.item = {0, 4};
  r.level = {0, 3};
  EXPECT_THROW(ops->upload(r, 5, 3), Error);  // level 3 of 3
  r.level = {0, 2};
  r.offsets = {0, 1};
  EXPECT_THROW(ops->upload(r, 5, 3), Error);  // offsets end before nnz
  r.offsets = {0, 2};
  const SparseRows rows = ops->upload(r, 5, 3);
  EXPECT_EQ(rows.users(), 1);
  EXPECT_EQ(rows.nnz(), 2);
  Matrix v(*be, 2, 3), w(*be, 15, 4), h(*be, 1, 4), wrong(*be, 2, 4);
  ops->one_hot(rows, v);
  EXPECT_EQ(v.download().data, (std::vector<float>{1, 0, 0, 0, 0, 1}));
  be->fill(w, 0.1f);
  be->fill(h, 0.0f);
  EXPECT_NO_THROW(ops->up(rows, v, w, h));
  EXPECT_THROW(ops->up(rows, v, w, wrong), Error);
  Matrix p(*be, 2, 3);
  EXPECT_THROW(ops->down(rows, wrong, w, CMatRef{}, p), Error);
  EXPECT_NO_THROW(ops->down(rows, h, w, CMatRef{}, p));
  for (float x : p.download().data) EXPECT_NEAR(x, 1.0f / 3.0f, 1e-6);
  Matrix gw(*be, 14, 4), gb(*be, 1, 15);
  EXPECT_THROW(ops->stats(rows, v, h, 1.0f, gw, gb), Error);
}

}  // namespace
}  // namespace crbm
