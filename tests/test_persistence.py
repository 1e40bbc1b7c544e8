"""save -> load reproduces the model exactly; bad files give clear errors; nothing is unpickled."""

import io
import json
import zipfile

import numpy as np
import pytest

import fastae
from fastae import AdamW, Autoencoder

from conftest import make_data


@pytest.fixture
def X():
    return make_data(120, 10, seed=3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_round_trip_reproduces_reconstructions_exactly(tmp_path, X, dtype, loss):
    model = Autoencoder(latent_dim=3, hidden=(6,), epochs=3, loss=loss, dtype=dtype, optimizer=AdamW(lr=0.01),
                        random_state=0).fit(X)
    path = tmp_path / "model.fae"
    model.save(path)
    loaded = fastae.load(path)
    assert np.array_equal(loaded.reconstruct(X), model.reconstruct(X))
    assert np.array_equal(loaded.encode(X), model.encode(X))
    assert np.array_equal(loaded.reconstruction_error(X), model.reconstruction_error(X))
    assert loaded.get_params() == model.get_params()
    assert loaded.history_ == model.history_


def test_loaded_model_continues_training_exactly(tmp_path, X):
    """fit 4 epochs == fit 2, save, load, 2 more epochs (weights, optimizer state and shuffle state)."""
    whole = Autoencoder(latent_dim=3, random_state=1)
    for _ in range(4):
        whole.partial_fit(X)
    half = Autoencoder(latent_dim=3, random_state=1)
    for _ in range(2):
        half.partial_fit(X)
    half.save(tmp_path / "half.fae")
    resumed = fastae.load(tmp_path / "half.fae")
    for _ in range(2):
        resumed.partial_fit(X)
    assert all(np.array_equal(a, b) for a, b in zip(whole.get_weights(), resumed.get_weights()))


def test_unfitted_model_round_trip(tmp_path):
    path = tmp_path / "plain.fae"
    Autoencoder(latent_dim=5, hidden=(9,)).save(path)
    loaded = fastae.load(path)
    assert loaded.latent_dim == 5 and loaded.hidden == (9,)
    assert not hasattr(loaded, "history_")


def test_save_keeps_the_exact_path_and_overwrites_atomically(tmp_path, X):
    model = Autoencoder(latent_dim=3, epochs=1, random_state=0).fit(X)
    path = tmp_path / "model.bin"
    model.save(path)
    model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_truncated_file(saved):
    path = saved
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 10):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="not a fastae model file, or the file is truncated or corrupt"):
            fastae.load(path)


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.arange(3))
    npy = tmp_path / "array.npy"
    np.save(npy, np.arange(3))
    objects = tmp_path / "objects.npz"
    np.savez(objects, __fastae__=np.array([{"format": "fastae-model"}], dtype=object))
    for path in (text, npz, npy, objects):
        with pytest.raises(ValueError, match="not a fastae model file"):
            fastae.load(path)
    with pytest.raises(FileNotFoundError):
        fastae.load(tmp_path / "missing.fae")


def read_header(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(np.lib.format.read_array(io.BytesIO(archive.read("__fastae__.npy"))).tobytes())


def rewrite_header(path, change):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(np.lib.format.read_array(io.BytesIO(members["__fastae__.npy"])).tobytes())
    change(header)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    members["__fastae__.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.fixture
def saved(tmp_path, X):
    path = tmp_path / "model.fae"
    Autoencoder(latent_dim=3, epochs=1, random_state=0).fit(X).save(path)
    return path


def test_newer_format_is_refused_with_a_clear_message(saved):
    rewrite_header(saved, lambda h: h.update(version=99))
    with pytest.raises(ValueError, match="format 99, newer than this fastae reads"):
        fastae.load(saved)


def test_version_1_files_still_load(saved, X):
    new_params = ("validation_fraction", "early_stopping", "patience", "min_delta", "restore_best_weights", "lr_schedule")

    def as_version_1(header):  # what fastae 0.1 wrote: none of the version-2 settings or fields
        header["version"] = 1
        for name in new_params:
            del header["params"][name]
        for name in ("split_seed", "best_epoch", "n_epochs", "feature_names", "dropped"):
            header.pop(name, None)
        header["history"].pop("lr")

    want = fastae.load(saved).reconstruct(X)
    rewrite_header(saved, as_version_1)
    old = fastae.load(saved)
    np.testing.assert_array_equal(old.reconstruct(X), want)
    assert old.n_epochs_ == 1 and old.early_stopping is False and old.lr_schedule is None


def test_schedules_are_saved_and_plain_callables_dropped(tmp_path, X):
    from fastae import CosineAnnealing

    path = tmp_path / "m.fae"
    Autoencoder(latent_dim=3, epochs=1, lr_schedule=CosineAnnealing(5, warmup_epochs=1)).fit(X).save(path)
    assert fastae.load(path).lr_schedule == CosineAnnealing(5, warmup_epochs=1)
    Autoencoder(latent_dim=3, epochs=1, lr_schedule=lambda e: 1e-3).fit(X).save(path)
    assert fastae.load(path).lr_schedule is None


def test_mismatched_arrays_are_refused(saved):
    rewrite_header(saved, lambda h: h.update(n_features=11))
    with pytest.raises(ValueError, match="member 'params' has shape"):
        fastae.load(saved)


def test_files_name_their_model_class(saved):
    header = read_header(saved)
    assert header["version"] == 3 and header["class"] == "Autoencoder"


def test_version_2_files_without_a_class_load_as_autoencoders(saved, X):
    want = fastae.load(saved).reconstruct(X)

    def as_version_2(header):
        header["version"] = 2
        del header["class"]

    rewrite_header(saved, as_version_2)
    np.testing.assert_array_equal(fastae.load(saved).reconstruct(X), want)


@pytest.mark.parametrize("change, words", [
    (lambda h: h.update({"class": "Forest"}), "header field 'class' is 'Forest'; this fastae reads Autoencoder"),
    (lambda h: h.update({"class": 3}), "header field 'class' is 3; expected str"),
    (lambda h: h.pop("class"), "header field 'class' is missing"),
])
def test_an_unknown_or_missing_class_is_refused(saved, change, words):
    rewrite_header(saved, change)
    with pytest.raises(ValueError, match=words):
        fastae.load(saved)
