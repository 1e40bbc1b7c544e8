// A float32 GEMM for AVX2 + FMA (and AVX-512 where the build targets it), in the BLIS design (Van
// Zee & van de Geijn 2015): C = A B (or C += A B) with A and B given as strided views, so that
// x W, x^T dz and dz W^T are all the same call without a transposed copy. One micro-kernel keeps a
// tile of up to MR x NR of C in registers (6x16 in 12 ymm registers with AVX2, 12x32 in 24 zmm
// with AVX-512; edge tiles masked) and reads its operands either packed or in place.
// Two paths: packed (A in panels of MR rows, B in panels of NR columns; each A panel stays in L1
// while the kernel runs along a block of B panels) for large products, and direct (A read in
// place, B in place or packed once) for the small and thin ones, where packing A costs more than
// it saves.
// Single-threaded: fastae splits work across threads above it. Deterministic: every element of C
// is one chain of FMAs along k in blocks of KC, so the result depends only on the shapes, not on
// the tile or the instruction set. Built only when the compiler targets AVX2 and FMA; elsewhere
// fastae uses Eigen.
#pragma once

#if defined(__AVX2__) && defined(__FMA__)
#define FASTAE_HAVE_SGEMM 1

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "fastae/types.hpp"

namespace fastae {
namespace sgemm_detail {

// A tile row is two vectors; the vector type, its width and its column mask set MR and NR.
#if defined(__AVX512F__)
// 24 accumulators + 2 rows of B + 1 broadcast of 32 zmm registers. On one core of an AMD EPYC
// (Zen 4), 2048^3: 96 GFLOP/s (NumPy's OpenBLAS: 100; the AVX2 tile on the same core: 88-98).
using Vec = __m512;
constexpr Index kLanes = 16, MR = 12;
struct ColumnMask {  // lanes j < cols of the low and high vectors of a tile row narrower than NR
  __mmask16 lo, hi;
  explicit ColumnMask(Index cols)
      : lo(static_cast<__mmask16>(cols >= 16 ? 0xFFFF : (1u << cols) - 1)),
        hi(static_cast<__mmask16>(cols <= 16 ? 0 : cols >= 32 ? 0xFFFF : (1u << (cols - 16)) - 1)) {}
};
inline Vec vzero() { return _mm512_setzero_ps(); }
inline Vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline Vec vload(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline Vec vbroadcast(const float* p) { return _mm512_set1_ps(*p); }
inline Vec vfmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline void vstore(float* p, __mmask16 m, Vec v) { _mm512_mask_storeu_ps(p, m, v); }
#else
// 12 accumulators + 2 rows of B + 1 broadcast of 16 ymm registers.
using Vec = __m256;
constexpr Index kLanes = 8, MR = 6;
struct ColumnMask {  // lanes j < cols of the low and high vectors of a tile row narrower than NR
  __m256i lo, hi;
  explicit ColumnMask(Index cols) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), lane);      // j < cols
    hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols) - 8), lane);  // 8 + j < cols
  }
};
inline Vec vzero() { return _mm256_setzero_ps(); }
inline Vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline Vec vload(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
inline Vec vbroadcast(const float* p) { return _mm256_broadcast_ss(p); }
inline Vec vfmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline void vstore(float* p, __m256i m, Vec v) { _mm256_maskstore_ps(p, m, v); }
#endif
constexpr Index NR = 2 * kLanes;  // micro-kernel tile: MR x NR
constexpr Index KC = 256, MC = 96, NC = 2048;  // cache blocking (k depth, A rows, B columns)
static_assert(MC % MR == 0, "A blocks hold whole panels");
// The direct path reads B in place up to kDirectMaxB bytes and packs it whole up to kDirectPackedMaxB.
constexpr Index kDirectMaxB = 128 << 10, kDirectPackedMaxB = 4 << 20;

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

// r[0..8) = the transpose of the 8x8 block whose rows are r[0..8) (the usual unpack/shuffle/permute).
inline void transpose_8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// out[q NR + i] = B(q, i) for q, i < 8, where B is stored transposed: B(q, i) = b[q + i cs].
inline void copy_transposed_8x8(const float* b, Index cs, float* out) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(b + i * cs);
  transpose_8x8(r);  // r[q] = B(q, 0 .. 8)
  for (int q = 0; q < 8; ++q) _mm256_storeu_ps(out + q * NR, r[q]);
}

// Packs B[p0:p0+kc, j0:j0+nc] into panels of NR columns: for each k, NR consecutive values.
inline void pack_b(const View& b, Index p0, Index kc, Index j0, Index nc, float* out) {
  for (Index jr = 0; jr < nc; jr += NR) {
    const Index cols = std::min(NR, nc - jr);
    Index p = 0;
    if (b.rs == 1 && cols == NR) {  // B transposed (B(p, j) = b[p + j cs]): 8x8 blocks, transposed in registers
      for (; p + 8 <= kc; p += 8, out += 8 * NR)
        for (Index half = 0; half < NR; half += 8)
          copy_transposed_8x8(b.p + (p0 + p) + (j0 + jr + half) * b.cs, b.cs, out + half);
    }
    for (; p < kc; ++p) {
      const float* row = b.p + (p0 + p) * b.rs + (j0 + jr) * b.cs;
      if (b.cs == 1 && cols == NR) {
        for (Index j = 0; j < NR; j += 8) _mm256_store_ps(out + j, _mm256_loadu_ps(row + j));
      } else {
        for (Index j = 0; j < cols; ++j) out[j] = row[j * b.cs];
        for (Index j = cols; j < NR; ++j) out[j] = 0.0f;
      }
      out += NR;
    }
  }
}

// The micro-kernel: c[0:R, 0:NR] (row stride ldc) = (accumulate ? c : 0) + sum over p < kc of
// a(:, p) b(p, :), with a(i, p) = a[i a_rs + p a_cs] and b(p, j) = b[p b_rs + j]. The operands are
// packed panels (a_rs 1, a_cs MR; b_rs NR) or matrices read in place. The tile of c stays in 2R
// registers; each step along k loads one row of b and broadcasts R values of a. Without kFull
// only the first `cols` columns (the mask) are read and written.
template <int R, bool kFull, bool kPackedA>
inline void kernel(Index kc, const float* a, Index a_rs, Index a_cs, const float* b, Index b_rs, float* c, Index ldc,
                   bool accumulate, const ColumnMask& mask) {
  if (kPackedA) a_rs = 1, a_cs = MR;  // known strides: each broadcast's address is a constant offset
  // Rows 3q, 3q + 1, 3q + 2 of A are read as row[q] + {0, 1, 2} a_rs: one address register per
  // three rows plus a_rs and 2 a_rs, so that twelve rows in place do not run out of registers.
  const float* row[(R + 2) / 3];
#pragma GCC unroll 4
  for (int q = 0; q < (R + 2) / 3; ++q) row[q] = a + 3 * q * a_rs;
  Vec acc[R][2];
  // Every loop over the R rows is unrolled, so that acc lives in registers: left rolled (GCC's
  // heuristics sometimes do), acc is indexed at run time, kept on the stack, and the kernel runs
  // at a fraction of its speed.
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = vzero();
  for (Index p = 0; p < kc; ++p) {
    const Vec b0 = kFull ? vload(b) : vload(b, mask.lo);
    const Vec b1 = kFull ? vload(b + kLanes) : vload(b + kLanes, mask.hi);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const Vec ai = vbroadcast(row[i / 3] + (i % 3) * a_rs);
      acc[i][0] = vfmadd(ai, b0, acc[i][0]);  // c(i, :) += a(i, p) b(p, :)
      acc[i][1] = vfmadd(ai, b1, acc[i][1]);
    }
#pragma GCC unroll 4
    for (int q = 0; q < (R + 2) / 3; ++q) row[q] += a_cs;
    b += b_rs;
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    float* ci = c + i * ldc;
    if (kFull) {
      if (accumulate) {
        acc[i][0] = vadd(vload(ci), acc[i][0]);
        acc[i][1] = vadd(vload(ci + kLanes), acc[i][1]);
      }
      vstore(ci, acc[i][0]);
      vstore(ci + kLanes, acc[i][1]);
    } else {
      if (accumulate) {
        acc[i][0] = vadd(vload(ci, mask.lo), acc[i][0]);
        acc[i][1] = vadd(vload(ci + kLanes, mask.hi), acc[i][1]);
      }
      vstore(ci, mask.lo, acc[i][0]);
      vstore(ci + kLanes, mask.hi, acc[i][1]);
    }
  }
}

// The kernel for a tile of `rows` <= MR rows and `cols` <= NR columns.
template <bool kPackedA>
inline void tile(Index rows, Index cols, Index kc, const float* a, Index a_rs, Index a_cs, const float* b, Index b_rs,
                 float* c, Index ldc, bool accumulate) {
  const ColumnMask mask(cols);
  const bool full = cols == NR;
  switch (rows) {
#define FASTAE_TILE(R)                                                                         \
  case R:                                                                                      \
    if (full) kernel<R, true, kPackedA>(kc, a, a_rs, a_cs, b, b_rs, c, ldc, accumulate, mask); \
    else kernel<R, false, kPackedA>(kc, a, a_rs, a_cs, b, b_rs, c, ldc, accumulate, mask);     \
    return;
#if defined(__AVX512F__)
    FASTAE_TILE(12) FASTAE_TILE(11) FASTAE_TILE(10) FASTAE_TILE(9) FASTAE_TILE(8) FASTAE_TILE(7)
#endif
    FASTAE_TILE(6) FASTAE_TILE(5) FASTAE_TILE(4) FASTAE_TILE(3) FASTAE_TILE(2) FASTAE_TILE(1)
#undef FASTAE_TILE
  }
}

// Packing buffers, one set per thread, grown once and then reused (no allocation per call).
struct Buffers {
  std::vector<float, Eigen::aligned_allocator<float>> a, b;
};
inline Buffers& buffers() {
  thread_local Buffers bufs;
  return bufs;
}

// The direct path's loops over B in NR panels: panel j0/NR of B starts at b + j0/NR * panel_stride
// and row p of a panel at p b_rs. A large B is taken in blocks along k that stay in L2. Within a
// block, row tiles are the outer loop, so a tile's rows of A stay in L1 while it runs across B.
inline void direct_tiles(Index m, Index n, Index k, const View& A, const float* b, Index b_rs, Index panel_stride,
                         bool large_b, float* c, Index ldc, bool accumulate) {
  const Index k_block = large_b ? KC : k;
  for (Index pc = 0; pc < k; pc += k_block) {
    const Index kc = std::min(k_block, k - pc);
    const bool acc = accumulate || pc > 0;
    for (Index i = 0; i < m; i += MR) {
      const Index rows = std::min(MR, m - i);
      for (Index j = 0; j < n; j += NR)
        tile<false>(rows, std::min(NR, n - j), kc, A.p + i * A.rs + pc * A.cs, A.rs, A.cs,
                    b + (j / NR) * panel_stride + pc * b_rs, b_rs, c + i * ldc + j, ldc, acc);
    }
  }
}

inline bool is_large_b(Index n, Index k) { return k * n * Index(sizeof(float)) > kDirectMaxB; }

// The direct path reads B in place when its rows are contiguous and it is small, else packs it whole.
inline bool direct_packs_b(Index n, Index k, Index b_cs) { return b_cs != 1 || is_large_b(n, k); }

// Floats of B [k x n] packed whole into NR panels: element (p, j) at (j / NR) NR k + p NR + j % NR.
inline Index packed_b_size(Index k, Index n) { return k * ((n + NR - 1) / NR) * NR; }

// The direct path: A read in place (no packing). B is read in place when it is small (up to
// kDirectMaxB) and its rows are contiguous; otherwise it is packed once, whole, into NR panels.
inline void sgemm_direct(Index m, Index n, Index k, const View& A, const View& B, float* c, Index ldc, bool accumulate) {
  const bool large_b = is_large_b(n, k);
  if (!direct_packs_b(n, k, B.cs)) return direct_tiles(m, n, k, A, B.p, B.rs, NR, false, c, ldc, accumulate);
  Buffers& buf = buffers();
  buf.b.resize(static_cast<std::size_t>(packed_b_size(k, n)));
  pack_b(B, 0, k, 0, n, buf.b.data());
  direct_tiles(m, n, k, A, buf.b.data(), NR, NR * k, large_b, c, ldc, accumulate);
}

// The packed path, for large products: blocks of B (KC x NC) and of A (MC x KC) packed into panels.
// Each A panel (MR x KC, 12 KB with AVX-512) runs across the whole B block before the next: on
// 2048^3 that order measured 96 GFLOP/s on one core against 89 with B panels outermost.
inline void sgemm_packed(Index m, Index n, Index k, const View& A, const View& B, float* c, Index ldc, bool accumulate) {
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
        for (Index ir = 0; ir < mc; ir += MR) {
          const Index rows = std::min(MR, mc - ir);
          const float* a_panel = buf.a.data() + (ir / MR) * MR * kc;
          for (Index jr = 0; jr < nc; jr += NR) {
            const Index cols = std::min(NR, nc - jr);
            const float* b_panel = buf.b.data() + (jr / NR) * NR * kc;
            float* c_tile = c + (ic + ir) * ldc + jc + jr;
            tile<true>(rows, cols, kc, a_panel, 1, MR, b_panel, NR, c_tile, ldc, acc);
          }
        }
      }
    }
  }
}

}  // namespace sgemm_detail

// Which path. Measured on the workloads' products (benchmarks/bench_gemm.py --training): direct
// wins where B is small (up to kDirectMaxB, 128 KB: every tabular and mnist-shallow product) and
// wherever A is row-major (x W and dz W^T, B packed whole up to kDirectPackedMaxB); packed wins
// on the larger x^T dz, whose transposed A it packs.
enum class SgemmPath { Auto, Direct, Packed };

inline SgemmPath choose_path(Index n, Index k, Index a_cs) {
  using sgemm_detail::kDirectMaxB, sgemm_detail::kDirectPackedMaxB;
  const Index b_bytes = k * n * Index(sizeof(float));
  if (b_bytes <= kDirectMaxB || (a_cs == 1 && b_bytes <= kDirectPackedMaxB)) return SgemmPath::Direct;
  return SgemmPath::Packed;
}

// C[m x n] (row stride ldc) = A[m x k] B[k x n], or C += A B when `accumulate`.
inline void sgemm(Index m, Index n, Index k, const float* a, Index a_rs, Index a_cs, const float* b, Index b_rs,
                  Index b_cs, float* c, Index ldc, bool accumulate, SgemmPath path = SgemmPath::Auto) {
  using namespace sgemm_detail;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (Index i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  const View A{a, a_rs, a_cs}, B{b, b_rs, b_cs};
  if (path == SgemmPath::Auto) path = choose_path(n, k, a_cs);
  if (path == SgemmPath::Direct) sgemm_direct(m, n, k, A, B, c, ldc, accumulate);
  else sgemm_packed(m, n, k, A, B, c, ldc, accumulate);
}

// True when sgemm (path Auto) would pack B [k x n] whole for A with column stride a_cs: then the
// caller may pack it ahead with pack_b_block and call sgemm_prepacked, for the same result.
inline bool sgemm_packs_b_whole(Index n, Index k, Index a_cs, Index b_cs) {
  return choose_path(n, k, a_cs) == SgemmPath::Direct && sgemm_detail::direct_packs_b(n, k, b_cs);
}

using sgemm_detail::packed_b_size;  // the floats of those panels

// Writes the block B[p_lo:p_hi, j_lo:j_hi) of B [k x n] (B(p, j) = b[p b_rs + j b_cs]) into its
// panels, laid out as sgemm packs B whole, and nothing else: threads can each pack their own block
// of the same panels. Lanes past n are left as they are (zero them once).
inline void pack_b_block(const float* b, Index b_rs, Index b_cs, Index k, Index p_lo, Index p_hi, Index j_lo, Index j_hi,
                         float* panels) {
  using sgemm_detail::NR;
  for (Index j0 = j_lo - j_lo % NR; j0 < j_hi; j0 += NR) {  // the panel of columns [j0, j0 + NR)
    const Index first = std::max(j_lo, j0), end = std::min(j_hi, j0 + NR);
    float* panel = panels + (j0 / NR) * NR * k - j0;  // panel[p NR + j] = B(p, j)
    if (b_cs == 1) {
      for (Index p = p_lo; p < p_hi; ++p) std::copy(b + p * b_rs + first, b + p * b_rs + end, panel + p * NR + first);
      continue;
    }
    Index j = first;
    for (; b_rs == 1 && j + 8 <= end; j += 8) {  // B transposed (B(p, j) = b[p + j cs]): 8x8 blocks, transposed in registers
      Index p = p_lo;
      for (; p + 8 <= p_hi; p += 8) sgemm_detail::copy_transposed_8x8(b + p + j * b_cs, b_cs, panel + p * NR + j);
      for (; p < p_hi; ++p)
        for (Index jj = j; jj < j + 8; ++jj) panel[p * NR + jj] = b[p + jj * b_cs];
    }
    for (; j < end; ++j)
      for (Index p = p_lo; p < p_hi; ++p) panel[p * NR + j] = b[p * b_rs + j * b_cs];
  }
}

// C = A B as sgemm computes it, with B [k x n] given as its panels (sgemm_packs_b_whole was true).
inline void sgemm_prepacked(Index m, Index n, Index k, const float* a, Index a_rs, Index a_cs, const float* b_panels,
                            float* c, Index ldc, bool accumulate) {
  using namespace sgemm_detail;
  if (m <= 0 || n <= 0 || k <= 0) return sgemm(m, n, k, a, a_rs, a_cs, b_panels, NR, 1, c, ldc, accumulate);  // nothing to read
  direct_tiles(m, n, k, View{a, a_rs, a_cs}, b_panels, NR, NR * k, is_large_b(n, k), c, ldc, accumulate);
}

}  // namespace fastae

#endif
