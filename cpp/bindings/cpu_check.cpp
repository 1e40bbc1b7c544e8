// fastae._cpu: built for the baseline ISA, so it runs on any CPU and can tell, before _core is
// loaded, whether this CPU has the instructions _core was compiled for (FASTAE_NATIVE).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <sstream>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

std::vector<std::string> required_isa() {
  std::vector<std::string> out;
  std::stringstream list(FASTAE_REQUIRED_ISA);
  std::string item;
  while (std::getline(list, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool cpu_has(const std::string& isa) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (isa == "SSE4_2") return __builtin_cpu_supports("sse4.2");
  if (isa == "AVX") return __builtin_cpu_supports("avx");
  if (isa == "AVX2") return __builtin_cpu_supports("avx2");
  if (isa == "FMA") return __builtin_cpu_supports("fma");
  if (isa == "F16C") return __builtin_cpu_supports("f16c");
  if (isa == "BMI2") return __builtin_cpu_supports("bmi2");
  if (isa == "AVX512F") return __builtin_cpu_supports("avx512f");
  if (isa == "AVX512DQ") return __builtin_cpu_supports("avx512dq");
  if (isa == "AVX512BW") return __builtin_cpu_supports("avx512bw");
  if (isa == "AVX512VL") return __builtin_cpu_supports("avx512vl");
#endif
  (void)isa;
  return true;  // not an instruction set this check knows how to ask about
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "Checks that this CPU can run fastae._core";
  m.def("has", &cpu_has, py::arg("isa"), "Whether this CPU has an instruction set (SSE4_2, AVX, AVX2, FMA, ...)");
  m.def("required_isa", &required_isa, "Instruction sets fastae._core was compiled to use");
  m.def("missing_isa", [] {
    std::vector<std::string> missing;
    for (const auto& isa : required_isa())
      if (!cpu_has(isa)) missing.push_back(isa);
    return missing;
  }, "Required instruction sets this CPU lacks");
}
