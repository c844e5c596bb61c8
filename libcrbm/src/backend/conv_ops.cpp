// ConvShape validation, shape checks shared by the ConvOps implementations, and
// the dispatch from a Backend to its conv ops (CPU always; CUDA only when the
// library was built with it, CRBM_HAVE_CUDA).
#include <fmt/format.h>

#include "crbm/conv.hpp"
#include "crbm/enum_names.hpp"
#include "pool_math.cuh"

namespace crbm {

std::unique_ptr<ConvOps> make_cpu_conv_ops(Backend& backend);
#ifdef CRBM_HAVE_CUDA
std::unique_ptr<ConvOps> make_cuda_conv_ops(Backend& backend, ConvAlgo algo);
bool cuda_conv_has_cudnn();
#endif

void ConvShape::validate() const {
  auto fail_if = [&](bool bad, const char* what) {
    if (bad) CRBM_FAIL("invalid convolution shape (", to_string(), "): ", what);
  };
  fail_if(batch < 0, "negative batch");
  fail_if(channels < 1 || height < 1 || width < 1, "the visible layer needs C, H, W >= 1");
  fail_if(filters < 1, "at least one filter");
  fail_if(filter_size < 1, "filter size must be >= 1");
  fail_if(filter_size > height || filter_size > width, "filter larger than the image");
  fail_if(pool < 1 || pool > pool::kMaxPoolSize, "pool size must be in [1, 8]");
  fail_if(pooled_height() < 1 || pooled_width() < 1,
          "pool size larger than the hidden map (H-F+1, W-F+1)");
}

std::string ConvShape::to_string() const {
  return fmt::format("{}x {}x{}x{}, {} filters {}x{}, pool {}", batch, channels, height, width,
                     filters, filter_size, filter_size, pool);
}

namespace {
constexpr EnumName<ConvAlgo> kConvAlgoNames[] = {{ConvAlgo::automatic, "auto"},
                                                 {ConvAlgo::automatic, "automatic", true},
                                                 {ConvAlgo::custom, "custom"},
                                                 {ConvAlgo::cudnn, "cudnn"}};
}  // namespace

CRBM_ENUM_NAME_FUNCTIONS(ConvAlgo, kConvAlgoNames, parse_conv_algo, "convolution algorithm")

namespace {

void expect(CMatRef m, int64_t rows, int64_t cols, Device device, const char* op,
            const char* what) {
  CRBM_CHECK_THROW(m.rows == rows && m.cols == cols, op, ": ", what, " is ", m.rows, "x", m.cols,
                   ", expected ", rows, "x", cols);
  CRBM_CHECK_THROW(m.device == device, op, ": ", what, " is ", crbm::to_string(m.device),
                   " memory, passed to the ", crbm::to_string(device), " conv ops");
}

}  // namespace

// ---------------------------------------------------------------- the checked layer

void ConvOps::up(const ConvShape& s, CMatRef v, CMatRef w, CMatRef bias, float scale, MatRef h) {
  s.validate();
  const Device d = backend_->device();
  expect(v, s.batch, s.visible_size(), d, "conv up", "visible");
  expect(w, s.filters, s.filter_volume(), d, "conv up", "filters");
  if (bias.data != nullptr) expect(bias, 1, s.filters, d, "conv up", "hidden bias");
  expect(h, s.batch, s.hidden_size(), d, "conv up", "hidden");
  if (s.batch == 0) return;
  up_impl(s, v, w, bias, scale, h);
}

void ConvOps::down(const ConvShape& s, CMatRef h, CMatRef w, MatRef v) {
  s.validate();
  const Device d = backend_->device();
  expect(h, s.batch, s.hidden_size(), d, "conv down", "hidden");
  expect(w, s.filters, s.filter_volume(), d, "conv down", "filters");
  expect(v, s.batch, s.visible_size(), d, "conv down", "visible");
  if (s.batch == 0) return;
  down_impl(s, h, w, v);
}

namespace {

// Logits, and the optional hidden and pooled outputs, of the pooling ops.
void check_pool(const ConvShape& s, CMatRef pre, CMatRef h, CMatRef pooled, Device d) {
  s.validate();
  expect(pre, s.batch, s.hidden_size(), d, "pooling", "hidden logits");
  if (h.data != nullptr) expect(h, s.batch, s.hidden_size(), d, "pooling", "hidden output");
  if (pooled.data != nullptr)
    expect(pooled, s.batch, s.pooled_size(), d, "pooling", "pooled output");
}

}  // namespace

void ConvOps::pool_probs(const ConvShape& s, CMatRef pre, MatRef h, MatRef pooled) {
  check_pool(s, pre, h, pooled, backend_->device());
  CRBM_CHECK_THROW(h.data != nullptr || s.batch == 0, "pool_probs needs a hidden output");
  if (s.batch == 0) return;
  pool_probs_impl(s, pre, h, pooled);
}

void ConvOps::pool_sample(const ConvShape& s, CMatRef pre, MatRef h, MatRef pooled, RngKey key) {
  check_pool(s, pre, h, pooled, backend_->device());
  CRBM_CHECK_THROW(h.data != nullptr || s.batch == 0, "pool_sample needs a hidden output");
  if (s.batch == 0) return;
  pool_sample_impl(s, pre, h, pooled, key);
}

void ConvOps::pool_log_partition(const ConvShape& s, CMatRef pre, MatRef out) {
  const Device d = backend_->device();
  check_pool(s, pre, CMatRef{}, CMatRef{}, d);
  expect(out, s.batch, 1, d, "pool_log_partition", "out");
  if (s.batch == 0) return;
  pool_log_partition_impl(s, pre, out);
}

void ConvOps::weight_grad(const ConvShape& s, CMatRef v, CMatRef h, float alpha, float beta,
                          MatRef grad) {
  s.validate();
  const Device d = backend_->device();
  expect(v, s.batch, s.visible_size(), d, "conv weight_grad", "visible");
  expect(h, s.batch, s.hidden_size(), d, "conv weight_grad", "hidden");
  expect(grad, s.filters, s.filter_volume(), d, "conv weight_grad", "filter gradient");
  weight_grad_impl(s, v, h, alpha, beta, grad);  // an empty batch still scales grad by beta
}

void ConvOps::channel_sums(CMatRef x, int64_t channels, float alpha, float beta, MatRef out) {
  CRBM_CHECK_THROW(channels > 0 && x.cols % channels == 0 && out.size() == channels,
                   "channel_sums: ", x.cols, " columns, ", channels, " channels, output of ",
                   out.size());
  const Device d = backend_->device();
  expect(x, x.rows, x.cols, d, "channel_sums", "input");
  expect(out, out.rows, out.cols, d, "channel_sums", "output");
  channel_sums_impl(x, channels, alpha, beta, out);  // no rows: out = beta * out
}

void ConvOps::channel_bias_activate(MatRef x, int64_t channels, float scale, CMatRef bias,
                                    Activation act) {
  CRBM_CHECK_THROW(channels > 0 && x.cols % channels == 0, "channel_bias_activate: ", x.cols,
                   " columns for ", channels, " channels");
  CRBM_CHECK_THROW(bias.data == nullptr || bias.size() == channels,
                   "channel_bias_activate: bias of ", bias.size(), " for ", channels, " channels");
  const Device d = backend_->device();
  expect(x, x.rows, x.cols, d, "channel_bias_activate", "input");
  if (bias.data != nullptr) expect(bias, bias.rows, bias.cols, d, "channel_bias_activate", "bias");
  if (x.size() == 0) return;
  channel_bias_activate_impl(x, channels, scale, bias, act);
}

void ConvOps::softmax_rows(MatRef x) {
  expect(x, x.rows, x.cols, backend_->device(), "softmax_rows", "input");
  if (x.size() == 0) return;
  backend_->softmax_groups(x, x.cols);
}

std::unique_ptr<ConvOps> make_conv_ops(Backend& backend, ConvAlgo algo) {
  if (backend.device() == Device::cpu) return make_cpu_conv_ops(backend);
#ifdef CRBM_HAVE_CUDA
  return make_cuda_conv_ops(backend, algo);
#else
  (void)algo;
  CRBM_FAIL("convolution ops on the ", to_string(backend.device()),
            " backend: this libcrbm was built without CUDA support");
#endif
}

bool cudnn_available() {
#ifdef CRBM_HAVE_CUDA
  return cuda_conv_has_cudnn();
#else
  return false;
#endif
}

}  // namespace crbm
