// Normal values from the counter RNG (counter_rng.hpp). This file is compiled with
// -ffp-contract=off (CMakeLists.txt): every product and sum is rounded on its own, in the order
// written, which is what NumPy does in reference/rng.py, so both give the same bits. The central
// region (95% of values) is a rational function that vectorises; the tails need a log.
#include <cmath>

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

// The lower tail at p < kTail (the upper one by symmetry): q = sqrt(-2 ln p).
inline double tail(double p) {
  const double q = std::sqrt(-2.0 * std::log(p));
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
  double p[kBlock];
  for (Index lo = 0; lo < n; lo += kBlock) {
    const Index m = n - lo < kBlock ? n - lo : kBlock;
    for (Index i = 0; i < m; ++i) {  // vectorised: every value as if central
      p[i] = bits_to_open_uniform(counter_bits(key, first + static_cast<std::uint64_t>(lo + i)));
      out[lo + i] = central(p[i]);
    }
    for (Index i = 0; i < m; ++i) {  // the 4.85% of values in the tails, redone
      if (p[i] < kTail) out[lo + i] = tail(p[i]);
      else if (p[i] > 1.0 - kTail) out[lo + i] = -tail(1.0 - p[i]);
    }
  }
}

void add_gaussian(std::uint64_t key, double level, float* row, Index n) { add_gaussian_to(key, level, row, n); }
void add_gaussian(std::uint64_t key, double level, double* row, Index n) { add_gaussian_to(key, level, row, n); }

}  // namespace fastae
