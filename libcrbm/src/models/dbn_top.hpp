// The labelled top RBM of a DBN (pen Bernoulli units + one softmax label group), shared
// by the model (models/dbn.cpp), its trainer (train/dbn_train.cpp) and its evaluation
// (eval/dbn_eval.cpp). Row ranges of the top RBM's weights are the pen/label blocks, so
//   P(h|pen,y) = sigm(pen Wp + y Wy + c),  P(pen|h) = sigm(h Wp' + bp),
//   P(y|h) = softmax(h Wy' + by).
#pragma once

#include <cstdint>

#include "crbm/backend.hpp"
#include "crbm/rbm.hpp"

namespace crbm {

// A 1 x cols view of `cols` consecutive entries of a row vector.
inline CMatRef row_slice(const Matrix& m, int64_t first, int64_t cols) {
  return CMatRef{m.data() + first, 1, cols, m.backend().device()};
}
inline MatRef row_slice(Matrix& m, int64_t first, int64_t cols) {
  return MatRef{m.data() + first, 1, cols, m.backend().device()};
}

// Views of the top RBM `rbm` whose first `pen` visible units are the pen units and the
// next `classes` the label group; its conditionals on the two-block visible state.
struct LabelledTop {
  const Rbm& rbm;
  int64_t pen;
  int classes;

  CMatRef pen_weights() const { return rbm.weights().rows_view(0, pen); }
  CMatRef label_weights() const { return rbm.weights().rows_view(pen, classes); }
  CMatRef pen_bias() const { return row_slice(rbm.visible_bias(), 0, pen); }
  CMatRef label_bias() const { return row_slice(rbm.visible_bias(), pen, classes); }
  // Hidden probabilities given (pen [B x n], labels [B x K]).
  void hidden(CMatRef pen_units, CMatRef labels, MatRef out) const;
  // Visible means given hidden h: pen sigmoid, labels softmax.
  void visible(CMatRef h, MatRef pen_units, MatRef labels) const;
};

}  // namespace crbm
