// Backend selection by name.
#include "crbm/backend.hpp"

namespace crbm {

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return make_cpu_backend();
  if (device == "cuda" || device == "gpu") return make_cuda_backend(0);
  CRBM_FAIL("unknown device '", device, "' (expected cpu or cuda)");
}

}  // namespace crbm
