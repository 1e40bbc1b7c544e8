"""The build: the import-time CPU check, and what the extension reports about itself."""

import sys

import pytest

import fastae
from fastae import _cpu
from fastae._platform import check_cpu

CPUINFO_FLAGS = {"SSE4_2": "sse4_2", "AVX": "avx", "AVX2": "avx2", "FMA": "fma", "F16C": "f16c", "BMI2": "bmi2",
                 "AVX512F": "avx512f", "AVX512DQ": "avx512dq", "AVX512BW": "avx512bw", "AVX512VL": "avx512vl"}


def test_this_cpu_runs_this_build():
    assert _cpu.missing_isa() == []
    assert ",".join(_cpu.required_isa()) == fastae.build_info["required_isa"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_cpu_detection_agrees_with_proc_cpuinfo():
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), None)
    if flags is None:
        pytest.skip("/proc/cpuinfo has no x86 flags line on this CPU")
    for isa, flag in CPUINFO_FLAGS.items():
        assert _cpu.has(isa) == (flag in flags), isa


def test_missing_instructions_raise_a_clear_import_error():
    with pytest.raises(ImportError, match="this CPU lacks AVX512F.*FASTAE_NATIVE=OFF pip install"):
        check_cpu(["AVX2", "AVX512F"], ["AVX512F"])
    check_cpu(["AVX2"], [])  # nothing missing: no error


def test_build_info_reports_the_build():
    info = fastae.build_info
    assert set(info) == {"openmp", "required_isa", "simd", "eigen_version", "eigen_cache_sizes", "sgemm", "sgemm_tile"}
    assert info["eigen_version"].startswith("3.")
    if info["sgemm"]:  # the tile follows the instruction set the build targets
        wide_tile = "AVX512F" in info["required_isa"].split(",")
        assert info["sgemm_tile"] == ((12, 32) if wide_tile else (6, 16))
    else:
        assert info["sgemm_tile"] is None
