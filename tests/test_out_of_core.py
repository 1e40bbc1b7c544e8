"""Inference on arrays that must be converted, and on .npy files larger than memory: the model
converts and runs them piece by piece, with the same results as the whole array and the row
numbers of the whole array in its errors; the CLI reads a float .npy memory-mapped."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastae
import fastae.autoencoder as autoencoder_module
from fastae import AnomalyDetector, Autoencoder, VariationalAutoencoder

from conftest import make_data


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(autoencoder_module, "CHUNK_BYTES", 4096)  # pieces of 51 rows of 20 float32


def test_pieces_give_the_whole_arrays_results(small_pieces):
    X = make_data(1000, 20).astype(np.float64)  # float64 for a float32 model: converted in pieces
    X32 = X.astype(np.float32)
    model = Autoencoder(latent_dim=4, hidden=(16,), epochs=1, random_state=0).fit(X32)
    assert model._pieces(X) == 51 and model._pieces(X32) is None
    for method in ("encode", "reconstruct", "reconstruction_error"):
        assert np.array_equal(getattr(model, method)(X), getattr(model, method)(X32)), method
    assert np.array_equal(model.reconstruction_error(X, per_feature=True, metric="mae"),
                          model.reconstruction_error(X32, per_feature=True, metric="mae"))
    assert np.isclose(model.evaluate(X), model.evaluate(X32), rtol=1e-12)
    fortran = np.asfortranarray(X32)  # not C order: also converted in pieces
    assert model._pieces(fortran) == 51 and np.array_equal(model.encode(fortran), model.encode(X32))
    detector = AnomalyDetector(Autoencoder(latent_dim=4, epochs=1, random_state=0)).fit(X32)
    assert np.array_equal(detector.predict(X), detector.predict(X32))
    vae = VariationalAutoencoder(latent_dim=2, hidden=(8,), epochs=1, random_state=0).fit(X32)
    assert np.array_equal(vae.encode(X), vae.encode(X32))


def test_an_error_in_a_late_piece_names_the_whole_arrays_row(small_pieces):
    X = make_data(1000, 20).astype(np.float64)
    model = Autoencoder(latent_dim=4, epochs=1, random_state=0).fit(X.astype(np.float32))
    X[777, 3] = np.inf
    for method in ("encode", "reconstruction_error", "evaluate"):
        with pytest.raises(ValueError, match="row 777, column 3"):
            getattr(model, method)(X)


CHILD = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from fastae.cli import main

    def vm_data():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmData:"))

    big, model, detector, codes, scores = sys.argv[1:6]
    limit = vm_data() + 512 * 2**20  # what the process holds now, and half a GiB more
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:  # the control: converting the whole file at once does not fit under the limit
        np.ascontiguousarray(np.load(big, mmap_mode="r"), dtype=np.float32)
        sys.exit("the whole file was converted under the limit: the test proves nothing")
    except MemoryError:
        pass
    for argv in (["encode", model, "--data", big, "--out", codes],
                 ["evaluate", model, "--data", big, "--split", "all"],
                 ["detect", "--data", big, "--model", detector, "--out", scores]):
        code = main(argv)
        if code != 0:
            sys.exit(f"{argv[0]} exited {code}")
    print("ok")
""")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA and /proc/self/status are Linux's")
def test_a_file_larger_than_the_memory_limit_is_read_in_pieces(tmp_path):
    rows, features = 330_000, 784  # 2.07 GB of float64
    if shutil.disk_usage(tmp_path).free < 3 * rows * features * 8:
        pytest.skip("this test writes a 2 GB file and needs 6 GB free in the temporary folder")
    big = tmp_path / "big.npy"
    stored = np.lib.format.open_memmap(big, mode="w+", dtype=np.float64, shape=(rows, features))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 20_000):
        stored[start:start + 20_000] = rng.random((min(20_000, rows - start), features))
    stored.flush()
    del stored
    sample = np.load(big, mmap_mode="r")[:2000].astype(np.float32)
    model = Autoencoder(latent_dim=16, hidden=(64,), epochs=1, random_state=0).fit(sample)
    model.save(tmp_path / "model.fae")
    AnomalyDetector(Autoencoder(latent_dim=16, epochs=1, random_state=0)).fit(sample).save(tmp_path / "det.fae")
    done = subprocess.run([sys.executable, "-c", CHILD, str(big), str(tmp_path / "model.fae"), str(tmp_path / "det.fae"),
                           str(tmp_path / "codes.npy"), str(tmp_path / "scores.csv")],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="2"))
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout[-2000:] + done.stderr[-2000:]
    codes = np.load(tmp_path / "codes.npy")
    mapped = np.load(big, mmap_mode="r")
    assert codes.shape == (rows, 16)
    for at in (0, 123_457, rows - 1000):  # the file's rows, in its order
        assert np.array_equal(codes[at:at + 1000], model.encode(np.asarray(mapped[at:at + 1000], dtype=np.float32)))
    with open(tmp_path / "scores.csv") as f:
        assert sum(1 for _ in f) == rows + 1
