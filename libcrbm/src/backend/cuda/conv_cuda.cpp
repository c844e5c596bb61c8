// CUDA convolution ops on the CUDA backend's stream: custom kernels
// (kernels/conv_kernels.cu) or cuDNN (up = ConvolutionForward, down =
// ConvolutionBackwardData, weight_grad = ConvolutionBackwardFilter, all in
// cross-correlation mode with strict FP32 FMA math so results match the CPU).
// ConvAlgo::automatic times both paths once per (shape, op) on the first call and
// keeps the faster. cuDNN algorithms are found once per shape (cudnnFind*) and
// cached; the workspace is owned here and grows as needed. cuDNN always sees the
// full valid hidden size; a cropped shape (P does not divide H-F+1) goes through
// a staging buffer that is cropped / zero-padded by a small kernel.
#include <cuda_runtime.h>
#ifdef CRBM_HAVE_CUDNN
#include <cudnn.h>
#endif

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <tuple>

#include "backend/backend_checks.hpp"
#include "backend/cuda/cuda_backend.hpp"
#include "backend/cuda/cuda_check.hpp"
#include "conv_kernels.cuh"
#include "crbm/conv.hpp"

namespace crbm {
namespace {

namespace ck = cuda::conv_kernels;

#ifdef CRBM_HAVE_CUDNN
#define CRBM_CUDNN_CHECK(expr)                                                                 \
  do {                                                                                         \
    const cudnnStatus_t crbm_cudnn_status_ = (expr);                                           \
    if (crbm_cudnn_status_ != CUDNN_STATUS_SUCCESS) {                                          \
      throw ::crbm::Error(::crbm::concat(#expr,                                                \
                                         " failed: ", cudnnGetErrorString(crbm_cudnn_status_), \
                                         " at ", __FILE__, ":", __LINE__));                    \
    }                                                                                          \
  } while (0)

constexpr size_t kMaxWorkspaceBytes = size_t(1) << 30;

// Descriptors and algorithms for one (B, C, H, W, K, F).
struct CudnnPlan {
  cudnnTensorDescriptor_t visible = nullptr;  // [B, C, H, W]
  cudnnTensorDescriptor_t hidden = nullptr;   // [B, K, H-F+1, W-F+1] (valid, uncropped)
  cudnnFilterDescriptor_t filters = nullptr;  // [K, C, F, F]
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t forward{};
  cudnnConvolutionBwdDataAlgo_t backward_data{};
  cudnnConvolutionBwdFilterAlgo_t backward_filter{};
  size_t workspace_bytes = 0;

  CudnnPlan() = default;
  CudnnPlan(const CudnnPlan&) = delete;
  CudnnPlan& operator=(const CudnnPlan&) = delete;
  ~CudnnPlan() {
    if (visible) cudnnDestroyTensorDescriptor(visible);
    if (hidden) cudnnDestroyTensorDescriptor(hidden);
    if (filters) cudnnDestroyFilterDescriptor(filters);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

// First result that succeeded within the workspace limit in strict FP32 FMA math
// (results come fastest first). Each result carries the math type it was timed
// with; a tensor-core one (TF32 / conversion, or DEFAULT_MATH, which permits TF32
// on Ampere and later) would not match the CPU, so only CUDNN_FMA_MATH is taken.
template <typename Perf>
const Perf& pick_algorithm(const Perf* results, int count, const char* what) {
  for (int i = 0; i < count; ++i) {
    if (results[i].status == CUDNN_STATUS_SUCCESS && results[i].memory <= kMaxWorkspaceBytes &&
        results[i].mathType == CUDNN_FMA_MATH) {
      return results[i];
    }
  }
  CRBM_FAIL("cuDNN found no usable ", what, " algorithm (", count,
            " candidates; none succeeded in FP32 FMA math within a 1 GiB workspace)");
}
#endif

using ShapeKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

ShapeKey key_of(const ConvShape& s) {
  return {s.batch, s.channels, s.height, s.width, s.filters, s.filter_size, s.pool};
}

ck::Geometry geometry_of(const ConvShape& s) {
  return ck::Geometry{int(s.batch), int(s.channels),        int(s.height),
                      int(s.width), int(s.filters),         int(s.filter_size),
                      int(s.pool),  int(s.hidden_height()), int(s.hidden_width())};
}

enum OpIndex { kUp = 0, kDown = 1, kGrad = 2 };

// The device of a CUDA backend (the current device for any other kind).
int device_of(Backend& backend) {
  if (auto* cuda_backend = dynamic_cast<cuda::CudaBackend*>(&backend))
    return cuda_backend->ordinal();
  int device = 0;
  CRBM_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

class CudaConvOps final : public ConvOps {
 public:
  CudaConvOps(Backend& backend, ConvAlgo algo)
      : ConvOps(backend),
        stream_(static_cast<cudaStream_t>(backend.native_stream())),
        algo_(algo),
        ordinal_(device_of(backend)) {
    // The backend's stream, the cuDNN handle and every launch belong to the
    // backend's device, which need not be the current one (the backend guards
    // each of its own calls the same way).
    cuda::DeviceGuard guard(ordinal_);
#ifdef CRBM_HAVE_CUDNN
    if (algo_ != ConvAlgo::custom) {
      try {
        CRBM_CUDNN_CHECK(cudnnCreate(&cudnn_));
        CRBM_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
      } catch (const Error&) {
        // The destructor does not run when the constructor throws: free the handle here.
        if (cudnn_ != nullptr) cudnnDestroy(cudnn_);
        cudnn_ = nullptr;
        if (algo_ == ConvAlgo::cudnn) throw;
        algo_ = ConvAlgo::custom;  // automatic without a usable cuDNN: the custom kernels
      }
    }
#else
    if (algo_ == ConvAlgo::cudnn) {
      CRBM_FAIL("conv algorithm 'cudnn': this libcrbm was built without cuDNN");
    }
    if (algo_ == ConvAlgo::automatic) algo_ = ConvAlgo::custom;
#endif
  }

  ~CudaConvOps() override {
#ifdef CRBM_HAVE_CUDNN
    cuda::DeviceGuard guard(ordinal_);
    plans_.clear();
    if (cudnn_ != nullptr) cudnnDestroy(cudnn_);
#endif
  }

  std::string describe() const override {
    return fmt::format("cuda conv ({})", to_string(algo_));
  }

 protected:
  void up_impl(const ConvShape& s, CMatRef visible, CMatRef filters, CMatRef hidden_bias,
               float scale, MatRef hidden_pre) override {
    cuda::DeviceGuard guard(ordinal_);
    run(
        s, kUp,
        [&](ConvAlgo a, MatRef out) {
          if (a == ConvAlgo::custom) {
            ck::launch_up(geometry_of(s), visible.data, filters.data, hidden_bias.data, scale,
                          out.data, stream_);
          } else {
            cudnn_up(s, visible, filters, hidden_bias, scale, out);
          }
        },
        hidden_pre);
  }

  void down_impl(const ConvShape& s, CMatRef hidden, CMatRef filters, MatRef visible_pre) override {
    cuda::DeviceGuard guard(ordinal_);
    run(
        s, kDown,
        [&](ConvAlgo a, MatRef out) {
          if (a == ConvAlgo::custom) {
            ck::launch_down(geometry_of(s), hidden.data, filters.data, out.data, stream_);
          } else {
            cudnn_down(s, hidden, filters, out);
          }
        },
        visible_pre);
  }

  void weight_grad_impl(const ConvShape& s, CMatRef visible, CMatRef hidden, float alpha,
                        float beta, MatRef grad_filters) override {
    cuda::DeviceGuard guard(ordinal_);
    if (s.batch == 0) {
      // Nothing to correlate: grad = beta * grad (cuDNN rejects an empty batch; the
      // custom kernel writes alpha * 0 + beta * grad like the CPU).
      grad_with(ConvAlgo::custom, s, visible, hidden, alpha, beta, grad_filters);
      return;
    }
    // Timing candidates must not accumulate into the caller's gradient: they run
    // with beta = 0 into scratch, the chosen one then runs for real.
    const ConvAlgo chosen = choose(
        s, kGrad,
        [&](ConvAlgo a, MatRef out) { grad_with(a, s, visible, hidden, alpha, 0.0f, out); },
        grad_filters.rows, grad_filters.cols);
    grad_with(chosen, s, visible, hidden, alpha, beta, grad_filters);
  }

  void pool_probs_impl(const ConvShape& s, CMatRef hidden_pre, MatRef hidden_probs,
                       MatRef pooled_on) override {
    cuda::DeviceGuard guard(ordinal_);
    ck::launch_pool_probs(geometry_of(s), hidden_pre.data, hidden_probs.data, pooled_on.data,
                          stream_);
  }

  void pool_sample_impl(const ConvShape& s, CMatRef hidden_pre, MatRef hidden_states,
                        MatRef pooled_states, RngKey key) override {
    cuda::DeviceGuard guard(ordinal_);
    ck::launch_pool_sample(geometry_of(s), hidden_pre.data, hidden_states.data, pooled_states.data,
                           key.seed, key.stream, key.step, stream_);
  }

  void pool_log_partition_impl(const ConvShape& s, CMatRef hidden_pre, MatRef out) override {
    cuda::DeviceGuard guard(ordinal_);
    ck::launch_pool_log_partition(geometry_of(s), hidden_pre.data, out.data, stream_);
  }

  void channel_sums_impl(CMatRef x, int64_t channels, float alpha, float beta,
                         MatRef out) override {
    cuda::DeviceGuard guard(ordinal_);
    ck::launch_channel_sums(x.data, x.rows, channels, x.cols / channels, alpha, beta, out.data,
                            stream_);
  }

  void channel_bias_activate_impl(MatRef x, int64_t channels, float scale, CMatRef bias,
                                  Activation act) override {
    cuda::DeviceGuard guard(ordinal_);
    ck::launch_channel_bias_activate(x.data, x.rows, channels, x.cols / channels, scale, bias.data,
                                     act == Activation::sigmoid, stream_);
  }

 private:
  // Runs `body(algo, out)` with the algorithm chosen for (shape, op).
  template <typename Body>
  void run(const ConvShape& s, OpIndex op, Body body, MatRef out) {
    const ConvAlgo chosen = choose(s, op, body, out.rows, out.cols);
    body(chosen, out);
  }

  // The fixed algorithm, or (automatic) the faster of custom and cuDNN for this
  // shape and op, timed once on scratch outputs of rows x cols (synchronises).
  template <typename Body>
  ConvAlgo choose(const ConvShape& s, OpIndex op, Body body, int64_t rows, int64_t cols) {
    if (algo_ != ConvAlgo::automatic) return algo_;
    auto& entry = choices_[key_of(s)];
    if (entry[op] != ConvAlgo::automatic) return entry[op];
    Matrix scratch(backend(), rows, cols);
    float best = -1.0f;
    ConvAlgo best_algo = ConvAlgo::custom;
    for (ConvAlgo candidate : {ConvAlgo::custom, ConvAlgo::cudnn}) {
      float ms = 0.0f;
      try {
        ms = time_ms([&] { body(candidate, scratch.ref()); });
      } catch (const Error&) {
        continue;  // e.g. the custom up kernel refuses very large filters
      }
      if (best < 0.0f || ms < best) {
        best = ms;
        best_algo = candidate;
      }
    }
    entry[op] = best_algo;
    return best_algo;
  }

  // Events destroyed on every path (a candidate may throw between the records).
  struct Event {
    cudaEvent_t e = nullptr;
    Event() { CRBM_CUDA_CHECK(cudaEventCreate(&e)); }
    ~Event() {
      if (e != nullptr) (void)cudaEventDestroy(e);
    }
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
  };

  template <typename Fn>
  float time_ms(Fn fn) {
    fn();  // warm-up (and the cuDNN plan / algorithm search)
    Event start, stop;
    constexpr int kRepeats = 3;
    CRBM_CUDA_CHECK(cudaEventRecord(start.e, stream_));
    for (int r = 0; r < kRepeats; ++r) fn();
    CRBM_CUDA_CHECK(cudaEventRecord(stop.e, stream_));
    CRBM_CUDA_CHECK(cudaEventSynchronize(stop.e));
    float ms = 0.0f;
    CRBM_CUDA_CHECK(cudaEventElapsedTime(&ms, start.e, stop.e));
    return ms / kRepeats;
  }

  void grad_with(ConvAlgo a, const ConvShape& s, CMatRef visible, CMatRef hidden, float alpha,
                 float beta, MatRef out) {
    if (a == ConvAlgo::custom) {
      ck::launch_weight_grad(geometry_of(s), visible.data, hidden.data, alpha, beta, out.data,
                             stream_);
    } else {
      cudnn_grad(s, visible, hidden, alpha, beta, out);
    }
  }

#ifdef CRBM_HAVE_CUDNN
  CudnnPlan& plan_for(const ConvShape& s) {
    auto it = plans_.find(key_of(s));
    if (it != plans_.end()) return *it->second;
    auto plan = std::make_unique<CudnnPlan>();
    const int b = int(s.batch), c = int(s.channels), k = int(s.filters), f = int(s.filter_size);
    CRBM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->visible));
    CRBM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->visible, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                b, c, int(s.height), int(s.width)));
    CRBM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->hidden));
    CRBM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->hidden, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                b, k, int(s.valid_height()), int(s.valid_width())));
    CRBM_CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->filters));
    CRBM_CUDNN_CHECK(
        cudnnSetFilter4dDescriptor(plan->filters, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, f, f));
    CRBM_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
    CRBM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(plan->conv, 0, 0, 1, 1, 1, 1,
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    // Strict FP32 (no TF32 tensor cores): the results must agree with the CPU path.
    CRBM_CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, CUDNN_FMA_MATH));

    constexpr int kCandidates = 8;
    int returned = 0;
    cudnnConvolutionFwdAlgoPerf_t fwd[kCandidates];
    CRBM_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(cudnn_, plan->visible, plan->filters,
                                                          plan->conv, plan->hidden, kCandidates,
                                                          &returned, fwd));
    const auto& fwd_pick = pick_algorithm(fwd, returned, "convolution forward");
    cudnnConvolutionBwdDataAlgoPerf_t bwd_data[kCandidates];
    CRBM_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(cudnn_, plan->filters, plan->hidden,
                                                               plan->conv, plan->visible,
                                                               kCandidates, &returned, bwd_data));
    const auto& data_pick = pick_algorithm(bwd_data, returned, "convolution backward data");
    cudnnConvolutionBwdFilterAlgoPerf_t bwd_filter[kCandidates];
    CRBM_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(
        cudnn_, plan->visible, plan->hidden, plan->conv, plan->filters, kCandidates, &returned,
        bwd_filter));
    const auto& filter_pick = pick_algorithm(bwd_filter, returned, "convolution backward filter");
    plan->forward = fwd_pick.algo;
    plan->backward_data = data_pick.algo;
    plan->backward_filter = filter_pick.algo;
    plan->workspace_bytes =
        std::max({fwd_pick.memory, data_pick.memory, filter_pick.memory, size_t(0)});
    CudnnPlan& ref = *plan;
    plans_.emplace(key_of(s), std::move(plan));
    return ref;
  }

  void* workspace(size_t bytes) {
    if (bytes == 0) return nullptr;
    const int64_t floats = int64_t((bytes + sizeof(float) - 1) / sizeof(float));
    if (workspace_.size() < floats) workspace_ = Matrix(backend(), 1, floats);
    return workspace_.data();
  }

  // [B, K, H-F+1, W-F+1] staging tensor for cropped shapes.
  float* staging(const ConvShape& s) {
    const int64_t floats = s.batch * s.filters * s.valid_height() * s.valid_width();
    if (staging_.size() < floats) staging_ = Matrix(backend(), 1, floats);
    return staging_.data();
  }

  void cudnn_up(const ConvShape& s, CMatRef visible, CMatRef filters, CMatRef bias, float scale,
                MatRef out) {
    CudnnPlan& plan = plan_for(s);
    float* y = s.cropped() ? staging(s) : out.data;
    const float zero = 0.0f;
    CRBM_CUDNN_CHECK(cudnnConvolutionForward(cudnn_, &scale, plan.visible, visible.data,
                                             plan.filters, filters.data, plan.conv, plan.forward,
                                             workspace(plan.workspace_bytes), plan.workspace_bytes,
                                             &zero, plan.hidden, y));
    if (s.cropped()) {
      ck::launch_copy_top_left(y, s.batch * s.filters, int(s.valid_height()), int(s.valid_width()),
                               out.data, int(s.hidden_height()), int(s.hidden_width()), stream_);
    }
    if (bias.data != nullptr) {
      ck::launch_channel_bias_activate(out.data, s.batch, s.filters, s.hidden_plane(), 1.0f,
                                       bias.data, false, stream_);
    }
  }

  // The hidden tensor as cuDNN wants it: the caller's, or zero-padded to the valid size.
  const float* padded_hidden(const ConvShape& s, CMatRef hidden) {
    if (!s.cropped()) return hidden.data;
    float* y = staging(s);
    ck::launch_copy_top_left(hidden.data, s.batch * s.filters, int(s.hidden_height()),
                             int(s.hidden_width()), y, int(s.valid_height()), int(s.valid_width()),
                             stream_);
    return y;
  }

  void cudnn_down(const ConvShape& s, CMatRef hidden, CMatRef filters, MatRef out) {
    CudnnPlan& plan = plan_for(s);
    const float* dy = padded_hidden(s, hidden);
    const float one = 1.0f, zero = 0.0f;
    CRBM_CUDNN_CHECK(cudnnConvolutionBackwardData(
        cudnn_, &one, plan.filters, filters.data, plan.hidden, dy, plan.conv, plan.backward_data,
        workspace(plan.workspace_bytes), plan.workspace_bytes, &zero, plan.visible, out.data));
  }

  void cudnn_grad(const ConvShape& s, CMatRef visible, CMatRef hidden, float alpha, float beta,
                  MatRef out) {
    CudnnPlan& plan = plan_for(s);
    const float* dy = padded_hidden(s, hidden);
    CRBM_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        cudnn_, &alpha, plan.visible, visible.data, plan.hidden, dy, plan.conv,
        plan.backward_filter, workspace(plan.workspace_bytes), plan.workspace_bytes, &beta,
        plan.filters, out.data));
  }

  cudnnHandle_t cudnn_ = nullptr;
  std::map<ShapeKey, std::unique_ptr<CudnnPlan>> plans_;
  Matrix workspace_, staging_;
#else
  [[noreturn]] void no_cudnn() const {
    CRBM_FAIL("this libcrbm was built without cuDNN");
  }
  void cudnn_up(const ConvShape&, CMatRef, CMatRef, CMatRef, float, MatRef) {
    no_cudnn();
  }
  void cudnn_down(const ConvShape&, CMatRef, CMatRef, MatRef) {
    no_cudnn();
  }
  void cudnn_grad(const ConvShape&, CMatRef, CMatRef, float, float, MatRef) {
    no_cudnn();
  }
#endif

  cudaStream_t stream_;
  ConvAlgo algo_;
  int ordinal_;  // the backend's device
  std::map<ShapeKey, std::array<ConvAlgo, 3>> choices_;
};

}  // namespace

std::unique_ptr<ConvOps> make_cuda_conv_ops(Backend& backend, ConvAlgo algo) {
  return detail::make_ops_on<CudaConvOps>(Device::cuda, "make_cuda_conv_ops", backend, algo);
}

bool cuda_conv_has_cudnn() {
#ifdef CRBM_HAVE_CUDNN
  return true;
#else
  return false;
#endif
}

}  // namespace crbm
