"""The `fastae` command (also `python -m fastae`): train, evaluate, encode, plot, sample, detect, bench.

    fastae train --data sample                  # the Fashion-MNIST sample inside fastae
    fastae train --data fashion-mnist --epochs 10 --out model.fae
    fastae evaluate model.fae --data fashion-mnist
    fastae encode model.fae --data fashion-mnist --out codes.npy
    fastae plot model.fae --data fashion-mnist --out plots/
    fastae train --vae --latent 2 --hidden 256 --data fashion-mnist --out vae.fae
    fastae sample vae.fae --n 64 --out samples.png
    fastae detect --data table.csv --contamination 0.05 --out scores.csv
    fastae bench

Exit codes: 0 done, 1 failed (e.g. matplotlib missing), 2 bad arguments or unusable data
(one line on stderr saying why), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any, NoReturn, Optional, Sequence, Tuple

import numpy as np

DATA_HELP = ("sample (3,000 Fashion-MNIST images inside fastae), fashion-mnist (the full set: $FASTAE_DATA or "
             "Debian's dataset-fashion-mnist), a folder of IDX files, or a .npy/.npz/.csv file (10%% of its rows, "
             "seeded, are the test split)")


class UsageError(Exception):
    """A bad argument or unusable input: one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _thread_count(text: str) -> int:
    from ._validation import MAX_THREADS

    value = _positive_int(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"at most {MAX_THREADS}, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def build_parser() -> Parser:
    from . import __version__
    from ._validation import NOISES
    from .bench import WORKLOADS

    parser = Parser(prog="fastae", description="Train dense autoencoders on the CPU and look at what they learned.",
                    epilog="Run `fastae COMMAND --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"fastae {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    train = commands.add_parser("train", help="train a model and save it", description="Train an autoencoder on "
                                "the training split, report the test loss, save the model.")
    train.add_argument("--data", default="sample", help=DATA_HELP + " (default: sample)")
    train.add_argument("--latent", type=_positive_int, default=32, help="size of the code (default 32)")
    train.add_argument("--hidden", type=_positive_int, nargs="*", default=[128],
                       help="encoder hidden layer sizes; the decoder mirrors them (default: 128; none: --hidden)")
    train.add_argument("--epochs", type=_positive_int, default=10, help="default 10")
    train.add_argument("--batch-size", type=_positive_int, default=256, help="default 256")
    train.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam's learning rate (default 1e-3)")
    train.add_argument("--loss", default="bce", help="bce, mse, mae or huber, or a Keras/PyTorch spelling such as "
                       "binary_crossentropy (default bce)")
    train.add_argument("--activation", default="relu", help="hidden-layer activation (default relu)")
    train.add_argument("--latent-activation", default="linear", help="the code's activation (default linear)")
    train.add_argument("--output-activation", default="sigmoid", help="default sigmoid")
    train.add_argument("--noise", default="none",
                       help=f"train a denoising autoencoder: noise added to each input row, {', '.join(NOISES)} "
                            "(default none)")
    train.add_argument("--noise-level", type=float, default=0.1,
                       help="the Gaussian noise's standard deviation, or the probability of masking / salt and pepper "
                            "(default 0.1)")
    train.add_argument("--activity-l1", type=float, default=0.0,
                       help="L1 penalty on the code: adds L * mean over rows of sum |code| (default 0)")
    train.add_argument("--dropout", type=float, default=0.0,
                       help="dropout rate on every hidden layer's output in training (default 0)")
    train.add_argument("--sparsity-weight", type=float, default=0.0,
                       help="KL sparsity penalty: adds B * sum_j KL(R || batch mean of code_j); needs "
                            "--latent-activation sigmoid (default 0)")
    train.add_argument("--sparsity-target", type=float, default=0.05,
                       help="R, the mean activation the KL penalty pulls each code unit to (default 0.05)")
    train.add_argument("--contractive", type=float, default=0.0,
                       help="contractive penalty: adds L * mean over rows of ||d code / d x||_F^2; needs --hidden "
                            "with no sizes (a one-layer encoder) (default 0)")
    train.add_argument("--tied", action="store_true",
                       help="tied weights: each decoder layer uses the transpose of its mirror encoder layer's W")
    train.add_argument("--vae", action="store_true",
                       help="a variational autoencoder (the objective: reconstruction summed over the features "
                            "+ beta KL); not with --tied, --contractive, --activity-l1, --sparsity-weight")
    train.add_argument("--beta", type=float, default=1.0, help="the VAE's KL weight (default 1)")
    train.add_argument("--kl-warmup", type=int, default=0,
                       help="epochs over which the VAE's KL weight rises from 0 to --beta (default 0)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--threads", type=_thread_count, default=None, help="default: the cores other processes leave free, chosen each epoch")
    train.add_argument("--out", default="model.fae", help="where to save the model (default model.fae)")
    train.add_argument("--quiet", action="store_true", help="print only the result")

    for name, what in (("evaluate", "the test loss and a summary of the per-sample errors"),
                       ("encode", "save the codes of the data as .npy"),
                       ("plot", "save four PNGs: reconstructions, loss curves, codes, errors")):
        sub = commands.add_parser(name, help=what, description=what[0].upper() + what[1:] + ".")
        sub.add_argument("model", help="a model file written by `fastae train` or Autoencoder.save")
        sub.add_argument("--data", default="sample", help=DATA_HELP + " (default: sample)")
        default_split = "all" if name == "encode" else "test"
        sub.add_argument("--split", choices=["train", "test", "all"], default=default_split,
                         help=f"which rows (default {default_split})")
        if name == "encode":
            sub.add_argument("--out", default="codes.npy", help="default codes.npy")
        if name == "plot":
            sub.add_argument("--out", default="plots", help="folder for the PNGs (default plots)")
            sub.add_argument("--inlier-class", type=int, default=None,
                             help="for a detector on labelled data: rows of other classes are the outliers of roc.png")

    sample = commands.add_parser("sample", help="generate new rows with a VAE", description="Decode rows drawn "
                                 "from a variational autoencoder's prior z ~ N(0, I): a grid of images (.png) or "
                                 "an array (.npy).")
    sample.add_argument("model", help="a model file written by `fastae train --vae` or VariationalAutoencoder.save")
    sample.add_argument("--n", type=_positive_int, default=64, help="how many rows (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sample.add_argument("--image-shape", type=_positive_int, nargs=2, metavar=("H", "W"), default=None,
                        help="the images' height and width (default: square, when the features are a square number)")
    sample.add_argument("--out", default="samples.png", help="a .png grid of images or a .npy array (default samples.png)")

    detect = commands.add_parser("detect", help="score every row for anomalies", description="Train an anomaly "
                                 "detector on the data (or load one), write each row's score and label, and print the "
                                 "threshold and the most anomalous rows with their worst features.")
    detect.add_argument("--data", default="sample", help=DATA_HELP + " (default: sample); every row is scored")
    detect.add_argument("--model", default=None,
                        help="a detector file written by --save or AnomalyDetector.save (default: train one)")
    detect.add_argument("--contamination", default="0.1",
                        help="the expected fraction of outliers, in (0, 0.5], or 'auto' (default 0.1)")
    detect.add_argument("--epochs", type=_positive_int, default=None, help="the default model's epochs (default 10)")
    detect.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    detect.add_argument("--save", default=None, help="also save the trained detector here")
    detect.add_argument("--out", default="scores.csv", help="row, score, label (-1 outlier, 1 inlier) per row "
                        "(default scores.csv)")
    detect.add_argument("--top", type=_positive_int, default=5, help="how many of the most anomalous rows to print")

    impute = commands.add_parser("impute", help="fill the missing values of a data file",
                                 description="Train an autoencoder with missing='mask' on the rows of a .npy, .npz or "
                                 ".csv file that has holes (NaN; in a CSV, an empty cell, NA, N/A, NaN, null or ?), "
                                 "or load one, and write the file's rows in their order with each hole replaced by "
                                 "the model's reconstruction; observed values are kept exactly.")
    impute.add_argument("--data", required=True, help="a .npy, .npz or .csv file with missing values")
    impute.add_argument("--model", default=None, help="a model trained with missing='mask' (default: train one)")
    impute.add_argument("--latent", type=_positive_int, default=None,
                        help="the trained model's code size (default: a quarter of the features, at least 2)")
    impute.add_argument("--hidden", type=_positive_int, nargs="*", default=[64], help="default 64")
    impute.add_argument("--epochs", type=_positive_int, default=50, help="default 50")
    impute.add_argument("--iter", type=_positive_int, default=3,
                        help="how many times the reconstruction is fed back in (default 3)")
    impute.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    impute.add_argument("--save", default=None, help="also save the trained model here")
    impute.add_argument("--out", default="filled.npy", help="a .npy or .csv file (default filled.npy)")

    bench = commands.add_parser("bench", help="the quick training benchmark", description="Train one epoch of each "
                                "benchmark workload with fastae, the NumPy reference and PyTorch (if installed) "
                                "and print samples/s and fastae's speed-ups, measured in this run.")
    bench.add_argument("--rows", type=_positive_int, default=10000, help="rows per workload (default 10000)")
    bench.add_argument("--repeats", type=_positive_int, default=3, help="timed epochs (default 3)")
    bench.add_argument("--threads", type=_thread_count, default=None, help="default: all usable cores")
    bench.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:  # shown as lines of ours once the command succeeds
            warnings.simplefilter("always", UserWarning)
            code = COMMANDS[args.command](args)
        for warning in caught:
            print(f"fastae {args.command}: warning: {warning.message}", file=sys.stderr)
        return code
    except (UsageError, ValueError, TypeError, FileNotFoundError, IsADirectoryError) as err:
        print(f"fastae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:  # training diverged: failed, not a bad argument
        print(f"fastae {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nfastae {args.command}: interrupted", file=sys.stderr)
        return 130


def _data(spec: str) -> Any:
    from .datasets import load_data

    return load_data(spec)


def _rows(spec: str, split: str) -> np.ndarray:
    """The rows a reading command (encode, evaluate, detect) works on: with --split all, a .npy file
    of floats is memory-mapped and its own rows, in order, are read piece by piece by the model (a
    file larger than memory works); anything else is load_data's split, in memory."""
    from .datasets import mapped_rows, split_of

    if split == "all":
        mapped = mapped_rows(spec)
        if mapped is not None:
            return mapped
    return split_of(_data(spec), split)[0]


def _model_to_train(args: argparse.Namespace) -> Any:
    """The Autoencoder, or with --vae the VariationalAutoencoder, that the train options describe."""
    from .autoencoder import Autoencoder
    from .vae import VariationalAutoencoder

    common = dict(latent_dim=args.latent, hidden=tuple(args.hidden), activation=args.activation,
                  output_activation=args.output_activation, loss=args.loss, learning_rate=args.lr,
                  batch_size=args.batch_size, epochs=args.epochs, random_state=args.seed, noise=args.noise,
                  noise_level=args.noise_level, dropout=args.dropout, n_threads=args.threads,
                  verbose=0 if args.quiet else 1)
    autoencoder_only = {"--tied": args.tied, "--contractive": args.contractive, "--activity-l1": args.activity_l1,
                        "--sparsity-weight": args.sparsity_weight, "--latent-activation": args.latent_activation != "linear"}
    if args.vae:
        given = [flag for flag, value in autoencoder_only.items() if value]
        if given:
            raise UsageError(f"{given[0]}: an Autoencoder option; a VAE (--vae) has no such variant")
        return VariationalAutoencoder(beta=args.beta, kl_warmup_epochs=args.kl_warmup, **common)
    if args.beta != 1.0 or args.kl_warmup != 0:
        raise UsageError(f"{'--beta' if args.beta != 1.0 else '--kl-warmup'}: a VAE's option; add --vae")
    return Autoencoder(latent_activation=args.latent_activation, activity_l1=args.activity_l1,
                       sparsity_weight=args.sparsity_weight, sparsity_target=args.sparsity_target,
                       tied_weights=args.tied, contractive=args.contractive, **common)


def cmd_train(args: argparse.Namespace) -> int:
    data = _data(args.data)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise UsageError(f"--out: folder {out_dir} does not exist")
    model = _model_to_train(args)
    if not args.quiet:
        print(f"data: {data.name}, {len(data.X_train):,} training and {len(data.X_test):,} test samples of "
              f"{data.X_train.shape[1]} features")
    model.build(data.X_train.shape[1])
    if not args.quiet:
        model.summary()
    if not args.quiet:
        print("val_loss below is the loss on the test split")
    model.set_params(warm_start=True).fit(data.X_train, validation_data=data.X_test)
    model.set_params(warm_start=False)
    model.save(args.out)
    test_loss = model.history_["val_loss"][-1]  # the test split was the validation data of the last epoch
    measure = "negative ELBO" if args.vae else model._model.loss
    print(f"train loss {model.evaluate(data.X_train):.6g}  test loss {test_loss:.6g}  "
          f"({measure})  saved to {args.out}")
    return 0


def _load(path: str) -> Any:
    from ._persistence import load

    if not os.path.isfile(path):
        raise UsageError(f"model: no such file {path}")
    return load(path)


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = _load(args.model)
    X = _rows(args.data, args.split)
    errors = model.reconstruction_error(X)
    measure = "negative ELBO" if hasattr(model, "elbo") else model.loss
    print(f"{args.split} loss ({measure}) on {len(X):,} samples: {model.evaluate(X):.6g}")
    q = np.percentile(errors, [50, 90, 99])
    print(f"per-sample error: mean {errors.mean():.6g}  std {errors.std():.6g}  min {errors.min():.6g}  "
          f"median {q[0]:.6g}  p90 {q[1]:.6g}  p99 {q[2]:.6g}  max {errors.max():.6g}")
    worst = np.argsort(errors)[::-1][:5]
    print("worst samples (row: error): " + ", ".join(f"{i}: {errors[i]:.6g}" for i in worst))
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    model = _load(args.model)
    X = _rows(args.data, args.split)
    codes = model.encode(X)
    np.save(args.out, codes)
    print(f"wrote {args.out}: codes of shape {codes.shape}, {codes.dtype}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .anomaly import AnomalyDetector
    from .datasets import FASHION_MNIST_CLASSES, split_of
    from .plotting import plot_all, plot_detector

    model = _load(args.model)
    data = _data(args.data)
    X, labels = split_of(data, args.split)
    names = FASHION_MNIST_CLASSES if data.name in ("sample", "fashion-mnist") else None
    if args.inlier_class is not None and (labels is None or not isinstance(model, AnomalyDetector)):
        raise UsageError("--inlier-class: needs a detector and data with labels")
    try:
        if isinstance(model, AnomalyDetector):
            outliers = None if args.inlier_class is None else labels != args.inlier_class
            paths = plot_detector(model, X, args.out, outliers)
        else:
            paths = plot_all(model, X, args.out, labels, data.image_shape, names)
    except ImportError as err:
        print(f"fastae plot: error: {err}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"wrote {path}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from .vae import VariationalAutoencoder

    model = _load(args.model)
    if not isinstance(model, VariationalAutoencoder):
        raise UsageError(f"model: {args.model} is not a VariationalAutoencoder (it holds the class "
                         f"{type(model).__name__}); sampling needs one (fastae train --vae)")
    rows = model.sample(args.n, random_state=args.seed)
    if args.out.endswith(".npy"):
        np.save(args.out, rows)
        print(f"wrote {args.out}: {rows.shape[0]} samples of {rows.shape[1]} features")
        return 0
    if not args.out.endswith(".png"):
        raise UsageError(f"--out: {args.out} is neither a .png nor a .npy file")
    shape = tuple(args.image_shape) if args.image_shape else _square(rows.shape[1])
    if shape[0] * shape[1] != rows.shape[1]:
        raise UsageError(f"--image-shape: {shape[0]} x {shape[1]} is not the model's {rows.shape[1]} features")
    from .plotting import image_grid
    try:
        image_grid(rows, args.out, shape, title=f"{args.n} samples decoded from z ~ N(0, I)")
    except ImportError as err:
        print(f"fastae sample: error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {rows.shape[0]} samples as {shape[0]}x{shape[1]} images")
    return 0


def _square(n_features: int) -> Tuple[int, int]:
    side = int(round(n_features ** 0.5))
    if side * side != n_features:
        raise UsageError(f"--out: {n_features} features are not a square image; give --image-shape H W or a .npy path")
    return side, side


def cmd_detect(args: argparse.Namespace) -> int:
    from .anomaly import AnomalyDetector, default_model

    X = _rows(args.data, "all")
    if args.model is not None:
        detector = _load(args.model)
        if not isinstance(detector, AnomalyDetector):
            raise UsageError(f"--model: {args.model} holds a {type(detector).__name__}, not an AnomalyDetector "
                             "(train one with fastae detect --save)")
    else:
        contamination = args.contamination if args.contamination == "auto" else _fraction(args.contamination)
        model = default_model().set_params(random_state=args.seed)
        if args.epochs is not None:
            model.set_params(epochs=args.epochs)
        detector = AnomalyDetector(model, contamination).fit(X)
        if args.save:
            detector.save(args.save)
    scores = detector.anomaly_score(X)
    labels = detector.predict(X)
    with open(args.out, "w") as f:
        f.write("row,score,label\n")
        f.writelines(f"{i},{score:.9g},{label}\n" for i, (score, label) in enumerate(zip(scores, labels)))
    print(f"threshold {detector.threshold_:.6g} (contamination {detector.contamination}): "
          f"{int(np.sum(labels == -1)):,} of {len(X):,} rows are outliers; wrote {args.out}")
    worst_rows = np.argsort(scores)[::-1][:args.top]
    features = detector.feature_scores(X[worst_rows])
    for rank, i in enumerate(worst_rows):
        worst = np.argsort(features[rank])[::-1][:3]
        print(f"row {i}: score {scores[i]:.6g}; worst features " +
              ", ".join(f"{j} ({features[rank][j]:.3g})" for j in worst))
    return 0


def imputer(n_features: int, latent: Optional[int], hidden: Sequence[int], epochs: int, seed: int) -> Any:
    """The model `fastae impute` trains: standardised columns, a linear output, MSE over the
    observed values."""
    from .autoencoder import Autoencoder

    return Autoencoder(latent_dim=latent or max(2, n_features // 4), hidden=tuple(hidden), output_activation="linear",
                       loss="mse", scale="standard", missing="mask", epochs=epochs, batch_size=64,
                       learning_rate=3e-3, random_state=seed)


def cmd_impute(args: argparse.Namespace) -> int:
    from .datasets import load_array

    if not args.out.lower().endswith((".npy", ".csv")):
        raise UsageError(f"--out: expected a .npy or .csv file name, got {args.out!r}")
    X, _ = load_array(args.data)
    holes = int(np.isnan(X).sum())
    if args.model is not None:
        model = _load(args.model)
    else:
        model = imputer(X.shape[1], args.latent, args.hidden, args.epochs, args.seed).fit(X)
        if args.save:
            model.save(args.save)
    filled = model.impute(X, n_iter=args.iter)
    if args.out.lower().endswith(".csv"):
        np.savetxt(args.out, filled, delimiter=",", fmt="%.9g")
    else:
        np.save(args.out, filled)
    rows = int(np.isnan(X).any(axis=1).sum())
    print(f"filled {holes:,} missing values ({holes / X.size:.1%} of the data) in {rows:,} of {len(X):,} rows; "
          f"wrote {args.out}")
    return 0


def _fraction(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--contamination: expected a number in (0, 0.5] or 'auto', got {text!r}") from None


def cmd_bench(args: argparse.Namespace) -> int:
    from ._threads import usable_cores
    from .bench import run, table

    threads = args.threads or usable_cores()
    print(f"one epoch of {args.rows:,} random rows per workload, median of {args.repeats} epochs, {threads} thread(s); "
          "the NumPy reference trains on 2,000 rows")
    results = run(args.workloads, args.rows, args.repeats, threads)
    print(table(results))
    if any(r["pytorch"] is None for r in results.values()):
        print("PyTorch is not installed: its column is empty (pip install torch to compare).")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "encode": cmd_encode, "plot": cmd_plot, "sample": cmd_sample, "detect": cmd_detect,
            "impute": cmd_impute, "bench": cmd_bench}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
