#include "support/tensor_check.hpp"

#include <cmath>
#include <limits>

namespace crbm::testing {

Matrix put(Backend& backend, const HostTensor& t) {
  Matrix m(backend, t.dim(0), t.dim(1));
  m.upload(t);
  return m;
}

Comparison compare(const HostTensor& got, const HostTensor& want, double floor) {
  Comparison c;
  EXPECT_EQ(got.numel(), want.numel());
  if (got.numel() != want.numel()) {
    c.max_error = std::numeric_limits<double>::infinity();
    return c;
  }
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.data[size_t(i)];
    const double w = want.data[size_t(i)];
    double e = std::abs(g - w) / std::max(std::abs(w), floor);
    if (std::isnan(g) || std::isnan(w)) e = std::numeric_limits<double>::infinity();
    if (e > c.max_error || c.index < 0) {
      c.max_error = e;
      c.index = i;
      c.got = got.data[size_t(i)];
      c.want = want.data[size_t(i)];
    }
  }
  return c;
}

double max_rel_error(const HostTensor& got, const HostTensor& want) {
  return compare(got, want).max_error;
}

}  // namespace crbm::testing
