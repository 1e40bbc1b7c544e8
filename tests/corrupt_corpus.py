"""A seeded corpus of broken and hostile files for fastae.load and read_idx: truncations, byte
flips, crafted headers, zip and gzip bombs, sizes that overflow. Run as a script (by
test_corrupt_files.py, under a memory limit) it tries every case and prints one JSON line per
case: its name and what happened ("loaded", "ValueError", or another exception's name)."""

import gzip
import io
import json
import os
import pickle
import struct
import sys
import tempfile
import zipfile
import zlib

import numpy as np


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(members, method=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def _with_header(members, change):
    header = json.loads(np.lib.format.read_array(io.BytesIO(members["__fastae__.npy"])).tobytes())
    change(header)
    return {**members, "__fastae__.npy": _npy(np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))}


def _npy_header(n_bytes):
    """The .npy header of a float32 array of n_bytes bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (n_bytes // 4,)})
    return buffer.getvalue()


def _bomb_zip(members, name, n_bytes):
    """A zip with member `name` as an .npy header followed by n_bytes of zeros, deflated in chunks."""
    header = _npy_header(n_bytes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for other, data in members.items():
            if other != name:
                z.writestr(other, data)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED  # a ZipInfo is stored by default, whatever the ZipFile says
        with z.open(info, "w", force_zip64=True) as f:
            f.write(header)
            chunk = bytes(1 << 20)
            for _ in range(n_bytes >> 20):
                f.write(chunk)
    return buffer.getvalue()


def model_cases(valid_path):
    """(name, file bytes) pairs for fastae.load."""
    raw = open(valid_path, "rb").read()
    members = _members(valid_path)
    rng = np.random.default_rng(0)
    for cut in sorted(set(np.linspace(1, len(raw) - 1, 24).astype(int))):
        yield f"truncated at {cut}", raw[:cut]
    for i in range(250):
        flipped = bytearray(raw)
        at = int(rng.integers(0, len(raw)))
        flipped[at] ^= int(rng.integers(1, 256))
        yield f"byte {at} flipped ({i})", bytes(flipped)
    params = np.lib.format.read_array(io.BytesIO(members["params.npy"]))
    header_cases = {
        "version '2'": lambda h: h.update(version="2"), "version true": lambda h: h.update(version=True),
        "n_features 20.7": lambda h: h.update(n_features=20.7), "n_features '20'": lambda h: h.update(n_features="20"),
        "n_features 50M": lambda h: h.update(n_features=50_000_000), "n_features 2**40": lambda h: h.update(n_features=2**40),
        "best_epoch 'x'": lambda h: h.update(best_epoch="x"), "rng_state -1": lambda h: h.update(rng_state=-1),
        "rng_state 2**70": lambda h: h.update(rng_state=2**70), "rng_state '0x5'": lambda h: h.update(rng_state="0x5"),
        "history strings": lambda h: h.update(history={"loss": ["a"]}), "history missing": lambda h: h.pop("history"),
        "params a list": lambda h: h.update(params=[1, 2]), "unknown hyperparameter": lambda h: h["params"].update(nope=1),
        "n_threads 100000": lambda h: h["params"].update(n_threads=100000), "latent 2**40": lambda h: h["params"].update(latent_dim=2**40),
        "hidden huge": lambda h: h["params"].update(hidden=[2**20, 2**20]), "optimizer bogus": lambda h: h["params"].update(optimizer={"name": "x"}),
        "optimizer_steps -3": lambda h: h.update(optimizer_steps=-3), "feature_names short": lambda h: h.update(feature_names=["a"]),
        "header a list": None,
    }
    for name, change in header_cases.items():
        if change is None:
            yield name, _zip({**members, "__fastae__.npy": _npy(np.frombuffer(b"[1, 2]", dtype=np.uint8))})
        else:
            yield name, _zip(_with_header(members, change))
    for name, array in {"params nan": np.where(np.arange(params.size) == 2, np.nan, params).astype(params.dtype),
                        "params float64": params.astype(np.float64), "params complex": params.astype(np.complex64),
                        "params bool": params > 0, "params strings": params.astype(str),
                        "params datetime": np.zeros(params.size, dtype="datetime64[s]"),
                        "params structured": np.zeros(params.size, dtype=[("a", "<f4")]),
                        "params 2-D": params.reshape(1, -1), "params fortran 2-D": np.asfortranarray(np.ones((3, 4)))}.items():
        yield name, _zip({**members, "params.npy": _npy(array)})
    slot = np.lib.format.read_array(io.BytesIO(members["slot:exp_avg_sq.npy"]))
    yield "negative second moment", _zip({**members, "slot:exp_avg_sq.npy": _npy(-np.abs(slot) - 1)})
    yield "raw pickle member", _zip({**members, "params.npy": pickle.dumps(params)})
    yield "object array member", _zip({**members, "params.npy": pickle.dumps(np.array([{}], dtype=object))})
    yield "extra member", _zip({**members, "extra.npy": _npy(np.zeros(10))})
    yield "member without .npy", _zip({**members, "notes.txt": b"hello"})
    yield "deep JSON header", _zip({**members, "__fastae__.npy": _npy(np.frombuffer(b"[" * 100000 + b"]" * 100000, np.uint8))})
    yield "header not UTF-8", _zip({**members, "__fastae__.npy": _npy(np.frombuffer(b"\xff\xfe{}", np.uint8))})
    yield "bzip2 members", _zip(members, zipfile.ZIP_BZIP2)
    yield "lzma members", _zip(members, zipfile.ZIP_LZMA)
    yield "zip bomb as params (1 GiB)", _bomb_zip(members, "params.npy", 1 << 30)
    yield "zip bomb as an extra member (1 GiB)", _bomb_zip(members, "extra.npy", 1 << 30)
    yield "zip bomb as the header (512 MiB)", _bomb_zip(members, "__fastae__.npy", 1 << 29)


def idx_cases():
    """(name, file bytes) pairs for read_idx."""
    images = np.arange(4 * 5 * 6, dtype=np.uint8).reshape(4, 5, 6)
    valid = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 4, 5, 6) + images.tobytes()
    rng = np.random.default_rng(1)
    for data, kind in ((valid, "raw"), (gzip.compress(valid), "gzip")):
        for cut in range(0, len(data), max(1, len(data) // 12)):
            yield f"{kind} truncated at {cut}", data[:cut]
        for i in range(40):
            flipped = bytearray(data)
            flipped[int(rng.integers(0, len(data)))] ^= int(rng.integers(1, 256))
            yield f"{kind} byte flipped ({i})", bytes(flipped)
    overflow = struct.pack(">BBBB", 0, 0, 0x0E, 4) + struct.pack(">IIII", *([2**32 - 1] * 4))
    yield "dims overflow int64", overflow + bytes(64)
    yield "dims overflow int64, gzipped", gzip.compress(overflow + bytes(64))
    yield "declares 1 TB", struct.pack(">BBBB", 0, 0, 0x08, 2) + struct.pack(">II", 2**20, 2**20) + bytes(100)
    small = struct.pack(">BBBB", 0, 0, 0x08, 1) + struct.pack(">I", 1000)
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip: 1000 bytes declared, 1 GiB inflated
    parts = [bomb.compress(small)]
    chunk = bytes(1 << 20)
    parts += [bomb.compress(chunk) for _ in range(1024)]
    yield "gzip bomb (1 GiB after a 1000-byte header)", b"".join(parts) + bomb.flush()
    yield "not gzip after the magic", b"\x1f\x8b" + bytes(50)


def run(valid_model):
    """Tries every case; one JSON line each."""
    import fastae
    from fastae.datasets import read_idx

    folder = tempfile.mkdtemp()
    for kind, cases, reader in (("load", model_cases(valid_model), fastae.load), ("read_idx", idx_cases(), read_idx)):
        for name, data in cases:
            path = os.path.join(folder, "case")
            with open(path, "wb") as f:
                f.write(data)
            try:
                reader(path)
                outcome = "loaded"
            except ValueError:
                outcome = "ValueError"
            except BaseException as err:  # what the test reports as a failure
                outcome = f"{type(err).__name__}: {err}"[:200]
            print(json.dumps({"reader": kind, "case": name, "outcome": outcome}), flush=True)
            os.unlink(path)


if __name__ == "__main__":
    import resource

    limit = int(sys.argv[2])
    if limit:  # 0: no limit (under AddressSanitizer, whose shadow memory alone reserves terabytes)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    run(sys.argv[1])
