"""Saves survive crashes and respect the system: atomic replace, fsync, no leftovers after a crash
that a later save does not clean up, the umask's permissions, symlinks written through, and
nothing but regular files replaced."""

import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import fastae
from fastae import Autoencoder

from conftest import make_data


@pytest.fixture
def model():
    return Autoencoder(latent_dim=3, epochs=1, random_state=0).fit(make_data(50, 8))


def test_kill_9_during_saves_never_corrupts_and_the_next_save_cleans_up(tmp_path):
    """A child saves a large model over and over; it is killed with SIGKILL at random moments.
    After each kill the file loads, and one more save leaves no temporary file behind."""
    path = tmp_path / "big.fae"
    script = (
        "import sys, numpy as np\n"
        "from fastae import Autoencoder\n"
        "m = Autoencoder(latent_dim=64, hidden=(512,), epochs=1, random_state=0).build(1000)\n"
        f"m.save({str(path)!r})\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        f"    m.save({str(path)!r})\n"
    )
    rng = np.random.default_rng(0)
    for trial in range(40):  # until a kill catches a save mid-write (here: 28 of 40 kills do)
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.4)))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert fastae.load(path).n_features_in_ == 1000
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "big.fae"]
        if leftovers and trial >= 2:
            break
    assert leftovers, "40 kills never caught a save mid-write"
    fastae.load(path).save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["big.fae"]


def test_a_live_saver_keeps_its_temporary_file(tmp_path, model):
    """Only files of processes that no longer run are removed: a concurrent save's is kept."""
    live = tmp_path / f".m.fae.fastae-{os.getppid()}-abcd.tmp"
    dead_pid = _a_dead_pid()
    dead = tmp_path / f".m.fae.fastae-{dead_pid}-abcd.tmp"
    other = tmp_path / f".other.fae.fastae-{dead_pid}-abcd.tmp"
    for p in (live, dead, other):
        p.write_bytes(b"partial")
    model.save(tmp_path / "m.fae")
    assert live.exists() and other.exists() and not dead.exists()


def _a_dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_new_files_get_the_umask_permissions_and_replaced_files_keep_theirs(tmp_path, model):
    old = os.umask(0o027)
    try:
        model.save(tmp_path / "m.fae")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.fae").st_mode) == 0o640
    os.chmod(tmp_path / "m.fae", 0o604)
    model.save(tmp_path / "m.fae")
    assert stat.S_IMODE(os.stat(tmp_path / "m.fae").st_mode) == 0o604


def test_a_symlink_is_written_through(tmp_path, model):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "real.fae"
    target.write_bytes(b"old")
    link = tmp_path / "link.fae"
    link.symlink_to(target)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert fastae.load(target).n_features_in_ == 8
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["real.fae"]


def test_anything_but_a_regular_file_is_refused(tmp_path, model):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        model.save(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(ValueError, match="is a folder"):
        model.save(tmp_path)
    if os.path.exists("/dev/null"):
        with pytest.raises(ValueError, match="not a regular file"):
            model.save("/dev/null")
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_the_file_and_its_folder_are_fsynced(tmp_path, model, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    model.save(tmp_path / "m.fae")
    assert synced == [False, True]  # the file before the rename, then the folder


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, model, monkeypatch):
    path = tmp_path / "m.fae"
    model.save(path)
    before = path.read_bytes()

    def failing_savez(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="No space left"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.fae"]
