// The parts of the ratings ops shared by both implementations: the checked upload of
// CSR minibatches (offsets | entry_user | item | level in one int32 buffer), the shape
// checks, and the dispatch from a Backend to its ratings ops.
#include "crbm/ratings_ops.hpp"

#include <algorithm>

namespace crbm {

std::unique_ptr<RatingsOps> make_cpu_ratings_ops(Backend& backend);
#ifdef CRBM_HAVE_CUDA
std::unique_ptr<RatingsOps> make_cuda_ratings_ops(Backend& backend);
#endif

void SparseRows::reset() noexcept {
  storage_.reset();
  buffer_ = nullptr;
  users_ = nnz_ = 0;
}

void SparseRows::swap(SparseRows& o) noexcept {
  std::swap(storage_, o.storage_);
  std::swap(buffer_, o.buffer_);
  std::swap(users_, o.users_);
  std::swap(nnz_, o.nnz_);
  std::swap(device_, o.device_);
}

void RatingsOps::pack(const HostSparseRows& r, int64_t items, int64_t levels,
                      std::vector<int32_t>& out) {
  const int64_t users = r.users(), nnz = r.nnz();
  CRBM_CHECK_THROW(users >= 0 && r.offsets.front() == 0 && r.offsets.back() == nnz,
                   "sparse rows: offsets must run from 0 to the ", nnz, " entries");
  CRBM_CHECK_THROW(r.level.empty() || int64_t(r.level.size()) == nnz,
                   "sparse rows: ", r.level.size(), " levels for ", nnz, " entries");
  const size_t base = out.size();
  out.resize(base + size_t(users + 1 + 3 * nnz), 0);
  int32_t* offsets = out.data() + base;
  for (int64_t u = 0; u <= users; ++u) offsets[u] = r.offsets[size_t(u)];
  int32_t* entry_user = offsets + users + 1;
  int32_t* item = entry_user + nnz;
  int32_t* level = item + nnz;
  for (int64_t u = 0; u < users; ++u) {
    const int32_t lo = r.offsets[size_t(u)], hi = r.offsets[size_t(u + 1)];
    CRBM_CHECK_THROW(lo <= hi, "sparse rows: offsets decrease at user ", u);
    for (int32_t n = lo; n < hi; ++n) entry_user[n] = int32_t(u);
  }
  for (int64_t n = 0; n < nnz; ++n) {
    const int32_t i = r.item[size_t(n)];
    CRBM_CHECK_THROW(i >= 0 && i < items, "sparse rows: entry ", n, " has item ", i,
                     ", outside [0, ", items, ")");
    item[n] = i;
    if (!r.level.empty()) {
      const int32_t k = r.level[size_t(n)];
      CRBM_CHECK_THROW(k >= 0 && k < levels, "sparse rows: entry ", n, " has level ", k,
                       ", outside [0, ", levels, ")");
      level[n] = k;
    }
  }
}

SparseBatches RatingsOps::upload_batches(const std::vector<HostSparseRows>& rows, int64_t items,
                                         int64_t levels) {
  static_assert(sizeof(int32_t) == sizeof(float), "the CSR ints are stored in float memory");
  if (rows.empty()) return SparseBatches{};
  std::vector<int32_t> host;
  std::vector<size_t> starts;
  for (const HostSparseRows& r : rows) {
    starts.push_back(host.size());
    pack(r, items, levels, host);
  }
  SparseBatches out;
  // At least one element, so that even an empty batch has a (non-null) buffer.
  out.storage = Matrix(backend(), std::max<int64_t>(int64_t(host.size()), 1), 1);
  // The bytes are copied as they are (memcpy / cudaMemcpyAsync), never read as floats.
  if (!host.empty()) {
    backend().upload(reinterpret_cast<const float*>(host.data()),
                     out.storage.rows_view(0, int64_t(host.size())));
  }
  const int32_t* base = reinterpret_cast<const int32_t*>(out.storage.data());
  for (size_t b = 0; b < rows.size(); ++b) {
    SparseRows view;
    view.buffer_ = base + starts[b];
    view.users_ = rows[b].users();
    view.nnz_ = rows[b].nnz();
    view.device_ = backend().device();
    out.batches.push_back(std::move(view));
  }
  return out;
}

SparseRows RatingsOps::upload(const HostSparseRows& r, int64_t items, int64_t levels) {
  SparseBatches packed = upload_batches({r}, items, levels);
  SparseRows out = std::move(packed.batches.front());
  out.storage_ = std::move(packed.storage);
  return out;
}

namespace {

void expect(CMatRef m, int64_t rows, int64_t cols, Device device, const char* op,
            const char* what) {
  CRBM_CHECK_THROW(m.rows == rows && m.cols == cols, op, ": ", what, " is ", m.rows, "x", m.cols,
                   ", expected ", rows, "x", cols);
  CRBM_CHECK_THROW(m.size() == 0 || m.device == device, op, ": ", what, " lives on ",
                   to_string(m.device), ", the ops on ", to_string(device));
}

void expect_rows(const SparseRows& r, Device device, const char* op) {
  CRBM_CHECK_THROW(r.device() == device, op, ": the sparse rows live on ", to_string(r.device()),
                   ", the ops on ", to_string(device));
}

// The checks up and stats share: the sparse rows on the ops' device, k = v.cols >= 1 levels
// with `rows` (the weights' or the gradient's, `rows_what`) a multiple of k, the values
// [nnz x k] and the hidden units [users x hidden].
void expect_values_and_hidden(const SparseRows& r, CMatRef v, CMatRef h, int64_t rows,
                              int64_t hidden, Device d, const char* op, const char* rows_what) {
  expect_rows(r, d, op);
  const int64_t k = v.cols;
  CRBM_CHECK_THROW(k >= 1 && rows % k == 0, op, ": ", rows, " ", rows_what,
                   " rows are not items x ", k, " levels");
  expect(v, r.nnz(), k, d, op, "values");
  expect(h, r.users(), hidden, d, op, "hidden");
}

}  // namespace

void RatingsOps::check_up(const SparseRows& r, CMatRef v, CMatRef w, CMatRef h) const {
  const Device d = backend().device();
  expect_values_and_hidden(r, v, h, w.rows, w.cols, d, "ratings up", "weight");
  expect(w, w.rows, h.cols, d, "ratings up", "weights");
}

void RatingsOps::check_down(const SparseRows& r, CMatRef h, CMatRef w, CMatRef b, CMatRef p) const {
  const Device d = backend().device();
  expect_rows(r, d, "ratings down");
  const int64_t k = p.cols;
  CRBM_CHECK_THROW(k >= 1 && k <= 32 && w.rows % k == 0, "ratings down: ", k,
                   " levels (1..32) and ", w.rows, " weight rows");
  expect(p, r.nnz(), k, d, "ratings down", "probs");
  expect(h, r.users(), w.cols, d, "ratings down", "hidden");
  if (b.data != nullptr) expect(b, 1, w.rows, d, "ratings down", "visible bias");
}

void RatingsOps::check_stats(const SparseRows& r, CMatRef v, CMatRef h, CMatRef gw,
                             CMatRef gb) const {
  const Device d = backend().device();
  expect_values_and_hidden(r, v, h, gw.rows, gw.cols, d, "ratings stats", "gradient");
  if (gb.data != nullptr) expect(gb, 1, gw.rows, d, "ratings stats", "bias gradient");
}

std::unique_ptr<RatingsOps> make_ratings_ops(Backend& backend) {
  if (backend.device() == Device::cpu) return make_cpu_ratings_ops(backend);
#ifdef CRBM_HAVE_CUDA
  return make_cuda_ratings_ops(backend);
#else
  CRBM_FAIL("ratings ops on a ", to_string(backend.device()),
            " backend: this libcrbm was built without CUDA");
#endif
}

}  // namespace crbm
