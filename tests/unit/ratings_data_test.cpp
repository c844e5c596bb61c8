// Ratings data: the three MovieLens text formats, their error messages (file:line and
// what is wrong), builtin:ratings (seeded, with the generator's truth), the per-user
// split, alignment to a model's items, RMSE and the two baselines.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "crbm/ratings.hpp"
#include "support/temp_dir.hpp"

namespace crbm {
namespace {

const testing::BuildDirFiles kFiles("ratings_test");

using testing::write_file;

std::string error_of(const std::string& spec) {
  try {
    load_ratings(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_small_set(const RatingsData& d) {
  ASSERT_EQ(d.users, 2);
  ASSERT_EQ(d.items, 3);
  ASSERT_EQ(d.nnz(), 4);
  EXPECT_EQ(d.user_ids, (std::vector<int64_t>{7, 3}));
  EXPECT_EQ(d.item_ids, (std::vector<int64_t>{10, 20, 30}));
  EXPECT_EQ(d.offsets, (std::vector<int64_t>{0, 3, 4}));
  ASSERT_EQ(d.num_levels(), 3);
  EXPECT_EQ(d.levels, (std::vector<float>{1, 4, 5}));
  // user 7: (10, 5), (20, 1), (30, 4); user 3: (20, 4)
  EXPECT_EQ(d.item, (std::vector<int32_t>{0, 1, 2, 1}));
  EXPECT_FLOAT_EQ(d.value(0), 5);
  EXPECT_FLOAT_EQ(d.value(1), 1);
  EXPECT_FLOAT_EQ(d.value(2), 4);
  EXPECT_FLOAT_EQ(d.value(3), 4);
}

// The small set, written as `text` to the file `name`, loads as expect_small_set wants.
void expect_small_set_file(const std::string& name, const std::string& text) {
  const std::string p = kFiles.path(name);
  write_file(p, text);
  expect_small_set(load_ratings(p));
}

TEST(RatingsLoad, UDataTabSeparated) {
  expect_small_set_file("u.data",
                        "7\t10\t5\t881250949\n7\t20\t1\t881250950\n3\t20\t4\t1\n\n7 30 4 2\n");
}

TEST(RatingsLoad, CsvWithHeader) {
  expect_small_set_file(
      "ratings.csv",
      "userId,movieId,rating,timestamp\r\n7,10,5.0,1\r\n7,20,1.0,2\r\n3,20,4.0,3\r\n"
      "7,30,4.0,4\r\n");
}

TEST(RatingsLoad, DatDoubleColon) {
  expect_small_set_file(
      "ratings.dat",
      "7::10::5::978300760\n7::20::1::978302109\n3::20::4::978301968\n7::30::4::1\n");
}

TEST(RatingsLoad, HalfStarLevels) {
  const std::string p = kFiles.path("half.csv");
  write_file(p, "userId,movieId,rating,timestamp\n1,1,0.5,1\n1,2,3.5,1\n2,1,5.0,1\n");
  const RatingsData d = load_ratings(p);
  EXPECT_EQ(d.levels, (std::vector<float>{0.5f, 3.5f, 5.0f}));
}

TEST(RatingsLoad, MalformedLinesNameFileAndLine) {
  struct Case {
    const char* file;
    const char* text;
    const char* at;    // the error names "<path><at>"
    const char* what;  // and, if not empty, this
  };
  const Case cases[] = {
      {"bad.data", "1\t1\t5\t0\n1\t2\n", ":2:", "2 field(s)"},
      {"bad.data", "1\t1\t5\t0\n1\t2\tfive\t0\n", ":2: rating 'five' is not a finite number", ""},
      {"bad.data", "1\t1\t5\t0\nx\t2\t3\t0\n", ":2: user id 'x'", ""},
      {"bad.data", "1\t1\t5\t0\n1\t-2\t3\t0\n", ":2: item id '-2'", ""},
      {"bad.data", "1\t1\t5\t0\n\n1\t1\t3\t0\n", ":3: user 1 rated item 1 again (first on line 1)",
       ""},
      {"bad.data", "1\t1\tnan\t0\n", ":1: rating 'nan'", ""},
      {"bad.data", "", ": no ratings", ""},
      {"bad.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n1,3,3,4,5\n",
       ":3: expected 'user,item,rating,timestamp'", ""},
      {"bad.dat", "1::2::3::4\n1::3:3::4\n", ":2:", ""},
  };
  for (const Case& c : cases) {
    const std::string p = kFiles.path(c.file);
    write_file(p, c.text);
    const std::string e = error_of(p);
    EXPECT_NE(e.find(p + c.at), std::string::npos) << e;
    if (*c.what != '\0') {
      EXPECT_NE(e.find(c.what), std::string::npos) << e;
    }
  }

  EXPECT_NE(error_of(kFiles.path("missing.data")).find("cannot open"), std::string::npos);
  EXPECT_NE(error_of("builtin:nope").find("builtin:ratings"), std::string::npos);
  EXPECT_NE(error_of("builtin:ratings:12").find("USERSxITEMS"), std::string::npos);
}

TEST(RatingsBuiltin, SeededWithTruth) {
  RatingsLoadOptions o;
  const RatingsData a = load_ratings("builtin:ratings:200x50", o);
  const RatingsData b = load_ratings("builtin:ratings:200x50", o);
  o.seed = 2;
  const RatingsData c = load_ratings("builtin:ratings:200x50", o);
  EXPECT_EQ(a.users, 200);
  EXPECT_EQ(a.items, 50);
  EXPECT_EQ(a.levels, (std::vector<float>{1, 2, 3, 4, 5}));
  EXPECT_EQ(a.item, b.item);
  EXPECT_EQ(a.level, b.level);
  EXPECT_NE(a.level, c.level);
  ASSERT_EQ(a.truth_mean.size(), size_t(a.nnz()));
  // The truth is the generator's: the empirical mean squared error of the true means is
  // close to the mean variance (the Bayes risk), and far below the variance of the ratings.
  double se = 0, var = 0, mean = 0;
  for (int64_t n = 0; n < a.nnz(); ++n) {
    se += std::pow(a.truth_mean[size_t(n)] - a.value(n), 2);
    var += a.truth_var[size_t(n)];
    mean += a.value(n);
  }
  mean /= double(a.nnz());
  double total = 0;
  for (int64_t n = 0; n < a.nnz(); ++n) total += std::pow(a.value(n) - mean, 2);
  EXPECT_NEAR(se / double(a.nnz()), var / double(a.nnz()), 0.1 * var / double(a.nnz()));
  EXPECT_LT(se, 0.8 * total);
  for (int64_t u = 0; u < a.users; ++u) {
    const int64_t n = a.offsets[size_t(u + 1)] - a.offsets[size_t(u)];
    EXPECT_GE(n, 20);
    EXPECT_LE(n, 50);
  }
}

TEST(RatingsSplit, PerUserSeededDisjoint) {
  const RatingsData d = load_ratings("builtin:ratings:100x40");
  const RatingsSplit s = split_ratings(d, 0.2, 5);
  const RatingsSplit again = split_ratings(d, 0.2, 5);
  const RatingsSplit other = split_ratings(d, 0.2, 6);
  EXPECT_EQ(s.test.item, again.test.item);
  EXPECT_NE(s.test.item, other.test.item);
  EXPECT_EQ(s.train.nnz() + s.test.nnz(), d.nnz());
  ASSERT_EQ(s.test.truth_mean.size(), size_t(s.test.nnz()));
  for (int64_t u = 0; u < d.users; ++u) {
    std::multiset<std::pair<int32_t, int32_t>> all, parts;
    for (int64_t n = d.offsets[size_t(u)]; n < d.offsets[size_t(u + 1)]; ++n) {
      all.insert({d.item[size_t(n)], d.level[size_t(n)]});
    }
    for (const RatingsData* p : {&s.train, &s.test}) {
      for (int64_t n = p->offsets[size_t(u)]; n < p->offsets[size_t(u + 1)]; ++n) {
        parts.insert({p->item[size_t(n)], p->level[size_t(n)]});
      }
    }
    EXPECT_EQ(all, parts);
    const int64_t total = d.offsets[size_t(u + 1)] - d.offsets[size_t(u)];
    const int64_t test = s.test.offsets[size_t(u + 1)] - s.test.offsets[size_t(u)];
    EXPECT_EQ(test, std::llround(0.2 * double(total)));
  }
  // A user with one rating keeps it for training.
  const std::string p = kFiles.path("one.data");
  write_file(p, "1\t1\t5\t0\n2\t1\t3\t0\n2\t2\t4\t0\n");
  const RatingsSplit t = split_ratings(load_ratings(p), 0.9, 1);
  EXPECT_EQ(t.train.offsets, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(t.test.offsets, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_THROW(split_ratings(d, 1.0, 1), Error);
}

TEST(RatingsAlign, ReindexesAndDropsUnknownItems) {
  const std::string p = kFiles.path("align.data");
  write_file(p, "1\t30\t4\t0\n1\t99\t5\t0\n2\t10\t1\t0\n");
  const RatingsData d = load_ratings(p);
  int64_t dropped = -1;
  const RatingsData a = align_ratings(d, {10, 20, 30}, {1, 2, 3, 4, 5}, &dropped);
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(a.items, 3);
  EXPECT_EQ(a.item, (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(a.level, (std::vector<int32_t>{3, 0}));
  EXPECT_EQ(a.offsets, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_THROW(align_ratings(d, {10, 20, 30}, {1, 2, 3}, nullptr), Error);
}

TEST(RatingsBaselines, BeatTheGlobalMeanAndMissTheTruth) {
  const RatingsData d = load_ratings("builtin:ratings:1000x100");
  const RatingsSplit s = split_ratings(d, 0.2, 1);
  double mu = 0;
  for (int64_t n = 0; n < s.train.nnz(); ++n) mu += s.train.value(n);
  mu /= double(s.train.nnz());
  const double global = rmse(s.test, std::vector<float>(size_t(s.test.nnz()), float(mu)));
  const double item = rmse(s.test, item_mean_predictions(s.train, s.test));
  const double bias = rmse(s.test, bias_predictions(s.train, s.test));
  const double truth = rmse(s.test, s.test.truth_mean);
  EXPECT_LT(item, global);
  EXPECT_LT(bias, item);
  EXPECT_LT(truth, bias);
  EXPECT_THROW(rmse(s.test, {1.0f}), Error);
}

}  // namespace
}  // namespace crbm
