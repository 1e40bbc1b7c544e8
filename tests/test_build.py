"""The build: the import-time CPU check, the choice of core, and what the extension reports about itself."""

import re
import sys

import pytest

import fastae
from fastae import _cpu
from fastae._platform import check_cpu, choose_level

CPUINFO_FLAGS = {"SSE4_2": "sse4_2", "AVX": "avx", "AVX2": "avx2", "FMA": "fma", "F16C": "f16c", "BMI2": "bmi2",
                 "AVX512F": "avx512f", "AVX512DQ": "avx512dq", "AVX512BW": "avx512bw", "AVX512VL": "avx512vl",
                 "BMI1": "bmi1", "LZCNT": "abm", "MOVBE": "movbe", "AVX512CD": "avx512cd", "SSE2": "sse2"}


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
    assert set(info) == {"openmp", "required_isa", "simd", "eigen_version", "eigen_cache_sizes", "sgemm", "sgemm_tile",
                         "isa_level", "isa_levels", "isa_supported"}
    assert info["eigen_version"].startswith("3.")
    assert info["isa_level"] in info["isa_levels"] and info["isa_levels"] == _cpu.carried_levels()
    if info["sgemm"]:  # the tile follows the instruction set the core targets
        wide_tile = info["isa_level"] == "avx512" or "AVX512F" in info["required_isa"].split(",")
        assert info["sgemm_tile"] == ((12, 32) if wide_tile else (6, 16))
    else:
        assert info["sgemm_tile"] is None
        assert info["isa_level"] == "baseline"


def test_the_best_level_both_carry_and_run_is_chosen():
    has = {"AVX2": True, "AVX512F": False}.get
    needs = {"baseline": [], "avx2": ["AVX2"], "avx512": ["AVX2", "AVX512F"]}.get
    carried = ["baseline", "avx2", "avx512"]
    assert choose_level(carried, ["baseline", "avx2", "avx512"], None, needs, has) == "avx512"
    assert choose_level(carried, ["baseline", "avx2"], None, needs, has) == "avx2"
    assert choose_level(["baseline"], ["baseline", "avx2"], None, needs, has) == "baseline"
    assert choose_level(carried, ["baseline", "avx2", "avx512"], "baseline", needs, has) == "baseline"
    assert choose_level(["native"], ["baseline"], None, needs, has) == "native"


@pytest.mark.parametrize("carried, supported, forced, words", [
    (["baseline", "avx2", "avx512"], ["baseline", "avx2"], "avx512", "FASTAE_ISA=avx512: this CPU (or its OS) lacks AVX512F"),
    (["baseline", "avx2", "avx512"], ["baseline", "avx2"], "sse9", "expected one of baseline, avx2, avx512"),
    (["baseline"], ["baseline", "avx2"], "avx2", "this build carries only baseline"),
    (["native"], ["baseline", "avx2"], "avx2", "native build"),
    (["avx512"], ["baseline"], None, "this CPU runs none of them"),
])
def test_a_level_that_cannot_run_is_a_clear_import_error(carried, supported, forced, words):
    has = {"AVX2": True, "AVX512F": False}.get
    needs = {"baseline": [], "avx2": ["AVX2"], "avx512": ["AVX2", "AVX512F"]}.get
    with pytest.raises(ImportError, match=re.escape(words)):
        choose_level(carried, supported, forced, needs, has)


def test_supported_levels_follow_the_cpu_flags():
    supported = _cpu.supported_levels()
    assert supported[0] == "baseline"
    for level in ("avx2", "avx512"):
        assert (level in supported) == all(_cpu.has(isa) for isa in _cpu.level_needs(level)), level
