// A float32 GEMM for AVX2 + FMA, in the BLIS design (Van Zee & van de Geijn 2015): C = A B (or
// C += A B) with A and B given as strided views, so that x W, x^T dz and dz W^T are all the same
// call without a transposed copy. A is packed into panels of 6 rows and B into panels of 16
// columns, blocked so that a B panel stays in L1 and an A block in L2; a 6x16 micro-kernel keeps
// its tile of C in 12 registers and does 12 FMAs per step along k. Single-threaded: fastae
// splits work across threads above it. Deterministic: the order of the sums depends only on the
// shapes. Built only when the compiler targets AVX2 and FMA; elsewhere fastae uses Eigen.
#pragma once

#if defined(__AVX2__) && defined(__FMA__)
#define FASTAE_HAVE_SGEMM 1

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "fastae/types.hpp"

namespace fastae {
namespace sgemm_detail {

constexpr Index MR = 6, NR = 16;        // micro-kernel tile
constexpr Index KC = 256, MC = 96, NC = 2048;  // cache blocking (k depth, A rows, B columns)

// Element (i, j) of a strided matrix view is p[i * rs + j * cs].
struct View {
  const float* p;
  Index rs, cs;
  float operator()(Index i, Index j) const { return p[i * rs + j * cs]; }
};

// Packs A[i0:i0+mc, p0:p0+kc] into panels of MR rows: for each k, MR consecutive values (rows
// past the end are zero).
inline void pack_a(const View& a, Index i0, Index mc, Index p0, Index kc, float* out) {
  for (Index ir = 0; ir < mc; ir += MR) {
    const Index rows = std::min(MR, mc - ir);
    if (a.cs == 1) {  // row-major A: read each row contiguously, write it with a stride of MR
      for (Index i = 0; i < MR; ++i) {
        const float* row = i < rows ? a.p + (i0 + ir + i) * a.rs + p0 : nullptr;
        for (Index p = 0; p < kc; ++p) out[p * MR + i] = row ? row[p] : 0.0f;
      }
      out += MR * kc;
      continue;
    }
    for (Index p = 0; p < kc; ++p) {
      for (Index i = 0; i < rows; ++i) out[i] = a(i0 + ir + i, p0 + p);
      for (Index i = rows; i < MR; ++i) out[i] = 0.0f;
      out += MR;
    }
  }
}

// Packs B[p0:p0+kc, j0:j0+nc] into panels of NR columns: for each k, NR consecutive values.
inline void pack_b(const View& b, Index p0, Index kc, Index j0, Index nc, float* out) {
  for (Index jr = 0; jr < nc; jr += NR) {
    const Index cols = std::min(NR, nc - jr);
    for (Index p = 0; p < kc; ++p) {
      const float* row = b.p + (p0 + p) * b.rs + (j0 + jr) * b.cs;
      if (b.cs == 1 && cols == NR) {
        _mm256_store_ps(out, _mm256_loadu_ps(row));
        _mm256_store_ps(out + 8, _mm256_loadu_ps(row + 8));
      } else {
        for (Index j = 0; j < cols; ++j) out[j] = row[j * b.cs];
        for (Index j = cols; j < NR; ++j) out[j] = 0.0f;
      }
      out += NR;
    }
  }
}

// c[0:6, 0:16] (row stride ldc) = (accumulate ? c : 0) + sum over k of a_panel(:, k) b_panel(k, :).
inline void kernel_6x16(Index kc, const float* a, const float* b, float* c, Index ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (Index p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);  // c(0,:) += a(0,k) b(k,:)
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += MR;
    b += NR;
  }
  const __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (Index i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    __m256 lo = rows[i][0], hi = rows[i][1];
    if (accumulate) {
      lo = _mm256_add_ps(_mm256_loadu_ps(ci), lo);
      hi = _mm256_add_ps(_mm256_loadu_ps(ci + 8), hi);
    }
    _mm256_storeu_ps(ci, lo);
    _mm256_storeu_ps(ci + 8, hi);
  }
}

// Packing buffers, one set per thread, grown once and then reused (no allocation per call).
struct Buffers {
  std::vector<float, Eigen::aligned_allocator<float>> a, b;
  float tile[MR * NR] __attribute__((aligned(32)));
};
inline Buffers& buffers() {
  thread_local Buffers bufs;
  return bufs;
}

}  // namespace sgemm_detail

// C[m x n] (row stride ldc) = A[m x k] B[k x n], or C += A B when `accumulate`.
inline void sgemm(Index m, Index n, Index k, const float* a, Index a_rs, Index a_cs, const float* b, Index b_rs,
                  Index b_cs, float* c, Index ldc, bool accumulate) {
  using namespace sgemm_detail;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (Index i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  const View A{a, a_rs, a_cs}, B{b, b_rs, b_cs};
  Buffers& buf = buffers();
  buf.a.resize(static_cast<std::size_t>(MC * KC));
  buf.b.resize(static_cast<std::size_t>(KC * ((std::min(NC, n) + NR - 1) / NR) * NR));
  for (Index jc = 0; jc < n; jc += NC) {
    const Index nc = std::min(NC, n - jc);
    for (Index pc = 0; pc < k; pc += KC) {
      const Index kc = std::min(KC, k - pc);
      const bool acc = accumulate || pc > 0;  // later k blocks add to what the first wrote
      pack_b(B, pc, kc, jc, nc, buf.b.data());
      for (Index ic = 0; ic < m; ic += MC) {
        const Index mc = std::min(MC, m - ic);
        pack_a(A, ic, mc, pc, kc, buf.a.data());
        for (Index jr = 0; jr < nc; jr += NR) {
          const Index cols = std::min(NR, nc - jr);
          const float* b_panel = buf.b.data() + (jr / NR) * NR * kc;
          for (Index ir = 0; ir < mc; ir += MR) {
            const Index rows = std::min(MR, mc - ir);
            const float* a_panel = buf.a.data() + (ir / MR) * MR * kc;
            float* c_tile = c + (ic + ir) * ldc + jc + jr;
            if (rows == MR && cols == NR) {
              kernel_6x16(kc, a_panel, b_panel, c_tile, ldc, acc);
              continue;
            }
            // An edge tile: compute the full 6x16 into a scratch tile, then keep the valid part.
            kernel_6x16(kc, a_panel, b_panel, buf.tile, NR, false);
            for (Index i = 0; i < rows; ++i)
              for (Index j = 0; j < cols; ++j)
                c_tile[i * ldc + j] = (acc ? c_tile[i * ldc + j] : 0.0f) + buf.tile[i * NR + j];
          }
        }
      }
    }
  }
}

}  // namespace fastae

#endif
