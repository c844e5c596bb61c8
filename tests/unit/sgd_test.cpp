// The training core's optimizer (crbm/sgd.hpp): the learning-rate schedules (constant,
// inverse, per-update exponential with its floor), the momentum switch, the validation of
// the SGD fields, the momentum step, and the trainers that follow the schedule (the
// exponential one in the dense trainer, the momentum switch in logistic regression, the
// sparsity term in DBM joint training).
#include "crbm/sgd.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "crbm/backend.hpp"
#include "crbm/dbm.hpp"
#include "crbm/logreg.hpp"
#include "crbm/train.hpp"
#include "support/random_data.hpp"
#include "support/train_configs.hpp"

namespace crbm {
namespace {

TEST(SgdSchedule, ConstantIgnoresEpochsAndUpdates) {
  SgdConfig c;
  c.lr_schedule = LrSchedule::constant;
  c.learning_rate = 0.05f;
  c.lr_decay = 3.0f;  // not used by the constant schedule
  c.lr_decay_rate = 2.0;
  for (int e : {0, 1, 7}) {
    for (int64_t u : {0, 1, 1000}) EXPECT_DOUBLE_EQ(c.learning_rate_at(e, u), 0.05);
  }
}

TEST(SgdSchedule, InverseDividesByOnePlusDecayTimesEpoch) {
  SgdConfig c;
  c.lr_schedule = LrSchedule::inverse;
  c.learning_rate = 0.1f;
  c.lr_decay = 0.5f;
  EXPECT_DOUBLE_EQ(c.learning_rate_at(0, 0), 0.1);
  EXPECT_DOUBLE_EQ(c.learning_rate_at(0, 500), 0.1);  // per epoch, not per update
  EXPECT_DOUBLE_EQ(c.learning_rate_at(1, 0), 0.1 / 1.5);
  EXPECT_DOUBLE_EQ(c.learning_rate_at(4, 9), 0.1 / 3.0);
  c.lr_decay = 0.0f;
  EXPECT_DOUBLE_EQ(c.learning_rate_at(9, 9), 0.1);
}

TEST(SgdSchedule, ExponentialDividesEveryUpdateDownToTheFloor) {
  SgdConfig c;
  c.lr_schedule = LrSchedule::exponential;
  c.learning_rate = 0.1f;
  c.lr_decay_rate = 1.5;
  c.lr_floor = 0.01f;
  // lr <- max(lr / r, floor) applied u times.
  double expected = 0.1;
  for (int64_t u = 0; u <= 12; ++u) {
    EXPECT_NEAR(c.learning_rate_at(0, u), expected, 1e-12 * expected) << "update " << u;
    EXPECT_NEAR(c.learning_rate_at(5, u), expected, 1e-12 * expected) << "epoch is not used";
    expected = std::max(expected / 1.5, 0.01);
  }
  EXPECT_DOUBLE_EQ(c.learning_rate_at(0, 12), 0.01);  // reached the floor and stays there
  EXPECT_DOUBLE_EQ(c.learning_rate_at(0, 1000000), 0.01);
  // The authors' DBM schedule: 1.000015 per update from 0.005, floor 0.0001.
  c.learning_rate = 0.005f;
  c.lr_decay_rate = 1.000015;
  c.lr_floor = 0.0001f;
  EXPECT_NEAR(c.learning_rate_at(0, 100000), 0.005 / std::pow(1.000015, 100000), 1e-15);
  EXPECT_DOUBLE_EQ(c.learning_rate_at(0, 10000000), 0.0001);
}

TEST(SgdSchedule, MomentumSwitchesAfterTheSwitchEpoch) {
  SgdConfig c;
  c.momentum = 0.5f;
  c.final_momentum = 0.9f;
  c.momentum_switch_epoch = 3;
  EXPECT_DOUBLE_EQ(c.momentum_at(0), 0.5);
  EXPECT_DOUBLE_EQ(c.momentum_at(2), 0.5);
  EXPECT_DOUBLE_EQ(c.momentum_at(3), 0.9);
  EXPECT_DOUBLE_EQ(c.momentum_at(40), 0.9);
  const StepRates r = step_rates(c, 3, 0);
  EXPECT_EQ(r.momentum, 0.9f);
  EXPECT_EQ(r.lr, c.learning_rate);
}

TEST(SgdSchedule, ScheduleNamesRoundTripAndUnknownOnesAreNamed) {
  for (LrSchedule s : {LrSchedule::constant, LrSchedule::inverse, LrSchedule::exponential}) {
    EXPECT_EQ(lr_schedule_from_string(to_string(s)), s);
  }
  try {
    lr_schedule_from_string("cosine");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'cosine'"), std::string::npos) << e.what();
  }
}

TEST(SgdValidation, NamesTheConfigurationAndTheField) {
  auto message = [](const SgdConfig& c) {
    try {
      c.validate_sgd("test");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  SgdConfig ok;
  EXPECT_EQ(message(ok), "");
  SgdConfig rate = ok;
  rate.lr_decay_rate = 0.5;
  EXPECT_NE(message(rate).find("invalid test configuration: lr_decay_rate = 0.5"),
            std::string::npos)
      << message(rate);
  SgdConfig floor = ok;
  floor.lr_floor = -1.0f;
  EXPECT_NE(message(floor).find("lr_floor"), std::string::npos);
  SgdConfig sw = ok;
  sw.momentum_switch_epoch = -1;
  EXPECT_NE(message(sw).find("momentum_switch_epoch"), std::string::npos);
  // The trainers' configurations validate their SGD fields the same way.
  LogRegConfig lc;
  lc.sparsity_decay = 1.0f;
  EXPECT_THROW(lc.validate(), Error);
  DbmTrainConfig dc;
  dc.l1_decay = -1.0f;
  EXPECT_THROW(dc.validate(), Error);
}

TEST(SgdStep, MomentumStepAscendsOrDescendsWithDecayOnWeightsOnly) {
  auto be = make_cpu_backend(1);
  SgdConfig c;
  c.weight_decay = 0.1f;
  c.l1_decay = 0.01f;
  const StepRates r{0.5f, 0.25f};
  // p = 2, v = 1, g = 3.
  for (Direction d : {Direction::ascent, Direction::descent}) {
    for (Decay decay : {Decay::none, Decay::weights}) {
      Matrix p(*be, 1, 1), v(*be, 1, 1), g(*be, 1, 1);
      be->fill(p, 2.0f);
      be->fill(v, 1.0f);
      be->fill(g, 3.0f);
      momentum_step(*be, p, v, g, r, c, decay, d);
      // L2 0.1 * p + L1 0.01 * sign(p) on weights; ascent follows g - reg, descent -(g + reg).
      const double reg = decay == Decay::weights ? 0.1 * 2.0 + 0.01 : 0.0;
      const double expect_v =
          d == Direction::ascent ? 0.25 + 0.5 * (3.0 - reg) : 0.25 - 0.5 * (3.0 + reg);
      EXPECT_NEAR(v.download().data[0], expect_v, 1e-6);
      EXPECT_NEAR(p.download().data[0], 2.0 + expect_v, 1e-6);
    }
  }
}

TEST(SgdStep, SparsityTermPullsTheBiasGradientTowardTheTarget) {
  auto be = make_cpu_backend(1);
  SgdConfig c;
  c.sparsity_target = 0.1f;
  c.sparsity_cost = 2.0f;
  c.sparsity_decay = 0.5f;
  ASSERT_TRUE(SparsityTerm::enabled(c));
  SparsityTerm term(*be, 2);
  Matrix grad(*be, 1, 2);
  be->fill(grad, 0.0f);
  be->upload(std::vector<float>{0.3f, 0.1f}.data(), term.batch_mean());
  term.apply(c, grad);  // q = (0.3, 0.1)
  HostTensor g = grad.download();
  EXPECT_NEAR(g.data[0], 2.0 * (0.1 - 0.3), 1e-6);
  EXPECT_NEAR(g.data[1], 0.0, 1e-6);
  be->fill(grad, 0.0f);
  be->upload(std::vector<float>{0.5f, 0.5f}.data(), term.batch_mean());
  term.apply(c, grad);  // q = 0.5 q + 0.5 mean = (0.4, 0.3)
  g = grad.download();
  EXPECT_NEAR(g.data[0], 2.0 * (0.1 - 0.4), 1e-6);
  EXPECT_NEAR(g.data[1], 2.0 * (0.1 - 0.3), 1e-6);
  SgdConfig off;
  EXPECT_FALSE(SparsityTerm::enabled(off));
}

using testing::random_binary;

TEST(SgdTrainers, DenseTrainerFollowsTheExponentialSchedule) {
  auto be = make_cpu_backend(1);
  Rbm rbm(*be, 6, 4);
  rbm.init_random(1, 0.01f, nullptr);
  TrainConfig c;
  c.lr_schedule = LrSchedule::exponential;
  c.learning_rate = 0.1f;
  c.lr_decay_rate = 1.2;
  c.lr_floor = 0.02f;
  c.batch_size = 10;
  CdTrainer trainer(rbm, c);
  Matrix data = Matrix::from_host(*be, random_binary(30, 6, 1));
  const EpochStats first = trainer.train_epoch(data);
  EXPECT_DOUBLE_EQ(first.learning_rate, c.learning_rate_at(0, 0));
  EXPECT_EQ(trainer.updates(), 3);
  EXPECT_NEAR(trainer.current_learning_rate(), 0.1 / std::pow(1.2, 3), 1e-9);
  trainer.train_epoch(data);
  trainer.train_epoch(data);
  EXPECT_NEAR(trainer.current_learning_rate(), std::max(0.1 / std::pow(1.2, 9), 0.02), 1e-9);
  EXPECT_DOUBLE_EQ(trainer.current_learning_rate(), 0.02);
}

// Weights of a 3-class logistic regression after `epochs` epochs of `config`.
HostTensor logreg_weights(LogRegConfig config, int epochs) {
  auto be = make_cpu_backend(1);
  const int64_t n = 60;
  HostTensor x({n, 2});
  std::vector<int32_t> y(n);
  std::mt19937 gen(4);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = int32_t(i % 3);
    x.data[i * 2] = float(y[i]) + nd(gen);
    x.data[i * 2 + 1] = -float(y[i]) + nd(gen);
  }
  Matrix dx = Matrix::from_host(*be, x);
  LogisticRegression clf(*be, 2, 3);
  config.epochs = epochs;
  config.batch_size = 20;
  clf.fit(dx, y, config);
  return clf.weights().download();
}

TEST(SgdTrainers, LogisticRegressionSwitchesMomentum) {
  LogRegConfig constant;  // defaults: momentum 0.9 throughout
  EXPECT_FLOAT_EQ(constant.momentum, 0.9f);
  EXPECT_FLOAT_EQ(constant.final_momentum, 0.9f);
  constant.momentum = 0.5f;
  constant.final_momentum = 0.5f;
  LogRegConfig switching = constant;
  switching.final_momentum = 0.9f;
  switching.momentum_switch_epoch = 1;
  // Epoch 1 uses 0.5 in both; epoch 2 uses 0.9 only in the switching run.
  EXPECT_EQ(logreg_weights(switching, 1).data, logreg_weights(constant, 1).data);
  EXPECT_NE(logreg_weights(switching, 2).data, logreg_weights(constant, 2).data);
  // Switching at epoch 0 is the same as the final momentum throughout.
  LogRegConfig at_zero = switching;
  at_zero.momentum_switch_epoch = 0;
  LogRegConfig final_only = constant;
  final_only.momentum = 0.9f;
  final_only.final_momentum = 0.9f;
  EXPECT_EQ(logreg_weights(at_zero, 2).data, logreg_weights(final_only, 2).data);
  // Switching after the last epoch is the same as no switch.
  LogRegConfig late = switching;
  late.momentum_switch_epoch = 2;
  EXPECT_EQ(logreg_weights(late, 2).data, logreg_weights(constant, 2).data);
}

TEST(SgdTrainers, DbmJointTrainingAppliesTheSparsityTermToEveryHiddenLayer) {
  auto train = [](float target) {
    auto be = make_cpu_backend(1);
    Dbm dbm(*be, 8, {6, 4});
    DbmParams p = dbm.to_host();
    std::mt19937 gen(3);
    std::normal_distribution<float> nd(0.0f, 0.1f);
    for (HostTensor& w : p.weights) {
      for (float& x : w.data) x = nd(gen);
    }
    dbm.load(p);
    DbmTrainConfig c = testing::dbm_config(10, 10, 0.05f, 1);
    c.sparsity_target = target;
    c.sparsity_cost = 5.0f;
    DbmTrainer trainer(dbm, c);
    Matrix data = Matrix::from_host(*be, random_binary(40, 8, 2));
    DbmEpochStats st;
    for (int e = 0; e < 5; ++e) st = trainer.train_epoch(data);
    return st.mean_activation;
  };
  const std::vector<double> free = train(0.0f);
  const std::vector<double> sparse = train(0.02f);
  ASSERT_EQ(free.size(), 2u);
  ASSERT_EQ(sparse.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    EXPECT_LT(sparse[l], free[l] - 0.05) << "hidden layer " << l + 1;
  }
}

}  // namespace
}  // namespace crbm
