"""fastae: dense autoencoders trained fast on the CPU (C++/Eigen/OpenMP core, scikit-learn-style API)."""

from . import _cpu

_missing = _cpu.missing_isa()
if _missing:
    raise ImportError(
        "fastae was built for this machine's build host CPU (FASTAE_NATIVE=ON), which had "
        f"{', '.join(_cpu.required_isa())}; this CPU lacks {', '.join(_missing)}. Reinstall a portable build: "
        "FASTAE_NATIVE=OFF pip install --force-reinstall --no-binary fastae fastae  (or, from a checkout: "
        "FASTAE_NATIVE=OFF pip install .)")

from ._core import build_info  # noqa: E402
from ._persistence import load  # noqa: E402
from ._validation import NotFittedError  # noqa: E402
from .autoencoder import Autoencoder  # noqa: E402
from .optim import SGD, Adagrad, Adam, AdamW, RMSprop  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Autoencoder", "load", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NotFittedError", "build_info",
           "__version__"]
