"""Reading members of an .npz archive with memory bounded before anything is allocated.

A member's size as the zip directory declares it is checked against what the caller expects,
its compression against a plausible ratio (a zip bomb declares a small packed size for a huge
one), its .npy header (dtype, shape, order) against the expected array, and then exactly the
expected bytes are read: a member that inflates to more than it declared stops there. Every
failure is a ValueError naming the file and the member. Nothing is unpickled.
"""

from __future__ import annotations

import ast
import zipfile
from typing import Any, Dict, Optional, Tuple

import numpy as np

__all__ = ["Archive", "ArchiveError"]

NPY_HEADER_LIMIT = 64 << 10  # an .npy header is a short dict: refuse more
DEFLATE_RATIO_LIMIT = 1100   # deflate cannot pack better than ~1032:1
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


class ArchiveError(ValueError):
    """A member that cannot be what the caller expects; the message names it."""


class Archive:
    """An open .npz file: its member names and bounded reads of single members."""

    def __init__(self, path: str, what: str = "not a fastae model file"):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as err:
            raise ArchiveError(f"{path}: {what}, or the file is truncated or corrupt ({err})") from None
        self.members: Dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.filename.endswith(".npy") or info.filename[:-4] in self.members:
                raise ArchiveError(f"{path}: member {info.filename!r} is not an array this format stores")
            self.members[info.filename[:-4]] = info

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._zip.close()

    def read(self, name: str, dtype: Optional[np.dtype], shape: Optional[Tuple[int, ...]],
             max_bytes: int) -> np.ndarray:
        """Member `name` as an array; dtype and shape must be as given (None: any, within max_bytes)."""
        where = f"{self.path}: member {name!r}"
        info = self.members.get(name)
        if info is None:
            raise ArchiveError(f"{where} is missing")
        expected = None if dtype is None or shape is None else int(np.prod(shape, dtype=object)) * dtype.itemsize
        limit = (max_bytes if expected is None else expected) + NPY_HEADER_LIMIT
        if info.compress_type not in METHODS:
            raise ArchiveError(f"{where} uses zip compression method {info.compress_type}; fastae reads "
                               f"{' and '.join(METHODS.values())} members only")
        if info.file_size > limit:
            raise ArchiveError(f"{where} declares {info.file_size:,} bytes, more than the {limit:,} it can hold")
        if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > DEFLATE_RATIO_LIMIT * max(info.compress_size, 1):
            raise ArchiveError(f"{where} declares {info.file_size:,} bytes packed into {info.compress_size:,}: "
                               "more than deflate can pack (a zip bomb?)")
        try:
            with self._zip.open(info) as f:
                got_dtype, got_shape = _npy_header(f, where)
                if dtype is not None and got_dtype != dtype:
                    raise ArchiveError(f"{where} has dtype {got_dtype}, expected {dtype}")
                if shape is not None and got_shape != shape:
                    raise ArchiveError(f"{where} has shape {got_shape}, expected {shape}")
                n_bytes = int(np.prod(got_shape, dtype=object)) * got_dtype.itemsize
                if n_bytes > limit:
                    raise ArchiveError(f"{where} holds {n_bytes:,} bytes, more than the {limit:,} allowed")
                data = f.read(n_bytes)
                if len(data) != n_bytes:
                    raise ArchiveError(f"{where} is truncated ({len(data):,} of {n_bytes:,} bytes)")
                if f.read(1):
                    raise ArchiveError(f"{where} has data after its array")
        except ArchiveError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as err:
            raise ArchiveError(f"{where} is truncated or corrupt ({type(err).__name__}: {err})") from None
        return np.frombuffer(data, dtype=got_dtype).reshape(got_shape).copy()


def _npy_header(f: Any, where: str) -> Tuple[np.dtype, Tuple[int, ...]]:
    """(dtype, shape) from an .npy header read from f, refusing object, structured and Fortran-order
    arrays and anything but a plain numeric or byte dtype."""
    prefix = f.read(10)
    if len(prefix) < 10 or prefix[:6] != b"\x93NUMPY":
        raise ArchiveError(f"{where} is not an .npy array")
    major = prefix[6]
    if major == 1:
        header_len, extra = int.from_bytes(prefix[8:10], "little"), b""
    elif major in (2, 3):
        extra = f.read(2)
        header_len = int.from_bytes(prefix[8:10] + extra, "little")
    else:
        raise ArchiveError(f"{where} has .npy format version {major}")
    if header_len > NPY_HEADER_LIMIT:
        raise ArchiveError(f"{where} has an .npy header of {header_len:,} bytes")
    text = f.read(header_len)
    try:
        fields = ast.literal_eval(text.decode("latin1"))
        descr, fortran, shape = fields["descr"], fields["fortran_order"], fields["shape"]
        dtype = np.dtype(descr) if isinstance(descr, str) else None
    except (ValueError, SyntaxError, TypeError, KeyError, MemoryError, RecursionError) as err:
        raise ArchiveError(f"{where} has an unreadable .npy header ({type(err).__name__})") from None
    if dtype is None or dtype.kind not in "biuf" or dtype.hasobject:
        raise ArchiveError(f"{where} has dtype {descr!r}; fastae stores plain numbers only")
    if fortran is not False:
        raise ArchiveError(f"{where} is in Fortran order; fastae writes C order")
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise ArchiveError(f"{where} has an invalid shape {shape!r}")
    return dtype, shape
