// CPU ratings ops (ratings_ops.hpp): OpenMP over users (up), entries (down) and weight
// rows (stats: each thread owns a range of items, so the scatter needs no atomics and the
// sums run in entry order, deterministically).
#include <algorithm>
#include <cstring>

#include "backend/backend_checks.hpp"
#include "crbm/ratings_ops.hpp"
#include "ratings_math.cuh"

namespace crbm {
namespace {

class CpuRatingsOps final : public RatingsOps {
 public:
  explicit CpuRatingsOps(Backend& backend) : RatingsOps(backend) {}
  std::string describe() const override { return "cpu ratings ops (OpenMP)"; }

  void one_hot(const SparseRows& r, MatRef values) override {
    CRBM_CHECK_THROW(values.rows == r.nnz() && values.cols >= 1, "ratings one_hot: values is ",
                     values.rows, "x", values.cols, " for ", r.nnz(), " entries");
    const int64_t k = values.cols;
    const int32_t* level = r.level();
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < r.nnz(); ++n) {
      float* row = values.data + n * k;
      for (int64_t l = 0; l < k; ++l) row[l] = l == level[n] ? 1.0f : 0.0f;
    }
  }

  void up(const SparseRows& r, CMatRef v, CMatRef w, MatRef h) override {
    check_up(r, v, w, h);
    const int64_t k = v.cols, nh = h.cols;
    const int32_t* off = r.offsets();
    const int32_t* item = r.item();
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t u = 0; u < r.users(); ++u) {
      float* out = h.data + u * nh;
      for (int32_t n = off[u]; n < off[u + 1]; ++n) {
        for (int64_t l = 0; l < k; ++l) {
          const float x = v.data[n * k + l];
          if (x == 0.0f) continue;
          const float* wr = w.data + (int64_t(item[n]) * k + l) * nh;
          for (int64_t j = 0; j < nh; ++j) out[j] += x * wr[j];
        }
      }
    }
  }

  void down(const SparseRows& r, CMatRef h, CMatRef w, CMatRef b, MatRef p) override {
    check_down(r, h, w, b, p);
    const int64_t k = p.cols, nh = h.cols;
    const int32_t* user = r.entry_user();
    const int32_t* item = r.item();
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < r.nnz(); ++n) {
      const int64_t row = int64_t(item[n]) * k;
      ratings_math::level_softmax(w.data + row * nh, b.data != nullptr ? b.data + row : nullptr,
                                  h.data + int64_t(user[n]) * nh, k, nh, p.data + n * k);
    }
  }

  void stats(const SparseRows& r, CMatRef v, CMatRef h, float alpha, MatRef gw,
             MatRef gb) override {
    check_stats(r, v, h, gw, gb);
    const int64_t k = v.cols, nh = h.cols, items = gw.rows / k;
    const int32_t* user = r.entry_user();
    const int32_t* item = r.item();
    // Entries grouped by item (a counting sort), so that each item's rows are written by
    // one thread in entry order.
    std::vector<int64_t> start(size_t(items + 1), 0);
    for (int64_t n = 0; n < r.nnz(); ++n) ++start[size_t(item[n]) + 1];
    for (int64_t i = 0; i < items; ++i) start[size_t(i + 1)] += start[size_t(i)];
    std::vector<int64_t> order(size_t(r.nnz()));
    {
      std::vector<int64_t> fill(start.begin(), start.end() - 1);
      for (int64_t n = 0; n < r.nnz(); ++n) order[size_t(fill[size_t(item[n])]++)] = n;
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < items; ++i) {
      for (int64_t e = start[size_t(i)]; e < start[size_t(i + 1)]; ++e) {
        const int64_t n = order[size_t(e)];
        const float* hr = h.data + int64_t(user[n]) * nh;
        for (int64_t l = 0; l < k; ++l) {
          const float x = alpha * v.data[n * k + l];
          if (x == 0.0f) continue;
          float* g = gw.data + (i * k + l) * nh;
          for (int64_t j = 0; j < nh; ++j) g[j] += x * hr[j];
          if (gb.data != nullptr) gb.data[i * k + l] += x;
        }
      }
    }
  }
};

}  // namespace

std::unique_ptr<RatingsOps> make_cpu_ratings_ops(Backend& backend) {
  return detail::make_ops_on<CpuRatingsOps>(Device::cpu, "make_cpu_ratings_ops", backend);
}

}  // namespace crbm
