"""Data: Fashion-MNIST (the embedded sample, or the full set from Debian or a folder), IDX files,
and a user's own .npy / .npz / .csv files.

Every loader returns float32 arrays. Images are scaled to [0, 1]; labels are int64.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

__all__ = ["Dataset", "read_idx", "load_fashion_mnist", "load_sample", "load_array", "load_data",
           "FASHION_MNIST_CLASSES", "DEBIAN_FASHION_MNIST"]

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
SAMPLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "fashion-mnist-sample")
FASHION_MNIST_FILES = {"X_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
                       "X_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")

# IDX type codes (http://yann.lecun.com/exdb/mnist/): the third byte of the magic number.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class Dataset(NamedTuple):
    """A train/test pair; labels are None when the data has none. image_shape is (height, width)
    for images, else None."""
    X_train: np.ndarray
    y_train: Optional[np.ndarray]
    X_test: np.ndarray
    y_test: Optional[np.ndarray]
    image_shape: Optional[Tuple[int, int]]
    name: str


# ----------------------------------------------------------------------------- IDX
def read_idx(path: Any) -> np.ndarray:
    """An IDX file (gzipped or not) as a NumPy array of its own type and shape.

    Checks the magic number (two zero bytes, a known type code, 1-4 dimensions), the sizes and the
    file length; a corrupt file raises ValueError naming the file and what is wrong.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as err:
            raise ValueError(f"{path}: corrupt gzip data ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES or not 1 <= raw[3] <= 4:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; expected 0000 "
                         "followed by a type code 08/09/0b/0c/0d/0e and 1-4 dimensions)")
    n_dims, dtype = raw[3], np.dtype(IDX_TYPES[raw[2]])
    header = 4 + 4 * n_dims
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header truncated ({len(raw)} bytes, the header alone needs {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=n_dims, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX file of shape {shape} and type {dtype} should be {expected} bytes, "
                         f"but it is {len(raw)} ({'truncated' if len(raw) < expected else 'trailing data'})")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(folder: str, stem: str) -> Optional[str]:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def _load_image_folder(folder: str, name: str) -> Dataset:
    arrays = {}
    for key, stem in FASHION_MNIST_FILES.items():
        found = _find_idx(folder, stem)
        if found is None:
            raise FileNotFoundError(f"{folder}: no {stem}[.gz] in this folder")
        arrays[key] = read_idx(found)
    for split in ("train", "test"):
        images, labels = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{folder}: {split} images of shape {images.shape} do not match labels of shape {labels.shape}")
    height, width = arrays["X_train"].shape[1:]
    flat = lambda images: (images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0))  # pixels / 255
    return Dataset(flat(arrays["X_train"]), arrays["y_train"].astype(np.int64), flat(arrays["X_test"]),
                   arrays["y_test"].astype(np.int64), (height, width), name)


def fashion_mnist_folders(path: Any = None) -> List[Tuple[str, str]]:
    """Where load_fashion_mnist looks, in order, as (folder, why) pairs."""
    places = []
    if path is not None:
        places.append((os.fspath(path), "the path given"))
    if os.environ.get("FASTAE_DATA"):
        env = os.environ["FASTAE_DATA"]
        places.append((os.path.join(env, "fashion-mnist"), "$FASTAE_DATA/fashion-mnist"))
        places.append((env, "$FASTAE_DATA"))
    places.append((DEBIAN_FASHION_MNIST, "Debian package dataset-fashion-mnist"))
    return places


def load_fashion_mnist(path: Any = None) -> Dataset:
    """The full Fashion-MNIST (60,000 training and 10,000 test images of 28 x 28, pixels in [0, 1],
    labels 0-9). Looks in `path`, then $FASTAE_DATA (and its fashion-mnist/ folder), then
    /usr/share/datasets/fashion-mnist (`apt-get install dataset-fashion-mnist`)."""
    looked = []
    for folder, why in fashion_mnist_folders(path):
        if os.path.isdir(folder) and _find_idx(folder, FASHION_MNIST_FILES["X_train"]):
            return _load_image_folder(folder, "fashion-mnist")
        looked.append(f"{folder} ({why})")
    raise FileNotFoundError("Fashion-MNIST not found. Looked in: " + "; ".join(looked) + ". Install it with "
                            "`sudo apt-get install dataset-fashion-mnist`, or put the four *-ubyte.gz files in a "
                            "folder and pass it (or set FASTAE_DATA), or use the embedded sample (--data sample).")


def load_sample() -> Dataset:
    """The Fashion-MNIST sample shipped inside fastae: the first 3,000 training and first 1,000
    test images with their labels (MIT licence: data/fashion-mnist-sample/LICENSE)."""
    return _load_image_folder(SAMPLE_DIR, "sample")


# ----------------------------------------------------------------------------- a user's own files
def load_array(path: Any) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(X, labels or None) from a .npy, .npz or .csv file; X is float32 of shape (n, features).

    .npz: the array named X (or x, data, or the only array), and y/labels when present.
    .csv: an optional header row (detected: a first row that is not all numbers), numeric cells
    only; the first bad cell is named by row and column.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.lower().rsplit(".", 1)[-1] if "." in os.path.basename(path) else ""
    labels = None
    if suffix == "npy":
        X = np.load(path, allow_pickle=False)
    elif suffix == "npz":
        with np.load(path, allow_pickle=False) as archive:
            names = archive.files
            key = next((k for k in ("X", "x", "data") if k in names), names[0] if len(names) == 1 else None)
            if key is None:
                raise ValueError(f"{path}: .npz with arrays {names}: name the data X (or x, data)")
            X = archive[key]
            label_key = next((k for k in ("y", "labels") if k in names and k != key), None)
            labels = archive[label_key] if label_key else None
    elif suffix in ("csv", "txt"):
        X = read_csv(path)
    else:
        raise ValueError(f"{path}: unknown file type {suffix!r}; fastae reads .npy, .npz and .csv")
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    elif X.ndim > 2:
        X = X.reshape(len(X), -1)  # e.g. images (n, h, w) -> (n, h * w)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{path}: expected numbers, got an array of dtype {X.dtype}")
    if X.dtype == np.uint8:
        X = X / 255.0  # 8-bit pixels -> [0, 1]
    return np.ascontiguousarray(X, dtype=np.float32), None if labels is None else np.asarray(labels)


def read_csv(path: str, delimiter: Optional[str] = None) -> np.ndarray:
    """A CSV of numbers as float64 (n_rows, n_columns), skipping a header row if there is one."""
    with open(path, newline="") as f:
        text = f.read()
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ").delimiter
        except csv.Error:
            delimiter = ","
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{path}: the file has no rows")
    first = 1 if not all(_is_number(c) for c in rows[0]) else 0  # a header: a first row that is not all numbers
    width = len(rows[0])
    values = np.empty((len(rows) - first, width))
    for i, row in enumerate(rows[first:], start=first):
        if len(row) != width:
            raise ValueError(f"{path}: line {i + 1} has {len(row)} columns, the first line has {width}")
        for j, cell in enumerate(row):
            try:
                values[i - first, j] = float(cell)
            except ValueError:
                column = f" ({rows[0][j].strip()!r})" if first else ""
                raise ValueError(f"{path}: line {i + 1}, column {j + 1}{column}: {cell!r} is not a number; "
                                 "fastae reads numeric columns only") from None
    if values.shape[0] == 0:
        raise ValueError(f"{path}: only a header, no data rows")
    return values


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------- one entry point
def load_data(spec: str, test_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """`sample`, `fashion-mnist`, a folder of IDX files, or a .npy/.npz/.csv file. A file has no
    test set of its own: a seeded `test_fraction` of its rows is held out as the test split."""
    if spec == "sample":
        return load_sample()
    if spec == "fashion-mnist":
        return load_fashion_mnist()
    if os.path.isdir(spec):
        return load_fashion_mnist(spec)
    X, labels = load_array(spec)
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = max(1, int(round(test_fraction * len(X))))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    if len(train) == 0:
        raise ValueError(f"{spec}: too few rows ({len(X)}) to hold out a test split")
    side = int(round(np.sqrt(X.shape[1])))
    image_shape = (side, side) if side * side == X.shape[1] and side >= 4 else None
    pick = lambda a, rows: None if a is None else a[rows]
    return Dataset(X[train], pick(labels, train), X[test], pick(labels, test), image_shape, os.path.basename(spec))


def split_of(data: Dataset, split: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(X, labels) of the train, test or all (train then test) rows."""
    if split == "train":
        return data.X_train, data.y_train
    if split == "test":
        return data.X_test, data.y_test
    labels: Sequence[Optional[np.ndarray]] = (data.y_train, data.y_test)
    both = None if any(l is None for l in labels) else np.concatenate(labels)  # type: ignore[arg-type]
    return np.concatenate([data.X_train, data.X_test]), both
