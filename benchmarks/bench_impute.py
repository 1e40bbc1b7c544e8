"""Imputing missing values: fastae's autoencoder against scikit-learn's imputers, one run.

    python benchmarks/bench_impute.py [--threads 2] [--fraction 0.2] [--datasets digits fashion-mnist ...]

From each complete dataset a seeded fraction of the values is removed completely at random (rows
and columns keeping at least one value), each imputer fills the holes, and the error over the
removed values is measured as RMSE in the data's units (the target's measure), and beside it in
standard deviations of each complete column (so that no column's units dominate; on images the
near-constant border pixels dominate it instead), each with its ratio to the column means'. Imputers: fastae's `fastae impute` recipe (an Autoencoder with missing="mask",
scale="standard", linear output, MSE over the observed values, hidden 64, code n_features / 4,
50 epochs, the reconstruction fed back 3 times), SimpleImputer(mean), KNNImputer(5 neighbours)
and IterativeImputer (BayesianRidge, 10 rounds; on Fashion-MNIST's 784 columns its 20 nearest
features). Datasets: scikit-learn's digits (1,797 x 64), breast cancer (569 x 30) and wine
(178 x 13), and 5,000 Fashion-MNIST training images (784 pixels; Debian's dataset-fashion-mnist,
else fastae's sample). Target: fastae's RMSE at least 30% below the column means' on each dataset.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_report  # noqa: E402


def dataset(name):
    """The complete data, float32."""
    if name == "fashion-mnist":
        from fastae.datasets import load_data
        try:
            data = load_data("fashion-mnist")
        except (FileNotFoundError, ValueError):
            data = load_data("sample")
        return data.X_train[:5000]
    from sklearn import datasets
    loader = {"digits": datasets.load_digits, "breast-cancer": datasets.load_breast_cancer,
              "wine": datasets.load_wine}[name]
    return loader().data.astype(np.float32)


def with_holes(X, fraction, seed):
    """X with `fraction` of its values set to NaN at random, every row and column keeping one."""
    rng = np.random.default_rng(seed)
    holes = rng.random(X.shape) < fraction
    holes[np.arange(len(X)), rng.integers(0, X.shape[1], len(X))] = False  # a value left in every row
    holes[rng.integers(0, len(X), X.shape[1]), np.arange(X.shape[1])] = False  # and in every column
    H = X.copy()
    H[holes] = np.nan
    return H, holes


def fastae_imputer(n_features, threads, seed):
    from fastae.cli import imputer
    model = imputer(n_features, None, [64], 50, seed).set_params(n_threads=threads)
    return lambda H: model.fit(H).impute(H, n_iter=3)


def sklearn_imputer(kind, n_features, seed):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
    if kind == "mean":
        imputer = SimpleImputer(strategy="mean")
    elif kind == "knn":
        imputer = KNNImputer(n_neighbors=5)
    else:
        imputer = IterativeImputer(max_iter=10, random_state=seed, n_nearest_features=20 if n_features > 100 else None)
    return imputer.fit_transform


IMPUTERS = {"fastae autoencoder": lambda d, threads, seed: fastae_imputer(d, threads, seed),
            "SimpleImputer(mean)": lambda d, threads, seed: sklearn_imputer("mean", d, seed),
            "KNNImputer(5)": lambda d, threads, seed: sklearn_imputer("knn", d, seed),
            "IterativeImputer": lambda d, threads, seed: sklearn_imputer("iterative", d, seed)}


def _versus(value, base):
    """value against the column means' `base`: '31% lower' or '12% higher'."""
    return f"{1 - value / base:.0%} lower" if value <= base else f"{value / base - 1:.0%} higher"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    names = ["digits", "breast-cancer", "wine", "fashion-mnist"]
    parser.add_argument("--datasets", nargs="+", default=names, choices=names)
    parser.add_argument("--imputers", nargs="+", default=list(IMPUTERS), choices=list(IMPUTERS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    results = {}
    for name in args.datasets:
        X = dataset(name)
        H, holes = with_holes(X, args.fraction, args.seed)
        std = X.astype(np.float64).std(axis=0)
        std[std == 0] = 1.0
        per = {}
        for imputer_name in args.imputers:
            impute = IMPUTERS[imputer_name](X.shape[1], args.threads, args.seed)
            started = time.perf_counter()
            filled = np.asarray(impute(H.copy()), dtype=np.float64)
            seconds = time.perf_counter() - started
            error = filled - X
            per[imputer_name] = {"rmse": float(np.sqrt(np.mean(error[holes] ** 2))),
                                 "rmse_std_units": float(np.sqrt(np.mean((error / std)[holes] ** 2))), "seconds": seconds,
                                 "observed_kept": bool(np.array_equal(filled[~holes], X[~holes].astype(np.float64)))}
            print(f"{name} {imputer_name}: RMSE {per[imputer_name]['rmse']:.4f}, {seconds:.2f} s", file=sys.stderr)
        results[name] = {"shape": list(X.shape), "holes": int(holes.sum()), "imputers": per}
    lines = ["| dataset | imputer | RMSE | vs column means | RMSE in column stds | vs column means | seconds | "
             "observed kept |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        base = r["imputers"].get("SimpleImputer(mean)")
        for imputer_name, v in r["imputers"].items():
            versus = [_versus(v[k], base[k]) if base else "–" for k in ("rmse", "rmse_std_units")]
            if base and imputer_name.startswith("fastae"):
                versus[0] += " (target ≥ 30% lower: " + ("met" if v["rmse"] <= 0.7 * base["rmse"] else "MISSED") + ")"
            shape = "×".join(map(str, r["shape"]))
            lines.append(f"| {name} ({shape}) | {imputer_name} | {v['rmse']:.4g} | {versus[0]} | "
                         f"{v['rmse_std_units']:.4f} | {versus[1]} | {v['seconds']:.2f} | "
                         f"{'yes' if v['observed_kept'] else 'no'} |")
    notes = (f"{args.threads} threads; {args.fraction:.0%} of the values removed completely at random (seed "
             f"{args.seed}); RMSE over the removed values; seconds: "
             "fit + fill, one run.")
    write_report(args.out, "impute", results, "\n".join(lines), notes)


if __name__ == "__main__":
    main()
