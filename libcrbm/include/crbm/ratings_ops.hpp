// Sparse operations of the ratings RBM (ratings.hpp), an extension op-set beside the
// dense Backend with a CPU and a CUDA implementation (make_ratings_ops picks the one
// of the backend). A minibatch of B users is a CSR on the backend (SparseRows):
// entry n in [offsets[u], offsets[u+1]) is user u's rating of item[n] at level[n].
// Per-entry visible values V [nnz, K] (one-hot data, or softmax probabilities) are a
// dense MatRef; the weights W [I*K, H] have row i*K + k for item i at level k.
//   up:    hidden_pre[u, j] += sum_{n in u} sum_k V[n,k] W[item_n*K + k, j]
//   down:  probs[n, :] = softmax_k(b[item_n*K + k] + sum_j h[u_n, j] W[item_n*K + k, j])
//   stats: grad_w[item_n*K + k, :] += alpha V[n,k] h[u_n, :];  grad_b[item_n*K + k] += alpha V[n,k]
// The conditional variant's "which items were rated" term is the same up/stats with
// K = 1, V = 1 and its own weight matrix D [I, H].
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crbm/backend.hpp"

namespace crbm {

class RatingsOps;

// A CSR minibatch in host memory: offsets [users+1] (offsets[0] = 0), then per entry the
// item and the level index (0..K-1; levels may be empty when only the pattern matters).
struct HostSparseRows {
  std::vector<int32_t> offsets{0};
  std::vector<int32_t> item;
  std::vector<int32_t> level;
  int64_t users() const { return int64_t(offsets.size()) - 1; }
  int64_t nnz() const { return int64_t(item.size()); }
};

// The same CSR in backend memory (move-only), with each entry's user index
// (entry_user [nnz]) so that kernels over entries need no search. The int32 buffer lives
// in a backend Matrix (its bytes, not float values), so it is allocated, uploaded and freed
// like every other backend buffer (counted by BackendCounters; stream-ordered on CUDA). A
// batch of SparseBatches is a view: it owns nothing.
class SparseRows {
 public:
  SparseRows() = default;
  ~SparseRows() = default;
  SparseRows(const SparseRows&) = delete;
  SparseRows& operator=(const SparseRows&) = delete;
  SparseRows(SparseRows&& o) noexcept { swap(o); }
  SparseRows& operator=(SparseRows&& o) noexcept {
    if (this != &o) {
      reset();
      swap(o);
    }
    return *this;
  }
  void reset() noexcept;

  int64_t users() const { return users_; }
  int64_t nnz() const { return nnz_; }
  Device device() const { return device_; }
  const int32_t* offsets() const { return buffer_; }                        // [users+1]
  const int32_t* entry_user() const { return buffer_ + users_ + 1; }        // [nnz]
  const int32_t* item() const { return buffer_ + users_ + 1 + nnz_; }       // [nnz]
  const int32_t* level() const { return buffer_ + users_ + 1 + 2 * nnz_; }  // [nnz]

 private:
  friend class RatingsOps;
  void swap(SparseRows& o) noexcept;
  Matrix storage_;                   // the owned buffer (empty for a view)
  const int32_t* buffer_ = nullptr;  // offsets | entry_user | item | level
  int64_t users_ = 0, nnz_ = 0;
  Device device_ = Device::cpu;
};

// Several CSR minibatches (e.g. one epoch's) in one backend buffer, made by one allocation
// and one upload: batches[i] is a view into `storage`, valid while this object lives.
struct SparseBatches {
  Matrix storage;
  std::vector<SparseRows> batches;
};

class RatingsOps {
 public:
  virtual ~RatingsOps() = default;
  RatingsOps(const RatingsOps&) = delete;
  RatingsOps& operator=(const RatingsOps&) = delete;

  virtual std::string describe() const = 0;
  Backend& backend() const { return *backend_; }

  // Checks the CSR (offsets non-decreasing from 0 to nnz, item in [0, items), level in
  // [0, levels) when present) and copies it to the backend (an explicit transfer).
  SparseRows upload(const HostSparseRows& rows, int64_t items, int64_t levels);
  // The same checks for each of `rows`, and one transfer for all of them.
  SparseBatches upload_batches(const std::vector<HostSparseRows>& rows, int64_t items,
                               int64_t levels);

  // values [nnz, K] = one-hot of each entry's level.
  virtual void one_hot(const SparseRows& rows, MatRef values) = 0;
  // hidden_pre [B, H] += sum over each user's entries of V[n,:] . W[item_n*K + :, :].
  virtual void up(const SparseRows& rows, CMatRef values, CMatRef weights, MatRef hidden_pre) = 0;
  // probs [nnz, K] = per-entry softmax over the K levels of b + W h (b may be empty: 0).
  virtual void down(const SparseRows& rows, CMatRef hidden, CMatRef weights, CMatRef visible_bias,
                    MatRef probs) = 0;
  // grad_w [I*K, H] += alpha V[n,k] h[u_n,:];  grad_b [1, I*K] += alpha V[n,k] (may be empty).
  virtual void stats(const SparseRows& rows, CMatRef values, CMatRef hidden, float alpha,
                     MatRef grad_w, MatRef grad_b) = 0;

 protected:
  explicit RatingsOps(Backend& backend) : backend_(&backend) {}
  // Shape checks shared by the implementations (throw crbm::Error).
  void check_up(const SparseRows& r, CMatRef v, CMatRef w, CMatRef h) const;
  void check_down(const SparseRows& r, CMatRef h, CMatRef w, CMatRef b, CMatRef p) const;
  void check_stats(const SparseRows& r, CMatRef v, CMatRef h, CMatRef gw, CMatRef gb) const;

 private:
  // Checks `r` and appends its layout (offsets | entry_user | item | level) to `out`.
  static void pack(const HostSparseRows& r, int64_t items, int64_t levels,
                   std::vector<int32_t>& out);
  Backend* backend_ = nullptr;
};

// The ops for `backend` (CPU: OpenMP loops; CUDA: kernels/ratings_kernels.cu). The backend
// must outlive the ops and the SparseRows they made.
std::unique_ptr<RatingsOps> make_ratings_ops(Backend& backend);

}  // namespace crbm
