"""fastae's float32 products (its own sgemm where built, Eigen, and the automatic choice) against
NumPy in float64, on shapes that hit every edge: tiles cut at rows and columns, k across the cache
blocks, transposes."""

import numpy as np
import pytest

from fastae import _core

# Tiles are 6x16 (AVX2) or 12x32 (AVX-512): shapes at, one below and one past both.
SHAPES = [(1, 1, 1), (5, 3, 7), (6, 16, 1), (7, 17, 9), (11, 31, 4), (12, 32, 3), (25, 65, 33), (13, 33, 300),
          (96, 2048, 2), (97, 2049, 5), (128, 32, 784), (200, 70, 513), (1, 100, 1000), (0, 5, 5), (5, 0, 5),
          (5, 5, 0), (130, 257, 200), (40, 300, 200)]  # the last two: B above sgemm's in-place limit (128 KB)


# sgemm: its own choice of path; direct and packed: each path forced, on every shape.
KERNELS = ["auto", "eigen"] + (["sgemm", "direct", "packed"] if _core.build_info["sgemm"] else [])


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("m, n, k", SHAPES)
def test_product_matches_numpy(m, n, k, transpose_a, transpose_b, n_threads, kernel):
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a = rng.standard_normal((k, m) if transpose_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if transpose_b else (k, n)).astype(np.float32)
    out = np.full((m, n), np.nan, dtype=np.float32)
    _core.matmul(a, b, out, n_threads, transpose_a, transpose_b, kernel)
    want = (a.T if transpose_a else a).astype(np.float64) @ (b.T if transpose_b else b).astype(np.float64)
    scale = np.sqrt(max(k, 1)) * 1e-6  # float32 rounding grows like sqrt(k)
    np.testing.assert_allclose(out, want, rtol=0, atol=10 * scale)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("m, n, k", [(7, 17, 9), (13, 33, 300), (40, 300, 200)])
def test_product_writes_nothing_past_its_output(m, n, k, transpose_b, kernel):
    """out is the first m rows of a bigger array: the edge tiles' masked stores leave the rest alone."""
    rng = np.random.default_rng(k)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if transpose_b else (k, n)).astype(np.float32)
    buffer = np.full((m + 2, n), 12345.0, dtype=np.float32)
    _core.matmul(a, b, buffer[:m], 1, False, transpose_b, kernel)
    want = a.astype(np.float64) @ (b.T if transpose_b else b).astype(np.float64)
    np.testing.assert_allclose(buffer[:m], want, rtol=0, atol=10 * np.sqrt(k) * 1e-6)
    assert np.all(buffer[m:] == 12345.0)


def test_unknown_kernel():
    a = np.ones((2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="kernel"):
        _core.matmul(a, a, np.empty_like(a), 1, False, False, "blas")
