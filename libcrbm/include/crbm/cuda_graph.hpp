// CUDA-graph capture and replay of a sequence of Backend operations (e.g. one CD
// training step), to remove per-kernel launch overhead. Usable without CUDA
// headers; in a CPU-only build every call except is_cuda_backend() throws.
//
// Random keys under replay. A captured kernel replays with the arguments it was
// captured with, so an RngKey's `step` would be frozen. To keep replays drawing
// fresh numbers, each CudaGraph owns a device-side 64-bit step counter: while
// capturing, the backend's sampling ops (sample_bernoulli, sample_gaussian,
// fill_uniform, fill_normal) use step = key.step + counter, read on the device
// at run time, and the graph ends with a node that adds `step_stride` to the
// counter. The counter starts at 0, so replay k draws exactly what the eager
// call with key.step + k * step_stride would draw:
//
//   crbm::GraphCapture capture;
//   capture.begin(backend);                  // stride 1: one step per update
//   cd_step(backend, model, batch, RngKey{seed, 0, t0});   // enqueued, not run
//   crbm::CudaGraph graph = capture.end();
//   for (uint64_t t = 0; t < updates; ++t) graph.launch();  // == eager steps t0, t0+1, ...
//
// Use a stride larger than 1 when the captured work calls the ops with key
// steps step, step+1, ..., step+stride-1 (e.g. k Gibbs steps per update).
//
// Rules while capturing (the backend enforces them with a crbm::Error):
// - no allocation, upload, download, gather_rows, sample_multinomial_counts,
//   synchronize, sum_squared_diff, all_finite or mean: they allocate, transfer
//   host memory or synchronise (backend.hpp lists them). Allocate every buffer
//   before begin(); change the data between replays with ops issued outside the
//   graph (e.g. upload the next minibatch into the same matrix). A buffer
//   deallocated while capturing is freed when the capture ends.
// - every buffer the graph touches must outlive the CudaGraph, and the CudaGraph
//   must not outlive its backend.
// Replays are ordered with the backend's other work (same stream) and, like all
// backend ops, asynchronous.
#pragma once

#include <cstdint>
#include <memory>

#include "crbm/backend.hpp"

namespace crbm {

// True for the CUDA backend (the only one that supports graphs).
bool is_cuda_backend(const Backend& backend);

// An instantiated graph plus its replay step counter. Move-only.
class CudaGraph {
 public:
  CudaGraph();
  ~CudaGraph();
  CudaGraph(CudaGraph&&) noexcept;
  CudaGraph& operator=(CudaGraph&&) noexcept;
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  bool empty() const;
  // Enqueues one replay on the backend's stream; replay k uses step offset
  // k * step_stride (k counts from 0 or from set_replay_index).
  void launch();
  // Makes the next launch replay number k (offset k * step_stride), e.g. to resume.
  void set_replay_index(uint64_t k);
  // Number of the next replay (host-side count).
  uint64_t replay_index() const;

  struct Impl;

 private:
  friend class GraphCapture;
  std::unique_ptr<Impl> impl_;
};

// Records backend operations into a CudaGraph. One capture at a time per backend.
class GraphCapture {
 public:
  GraphCapture();
  ~GraphCapture();  // abandons an unfinished capture
  GraphCapture(const GraphCapture&) = delete;
  GraphCapture& operator=(const GraphCapture&) = delete;

  // Starts recording the backend's operations; throws unless it is a CUDA backend.
  void begin(Backend& backend, uint64_t step_stride = 1);
  // Stops recording and instantiates the graph.
  CudaGraph end();
  bool active() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace crbm
