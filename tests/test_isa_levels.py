"""Every core this build carries and this CPU runs, each in its own process (FASTAE_ISA): the
parity grid against the NumPy reference, the GEMM and output-head checks and the PyTorch
comparison pass under each; a level is bitwise reproducible; levels agree to rounding."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastae
from fastae import _cpu

ROOT = Path(__file__).resolve().parent.parent
RUNNABLE = [level for level in _cpu.carried_levels() if level in _cpu.supported_levels() or level == "native"]
OTHERS = [level for level in RUNNABLE if level != fastae.build_info["isa_level"]]  # the default is the suite itself
CHECKS = ["tests/test_parity.py", "tests/test_gemm.py", "tests/test_output_head.py", "tests/test_torch.py",
          "tests/test_vae_torch.py", "tests/test_missing.py"]

TRAIN = """
import sys, numpy as np, fastae
X = np.random.default_rng(0).random((300, 40)).astype(np.float32)
weights = []
for threads in (1, 2):
    model = fastae.Autoencoder(latent_dim=5, hidden=(64,), epochs=3, batch_size=32, random_state=0,
                               n_threads=threads).fit(X)
    weights += model.get_weights()
np.savez(sys.argv[1], level=fastae.build_info["isa_level"], *weights)
"""


def at_level(level, *args, **kwargs):
    """Run a command in a process whose fastae loads the core of `level` (a native build's only one)."""
    env = {k: v for k, v in os.environ.items() if k != "FASTAE_ISA"}
    if level != "native":
        env["FASTAE_ISA"] = level
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, **kwargs)


@pytest.mark.skipif(not OTHERS, reason="this build has one core this CPU runs: the suite itself tests it")
@pytest.mark.parametrize("level", OTHERS)
def test_the_kernel_checks_pass_at_every_other_level(level):
    ran = at_level(level, sys.executable, "-c", "import fastae; print(fastae.build_info['isa_level'])")
    assert ran.stdout.strip() == level, ran.stderr
    result = at_level(level, sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *CHECKS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_levels_are_reproducible_and_agree_to_rounding(tmp_path):
    runs = {}
    for level in RUNNABLE:
        for repeat in (0, 1):
            path = tmp_path / f"{level}-{repeat}.npz"
            result = at_level(level, sys.executable, "-c", TRAIN, str(path))
            assert result.returncode == 0, result.stderr
            with np.load(path) as stored:
                assert str(stored["level"]) == level
                runs[level, repeat] = [stored[f"arr_{i}"] for i in range(len(stored.files) - 1)]
    for level in RUNNABLE:  # the same level, the same (seed, n_threads, batch size): bitwise the same
        assert all(np.array_equal(a, b) for a, b in zip(runs[level, 0], runs[level, 1])), level
    first = runs[RUNNABLE[0], 0]
    for level in RUNNABLE[1:]:  # another level: the same up to float32 rounding
        for a, b in zip(first, runs[level, 0]):
            assert np.linalg.norm(a - b) <= 1e-4 * max(np.linalg.norm(a), 1e-6), level
