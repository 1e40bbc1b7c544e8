"""Anomaly detection on real data: fastae's detectors against PyOD's and scikit-learn's, one run.

    python benchmarks/bench_anomaly.py [--threads 2] [--datasets fashion-mnist breast-cancer digits]

Datasets: Fashion-MNIST one-class (for each class k: train on the training images of class k,
score the 10,000 test images, outliers = every other class), scikit-learn's breast-cancer data
(train and score on all rows, malignant = outliers) and digits one-class (train on class k's
rows, score all 1,797). Detectors, each with its library's conventions: fastae AnomalyDetector
around the default Autoencoder (PyOD's AutoEncoder recipe: encoder 64 -> 32, dropout 0.2, batch
32, 10 epochs, Adam 1e-3, standardised inputs) and around a VariationalAutoencoder shaped as PyOD's
VAE (128-64-32 -> 2, mse, linear output, dropout 0.2, standardised, 10 epochs); PyOD's
AutoEncoder and VAE with the same sizes, epochs, batch size and learning rate (when pyod is
importable; PyOD adds batch norm to its AutoEncoder and weight decay 1e-5 by default, kept as
PyOD ships them); IsolationForest; and a PCA-reconstruction detector (the squared error of the
standardised rows projected on enough components for 90% of the variance). Reported: ROC-AUC
(mean over a dataset's one-class tasks) and fit + score wall time. Targets: fastae's mean ROC-AUC
no worse than PyOD's same model by more than 0.005, and fit + score >= 5x faster than PyOD.
`--seeds N` repeats every task with random_state 0 .. N-1 and averages (a single task such as
breast cancer's is one draw of the weights and the shuffle).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_report  # noqa: E402


def fastae_ae(threads, seed):
    from fastae import AnomalyDetector
    from fastae.anomaly import default_model
    return AnomalyDetector(default_model().set_params(n_threads=threads, random_state=seed))


def fastae_vae(threads, seed):
    from fastae import AnomalyDetector, VariationalAutoencoder
    return AnomalyDetector(VariationalAutoencoder(latent_dim=2, hidden=(128, 64, 32), loss="mse",
                                                  output_activation="linear", scale="standard", dropout=0.2,
                                                  batch_size=32, epochs=10, random_state=seed, n_threads=threads))


def pyod_ae(threads, seed):
    import torch
    from pyod.models.auto_encoder import AutoEncoder
    torch.set_num_threads(threads)
    return AutoEncoder(hidden_neuron_list=[64, 32], epoch_num=10, batch_size=32, lr=1e-3, verbose=0, random_state=seed)


def pyod_vae(threads, seed):
    import torch
    from pyod.models.vae import VAE
    torch.set_num_threads(threads)
    return VAE(encoder_neuron_list=[128, 64, 32], decoder_neuron_list=[32, 64, 128], latent_dim=2, epoch_num=10,
               batch_size=32, lr=1e-3, verbose=0, random_state=seed)


class PCADetector:
    """Squared reconstruction error of standardised rows through the principal components that keep 90% of the variance."""

    def fit(self, X):
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler
        self.scaler = StandardScaler().fit(X)
        self.pca = PCA(n_components=0.9, svd_solver="full").fit(self.scaler.transform(X))
        return self

    def scores(self, X):
        Z = self.scaler.transform(X)
        return ((self.pca.inverse_transform(self.pca.transform(Z)) - Z) ** 2).mean(axis=1)


def isolation_forest(threads, seed):
    from sklearn.ensemble import IsolationForest
    return IsolationForest(random_state=seed, n_jobs=threads)


DETECTORS = {"fastae AE": fastae_ae, "fastae VAE": fastae_vae, "PyOD AutoEncoder": pyod_ae, "PyOD VAE": pyod_vae,
             "IsolationForest": isolation_forest, "PCA reconstruction": lambda threads, seed: PCADetector()}
PAIRS = {"fastae AE": "PyOD AutoEncoder", "fastae VAE": "PyOD VAE"}


def scores_of(name, detector, X_test):
    """Anomaly scores, higher = more abnormal, in each library's convention."""
    if name.startswith("fastae"):
        return detector.anomaly_score(X_test)
    if name.startswith("PyOD"):
        return detector.decision_function(X_test)
    if name == "IsolationForest":
        return -detector.score_samples(X_test)
    return detector.scores(X_test)


def tasks(dataset):
    """(task name, X_train, X_test, is_outlier) of a dataset."""
    if dataset == "fashion-mnist":
        from fastae.datasets import load_data
        data = load_data("fashion-mnist")
        for k in range(10):
            yield f"class {k}", data.X_train[data.y_train == k], data.X_test, data.y_test != k
    elif dataset == "breast-cancer":
        from sklearn.datasets import load_breast_cancer
        d = load_breast_cancer()
        X = d.data.astype(np.float32)
        yield "malignant", X, X, d.target == 0
    elif dataset == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        X = (d.data / 16).astype(np.float32)
        for k in range(10):
            yield f"class {k}", X[d.target == k], X, d.target != k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--datasets", nargs="+", default=["fashion-mnist", "breast-cancer", "digits"],
                        choices=["fashion-mnist", "breast-cancer", "digits"])
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    parser.add_argument("--seeds", type=int, default=1,
                        help="repeat every task with random_state 0 .. N-1 and average (default 1: seed 0 alone)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    from sklearn.metrics import roc_auc_score

    results = {}
    for dataset in args.datasets:
        per = {name: {"auc": [], "seed": [], "seconds": []} for name in args.detectors}
        for task, X_train, X_test, is_outlier in tasks(dataset):
            for name in args.detectors:
                for seed in range(args.seeds):
                    try:
                        detector = DETECTORS[name](args.threads, seed)
                    except ImportError as err:
                        per[name]["skipped"] = str(err)
                        break
                    started = time.perf_counter()
                    detector.fit(X_train)
                    scores = scores_of(name, detector, X_test)
                    per[name]["seconds"].append(time.perf_counter() - started)
                    per[name]["auc"].append(float(roc_auc_score(is_outlier, scores)))
                    per[name]["seed"].append(seed)
            print(f"{dataset} {task}: " + ", ".join(f"{n} {per[n]['auc'][-1]:.3f}" for n in per if per[n]["auc"]),
                  file=sys.stderr)
        results[dataset] = per
    lines = ["| dataset | detector | mean ROC-AUC | fit + score s (total) | vs PyOD's same model |",
             "|---|---|---|---|---|"]
    for dataset, per in results.items():
        for name, r in per.items():
            if not r["auc"]:
                lines.append(f"| {dataset} | {name} | skipped | – | – |")
                continue
            auc, seconds = statistics.mean(r["auc"]), sum(r["seconds"])
            by_seed = [statistics.mean(a for a, s in zip(r["auc"], r["seed"]) if s == seed) for seed in set(r["seed"])]
            spread = f" (sd {statistics.pstdev(by_seed):.3f})" if len(by_seed) > 1 else ""
            peer = per.get(PAIRS.get(name, ""), {})
            versus = "–"
            if peer.get("auc"):
                gap = auc - statistics.mean(peer["auc"])
                speed = sum(peer["seconds"]) / seconds
                versus = (f"AUC {gap:+.3f} ({'ok' if gap >= -0.005 else 'WORSE'} at −0.005), "
                          f"{speed:.2f}× faster ({'met' if speed >= 5 else 'MISSED'} ≥ 5×)")
            lines.append(f"| {dataset} | {name} | {auc:.3f}{spread} | {seconds:.1f} | {versus} |")
    notes = (f"{args.threads} threads; Fashion-MNIST and digits: the mean over the 10 one-class tasks; one run, seeds "
             f"fixed (every detector's random_state 0 .. {args.seeds - 1}, each task once per seed; with several "
             "seeds, the sd is that of the per-seed means).")
    write_report(args.out, "anomaly", results, "\n".join(lines), notes)


if __name__ == "__main__":
    main()
