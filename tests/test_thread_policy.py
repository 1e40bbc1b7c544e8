"""The default thread policy (fastae/_threads.py): n_threads=None trains each epoch on the cores
other processes leave free, on fewer threads when the step is too small to pay for its barriers,
and on every core when the step is long enough to share them; a fixed n_threads is used as given."""

import subprocess
import sys
import time

import numpy as np
import pytest

import fastae._threads as policy
from fastae import Autoencoder

from conftest import make_data

TABULAR = (100, 64, 32, 64, 100)  # batch 32: 1.6M multiply-adds a step
TINY = (10, 4, 10)  # batch 32: 7.7k
WIDE = (784, 1024, 256, 1024, 784)  # batch 512: 3.3G
SHIPPED_BUSY_ELSEWHERE = policy.busy_elsewhere  # taken at import, before the autouse fixture replaces it


@pytest.fixture
def cores(monkeypatch):
    def set_machine(usable, busy):
        monkeypatch.setattr(policy, "usable_cores", lambda: usable)
        monkeypatch.setattr(policy, "busy_elsewhere", lambda: busy)
    return set_machine


@pytest.mark.parametrize("usable, busy, sizes, batch, team", [
    (2, 0, TABULAR, 32, 2),   # idle: every core
    (2, 1, TABULAR, 32, 1),   # one core taken: leave it
    (2, 2, TABULAR, 32, 1),   # both taken: still one thread
    (2, 5, TABULAR, 32, 1),
    (8, 3, TABULAR, 32, 2),   # 1.6M / 800k: two threads' worth of work
    (8, 0, TINY, 32, 1),      # too small a step for a second thread
    (8, 0, TINY, 1024, 8),    # 1024 rows: enough rows for 8
    (2, 2, WIDE, 512, 2),     # a long step shares the busy cores
    (8, 7, WIDE, 512, 8),
    (1, 0, WIDE, 512, 1),
])
def test_training_team(cores, usable, busy, sizes, batch, team):
    cores(usable, busy)
    assert policy.training_team(sizes, batch) == team


def test_busy_elsewhere_sees_a_busy_process():
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert SHIPPED_BUSY_ELSEWHERE() >= 1
    finally:
        loop.kill()
        loop.wait()


def test_this_process_running_threads_are_counted_while_it_trains():
    """While this process trains on 2 threads, its own running threads (the reader and at least one
    training thread) are counted, so that busy_elsewhere leaves them out."""
    import threading

    model = Autoencoder(latent_dim=64, hidden=(128,), n_threads=2, batch_size=256, random_state=0).build(784)
    X = make_data(20000, 784)
    training = threading.Thread(target=lambda: model.partial_fit(X))
    training.start()
    time.sleep(0.1)
    seen = policy._running_here()
    still_training = training.is_alive()
    training.join()
    assert still_training, "the epoch ended before the threads were counted; make it longer"
    assert seen >= 2


def test_busy_elsewhere_is_the_runnable_count_less_this_process(tmp_path, monkeypatch):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.50 0.40 0.30 5/250 1234\n")
    monkeypatch.setattr(policy, "LOADAVG", str(loadavg))
    monkeypatch.setattr(policy, "_running_here", lambda: 3)
    assert SHIPPED_BUSY_ELSEWHERE() == 2
    monkeypatch.setattr(policy, "_running_here", lambda: 7)
    assert SHIPPED_BUSY_ELSEWHERE() == 0  # never negative
    loadavg.write_text("garbage")
    assert SHIPPED_BUSY_ELSEWHERE() == 0  # unreadable: assume an idle machine


def test_fit_trains_each_epoch_on_the_policy_team(cores, monkeypatch):
    """n_threads=None asks the policy before every epoch; a fixed n_threads never asks it."""
    seen = []
    real = policy.training_team
    monkeypatch.setattr("fastae._driver.training_team", lambda sizes, rows: seen.append((tuple(sizes), rows)) or real(sizes, rows))
    X = make_data(50, 6)
    Autoencoder(latent_dim=2, hidden=(4,), epochs=3, batch_size=16, random_state=0).fit(X)
    assert seen == [((6, 4, 2, 4, 6), 16)] * 3
    seen.clear()
    Autoencoder(latent_dim=2, hidden=(4,), epochs=3, n_threads=2, random_state=0).fit(X)
    assert seen == []


def test_a_busy_machine_gives_the_one_thread_result(cores):
    """Under load the default trains exactly as n_threads=1 would (same bits), on an idle machine
    of 2 cores as n_threads=2 would: the default is reproducible only where the load is."""
    X = make_data(600, 100)
    params = dict(latent_dim=32, hidden=(64,), epochs=2, random_state=0)
    cores(2, 1)
    busy = Autoencoder(**params).fit(X).get_weights()
    cores(2, 0)
    idle = Autoencoder(**params).fit(X).get_weights()
    one = Autoencoder(n_threads=1, **params).fit(X).get_weights()
    two = Autoencoder(n_threads=2, **params).fit(X).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(busy, one))
    assert all(np.array_equal(a, b) for a, b in zip(idle, two))
