// Eigen's GEMM blocking. Eigen sizes its blocks from the cache sizes it detects, and on some CPUs
// (AMD EPYC here: L3 reported as 256 MB) the detection is far off, which costs 20-40% on the
// products fastae runs. Measured on that machine (benchmarks/README: cache-size sweep), blocks
// sized for half the L2 and an L3 share of twice the L2 were best across the workloads' shapes.
#pragma once

#include <Eigen/Core>
#include <algorithm>

namespace fastae {

inline void tune_eigen_blocking() {
  const std::ptrdiff_t l1 = Eigen::l1CacheSize(), l2 = Eigen::l2CacheSize(), l3 = Eigen::l3CacheSize();
  if (l1 <= 0 || l2 <= 0) return;
  Eigen::setCpuCacheSizes(l1, l2 / 2, std::min<std::ptrdiff_t>(l3 > 0 ? l3 : 2 * l2, 2 * l2));
}

}  // namespace fastae
