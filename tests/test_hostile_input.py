"""Regressions from probing fastae as an attacker and as a busy user would: each case used to crash,
corrupt silently or raise an error that named nothing."""

import threading

import numpy as np
import pytest

import fastae
from fastae import SGD, Autoencoder, _core
from fastae.callbacks import ModelCheckpoint
from fastae.cli import main
from fastae.datasets import load_array

from conftest import make_data

HUGE = 10**400


@pytest.fixture
def X():
    return make_data(64, 5, seed=1)


# ------------------------------------------------------------------ threads
@pytest.mark.parametrize("n_threads", [257, 1000, 40000, 100000, 2**31, 2**70])
def test_absurd_thread_counts_are_refused_by_name(X, n_threads):
    with pytest.raises(ValueError, match="n_threads: must be <= 256"):
        Autoencoder(n_threads=n_threads, epochs=1).fit(X)


def test_the_core_bounds_its_team_by_the_work(X):
    """_core itself never starts more threads than there is work (or 256): 100,000 asked for a
    64-row scan used to end the process."""
    arr = np.ascontiguousarray(X, dtype=np.float32)
    assert _core.scan(arr, 100000)[0] == -1
    model = Autoencoder(latent_dim=2, epochs=1, n_threads=256, random_state=0).fit(X)
    assert np.isfinite(model.reconstruct(X)).all()


def test_cli_threads_is_bounded(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--threads", "100000", "--epochs", "1"])
    assert stop.value.code == 2
    assert "at most 256" in capsys.readouterr().err


# ------------------------------------------------------------------ values beyond a dtype
def test_set_weights_checks_after_the_cast(X):
    model = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(X)
    before = model.get_weights()
    weights = [w.astype(np.float64) for w in before]
    weights[0][1, 1] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"weights\[0\]: value .*1e\+39.* beyond float32's range"):
        model.set_weights(weights)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_fit_refuses_values_beyond_float32_with_their_position():
    X = np.full((4, 3), 0.5)
    X[2, 1] = 1e300
    with pytest.raises(ValueError, match="row 2, column 1 is out of range"):
        Autoencoder(latent_dim=2, epochs=1, loss="mse").fit(X)


def test_load_array_refuses_values_beyond_float32_with_their_position(tmp_path):
    X = np.full((4, 3), 0.5)
    X[3, 2] = -1e300
    np.save(tmp_path / "big.npy", X)
    with pytest.raises(ValueError, match="at row 3, column 2 is beyond float32's range"):
        load_array(tmp_path / "big.npy")


# ------------------------------------------------------------------ NumPy scalars are numbers
def test_numpy_scalars_are_numbers_and_save(tmp_path, X):
    model = Autoencoder(latent_dim=np.int64(3), hidden=(np.int32(4),), epochs=np.int64(1), batch_size=np.uint16(16),
                        shuffle=np.bool_(True), learning_rate=np.float32(0.01), clip_norm=np.float64(1.0),
                        random_state=np.int64(0)).fit(X)
    model.save(tmp_path / "m.fae")
    loaded = fastae.load(tmp_path / "m.fae")
    assert loaded.latent_dim == 3 and loaded.shuffle is True
    np.testing.assert_array_equal(loaded.reconstruct(X), model.reconstruct(X))


def test_grid_of_numpy_values_fits_and_saves(tmp_path, X):
    """A grid search built with np.arange: every model fits, saves and loads."""
    for lr in np.arange(0.001, 0.004, 0.001):
        for latent in np.arange(2, 4):
            Autoencoder(latent_dim=latent, learning_rate=lr, epochs=1).fit(X).save(tmp_path / "m.fae")
            assert fastae.load(tmp_path / "m.fae").latent_dim == latent


# ------------------------------------------------------------------ huge numbers
@pytest.mark.parametrize("make", [
    lambda: SGD(lr=HUGE),
    lambda: Autoencoder(latent_dim=2, learning_rate=HUGE, epochs=1).fit(make_data(8, 3)),
    lambda: Autoencoder(latent_dim=2, lr_schedule=lambda epoch: HUGE, epochs=1).fit(make_data(8, 3)),
    lambda: Autoencoder(latent_dim=2, epochs=1).fit([[HUGE, 1.0]]),
    lambda: Autoencoder(latent_dim=2, clip_norm=HUGE, epochs=1).fit(make_data(8, 3)),
    lambda: Autoencoder(latent_dim=2, clip_value=HUGE, epochs=1).fit(make_data(8, 3)),
    lambda: Autoencoder(latent_dim=2, min_delta=HUGE, epochs=1).fit(make_data(8, 3)),
    lambda: Autoencoder(latent_dim=2, validation_fraction=HUGE, epochs=1).fit(make_data(8, 3)),
], ids=["sgd-lr", "learning_rate", "schedule", "X", "clip_norm", "clip_value", "min_delta", "validation_fraction"])
def test_numbers_beyond_a_float_are_value_errors(make):
    with pytest.raises(ValueError, match="too large|must be"):
        make()


@pytest.mark.parametrize("name, value", [("latent_dim", 2**63), ("latent_dim", 2**40), ("batch_size", 2**63),
                                         ("epochs", 2**64), ("hidden", (2**63,)), ("patience", 2**70)])
def test_integers_beyond_the_core_are_value_errors(X, name, value):
    with pytest.raises(ValueError, match=name):
        Autoencoder(**{name: value}).fit(X)


def test_a_network_beyond_memory_is_refused_before_allocation(X):
    with pytest.raises(ValueError, match="latent_dim, hidden: the network .* GiB"):
        Autoencoder(latent_dim=2**30, epochs=1).fit(X)


def test_long_numbers_are_shortened_in_messages():
    with pytest.raises(ValueError) as err:
        Autoencoder(latent_dim=HUGE).fit(make_data(8, 3))
    assert len(str(err.value)) < 200


# ------------------------------------------------------------------ errors that name the argument
def test_model_checkpoint_checks_its_pattern_when_made(tmp_path):
    with pytest.raises(ValueError, match=r"path: '\{nope\}.fae' is not a usable pattern"):
        ModelCheckpoint("{nope}.fae")
    ModelCheckpoint(str(tmp_path / "m-{epoch:03d}-{val_loss:.3f}.fae"))  # fields it fills in


def test_model_checkpoint_without_validation_fills_val_loss_with_nan(tmp_path, X):
    Autoencoder(latent_dim=2, epochs=1).fit(X, callbacks=[ModelCheckpoint(str(tmp_path / "m-{val_loss}.fae"),
                                                                          monitor="loss")])
    assert [p.name for p in tmp_path.iterdir()] == ["m-nan.fae"]


def test_ragged_lists_name_the_argument():
    with pytest.raises(ValueError, match="X: expected a 2-D array of numbers, but its rows have different lengths"):
        Autoencoder(epochs=1).fit([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("content, words", [
    (b"not a zip file", "not a readable .npz archive"),
    (None, "the labels have shape (10,), but X has 50 rows"),
])
def test_cli_unusable_npz_is_one_line_and_exit_code_2(tmp_path, capsys, content, words):
    path = tmp_path / "data.npz"
    if content is None:
        np.savez(path, X=np.random.default_rng(0).random((50, 4)), y=np.arange(10))
    else:
        path.write_bytes(content)
    assert main(["train", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "m.fae")]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_csv_that_is_not_utf8_is_a_value_error(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b\n1,2\n3,\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8 text .*line 3"):
        load_array(path)


def test_truncated_npy_is_a_value_error(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.zeros((100, 10)))
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="cut.npy: not a readable .npy file"):
        load_array(path)


# ------------------------------------------------------------------ found by test_properties.py
def test_a_damaged_npy_header_is_a_value_error(tmp_path):
    """One flipped byte in the header made NumPy's tokenize fallback raise TokenError."""
    path = tmp_path / "flipped.npy"
    np.save(path, np.zeros((0, 2), dtype=np.float32))
    raw = bytearray(path.read_bytes())
    raw[10] ^= 1  # '{' -> 'z'
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="flipped.npy: not a readable .npy file"):
        load_array(path)


@pytest.mark.parametrize("shape", [(0, 1, 1), (0, 3), (4, 0), (0,)])
def test_an_array_without_rows_or_columns_is_refused_by_file(tmp_path, shape):
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros(shape))
    with pytest.raises(ValueError, match="empty.npy: holds an array of shape .*no rows or no columns"):
        load_array(path)


@pytest.mark.parametrize("cell", ["1e400", "-2e308"])
def test_csv_cells_beyond_float64_are_refused_with_their_position(tmp_path, cell):
    path = tmp_path / "big.csv"
    path.write_text(f"0.5,0.5\n0.25,{cell}\n")
    with pytest.raises(ValueError, match=f"big.csv: line 2, column 2: '{cell}' is beyond float32's range"):
        load_array(path)


def test_cli_training_that_diverges_is_one_line_and_exit_code_1(tmp_path, capsys):
    data = tmp_path / "d.csv"
    np.savetxt(data, make_data(64, 5), delimiter=",")
    code = main(["train", "--data", str(data), "--lr", "1e30", "--epochs", "3", "--quiet", "--out", str(tmp_path / "m.fae")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "training diverged" in err[0]


# ------------------------------------------------------------------ concurrent calls on one model
def test_concurrent_partial_fit_and_encode_on_one_model(X):
    """Two threads each run partial_fit 5 times while two others encode: the same weights as 10
    calls in a row (every call trains on the same X, so their order does not matter), and every
    code finite and of the right shape."""
    shared = Autoencoder(latent_dim=3, hidden=(8,), n_threads=1, random_state=0).build(X.shape[1])
    alone = Autoencoder(latent_dim=3, hidden=(8,), n_threads=1, random_state=0).build(X.shape[1])
    errors, codes = [], []

    def train():
        try:
            for _ in range(5):
                shared.partial_fit(X)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    def infer():
        try:
            for _ in range(50):
                codes.append(shared.encode(X))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=f) for f in (train, train, infer, infer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for _ in range(10):
        alone.partial_fit(X)
    assert all(np.array_equal(a, b) for a, b in zip(shared.get_weights(), alone.get_weights()))
    assert len(shared.history_["loss"]) == 10
    assert all(c.shape == (len(X), 3) and np.isfinite(c).all() for c in codes)


def test_the_trainer_may_run_inference_inside_fit(X):
    """Validation and callbacks run inference from the training thread: the lock lets them."""
    seen = []

    class Encodes:
        def on_epoch_end(self, epoch, logs):
            seen.append(model.encode(X[:3]).shape)

    model = Autoencoder(latent_dim=2, epochs=2)
    model.fit(X, validation_data=X, callbacks=[Encodes()])
    assert seen == [(3, 2), (3, 2)]


def test_a_pickled_model_does_not_carry_its_lock(X):
    import pickle

    model = Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(X)
    model.encode(X)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.__dict__.get("_model_lock") is not model.__dict__["_model_lock"]
    np.testing.assert_array_equal(copy.encode(X), model.encode(X))


def test_scan_and_inference_threads_share_out_chunks():
    """Inference splits rows into chunks taken from a shared counter: any thread count gives the
    same bits (a chunk's result does not depend on the thread that computes it)."""
    X = make_data(5000, 20, seed=2)
    model = Autoencoder(latent_dim=4, hidden=(16,), epochs=1, random_state=0).fit(X)
    outs = [model.set_params(n_threads=t).reconstruct(X) for t in (1, 2, 3, 7)]
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
