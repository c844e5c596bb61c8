// GraphCapture / CudaGraph (crbm/cuda_graph.hpp): stream capture of the CUDA
// backend's stream into a cudaGraph, with a device step counter that the
// sampling kernels add to RngKey::step so that replays draw fresh numbers.
// Built in every configuration; without CUDA the calls throw. A graph remembers the
// backend's product precision (Backend::set_precision) at capture: its cuBLAS nodes keep that
// compute type, so launch() refuses to replay after the precision changed (capture again).
// CdTrainer captures afresh each epoch, so a precision set between epochs is honoured.
#include "crbm/cuda_graph.hpp"

#if defined(CRBM_HAVE_CUDA)
#include <cuda_runtime.h>

#include "backend/cuda/cuda_backend.hpp"
#include "backend/cuda/cuda_check.hpp"
#include "backend_kernels.cuh"
#endif

namespace crbm {

bool is_cuda_backend(const Backend& backend) {
  return backend.device() == Device::cuda;
}

#if defined(CRBM_HAVE_CUDA)

struct CudaGraph::Impl {
  cuda::CudaBackend* backend = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  uint64_t* counter = nullptr;  // device: step offset of the next replay
  uint64_t stride = 1;
  uint64_t next_replay = 0;
  // The backend's product precision when the graph was captured: its cuBLAS nodes keep
  // that compute type, so a replay after set_precision would silently use the old one.
  Precision precision = Precision::fp32;

  ~Impl() {
    cuda::DeviceGuard guard(backend->ordinal());
    // A replay still in flight reads the counter. Only an instantiated graph can
    // have been launched; without one (GraphCapture::end's error path) the stream
    // may still be capturing, and synchronising it would be illegal.
    if (exec != nullptr) (void)cudaStreamSynchronize(backend->stream());
    if (exec != nullptr) (void)cudaGraphExecDestroy(exec);
    if (graph != nullptr) (void)cudaGraphDestroy(graph);
    (void)cudaFree(counter);
    (void)cudaGetLastError();
  }
};

struct GraphCapture::Impl {
  cuda::CudaBackend* backend = nullptr;
  uint64_t* counter = nullptr;
  uint64_t stride = 1;

  // Ends an open capture without keeping the result (error paths, destructor).
  void abandon() noexcept {
    if (backend == nullptr) return;
    cuda::DeviceGuard guard(backend->ordinal());
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(backend->stream(), &status) == cudaSuccess &&
        status != cudaStreamCaptureStatusNone) {
      cudaGraph_t g = nullptr;
      if (cudaStreamEndCapture(backend->stream(), &g) == cudaSuccess && g != nullptr) {
        (void)cudaGraphDestroy(g);
      }
    }
    backend->clear_capture();
    (void)cudaStreamSynchronize(backend->stream());
    (void)cudaFree(counter);
    (void)cudaGetLastError();
    backend = nullptr;
    counter = nullptr;
  }
};

CudaGraph::CudaGraph() = default;
CudaGraph::~CudaGraph() = default;
CudaGraph::CudaGraph(CudaGraph&&) noexcept = default;
CudaGraph& CudaGraph::operator=(CudaGraph&&) noexcept = default;

bool CudaGraph::empty() const {
  return impl_ == nullptr;
}

void CudaGraph::launch() {
  CRBM_CHECK_THROW(impl_ != nullptr, "CudaGraph::launch on an empty graph");
  CRBM_CHECK_THROW(impl_->backend->precision() == impl_->precision,
                   "CudaGraph::launch: the graph was captured with precision ",
                   to_string(impl_->precision), " but the backend is now set to ",
                   to_string(impl_->backend->precision()),
                   " (a captured product keeps its precision); capture the graph again after "
                   "set_precision");
  cuda::DeviceGuard guard(impl_->backend->ordinal());
  CRBM_CUDA_CHECK(cudaGraphLaunch(impl_->exec, impl_->backend->stream()));
  ++impl_->next_replay;
}

void CudaGraph::set_replay_index(uint64_t k) {
  CRBM_CHECK_THROW(impl_ != nullptr, "CudaGraph::set_replay_index on an empty graph");
  cuda::DeviceGuard guard(impl_->backend->ordinal());
  cuda::kernels::launch_set_counter(impl_->counter, k * impl_->stride, impl_->backend->stream());
  impl_->next_replay = k;
}

uint64_t CudaGraph::replay_index() const {
  return impl_ ? impl_->next_replay : 0;
}

GraphCapture::GraphCapture() : impl_(std::make_unique<Impl>()) {}
GraphCapture::~GraphCapture() {
  impl_->abandon();
}

bool GraphCapture::active() const {
  return impl_->backend != nullptr;
}

void GraphCapture::begin(Backend& backend, uint64_t step_stride) {
  CRBM_CHECK_THROW(!active(), "GraphCapture::begin: a capture is already active");
  auto* cuda_backend = dynamic_cast<cuda::CudaBackend*>(&backend);
  CRBM_CHECK_THROW(cuda_backend != nullptr, "GraphCapture needs the cuda backend, got ",
                   to_string(backend.device()));
  CRBM_CHECK_THROW(!cuda_backend->capturing(),
                   "GraphCapture::begin: this backend is already being captured");
  CRBM_CHECK_THROW(step_stride > 0, "GraphCapture::begin: step_stride must be positive");
  cuda::DeviceGuard guard(cuda_backend->ordinal());
  impl_->counter =
      static_cast<uint64_t*>(cuda::malloc_checked(sizeof(uint64_t), "the graph step counter"));
  impl_->backend = cuda_backend;
  impl_->stride = step_stride;
  try {
    // Zeroed on the stream, before (and outside) the capture.
    cuda::kernels::launch_set_counter(impl_->counter, 0, cuda_backend->stream());
    CRBM_CUDA_CHECK(
        cudaStreamBeginCapture(cuda_backend->stream(), cudaStreamCaptureModeThreadLocal));
  } catch (...) {
    // No capture of ours is open; abandon() would end one that someone else
    // started on this stream (e.g. the reason BeginCapture failed). Free the
    // counter unless such a foreign capture is open (syncing/freeing would
    // invalidate it; then the 8 bytes are leaked).
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(cuda_backend->stream(), &status) == cudaSuccess &&
        status == cudaStreamCaptureStatusNone) {
      (void)cudaStreamSynchronize(cuda_backend->stream());
      (void)cudaFree(impl_->counter);
    }
    (void)cudaGetLastError();
    impl_->counter = nullptr;
    impl_->backend = nullptr;
    throw;
  }
  cuda_backend->set_capture(impl_->counter);
}

CudaGraph GraphCapture::end() {
  CRBM_CHECK_THROW(active(), "GraphCapture::end without begin");
  cuda::CudaBackend* backend = impl_->backend;
  cuda::DeviceGuard guard(backend->ordinal());
  auto graph = std::make_unique<CudaGraph::Impl>();
  graph->backend = backend;
  graph->stride = impl_->stride;
  graph->precision = backend->precision();
  try {
    // The last node advances the counter for the next replay.
    cuda::kernels::launch_advance_counter(impl_->counter, impl_->stride, backend->stream());
    cudaGraph_t g = nullptr;
    const cudaError_t e = cudaStreamEndCapture(backend->stream(), &g);
    backend->clear_capture();
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      CRBM_FAIL("CUDA graph capture failed: cudaStreamEndCapture returned ", cudaGetErrorName(e),
                " (", cudaGetErrorString(e),
                "); an operation in the captured region was not capturable");
    }
    graph->graph = g;
    CRBM_CUDA_CHECK(cudaGraphInstantiate(&graph->exec, g, 0));
  } catch (...) {
    graph->counter = nullptr;  // still owned by impl_, freed by abandon()
    graph.reset();
    impl_->abandon();
    throw;
  }
  graph->counter = impl_->counter;
  impl_->counter = nullptr;
  impl_->backend = nullptr;
  CudaGraph result;
  result.impl_ = std::move(graph);
  return result;
}

#else  // CPU-only build

struct CudaGraph::Impl {};
struct GraphCapture::Impl {};

namespace {
[[noreturn]] void no_cuda(const char* what) {
  CRBM_FAIL(what,
            ": this libcrbm was built without CUDA support (CUDA graphs need the cuda "
            "backend)");
}
}  // namespace

CudaGraph::CudaGraph() = default;
CudaGraph::~CudaGraph() = default;
CudaGraph::CudaGraph(CudaGraph&&) noexcept = default;
CudaGraph& CudaGraph::operator=(CudaGraph&&) noexcept = default;
bool CudaGraph::empty() const {
  return true;
}
void CudaGraph::launch() {
  no_cuda("CudaGraph::launch");
}
void CudaGraph::set_replay_index(uint64_t) {
  no_cuda("CudaGraph::set_replay_index");
}
uint64_t CudaGraph::replay_index() const {
  return 0;
}

GraphCapture::GraphCapture() = default;
GraphCapture::~GraphCapture() = default;
void GraphCapture::begin(Backend&, uint64_t) {
  no_cuda("GraphCapture::begin");
}
CudaGraph GraphCapture::end() {
  no_cuda("GraphCapture::end");
}
bool GraphCapture::active() const {
  return false;
}

#endif

}  // namespace crbm
