// Input checks done in C++ (one pass, no temporary arrays, GIL released) and build facts.
#include <pybind11/pybind11.h>
#include <pybind11/eigen.h>

#include <cmath>
#include <limits>

#include "fastae/parallel.hpp"
#include "fastae/types.hpp"

namespace py = pybind11;
using namespace fastae;

namespace {

struct Scan {
  Index bad_row = -1;  // first row (then column) holding NaN or infinity, or -1
  Index bad_col = -1;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
};

template <class S>
Scan scan(const ConstRowRef<S>& x) {
  Scan s;
  for (Index r = 0; r < x.rows(); ++r) {
    const auto row = x.row(r).array();
    if (!row.isFinite().all()) {
      for (Index c = 0; c < x.cols(); ++c)
        if (!std::isfinite(static_cast<double>(x(r, c)))) {
          s.bad_row = r;
          s.bad_col = c;
          return s;
        }
    }
    if (x.cols() > 0) {
      s.min = std::min(s.min, static_cast<double>(row.minCoeff()));
      s.max = std::max(s.max, static_cast<double>(row.maxCoeff()));
    }
  }
  return s;
}

template <class S>
void bind_scan(py::module_& m) {
  m.def(
      "scan",
      [](const ConstRowRef<S>& x) {
        Scan s;
        {
          py::gil_scoped_release release;
          s = scan<S>(x);
        }
        return py::make_tuple(s.bad_row, s.bad_col, s.min, s.max);
      },
      py::arg("X").noconvert(),
      "(bad_row, bad_col, min, max): the first non-finite entry (-1, -1 if none) and the value range");
}

}  // namespace

void bind_checks(py::module_& m) {
  bind_scan<float>(m);
  bind_scan<double>(m);
  m.def("data_address", [](const ConstRowRef<float>& x) { return reinterpret_cast<std::uintptr_t>(x.data()); },
        py::arg("X").noconvert());
  m.def("data_address", [](const ConstRowRef<double>& x) { return reinterpret_cast<std::uintptr_t>(x.data()); },
        py::arg("X").noconvert(), "Address of the memory C++ sees for X (to prove that no copy was made)");
  py::dict info;
  info["openmp"] = have_openmp();
  info["required_isa"] = FASTAE_REQUIRED_ISA;
  info["simd"] = Eigen::SimdInstructionSetsInUse();
  info["eigen_version"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                          std::to_string(EIGEN_MINOR_VERSION);
  m.attr("build_info") = info;
}
