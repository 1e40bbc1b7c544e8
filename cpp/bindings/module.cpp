// fastae._core_<level>: the private extension, one per instruction-set level the build carries
// (FASTAE_CORE_MODULE names it; fastae/_core.py imports the one this CPU runs). The user-facing API
// is Python (fastae.autoencoder).
#include <pybind11/pybind11.h>

#include "fastae/tuning.hpp"

namespace py = pybind11;

void bind_model(py::module_& m);
void bind_checks(py::module_& m);

#ifndef FASTAE_CORE_MODULE
#define FASTAE_CORE_MODULE _core_native
#endif

PYBIND11_MODULE(FASTAE_CORE_MODULE, m) {
  m.doc() = "fastae's C++ kernels (private; use fastae.Autoencoder)";
  fastae::tune_eigen_blocking();
  bind_model(m);
  bind_checks(m);
}
