// Normal values from the counter RNG (counter_rng.hpp). This file is compiled with
// -ffp-contract=off (CMakeLists.txt): every product and sum is rounded on its own, in the order
// written, which is what NumPy does in reference/rng.py, so both give the same bits. The central
// region (95% of values) is a rational function that vectorises; the tails (4.85%) are gathered
// into a short array and computed there, with a log built from +, -, * and / alone (not the C
// library's, whose bits NumPy cannot repeat and which does not vectorise).
#include <cmath>
#include <cstring>

#include "fastae/counter_rng.hpp"

namespace fastae {

namespace {

// Acklam's coefficients: the central region |p - 1/2| <= 1/2 - kTail, and the tails.
constexpr double kTail = 0.02425;
constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                        1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                        6.680131188771972e+01, -1.328068155288572e+01};
constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                        -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};

// The inverse normal CDF in the central region: q (a1 r^5 + ... + a6) / (b1 r^5 + ... + 1), r = q^2.
inline double central(double p) {
  const double q = p - 0.5, r = q * q;
  const double num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q;
  const double den = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0;
  return num / den;
}

// fdlibm's e_log.c coefficients: log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f).
constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
constexpr double kLg[] = {6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
                          2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
                          1.479819860511658591e-01};
constexpr double kSqrt2 = 1.4142135623730951;

// ln p for a positive normal double (fdlibm's algorithm, error < 1 ulp): p = m 2^e with m in
// (sqrt(1/2), sqrt(2)], f = m - 1 exactly, then the polynomial. Branch-free, so that it vectorises.
inline double log_positive(double p) {
  std::uint64_t bits;
  std::memcpy(&bits, &p, sizeof bits);
  const std::uint64_t mantissa_bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
  double m;
  std::memcpy(&m, &mantissa_bits, sizeof m);                                    // m in [1, 2)
  const bool halve = m > kSqrt2;
  m = halve ? 0.5 * m : m;                                                      // m in (sqrt(1/2), sqrt(2)]
  const double e = static_cast<double>(static_cast<std::int64_t>(bits >> 52) - 1023 + (halve ? 1 : 0));
  const double f = m - 1.0;
  const double s = f / (2.0 + f), z = s * s, w = z * z;
  const double t1 = w * (kLg[1] + w * (kLg[3] + w * kLg[5]));
  const double t2 = z * (kLg[0] + w * (kLg[2] + w * (kLg[4] + w * kLg[6])));
  const double hfsq = 0.5 * f * f;
  return e * kLn2Hi - ((hfsq - (s * (hfsq + (t2 + t1)) + e * kLn2Lo)) - f);  // e ln 2 + log(1 + f)
}

// The lower tail at p < kTail (the upper one by symmetry): q = sqrt(-2 ln p).
inline double tail(double p) {
  const double q = std::sqrt(-2.0 * log_positive(p));
  return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
         ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
}

template <class S>
void add_gaussian_to(std::uint64_t key, double level, S* row, Index n) {
  constexpr Index kBlock = 256;
  double normal[kBlock];
  for (Index lo = 0; lo < n; lo += kBlock) {
    const Index m = n - lo < kBlock ? n - lo : kBlock;
    counter_normals(key, static_cast<std::uint64_t>(lo), m, normal);
    for (Index i = 0; i < m; ++i) row[lo + i] += static_cast<S>(level * normal[i]);  // x + N(0, level^2)
  }
}

}  // namespace

void counter_normals(std::uint64_t key, std::uint64_t first, Index n, double* out) {
  constexpr Index kBlock = 256;
  double p[kBlock], tail_value[kBlock];
  unsigned char in_tail[kBlock + 8] = {};
  Index tail_at[kBlock];
  for (Index lo = 0; lo < n; lo += kBlock) {
    const Index m = n - lo < kBlock ? n - lo : kBlock;
    for (Index i = 0; i < m; ++i) {  // vectorised: every value as if central
      p[i] = bits_to_open_uniform(counter_bits(key, first + static_cast<std::uint64_t>(lo + i)));
      out[lo + i] = central(p[i]);
      in_tail[i] = (p[i] < kTail) | (p[i] > 1.0 - kTail);
    }
    std::memset(in_tail + m, 0, 8);  // the last word's flags past m
    Index k = 0;
    for (Index i = 0; i < m; i += 8) {  // the tails' indices, eight flags (one byte each) at a time
      std::uint64_t flags;
      std::memcpy(&flags, in_tail + i, sizeof flags);
      for (; flags != 0; flags &= flags - 1) tail_at[k++] = i + (__builtin_ctzll(flags) >> 3);
    }
    for (Index t = 0; t < k; ++t) {  // vectorised over the tails
      const std::uint64_t bits = counter_bits(key, first + static_cast<std::uint64_t>(lo + tail_at[t]));
      const bool upper = p[tail_at[t]] > 0.5;
      // The upper tail at p is minus the lower one at 1 - p, taken exactly from the complemented
      // bits ((2^53 - 1 - k) + 1/2) 2^-53: 1.0 - p would round, and reach 0 at the top.
      const double value = tail(bits_to_open_uniform(upper ? ~bits : bits));
      tail_value[t] = upper ? -value : value;
    }
    for (Index t = 0; t < k; ++t) out[lo + tail_at[t]] = tail_value[t];
  }
}

void add_gaussian(std::uint64_t key, double level, float* row, Index n) { add_gaussian_to(key, level, row, n); }
void add_gaussian(std::uint64_t key, double level, double* row, Index n) { add_gaussian_to(key, level, row, n); }

}  // namespace fastae
