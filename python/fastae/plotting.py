"""Pictures of what an autoencoder learned, saved as PNG files. Needs matplotlib
(``pip install "fastae[plot]"``); figures are drawn without pyplot, so no window opens."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["reconstruction_grid", "loss_curves", "latent_scatter", "error_histogram", "image_grid", "latent_manifold",
           "score_histogram", "roc_curve", "plot_detector", "plot_all", "PLOT_EXTRA"]

PLOT_EXTRA = 'plotting needs matplotlib: pip install "fastae[plot]" (or pip install matplotlib)'


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(PLOT_EXTRA) from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig: Any, path: Any) -> Any:
    """Write fig to path and return the path; without a path, return the Figure (a notebook shows it)."""
    if path is None:
        return fig
    path = os.fspath(path)
    fig.savefig(path)
    return path


def reconstruction_grid(originals: Any, reconstructions: Optional[np.ndarray] = None, path: Any = None,
                        image_shape: Optional[Tuple[int, ...]] = None, n: int = 10,
                        noisy: Optional[np.ndarray] = None, denoised: Optional[np.ndarray] = None) -> Any:
    """Originals (top row) above their reconstructions: the first n samples; with `noisy` (for a
    denoising model), three more rows: the noisy inputs, their reconstructions (`denoised`) and
    the clean samples. Any other rows: pass a dict {label: samples} as `originals` (one row per
    entry, in order, e.g. {"noisy": Xn, "reconstruction": R, "clean": X}) and no reconstructions.
    Samples are rows of values in [0, 1] or images (n, h, w); without an image shape each sample is
    drawn as a one-row strip of its features. Returns the path, or the Figure when path is None."""
    if isinstance(originals, dict):
        if reconstructions is not None or noisy is not None:
            raise TypeError("reconstruction_grid: with a dict of rows, pass no reconstructions or noisy samples")
        rows = [(np.asarray(samples), str(label)) for label, samples in originals.items()]
    else:
        rows = [(np.asarray(originals), "original"), (np.asarray(reconstructions), "reconstruction")]
        if noisy is not None:
            rows += [(np.asarray(noisy), "noisy input"), (np.asarray(denoised), "its reconstruction"), (rows[0][0], "clean")]
    if not rows:
        raise ValueError("reconstruction_grid: no rows to draw")
    first = rows[0][0]
    image_shape = image_shape or (tuple(first.shape[1:3]) if first.ndim >= 3 else None)
    n = min([n] + [len(samples) for samples, _ in rows])
    shape = image_shape or (1, int(np.prod(first.shape[1:])))
    fig = _figure(1.2 * n, (1.4 if image_shape else 0.8) * len(rows))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for row, (images, title) in enumerate(rows):
        for i in range(n):
            ax = axes[row][i]
            ax.imshow(np.asarray(images[i]).reshape(shape), cmap="gray", vmin=0.0, vmax=1.0, aspect="auto" if not image_shape else None)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row][0].set_ylabel(title, fontsize=8)
    return _save(fig, path)


def loss_curves(history: Dict[str, List[float]], path: Any) -> str:
    """Training (and validation) loss per epoch."""
    fig = _figure(6, 4)
    ax = fig.subplots()
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], marker="o", label="training loss")
    if history.get("val_loss"):
        ax.plot(epochs, history["val_loss"], marker="o", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    if "kl" in history:  # a VAE's objective: reconstruction + beta KL, the KL on its own axis
        ax.plot(epochs, history["reconstruction"], marker=".", linestyle="--", label="reconstruction")
        kl_axis = ax.twinx()
        kl_axis.plot(epochs, history["kl"], marker=".", linestyle=":", color="tab:red", label="KL (right axis)")
        kl_axis.set_ylabel("KL")
        fig.legend(loc="outside upper center", ncols=4, fontsize=8)
    else:
        ax.legend()
    return _save(fig, path)


def principal_components(codes: np.ndarray, k: int = 2) -> np.ndarray:
    """The codes projected on their first k principal components (SVD of the centred codes)."""
    centred = codes - codes.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:k].T


def latent_scatter(codes: np.ndarray, path: Any, labels: Optional[np.ndarray] = None,
                   class_names: Optional[Sequence[str]] = None) -> str:
    """The codes in 2-D (the two latent dimensions, or the first two principal components of
    wider codes), coloured by label when there are labels."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] == 1:
        points, axis_names = np.column_stack([codes[:, 0], np.zeros(len(codes))]), ("z1", "")
    elif codes.shape[1] == 2:
        points, axis_names = codes, ("z1", "z2")
    else:
        points, axis_names = principal_components(codes), ("PC 1 of the codes", "PC 2 of the codes")
    fig = _figure(7, 6)
    ax = fig.subplots()
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6)
    else:
        cmap = _colormap("tab10")
        for value in np.unique(labels):
            mask = labels == value
            name = class_names[int(value)] if class_names is not None and 0 <= int(value) < len(class_names) else str(value)
            ax.scatter(points[mask, 0], points[mask, 1], s=4, alpha=0.6, color=cmap(int(value) % 10), label=name)
        ax.legend(markerscale=4, fontsize=8, loc="best")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    return _save(fig, path)


def _colormap(name: str) -> Any:
    from matplotlib import colormaps
    return colormaps[name]


def error_histogram(errors: np.ndarray, path: Any = None, threshold: Optional[float] = None,
                    labels: Optional[np.ndarray] = None) -> Any:
    """The distribution of per-sample reconstruction errors: with `threshold`, a line there (right
    of it: anomalous), else the median and 99th percentile; with `labels` (1 or True = anomalous, as
    PyOD's labels_; or scikit-learn's predict, -1 = anomalous) the normal and the anomalous rows as
    two overlaid histograms. Returns the path, or the Figure when path is None."""
    errors = np.asarray(errors, dtype=np.float64).ravel()
    fig = _figure(6, 4)
    ax = fig.subplots()
    bins = np.histogram_bin_edges(errors[np.isfinite(errors)], bins=60)
    if labels is None:
        ax.hist(errors, bins=bins, color="tab:blue", alpha=0.8)
    else:
        labels = np.asarray(labels).ravel()
        if labels.shape != errors.shape:
            raise ValueError(f"labels: expected one label per error ({errors.shape[0]}), got shape {labels.shape}")
        anomalous = labels == -1 if np.any(labels == -1) else labels.astype(bool)
        ax.hist(errors[~anomalous], bins=bins, color="tab:blue", alpha=0.6, label=f"normal ({np.sum(~anomalous):,})")
        ax.hist(errors[anomalous], bins=bins, color="tab:orange", alpha=0.6, label=f"anomalous ({np.sum(anomalous):,})")
    if threshold is not None:
        ax.axvline(float(threshold), color="tab:red", linestyle="--", label=f"threshold {float(threshold):.4g}")
    else:
        for q, style in ((50, "--"), (99, ":")):
            ax.axvline(np.percentile(errors, q), color="black", linestyle=style, label=f"{q}th percentile")
    ax.set_xlabel("per-sample reconstruction error (mean loss over features)")
    ax.set_ylabel("samples")
    ax.legend()
    return _save(fig, path)


def image_grid(images: np.ndarray, path: Any, image_shape: Tuple[int, int], columns: int = 8,
               title: Optional[str] = None) -> str:
    """Images (rows of pixel values in [0, 1]) in a grid, `columns` wide."""
    n = len(images)
    rows = max(1, -(-n // columns))
    fig = _figure(1.1 * columns, 1.1 * rows + (0.4 if title else 0))
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i < n:
            ax.imshow(np.asarray(images[i]).reshape(image_shape), cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def latent_manifold(model: Any, path: Any, image_shape: Tuple[int, int], n: int = 15, extent: float = 3.0) -> str:
    """A 2-D VAE's decoder over a grid of z in [-extent, extent]^2 (z1 left to right, z2 bottom to
    top), drawn as one image, as Keras' VAE example does."""
    h, w = image_shape
    grid = np.linspace(-extent, extent, n)
    z = np.array([[z1, z2] for z2 in grid[::-1] for z1 in grid], dtype=model._dtype())
    decoded = model.decode(z).reshape(n, n, h, w)
    canvas = decoded.transpose(0, 2, 1, 3).reshape(n * h, n * w)
    fig = _figure(8, 8)
    ax = fig.subplots()
    ax.imshow(canvas, cmap="gray", vmin=0.0, vmax=1.0, extent=(-extent, extent, -extent, extent))
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    return _save(fig, path)


def plot_all(model: Any, X: np.ndarray, out_dir: Any, labels: Optional[np.ndarray] = None,
             image_shape: Optional[Tuple[int, int]] = None, class_names: Optional[Sequence[str]] = None) -> List[str]:
    """The four pictures of a fitted model on X, in out_dir: reconstructions.png (with noisy rows
    for a model trained with noise: the noise it was trained with, of epoch 0), loss.png,
    latent.png, errors.png; for a VAE of images also samples.png (64 rows decoded from the
    prior) and, with latent_dim 2, manifold.png. Returns their paths."""
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    _figure(1, 1)  # fail early, before any work, when matplotlib is missing
    join = lambda name: os.path.join(out_dir, name)
    noisy = None
    if getattr(model, "noise", "none") != "none" and model.noise_level > 0:
        from .reference import add_noise
        noisy = add_noise(model.noise, model.noise_level, model._noise_seed, 0, np.arange(min(10, len(X))),
                          np.asarray(X[:10], dtype=np.float64))
    paths = [
        reconstruction_grid(X[:10], model.reconstruct(X[:10]), join("reconstructions.png"), image_shape,
                            noisy=noisy, denoised=None if noisy is None else model.reconstruct(noisy)),
        loss_curves(model.history_, join("loss.png")),
        latent_scatter(model.encode(X), join("latent.png"), labels, class_names),
        error_histogram(model.reconstruction_error(X), join("errors.png")),
    ]
    if hasattr(model, "sample") and image_shape is not None:
        paths.append(image_grid(model.sample(64, random_state=0), join("samples.png"), image_shape,
                                title="decoded from z ~ N(0, I)"))
        if model.latent_dim_ == 2:
            paths.append(latent_manifold(model, join("manifold.png"), image_shape))
    return paths


def score_histogram(scores: np.ndarray, threshold: float, path: Any) -> str:
    """A detector's anomaly scores with its threshold (right of it: outliers)."""
    fig = _figure(6, 4)
    ax = fig.subplots()
    ax.hist(scores, bins=80, color="tab:blue", alpha=0.8)
    ax.axvline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:.4g}")
    ax.set_xlabel("anomaly score (mean squared reconstruction error)")
    ax.set_ylabel("rows")
    ax.legend()
    return _save(fig, path)


def roc_points(scores: np.ndarray, is_outlier: np.ndarray) -> Tuple[np.ndarray, np.ndarray, float]:
    """(false positive rates, true positive rates, area under the curve), thresholds from high to
    low scores; tied scores move together."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], is_outlier[order].astype(np.float64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp, fp = np.cumsum(y)[last_of_tie], np.cumsum(1 - y)[last_of_tie]
    tpr, fpr = np.r_[0.0, tp / max(y.sum(), 1)], np.r_[0.0, fp / max((1 - y).sum(), 1)]
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids


def roc_curve(scores: np.ndarray, is_outlier: np.ndarray, path: Any) -> str:
    """The ROC curve of anomaly scores against known outliers, with its area."""
    fpr, tpr, auc = roc_points(scores, is_outlier)
    fig = _figure(5, 5)
    ax = fig.subplots()
    ax.plot(fpr, tpr, label=f"ROC-AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_detector(detector: Any, X: np.ndarray, out_dir: Any, is_outlier: Optional[np.ndarray] = None) -> List[str]:
    """scores.png (the histogram with the threshold) and, given which rows are outliers, roc.png."""
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    scores = detector.anomaly_score(X)
    paths = [score_histogram(scores, detector.threshold_, os.path.join(out_dir, "scores.png"))]
    if is_outlier is not None:
        paths.append(roc_curve(scores, is_outlier, os.path.join(out_dir, "roc.png")))
    return paths
