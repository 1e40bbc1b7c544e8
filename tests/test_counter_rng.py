"""The counter-based RNG (cpp/include/fastae/counter_rng.hpp and its twin in reference/rng.py): C++
and NumPy give the same bits; a value depends on (seed, epoch, original row, stage, column)
alone; uniforms and normals have the right distribution."""

import numpy as np
import pytest

from fastae import _core
from fastae.reference import bits_to_normal, bits_to_uniform, counter_bits, splitmix64_next

ROWS = [0, 1, 2, 7, 1000, 2**31, 2**63 - 1]


@pytest.mark.parametrize("seed, epoch, stage", [(0, 0, 0), (1, 0, 0), (12345, 3, 2), (2**64 - 1, 2**40, 7)])
def test_cpp_and_numpy_give_the_same_bits(seed, epoch, stage):
    want = counter_bits(seed, epoch, np.array(ROWS), stage, 33)
    got = _core._counter_draws(seed, epoch, ROWS, stage, 33, "bits")
    assert got.dtype == np.uint64 and np.array_equal(got, want)


def test_uniforms_and_normals_are_the_same_bits():
    """Normals too: C++ rounds every step of the inverse CDF as NumPy does (counter_normals.cpp), and
    both take the tails' log from the same +, -, *, / (log_positive); 300 x 700 values reach the
    tails about 10,000 times."""
    bits = counter_bits(5, 1, np.arange(300), 3, 700)
    assert np.array_equal(_core._counter_draws(5, 1, list(range(300)), 3, 700, "uniform"), bits_to_uniform(bits))
    assert np.array_equal(_core._counter_draws(5, 1, list(range(300)), 3, 700, "normal"), bits_to_normal(bits))


def test_the_tails_log_is_within_an_ulp_of_the_c_library():
    """log_positive over the whole range the tails use, (2^-54, 0.02425), and beyond: fdlibm's
    algorithm, error below one ulp."""
    import math
    from fastae.reference.rng import log_positive
    rng = np.random.default_rng(0)
    p = np.concatenate([2.0 ** rng.uniform(-54, 0, 100_000), [2.0**-54, 0.02425, 0.5, 1.0, math.sqrt(2) / 2, 1e300, 7.0]])
    want = np.array([math.log(v) for v in p])
    assert np.all(np.abs(log_positive(p) - want) <= np.spacing(np.abs(want)))


def test_the_most_extreme_uniforms_give_finite_symmetric_normals():
    """bits 0 and 2^64 - 1 are the open uniform's ends, 2^-54 and 1 - 2^-54 (which rounds to 1.0 as a
    double: the upper tail takes 1 - p from the complemented bits instead): about -/+8.3."""
    z = bits_to_normal(np.array([0, 2**64 - 1], dtype=np.uint64))
    assert np.all(np.isfinite(z)) and z[0] == -z[1] and 8.0 < z[1] < 8.6


def test_normals_follow_the_inverse_normal_cdf():
    """Acklam's approximation against the exact quantile (scipy's ndtri, from scikit-learn's dependencies)."""
    from scipy.special import ndtri
    from fastae.reference import bits_to_open_uniform
    bits = counter_bits(9, 0, np.arange(100), 0, 1000)
    p = bits_to_open_uniform(bits)
    np.testing.assert_allclose(bits_to_normal(bits), ndtri(p), rtol=1.2e-9, atol=1e-12)


def test_a_value_depends_on_its_coordinates_alone():
    """The same original row gives the same values wherever it stands in a batch and whatever else
    is drawn; a different seed, epoch, row, stage or column gives a different value."""
    rows = np.array([9, 3, 5])
    together = counter_bits(1, 2, rows, 0, 10)
    assert np.array_equal(together[1], counter_bits(1, 2, np.array([3]), 0, 10)[0])
    assert np.array_equal(together[:, :4], counter_bits(1, 2, rows, 0, 4))
    base = counter_bits(1, 2, np.array([3]), 0, 1)[0, 0]
    for changed in (counter_bits(2, 2, np.array([3]), 0, 1), counter_bits(1, 3, np.array([3]), 0, 1),
                    counter_bits(1, 2, np.array([4]), 0, 1), counter_bits(1, 2, np.array([3]), 1, 1),
                    counter_bits(1, 2, np.array([3]), 0, 2)[:, 1:]):
        assert changed[0, 0] != base


def test_the_column_stream_is_splitmix64_from_the_row_key():
    """Column c of a row is SplitMix64's draw c + 1 from the row's key: the well-tested generator."""
    from fastae.reference import counter_keys
    key = int(counter_keys(7, 0, np.array([11]), 1)[0])
    state, draws = key, []
    for _ in range(5):
        draw, state = splitmix64_next(state)
        draws.append(draw)
    assert counter_bits(7, 0, np.array([11]), 1, 5)[0].tolist() == draws


def test_uniforms_and_normals_have_the_right_distribution():
    """2^20 draws: uniform mean 1/2, variance 1/12, no value outside [0, 1); normal mean 0, variance
    1, third and fourth moments 0 and 3; each bit of the raw draws set half the time. Tolerances
    are about five standard errors."""
    bits = counter_bits(2024, 0, np.arange(1024), 0, 1024)
    u = bits_to_uniform(bits).ravel()
    assert 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / u.size)
    z = bits_to_normal(bits).ravel()
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.mean(z**3)) < 5 * np.sqrt(15 / n)
    assert abs(np.mean(z**4) - 3) < 5 * np.sqrt(96 / n)
    ones = np.unpackbits(bits.view(np.uint8)).reshape(-1, 64).mean(axis=0)
    assert np.all(np.abs(ones - 0.5) < 5 * 0.5 / np.sqrt(bits.size))


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be"):
        _core._counter_draws(0, 0, [0], 0, 1, "poisson")
