// Missing values (missing="mask"). A NaN in an input row is replaced by its column's training
// mean, in the data's units before any scaling, so that the network sees the mean in scaled
// units there. A NaN in a target row gets mask 0 (an observed entry: 1) and the value 0, and the
// loss and its gradient are multiplied by the mask (loss.hpp): only observed entries count. Both
// are selects on x == x (false for NaN alone), with no branch on the values; a model without
// missing values (fill empty) never runs them.
#pragma once

#include "fastae/loss.hpp"
#include "fastae/types.hpp"

namespace fastae {

template <class S>
struct MissingValues {
  RowVector<S> fill;  // the training mean of each input column (empty: NaN is an error)

  bool active() const { return fill.size() > 0; }

  // rows: each NaN replaced by its column's fill value, in place.
  template <class Rows>
  void fill_inputs(Rows&& rows) const {
    for (Index r = 0; r < rows.rows(); ++r) {
      auto row = rows.row(r).array();
      row = (row == row).select(row, fill.array());  // x observed (x == x) ? x : its column's mean
    }
  }

  // mask = 1 where the target is observed, 0 where it is NaN, and the target 0 there, in place;
  // observed[r] = the number of observed entries of row r.
  template <class Rows, class Mask>
  static void mask_targets(Rows&& targets, Mask&& mask, double* observed) {
    for (Index r = 0; r < targets.rows(); ++r) {
      auto t = targets.row(r).array();
      mask.row(r).array() = (t == t).template cast<S>();  // 1 observed, 0 missing
      t = (t == t).select(t, S(0));
      observed[r] = sum_in_double(mask.row(r).data(), mask.cols());
    }
  }
};

}  // namespace fastae
