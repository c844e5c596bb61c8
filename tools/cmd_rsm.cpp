// `crbm rsm-train` and `crbm rsm-eval`: softmax RBMs from the command line (library:
// softmax_rbm.hpp, bow.hpp). rsm-train fits a replicated-softmax model of word counts
// (Salakhutdinov & Hinton 2009) or an RBM with K-way softmax visible groups; rsm-eval
// estimates log p(v) of held-out documents with one AIS run per document length (exact
// enumeration when the hidden layer is small), reports the per-word perplexity next to a
// unigram model fitted to the training documents, and can classify documents with a
// logistic regression on P(h=1|v). `crbm eval` and `crbm transform` dispatch here for
// softmax_rbm checkpoints.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common.hpp"
#include "crbm/bow.hpp"
#include "crbm/logreg.hpp"
#include "crbm/safetensors.hpp"
#include "crbm/softmax_rbm.hpp"

namespace crbm::tools {
namespace {

Dataset load_counts(const std::string& spec, int64_t limit) {
  LoadOptions l;
  l.limit = limit;
  Dataset d = load_dataset(spec, l);
  if (d.size() == 0) CRBM_FAIL(d.source, ": no documents");
  return d;
}

// Replicated softmax needs non-negative integer counts with at least one word per document;
// softmax groups need one-hot rows (exactly one 1 per group).
void check_softmax_input(const Dataset& d, SoftmaxKind kind, int64_t group) {
  const int64_t n = d.size(), v = d.dim();
  for (int64_t r = 0; r < n; ++r) {
    const float* x = d.x.data.data() + r * v;
    double length = 0;
    for (int64_t c = 0; c < v; ++c) {
      if (x[c] < 0.0f || x[c] != std::floor(x[c])) {
        CRBM_FAIL(d.source, ": row ", r, ", column ", c, " is ", x[c], "; ",
                  kind == SoftmaxKind::replicated ? "word counts must be non-negative integers"
                                                  : "softmax groups need 0/1 one-hot values");
      }
      length += x[c];
    }
    if (kind == SoftmaxKind::replicated && length < 1) {
      CRBM_FAIL(d.source, ": document ", r, " is empty (no words); drop empty documents");
    }
    if (kind == SoftmaxKind::groups) {
      for (int64_t g = 0; g < v / group; ++g) {
        float s = 0;
        for (int64_t k = 0; k < group; ++k) s += x[g * group + k];
        if (s != 1.0f) {
          CRBM_FAIL(d.source, ": row ", r, ", group ", g, " has ", s,
                    " units on; softmax groups need exactly one");
        }
      }
    }
  }
}

SoftmaxKind parse_kind(const std::string& s) {
  if (s == "replicated") return SoftmaxKind::replicated;
  if (s == "groups") return SoftmaxKind::groups;
  CRBM_FAIL("--kind '", s, "': expected replicated or groups");
}

// Row lengths D (replicated: word count; groups: 1).
std::vector<int64_t> row_lengths(const HostTensor& x, SoftmaxKind kind) {
  const int64_t n = x.rows(), v = x.cols();
  std::vector<int64_t> out(static_cast<size_t>(n), 1);
  if (kind != SoftmaxKind::replicated) return out;
  for (int64_t r = 0; r < n; ++r) {
    double s = 0;
    for (int64_t c = 0; c < v; ++c) s += x.data[r * v + c];
    out[r] = std::llround(s);
  }
  return out;
}

// The rows `rows` of d (copy).
Dataset take(const Dataset& d, const std::vector<int64_t>& rows) {
  Dataset out;
  out.source = d.source;
  out.num_classes = d.num_classes;
  const int64_t v = d.dim();
  out.x = HostTensor({static_cast<int64_t>(rows.size()), v});
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(d.x.data.data() + rows[i] * v, v, out.x.data.data() + int64_t(i) * v);
    if (!d.labels.empty()) out.labels.push_back(d.labels[rows[i]]);
  }
  return out;
}

// A random subset of `count` rows (all when count <= 0 or >= N), in ascending order.
std::vector<int64_t> choose_rows(int64_t n, int64_t count, uint64_t seed) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  if (count <= 0 || count >= n) return rows;
  // The first `count` of a seeded permutation (the trainers' shuffle, "epoch" 2^32 - 1).
  const std::vector<int32_t> perm = shuffled_indices(n, seed, 0xffffffffu);
  rows.assign(perm.begin(), perm.begin() + count);
  std::sort(rows.begin(), rows.end());
  return rows;
}

HostTensor hidden_probabilities(const SoftmaxRbm& m, const HostTensor& x, int64_t batch = 1024) {
  Backend& be = m.backend();
  const int64_t n = x.rows(), v = m.visible(), h = m.hidden();
  HostTensor out({n, h});
  const int64_t b = std::min(batch, std::max<int64_t>(n, 1));
  Matrix in(be, b, v), hid(be, b, h);
  for (int64_t first = 0; first < n; first += b) {
    const int64_t rows = std::min(b, n - first);
    be.upload(x.data.data() + first * v, in.rows_view(0, rows));
    m.hidden_given_visible(in.rows_view(0, rows), hid.rows_view(0, rows));
    be.download(hid.rows_view(0, rows), out.data.data() + first * h);
  }
  return out;
}

struct EvalSettings {
  int ais_runs = 100;
  int64_t ais_steps = 0;  // 0: the authors' 14,500
  bool exact = false;     // enumerate the hidden layer (H <= 24)
  uint64_t seed = 1;
  bool quiet = false;
};

// log Z_D for every length D of `lengths`, with its AIS band (exact: low = high = log Z).
struct LogZ {
  double log_z = 0, low = 0, high = 0;
};

std::map<int64_t, LogZ> log_partitions(const SoftmaxRbm& m, const HostTensor& base_data,
                                       const std::set<int64_t>& lengths, const EvalSettings& s) {
  std::map<int64_t, LogZ> out;
  const auto start = std::chrono::steady_clock::now();
  size_t done = 0;
  for (const int64_t d : lengths) {
    LogZ z;
    if (s.exact) {
      z.log_z = z.low = z.high = m.exact_log_partition(d);
    } else {
      AisConfig c;
      c.runs = s.ais_runs;
      c.steps = s.ais_steps;
      c.seed = s.seed + uint64_t(d) * 7919u;
      const AisResult r = m.ais_log_partition(base_data, c, d);
      z = {r.log_z, r.log_z_low, r.log_z_high};
    }
    out[d] = z;
    ++done;
    if (!s.quiet && !s.exact && (done % 10 == 0 || done == lengths.size())) {
      const double el = seconds_since(start);
      fmt::print("  AIS: {}/{} document lengths, {} elapsed, ETA {}\n", done, lengths.size(),
                 hms(el), hms(el / double(done) * double(lengths.size() - done)));
      std::fflush(stdout);
    }
  }
  return out;
}

// Log-probabilities and perplexities of `data` under m (and, with train counts, a
// Laplace-smoothed unigram model of the training words for comparison).
nlohmann::json evaluate(const SoftmaxRbm& m, const Dataset& data, const Dataset* train,
                        const EvalSettings& s) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = data.size(), v = m.visible();
  if (data.dim() != v) {
    CRBM_FAIL(data.source, ": ", data.dim(), " columns, but the model has ", v, " visible units");
  }
  check_softmax_input(data, m.kind(), m.group());
  const std::vector<int64_t> len = row_lengths(data.x, m.kind());
  const std::set<int64_t> lengths(len.begin(), len.end());
  if (s.exact && m.hidden() > 24) {
    CRBM_FAIL("--exact: ", m.hidden(), " hidden units is too many to enumerate (at most 24)");
  }
  const bool exact = s.exact || m.hidden() <= 20;
  EvalSettings es = s;
  es.exact = exact;
  if (!s.quiet) {
    fmt::print("rsm-eval: {} documents of {}, {} distinct lengths; log Z by {}\n", n, data.source,
               lengths.size(),
               exact ? "exact enumeration"
                     : fmt::format("AIS ({} runs x {} steps per length)", s.ais_runs,
                                   s.ais_steps > 0 ? s.ais_steps : 14500));
  }
  const auto z_start = std::chrono::steady_clock::now();
  const std::map<int64_t, LogZ> z = log_partitions(m, data.x, lengths, es);
  const double z_seconds = seconds_since(z_start);
  std::map<int64_t, double> log_z, log_z_low, log_z_high;
  for (const auto& [d, lz] : z) {
    log_z[d] = lz.log_z;
    log_z_low[d] = lz.low;
    log_z_high[d] = lz.high;
  }
  Matrix x = Matrix::from_host(m.backend(), data.x);
  const std::vector<double> lp = m.log_prob(x, log_z);
  // log Z underestimated (low end of the band) -> log p overestimated, and vice versa.
  const std::vector<double> lp_hi = m.log_prob(x, log_z_low);
  const std::vector<double> lp_lo = m.log_prob(x, log_z_high);
  double sum_lp = 0, sum_lp_lo = 0, sum_lp_hi = 0, per_word = 0, per_word_lo = 0, per_word_hi = 0;
  double words = 0;
  for (int64_t r = 0; r < n; ++r) {
    const double d = double(len[r]);
    sum_lp += lp[r];
    sum_lp_lo += lp_lo[r];
    sum_lp_hi += lp_hi[r];
    per_word += lp[r] / d;
    per_word_lo += lp_lo[r] / d;
    per_word_hi += lp_hi[r] / d;
    words += d;
  }
  const double nn = double(n);
  nlohmann::json j = {
      {"documents", n},
      {"words", words},
      {"distinct_lengths", lengths.size()},
      {"log_z_method", exact ? "exact" : "ais"},
      {"ais_runs", exact ? 0 : s.ais_runs},
      {"ais_steps", exact ? 0 : (s.ais_steps > 0 ? s.ais_steps : 14500)},
      {"log_z_seconds", z_seconds},
      {"mean_log_prob", sum_lp / nn},
      {"mean_log_prob_low", finite_or_null(sum_lp_lo / nn)},
      {"mean_log_prob_high", finite_or_null(sum_lp_hi / nn)},
      // exp(-1/N sum_n log p(v_n) / D_n): Salakhutdinov & Hinton's per-document average.
      {"perplexity", std::exp(-per_word / nn)},
      // null when some length's AIS band is open at its low end (log p unbounded above).
      {"perplexity_low", std::isfinite(per_word_hi) ? nlohmann::json(std::exp(-per_word_hi / nn))
                                                    : nlohmann::json(nullptr)},
      {"perplexity_high", finite_or_null(std::exp(-per_word_lo / nn))},
      // exp(-sum log p / sum D): every word counts once.
      {"word_perplexity", std::exp(-sum_lp / words)},
  };
  nlohmann::json by_length = nlohmann::json::array();
  for (const auto& [d, lz] : z) {
    by_length.push_back({{"length", d},
                         {"log_z", lz.log_z},
                         {"log_z_low", finite_or_null(lz.low)},
                         {"log_z_high", finite_or_null(lz.high)}});
  }
  j["log_z_by_length"] = std::move(by_length);
  if (train != nullptr && m.kind() == SoftmaxKind::replicated) {
    // Unigram: p_k = (count_k + 1) / (total + V) over the training documents.
    std::vector<double> counts(static_cast<size_t>(v), 1.0);
    double total = double(v);
    for (int64_t r = 0; r < train->size(); ++r) {
      for (int64_t c = 0; c < v; ++c) {
        counts[c] += train->x.data[r * v + c];
        total += train->x.data[r * v + c];
      }
    }
    double uni_per_word = 0, uni_sum = 0;
    for (int64_t r = 0; r < n; ++r) {
      double l = 0;
      for (int64_t c = 0; c < v; ++c) {
        const float k = data.x.data[r * v + c];
        if (k > 0) l += double(k) * std::log(counts[c] / total);
      }
      uni_sum += l;
      uni_per_word += l / double(len[r]);
    }
    j["unigram_perplexity"] = std::exp(-uni_per_word / nn);
    j["unigram_word_perplexity"] = std::exp(-uni_sum / words);
  }
  j["seconds"] = seconds_since(start);
  if (!s.quiet) {
    // A band end is "open" when some length's AIS band is (its lower log Z end is -inf).
    const auto end = [](double x, const char* fmt_spec) {
      return std::isfinite(x) && x > 0.0 ? fmt::format(fmt_spec, x) : std::string("open");
    };
    const auto lp_end = [](double x) {
      return std::isfinite(x) ? fmt::format("{:.3f}", x) : std::string("open");
    };
    fmt::print("  mean log p(v) {:.3f} nats [{}, {}]\n", sum_lp / nn, lp_end(sum_lp_lo / nn),
               lp_end(sum_lp_hi / nn));
    if (m.kind() == SoftmaxKind::replicated) {
      fmt::print("  perplexity {:.1f} [{}, {}] (per-word over all words {:.1f})\n",
                 j["perplexity"].get<double>(), end(std::exp(-per_word_hi / nn), "{:.1f}"),
                 end(std::exp(-per_word_lo / nn), "{:.1f}"), j["word_perplexity"].get<double>());
      if (j.contains("unigram_perplexity")) {
        fmt::print("  unigram model of the training words: perplexity {:.1f} ({:.1f})\n",
                   j["unigram_perplexity"].get<double>(),
                   j["unigram_word_perplexity"].get<double>());
      }
    }
    fmt::print("  log Z took {} ({} lengths)\n", hms(z_seconds), lengths.size());
  }
  return j;
}

// Logistic regression on P(h=1|v): trained on `train`, error on `test`.
nlohmann::json classify(const SoftmaxRbm& m, const Dataset& train, const Dataset& test, int epochs,
                        bool quiet) {
  if (train.labels.empty() || test.labels.empty()) {
    CRBM_FAIL("classification needs labels in both ", train.source, " and ", test.source);
  }
  const int classes = std::max(train.num_classes, test.num_classes);
  Backend& be = m.backend();
  Matrix ftr = Matrix::from_host(be, hidden_probabilities(m, train.x));
  Matrix fte = Matrix::from_host(be, hidden_probabilities(m, test.x));
  LogisticRegression lr(be, m.hidden(), classes);
  LogRegConfig c;
  c.epochs = epochs;
  c.learning_rate = 0.5f;
  c.weight_decay = 1e-5f;
  lr.fit(ftr, train.labels, c);
  const double train_err = lr.error_rate(ftr, train.labels);
  const double test_err = lr.error_rate(fte, test.labels);
  if (!quiet) {
    fmt::print("  logistic regression on P(h|v): train error {:.2f}%, test error {:.2f}%\n",
               100 * train_err, 100 * test_err);
  }
  return {{"train_error", train_err}, {"test_error", test_err}, {"epochs", epochs}};
}

// ---- rsm-train ----

struct RsmTrainOptions {
  std::string config;
  std::string data = "builtin:docs";
  int64_t limit = 0;
  std::string kind = "replicated";
  int64_t group = 0;
  int64_t hidden = 50;
  // The trainer's settings; its seed also draws the subset of --eval-docs and the AIS runs.
  TrainConfig train;
  float init_std = 0.01f;
  RsmTrainOptions() {
    train.epochs = 50;
    train.learning_rate = 0.001f;
    train.weight_decay = 1e-3f;
  }
  std::string device = "cpu";
  int threads = 0;
  std::string out = "rsm.safetensors";
  std::string json, metrics;
  bool quiet = false;
  // evaluation afterwards
  std::string test;
  int64_t eval_docs = 0;
  int ais_runs = 100;
  int64_t ais_steps = 0;
  int classify_epochs = 0;
};

void run_rsm_train(const RsmTrainOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const SoftmaxKind kind = parse_kind(o.kind);
  if (kind == SoftmaxKind::groups && o.group < 2) {
    CRBM_FAIL("--kind groups needs --group K >= 2 (the states per softmax group)");
  }
  if (o.hidden < 1) CRBM_FAIL("--hidden: must be >= 1, got ", o.hidden);
  auto backend = open_backend(o.device, o.threads);
  const Dataset d = load_counts(o.data, o.limit);
  const int64_t group = kind == SoftmaxKind::groups ? o.group : d.dim();
  if (kind == SoftmaxKind::groups && d.dim() % group != 0) {
    CRBM_FAIL("--group ", group, " does not divide the ", d.dim(), " columns of ", d.source);
  }
  check_softmax_input(d, kind, group);
  SoftmaxRbm m(*backend, d.dim(), o.hidden, kind, group);
  m.init_random(o.train.seed, o.init_std, &d.x);
  const TrainConfig& cfg = o.train;
  SoftmaxCdTrainer trainer(m, cfg);
  const std::vector<int64_t> len = row_lengths(d.x, kind);
  double words = 0;
  for (int64_t l : len) words += double(l);
  if (!o.quiet) {
    fmt::print("rsm-train: {} {} x {} ({} words) on {}; {} softmax, {} hidden units\n", d.size(),
               kind == SoftmaxKind::replicated ? "documents" : "rows", d.dim(), words,
               backend->describe(), to_string(kind), o.hidden);
  }
  MetricsFile metrics(o.metrics);
  Matrix x = Matrix::from_host(*backend, d.x);
  nlohmann::json epochs = nlohmann::json::array();
  for (int e = 0; e < o.train.epochs; ++e) {
    const EpochStats s = trainer.train_epoch(x);
    const nlohmann::json j = {{"epoch", s.epoch},
                              {"updates", s.updates},
                              {"free_energy_train", s.free_energy_train},
                              {"learning_rate", s.learning_rate},
                              {"momentum", s.momentum},
                              {"seconds", s.seconds},
                              {"docs_per_second", s.samples_per_second}};
    epochs.push_back(j);
    metrics.write(j);
    if (!o.quiet) {
      const double el = seconds_since(start);
      fmt::print("  epoch {:3d}/{}  F(train) {:10.3f}  {:8.0f} docs/s  ETA {}\n", s.epoch,
                 o.train.epochs, s.free_energy_train, s.samples_per_second,
                 hms(el / double(e + 1) * double(o.train.epochs - e - 1)));
      std::fflush(stdout);
    }
  }
  const double train_seconds = seconds_since(start);
  Metadata meta_data;
  write_provenance(meta_data, "rsm-train", d.source);
  meta_data[meta::kTrainConfig] = with_precision(cfg.to_json());
  meta_data[meta::kEpochs] = std::to_string(o.train.epochs);
  save_softmax_rbm(o.out, m, meta_data);
  if (!o.quiet) fmt::print("wrote {} ({} of training)\n", o.out, hms(train_seconds));
  nlohmann::json j = {{"command", "rsm-train"},  {"data", d.source},
                      {"kind", to_string(kind)}, {"hidden", o.hidden},
                      {"documents", d.size()},   {"train_seconds", train_seconds},
                      {"epochs", epochs},        {"device", backend->describe()}};
  if (!o.test.empty()) {
    const Dataset test_all = load_counts(o.test, 0);
    const Dataset test = take(test_all, choose_rows(test_all.size(), o.eval_docs, o.train.seed));
    EvalSettings es;
    es.ais_runs = o.ais_runs;
    es.ais_steps = o.ais_steps;
    es.seed = o.train.seed;
    es.quiet = o.quiet;
    j["test"] = evaluate(m, test, &d, es);
    j["test"]["data"] = test_all.source;
    if (o.classify_epochs > 0)
      j["classification"] = classify(m, d, test_all, o.classify_epochs, o.quiet);
  }
  write_json_file(o.json, j);
}

// ---- rsm-eval ----

struct RsmEvalOptions : EvalRequest {
  int64_t docs = 0;
  std::string train_data;
  int classify_epochs = 50;
  bool exact = false;
};

void run_rsm_eval(const RsmEvalOptions& o) {
  auto backend = open_backend(o.device, o.threads);
  Metadata md;
  const SoftmaxRbm m = load_softmax_rbm(*backend, o.model, &md);
  const Dataset all = load_counts(o.data, o.limit);
  const Dataset data = take(all, choose_rows(all.size(), o.docs, o.seed));
  std::optional<Dataset> train;
  if (!o.train_data.empty()) train = load_counts(o.train_data, 0);
  EvalSettings es;
  es.ais_runs = o.ais_runs;
  es.ais_steps = o.ais_steps;
  es.exact = o.exact;
  es.seed = o.seed;
  es.quiet = o.quiet;
  nlohmann::json j = evaluate(m, data, train ? &*train : nullptr, es);
  j["model"] = o.model;
  j["data"] = all.source;
  if (o.docs > 0) j["subset_seed"] = o.seed;
  if (train && !train->labels.empty() && !all.labels.empty() && o.classify_epochs > 0) {
    j["classification"] = classify(m, *train, all, o.classify_epochs, o.quiet);
  }
  write_json_file(o.json, j);
  if (o.quiet && o.json.empty()) fmt::print("{}\n", j.dump(2));
}

// --ais-runs and --ais-steps of rsm-train and rsm-eval: an AIS per document length.
void describe_per_length(const AisOptions& o) {
  o.runs->description("AIS runs per document length");
  o.steps->description("AIS steps per length (0 = the authors' 14,500)");
}

}  // namespace

int eval_softmax_model(const EvalRequest& r) {
  RsmEvalOptions o;
  static_cast<EvalRequest&>(o) = r;
  run_rsm_eval(o);
  return 0;
}

void transform_softmax_model(const std::string& model_path, const std::string& data_spec,
                             int64_t limit, const std::string& out, const std::string& device,
                             int threads) {
  auto backend = open_backend(device, threads);
  const SoftmaxRbm m = load_softmax_rbm(*backend, model_path);
  const Dataset d = load_counts(data_spec, limit);
  if (d.dim() != m.visible()) {
    CRBM_FAIL(d.source, ": ", d.dim(), " columns, but '", model_path, "' has ", m.visible(),
              " visible units");
  }
  check_softmax_input(d, m.kind(), m.group());
  const HostTensor h = hidden_probabilities(m, d.x);
  write_npy(out, h);
  fmt::print("wrote {}: float32 [{}, {}] = P(h=1|v) of {} under {}\n", out, h.rows(), h.cols(),
             d.source, model_path);
}

namespace {

void register_rsm(CLI::App& app) {
  {
    auto [cmd, o] = add_command<RsmTrainOptions>(
        app, "rsm-train",
        "Train a replicated-softmax model of word counts (or an RBM with K-way softmax visible "
        "groups) with CD-k.\nExample: crbm rsm-train --data newsgroups:DIR:train --hidden 50 "
        "--test newsgroups:DIR:test --eval-docs 200 --out rsm.safetensors",
        [](CLI::App* cmd, RsmTrainOptions& o) {
          apply_config_file(cmd, o.config);
          run_rsm_train(o);
        });
    add_config_option(cmd, o->config);
    add_data_options(cmd, o->data, o->limit,
                     "Documents: docword:FILE, newsgroups:DIR[:train|test], builtin:docs, or "
                     "any count matrix (npy:)",
                     "documents");
    cmd->add_option("--kind", o->kind, "replicated (word counts) or groups (one-hot groups)")
        ->check(CLI::IsMember({"replicated", "groups"}))
        ->capture_default_str()
        ->group(kGroupModel);
    cmd->add_option("--group", o->group, "groups: states K per softmax group")->group(kGroupModel);
    cmd->add_option("--hidden", o->hidden, "Hidden units")
        ->capture_default_str()
        ->group(kGroupModel);
    cmd->add_option("--init-std", o->init_std, "Initial weight stddev")
        ->capture_default_str()
        ->group(kGroupModel);
    add_cd_options(cmd, o->train, kCdSampleNegative);
    const SgdOptions sgd = add_sgd_options(cmd, o->train, kSgdMomentum | kSgdL1 | kSgdSeed);
    sgd.epochs->check(CLI::PositiveNumber);
    sgd.seed->description("Seed (initialisation, shuffling, sampling, AIS)");
    add_compute_options(cmd, o->device, o->threads);
    add_output_options(cmd, &o->out, &o->metrics, &o->json, &o->quiet);
    cmd->add_option("--test", o->test, "Held-out documents: perplexity after training")
        ->group(kGroupOutput);
    cmd->add_option("--eval-docs", o->eval_docs,
                    "Evaluate a random subset of this many test documents (0 = all)")
        ->group(kGroupOutput);
    cmd->add_option("--classify-epochs", o->classify_epochs,
                    "With --test and labels: logistic regression on P(h|v), this many epochs")
        ->group(kGroupOutput);
    describe_per_length(add_ais_options(cmd, o->ais_runs, o->ais_steps, kGroupOutput));
  }
  {
    auto [cmd, o] = add_command<RsmEvalOptions>(
        app, "rsm-eval",
        "Estimate log p(v) and the perplexity of documents under a softmax RBM (AIS per "
        "document length, exact for <= 20 hidden units).\nExample: crbm rsm-eval rsm.safetensors "
        "--data newsgroups:DIR:test --docs 200 --train-data newsgroups:DIR:train",
        run_rsm_eval);
    add_model_argument(cmd, "model", o->model, "Checkpoint written by rsm-train");
    add_data_options(cmd, o->data, o->limit, "Documents to evaluate", "documents").data->required();
    cmd->add_option("--docs", o->docs, "A random subset of this many documents (0 = all)")
        ->group(kGroupData);
    cmd->add_option("--train-data", o->train_data,
                    "Training documents: a unigram baseline, and (with labels) a logistic "
                    "regression on P(h|v) tested on --data")
        ->group(kGroupData);
    cmd->add_option("--classify-epochs", o->classify_epochs, "Epochs of the logistic regression")
        ->capture_default_str()
        ->group(kGroupOutput);
    cmd->add_flag("--exact", o->exact, "Enumerate the hidden layer (at most 24 units)")
        ->group(kGroupOutput);
    describe_per_length(
        add_eval_request_options(cmd, *o, {kGroupOutput, 1, "Seed (subset, AIS)"}).ais);
  }
}

const SubcommandRegistrar kRegistrar{75, register_rsm};

}  // namespace
}  // namespace crbm::tools
