// Element-wise loops written with Eigen's packet functions (pexp, plog, pselect, ...), for the
// passes Eigen's array expressions cannot vectorise or would split in several: a select, or two
// outputs computed from the same intermediate values.
#pragma once

#include <Eigen/Core>
#include <algorithm>

#include "fastae/types.hpp"

namespace fastae {

template <class S>
using Packet = typename Eigen::internal::packet_traits<S>::type;

template <class S>
constexpr Index kPacketSize = Eigen::internal::unpacket_traits<Packet<S>>::size;

// step(a, b, c, d) on each packet of n elements: a and b are read, c and d written (d may be null,
// and is then null in every call). The last, partial packet runs on zero-padded copies, so every
// element goes through the same instructions.
template <class S, class Step>
void for_each_packet(Index n, const S* a, const S* b, S* c, S* d, const Step& step) {
  constexpr Index w = kPacketSize<S>;
  Index i = 0;
  for (; i + w <= n; i += w) step(a + i, b + i, c + i, d ? d + i : nullptr);
  if (i == n) return;
  S a_tail[w] = {}, b_tail[w] = {}, c_tail[w], d_tail[w];
  std::copy(a + i, a + n, a_tail);
  std::copy(b + i, b + n, b_tail);
  step(a_tail, b_tail, c_tail, d ? d_tail : nullptr);
  std::copy(c_tail, c_tail + (n - i), c + i);
  if (d) std::copy(d_tail, d_tail + (n - i), d + i);
}

}  // namespace fastae
