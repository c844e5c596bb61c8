// `crbm cf-train` and `crbm cf-predict`: collaborative filtering with the ratings RBM
// (library: ratings.hpp). cf-train loads ratings (MovieLens text or builtin:ratings),
// holds out a seeded fraction of each user's ratings, prints the item-mean and
// user+item-bias baselines (and, for builtin:ratings, the RMSE of the generator's true
// means: the best any predictor can do), trains with CD-k and reports the held-out RMSE
// every epoch. cf-predict reproduces the split from the checkpoint and writes the
// held-out predictions, or the top-N unrated items of one user.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "crbm/atomic_file.hpp"
#include "crbm/ratings.hpp"

namespace crbm::tools {
namespace {

struct CfTrainOptions {
  std::string data = "builtin:ratings";
  uint64_t data_seed = 1;
  double test_fraction = 0.1;
  uint64_t split_seed = 1;
  int64_t hidden = 100;
  bool conditional = false;
  float init_std = 0.1f;
  RatingsTrainConfig train;  // the SGD options and --sample-negative; cd_schedule from --cd
  std::string cd = "1";
  std::string device = "cpu";
  int threads = 0;
  std::string out = "ratings.safetensors";
  std::string json, metrics;
  bool quiet = false;
};

struct Baselines {
  double item_mean = 0, bias = 0, truth = NAN;
};

Baselines baselines(const RatingsSplit& s) {
  Baselines b;
  if (s.test.nnz() == 0) return b;
  b.item_mean = rmse(s.test, item_mean_predictions(s.train, s.test));
  b.bias = rmse(s.test, bias_predictions(s.train, s.test));
  if (!s.test.truth_mean.empty()) b.truth = rmse(s.test, s.test.truth_mean);
  return b;
}

nlohmann::json baselines_json(const Baselines& b) {
  return {{"item_mean_rmse", b.item_mean},
          {"user_item_bias_rmse", b.bias},
          {"true_mean_rmse", finite_or_null(b.truth)}};
}

void print_baselines(std::FILE* f, const Baselines& b) {
  fmt::print(f, "  baselines (held-out RMSE): item mean {:.4f}, user+item bias {:.4f}", b.item_mean,
             b.bias);
  if (std::isfinite(b.truth)) fmt::print(f, ", generator's true means {:.4f}", b.truth);
  fmt::print(f, "\n");
}

RatingsData load_spec(const std::string& spec, uint64_t data_seed) {
  RatingsLoadOptions lo;
  lo.seed = data_seed;
  return load_ratings(spec, lo);
}

void run_cf_train(const CfTrainOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  RatingsTrainConfig cfg = o.train;
  cfg.cd_schedule = parse_cd_schedule(o.cd);
  cfg.validate();
  if (o.hidden < 1) CRBM_FAIL("--hidden: must be >= 1, got ", o.hidden);
  auto backend = open_backend(o.device, o.threads);
  const RatingsData all = load_spec(o.data, o.data_seed);
  const RatingsSplit s = split_ratings(all, o.test_fraction, o.split_seed);
  RatingsRbm m(*backend, all.items, all.levels, o.hidden, o.conditional);
  m.init_random(cfg.seed, o.init_std, &s.train);
  RatingsCdTrainer trainer(m, cfg);
  if (!o.quiet) {
    fmt::print(stderr,
               "cf-train: {} users, {} items, {} ratings ({} train, {} held out), {} levels "
               "[{}..{}] on {}; {} hidden units{}\n",
               with_thousands(double(all.users)), with_thousands(double(all.items)),
               with_thousands(double(all.nnz())), with_thousands(double(s.train.nnz())),
               with_thousands(double(s.test.nnz())), all.num_levels(), all.levels.front(),
               all.levels.back(), backend->describe(), o.hidden,
               o.conditional ? ", conditional" : "");
  }
  const Baselines base = baselines(s);
  if (!o.quiet && s.test.nnz() > 0) print_baselines(stderr, base);
  MetricsFile metrics(o.metrics);
  nlohmann::json epochs = nlohmann::json::array();
  double best = NAN;
  for (int e = 0; e < cfg.epochs; ++e) {
    const RatingsEpochStats st = trainer.train_epoch(s.train, o.conditional ? &all : nullptr);
    const double test_rmse =
        s.test.nnz() > 0 ? rmse(s.test, m.predict_split(s.train, s.test)) : NAN;
    if (std::isfinite(test_rmse) && !(test_rmse >= best)) best = test_rmse;
    const nlohmann::json j = {{"epoch", st.epoch},
                              {"updates", st.updates},
                              {"cd_k", st.cd_k},
                              {"learning_rate", st.learning_rate},
                              {"momentum", st.momentum},
                              {"train_rmse", st.train_rmse},
                              {"test_rmse", finite_or_null(test_rmse)},
                              {"seconds", st.seconds},
                              {"ratings_per_second", st.ratings_per_second}};
    epochs.push_back(j);
    metrics.write(j);
    if (!o.quiet) {
      const double el = seconds_since(start);
      fmt::print(stderr,
                 "  epoch {:3d}/{}  CD-{}  train RMSE {:.4f}  held-out RMSE {:.4f}  {} ratings/s"
                 "  ETA {}\n",
                 st.epoch, cfg.epochs, st.cd_k, st.train_rmse, test_rmse,
                 with_thousands(st.ratings_per_second),
                 hms(el / double(e + 1) * double(cfg.epochs - e - 1)));
    }
  }
  const double train_seconds = seconds_since(start);
  Metadata md;
  write_provenance(md, "cf-train", all.source);
  md[meta::kTrainConfig] = with_precision(cfg.to_json());
  md[meta::kEpochs] = std::to_string(cfg.epochs);
  md["data_seed"] = std::to_string(o.data_seed);
  md["test_fraction"] = fmt::format("{}", o.test_fraction);
  md["split_seed"] = std::to_string(o.split_seed);
  save_ratings_rbm(o.out, m, all.item_ids, md);
  const double final_rmse = epochs.empty() || epochs.back()["test_rmse"].is_null()
                                ? NAN
                                : epochs.back()["test_rmse"].get<double>();
  fmt::print(
      "held-out RMSE {:.4f} after {} epochs (best {:.4f}); item mean {:.4f}, user+item "
      "bias {:.4f}",
      final_rmse, cfg.epochs, best, base.item_mean, base.bias);
  if (std::isfinite(base.truth)) fmt::print(", true means {:.4f}", base.truth);
  fmt::print("\nwrote {} ({} of training)\n", o.out, hms(train_seconds));
  nlohmann::json j = {{"command", "cf-train"},
                      {"data", all.source},
                      {"users", all.users},
                      {"items", all.items},
                      {"ratings", all.nnz()},
                      {"train_ratings", s.train.nnz()},
                      {"test_ratings", s.test.nnz()},
                      {"hidden", o.hidden},
                      {"conditional", o.conditional},
                      {"device", backend->describe()},
                      {"train_seconds", train_seconds},
                      {"test_rmse", finite_or_null(final_rmse)},
                      {"best_test_rmse", finite_or_null(best)},
                      {"baselines", baselines_json(base)},
                      {"train_config", nlohmann::json::parse(cfg.to_json())},
                      {"epochs", epochs}};
  write_json_file(o.json, j);
}

// ---- cf-predict ----

struct CfPredictOptions {
  std::string model;
  std::string data;
  double test_fraction = -1;  // < 0: the checkpoint's
  int64_t split_seed = -1;
  int64_t user = -1;
  int64_t top = 10;
  std::string out;
  std::string device = "cpu";
  int threads = 0;
  std::string json;
};

double metadata_number(const Metadata& m, const char* key, double fallback,
                       const std::string& path) {
  auto it = m.find(key);
  if (it == m.end()) return fallback;
  try {
    size_t used = 0;
    const double v = std::stod(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  CRBM_FAIL(path, ": metadata ", key, " = '", it->second, "' is not a number");
}

void run_cf_predict(const CfPredictOptions& o) {
  auto backend = open_backend(o.device, o.threads);
  std::vector<int64_t> item_ids;
  Metadata md;
  const RatingsRbm m = load_ratings_rbm(*backend, o.model, &item_ids, &md);
  if (item_ids.empty()) CRBM_FAIL(o.model, ": no item_ids metadata; cannot match items to data");
  const auto data_seed = uint64_t(metadata_number(md, "data_seed", 1, o.model));
  int64_t dropped = 0;
  const RatingsData all =
      align_ratings(load_spec(o.data, data_seed), item_ids, m.level_values(), &dropped);
  if (dropped > 0) {
    fmt::print(stderr, "cf-predict: {} ratings of items the model does not know are ignored\n",
               dropped);
  }
  nlohmann::json j = {{"command", "cf-predict"}, {"model", o.model}, {"data", all.source}};
  if (o.user >= 0) {
    int64_t u = -1;
    for (int64_t x = 0; x < all.users; ++x) {
      if (all.user_ids[size_t(x)] == o.user) u = x;
    }
    if (u < 0) CRBM_FAIL("--user ", o.user, ": no such user in ", all.source);
    if (o.top < 1) CRBM_FAIL("--top: must be >= 1, got ", o.top);
    const auto top = m.top_n(gather_users(all, {u}), o.top);
    std::string text = "rank\titem\tpredicted\n";
    nlohmann::json list = nlohmann::json::array();
    for (size_t r = 0; r < top.size(); ++r) {
      const int64_t id = item_ids[size_t(top[r].first)];
      text += fmt::format("{}\t{}\t{:.4f}\n", r + 1, id, top[r].second);
      list.push_back({{"item", id}, {"predicted", top[r].second}});
    }
    if (o.out.empty()) {
      fmt::print("{}", text);
    } else {
      write_file_atomically(o.out, text.data(), text.size());
      fmt::print("wrote {}: the top {} unrated items of user {} (from {} ratings)\n", o.out,
                 top.size(), o.user, all.offsets[size_t(u + 1)] - all.offsets[size_t(u)]);
    }
    j["user"] = o.user;
    j["top"] = list;
    write_json_file(o.json, j);
    return;
  }
  const double fraction =
      o.test_fraction >= 0 ? o.test_fraction : metadata_number(md, "test_fraction", 0.1, o.model);
  const auto seed = o.split_seed >= 0 ? uint64_t(o.split_seed)
                                      : uint64_t(metadata_number(md, "split_seed", 1, o.model));
  const RatingsSplit s = split_ratings(all, fraction, seed);
  if (s.test.nnz() == 0) CRBM_FAIL("no held-out ratings (test fraction ", fraction, ")");
  const std::vector<float> p = m.predict_split(s.train, s.test);
  const double r = rmse(s.test, p);
  const Baselines base = baselines(s);
  const std::string out = o.out.empty() ? "predictions.tsv" : o.out;
  write_file_atomically(out, [&](std::FILE* f) {
    fmt::print(f, "user\titem\trating\tpredicted\n");
    for (int64_t u = 0; u < s.test.users; ++u) {
      for (int64_t n = s.test.offsets[size_t(u)]; n < s.test.offsets[size_t(u + 1)]; ++n) {
        fmt::print(f, "{}\t{}\t{}\t{:.4f}\n", all.user_ids[size_t(u)],
                   item_ids[size_t(s.test.item[size_t(n)])], s.test.value(n), p[size_t(n)]);
      }
    }
  });
  fmt::print("held-out RMSE {:.4f} on {} ratings (test fraction {}, split seed {})\n", r,
             with_thousands(double(s.test.nnz())), fraction, seed);
  print_baselines(stdout, base);
  fmt::print("wrote {}\n", out);
  j["test_ratings"] = s.test.nnz();
  j["test_rmse"] = r;
  j["baselines"] = baselines_json(base);
  write_json_file(o.json, j);
}

void register_cf(CLI::App& app) {
  {
    auto [cmd, o] = add_command<CfTrainOptions>(
        app, "cf-train",
        "Collaborative filtering: train a ratings RBM (softmax visible units for each user's "
        "rated items, weights shared across users) with CD-k; held-out RMSE every epoch.\n"
        "Example: crbm cf-train --data ml-100k/u.data --hidden 100 --epochs 40 --cd 1,3@15,5@25 "
        "--out ml100k.safetensors",
        run_cf_train);
    cmd->add_option("--data", o->data,
                    "Ratings: a MovieLens file (u.data, ratings.csv, ratings.dat) or "
                    "builtin:ratings[:USERSxITEMS]")
        ->capture_default_str()
        ->group(kGroupData);
    cmd->add_option("--data-seed", o->data_seed, "Seed of the builtin:ratings generator")
        ->capture_default_str()
        ->group(kGroupData);
    cmd->add_option("--test-fraction", o->test_fraction,
                    "Fraction of each user's ratings held out (0 = none)")
        ->check(CLI::Range(0.0, 0.99))
        ->capture_default_str()
        ->group(kGroupData);
    cmd->add_option("--split-seed", o->split_seed, "Seed of the per-user split")
        ->capture_default_str()
        ->group(kGroupData);
    cmd->add_option("--hidden", o->hidden, "Hidden units")
        ->capture_default_str()
        ->group(kGroupModel);
    cmd->add_flag("--conditional", o->conditional,
                  "Conditional RBM: the set of items each user rated (train and held-out) also "
                  "drives the hidden units")
        ->group(kGroupModel);
    cmd->add_option("--init-std", o->init_std, "Initial weight stddev")
        ->capture_default_str()
        ->group(kGroupModel);
    const SgdOptions sgd = add_sgd_options(cmd, o->train, kSgdMomentum | kSgdSeed);
    sgd.epochs->check(CLI::PositiveNumber);
    sgd.batch->description("Users per minibatch");
    sgd.seed->description("Seed (initialisation, user order, Gibbs sampling)");
    cmd->add_option("--cd", o->cd,
                    "CD-k schedule: K, or K@EPOCH stages (e.g. 1,3@20,5@30,9@40: CD-1, then "
                    "CD-3 from epoch 20, ...)")
        ->capture_default_str()
        ->group(kGroupTraining);
    cmd->add_flag("--sample-negative", o->train.sample_negative_visible,
                  "Sample the last negative visible state (default: its probabilities)")
        ->group(kGroupTraining);
    add_compute_options(cmd, o->device, o->threads);
    add_output_options(cmd, &o->out, &o->metrics, &o->json, &o->quiet)
        .quiet->description("No progress lines");
  }
  {
    auto [cmd, o] = add_command<CfPredictOptions>(
        app, "cf-predict",
        "Predict ratings with a ratings RBM: the held-out ratings of the training split "
        "(RMSE, TSV of user item rating predicted), or the top-N unrated items of one user.\n"
        "Example: crbm cf-predict ml100k.safetensors --data ml-100k/u.data --user 42 --top 10",
        run_cf_predict);
    add_model_argument(cmd, "model", o->model, "Checkpoint written by cf-train");
    cmd->add_option("--data", o->data, "The ratings (same spec as for training)")
        ->required()
        ->group(kGroupData);
    cmd->add_option("--test-fraction", o->test_fraction,
                    "Held-out fraction (default: the checkpoint's)")
        ->group(kGroupData);
    cmd->add_option("--split-seed", o->split_seed, "Split seed (default: the checkpoint's)")
        ->group(kGroupData);
    cmd->add_option("--user", o->user, "Recommend for this user id (all their ratings known)")
        ->group(kGroupData);
    cmd->add_option("--top", o->top, "With --user: how many items")
        ->capture_default_str()
        ->group(kGroupOutput);
    cmd->add_option("--out", o->out,
                    "Write the predictions here (default predictions.tsv; with --user: stdout)")
        ->group(kGroupOutput);
    add_output_options(cmd, nullptr, nullptr, &o->json, nullptr);
    add_compute_options(cmd, o->device, o->threads);
  }
}

const SubcommandRegistrar kRegistrar{78, register_cf};

}  // namespace
}  // namespace crbm::tools
