// Backend selection by name.
#include "crbm/backend.hpp"

namespace crbm {

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return make_cpu_backend();
  if (device == "cuda" || device == "gpu") return make_cuda_backend(0);
  CRBM_FAIL("unknown device '", device, "' (expected cpu or cuda)");
}

namespace {
[[noreturn]] void missing(const Backend& b, const char* op) {
  CRBM_FAIL("backend '", b.describe(), "' does not implement ", op);
}
}  // namespace

void Backend::softmax_groups(MatRef, int64_t) {
  missing(*this, "softmax_groups");
}
void Backend::sample_softmax_groups(CMatRef, int64_t, MatRef, RngKey) {
  missing(*this, "sample_softmax_groups");
}
void Backend::sample_multinomial_counts(CMatRef, CMatRef, MatRef, RngKey) {
  missing(*this, "sample_multinomial_counts");
}
void Backend::multiply(CMatRef, MatRef) {
  missing(*this, "multiply");
}
void Backend::sigmoid_backward(CMatRef, MatRef) {
  missing(*this, "sigmoid_backward");
}

double Backend::mean(CMatRef x) {
  if (x.rows == 0 || x.cols == 0) return 0.0;
  Matrix column_means(*this, 1, x.cols);
  column_sums(x, 1.0f / static_cast<float>(x.rows), 0.0f, column_means);
  double total = 0.0;
  for (float c : column_means.download().data) total += c;
  return total / static_cast<double>(x.cols);
}

}  // namespace crbm
