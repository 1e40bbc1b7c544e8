// Eigen's GEMM blocking. Eigen sizes its blocks from the cache sizes it detects, and on some CPUs
// (AMD EPYC here: L3 reported as 256 MB) the detection is far off. On that machine
// (benchmarks/bench_gemm.py) blocks sized for a quarter of the L2 and an L3 share of twice the L2
// were as fast or faster on every shape the workloads run: +2% to +12% in a quiet pinned run,
// more in some noisy ones. float products above a size use fastae's sgemm instead (dense.hpp).
#pragma once

#include <Eigen/Core>
#include <algorithm>

namespace fastae {

inline void tune_eigen_blocking() {
  const std::ptrdiff_t l1 = Eigen::l1CacheSize(), l2 = Eigen::l2CacheSize(), l3 = Eigen::l3CacheSize();
  if (l1 <= 0 || l2 <= 0) return;
  Eigen::setCpuCacheSizes(l1, l2 / 4, std::min<std::ptrdiff_t>(l3 > 0 ? l3 : 2 * l2, 2 * l2));
}

}  // namespace fastae
