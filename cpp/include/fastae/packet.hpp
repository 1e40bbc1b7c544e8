// Element-wise loops written with Eigen's packet functions (pexp, plog, pselect, ...), for the
// passes Eigen's array expressions cannot vectorise or would split in several: a select, or two
// outputs computed from the same intermediate values.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <type_traits>

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

// v[i] = f(v[i]) over n elements, a packet at a time (the last, partial packet on a zero-padded copy).
template <class S, class F>
void transform_packets(S* v, Index n, const F& f) {
  using namespace Eigen::internal;
  constexpr Index w = kPacketSize<S>;
  Index i = 0;
  for (; i + w <= n; i += w) pstoreu(v + i, f(ploadu<Packet<S>>(v + i)));
  if (i == n) return;
  S tail[w] = {};
  std::copy(v + i, v + n, tail);
  pstoreu(tail, f(ploadu<Packet<S>>(tail)));
  std::copy(tail, tail + (n - i), v + i);
}

// exp(x) for a packet. float: Eigen's own range reduction and polynomial (x = m ln2 + r, exp(r)
// to float precision), but 2^m made from exponent bits instead of Eigen's general ldexp, which
// costs as much again. x is clamped to [-87.3, 88.3], so m stays a normal exponent: below, the
// result is about 1e-38 instead of a denormal or 0; above, about 2e38 instead of inf. NaN stays
// NaN. double: Eigen's pexp.
template <class S>
inline Packet<S> exp_packet(const Packet<S>& x) {
  using namespace Eigen::internal;
  using P = Packet<S>;
  if constexpr (std::is_same_v<S, float>) {
#ifdef __GNUC__  // P is a vector type such as __m512, whose attributes GCC reports as ignored in a template argument
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
    using I = typename unpacket_traits<P>::integer_packet;
#ifdef __GNUC__
#pragma GCC diagnostic pop
#endif
    const P xc = pmax(pmin(x, pset1<P>(88.3f)), pset1<P>(-87.3f));
    const P m = pfloor(pmadd(xc, pset1<P>(1.44269504088896341f), pset1<P>(0.5f)));  // m = floor(x / ln2 + 1/2)
    P r = pmadd(m, pset1<P>(-0.693359375f), xc);                                     // r = x - m ln2, ln2 in two
    r = pmadd(m, pset1<P>(2.12194440e-4f), r);                                       // parts (Cody-Waite)
    const P r2 = pmul(r, r);
    P y = pmadd(pset1<P>(1.9875691500e-4f), r, pset1<P>(1.3981999507e-3f));  // exp(r) = 1 + r + r^2 p(r)
    y = pmadd(y, r, pset1<P>(8.3334519073e-3f));
    y = pmadd(y, r, pset1<P>(4.1665795894e-2f));
    y = pmadd(y, r, pset1<P>(1.6666665459e-1f));
    y = pmadd(y, r, pset1<P>(5.0000001201e-1f));
    y = pmadd(y, r2, padd(r, pset1<P>(1.0f)));
    const P two_m = preinterpret<P>(plogical_shift_left<23>(padd(pcast<P, I>(m), pset1<I>(127))));  // 2^m
    return pselect(pcmp_eq(x, x), pmul(y, two_m), x);  // x != x only for NaN
  } else {
    return pexp(x);
  }
}

}  // namespace fastae
