"""What Keras and scikit-learn users type first: their spellings, their fit arguments, images,
sparse input, dataset names, smaller files and reusable pictures."""

import os

import numpy as np
import pytest

import fastae
from fastae import SGD, AnomalyDetector, Autoencoder, VariationalAutoencoder
from fastae import LatentWarning

from conftest import make_data


def images(n=120, h=6, w=5, seed=0):
    return np.random.default_rng(seed).random((n, h, w)).astype(np.float32)


# ------------------------------------------------------------------ names
@pytest.mark.parametrize("alias, name", [("binary_crossentropy", "bce"), ("BCEWithLogitsLoss", "bce"),
                                         ("mean_squared_error", "mse"), ("MSELoss", "mse"),
                                         ("mean_absolute_error", "mae"), ("L1Loss", "mae"),
                                         ("SmoothL1Loss", "huber"), ("Huber", "huber")])
def test_keras_and_torch_loss_names_train_the_same_model(alias, name):
    X = make_data(64, 6)
    kwargs = dict(latent_dim=2, epochs=2, random_state=0)
    a = Autoencoder(loss=alias, **kwargs).fit(X)
    b = Autoencoder(loss=name, **kwargs).fit(X)
    assert a._model.loss == name
    assert a.history_["loss"] == b.history_["loss"]


@pytest.mark.parametrize("alias, name", [("LeakyReLU", "leaky_relu"), ("identity", "linear"), ("logistic", "sigmoid"),
                                         ("ReLU", "relu")])
def test_activation_spellings(alias, name):
    X = make_data(64, 6)
    a = Autoencoder(latent_dim=2, activation=alias, hidden=(4,), epochs=1, random_state=0).fit(X)
    assert a.spec_.activations[0] == name


def test_momentum_and_gd_are_sgd():
    X = make_data(64, 6)
    kwargs = dict(latent_dim=2, epochs=2, random_state=0, learning_rate=0.05)
    momentum = Autoencoder(optimizer="momentum", **kwargs).fit(X)
    explicit = Autoencoder(latent_dim=2, epochs=2, random_state=0, optimizer=SGD(lr=0.05, momentum=0.9)).fit(X)
    assert momentum.history_["loss"] == explicit.history_["loss"]
    gd = Autoencoder(optimizer="gd", **kwargs).fit(X)
    plain = Autoencoder(optimizer="sgd", **kwargs).fit(X)
    assert gd.history_["loss"] == plain.history_["loss"]
    assert np.array_equal(gd.get_weights()[0], plain.get_weights()[0])


@pytest.mark.parametrize("param, value, suggestion", [("loss", "mean_sqared_error", "mean_squared_error"),
                                                      ("optimizer", "adma", "adam"),
                                                      ("activation", "reul", "relu"),
                                                      ("scale", "standart", "standard")])
def test_a_misspelt_name_gets_a_did_you_mean(param, value, suggestion):
    with pytest.raises(ValueError) as info:
        Autoencoder(latent_dim=2, **{param: value}).fit(make_data(20, 4))
    message = str(info.value)
    assert message.startswith(f"{param}: unknown name {value!r}") and f"did you mean {suggestion!r}" in message
    assert "known:" in message


# ------------------------------------------------------------------ fit's Keras arguments
@pytest.mark.parametrize("make", [lambda V: (V, V), lambda V: (V,), lambda V: [V, V], lambda V: V])
def test_validation_data_in_keras_forms(make):
    X, V = make_data(100, 8, seed=1), make_data(30, 8, seed=2)
    model = Autoencoder(latent_dim=2, epochs=2, random_state=0).fit(X, validation_data=make(V))
    expected = Autoencoder(latent_dim=2, epochs=2, random_state=0).fit(X, validation_data=V)
    assert model.history_["val_loss"] == expected.history_["val_loss"]


def test_validation_data_with_sample_weights_is_refused():
    X, V = make_data(50, 4), make_data(10, 4)
    with pytest.raises(ValueError, match="sample weights"):
        Autoencoder(latent_dim=2, epochs=1).fit(X, validation_data=(V, V, np.ones(10)))


def test_a_vae_takes_its_input_as_the_second_argument():
    X = make_data(80, 6)
    vae = VariationalAutoencoder(latent_dim=2, hidden=(4,), epochs=1, random_state=0)
    vae.fit(X, validation_data=(X[:20], X[:20]))
    assert vae.evaluate(X, X) == vae.evaluate(X)
    assert np.array_equal(vae.reconstruction_error(X, X.astype(np.float64)), vae.reconstruction_error(X))
    with pytest.raises(ValueError, match="target"):
        vae.evaluate(X, X + 1)


def test_the_detector_takes_a_second_argument():
    X = make_data(80, 6)
    detector = AnomalyDetector(Autoencoder(latent_dim=2, epochs=1, random_state=0)).fit(X)
    y = np.zeros(len(X))
    for method in ("anomaly_score", "score_samples", "decision_function", "predict", "feature_scores"):
        assert np.array_equal(getattr(detector, method)(X, y), getattr(detector, method)(X))


def test_fit_overrides_batch_size_shuffle_verbose_for_one_call(capsys):
    X = make_data(100, 6)
    model = Autoencoder(latent_dim=2, epochs=2, random_state=0).fit(X, batch_size=16, shuffle=False, verbose=1,
                                                                    epochs=3)
    same = Autoencoder(latent_dim=2, epochs=3, batch_size=16, shuffle=False, random_state=0).fit(X)
    capsys.readouterr()
    assert model.history_["loss"] == same.history_["loss"]
    assert model.get_params()["batch_size"] == 256 and model.shuffle is True and model.verbose == 0
    assert model.history_params_ == {"epochs": 3, "batch_size": 16, "shuffle": False, "verbose": 1}
    model.partial_fit(X, batch_size=8)
    assert model.history_params_["batch_size"] == 8 and model.history_params_["epochs"] == 1
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(X, batch_size=0)
    with pytest.raises(TypeError, match="shuffle"):
        model.fit(X, shuffle="yes")


def test_verbose_override_prints_progress(capsys):
    Autoencoder(latent_dim=2, epochs=1, random_state=0).fit(make_data(50, 4), verbose=1)
    captured = capsys.readouterr()
    assert "1/1" in captured.out + captured.err


# ------------------------------------------------------------------ summary and latent width
def test_summary_before_fit_shows_the_input_as_n(capsys):
    Autoencoder(latent_dim=3, hidden=(6,)).summary()
    text = capsys.readouterr().out
    assert "n -> 6 -> 3 -> 6 -> n" in text and "Total params: 13n + 51" in text
    built = Autoencoder(latent_dim=3, hidden=(6,)).build(10)
    built.summary()
    assert f"Total params: {13 * 10 + 51:,}" in capsys.readouterr().out
    assert built._model.n_params == 13 * 10 + 51


def test_a_latent_wider_than_the_input_warns():
    with pytest.warns(LatentWarning, match="latent_dim=8 is larger than the input's 4 features"):
        Autoencoder(latent_dim=8, epochs=1).fit(make_data(20, 4))
    with pytest.warns(LatentWarning):
        Autoencoder(latent_dim=8).build(4)
    Autoencoder(latent_dim=4, epochs=1).fit(make_data(20, 4))  # as wide: no warning (the suite errors on one)


def test_loading_a_wide_model_does_not_warn_again(tmp_path):
    with pytest.warns(LatentWarning):
        model = Autoencoder(latent_dim=8, epochs=1).fit(make_data(20, 4))
    model.save(tmp_path / "m.fae")
    fastae.load(tmp_path / "m.fae")


# ------------------------------------------------------------------ images
def test_images_are_flattened_and_returned_as_images():
    X = images()
    model = Autoencoder(latent_dim=4, hidden=(16,), epochs=2, random_state=0).fit(X)
    flat = Autoencoder(latent_dim=4, hidden=(16,), epochs=2, random_state=0).fit(X.reshape(len(X), -1))
    assert model.input_shape_ == (6, 5) and flat.input_shape_ == (30,)
    assert model.history_["loss"] == flat.history_["loss"]
    R = model.reconstruct(X)
    assert R.shape == X.shape and np.array_equal(R.reshape(len(X), -1), flat.reconstruct(X.reshape(len(X), -1)))
    assert model.reconstruct(X.reshape(len(X), -1)).shape == (len(X), 30)  # the call's shape
    assert model.encode(X).shape == (len(X), 4)
    assert model.decode(model.encode(X)).shape == X.shape
    assert model.reconstruction_error(X).shape == (len(X),)
    assert model.reconstruction_error(X, per_feature=True).shape == X.shape
    assert np.isclose(model.evaluate(X), flat.evaluate(X.reshape(len(X), -1)))


def test_images_with_channels_and_the_vae():
    X = images()[..., None]
    vae = VariationalAutoencoder(latent_dim=2, hidden=(8,), epochs=1, random_state=0).fit(X)
    assert vae.input_shape_ == (6, 5, 1)
    assert vae.sample(3, random_state=0).shape == (3, 6, 5, 1) and vae.sample(0).shape == (0, 6, 5, 1)
    assert vae.reconstruct(X).shape == X.shape


def test_images_are_not_copied():
    X = images()
    model = Autoencoder(latent_dim=4, epochs=1, random_state=0).fit(X)
    from fastae._validation import as_matrix
    arr = as_matrix(X, "X", np.float32)[0]
    assert np.shares_memory(arr, X) and arr.shape == (len(X), 30)
    assert model.reconstruct(X).shape == X.shape


def test_impute_keeps_the_image_shape():
    X = images()
    holes = X.copy()
    holes[0, 1, 2] = holes[5, 0, 0] = np.nan
    model = Autoencoder(latent_dim=4, epochs=2, random_state=0, missing="mask").fit(holes)
    filled = model.impute(holes)
    assert filled.shape == X.shape and not np.isnan(filled).any()
    observed = ~np.isnan(holes)
    assert np.array_equal(filled[observed], holes[observed])


def test_the_image_shape_is_saved(tmp_path):
    model = Autoencoder(latent_dim=4, epochs=1, random_state=0).fit(images())
    model.save(tmp_path / "m.fae")
    loaded = fastae.load(tmp_path / "m.fae")
    assert loaded.input_shape_ == (6, 5) and loaded.decode(np.zeros((2, 4), np.float32)).shape == (2, 6, 5)
    assert loaded.history_params_ == model.history_params_


# ------------------------------------------------------------------ sparse input
def test_sparse_input_says_what_densifying_costs():
    sparse = pytest.importorskip("scipy.sparse")
    X = sparse.csr_matrix((1000, 2000), dtype=np.float32)
    with pytest.raises(TypeError) as info:
        Autoencoder(latent_dim=2).fit(X)
    message = str(info.value)
    assert "sparse" in message and "0.01 GiB as float32" in message and "toarray()" in message
    assert "partial_fit" in message


# ------------------------------------------------------------------ datasets
def test_an_unknown_dataset_lists_what_fastae_knows():
    with pytest.raises(FileNotFoundError) as info:
        fastae.load_data("mnist")
    message = str(info.value)
    assert "'sample'" in message and "'fashion-mnist'" in message and "looked for in" in message
    with pytest.raises(FileNotFoundError, match="Did you mean 'fashion-mnist'"):
        fastae.load_data("fashoin-mnist")
    with pytest.raises(FileNotFoundError, match="no such file"):
        fastae.load_data("nowhere/data.csv")


def test_dataset_names_in_any_spelling_and_loaders_at_the_top():
    assert fastae.load_data("SAMPLE").X_train.shape == fastae.load_sample().X_train.shape
    assert callable(fastae.load_fashion_mnist) and callable(fastae.load_array)


# ------------------------------------------------------------------ saving without the optimizer
def test_save_without_the_optimizer(tmp_path):
    X = make_data(200, 40)
    model = Autoencoder(latent_dim=4, hidden=(32,), epochs=2, random_state=0).fit(X)
    model.save(tmp_path / "full.fae")
    model.save(tmp_path / "small.fae", include_optimizer=False)
    full, small = os.path.getsize(tmp_path / "full.fae"), os.path.getsize(tmp_path / "small.fae")
    assert small < 0.4 * full  # Adam's two moments are two thirds of the arrays
    loaded = fastae.load(tmp_path / "small.fae")
    assert np.array_equal(loaded.reconstruct(X), model.reconstruct(X))
    assert loaded.history_ == model.history_
    with pytest.raises(ValueError, match="include_optimizer=False"):
        loaded.fit(X, resume=True)
    loaded.set_params(warm_start=True).fit(X, epochs=1)  # a warm start uses a fresh optimizer anyway
    loaded.save(tmp_path / "again.fae")
    fastae.load(tmp_path / "again.fae").fit(X, resume=True, epochs=1)  # trained since: resumable
    fresh = fastae.load(tmp_path / "small.fae").set_params(warm_start=False).fit(X)
    assert np.array_equal(fresh.get_weights()[0], Autoencoder(latent_dim=4, hidden=(32,), epochs=2,
                                                               random_state=0).fit(X).get_weights()[0])


def test_a_detector_saved_without_the_optimizer_scores_the_same(tmp_path):
    X = make_data(100, 6)
    detector = AnomalyDetector(Autoencoder(latent_dim=2, epochs=1, random_state=0)).fit(X)
    detector.save(tmp_path / "d.fae", include_optimizer=False)
    loaded = fastae.load(tmp_path / "d.fae")
    assert np.array_equal(loaded.anomaly_score(X), detector.anomaly_score(X))
    with pytest.raises(TypeError, match="include_optimizer"):
        detector.save(tmp_path / "e.fae", include_optimizer="no")


# ------------------------------------------------------------------ pictures
def test_error_histogram_with_threshold_and_labels(tmp_path):
    pytest.importorskip("matplotlib")
    from fastae import plotting
    errors = np.random.default_rng(0).random(200)
    path = plotting.error_histogram(errors, tmp_path / "h.png", threshold=0.9, labels=errors > 0.9)
    assert os.path.getsize(path) > 0
    figure = plotting.error_histogram(errors, threshold=0.9, labels=np.where(errors > 0.9, -1, 1))
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == [f"normal ({np.sum(errors <= 0.9)})", f"anomalous ({np.sum(errors > 0.9)})", "threshold 0.9"]
    with pytest.raises(ValueError, match="labels"):
        plotting.error_histogram(errors, labels=np.zeros(3))


def test_reconstruction_grid_takes_any_rows(tmp_path):
    pytest.importorskip("matplotlib")
    from fastae import plotting
    X = images(12)
    figure = plotting.reconstruction_grid({"noisy": X, "reconstruction": X, "clean": X, "error": X}, n=5)
    assert len(figure.axes) == 4 * 5
    assert [figure.axes[5 * r].get_ylabel() for r in range(4)] == ["noisy", "reconstruction", "clean", "error"]
    assert os.path.getsize(plotting.reconstruction_grid(X, X, tmp_path / "g.png")) > 0


# ------------------------------------------------------------------ shipping one half
@pytest.mark.parametrize("make", [
    lambda: Autoencoder(latent_dim=3, hidden=(16,), scale="minmax", missing="mask", epochs=2, random_state=0),
    lambda: Autoencoder(latent_dim=3, tied_weights=True, scale="standard", output_activation="linear", epochs=2,
                        random_state=0),
    lambda: VariationalAutoencoder(latent_dim=2, hidden=(8,), epochs=2, random_state=0),
], ids=["scaled-masked", "tied", "vae"])
def test_export_one_half(tmp_path, make):
    X = images()
    model = make().fit(X)
    model.save(tmp_path / "whole.fae")
    model.export(tmp_path / "encoder.fae")
    model.export(tmp_path / "decoder.fae", part="decoder")
    stored = {name: np.load(tmp_path / f"{name}.fae", allow_pickle=False) for name in ("whole", "encoder", "decoder")}
    assert stored["encoder"]["params"].size + stored["decoder"]["params"].size == stored["whole"]["params"].size
    assert not any(k.startswith("slot:") for k in (*stored["encoder"].files, *stored["decoder"].files))
    encoder, decoder = fastae.load(tmp_path / "encoder.fae"), fastae.load(tmp_path / "decoder.fae")
    assert (encoder.part_, decoder.part_, model.part_) == ("encoder", "decoder", None)
    codes = encoder.encode(X)
    assert np.array_equal(codes, model.encode(X))  # bit for bit, scaling included
    assert np.array_equal(decoder.decode(codes), model.decode(codes)) and decoder.decode(codes).shape == X.shape
    for call in (lambda: encoder.decode(codes), lambda: encoder.reconstruct(X), lambda: decoder.encode(X),
                 lambda: encoder.evaluate(X), lambda: encoder.fit(X, resume=True), lambda: encoder.partial_fit(X),
                 lambda: encoder.set_params(warm_start=True).fit(X),
                 lambda: encoder.export(tmp_path / "other.fae", part="decoder")):
        with pytest.raises(ValueError, match="holds only its"):
            call()
    encoder.save(tmp_path / "again.fae")  # still the encoder alone
    assert fastae.load(tmp_path / "again.fae").part_ == "encoder"
    import pickle
    assert np.array_equal(pickle.loads(pickle.dumps(encoder)).encode(X), codes)
    fresh = encoder.set_params(warm_start=False).fit(X)  # a fresh fit builds a whole network
    assert fresh.part_ is None and fresh.reconstruct(X).shape == X.shape


def test_export_names_a_bad_part(tmp_path):
    model = Autoencoder(latent_dim=2, epochs=1).fit(make_data(20, 4))
    with pytest.raises(ValueError, match="part: unknown name 'middle'"):
        model.export(tmp_path / "m.fae", part="middle")
    with pytest.raises(fastae.NotFittedError):
        Autoencoder().export(tmp_path / "m.fae")
