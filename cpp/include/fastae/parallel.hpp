// Thread policy. fastae owns the threads: Eigen's own GEMM threading is off
// (EIGEN_DONT_PARALLELIZE) and work is split explicitly, so that results depend only on
// (seed, n_threads, batch size, build). Reductions always add per-thread parts in thread order.
#pragma once

#include <algorithm>
#include <exception>
#include <mutex>

#include "fastae/types.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastae {

inline bool have_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

// The most threads fastae starts (Python refuses n_threads above it; the C++ clamps to it too).
constexpr int kMaxThreads = 256;

// The team for `work` independent items of at least `min_items` each: n_threads, but never more
// than kMaxThreads or than there are shares of min_items (and at least one).
inline int team_size(int n_threads, Index work, Index min_items = 1) {
  const Index shares = std::max<Index>(1, work / std::max<Index>(min_items, 1));
  return static_cast<int>(std::clamp<Index>(std::min<Index>(n_threads, kMaxThreads), 1, shares));
}

// The contiguous share [lo, hi) of n items that part t of `parts` gets.
inline void split_range(Index n, int t, int parts, Index& lo, Index& hi) {
  lo = n * t / parts;
  hi = n * (t + 1) / parts;
}

// Runs body(t, count) on n_threads threads (t = 0..count-1) and waits for all. count is the
// number of threads OpenMP started: n_threads, unless a limit such as OMP_THREAD_LIMIT gave fewer.
// An exception thrown by any thread is carried out of the parallel region and rethrown.
template <class Body>
void run_threads(int n_threads, Body&& body) {
  n_threads = std::min(n_threads, kMaxThreads);
#ifdef _OPENMP
  if (n_threads > 1) {
    std::exception_ptr error;
    std::mutex error_lock;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(n_threads)
    {
      try {
        body(omp_get_thread_num(), omp_get_num_threads());
      } catch (...) {
        std::lock_guard<std::mutex> guard(error_lock);
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  body(0, 1);
}

// A barrier among the threads of run_threads (a no-op with one thread).
inline void thread_barrier(int n_threads) {
#ifdef _OPENMP
  if (n_threads > 1) {
#pragma omp barrier
  }
#else
  (void)n_threads;
#endif
}

}  // namespace fastae
