"""Data readers: IDX (and corrupt IDX), Fashion-MNIST lookup, the embedded sample, .npy/.npz/.csv."""

import gzip
import os

import numpy as np
import pytest

from fastae.datasets import (DEBIAN_FASHION_MNIST, SAMPLE_DIR, load_array, load_data, load_fashion_mnist, load_sample, read_idx,
                             split_of)

HAVE_FASHION_MNIST = os.path.isfile(os.path.join(DEBIAN_FASHION_MNIST, "train-images-idx3-ubyte.gz"))


def write_idx(path, array, type_code=0x08, compress=False):
    data = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes() + array.tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype, code", [(np.uint8, 0x08), (np.dtype(">i2"), 0x0B), (np.dtype(">f4"), 0x0D)])
def test_idx_round_trip(tmp_path, compress, dtype, code):
    array = (np.arange(2 * 3 * 4) % 100).astype(dtype).reshape(2, 3, 4)
    got = read_idx(write_idx(tmp_path / "a.idx", array, code, compress))
    np.testing.assert_array_equal(got, array)
    assert got.shape == (2, 3, 4) and got.dtype.isnative


@pytest.mark.parametrize("damage, words", [
    (lambda b: b[:-1], "truncated"),
    (lambda b: b + b"\x00", "trailing data"),
    (lambda b: b"\x01" + b[1:], "not an IDX file"),
    (lambda b: b[:2] + b"\x07" + b[3:], "not an IDX file"),
    (lambda b: b[:3] + b"\x09" + b[4:], "not an IDX file"),
    (lambda b: b[:6], "header truncated"),
    (lambda b: b"", "not an IDX file"),
])
def test_corrupt_idx_is_a_clear_error(tmp_path, damage, words):
    good = (tmp_path / "good.idx")
    write_idx(good, np.zeros((3, 5), dtype=np.uint8))
    bad = tmp_path / "bad.idx"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(ValueError, match=words) as info:
        read_idx(bad)
    assert "bad.idx" in str(info.value)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "x.idx.gz"
    write_idx(path, np.zeros((3, 5), dtype=np.uint8), compress=True)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_idx(path)


def test_embedded_sample():
    data = load_sample()
    assert data.X_train.shape == (3000, 784) and data.X_test.shape == (1000, 784)
    assert data.X_train.dtype == np.float32 and 0.0 <= data.X_train.min() and data.X_train.max() == 1.0
    assert sorted(np.unique(data.y_train)) == list(range(10)) and data.image_shape == (28, 28)
    folder = SAMPLE_DIR
    assert sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)) < 2_000_000
    with open(os.path.join(folder, "LICENSE")) as f:
        licence = f.read()
    assert "MIT License" in licence and "Zalando SE" in licence


def test_fashion_mnist_not_found_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTAE_DATA", str(tmp_path / "env"))
    monkeypatch.setattr("fastae.datasets.DEBIAN_FASHION_MNIST", str(tmp_path / "debian"))
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(tmp_path / "given")
    text = str(info.value)
    for where in ("given", "env", "debian", "apt-get install dataset-fashion-mnist"):
        assert where in text


def test_fashion_mnist_from_a_folder_and_from_fastae_data(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for stem, shape in (("train-images-idx3-ubyte", (6, 28, 28)), ("train-labels-idx1-ubyte", (6,)),
                        ("t10k-images-idx3-ubyte", (2, 28, 28)), ("t10k-labels-idx1-ubyte", (2,))):
        write_idx(tmp_path / (stem + ".gz"), rng.integers(0, 10 if len(shape) == 1 else 256, shape, dtype=np.uint8),
                  compress=True)
    data = load_fashion_mnist(tmp_path)
    assert data.X_train.shape == (6, 784) and data.y_test.shape == (2,) and data.X_test.max() <= 1.0
    monkeypatch.setenv("FASTAE_DATA", str(tmp_path))
    np.testing.assert_array_equal(load_fashion_mnist().X_train, data.X_train)


def test_mismatched_images_and_labels(tmp_path):
    for stem, shape in (("train-images-idx3-ubyte", (6, 4, 4)), ("train-labels-idx1-ubyte", (5,)),
                        ("t10k-images-idx3-ubyte", (2, 4, 4)), ("t10k-labels-idx1-ubyte", (2,))):
        write_idx(tmp_path / stem, np.zeros(shape, dtype=np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        load_fashion_mnist(tmp_path)


@pytest.mark.skipif(not HAVE_FASHION_MNIST, reason="needs Debian's dataset-fashion-mnist "
                    "(apt-get install dataset-fashion-mnist); CI installs it")
def test_full_fashion_mnist():
    data = load_fashion_mnist()
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert np.bincount(data.y_train).tolist() == [6000] * 10
    np.testing.assert_array_equal(data.X_train[:3000], load_sample().X_train)  # the sample is its first rows


def test_npy_and_npz(tmp_path):
    X = np.random.default_rng(0).random((20, 5))
    np.save(tmp_path / "x.npy", X)
    got, labels = load_array(tmp_path / "x.npy")
    assert got.dtype == np.float32 and labels is None
    np.testing.assert_allclose(got, X, rtol=1e-6)
    np.savez(tmp_path / "x.npz", X=X, y=np.arange(20))
    got, labels = load_array(tmp_path / "x.npz")
    assert got.shape == (20, 5) and labels.tolist() == list(range(20))
    np.save(tmp_path / "img.npy", np.full((4, 3, 3), 255, dtype=np.uint8))
    assert load_array(tmp_path / "img.npy")[0].tolist() == np.ones((4, 9)).tolist()  # 8-bit pixels -> [0, 1]
    np.savez(tmp_path / "two.npz", a=X, b=X)
    with pytest.raises(ValueError, match="name the data X"):
        load_array(tmp_path / "two.npz")


def test_csv_with_and_without_header(tmp_path):
    (tmp_path / "h.csv").write_text("a,b,c\n1,2,3\n4,5,6.5\n")
    (tmp_path / "n.csv").write_text("1;2;3\n4;5;6.5\n")
    for name in ("h.csv", "n.csv"):
        X, _ = load_array(tmp_path / name)
        np.testing.assert_array_equal(X, [[1, 2, 3], [4, 5, 6.5]])


@pytest.mark.parametrize("text, words", [
    ("a,b\n1,2\n3,x\n", "line 3, column 2 ('b'): 'x' is not a number"),
    ("1,2\n3,4,5\n", "line 2 has 3 columns"),
    ("a,b\n", "only a header"),
    ("", "no rows"),
])
def test_bad_csv(tmp_path, text, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_array(path)
    assert words in str(info.value) and "bad.csv" in str(info.value)


def test_unknown_file_type_and_missing_file(tmp_path):
    (tmp_path / "x.parquet").write_text("")
    with pytest.raises(ValueError, match="unknown file type"):
        load_array(tmp_path / "x.parquet")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_array(tmp_path / "missing.npy")


def test_a_file_gets_a_seeded_test_split(tmp_path):
    X = np.random.default_rng(0).random((50, 16))
    np.save(tmp_path / "x.npy", X)
    data = load_data(str(tmp_path / "x.npy"))
    assert len(data.X_train) == 45 and len(data.X_test) == 5 and data.image_shape == (4, 4)
    both, _ = split_of(data, "all")
    assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, X.astype(np.float32).tolist()))
    np.testing.assert_array_equal(load_data(str(tmp_path / "x.npy")).X_test, data.X_test)


def test_csv_missing_cells_are_nan(tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("a,b,c\n1,,3\nNA,5,n/a\n7,?,NaN\nnull,8,9\n")
    X, _ = load_array(path)
    expected = np.array([[1, np.nan, 3], [np.nan, 5, np.nan], [7, np.nan, np.nan], [np.nan, 8, 9]], dtype=np.float32)
    np.testing.assert_array_equal(X, expected)
    path.write_text(",2,3\n4,5,6\n")  # a first row with a missing cell is data, not a header
    np.testing.assert_array_equal(load_array(path)[0], np.array([[np.nan, 2, 3], [4, 5, 6]], dtype=np.float32))
