// fastae._cpu: built for the baseline ISA, so it runs on any CPU. Before a core is loaded it says
// which instruction-set levels this CPU and its OS can run (CPUID for the instructions, XGETBV for
// the OS saving the vector registers they use), which levels this build carries, and, for a native
// build (FASTAE_NATIVE=ON), whether this CPU has the instructions its one core was compiled for.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define FASTAE_X86_CPUID 1
#endif

namespace py = pybind11;

namespace {

std::vector<std::string> split(const char* text) {
  std::vector<std::string> out;
  std::stringstream list(text);
  std::string item;
  while (std::getline(list, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> required_isa() { return split(FASTAE_REQUIRED_ISA); }

#ifdef FASTAE_X86_CPUID
struct Registers {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Registers cpuid(unsigned leaf, unsigned subleaf = 0) {
  Registers r;
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) return Registers{};
  return r;
}

bool bit(unsigned value, int at) { return (value >> at) & 1u; }

// XCR0: which register states the OS saves on a context switch (read only when OSXSAVE says XGETBV exists).
std::uint64_t xcr0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

// The instruction sets fastae asks about, from CPUID leaves 1, 7 and 0x80000001; the AVX and
// AVX-512 ones only when the OS saves the YMM (XCR0 bits 1-2) and ZMM/opmask (bits 5-7) states.
bool cpu_has(const std::string& isa) {
  const Registers one = cpuid(1), seven = cpuid(0).eax >= 7 ? cpuid(7, 0) : Registers{};
  const Registers ext = cpuid(0x80000000u).eax >= 0x80000001u ? cpuid(0x80000001u) : Registers{};
  const bool osxsave = bit(one.ecx, 27);
  const std::uint64_t xcr = osxsave ? xcr0() : 0;
  const bool ymm = (xcr & 0x6) == 0x6, zmm = ymm && (xcr & 0xE0) == 0xE0;
  if (isa == "SSE2") return bit(one.edx, 26);
  if (isa == "SSE4_2") return bit(one.ecx, 20);
  if (isa == "AVX") return ymm && bit(one.ecx, 28);
  if (isa == "FMA") return ymm && bit(one.ecx, 12);
  if (isa == "F16C") return ymm && bit(one.ecx, 29);
  if (isa == "MOVBE") return bit(one.ecx, 22);
  if (isa == "AVX2") return ymm && bit(seven.ebx, 5);
  if (isa == "BMI1") return bit(seven.ebx, 3);
  if (isa == "BMI2") return bit(seven.ebx, 8);
  if (isa == "LZCNT") return bit(ext.ecx, 5);
  if (isa == "AVX512F") return zmm && bit(seven.ebx, 16);
  if (isa == "AVX512DQ") return zmm && bit(seven.ebx, 17);
  if (isa == "AVX512CD") return zmm && bit(seven.ebx, 28);
  if (isa == "AVX512BW") return zmm && bit(seven.ebx, 30);
  if (isa == "AVX512VL") return zmm && bit(seven.ebx, 31);
  return true;  // not an instruction set this check knows how to ask about
}
#else
bool cpu_has(const std::string&) { return true; }  // not x86: the one core is built for the compiler's default target
#endif

// What each level needs: the x86-64 psABI's v3 (avx2) and v4 (avx512) feature sets.
const std::vector<std::pair<std::string, std::vector<std::string>>>& levels() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
      {"baseline", {}},
      {"avx2", {"AVX", "AVX2", "FMA", "F16C", "BMI1", "BMI2", "LZCNT", "MOVBE"}},
      {"avx512", {"AVX", "AVX2", "FMA", "F16C", "BMI1", "BMI2", "LZCNT", "MOVBE", "AVX512F", "AVX512BW", "AVX512CD",
                  "AVX512DQ", "AVX512VL"}},
  };
  return table;
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "What this CPU can run, and which of fastae's cores this build carries";
  m.def("has", &cpu_has, py::arg("isa"), "Whether this CPU (and its OS) has an instruction set (SSE4_2, AVX2, FMA, ...)");
  m.def("required_isa", &required_isa, "Instruction sets a native build's core was compiled to use (empty otherwise)");
  m.def("missing_isa", [] {
    std::vector<std::string> missing;
    for (const auto& isa : required_isa())
      if (!cpu_has(isa)) missing.push_back(isa);
    return missing;
  }, "Required instruction sets this CPU lacks");
  m.def("carried_levels", [] { return split(FASTAE_LEVELS); },
        "The cores this build carries, lowest first: baseline, avx2, avx512 (or native)");
  m.def("supported_levels", [] {
    std::vector<std::string> out;
    for (const auto& [level, needs] : levels()) {
#ifndef FASTAE_X86_CPUID
      if (level != "baseline") continue;  // the x86 levels mean nothing elsewhere
#endif
      bool ok = true;
      for (const auto& isa : needs) ok = ok && cpu_has(isa);
      if (ok) out.push_back(level);
    }
    return out;
  }, "The x86-64 levels this CPU and its OS run, lowest first");
  m.def("level_needs", [](const std::string& level) {
    for (const auto& [name, needs] : levels())
      if (name == level) return needs;
    return std::vector<std::string>{};
  }, py::arg("level"), "The instruction sets a level needs");
}
