// Built instead of the CUDA backend when libcrbm is compiled without CUDA.
#include "crbm/backend.hpp"

namespace crbm {

std::unique_ptr<Backend> make_cuda_backend(int /*ordinal*/) {
  CRBM_FAIL(
      "--device cuda: this libcrbm was built without CUDA support "
      "(reconfigure with -DCRBM_CUDA=ON on a machine with the CUDA toolkit)");
}

bool cuda_available() {
  return false;
}

}  // namespace crbm
