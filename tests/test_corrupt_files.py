"""The corrupt-file corpus (corrupt_corpus.py) under a 1 GiB address-space limit: every broken or
hostile model file and IDX file is refused with a ValueError (a byte flip that leaves a valid
file may load), memory stays bounded, and nothing else escapes."""

import json
import os
import subprocess
import sys

import pytest

from fastae import Autoencoder

from conftest import make_data

LIMIT = 1 << 30  # bytes of address space for the child; the bombs inflate to 1 GiB and more
if "libasan" in os.environ.get("LD_PRELOAD", ""):  # .ci/sanitize: ASan reserves its shadow memory up front
    LIMIT = 0  # no limit: the sanitizer checks the reads instead


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    valid = folder / "valid.fae"
    Autoencoder(latent_dim=3, hidden=(4,), epochs=2, random_state=0).fit(make_data(40, 6)).save(valid)
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([sys.executable, os.path.join(here, "corrupt_corpus.py"), str(valid), str(LIMIT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_corpus_is_large(outcomes):
    counts = {reader: sum(o["reader"] == reader for o in outcomes) for reader in ("load", "read_idx")}
    assert counts["load"] >= 300 and counts["read_idx"] >= 100, counts


def test_every_case_is_refused_with_a_value_error_or_loads(outcomes):
    escaped = [o for o in outcomes if o["outcome"] not in ("ValueError", "loaded")]
    assert not escaped, escaped[:10]


def test_nothing_built_to_be_broken_loads(outcomes):
    """A random byte flip may leave a loadable file (in a name, say); every other case is broken."""
    loaded = [o for o in outcomes if "flipped" not in o["case"] and o["outcome"] == "loaded"]
    assert not loaded, loaded[:10]
