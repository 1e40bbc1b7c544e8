// fastae._core: the private extension. The user-facing API is Python (fastae.autoencoder).
#include <pybind11/pybind11.h>

#include "fastae/tuning.hpp"

namespace py = pybind11;

void bind_model(py::module_& m);
void bind_checks(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastae's C++ kernels (private; use fastae.Autoencoder)";
  fastae::tune_eigen_blocking();
  bind_model(m);
  bind_checks(m);
}
