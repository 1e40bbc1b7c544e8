"""Data: Fashion-MNIST (the embedded sample, or the full set from Debian or a folder), IDX files,
and a user's own .npy / .npz / .csv files.

Every loader returns float32 arrays. Images are scaled to [0, 1]; labels are int64.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import math
import os
import tokenize
import zlib
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ._archive import Archive
from ._validation import physical_memory, spelling

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
def read_idx(path: Any, max_bytes: Optional[int] = None) -> np.ndarray:
    """An IDX file (gzipped or not) as a NumPy array of its own type and shape.

    Checks the magic number (two zero bytes, a known type code, 1-4 dimensions), computes the
    size from the header in Python integers and refuses it above ``max_bytes`` (default: half the
    machine's memory) before reading any data; gzip data is inflated as it streams and reading
    stops at the declared size, so a small file that inflates to gigabytes is refused at once. A
    corrupt file raises ValueError naming the file and what is wrong.
    """
    path = os.fspath(path)
    limit = physical_memory() // 2 if max_bytes is None else max_bytes
    with open(path, "rb") as plain:
        zipped = plain.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(path, "rb") if zipped else open(path, "rb")) as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES or not 1 <= magic[3] <= 4:
                raise ValueError(f"{path}: not an IDX file (magic number {magic.hex() or 'missing'}; expected 0000 "
                                 "followed by a type code 08/09/0b/0c/0d/0e and 1-4 dimensions)")
            n_dims, dtype = magic[3], np.dtype(IDX_TYPES[magic[2]])
            dims = f.read(4 * n_dims)
            if len(dims) < 4 * n_dims:
                raise ValueError(f"{path}: IDX header truncated (the header needs {4 + 4 * n_dims} bytes)")
            shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(n_dims))
            n_bytes = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
            if n_bytes > limit:
                raise ValueError(f"{path}: IDX header declares shape {shape} of {dtype}, {n_bytes:,} bytes, more than "
                                 f"the {limit:,} allowed (max_bytes)")
            if not zipped and os.path.getsize(path) != 4 + 4 * n_dims + n_bytes:
                size = os.path.getsize(path)
                raise ValueError(f"{path}: IDX file of shape {shape} and type {dtype} should be "
                                 f"{4 + 4 * n_dims + n_bytes} bytes, but it is {size} "
                                 f"({'truncated' if size < 4 + 4 * n_dims + n_bytes else 'trailing data'})")
            data = f.read(n_bytes)
            if len(data) < n_bytes:
                raise ValueError(f"{path}: IDX data truncated: shape {shape} of {dtype} needs {n_bytes:,} bytes, "
                                 f"the file holds {len(data):,}")
            if f.read(1):
                raise ValueError(f"{path}: trailing data after the {n_bytes:,} bytes of shape {shape}")
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: corrupt gzip data ({err})") from None
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


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
# What np.load raises for a damaged .npy (a damaged version 1 or 2 header is parsed again with
# tokenize, which raises TokenError).
NPY_ERRORS = (ValueError, OSError, EOFError, SyntaxError, TypeError, MemoryError, tokenize.TokenError)

def load_array(path: Any) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(X, labels or None) from a .npy, .npz or .csv file; X is float32 of shape (n, features).

    .npz: the array named X (or x, data, or the only array), and y/labels when present (one per
    row). .csv: UTF-8, an optional header row (detected: a first row that is not all numbers),
    numeric cells only; the first bad cell is named by row and column. A value beyond float32's
    range is refused with its position. Every unusable file is a ValueError naming it.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.lower().rsplit(".", 1)[-1] if "." in os.path.basename(path) else ""
    labels = None
    if suffix == "npy":
        try:  # mapped, not read: a header that declares more than the file holds is refused, not allocated
            X = np.load(path, mmap_mode="r", allow_pickle=False)
        except NPY_ERRORS as err:
            raise ValueError(f"{path}: not a readable .npy file, or it is truncated or corrupt "
                             f"({type(err).__name__}: {err})") from None
    elif suffix == "npz":
        X, labels = _read_npz(path)
    elif suffix in ("csv", "txt"):
        X = read_csv(path)
    else:
        raise ValueError(f"{path}: unknown file type {suffix!r}; fastae reads .npy, .npz and .csv")
    if X.ndim == 0:
        raise ValueError(f"{path}: holds a single number, not rows of data")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    elif X.ndim > 2:
        X = X.reshape(len(X), math.prod(X.shape[1:]))  # e.g. images (n, h, w) -> (n, h * w)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{path}: holds an array of shape {X.shape}: no rows or no columns of data")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: expected numbers, got an array of dtype {X.dtype}")
    if labels is not None and (labels.ndim != 1 or len(labels) != len(X)):
        raise ValueError(f"{path}: the labels have shape {labels.shape}, but X has {len(X)} rows (one label per row)")
    if X.dtype == np.uint8:
        X = X / 255.0  # 8-bit pixels -> [0, 1]
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf: found and reported below
        out = np.ascontiguousarray(X, dtype=np.float32)
    if X.dtype.kind == "f" and X.dtype.itemsize > 4:
        lost = np.isinf(out) & np.isfinite(X)
        if lost.any():
            row, col = (int(i) for i in np.argwhere(lost)[0])
            raise ValueError(f"{path}: value {X[row, col]!r} at row {row}, column {col} is beyond float32's range")
    return out, labels


def _read_npz(path: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(X, labels or None) from an .npz archive, each member bounded before it is read (_archive.py)."""
    limit = physical_memory() // 2
    with Archive(path, "not a readable .npz archive") as archive:
        names = list(archive.members)
        key = next((k for k in ("X", "x", "data") if k in names), names[0] if len(names) == 1 else None)
        if key is None:
            raise ValueError(f"{path}: .npz with arrays {names}: name the data X (or x, data)")
        label_key = next((k for k in ("y", "labels") if k in names and k != key), None)
        X = archive.read(key, None, None, limit)
        labels = archive.read(label_key, None, None, limit) if label_key else None
    return X, labels


MISSING_CELLS = ("", "na", "n/a", "nan", "null", "?")  # CSV cells read as NaN, a missing value


def read_csv(path: str, delimiter: Optional[str] = None) -> np.ndarray:
    """A CSV of numbers as float64 (n_rows, n_columns), skipping a header row if there is one; an
    empty cell, NA, N/A, NaN, null or ? is a missing value (NaN)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as err:
        line = text_line(path, err.start)
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}, line {line}: {err.reason})") from None
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    except csv.Error as err:
        raise ValueError(f"{path}: not a readable CSV file ({err})") from None
    if not rows:
        raise ValueError(f"{path}: the file has no rows")
    first = 1 if not all(_is_number(c) for c in rows[0]) else 0  # a header: a first row that is not all numbers
    width = len(rows[0])
    values = np.empty((len(rows) - first, width))
    for i, row in enumerate(rows[first:], start=first):
        if len(row) != width:
            raise ValueError(f"{path}: line {i + 1} has {len(row)} columns, the first line has {width}")
        for j, cell in enumerate(row):
            if cell.strip().lower() in MISSING_CELLS:
                values[i - first, j] = math.nan  # a missing value (a model with missing="mask" takes it)
                continue
            try:
                values[i - first, j] = value = float(cell)
                if math.isinf(value) and "inf" not in cell.lower():  # "1e400": too large, not infinity spelled out
                    raise OverflowError
            except OverflowError:
                raise ValueError(f"{path}: line {i + 1}, column {j + 1}: {cell[:40]!r} is beyond float32's range") from None
            except ValueError:
                column = f" ({rows[0][j].strip()!r})" if first else ""
                raise ValueError(f"{path}: line {i + 1}, column {j + 1}{column}: {cell[:40]!r} is not a number; "
                                 "fastae reads numeric columns only") from None
    if values.shape[0] == 0:
        raise ValueError(f"{path}: only a header, no data rows")
    return values


def text_line(path: str, offset: int) -> int:
    """The 1-based line number of byte `offset` of a file."""
    with open(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1


def _is_number(cell: str) -> bool:
    if cell.strip().lower() in MISSING_CELLS:
        return True
    try:
        float(cell)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------- one entry point
def load_data(spec: str, test_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """`sample`, `fashion-mnist`, a folder of IDX files, or a .npy/.npz/.csv file. A file has no
    test set of its own: a seeded `test_fraction` of its rows is held out as the test split."""
    named = spec if spec in KNOWN_DATASETS else None
    if named is None and os.path.isdir(spec):
        return load_fashion_mnist(spec)
    if named is not None or not os.path.isfile(spec):
        named = {spelling(name): name for name in KNOWN_DATASETS}.get(spelling(spec))  # "Fashion_MNIST" too
        if named == "sample":
            return load_sample()
        if named == "fashion-mnist":
            return load_fashion_mnist()
        if os.path.splitext(spec)[1] or os.sep in spec:  # meant as a file
            raise FileNotFoundError(f"{spec}: no such file (relative to {os.getcwd()})")
        raise FileNotFoundError(_not_a_dataset(spec))
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


KNOWN_DATASETS = {"sample": "the Fashion-MNIST sample inside fastae (3,000 + 1,000 images)",
                  "fashion-mnist": "the full Fashion-MNIST (60,000 + 10,000 images)"}


def _not_a_dataset(spec: str) -> str:
    """Why `spec` names nothing load_data can read: the datasets it knows and where it looked."""
    where = "; ".join(f"{folder} ({why})" for folder, why in fashion_mnist_folders())
    close = difflib.get_close_matches(spec.lower(), list(KNOWN_DATASETS), n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if spelling(spec) == "mnist":
        hint = " MNIST's digits are not packaged with fastae; Fashion-MNIST ('fashion-mnist') has the same shape."
    known = "; ".join(f"{name!r}: {what}" for name, what in KNOWN_DATASETS.items())
    return (f"{spec}: not a dataset fastae knows, nor a file or folder (relative to {os.getcwd()}).{hint} "
            f"Datasets: {known}, looked for in {where}; or a .npy, .npz or .csv file, or a folder of IDX files.")


def mapped_rows(path: str) -> Optional[np.ndarray]:
    """A .npy file of floating-point numbers memory-mapped as rows (n, features), in the file's
    order, nothing read yet; None for any other file (those are loaded whole: 8-bit pixels are
    scaled to [0, 1] on the way)."""
    if not (path.lower().endswith(".npy") and os.path.isfile(path)):
        return None
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except NPY_ERRORS:
        return None  # load_array says what is wrong with it
    if X.dtype.kind != "f" or X.ndim < 2 or 0 in X.shape or (X.ndim > 2 and not X.flags.c_contiguous):
        return None
    return X.reshape(X.shape[0], -1) if X.ndim > 2 else X


def split_of(data: Dataset, split: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(X, labels) of the train, test or all (train then test) rows."""
    if split == "train":
        return data.X_train, data.y_train
    if split == "test":
        return data.X_test, data.y_test
    labels: Sequence[Optional[np.ndarray]] = (data.y_train, data.y_test)
    both = None if any(l is None for l in labels) else np.concatenate(labels)  # type: ignore[arg-type]
    return np.concatenate([data.X_train, data.X_test]), both
