// The steps of `crbm train --data mnist:DIR` before its first update, timed one by one
// in CPU seconds (this process) and wall seconds, old way against new where both exist:
// gzip decode, IDX parse and float conversion, the float and the uint8 load, the hold-out
// split, the visible-bias means (column-strided as before, row-wise now), the stochastic
// binarization of the likelihood copy (made before whether needed or not), and the epoch's
// minibatch source (one shuffled float copy of the data set vs per-minibatch conversion).
//   usage: startup_phases MNIST_DIR   (docs/results/startup.md)
#include <fmt/format.h>
#include <time.h>

#include <cstdio>
#include <functional>
#include <string>

#include "crbm/atomic_file.hpp"
#include "crbm/data.hpp"
#include "crbm/train.hpp"

namespace {

double clock_seconds(clockid_t id) {
  timespec t{};
  clock_gettime(id, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void timed(const char* what, const std::function<void()>& fn) {
  const double c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_seconds(CLOCK_MONOTONIC);
  fn();
  const double c1 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID), w1 = clock_seconds(CLOCK_MONOTONIC);
  fmt::print("{:7.3f} s cpu  {:7.3f} s wall  {}\n", c1 - c0, w1 - w0, what);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: startup_phases MNIST_DIR\n");
    return 2;
  }
  const std::string dir = argv[1], images = dir + "/train-images-idx3-ubyte.gz";
  const std::string spec = "mnist:" + dir;
  size_t sink = 0;
  timed("gzip decode of the training images (read_file_contents)",
        [&] { sink += crbm::read_file_contents(images).size(); });
  timed("read_idx: decode, parse, uint8 -> float", [&] { sink += crbm::read_idx(images).numel(); });
  crbm::LoadOptions opt;
  opt.unit_interval = true;
  crbm::Dataset f, b;
  timed("load_dataset, float (before): + labels, scale, finite and [0,1] checks",
        [&] { f = crbm::load_dataset(spec, opt); });
  opt.keep_bytes = true;
  timed("load_dataset, uint8 (after): + labels, [0,1] check on bytes",
        [&] { b = crbm::load_dataset(spec, opt); });
  crbm::Dataset fh, bh;
  timed("split_holdout 10%, float", [&] { fh = crbm::split_holdout(f, 0.1, 1); });
  timed("split_holdout 10%, uint8", [&] { bh = crbm::split_holdout(b, 0.1, 1); });
  const int64_t n = f.size(), v = f.dim();
  std::vector<double> means(static_cast<size_t>(v), 0.0);
  timed("visible means, column by column (before)", [&] {
    for (int64_t i = 0; i < v; ++i) {
      double m = 0.0;
      for (int64_t r = 0; r < n; ++r) m += f.x.data[r * v + i];
      means[i] = m / static_cast<double>(n);
    }
  });
  timed("visible means, uint8 row by row (after)", [&] { means = b.bytes.column_means(); });
  timed("likelihood copy + stochastic binarization (before; now only when needed)", [&] {
    crbm::HostTensor copy = f.x;
    crbm::binarize_stochastic(copy, 1);
    sink += copy.data.size();
  });
  auto cpu = crbm::make_cpu_backend(1);
  crbm::Matrix data, shuffled, batch;
  timed("upload of the float data (before)", [&] { data = crbm::Matrix::from_host(*cpu, f.x); });
  timed("epoch minibatches: one shuffled float copy (before)", [&] {
    crbm::for_each_shuffled_batch(*cpu, data, shuffled, 1, 0, 100, [&](crbm::CMatRef) {});
  });
  timed("epoch minibatches: uint8 -> float per minibatch (after), all 540", [&] {
    crbm::for_each_shuffled_batch(*cpu, b.bytes, batch, 1, 0, 100, [&](crbm::CMatRef) {});
  });
  return sink == 0 ? 1 : 0;
}
