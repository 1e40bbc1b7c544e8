// Claiming cache lines before rewriting them. When one core rewrites data that another core has
// read since the last write, each store waits until the other core's copy is invalidated: on this
// project's 2-core test machine, rewriting 34 KB that way took 4.6-5.8 us, against 0.6 us for the
// same 34 KB unshared. Storing each line's own value back as soon as the reader is done starts
// those invalidations early, so that they proceed while other work runs.
#pragma once

#include "fastae/types.hpp"

namespace fastae {

// Writes back one value in each 64-byte line that [p, p + n) touches. The values do not change;
// no other thread may read or write them meanwhile.
template <class S>
inline void claim_lines(S* p, Index n) {
  if (n <= 0) return;
  volatile S* v = p;  // volatile: the stores must happen although they change nothing
  constexpr Index kLine = 64 / Index(sizeof(S));
  for (Index i = 0; i < n; i += kLine) v[i] = v[i];
  v[n - 1] = v[n - 1];  // the last line, when p does not start one
}

}  // namespace fastae
