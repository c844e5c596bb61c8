// The smallest useful libcrbm program: trains a 16-32 RBM by CD-1 on the
// built-in bars-and-stripes data and prints the exact mean log-likelihood
// (log Z by enumerating the 16 visible units) before and after training.
#include <cstdio>

#include "crbm/data.hpp"
#include "crbm/exact.hpp"
#include "crbm/train.hpp"

int main() {
  try {
    const crbm::Dataset bars = crbm::load_dataset("builtin:bars");
    auto backend = crbm::make_cpu_backend(1);
    crbm::Rbm rbm(*backend, bars.dim(), 32);
    rbm.init_random(/*seed=*/1, 0.01f, &bars.x);
    const crbm::Matrix data = crbm::Matrix::from_host(*backend, bars.x);

    auto log_likelihood = [&] {
      return crbm::mean_log_likelihood(rbm, data, crbm::exact_log_partition(rbm));
    };
    std::printf("before training: exact mean log-likelihood %.4f nats\n", log_likelihood());

    crbm::TrainConfig config;
    config.epochs = 60;
    config.batch_size = 20;
    crbm::CdTrainer trainer(rbm, config);
    for (int epoch = 0; epoch < config.epochs; ++epoch) trainer.train_epoch(data);

    const double ll = log_likelihood();
    std::printf("after %d epochs of CD-%d: exact mean log-likelihood %.4f nats\n", config.epochs,
                config.cd_k, ll);
    return ll > -8.0 ? 0 : 1;  // uniform over 2^16 patterns would be -11.09
  } catch (const crbm::Error& e) {
    std::fprintf(stderr, "crbm_consumer: error: %s\n", e.what());
    return 1;
  }
}
