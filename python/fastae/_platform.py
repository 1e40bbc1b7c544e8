"""The import-time checks: which of the build's cores this CPU runs (FASTAE_ISA may ask for a
lower one), and, for a native build, that this CPU has the instructions its core was built for."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

LEVELS = ("baseline", "avx2", "avx512")  # lowest first


def check_cpu(required: Sequence[str], missing: Sequence[str]) -> None:
    """Raise ImportError, saying what is missing and how to rebuild, if ``missing`` is not empty."""
    if missing:
        raise ImportError(
            "fastae was built for its build machine's CPU (FASTAE_NATIVE=ON: "
            f"{', '.join(required)}), but this CPU lacks {', '.join(missing)}. Reinstall a portable build: "
            "FASTAE_NATIVE=OFF pip install --force-reinstall --no-cache-dir <fastae source or checkout>")


def choose_level(carried: Sequence[str], supported: Sequence[str], forced: Optional[str],
                 needs: Callable[[str], Sequence[str]], has: Callable[[str], bool]) -> str:
    """The core to load: the highest level the build carries and the CPU runs, or `forced`
    (FASTAE_ISA), which must be one of both."""
    if list(carried) == ["native"]:
        if forced:
            raise ImportError(f"FASTAE_ISA={forced}: this fastae is a native build (FASTAE_NATIVE=ON) with one core "
                              "for its build machine; unset FASTAE_ISA, or install the portable build")
        return "native"
    if forced:
        if forced not in LEVELS:
            raise ImportError(f"FASTAE_ISA={forced!r}: expected one of {', '.join(LEVELS)}")
        if forced not in supported:
            lacks = [isa for isa in needs(forced) if not has(isa)]
            raise ImportError(f"FASTAE_ISA={forced}: this CPU (or its OS) lacks {', '.join(lacks) or 'it'}; "
                              f"it runs {', '.join(supported)}")
        if forced not in carried:
            raise ImportError(f"FASTAE_ISA={forced}: this build carries only {', '.join(carried)}")
        return forced
    runnable = [level for level in carried if level in supported]
    if not runnable:
        raise ImportError(f"fastae carries the cores {', '.join(carried)}, and this CPU runs none of them")
    return runnable[-1]
