"""fastae's C++ core: the build of the kernels for the best instruction-set level that this CPU,
its OS and this build allow (or the one FASTAE_ISA asks for), chosen once at import. A portable
build carries fastae._core_baseline, _core_avx2 and _core_avx512 (x86-64), a native build
(FASTAE_NATIVE=ON) the one fastae._core_native; the rest of fastae uses this module only."""

from __future__ import annotations

import importlib
import os

from . import _cpu
from ._platform import choose_level

LEVEL = choose_level(_cpu.carried_levels(), _cpu.supported_levels(), os.environ.get("FASTAE_ISA"),
                     _cpu.level_needs, _cpu.has)
_module = importlib.import_module(f"{__package__}._core_{LEVEL}")
globals().update({name: value for name, value in vars(_module).items() if not name.startswith("__")})
build_info = dict(_module.build_info, isa_levels=_cpu.carried_levels(), isa_supported=_cpu.supported_levels())
