// Labelled DBMs (a softmax group y on the top layer) against brute-force enumeration of every
// (v, h1, h2[, h3], y) on tiny instances: log Z by enumeration and AIS, the conditionals
// (mean-field fixed points with y clamped and free, Gibbs sampling frequencies), the
// variational lower bound, joint training with labels (labelled likelihood and
// classification), checkpoints and their shape errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "crbm/dbm.hpp"
#include "crbm/safetensors.hpp"
#include "support/dbm_brute_force.hpp"
#include "support/train_configs.hpp"

namespace crbm {
namespace {

// The helpers of support/dbm_brute_force.hpp and support/train_configs.hpp.
using namespace testing;

TEST(DbmLabelExact, LogZMatchesBruteForceOneTwoAndThreeLayers) {
  auto be = make_cpu_backend(1);
  for (const auto& sizes : {std::vector<int64_t>{4, 3}, std::vector<int64_t>{4, 3, 3},
                            std::vector<int64_t>{3, 2, 3, 2}}) {
    const DbmParams p = random_dbm(sizes, 1.5, 41 + sizes.size(), 3);
    Dbm dbm(*be, p);
    ASSERT_EQ(dbm.num_classes(), 3);
    EXPECT_NEAR(dbm.exact_log_partition(), brute_force_dbm(p).log_z, 1e-4)
        << sizes.size() - 1 << " layers";
  }
}

TEST(DbmLabelExact, AisWithinItsBandTwoAndThreeLayers) {
  auto be = make_cpu_backend(1);
  AisConfig c;
  c.runs = 100;
  c.steps = 3000;
  // 2 hidden layers: y summed out with the odd side; 3: y in the chain state.
  for (const auto& sizes : {std::vector<int64_t>{6, 4, 5}, std::vector<int64_t>{4, 3, 4, 3}}) {
    const DbmParams p = random_dbm(sizes, 1.0, 52 + sizes.size(), 4);
    Dbm dbm(*be, p);
    const double exact = brute_force_dbm(p).log_z;
    Matrix data = Matrix::from_host(*be, all_codes(sizes[0]));
    const AisResult r = dbm.ais_log_partition(data, c);
    EXPECT_NEAR(r.log_z, exact, 0.05) << sizes.size() - 1 << " layers";
    EXPECT_LE(r.log_z_low, exact + 0.02) << sizes.size() - 1 << " layers";
    EXPECT_GE(r.log_z_high, exact - 0.02) << sizes.size() - 1 << " layers";
    // The base model's y is uniform: without base data every unit is too, log Z_A =
    // (binary units) log 2 + log K.
    AisConfig tiny;
    tiny.runs = 2;
    tiny.steps = 10;
    int64_t units = 0;
    for (int64_t n : sizes) units += n;
    EXPECT_NEAR(dbm.ais_log_partition(CMatRef{}, tiny).log_z_base,
                double(units) * std::log(2.0) + std::log(4.0), 1e-9);
  }
}

// The top layer's conditional with y (clamped) and P(y | h_L) (y free) at the mean-field
// fixed point, against the formulas computed here from the parameters.
TEST(DbmLabelExact, MeanFieldFixedPointsUseTheLabelConditionals) {
  auto be = make_cpu_backend(1);
  const DbmParams p = random_dbm({5, 4, 3}, 1.0, 61, 3);
  Dbm dbm(*be, p);
  const HostTensor vh = all_codes(5);
  Matrix v = Matrix::from_host(*be, vh);
  HostTensor y({32, 3}, 0.0f);
  for (int64_t r = 0; r < 32; ++r) y.data[r * 3 + r % 3] = 1.0f;
  const Matrix labels = Matrix::from_host(*be, y);
  for (bool clamped : {true, false}) {
    std::vector<Matrix> mu;
    dbm.mean_field(v, 300, mu, nullptr, clamped ? CMatRef(labels) : CMatRef{});
    ASSERT_EQ(mu.size(), clamped ? 2u : 3u);
    const HostTensor m1 = mu[0].download(), m2 = mu[1].download();
    HostTensor q = clamped ? y : mu[2].download();
    double worst = 0;
    for (int64_t r = 0; r < 32; ++r) {
      for (int64_t j = 0; j < 3; ++j) {  // h2 = sigm(mu1 W1 + U y + b2)
        double a = p.biases[2].data[j];
        for (int64_t i = 0; i < 4; ++i) a += m1.data[r * 4 + i] * p.weights[1].data[i * 3 + j];
        for (int64_t k = 0; k < 3; ++k) a += p.label_weights.data[j * 3 + k] * q.data[r * 3 + k];
        worst = std::max(worst, std::abs(sigm(a) - m2.data[r * 3 + j]));
      }
      if (!clamped) {  // q(y) = softmax(mu2 U + c)
        double logit[3], norm = 0;
        for (int64_t k = 0; k < 3; ++k) {
          logit[k] = p.label_bias.data[k];
          for (int64_t j = 0; j < 3; ++j) {
            logit[k] += m2.data[r * 3 + j] * p.label_weights.data[j * 3 + k];
          }
          norm += std::exp(logit[k]);
        }
        for (int64_t k = 0; k < 3; ++k) {
          worst = std::max(worst, std::abs(std::exp(logit[k]) / norm - q.data[r * 3 + k]));
        }
      }
    }
    EXPECT_LT(worst, 1e-5) << (clamped ? "clamped" : "free") << " labels";
  }
}

// Weak weights: mean field is nearly exact, so the bound (with the exact log Z) meets log p(v)
// from below and q(y) meets p(y | v).
TEST(DbmLabelExact, BoundAndLabelPosteriorForWeakWeights) {
  DbmCase t({4, 3, 3}, 0.05, 62, 3);
  Matrix v = Matrix::from_host(*t.be, all_codes(4));
  std::vector<Matrix> mu;
  t.dbm.mean_field(v, 50, mu);
  const HostTensor q = mu[2].download();
  const std::vector<double> bound = t.dbm.lower_bound(v, t.ex.log_z, 50);
  for (int r = 0; r < 16; ++r) {
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(q.data[r * 3 + k], std::exp(t.ex.log_pvy[r][k] - t.ex.log_pv[r]), 2e-3);
    }
    EXPECT_LE(bound[r], t.ex.log_pv[r] + 1e-5) << "code " << r;
    EXPECT_NEAR(bound[r], t.ex.log_pv[r], 2e-3) << "code " << r;
  }
}

TEST(DbmLabelExact, LowerBoundBelowExactForStrongWeights) {
  for (const auto& sizes : {std::vector<int64_t>{4, 3, 3}, std::vector<int64_t>{4, 3, 2, 3}}) {
    DbmCase t(sizes, 2.0, 63 + sizes.size(), 3);
    Matrix v = Matrix::from_host(*t.be, all_codes(4));
    const std::vector<double> bound = t.dbm.lower_bound(v, t.ex.log_z, 30);
    double gap = 0;
    for (int r = 0; r < 16; ++r) {
      EXPECT_LE(bound[r], t.ex.log_pv[r] + 1e-5) << sizes.size() - 1 << " layers, code " << r;
      gap += t.ex.log_pv[r] - bound[r];
    }
    EXPECT_GT(gap, 1e-3) << "strong weights: mean field is not exact";
  }
}

// Gibbs sampling with y (odd side for 2 layers, even side for 3) has the model's v marginal.
TEST(DbmLabelExact, GibbsSamplesFollowTheMarginal) {
  for (const auto& sizes : {std::vector<int64_t>{4, 3, 3}, std::vector<int64_t>{4, 2, 3, 2}}) {
    DbmCase t(sizes, 1.2, 64 + sizes.size(), 3);
    expect_visible_means_match(t.dbm.sample(30000, 100, 3), t.ex, 0.01,
                               std::to_string(sizes.size() - 1) + " layers, ");
  }
}

// Three noisy prototypes on a 3x3 grid: class k has row k on and the rest off, each pixel
// flipped with probability 0.1 (a fixed LCG); 240 rows, classes in turn.
void clusters_with_labels(HostTensor& data, std::vector<int32_t>& labels) {
  data = HostTensor({240, 9});
  labels.clear();
  uint64_t s = 12345;
  for (int64_t r = 0; r < 240; ++r) {
    const int k = int(r % 3);
    for (int i = 0; i < 9; ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const bool flip = double(s >> 11) / double(1ull << 53) < 0.1;
      data.data[r * 9 + i] = float((i / 3 == k) != flip);
    }
    labels.push_back(k);
  }
}

double exact_mean_log_pvy(const DbmParams& p, const HostTensor& data,
                          const std::vector<int32_t>& labels) {
  const DbmBrute ex = brute_force_dbm(p);
  double s = 0;
  for (int64_t r = 0; r < data.rows(); ++r) {
    int code = 0;
    for (int64_t i = 0; i < 9; ++i) code |= int(data.data[r * 9 + i] > 0.5f) << i;
    s += ex.log_pvy[code][labels[r]];
  }
  return s / double(data.rows());
}

TEST(DbmLabelTrain, JointTrainingRaisesLabelledLikelihoodAndClassifies) {
  auto be = make_cpu_backend(1);
  HostTensor data;
  std::vector<int32_t> labels;
  clusters_with_labels(data, labels);
  Dbm dbm(*be, 9, {6, 4}, 3);
  Matrix dm = Matrix::from_host(*be, data);
  const std::vector<TrainConfig> pre(2, sgd_config<TrainConfig>(20, 0.1f, 40));
  dbm.pretrain(dm, pre);
  // Pretraining leaves the label group at zero: q(y) is uniform (argmax: class 0, right for
  // a third of the rows).
  EXPECT_NEAR(dbm.error_rate(dm, labels), 2.0 / 3.0, 1e-9);
  const double pretrained = exact_mean_log_pvy(dbm.to_host(), data, labels);
  DbmTrainConfig jc = dbm_config(20, 50, 0.02f, 60);
  jc.resample_binarization = false;
  DbmTrainer trainer(dbm, jc);
  DbmEpochStats last;
  for (int e = 0; e < jc.epochs; ++e) {
    last = trainer.train_epoch(dm, labels);
  }

  const double joint = exact_mean_log_pvy(dbm.to_host(), data, labels);
  const double error = dbm.error_rate(dm, labels);
  std::printf("exact mean log p(v, y): pretrained %.3f, joint %.3f; error %.3f\n", pretrained,
              joint, error);
  EXPECT_GT(joint, pretrained + 0.5);
  EXPECT_LT(error, 0.2) << "chance is 2/3";
  EXPECT_GE(last.label_error, 0.0);
  EXPECT_LT(last.label_error, 0.2);
  // The bound with the exact log Z stays below the exact log p(v).
  const DbmBrute ex = brute_force_dbm(dbm.to_host());
  const std::vector<double> bound = dbm.lower_bound(dm, ex.log_z, 30);
  for (int64_t r = 0; r < data.rows(); ++r) {
    int code = 0;
    for (int64_t i = 0; i < 9; ++i) code |= int(data.data[r * 9 + i] > 0.5f) << i;
    EXPECT_LE(bound[r], ex.log_pv[code] + 1e-4) << "row " << r;
  }
}

TEST(DbmLabelTrain, TrainerChecksTheLabels) {
  auto be = make_cpu_backend(1);
  HostTensor data;
  std::vector<int32_t> labels;
  clusters_with_labels(data, labels);
  Matrix dm = Matrix::from_host(*be, data);
  Dbm labelled(*be, 9, {4, 3}, 3), plain(*be, 9, {4, 3});
  DbmTrainConfig jc;
  jc.batch_size = 20;
  DbmTrainer a(labelled, jc), b(plain, jc);
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { a.train_epoch(dm); }).find("label"), std::string::npos);
  EXPECT_NE(message([&] { b.train_epoch(dm, labels); }).find("without a label group"),
            std::string::npos);
  std::vector<int32_t> short_labels(labels.begin(), labels.end() - 1);
  EXPECT_NE(message([&] { a.train_epoch(dm, short_labels); }).find("239 labels for 240 rows"),
            std::string::npos);
  std::vector<int32_t> bad = labels;
  bad[5] = 3;
  EXPECT_NE(message([&] { a.train_epoch(dm, bad); }).find("label 3 at row 5"), std::string::npos);
  EXPECT_NE(message([&] { Dbm(*be, 9, {4, 3}, 1); }).find("num_classes"), std::string::npos);
}

TEST(DbmLabelIo, CheckpointRoundTripAndShapeErrors) {
  auto be = make_cpu_backend(1);
  const DbmParams p = random_dbm({4, 3, 2}, 1.0, 71, 5);
  Dbm dbm(*be, p);
  const std::string path = std::string(CRBM_BINARY_DIR) + "/dbm_label_roundtrip.safetensors";
  save_dbm(path, dbm.to_host());
  std::map<std::string, std::string> meta;
  Dbm back(*be, load_dbm_params(path, &meta));
  EXPECT_EQ(meta.at("num_classes"), "5");
  EXPECT_EQ(back.num_classes(), 5);
  EXPECT_EQ(back.label_weights().download().data, p.label_weights.data);
  EXPECT_EQ(back.label_bias().download().data, p.label_bias.data);
  EXPECT_NEAR(back.exact_log_partition(), dbm.exact_log_partition(), 1e-9);

  auto load_error = [&](const std::function<void(SafetensorsFile&)>& edit) {
    SafetensorsFile f = load_safetensors(path);
    edit(f);
    const std::string bad = path + ".bad.safetensors";
    save_safetensors(bad, f);
    std::string what = "no error";
    try {
      load_dbm_params(bad);
    } catch (const Error& e) {
      what = e.what();
    }
    std::remove(bad.c_str());
    return what;
  };
  std::string e = load_error([](SafetensorsFile& f) {
    f.tensors["labels.weights"] = HostTensor({3, 5});
  });
  EXPECT_NE(e.find("labels.weights"), std::string::npos) << e;
  EXPECT_NE(e.find("expected [2,5]"), std::string::npos) << e;
  e = load_error([](SafetensorsFile& f) { f.tensors["labels.bias"] = HostTensor({4}); });
  EXPECT_NE(e.find("labels.bias"), std::string::npos) << e;
  e = load_error([](SafetensorsFile& f) { f.tensors.erase("labels.bias"); });
  EXPECT_NE(e.find("missing tensor 'labels.bias'"), std::string::npos) << e;
  e = load_error([](SafetensorsFile& f) { f.metadata.erase("num_classes"); });
  EXPECT_NE(e.find("is not part of a dbm checkpoint"), std::string::npos) << e;
  e = load_error([](SafetensorsFile& f) { f.metadata["num_classes"] = "1"; });
  EXPECT_NE(e.find("num_classes = 1"), std::string::npos) << e;
  e = load_error([](SafetensorsFile& f) { f.metadata["num_classes"] = "ten"; });
  EXPECT_NE(e.find("'num_classes' is 'ten'"), std::string::npos) << e;
  // Parameters whose label group does not fit the model.
  DbmParams wrong = p;
  wrong.label_weights = HostTensor({3, 5});
  EXPECT_THROW(Dbm(*be, wrong), Error);
  Dbm plain(*be, 4, {3, 2});
  EXPECT_THROW(plain.load(p), Error);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace crbm
