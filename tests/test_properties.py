"""Property-based tests (hypothesis) over the public API, the loaders and the CLI: random shapes
(0 and 1 rows, 1 feature), dtypes, memory layouts, NaN/inf, absurd hyperparameters, broken files
and command lines. Each case works as documented or raises the documented error (ValueError or
TypeError; FloatingPointError when training diverges) -- never a crash, a hang, or a model with
inf/NaN weights.

Profiles: HYPOTHESIS_PROFILE=ci (the default: derandomised, about half a minute in all) or deep (ten
times the examples, a fresh random draw each run): HYPOTHESIS_PROFILE=deep pytest tests/test_properties.py
"""

import contextlib
import gzip
import io
import os
import struct
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastae
from fastae import SGD, Adam, Autoencoder
from fastae.cli import main
from fastae.datasets import load_array, read_idx

settings.register_profile("ci", max_examples=400, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REFUSED = (ValueError, TypeError)  # the documented errors for unusable arguments and data
SPECIAL = [np.nan, np.inf, -np.inf, 1e300, -1e300, 1e39, -1e39, 5e-324, 65504.0, 1e5, -1.0, 0.0]
DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int64, np.uint8, np.bool_, np.complex64, "U4",
          "M8[s]", object]
LAYOUTS = ["C", "F", "strided", "transposed", "read-only", "list", "1-D", "3-D", "scalar", "ragged"]


@st.composite
def inputs(draw, max_rows=6, max_cols=5, clean_only=False):
    """An input to fit or inference and whether it is clean: a 2-D float array in [0, 1] (clean),
    or anything else an array-like can be."""
    rows, cols = draw(st.integers(0, max_rows)), draw(st.integers(1, max_cols))
    clean = clean_only or draw(st.booleans())
    unit = st.floats(0, 1, width=32)
    values = draw(st.lists(unit if clean else unit | st.sampled_from(SPECIAL), min_size=rows * cols,
                           max_size=rows * cols))
    a = np.array(values, dtype=np.float64).reshape(rows, cols)
    if clean:
        return a.astype(draw(st.sampled_from([np.float32, np.float64]))), True
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dtype = draw(st.sampled_from(DTYPES))
        a = np.zeros(a.shape, dtype=dtype) if dtype == "M8[s]" else a.astype(dtype)
    layout = draw(st.sampled_from(LAYOUTS))
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "strided":
        a = np.repeat(a, 2, axis=1)[:, ::2]
    elif layout == "transposed":
        a = np.ascontiguousarray(a.T).T
    elif layout == "read-only":
        a.setflags(write=False)
    elif layout == "list":
        return a.tolist(), False
    elif layout == "1-D":
        return a.ravel(), False
    elif layout == "3-D":
        return a.reshape(rows, cols, 1), False
    elif layout == "scalar":
        return (a.ravel()[0] if a.size else np.zeros((), a.dtype)[()]), False
    elif layout == "ragged":
        return [list(r) for r in a.tolist()] + [[0.5] * (cols + 1)], False
    return a, False


POOLS = {
    "latent_dim": [1, 2, 3, np.int64(2), 0, -1, 2.5, True, "2", None, 2**31, 2**40, 2**64, 10**400],
    "hidden": [(), (3,), (4, 2), [2], np.array([3]), 3, (0,), (-2,), (2**31,), "3", None, (1.5,)],
    "activation": list(fastae._validation.ACTIVATIONS) + ["RELU", "nope", 3, None],
    "output_activation": ["sigmoid", "linear", "tanh", "nope"],
    "loss": list(fastae._validation.LOSSES) + ["MSE", "l2", None],
    "optimizer": ["adam", "sgd", "rmsprop", "adamw", "nope", Adam(lr=1e-2), SGD(lr=0.1, momentum=0.9), 3],
    "learning_rate": [None, 1e-3, 0.1, np.float32(0.01), 0.0, -1.0, np.nan, np.inf, 10**400, 1e30, "0.1"],
    "batch_size": [1, 2, 256, np.int64(3), 0, -1, 2**63, 1.5, True],
    "epochs": [0, 1, 2, np.int8(1), -1, 2**64, 1.5, None],
    "clip_norm": [None, 1.0, 0.0, -1.0, np.nan, np.inf, 10**400],
    "clip_value": [None, 0.5, 0.0, -1.0, np.nan, 10**400],
    "dtype": ["float32", "float64", np.float64, "float16", "int32", "nope"],
    "n_threads": [None, 1, 2, 3, 0, -1, 257, 2**31, np.int64(2)],
    "random_state": [None, 0, 1, -1, 2**64, np.int64(5), 1.5],
    "shuffle": [True, False, np.bool_(True), 1, "no"],
    "validation_fraction": [None, 0.2, 0.5, 0.0, 1.0, -0.1, np.nan, 10**400],
    "early_stopping": [False, True, 1],
    "patience": [0, 1, 5, -1, 2**70],
    "min_delta": [0.0, 1e-3, -1.0, np.nan, 10**400],
    "noise": ["none", "gaussian", "masking", "salt_pepper", "blur", None],
    "noise_level": [0.0, 0.2, 0.99, 1.0, 5.0, -0.1, np.nan, 10**400],
    "activity_l1": [0.0, 0.01, 1e6, -1.0, np.nan, "0.1"],
    "lr_schedule": [None, "nope", lambda epoch, lr, history: lr / 2, lambda epoch, lr, history: 10**400,
                    lambda epoch, lr, history: float("nan")],
}
hyperparameters = st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in POOLS.items()})


def assert_finite_model(model):
    assert all(np.isfinite(w).all() for w in model.get_weights()), "a model with non-finite weights"


@given(params=hyperparameters, data=inputs())
def test_fit_works_or_refuses(params, data):
    X, _ = data
    model = Autoencoder(**params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
    except REFUSED:
        return
    except FloatingPointError:  # divergence (documented): the model keeps its last good weights
        assert_finite_model(model)
        return
    assert_finite_model(model)
    clean = np.asarray(X, dtype=np.float64)
    out = model.reconstruct(clean)
    assert out.shape == clean.shape
    if model.output_activation in ("sigmoid", "tanh"):  # bounded outputs: never inf or NaN
        assert np.isfinite(out).all()


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).random((30, 4))
    return Autoencoder(latent_dim=2, hidden=(3,), epochs=2, random_state=0).fit(X)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=inputs(max_cols=5), method=st.sampled_from(["encode", "decode", "reconstruct", "reconstruction_error",
                                                        "evaluate", "score", "transform", "predict"]))
def test_inference_works_or_refuses(fitted, data, method):
    X, clean = data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(fitted, method)(X)
    except REFUSED:
        return
    n_rows = np.shape(X)[0]
    wanted = {"encode": (n_rows, 2), "transform": (n_rows, 2), "decode": (n_rows, 4), "reconstruct": (n_rows, 4),
              "predict": (n_rows, 4), "reconstruction_error": (n_rows,), "evaluate": (), "score": ()}[method]
    assert np.shape(out) == wanted
    if clean:  # inputs in [0, 1]: nothing overflows
        assert np.isfinite(out).all()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_set_weights_works_or_refuses(fitted, data):
    weights = fitted.get_weights()
    index = data.draw(st.integers(0, len(weights) - 1))
    change = data.draw(st.sampled_from(["value", "shape", "dtype", "drop", "list", "extra"]))
    new = [w.copy() for w in weights]
    if change == "value":
        new[index] = new[index].astype(np.float64)  # holds values beyond float32 until set_weights casts
        new[index].flat[0] = data.draw(st.sampled_from(SPECIAL + [1e38, 3.5e38]))
    elif change == "shape":
        new[index] = new[index].reshape(-1)[:-1] if new[index].size > 1 else np.zeros(2)
    elif change == "dtype":
        new[index] = new[index].astype(data.draw(st.sampled_from([np.complex64, "U8", np.bool_, np.int8, object])))
    elif change == "drop":
        new = new[:-1]
    elif change == "list":
        new[index] = new[index].tolist()
    else:
        new = new + [np.zeros(1)]
    model = Autoencoder(latent_dim=2, hidden=(3,), epochs=1, random_state=0).fit(np.full((4, 4), 0.5))
    before = model.get_weights()
    try:
        model.set_weights(new)
    except REFUSED:  # and the weights are untouched
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
        return
    assert_finite_model(model)


# ------------------------------------------------------------------------------------------ loaders
CSV_CELLS = ["0", "1", "0.5", "-2", "1e5", "nan", "inf", "1e400", "-1e39", "abc", "", " ", '"1"', "x,y", "\xff", "é"]


@given(cells=st.lists(st.lists(st.sampled_from(CSV_CELLS), min_size=0, max_size=4), max_size=5),
       separator=st.sampled_from([",", ";", "\t", " "]), newline=st.sampled_from(["\n", "\r\n"]),
       encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_csv_loads_or_refuses(cells, separator, newline, encoding):
    text = newline.join(separator.join(row) for row in cells)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "data.csv")
        with open(path, "wb") as f:
            f.write(text.encode(encoding, errors="replace"))
        try:
            X, labels = load_array(path)
        except ValueError as err:
            assert path in str(err)
            return
    assert X.dtype == np.float32 and X.ndim == 2 and labels is None
    if "inf" not in text:
        assert not np.isinf(X).any()


@given(data=inputs(), suffix=st.sampled_from(["npy", "npz"]), cut=st.integers(0, 400),
       flips=st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 255)), max_size=3))
def test_array_files_load_or_refuse(data, suffix, cut, flips):
    X, _ = data
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            (np.save if suffix == "npy" else np.savez)(buffer, np.asarray(X, dtype=object if isinstance(X, list) else None))
        except (ValueError, TypeError):
            return  # not an array NumPy can save
    raw = bytearray(buffer.getvalue())
    for at, xor in flips:
        if at < len(raw):
            raw[at] ^= xor
    if cut:
        raw = raw[:-cut] if cut < len(raw) else raw[:1]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"data.{suffix}")
        with open(path, "wb") as f:
            f.write(bytes(raw))
        try:
            out, labels = load_array(path)
        except ValueError as err:
            assert path in str(err)
            return
    assert out.dtype == np.float32 and out.ndim == 2


IDX_TYPES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]


@given(kind=st.sampled_from(IDX_TYPES), dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), max_size=4),
       declared_ndim=st.integers(0, 255) | st.just(None), body=st.binary(max_size=300),
       compressed=st.booleans(), magic=st.sampled_from([b"\x00\x00", b"\x00\x01", b"PK"]))
def test_idx_reads_or_refuses(kind, dims, declared_ndim, body, compressed, magic):
    ndim = len(dims) if declared_ndim is None else declared_ndim
    raw = magic + bytes([kind, ndim % 256]) + b"".join(struct.pack(">I", d) for d in dims) + body
    if compressed:
        raw = gzip.compress(raw)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "images-idx3-ubyte" + (".gz" if compressed else ""))
        with open(path, "wb") as f:
            f.write(raw)
        try:
            out = read_idx(path)
        except ValueError as err:
            assert path in str(err)
            return
    assert out.ndim == ndim and (declared_ndim is not None or out.shape == tuple(dims))


_SAVED = {}


def _valid_model_file() -> bytes:
    if not _SAVED:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "m.fae")
            Autoencoder(latent_dim=2, hidden=(3,), epochs=2, random_state=0).fit(
                np.random.default_rng(0).random((20, 5))).save(path)
            with open(path, "rb") as f:
                _SAVED["bytes"] = f.read()
    return _SAVED["bytes"]


@given(flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=6),
       cut=st.integers(0, 100))
def test_damaged_model_files_load_or_refuse(flips, cut):
    raw = bytearray(_valid_model_file())
    for where, xor in flips:
        raw[int(where * (len(raw) - 1))] ^= xor
    raw = raw[:len(raw) - cut]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "damaged.fae")
        with open(path, "wb") as f:
            f.write(bytes(raw))
        try:
            model = fastae.load(path)
        except ValueError as err:
            assert path in str(err)
            return
    assert_finite_model(model)
    out = model.reconstruct(np.random.default_rng(1).random((3, 5)))
    assert out.shape == (3, 5)


# -------------------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    np.savetxt(folder / "small.csv", rng.random((40, 6)), delimiter=",")
    np.savez(folder / "short-labels.npz", X=rng.random((10, 6)), y=np.arange(3))
    (folder / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    (folder / "text.csv").write_text("a,b\n1,x\n")
    Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(rng.random((40, 6))).save(folder / "model.fae")
    (folder / "broken.fae").write_bytes((folder / "model.fae").read_bytes()[:300])
    return folder


ARGUMENTS = {
    "--data": ["{small.csv}", "{short-labels.npz}", "{bad.npz}", "{text.csv}", "{missing.csv}", "{.}", "nope"],
    "--epochs": ["1", "0", "-1", "x", "1e3", str(2**70)],
    "--latent": ["2", "0", "-3", "2.5", str(2**40)],
    "--hidden": ["4", "0", "x", str(2**31)],
    "--loss": ["mse", "bce", "huber", "nope"],
    "--activation": ["relu", "tanh", "nope"],
    "--lr": ["0.01", "0", "-1", "nan", "inf", "1e30", "1e400"],
    "--batch-size": ["8", "0", "1", "x"],
    "--threads": ["1", "2", "0", "257", str(2**40)],
    "--seed": ["0", "-1", str(2**70), "x"],
    "--split": ["train", "test", "all", "nope"],
    "--noise": ["masking", "gaussian", "salt_pepper", "nope"],
    "--noise-level": ["0.3", "1.5", "-1", "nan", "x"],
    "--activity-l1": ["0.01", "-1", "inf", "x"],
}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(command=st.sampled_from(["train", "evaluate", "encode", "nope", ""]),
       model=st.sampled_from(["{model.fae}", "{broken.fae}", "{missing.fae}", "{.}"]),
       options=st.lists(st.sampled_from(sorted(ARGUMENTS)), max_size=4, unique=True), data=st.data())
def test_cli_exits_0_or_2_with_one_line(cli_files, command, model, options, data):
    def path(text):
        return text.replace("{", str(cli_files) + os.sep).replace("}", "").replace(os.sep + ".", "")

    argv = [command] if command else []
    if command in ("evaluate", "encode"):
        argv.append(path(model))
    for option in options:
        if command != "train" and option not in ("--data", "--split"):
            continue
        if command == "train" and option == "--split":
            continue
        argv += [option, path(data.draw(st.sampled_from(ARGUMENTS[option])))]
    if command == "train":
        argv += ["--quiet", "--out", str(cli_files / "out.fae")]
        if "--data" not in options:
            argv += ["--data", path("{small.csv}")]
    if command == "encode":
        argv += ["--out", str(cli_files / "codes.npy")]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse: --help or an argument it refuses
            code = stop.code
    errors = stderr.getvalue()
    assert "Traceback" not in errors
    assert code in (0, 1, 2), (argv, code, errors)
    if code != 0:
        lines = errors.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fastae") and "error" in lines[0], (argv, errors)
    if code == 1:  # failed, not refused: only training that diverged
        assert "diverged" in errors, (argv, errors)
