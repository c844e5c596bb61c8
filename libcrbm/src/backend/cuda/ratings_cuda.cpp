// CUDA ratings ops (ratings_ops.hpp) on the CUDA backend's stream: the CSR of each
// minibatch lives in one int32 device buffer; the kernels are in kernels/ratings_kernels.cu.
#include <cuda_runtime.h>

#include <algorithm>

#include "backend/backend_checks.hpp"
#include "backend/cuda/cuda_check.hpp"
#include "crbm/ratings_ops.hpp"
#include "ratings_kernels.cuh"

namespace crbm {
namespace {

namespace rk = cuda::ratings_kernels;

rk::Csr csr_of(const SparseRows& r) {
  rk::Csr c;
  c.users = r.users();
  c.nnz = r.nnz();
  c.offsets = r.offsets();
  c.entry_user = r.entry_user();
  c.item = r.item();
  c.level = r.level();
  return c;
}

class CudaRatingsOps final : public RatingsOps {
 public:
  explicit CudaRatingsOps(Backend& backend)
      : RatingsOps(backend), stream_(static_cast<cudaStream_t>(backend.native_stream())) {}
  std::string describe() const override { return "cuda ratings ops (custom kernels)"; }

  void one_hot(const SparseRows& r, MatRef values) override {
    CRBM_CHECK_THROW(values.rows == r.nnz() && values.cols >= 1, "ratings one_hot: values is ",
                     values.rows, "x", values.cols, " for ", r.nnz(), " entries");
    rk::launch_one_hot(csr_of(r), values.cols, values.data, stream_);
  }
  void up(const SparseRows& r, CMatRef v, CMatRef w, MatRef h) override {
    check_up(r, v, w, h);
    rk::launch_up(csr_of(r), v.data, v.cols, w.data, h.cols, h.data, stream_);
  }
  void down(const SparseRows& r, CMatRef h, CMatRef w, CMatRef b, MatRef p) override {
    check_down(r, h, w, b, p);
    rk::launch_down(csr_of(r), h.data, w.data, b.data, p.cols, h.cols, p.data, stream_);
  }
  void stats(const SparseRows& r, CMatRef v, CMatRef h, float alpha, MatRef gw,
             MatRef gb) override {
    check_stats(r, v, h, gw, gb);
    rk::launch_stats(csr_of(r), v.data, v.cols, h.data, h.cols, alpha, gw.data, gb.data, stream_);
  }

 private:
  cudaStream_t stream_;
};

}  // namespace

std::unique_ptr<RatingsOps> make_cuda_ratings_ops(Backend& backend) {
  return detail::make_ops_on<CudaRatingsOps>(Device::cuda, "make_cuda_ratings_ops", backend);
}

}  // namespace crbm
