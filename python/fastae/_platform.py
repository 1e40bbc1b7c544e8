"""The import-time check that this CPU can run the instructions fastae._core was built for."""

from __future__ import annotations

from typing import Sequence


def check_cpu(required: Sequence[str], missing: Sequence[str]) -> None:
    """Raise ImportError, saying what is missing and how to rebuild, if ``missing`` is not empty."""
    if missing:
        raise ImportError(
            "fastae was built for its build machine's CPU (FASTAE_NATIVE=ON: "
            f"{', '.join(required)}), but this CPU lacks {', '.join(missing)}. Reinstall a portable build: "
            "FASTAE_NATIVE=OFF pip install --force-reinstall --no-cache-dir <fastae source or checkout>")
