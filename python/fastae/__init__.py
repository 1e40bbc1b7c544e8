"""fastae: dense autoencoders trained fast on the CPU (C++/Eigen/OpenMP core, scikit-learn-style API)."""

from . import _cpu
from ._platform import check_cpu

check_cpu(_cpu.required_isa(), _cpu.missing_isa())  # before _core, which may use instructions this CPU lacks

from ._core import build_info  # noqa: E402
from ._persistence import load  # noqa: E402
from ._validation import LatentWarning, NotFittedError  # noqa: E402
from . import callbacks, schedules  # noqa: E402
from .datasets import load_array, load_data, load_fashion_mnist, load_sample  # noqa: E402
from .autoencoder import Autoencoder  # noqa: E402
from .vae import VariationalAutoencoder  # noqa: E402
from .anomaly import AnomalyDetector  # noqa: E402
from .callbacks import CSVLogger, EarlyStopping, ModelCheckpoint  # noqa: E402
from .optim import SGD, Adagrad, Adam, AdamW, RMSprop  # noqa: E402
from .schedules import CosineAnnealing, ExponentialDecay, ReduceLROnPlateau, StepDecay  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Autoencoder", "VariationalAutoencoder", "AnomalyDetector", "load", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NotFittedError", "LatentWarning", "build_info",
           "EarlyStopping", "ModelCheckpoint", "CSVLogger", "StepDecay", "ExponentialDecay", "CosineAnnealing",
           "ReduceLROnPlateau", "callbacks", "schedules", "load_data", "load_fashion_mnist", "load_sample", "load_array",
           "__version__"]
