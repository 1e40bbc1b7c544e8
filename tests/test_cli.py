"""The `fastae` command and the pictures: exit codes, outputs, files."""

import struct
import subprocess
import sys

import numpy as np
import pytest

from fastae import load
from fastae.cli import main
from fastae.datasets import load_sample

from test_datasets import HAVE_FASHION_MNIST


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "model.fae"
    assert main(["train", "--data", "sample", "--epochs", "2", "--latent", "8", "--hidden", "64", "--out", str(path),
                 "--quiet"]) == 0
    return path


def test_train_reports_and_saves(tmp_path, capsys):
    path = tmp_path / "m.fae"
    code, out, err = run(capsys, "train", "--data", "sample", "--epochs", "2", "--latent", "4", "--hidden",
                         "--out", path)
    assert code == 0 and err == ""
    assert "3,000 training and 1,000 test samples" in out and "Total params" in out
    assert out.count("epoch 2/2") == 1 and "test loss" in out and str(path) in out
    model = load(path)
    assert model.layer_sizes_ == [784, 4, 784] and len(model.history_["loss"]) == 2
    test_loss = float(out.rsplit("test loss ", 1)[1].split()[0])
    assert test_loss == pytest.approx(model.evaluate(load_sample().X_test), rel=1e-5)


def test_evaluate(trained, capsys):
    code, out, _ = run(capsys, "evaluate", trained, "--data", "sample")
    assert code == 0
    loss = float(out.split("samples: ")[1].split()[0])
    assert loss == pytest.approx(load(trained).evaluate(load_sample().X_test), rel=1e-5)
    assert "median" in out and "p99" in out and "worst samples" in out


def test_encode(trained, tmp_path, capsys):
    out_path = tmp_path / "codes.npy"
    code, out, _ = run(capsys, "encode", trained, "--data", "sample", "--out", out_path)
    codes = np.load(out_path)
    assert code == 0 and codes.shape == (4000, 8) and "(4000, 8)" in out
    np.testing.assert_array_equal(codes[-1000:], load(trained).encode(load_sample().X_test))


def test_plot_writes_four_pngs(trained, tmp_path, capsys):
    code, out, _ = run(capsys, "plot", trained, "--data", "sample", "--out", tmp_path / "plots")
    assert code == 0
    for name in ("reconstructions.png", "loss.png", "latent.png", "errors.png"):
        path = tmp_path / "plots" / name
        assert str(path) in out
        width, height = png_size(path)
        assert 300 <= width <= 2000 and 100 <= height <= 1500 and path.stat().st_size > 5000


def test_plot_without_matplotlib_names_the_extra(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if it were absent
    code, _, err = run(capsys, "plot", trained, "--data", "sample", "--out", tmp_path)
    assert code == 1 and 'pip install "fastae[plot]"' in err and len(err.strip().splitlines()) == 1


def test_plot_of_tabular_data(tmp_path, capsys):
    X = np.random.default_rng(0).random((200, 10))
    np.save(tmp_path / "x.npy", X)
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--epochs", "1", "--latent", "3", "--hidden", "6",
                 "--out", str(tmp_path / "m.fae"), "--quiet"]) == 0
    code, _, _ = run(capsys, "plot", tmp_path / "m.fae", "--data", tmp_path / "x.npy", "--out", tmp_path / "p")
    assert code == 0 and png_size(tmp_path / "p" / "reconstructions.png")[0] > 300


@pytest.mark.parametrize("argv, words", [
    (["train", "--epochs", "0"], "--epochs: must be at least 1"),
    (["train", "--loss", "kl", "--epochs", "1"], "loss: unknown name 'kl'"),
    (["train", "--latent", "x"], "expected a whole number"),
    (["train", "--data", "missing.csv"], "missing.csv: no such file"),
    (["train", "--activation", "swish", "--epochs", "1"], "unknown name 'swish'"),
    (["train", "--out", "/no/such/folder/m.fae", "--epochs", "1"], "does not exist"),
    (["evaluate", "missing.fae"], "no such file missing.fae"),
    (["evaluate"], "the following arguments are required: model"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_arguments_give_one_line_and_exit_code_2(argv, words, capsys):
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    out, err = capsys.readouterr()
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err


def test_a_model_that_does_not_fit_the_data(trained, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((20, 10)))
    code, _, err = run(capsys, "evaluate", trained, "--data", tmp_path / "x.npy")
    assert code == 2 and "X has 10 features, but Autoencoder is expecting 784" in err


@pytest.mark.parametrize("command", ["train", "evaluate", "encode", "plot", "bench"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0 and f"usage: fastae {command}" in capsys.readouterr().out


def test_bench_prints_the_table(capsys):
    code, out, _ = run(capsys, "bench", "--rows", "600", "--repeats", "1", "--workloads", "tabular")
    assert code == 0 and "| tabular |" in out and "fastae / NumPy" in out
    row = next(line for line in out.splitlines() if line.startswith("| tabular"))
    assert float(row.split("|")[5].strip().rstrip("×")) > 0


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run([sys.executable, "-m", "fastae", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("fastae ")


@pytest.mark.skipif(not HAVE_FASHION_MNIST, reason="needs Debian's dataset-fashion-mnist "
                    "(apt-get install dataset-fashion-mnist); CI installs it")
def test_train_and_plot_on_the_full_fashion_mnist(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--data", "fashion-mnist", "--epochs", "1", "--out", tmp_path / "m.fae")
    assert code == 0 and "60,000 training and 10,000 test samples" in out
    assert float(out.rsplit("test loss ", 1)[1].split()[0]) < 0.35  # BCE after one epoch of 784-128-32-128-784
    code, out, _ = run(capsys, "plot", tmp_path / "m.fae", "--data", "fashion-mnist", "--out", tmp_path / "plots")
    assert code == 0 and sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "errors.png", "latent.png", "loss.png", "reconstructions.png"]


CLI_VARIANTS = {
    "denoising": (["--hidden", "--noise", "masking", "--noise-level", "0.3"], dict(noise="masking", noise_level=0.3)),
    "activity L1": (["--hidden", "--activity-l1", "0.001"], dict(activity_l1=0.001)),
    "dropout, KL sparsity, tied": (["--hidden", "16", "--dropout", "0.2", "--latent-activation", "sigmoid",
                                    "--sparsity-weight", "0.1", "--sparsity-target", "0.1", "--tied"],
                                   dict(dropout=0.2, latent_activation="sigmoid", sparsity_weight=0.1,
                                        sparsity_target=0.1, tied_weights=True)),
    "contractive": (["--hidden", "--latent-activation", "sigmoid", "--contractive", "0.1"],
                    dict(latent_activation="sigmoid", contractive=0.1)),
}


@pytest.mark.parametrize("name", CLI_VARIANTS)
def test_train_each_variant(name, tmp_path, capsys):
    args, params = CLI_VARIANTS[name]
    out = tmp_path / "variant.fae"
    code, _, err = run(capsys, "train", "--data", "sample", "--epochs", "1", "--latent", "8", *args,
                       "--quiet", "--out", out)
    assert code == 0, err
    model = load(out)
    assert {k: model.get_params()[k] for k in params} == params
    penalised = any(params.get(k, 0) > 0 for k in ("activity_l1", "sparsity_weight", "contractive"))
    assert ("penalty" in model.history_) == penalised and (not penalised or model.history_["penalty"][0] > 0)
    if model.tied_weights:
        assert model.spec_.mirror == [-1, -1, 1, 0] and model.spec_.dropout_rates == [0.2, 0.0, 0.2, 0.0]


@pytest.mark.parametrize("argv, words", [
    (["--noise", "blur"], "noise: unknown name 'blur'"),
    (["--sparsity-weight", "0.1"], "needs latent_activation='sigmoid' (got 'linear')"),
    (["--dropout", "1"], "dropout: must be"),
    (["--hidden", "16", "--contractive", "0.1"], "contractive: the exact penalty"),
    (["--noise", "masking", "--noise-level", "1.5"], "noise_level: masking noise needs a probability in [0, 1)"),
    (["--noise", "gaussian", "--noise-level", "x"], "invalid float value: 'x'"),
])
def test_bad_variant_arguments_are_one_line_and_exit_code_2(tmp_path, capsys, argv, words):
    try:
        code = main(["train", "--data", "sample", "--epochs", "1", "--quiet", "--out", str(tmp_path / "m.fae"), *argv])
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and words in err[0]


def test_plot_of_a_denoising_model_adds_the_noisy_rows(tmp_path):
    from fastae import Autoencoder
    from fastae.plotting import plot_all

    X = load_sample().X_test[:200]
    heights = {}
    for noise in ("none", "masking"):
        model = Autoencoder(latent_dim=8, epochs=1, random_state=0, noise=noise, noise_level=0.3).fit(X)
        paths = plot_all(model, X, tmp_path / noise, image_shape=(28, 28))
        heights[noise] = png_size(paths[0])[1]
    assert heights["masking"] > 2 * heights["none"]  # five rows of images instead of two


def test_train_sample_and_plot_a_vae(tmp_path, capsys):
    out = tmp_path / "vae.fae"
    code, stdout, err = run(capsys, "train", "--vae", "--data", "sample", "--epochs", "1", "--latent", "2", "--hidden",
                            "16", "--beta", "0.5", "--kl-warmup", "2", "--quiet", "--out", out)
    assert code == 0, err
    assert "negative ELBO" in stdout
    model = load(out)
    assert type(model).__name__ == "VariationalAutoencoder" and (model.beta, model.kl_warmup_epochs) == (0.5, 2)
    code, stdout, err = run(capsys, "sample", out, "--n", "6", "--out", tmp_path / "s.npy")
    assert code == 0, err
    assert np.load(tmp_path / "s.npy").shape == (6, 784)
    code, _, err = run(capsys, "sample", out, "--n", "6", "--out", tmp_path / "s.png")
    assert code == 0, err
    assert (tmp_path / "s.png").stat().st_size > 0
    code, stdout, err = run(capsys, "evaluate", out, "--data", "sample")
    assert code == 0 and "negative ELBO" in stdout, err
    code, _, err = run(capsys, "plot", out, "--data", "sample", "--out", tmp_path / "plots")
    assert code == 0, err
    assert {"samples.png", "manifold.png", "loss.png"} <= {p.name for p in (tmp_path / "plots").iterdir()}


def test_vae_options_are_checked(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--vae", "--tied", "--epochs", "1", "--out", tmp_path / "m.fae")
    assert code == 2 and "--tied" in err
    code, _, err = run(capsys, "train", "--beta", "2", "--epochs", "1", "--out", tmp_path / "m.fae")
    assert code == 2 and "--vae" in err
    ae = tmp_path / "ae.fae"
    run(capsys, "train", "--data", "sample", "--epochs", "1", "--hidden", "--latent", "4", "--quiet", "--out", ae)
    code, _, err = run(capsys, "sample", ae, "--out", tmp_path / "s.npy")
    assert code == 2 and "not a VariationalAutoencoder" in err
    vae = tmp_path / "vae.fae"
    run(capsys, "train", "--vae", "--data", "sample", "--epochs", "1", "--latent", "2", "--quiet", "--out", vae)
    code, _, err = run(capsys, "sample", vae, "--image-shape", "7", "7", "--out", tmp_path / "s.png")
    assert code == 2 and "--image-shape" in err


def test_detect_trains_saves_scores_and_reloads(tmp_path, capsys):
    out, saved = tmp_path / "scores.csv", tmp_path / "det.fae"
    code, stdout, err = run(capsys, "detect", "--data", "sample", "--epochs", "1", "--contamination", "0.05",
                            "--save", saved, "--out", out, "--top", "2")
    assert code == 0, err
    assert "threshold" in stdout and stdout.count("worst features") == 2
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    assert rows.shape == (4000, 3) and set(np.unique(rows[:, 2])) <= {-1, 1}
    assert np.sum(rows[:, 2] == -1) == 200  # 5% of the sample's 4,000 rows
    code, _, err = run(capsys, "detect", "--data", "sample", "--model", saved, "--out", tmp_path / "again.csv")
    assert code == 0, err
    assert np.array_equal(np.loadtxt(tmp_path / "again.csv", delimiter=",", skiprows=1), rows)
    code, _, err = run(capsys, "plot", saved, "--data", "sample", "--split", "all", "--inlier-class", "0",
                       "--out", tmp_path / "plots")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["roc.png", "scores.png"]


def test_detect_refuses_bad_options(tmp_path, capsys):
    code, _, err = run(capsys, "detect", "--contamination", "0.7", "--out", tmp_path / "s.csv")
    assert code == 2 and "contamination" in err
    code, _, err = run(capsys, "detect", "--contamination", "many", "--out", tmp_path / "s.csv")
    assert code == 2 and "contamination" in err
    ae = tmp_path / "ae.fae"
    run(capsys, "train", "--data", "sample", "--epochs", "1", "--hidden", "--latent", "4", "--quiet", "--out", ae)
    code, _, err = run(capsys, "detect", "--model", ae, "--out", tmp_path / "s.csv")
    assert code == 2 and "not an AnomalyDetector" in err


def low_rank_with_holes(n=400, d=10, seed=0):
    """(complete rows, the same with 20% of the values removed) of a rank-3 table."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) @ rng.normal(size=(3, d)) + 0.05 * rng.normal(size=(n, d))
    H = X.copy()
    H[rng.random(X.shape) < 0.2] = np.nan
    return X.astype(np.float32), H.astype(np.float32)


def test_impute_fills_a_file_in_row_order_and_keeps_the_observed_values(tmp_path, capsys):
    X, H = low_rank_with_holes()
    data, out, saved = tmp_path / "holes.npy", tmp_path / "filled.npy", tmp_path / "imputer.fae"
    np.save(data, H)
    code, stdout, err = run(capsys, "impute", "--data", data, "--epochs", "30", "--out", out, "--save", saved)
    assert code == 0, err
    holes = np.isnan(H)
    assert f"filled {holes.sum():,} missing values" in stdout
    filled = np.load(out)
    assert filled.shape == H.shape and not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~holes], H[~holes])
    column_means = np.nanmean(H, axis=0)[np.nonzero(holes)[1]]
    rmse = lambda v: np.sqrt(np.mean((v - X[holes]) ** 2))
    assert rmse(filled[holes]) < 0.7 * rmse(column_means)
    code, _, err = run(capsys, "impute", "--data", data, "--model", saved, "--out", tmp_path / "again.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "again.npy"), filled)


def test_impute_reads_empty_csv_cells_as_missing_and_writes_csv(tmp_path, capsys):
    _, H = low_rank_with_holes(200, 6, 1)
    H[2, 0] = np.nan
    cells = [["" if np.isnan(v) else repr(float(v)) for v in row] for row in H]
    cells[2][0] = "NA"
    (tmp_path / "holes.csv").write_text("a,b,c,d,e,f\n" + "".join(",".join(row) + "\n" for row in cells))
    code, stdout, err = run(capsys, "impute", "--data", tmp_path / "holes.csv", "--epochs", "5",
                            "--out", tmp_path / "filled.csv")
    assert code == 0, err
    assert f"filled {np.isnan(H).sum():,} missing values" in stdout
    filled = np.loadtxt(tmp_path / "filled.csv", delimiter=",").astype(np.float32)  # 9 digits: float32 exactly
    assert filled.shape == H.shape and not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~np.isnan(H)], H[~np.isnan(H)])


def test_impute_refuses_what_it_cannot_fill(tmp_path, capsys):
    from fastae import Autoencoder
    _, H = low_rank_with_holes(100, 5, 2)
    H[7] = np.nan
    np.save(tmp_path / "empty_row.npy", H)
    code, _, err = run(capsys, "impute", "--data", tmp_path / "empty_row.npy", "--epochs", "1")
    assert code == 2 and "row 7 has nothing observed" in err
    code, _, err = run(capsys, "impute", "--data", tmp_path / "empty_row.npy", "--out", tmp_path / "f.txt")
    assert code == 2 and "--out" in err
    plain = tmp_path / "plain.fae"
    Autoencoder(latent_dim=2, epochs=1).fit(np.nan_to_num(H)).save(plain)
    code, _, err = run(capsys, "impute", "--data", tmp_path / "empty_row.npy", "--model", plain)
    assert code == 2 and "missing='mask'" in err
