// One table of cases for every Backend op and every ConvOps op (after ggml's
// test-backend-ops): each OpCase names an op, its shapes and its parameters.
// tests/parity/op_table_test.cpp runs every case on the CPU against plain loops
// and on every other backend against the CPU; bench/bench_ops.cpp times the same
// cases. The table covers empty shapes (0xN, Nx0, batch 0), odd sizes, sizes
// above the CPU backend's parallel threshold (16384 elements), every gemm
// transpose, softmax group sizes, pooling shapes (cropped maps, P = 1..8) and
// RNG keys with a large step and stream.
//
// Operand roles (OpData::in, in order; outputs as OpRunner::outputs returns them):
//   upload_download  in: x                           out: x read back
//   copy             in: src, dst                    out: dst
//   fill             in: dst (value = scale)         out: dst
//   gemm             in: A, B, C (stored shapes)     out: C
//   axpby            in: x, y                        out: y
//   column_sums      in: x, out0 [1, cols]           out: out
//   row_reduce       in: x                           out: [rows, 1]
//   scale_add_activate in: x, col_scale, bias        out: x
//   momentum_update  in: param, velocity, grad       out: param, velocity
//   sample_bernoulli in: probs                       out: states
//   sample_gaussian  in: mean, col_sigma             out: draws
//   fill_uniform, fill_normal, fill_binary_codes     out: the filled matrix
//   softmax_groups   in: x                           out: x
//   sample_softmax_groups in: probs (group softmax)  out: one-hot states
//   sample_multinomial_counts in: probs, totals      out: counts
//   multiply         in: a, y                        out: y
//   sigmoid_backward in: h, delta                    out: delta
//   gather_rows      in: src (+ OpData::index)       out: dst
//   sum_squared_diff in: a, b                        scalar
//   all_finite       in: x (maybe poisoned)          scalar (1 = all finite)
//   mean             in: x                           scalar
//   ais_hidden_step  in: pre, hidden_bias, betas, dv, log_w (k = the step)
//                                                    out: log_w[, hidden states]
//   ais_visible_step in: v (= W h), base_bias, bias, sigma, d, inv_sigma, betas
//                                                    out: v, dv[, scaled]
//   conv_up          in: v, W, bias                  out: hidden_pre
//   conv_down        in: h, W                        out: visible_pre
//   conv_pool_probs  in: hidden_pre                  out: hidden_probs[, pooled_on]
//   conv_pool_sample in: hidden_pre                  out: hidden_states[, pooled_states]
//   conv_pool_log_partition in: hidden_pre           out: [B, 1]
//   conv_weight_grad in: v, h, grad0                 out: grad
//   conv_channel_sums in: x, out0 [1, channels]      out: out
//   conv_channel_bias_activate in: x, bias           out: x
//   conv_softmax_rows in: x                          out: x
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/conv.hpp"

namespace crbm::op_cases {

enum class Op {
  upload_download,
  copy,
  fill,
  gemm,
  axpby,
  column_sums,
  row_reduce,
  scale_add_activate,
  momentum_update,
  sample_bernoulli,
  sample_gaussian,
  fill_uniform,
  fill_normal,
  fill_binary_codes,
  softmax_groups,
  sample_softmax_groups,
  sample_multinomial_counts,
  multiply,
  sigmoid_backward,
  gather_rows,
  sum_squared_diff,
  all_finite,
  mean,
  ais_hidden_step,
  ais_visible_step,
  conv_up,
  conv_down,
  conv_pool_probs,
  conv_pool_sample,
  conv_pool_log_partition,
  conv_weight_grad,
  conv_channel_sums,
  conv_channel_bias_activate,
  conv_softmax_rows,
};

const char* to_string(Op op);
bool is_conv(Op op);
// Ops that shrink their operand each time they run (multiply, sigmoid_backward):
// repeated runs reach denormals unless the bench restores the operand in between.
bool decays_when_repeated(Op op);
// Ops that return a host value (synchronise).
bool returns_scalar(Op op);

// Where all_finite's input gets a non-finite value.
enum class Poison { none, nan_first, inf_last, minus_inf_last, nan_last };

struct OpCase {
  Op op = Op::copy;
  std::string name;  // op + shape + parameters, [A-Za-z0-9_] (a gtest parameter name)
  // The op's main matrix: gemm's C, column_sums' input, a sampler's output, ...
  int64_t rows = 0;
  int64_t cols = 0;
  // gemm: inner dimension k; gather_rows: rows of the source; AIS ops: the step (index into
  // the schedule kAisBetas).
  int64_t k = 0;
  bool trans_a = false;
  bool trans_b = false;
  float alpha = 1.0f;  // gemm, axpby, column_sums, weight_grad, channel_sums
  float beta = 0.0f;   // same ops
  // scale_add_activate's and channel_bias_activate's scale, conv up's scale, fill's value.
  float scale = 1.0f;
  int64_t group = 0;  // softmax groups; channel ops: the number of channels
  RowReduce reduce = RowReduce::sum;
  Activation act = Activation::linear;
  bool with_col_scale = false;  // scale_add_activate; sample_gaussian's col_sigma
  bool with_bias = false;       // scale_add_activate, conv up, channel_bias_activate
  bool with_pooled = true;      // pool_probs / pool_sample write the pooled output
  float lo = -1.0f;             // range of the random input values
  float hi = 1.0f;
  // momentum_update
  float lr = 0.05f;
  float momentum = 0.9f;
  float l2 = 2e-4f;
  float l1 = 0.0f;
  // fill_normal
  float normal_mean = 0.0f;
  float normal_stddev = 1.0f;
  uint64_t first = 0;  // fill_binary_codes
  Poison poison = Poison::none;
  int64_t max_total = 300;  // sample_multinomial_counts: totals drawn in [0, max_total]
  RngKey key{};             // random ops
  // AIS ops: the hidden half samples the hidden units (false: the last step, weights only);
  // the visible half's draw (with_col_scale: Gaussian sigma given; with_bias: scaled output).
  bool ais_transition = true;
  UnitDraw draw = UnitDraw::bernoulli;
  ConvShape conv{};  // conv ops

  // Elements the op produces (or reads, for host-returning reductions): the
  // benches' items per iteration.
  int64_t work_items() const;
};

// gtest prints a case by its name.
void PrintTo(const OpCase& c, std::ostream* os);

// The schedule of the AIS op cases: early, coarse (the jump 0.001 -> 0.5 takes the large-delta
// branch of math::ais_softplus_difference for |x| > 1), and late steps of 1e-5.
const std::vector<float>& ais_betas();

// Every case, in a fixed order; names are unique.
const std::vector<OpCase>& all_cases();
// Cases on which the CPU backend is known to disagree with its specification, kept out of
// all_cases() (none at present: the two the table found, a uniform of exactly 1.0f and the
// pool ops refusing an empty batch, are fixed and their cases are in all_cases()).
const std::vector<OpCase>& known_failure_cases();
// Benchmark-sized cases (ggml's perf cases): the shapes of the end-to-end benches
// (bench_rbm_cpu's 784x500 RBM at batch 100, bench_conv's two conv RBMs). Too large
// for the plain-loop reference; the backend parity test runs them.
const std::vector<OpCase>& bench_cases();
// The case called `name` in any table (throws crbm::Error if none is).
const OpCase& find_case(const std::string& name);

struct OpData {
  std::vector<HostTensor> in;  // the roles listed at the top, 2-D shapes
  std::vector<int32_t> index;  // gather_rows
};

// The case's inputs, seeded from its name: the same bytes on every call.
OpData make_inputs(const OpCase& c);

struct OpOutputs {
  std::vector<HostTensor> tensors;
  double scalar = 0.0;
};

// A case's operands uploaded to one backend, ready to run (and rerun) the op.
class OpRunner {
 public:
  // conv ops of `backend` with `algo` are made for conv cases.
  OpRunner(const OpCase& c, const OpData& data, Backend& backend,
           ConvAlgo algo = ConvAlgo::automatic);
  ~OpRunner();
  OpRunner(const OpRunner&) = delete;
  OpRunner& operator=(const OpRunner&) = delete;

  void run();           // the op once (asynchronous on CUDA unless it returns a scalar)
  void restore();       // the overwritten operands back to their inputs (a device copy each)
  OpOutputs outputs();  // downloads the outputs (synchronises)
  Backend& backend() { return backend_; }
  ConvOps* conv_ops() { return conv_.get(); }

 private:
  OpCase case_;
  std::vector<int32_t> index_;
  Backend& backend_;
  std::unique_ptr<ConvOps> conv_;
  std::vector<Matrix> in_;
  std::vector<Matrix> pristine_;  // copies of the inputs that run() overwrites
  std::vector<Matrix> out_;
  double scalar_ = 0.0;
};

// Convenience: upload, run once, download.
OpOutputs run_case(const OpCase& c, const OpData& data, Backend& backend,
                   ConvAlgo algo = ConvAlgo::automatic);

}  // namespace crbm::op_cases
