"""The training experience: validation, early stopping, schedules, callbacks, progress, Ctrl-C, resume."""

import csv
import io
import os
import signal
import threading
import tracemalloc

import numpy as np
import pytest

from fastae import (Autoencoder, CosineAnnealing, CSVLogger, EarlyStopping, ExponentialDecay, ModelCheckpoint,
                    ReduceLROnPlateau, StepDecay, load)
from fastae._progress import ProgressLine
from fastae.reference import Network, ReferenceOptimizer, train_epoch

from conftest import make_data


@pytest.fixture
def X():
    return make_data(120, 10)


def same_weights(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


def model(**params):
    params = {"latent_dim": 3, "hidden": (6,), "batch_size": 16, "random_state": 0, **params}
    return Autoencoder(**params)


# ----------------------------------------------------------------------------- validation
def test_validation_data_loss_is_the_held_out_loss_after_each_epoch(X):
    X_val = make_data(30, 10, seed=1)
    fitted = model(epochs=3).fit(X, validation_data=X_val)
    assert len(fitted.history_["val_loss"]) == 3
    assert fitted.history_["val_loss"][-1] == pytest.approx(fitted.evaluate(X_val), rel=1e-12)
    one = model(epochs=1).fit(X, validation_data=X_val)
    assert fitted.history_["val_loss"][0] == one.history_["val_loss"][0] == pytest.approx(one.evaluate(X_val))


def test_validation_fraction_trains_on_the_rest_without_copying_it(X):
    fitted = model(epochs=3, validation_fraction=0.25).fit(X)
    rows, X_val = fitted._split(X.astype(np.float32), 0.25)
    assert len(X_val) == 30 and len(rows) == 90
    held_out = sorted(set(range(120)) - set(rows.tolist()))
    explicit = model(epochs=3).fit(X[rows], validation_data=X[held_out])
    assert same_weights(fitted, explicit)  # training on rows of X is training on X[rows]
    np.testing.assert_array_equal(fitted.history_["val_loss"], explicit.history_["val_loss"])
    again = model(epochs=3, validation_fraction=0.25).fit(X)
    assert same_weights(fitted, again)  # the split is seeded


def test_validation_fraction_does_not_copy_the_training_rows():
    X = make_data(20000, 50).astype(np.float32)
    tracemalloc.start()
    model(epochs=1, validation_fraction=0.1, batch_size=256).fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.3 * X.nbytes  # the 10% validation copy, not the 90% training part


def test_row_subset_epoch_matches_the_reference(X):
    fitted64 = model(dtype="float64").build(10)
    reference = Network(fitted64.get_weights(), fitted64.spec_.activations, "mse")
    optimizer = ReferenceOptimizer(fitted64._checked()["optimizer"])
    rows = np.array([3, 7, 8, 20, 21, 50, 99, 100, 119], dtype=np.int64)
    X64 = X.astype(np.float64)
    loss, state = fitted64._model.train_epoch(X64, None, 4, True, 5, 2, rows)
    ref_loss, ref_state = train_epoch(reference, optimizer, X64, 4, True, 5, rows=rows)
    assert state == ref_state and loss == pytest.approx(ref_loss, rel=1e-12)
    for got, want in zip(fitted64.get_weights(), reference.weights):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fraction, error", [(0.0, ValueError), (1.0, ValueError), ("0.1", TypeError)])
def test_bad_validation_fraction(X, fraction, error):
    with pytest.raises(error, match="validation_fraction"):
        model(validation_fraction=fraction).fit(X)


def test_validation_fraction_needs_rows_to_train_on():
    with pytest.raises(ValueError, match="validation_fraction.*n_samples=1"):
        model(validation_fraction=0.5).fit(make_data(1, 10))


# ----------------------------------------------------------------------------- early stopping
def test_early_stopping_stops_and_restores_the_best_epoch(X):
    # min_delta=1 cannot be beaten after the first epoch: stop after `patience` more epochs.
    stopped = model(epochs=50, early_stopping=True, patience=3, min_delta=1.0).fit(X)
    assert stopped.n_epochs_ == 4 and len(stopped.history_["loss"]) == 4 and stopped.best_epoch_ == 0
    assert same_weights(stopped, model(epochs=1).fit(X))
    kept = model(epochs=50, early_stopping=True, patience=3, min_delta=1.0, restore_best_weights=False).fit(X)
    assert same_weights(kept, model(epochs=4).fit(X))


def test_early_stopping_without_a_stop_ends_at_the_best_epoch(X):
    fitted = model(epochs=8, early_stopping=True, patience=100, validation_fraction=0.2).fit(X)
    val = fitted.history_["val_loss"]
    assert fitted.n_epochs_ == 8 and fitted.best_epoch_ == int(np.argmin(val))
    X32 = X.astype(np.float32)
    assert fitted.evaluate(X32[fitted._split(X32, 0.2)[1]]) == pytest.approx(min(val), rel=1e-6)


class FakeModel:
    def __init__(self):
        self.history_ = {"loss": []}
        self.stop_training = False
        self.restored = None

    def _snapshot(self):
        return len(self.history_["loss"])

    def _restore(self, state):
        self.restored = state


@pytest.mark.parametrize("logs, stop_at, best", [
    ([{"loss": 9, "val_loss": v} for v in (1.0, 0.5, 0.6, 0.7, 0.4)], 3, 1),  # monitors val_loss
    ([{"loss": v} for v in (1.0, 0.5, 0.6, 0.7, 0.4)], 3, 1),  # falls back to loss without validation
    ([{"loss": v} for v in (1.0, 0.9, 0.8, 0.7, 0.6)], None, 4),
])
def test_early_stopping_callback_counts_patience_like_keras(logs, stop_at, best):
    fake, stopper = FakeModel(), EarlyStopping(patience=2)
    stopper.on_train_begin(fake)
    for epoch, entry in enumerate(logs):
        fake.history_["loss"].append(entry["loss"])
        stopper.on_epoch_end(epoch, entry)
        if fake.stop_training:
            break
    stopper.on_train_end(fake)
    assert stopper.stopped_epoch == stop_at and stopper.best_epoch == best
    assert fake.restored == (best + 1 if stop_at is not None else None)  # the snapshot after the best epoch


# ----------------------------------------------------------------------------- schedules
def test_schedule_values():
    h = {"loss": []}
    assert [StepDecay(2, 0.5)(e, 1.0, h) for e in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert [ExponentialDecay(0.5)(e, 2.0, h) for e in range(3)] == [2.0, 1.0, 0.5]
    cosine = CosineAnnealing(t_max=6, min_lr=0.1, warmup_epochs=2)
    got = [cosine(e, 1.0, h) for e in range(8)]
    assert got[:2] == [0.5, 1.0]
    want = [0.1 + 0.9 * (1 + np.cos(np.pi * t / 4)) / 2 for t in (0, 1, 2, 3, 4, 4)]
    np.testing.assert_allclose(got[2:], want)


def test_reduce_on_plateau_replays_the_history():
    schedule = ReduceLROnPlateau(factor=0.5, patience=1)
    losses = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]
    lrs = [schedule(e, 1.0, {"loss": losses}) for e in range(len(losses) + 1)]
    # bad epochs: 2, 3 (cut after 3: more than one), 4, 6, 7 (cut after 7)
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert schedule(3, 1.0, {"loss": losses, "val_loss": [1, 1, 1]}) == 0.5  # monitors val_loss when present


def test_fit_applies_the_schedule_per_epoch(X):
    schedule = StepDecay(2, 0.1)
    fitted = model(epochs=5, learning_rate=0.01, lr_schedule=schedule).fit(X)
    np.testing.assert_allclose(fitted.history_["lr"], [0.01, 0.01, 0.001, 0.001, 0.0001])
    by_hand = model()
    for lr in fitted.history_["lr"]:
        by_hand.set_params(learning_rate=lr).partial_fit(X)
    assert same_weights(fitted, by_hand)


def test_plain_callable_schedule(X):
    fitted = model(epochs=3, lr_schedule=lambda epoch: 0.004 / (epoch + 1)).fit(X)
    np.testing.assert_allclose(fitted.history_["lr"], [0.004, 0.002, 0.004 / 3])


@pytest.mark.parametrize("schedule, error", [(lambda e: float("nan"), ValueError), (lambda e: "fast", TypeError),
                                             (lambda e: -1.0, ValueError), ("cosine", TypeError)])
def test_bad_schedule(X, schedule, error):
    fitted = model(epochs=1).fit(X)
    before = fitted.get_weights()
    with pytest.raises(error, match="lr_schedule"):
        fitted.set_params(lr_schedule=schedule).fit(X, resume=True)
    assert all(np.array_equal(a, b) for a, b in zip(before, fitted.get_weights()))


@pytest.mark.parametrize("bad", [lambda: StepDecay(0), lambda: ExponentialDecay(0.0), lambda: CosineAnnealing(3, warmup_epochs=3),
                                 lambda: ReduceLROnPlateau(factor=1.5), lambda: ReduceLROnPlateau(monitor="acc")])
def test_bad_schedule_arguments(bad):
    with pytest.raises(ValueError):
        bad()


# ----------------------------------------------------------------------------- callbacks
def test_model_checkpoint_keeps_the_best_epoch(X, tmp_path):
    X_val = make_data(30, 10, seed=1)
    checkpoint = ModelCheckpoint(tmp_path / "best.fae")
    every = ModelCheckpoint(str(tmp_path / "epoch-{epoch:02d}.fae"), save_best_only=False)
    fitted = model(epochs=4, learning_rate=0.05).fit(X, validation_data=X_val, callbacks=[checkpoint, every])
    assert sorted(os.listdir(tmp_path)) == ["best.fae", "epoch-01.fae", "epoch-02.fae", "epoch-03.fae", "epoch-04.fae"]
    best = int(np.argmin(fitted.history_["val_loss"]))
    saved = load(tmp_path / "best.fae")
    assert same_weights(saved, load(tmp_path / f"epoch-{best + 1:02d}.fae"))
    assert saved.evaluate(X_val) == pytest.approx(fitted.history_["val_loss"][best], rel=1e-6)


def test_csv_logger_writes_the_history(X, tmp_path):
    path = tmp_path / "log.csv"
    fitted = model(epochs=3).fit(X, validation_data=X, callbacks=[CSVLogger(path)])
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and list(rows[0]) == ["epoch", "loss", "val_loss", "lr", "seconds"]
    np.testing.assert_allclose([float(r["loss"]) for r in rows], fitted.history_["loss"])
    fitted.fit(X, validation_data=X, resume=True, epochs=1, callbacks=[CSVLogger(path, append=True)])
    with open(path) as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2", "3", "4"]


# ----------------------------------------------------------------------------- progress
class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def every_batch(monkeypatch):
    """Progress hooks at every batch boundary, so that these tests do not depend on timing."""
    monkeypatch.setattr(ProgressLine, "hook_seconds", 0.0)
    monkeypatch.setattr(ProgressLine, "min_interval", 0.0)


def test_verbose_1_draws_a_live_line_from_the_cpp_loop(X, monkeypatch, every_batch):
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    model(epochs=2, verbose=1).fit(X, validation_data=X)
    text = screen.getvalue()
    lines = text.split("\n")
    assert len(lines) == 3 and lines[2] == ""  # one finished line per epoch
    updates = lines[0].split("\r")[1:]
    assert len(updates) == 120 // 16 + 1  # 7 mid-epoch redraws (not after the last batch) + the final line
    assert "16/120" in updates[0] and "samples/s" in updates[0] and "ETA" in updates[0]
    assert "epoch 1/2" in updates[-1] and "val_loss" in updates[-1] and "lr 0.001" in updates[-1]


def test_verbose_2_prints_one_line_per_epoch_and_0_nothing(X, capsys):
    model(epochs=3, verbose=2).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[2].startswith("epoch 3/3  loss ") and "\r" not in "".join(lines)
    model(epochs=3, verbose=0).fit(X)
    assert capsys.readouterr().out == ""


# ----------------------------------------------------------------------------- Ctrl-C
class InterruptingTerminal(Terminal):
    """Raises KeyboardInterrupt (as Ctrl-C would) at the n-th live update of the progress line."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def write(self, text):
        if text.startswith("\r") and "ETA" in text:
            self.seen += 1
            if self.seen == self.at:
                os.kill(os.getpid(), signal.SIGINT)  # handled as KeyboardInterrupt right here
        return super().write(text)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_ctrl_c_mid_epoch_keeps_the_last_complete_epoch(X, tmp_path, monkeypatch, every_batch, n_threads):
    monkeypatch.setattr("sys.stdout", InterruptingTerminal(at=10))  # in epoch 2 (7 updates per epoch)
    csv_logger = CSVLogger(tmp_path / "log.csv")
    fitted = model(epochs=5, verbose=1, n_threads=n_threads)
    with pytest.raises(KeyboardInterrupt):
        fitted.fit(X, callbacks=[csv_logger])
    assert len(fitted.history_["loss"]) == 1 and fitted.n_epochs_ == 1
    assert csv_logger._file is None and len((tmp_path / "log.csv").read_text().splitlines()) == 2  # closed by on_train_end
    want = model(epochs=1, n_threads=n_threads).fit(X)
    assert same_weights(fitted, want)
    monkeypatch.setattr("sys.stdout", io.StringIO())
    fitted.fit(X, resume=True, epochs=1)  # optimizer and shuffle state were restored too
    assert same_weights(fitted, model(epochs=2, n_threads=n_threads).fit(X))


def test_a_real_sigint_stops_fit_cleanly():
    X = make_data(4000, 64)
    fitted = model(epochs=100000, n_threads=2, batch_size=8)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fitted.fit(X)
    finally:
        timer.cancel()
    done = len(fitted.history_["loss"])
    assert 0 <= done < 100000 and fitted.n_epochs_ == done
    assert same_weights(fitted, model(epochs=done, n_threads=2, batch_size=8).fit(X))


# ----------------------------------------------------------------------------- resume, introspection
@pytest.mark.parametrize("params", [
    {},
    {"validation_fraction": 0.2, "lr_schedule": ReduceLROnPlateau(patience=0, factor=0.5)},
    {"lr_schedule": CosineAnnealing(4, warmup_epochs=1), "optimizer": "rmsprop", "clip_norm": 1.0},
])
def test_fit_4_equals_fit_2_save_load_fit_2(X, tmp_path, params):
    straight = model(epochs=4, **params).fit(X)
    first = model(epochs=2, **params).fit(X)
    first.save(tmp_path / "m.fae")
    resumed = load(tmp_path / "m.fae").fit(X, epochs=2, resume=True)
    assert same_weights(straight, resumed)
    assert resumed.history_ == straight.history_


def test_resume_needs_a_fitted_model(X):
    with pytest.raises(ValueError, match="resume"):
        model().fit(X, resume=True)


def test_partial_fit_after_a_validated_fit_keeps_columns_aligned(X):
    fitted = model(epochs=2, validation_fraction=0.2).fit(X).partial_fit(X)
    assert len(fitted.history_["val_loss"]) == len(fitted.history_["loss"]) == 3
    assert np.isnan(fitted.history_["val_loss"][2])


def test_summary(X, capsys):
    fitted = model(epochs=1).fit(X)
    fitted.summary()
    text = capsys.readouterr().out
    # 10 -> 6 -> 3 -> 6 -> 10: W + b per layer is 60 + 6, 18 + 3, 18 + 6, 60 + 10
    for name, params in (("encoder_1", 66), ("latent", 21), ("decoder_1", 24), ("output", 70)):
        assert any(line.startswith(name) and line.endswith(f" {params}") for line in text.splitlines()), text
    assert f"Total params: {fitted._model.n_params:,}" in text
    assert sum(w.size for w in fitted.get_weights()) == fitted._model.n_params
    model().summary()  # not built: the sizes that depend on the input are n, the counts a n + b
    text = capsys.readouterr().out
    for name, params in (("encoder_1", "6n + 6"), ("latent", "21"), ("decoder_1", "24"), ("output", "7n")):
        assert any(line.startswith(name) and line.endswith(f" {params}") for line in text.splitlines()), text
    assert "Total params: 13n + 51" in text and "n -> 6 -> 3 -> 6 -> n" in text


def test_layer_introspection(X):
    fitted = model(hidden=(8, 5), latent_dim=2, epochs=1).fit(X)
    assert fitted.encoder_layers_ == [10, 8, 5, 2] and fitted.decoder_layers_ == [2, 5, 8, 10]
    assert fitted.n_features_in_ == 10 and not hasattr(fitted, "feature_names_in_")


def test_training_flushes_subnormal_optimizer_state_to_zero():
    """Adam's first moment of dead relu units decays into the subnormal range, where float
    arithmetic is about a hundred times slower (cpp/include/fastae/denormals.hpp): training flushes
    such values to zero (without it, this model's state holds about 500 of them)."""
    X = np.random.default_rng(0).random((2000, 64), dtype=np.float32)
    model = Autoencoder(latent_dim=2, hidden=(64,), batch_size=16, n_threads=1, random_state=0, loss="bce",
                        epochs=8).fit(X)
    tiny = np.finfo(np.float32).tiny
    for name, slot in model._model.optimizer_slots():
        assert not np.any((slot != 0) & (np.abs(slot) < tiny)), name
    assert np.count_nonzero(model._model.optimizer_slots()[0][1] == 0) > 0  # flushed values, not none to flush
