// Scaling inside the model: each input column becomes (x - shift) * multiplier (the multiplier
// is 1 / scale: a standard deviation, or a max - min range), and each target column likewise with
// the target's own statistics, as batches are gathered and as inference reads its chunks, so that
// no scaled copy of X is ever made. With clip_target (min-max scaling under BCE), scaled targets
// are clipped into [0, 1]: values beyond the training range. Losses are computed in the scaled space.
#pragma once

#include "fastae/types.hpp"

namespace fastae {

template <class S>
struct Scaling {
  RowVector<S> in_shift, in_multiplier;    // one entry per input column (empty: no scaling)
  RowVector<S> out_shift, out_multiplier;  // one entry per output column
  bool clip_target = false;

  bool active() const { return in_multiplier.size() > 0; }

  // rows = (rows - shift) * multiplier of the inputs, in place.
  template <class Rows>
  void scale_inputs(Rows&& rows) const {
    for (Index r = 0; r < rows.rows(); ++r)
      rows.row(r) = (rows.row(r) - in_shift).cwiseProduct(in_multiplier);  // (x - shift) / scale
  }

  // rows = the scaled targets, in place (clipped into [0, 1] with clip_target).
  template <class Rows>
  void scale_targets(Rows&& rows) const {
    for (Index r = 0; r < rows.rows(); ++r) {
      rows.row(r) = (rows.row(r) - out_shift).cwiseProduct(out_multiplier);
      if (clip_target) rows.row(r) = rows.row(r).cwiseMax(S(0)).cwiseMin(S(1));
    }
  }
};

}  // namespace fastae
