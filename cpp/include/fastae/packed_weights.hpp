// Weights kept packed for sgemm (float builds with sgemm only). Where sgemm would pack W (for
// x W) or W^T (for dL/dz W^T) whole on every call, in every thread, the panels are packed ahead
// and shared instead: once per call by inference, and by training after each update, each thread
// repacking the block of W it has just written while it is in cache.
#pragma once

#include <type_traits>
#include <vector>

#include "fastae/dense.hpp"
#include "fastae/types.hpp"

namespace fastae {

// Per layer, the panels of W for x W and of W^T for dL/dz W^T, or null where sgemm reads the
// matrix in place or packs it itself.
struct WeightPanels {
  std::vector<const float*> w, wt;
};

template <class S>
class PackedWeights {
 public:
  PackedWeights() = default;
  PackedWeights(PackedWeights&&) = default;  // the panels move with their buffers; a copy would point into the original
  PackedWeights(const PackedWeights&) = delete;
  PackedWeights& operator=(const PackedWeights&) = delete;

  // Zeroed panels for layers [first, last) that need them: W's, and W^T's (but the first
  // layer's: no gradient with respect to the input) when `transposed`.
  void prepare(const std::vector<LayerShape>& layers, std::size_t first, std::size_t last, bool transposed) {
    w_.assign(layers.size(), {});
    wt_.assign(layers.size(), {});
    view_.w.assign(layers.size(), nullptr);
    view_.wt.assign(layers.size(), nullptr);
    any_ = false;
#ifdef FASTAE_HAVE_SGEMM
    if constexpr (std::is_same_v<S, float>) {
      for (std::size_t l = first; l < last; ++l) {
        const LayerShape& s = layers[l];
        if (sgemm_packs_b_whole(s.out, s.in, 1, 1)) {  // B = W: k = in, n = out
          w_[l].assign(static_cast<std::size_t>(packed_b_size(s.in, s.out)), 0.0f);
          view_.w[l] = w_[l].data();
        }
        if (transposed && l > 0 && sgemm_packs_b_whole(s.in, s.out, 1, s.out)) {  // B = W^T: k = out, n = in
          wt_[l].assign(static_cast<std::size_t>(packed_b_size(s.out, s.in)), 0.0f);
          view_.wt[l] = wt_[l].data();
        }
        any_ = any_ || view_.w[l] || view_.wt[l];
      }
    }
#else
    (void)first, (void)last, (void)transposed;
#endif
  }

  // Packs the block [in_lo, in_hi) x [out_lo, out_hi) of layer l's W, read from the flat parameters.
  void pack_block(const LayerShape& s, std::size_t l, const S* params, Index in_lo, Index in_hi, Index out_lo,
                  Index out_hi) {
#ifdef FASTAE_HAVE_SGEMM
    if constexpr (std::is_same_v<S, float>) {
      const float* W = params + s.weight_offset;  // W(i, j) = W[i out + j]
      if (!w_[l].empty()) pack_b_block(W, s.out, 1, s.in, in_lo, in_hi, out_lo, out_hi, w_[l].data());
      if (!wt_[l].empty()) pack_b_block(W, 1, s.out, s.out, out_lo, out_hi, in_lo, in_hi, wt_[l].data());
    }
#else
    (void)s, (void)l, (void)params, (void)in_lo, (void)in_hi, (void)out_lo, (void)out_hi;
#endif
  }

  // What forward and backward read: null when no layer has panels.
  const WeightPanels* view() const { return any_ ? &view_ : nullptr; }

 private:
  std::vector<std::vector<float, Eigen::aligned_allocator<float>>> w_, wt_;
  WeightPanels view_;
  bool any_ = false;
};

}  // namespace fastae
