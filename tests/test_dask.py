"""fastae.dask: inference over dask arrays and dataframes, bit for bit the in-memory methods, on
the local scheduler and on a LocalCluster of two worker processes."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="fastae.dask needs dask: pip install 'fastae[dask]'")
dd = pytest.importorskip("dask.dataframe", reason="dask.dataframe needs pyarrow: pip install 'fastae[dask]'")
distributed = pytest.importorskip("distributed", reason="the cluster tests need distributed: pip install 'fastae[dask]'")

import pandas as pd  # noqa: E402

import fastae  # noqa: E402
import fastae.dask as fd  # noqa: E402
from fastae import AnomalyDetector, Autoencoder, VariationalAutoencoder  # noqa: E402


@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(0).random((1000, 20)).astype(np.float32)
    model = Autoencoder(latent_dim=4, hidden=(16,), epochs=2, random_state=0).fit(X)
    detector = AnomalyDetector(Autoencoder(latent_dim=4, epochs=1, random_state=0)).fit(X)
    return X, model, detector


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def every_method(X, model, detector):
    return {"encode": (fd.encode(model, X), model.encode),
            "reconstruct": (fd.reconstruct(model, X), model.reconstruct),
            "reconstruction_error": (fd.reconstruction_error(model, X, metric="mae"),
                                     lambda A: model.reconstruction_error(A, metric="mae")),
            "anomaly_score": (fd.anomaly_score(detector, X), detector.anomaly_score),
            "predict": (fd.predict(detector, X), detector.predict)}


@pytest.mark.parametrize("chunks", [(128, 20), (300, 7), (1000, 20)])
def test_dask_arrays_give_the_in_memory_results(data, chunks):
    X, model, detector = data
    for name, (lazy, direct) in every_method(da.from_array(X, chunks=chunks), model, detector).items():
        assert isinstance(lazy, da.Array), name
        got = lazy.compute()
        assert got.dtype == direct(X).dtype and np.array_equal(got, direct(X)), name


def test_the_model_is_one_node_every_chunk_depends_on(data):
    X, model, _ = data
    codes = fd.encode(model, da.from_array(X, chunks=(100, 20)))
    graph = dict(codes.__dask_graph__())
    model_keys = {k for k in graph if str(k).startswith("Autoencoder-")}
    assert len(model_keys) == 1
    chunk_tasks = [v for k, v in graph.items() if isinstance(k, tuple) and k[0].startswith("_run_chunk")]
    assert len(chunk_tasks) == 10 and all(model_keys <= set(task.dependencies) for task in chunk_tasks)


def test_dask_dataframes_keep_the_index_and_the_names(data):
    X, _, _ = data
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(20)], index=np.arange(1000) * 3)
    model = Autoencoder(latent_dim=4, epochs=1, random_state=0).fit(frame)
    lazy = dd.from_pandas(frame, npartitions=4)
    codes = fd.encode(model, lazy).compute()
    assert list(codes.columns) == ["z0", "z1", "z2", "z3"] and codes.index.equals(frame.index)
    assert np.array_equal(codes.to_numpy(), model.encode(frame))
    rebuilt = fd.reconstruct(model, lazy).compute()
    assert list(rebuilt.columns) == list(frame.columns) and np.array_equal(rebuilt.to_numpy(), model.reconstruct(frame))
    errors = fd.reconstruction_error(model, lazy).compute()
    assert errors.name == "reconstruction_error" and np.array_equal(errors.to_numpy(), model.reconstruction_error(frame))


def test_a_vae_encodes_its_means(data):
    X, _, _ = data
    vae = VariationalAutoencoder(latent_dim=2, hidden=(8,), epochs=1, random_state=0).fit(X)
    assert np.array_equal(fd.encode(vae, da.from_array(X, chunks=(250, 20))).compute(), vae.encode(X))


def test_on_a_cluster_of_two_workers(data, client):
    X, model, detector = data
    for name, (lazy, direct) in every_method(da.from_array(X, chunks=(128, 20)), model, detector).items():
        assert np.array_equal(client.compute(lazy).result(), direct(X)), name
    # a worker with 1 thread of a 2-core machine shared with another worker runs each task on 1 thread
    assert client.submit(fd._task_threads, pure=False).result() == 1


def test_bad_input_names_the_argument(data):
    X, model, _ = data
    with pytest.raises(TypeError, match="dask.array or a dask.dataframe"):
        fd.encode(model, X)
    with pytest.raises(ValueError, match="features"):
        fd.encode(model, da.from_array(X[:, :5], chunks=(100, 5)))
    with pytest.raises(fastae.NotFittedError):
        fd.encode(Autoencoder(), da.from_array(X, chunks=(100, 20)))
    with pytest.raises(TypeError, match="model"):
        fd.encode("model", da.from_array(X, chunks=(100, 20)))
