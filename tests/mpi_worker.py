"""Run by tests/test_mpi.py under mpiexec: each rank trains on its rows of one seeded dataset and
writes what it holds (weights, history, what it raised) to <out>/rank<r>.npz and .json.

    mpiexec -n R python tests/mpi_worker.py <out> <json config>

config: {"class": "Autoencoder", "params": {...}, "rows": 301, "features": 12, "counts": [..] or
null (as even as possible), "dtype": "float64", "fault": null | "nan" | "callback" | "diverge",
"validation": false, "detector": false}
"""

import json
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

import fastae


def dataset(config: dict) -> np.ndarray:
    """The seeded rows every rank cuts its own from (with "holes": 10% of the values NaN)."""
    X = np.random.default_rng(0).random((config["rows"], config["features"])).astype(config["dtype"])
    if config.get("holes"):
        X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
    return X


def main() -> None:
    out, config = Path(sys.argv[1]), json.loads(sys.argv[2])
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    X = dataset(config)
    counts = config.get("counts") or [len(part) for part in np.array_split(np.arange(len(X)), size)]
    start = sum(counts[:rank])
    mine = X[start:start + counts[rank]].copy()
    if config.get("fault") == "nan" and rank == 1:
        mine[3, 2] = np.nan
    params = dict(config["params"])
    if config.get("fault") == "diverge":  # a linear output and plain SGD at 1e30: the loss overflows in epoch 2 or so
        params.update(optimizer="sgd", learning_rate=1e30, output_activation="linear")
    callbacks = []
    if config.get("fault") == "callback" and rank == 0:
        class Fails:
            def on_epoch_end(self, epoch, logs):
                if epoch == 1:
                    raise RuntimeError("this callback fails in epoch 2")
        callbacks.append(Fails())
    model = getattr(fastae, config["class"])(**params)
    report = {"rank": rank, "error": None}
    try:
        if config.get("detector"):
            detector = fastae.AnomalyDetector(model, contamination=0.1).fit(mine, comm=comm)
            report["threshold"] = detector.threshold_
            np.save(out / f"scores{rank}.npy", detector.decision_scores_)
            model = detector.model_
        elif config.get("resume"):  # half the epochs, save, every rank loads the file, then resume
            epochs = model.epochs
            model.fit(mine, comm=comm, epochs=epochs // 2)
            model.save(out / "half.fae")
            comm.Barrier()
            model = fastae.load(out / "half.fae")
            model.fit(mine, comm=comm, resume=True, epochs=epochs - epochs // 2)
        elif config.get("warm_start"):  # a fit, then a warm-started one
            model.fit(mine, comm=comm)
            model.set_params(warm_start=True).fit(mine, comm=comm)
        else:
            kwargs = {"validation_data": mine[:10]} if config.get("validation") else {}
            model.fit(mine, comm=comm, callbacks=callbacks, **kwargs)
        model.save(out / "model.fae")
    except Exception as err:  # what each rank raised, for the test to read
        report["error"] = f"{type(err).__name__}: {err}"
    if getattr(model, "_model", None) is not None:
        report["history"] = model.history_
        np.savez(out / f"rank{rank}.npz", *model.get_weights())
    (out / f"rank{rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
