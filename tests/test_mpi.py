"""Data-parallel training over MPI: `mpiexec -n 2` and `-n 3` (uneven rows) started here as
subprocesses with a timeout. R ranks equal one process on the rows concatenated in rank order;
every rank holds bitwise the same weights; repeated runs are bitwise identical; a failure on one
rank stops every rank, naming it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="the MPI tests need mpi4py and an MPI: pip install mpi4py mpich")

import fastae  # noqa: E402

WORKER = Path(__file__).resolve().parent / "mpi_worker.py"
BESIDE = Path(sys.executable).with_name("mpiexec")  # the mpich wheel's, beside this Python
MPIEXEC = str(BESIDE) if BESIDE.exists() else shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install mpich")

BASE = {"rows": 301, "features": 12, "dtype": "float64", "class": "Autoencoder",
        "params": {"latent_dim": 3, "hidden": [8], "epochs": 4, "batch_size": 32, "random_state": 0, "n_threads": 1,
                   "dtype": "float64", "dropout": 0.1, "noise": "gaussian", "noise_level": 0.1, "clip_norm": 0.5}}


def run(tmp_path, ranks, **changes):
    """Every rank's report, weights and the files it wrote, after `mpiexec -n ranks`."""
    config = {**BASE, **changes, "params": {**BASE["params"], **changes.get("params", {})}}
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    out.mkdir()
    done = subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, str(WORKER), str(out), json.dumps(config)],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"))
    reports = []
    for rank in range(ranks):
        path = out / f"rank{rank}.json"
        assert path.exists(), done.stdout[-2000:] + done.stderr[-2000:]
        report = json.loads(path.read_text())
        weights = out / f"rank{rank}.npz"
        if weights.exists():
            with np.load(weights) as stored:
                report["weights"] = [stored[f"arr_{i}"] for i in range(len(stored.files))]
        reports.append(report)
    return reports, out, config


def one_process(config, validation=False):
    """The same model trained in one process on every rank's rows, in rank order."""
    sys.path.insert(0, str(WORKER.parent))
    from mpi_worker import dataset

    X = dataset(config)
    model = getattr(fastae, config["class"])(**config["params"])
    kwargs = {}
    if validation:
        counts = [len(p) for p in np.array_split(np.arange(len(X)), config["ranks"])]
        starts = np.cumsum([0] + counts[:-1])
        kwargs["validation_data"] = np.concatenate([X[s:s + 10] for s in starts])
    return model.fit(X, **kwargs)


def relative(a, b):
    a, b = np.concatenate([w.ravel() for w in a]), np.concatenate([w.ravel() for w in b])
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("case", [
    {},
    {"dtype": "float32", "params": {"dtype": "float32", "n_threads": 2, "tied_weights": True, "hidden": [],
                                    "activity_l1": 0.01, "dropout": 0.0}},
    {"class": "VariationalAutoencoder", "params": {"latent_dim": 2, "dropout": 0.0, "noise": "none"}},
    {"validation": True, "params": {"early_stopping": True, "patience": 1, "epochs": 6}},
    {"params": {"scale": "standard", "output_activation": "linear"}},
    {"params": {"scale": "minmax", "loss": "bce"}},
    {"params": {"validation_fraction": 0.2, "scale": "standard", "output_activation": "linear",
                "early_stopping": True, "patience": 1, "epochs": 6}},
    {"holes": True, "params": {"missing": "mask", "scale": "standard", "output_activation": "linear"}},
    {"params": {"sparsity_weight": 0.5, "sparsity_target": 0.1, "latent_activation": "sigmoid", "n_threads": 2}},
], ids=["float64-dropout-noise-clip", "float32-tied-l1-2threads", "vae", "validation-early-stopping",
        "standard-scaling", "minmax-scaling-bce", "validation-fraction", "missing-values", "kl-sparsity"])
def test_ranks_train_as_one_process_on_the_concatenated_rows(tmp_path, ranks, case):
    reports, out, config = run(tmp_path, ranks, **case)
    assert all(r["error"] is None for r in reports), [r["error"] for r in reports]
    for r in reports[1:]:  # every rank holds bitwise the same weights and the same history
        assert all(np.array_equal(a, b) for a, b in zip(r["weights"], reports[0]["weights"]))
        assert r["history"] == reports[0]["history"]
    one = one_process({**config, "ranks": ranks}, validation=config.get("validation", False))
    tolerance = 1e-10 if config["dtype"] == "float64" else 1e-4
    assert relative(reports[0]["weights"], one.get_weights()) <= tolerance
    for key, values in one.history_.items():
        np.testing.assert_allclose(reports[0]["history"][key], values, rtol=tolerance)
    assert (out / "model.fae").exists()  # written once, by rank 0
    loaded = fastae.load(out / "model.fae")
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), reports[0]["weights"]))


def test_uneven_rows_and_repeated_runs_are_bitwise_identical(tmp_path):
    first, _, _ = run(tmp_path, 3, counts=[10, 200, 91])
    second, _, _ = run(tmp_path, 3, counts=[10, 200, 91])
    assert all(r["error"] is None for r in first)
    assert all(np.array_equal(a, b) for a, b in zip(first[0]["weights"], second[0]["weights"]))
    one = one_process({**BASE, "ranks": 3})
    assert relative(first[0]["weights"], one.get_weights()) <= 1e-10


def test_resuming_from_a_file_continues_exactly(tmp_path):
    whole, _, _ = run(tmp_path, 2)
    resumed, _, _ = run(tmp_path, 2, resume=True)
    assert all(r["error"] is None for r in resumed), [r["error"] for r in resumed]
    assert all(np.array_equal(a, b) for a, b in zip(resumed[1]["weights"], whole[0]["weights"]))  # bitwise
    assert resumed[1]["history"] == whole[0]["history"]


def test_a_warm_start_goes_on_from_the_weights_as_one_process_would(tmp_path):
    reports, _, config = run(tmp_path, 3, warm_start=True)
    assert all(r["error"] is None for r in reports), [r["error"] for r in reports]
    one = one_process({**BASE, "ranks": 3})
    X = np.random.default_rng(0).random((BASE["rows"], BASE["features"]))
    one.set_params(warm_start=True).fit(X)
    assert relative(reports[2]["weights"], one.get_weights()) <= 1e-10


def test_a_detector_takes_the_percentile_of_every_ranks_scores(tmp_path):
    reports, out, config = run(tmp_path, 2, detector=True, params={"dropout": 0.0, "noise": "none",
                                                                   "scale": "standard", "output_activation": "linear"})
    assert all(r["error"] is None for r in reports), [r["error"] for r in reports]
    scores = np.concatenate([np.load(out / f"scores{r}.npy") for r in range(2)])
    assert reports[0]["threshold"] == reports[1]["threshold"] == pytest.approx(np.percentile(scores, 90), rel=1e-12)


def test_bad_rows_on_one_rank_stop_every_rank_naming_it(tmp_path):
    reports, _, _ = run(tmp_path, 3, fault="nan")
    assert reports[1]["error"].startswith("ValueError: rank 1: X: contains NaN")
    for r in (reports[0], reports[2]):
        assert r["error"].startswith("RuntimeError: fit: rank 1 failed") and "NaN" in r["error"]
        assert "weights" not in r  # nothing was built


def test_a_failing_callback_on_rank_0_stops_every_rank_after_the_last_complete_epoch(tmp_path):
    reports, _, _ = run(tmp_path, 2, fault="callback")
    assert reports[0]["error"].startswith("RuntimeError: rank 0: this callback fails in epoch 2")
    assert reports[1]["error"].startswith("RuntimeError: a callback: rank 0 failed")
    assert len(reports[0]["history"]["loss"]) == len(reports[1]["history"]["loss"]) == 2
    assert all(np.array_equal(a, b) for a, b in zip(reports[0]["weights"], reports[1]["weights"]))


def test_divergence_stops_every_rank_with_the_last_good_weights(tmp_path):
    reports, _, _ = run(tmp_path, 2, fault="diverge", dtype="float32",
                        params={"clip_norm": None, "dropout": 0.0, "noise": "none", "dtype": "float32"})
    for r in reports:
        assert r["error"].startswith("FloatingPointError") and "diverged" in r["error"]
        assert all(np.isfinite(w).all() for w in r["weights"])
    assert all(np.array_equal(a, b) for a, b in zip(reports[0]["weights"], reports[1]["weights"]))


def test_a_bad_hyperparameter_is_refused_on_every_rank(tmp_path):
    reports, _, _ = run(tmp_path, 2, params={"sparsity_weight": 0.1})  # needs latent_activation="sigmoid"
    assert reports[0]["error"].startswith("ValueError: rank 0: sparsity_weight: the KL sparsity penalty")
    assert reports[1]["error"].startswith("ValueError: rank 1: sparsity_weight")


def test_comm_must_be_a_communicator():
    with pytest.raises(TypeError, match="comm: expected an mpi4py communicator"):
        fastae.Autoencoder(latent_dim=2).fit(np.zeros((4, 3)), comm="world")
