"""Type stub of fastae._core, the C++ extension (private: use fastae.Autoencoder)."""

from typing import Any, Callable, Dict, List, Optional, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

build_info: Dict[str, Any]

class OptimizerConfig:
    kind: str  # sgd adagrad rmsprop adam adamw
    lr: float
    weight_decay: float
    momentum: float
    dampening: float
    nesterov: bool
    alpha: float
    centered: bool
    beta1: float
    beta2: float
    amsgrad: bool
    eps: float
    clip_value: float  # 0: off
    clip_norm: float  # 0: off
    def __init__(self) -> None: ...

class _Model:
    def __init__(self, sizes: List[int], activations: List[str], loss: str, optimizer: OptimizerConfig) -> None: ...
    @property
    def n_params(self) -> int: ...
    @property
    def params(self) -> npt.NDArray[Any]: ...  # writable view of W1, b1, W2, b2, ...
    @property
    def layers(self) -> List[Tuple[int, int, int, int, str]]: ...  # (in, out, weight offset, bias offset, activation)
    @property
    def loss(self) -> str: ...
    @property
    def optimizer(self) -> OptimizerConfig: ...
    optimizer_steps: int
    def set_optimizer(self, config: OptimizerConfig) -> None: ...
    def set_learning_rate(self, lr: float) -> None: ...
    def optimizer_slots(self) -> List[Tuple[str, npt.NDArray[Any]]]: ...
    def train_epoch(self, X: npt.NDArray[Any], batch_size: int, shuffle: bool, rng_state: int, n_threads: int,
                    rows: Optional[npt.NDArray[np.int64]] = None,
                    progress: Optional[Callable[[int, float], None]] = None,
                    hook_seconds: float = 0.1,
                    value_range: Optional[Tuple[float, float]] = None) -> Tuple[float, int]: ...
    def apply(self, X: npt.NDArray[Any], first: int, last: int, out: npt.NDArray[Any], n_threads: int) -> bool: ...
    def row_losses(self, X: npt.NDArray[Any], out: npt.NDArray[np.float64], n_threads: int) -> None: ...

class Model32(_Model): ...
class Model64(_Model): ...

class BadRowsError(ValueError): ...

def scan(X: Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]) -> Tuple[int, int, float, float]: ...
@overload
def data_address(X: npt.NDArray[np.float32]) -> int: ...
@overload
def data_address(X: npt.NDArray[np.float64]) -> int: ...
