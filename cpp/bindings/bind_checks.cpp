// Input checks done in C++ (one pass, no temporary arrays, GIL released), build facts, and the
// plain Eigen product the benchmarks use to measure this build's GEMM speed.
#include <pybind11/pybind11.h>
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "fastae/counter_rng.hpp"
#include "fastae/dense.hpp"
#include "fastae/input_noise.hpp"
#include "fastae/loss.hpp"
#include "fastae/parallel.hpp"
#include "fastae/shuffle.hpp"
#include "fastae/types.hpp"

namespace py = pybind11;
using namespace fastae;

namespace {

struct Scan {
  Index bad_row = -1;  // first row (then column) holding NaN or infinity (with allow_nan: infinity), or -1
  Index bad_col = -1;
  double min = std::numeric_limits<double>::infinity();  // over the values (with allow_nan: the observed ones)
  double max = -std::numeric_limits<double>::infinity();
  Index empty_row = -1;  // with allow_nan: the first row whose every value is NaN, or -1
};

// One pass over each row: whether it is finite (row_is_finite), then min and max from the same
// row while it is in cache. Rows are split across threads; the parts are combined in thread order.
// With allow_nan (missing values), NaN is not bad: a row holding one is read again for infinity,
// its observed range and whether it has anything observed.
template <class S>
Scan scan(const ConstRowRef<S>& x, int n_threads, bool allow_nan) {
  constexpr Index kRowsPerThread = 4096;  // a smaller share does not pay for starting a thread
  std::vector<Scan> parts(static_cast<std::size_t>(team_size(n_threads, x.rows(), kRowsPerThread)));
  run_threads(static_cast<int>(parts.size()), [&](int t, int count) {
    Index lo, hi;
    split_range(x.rows(), t, count, lo, hi);
    Scan& s = parts[static_cast<std::size_t>(t)];
    for (Index r = lo; r < hi; ++r) {
      const auto row = x.row(r).array();
      if (!row_is_finite(row)) {
        for (Index c = 0; c < x.cols(); ++c)
          if (allow_nan ? std::isinf(static_cast<double>(x(r, c))) : !std::isfinite(static_cast<double>(x(r, c)))) {
            s.bad_row = r;
            s.bad_col = c;
            return;
          }
        const auto observed = row == row;  // every non-finite value left is NaN: missing
        if (!observed.any()) {
          if (s.empty_row < 0) s.empty_row = r;
          continue;
        }
        s.min = std::min(s.min, static_cast<double>(observed.select(row, std::numeric_limits<S>::infinity()).minCoeff()));
        s.max = std::max(s.max, static_cast<double>(observed.select(row, -std::numeric_limits<S>::infinity()).maxCoeff()));
        continue;
      }
      s.min = std::min(s.min, static_cast<double>(row.minCoeff()));
      s.max = std::max(s.max, static_cast<double>(row.maxCoeff()));
    }
  });
  Scan all;
  for (const Scan& s : parts) {
    if (s.bad_row >= 0) return s;  // the first part (lowest rows) with a bad value
    all.min = std::min(all.min, s.min);
    all.max = std::max(all.max, s.max);
    if (all.empty_row < 0) all.empty_row = s.empty_row;
  }
  return all;
}

// out = op(a) op(b) with fastae's product ('auto': as training does), Eigen's or sgemm's, the rows
// of out split across threads, each thread one product on its rows.
void matmul(const ConstRowRef<float>& a, const ConstRowRef<float>& b, RowRef<float> out, int n_threads,
            bool transpose_a, bool transpose_b, const std::string& kernel) {
  static const std::map<std::string, Kernel> kernels{{"auto", Kernel::Auto}, {"eigen", Kernel::Eigen}, {"sgemm", Kernel::Sgemm},
                                              {"direct", Kernel::SgemmDirect}, {"packed", Kernel::SgemmPacked}};
  const auto found = kernels.find(kernel);
  if (found == kernels.end()) throw std::invalid_argument("kernel: 'auto', 'eigen', 'sgemm', 'direct' or 'packed'");
  const Kernel choice = found->second;
  const Index m = transpose_a ? a.cols() : a.rows(), k = transpose_a ? a.rows() : a.cols();
  const Index kb = transpose_b ? b.cols() : b.rows(), n = transpose_b ? b.rows() : b.cols();
  if (k != kb || out.rows() != m || out.cols() != n) throw std::invalid_argument("matmul: shapes do not match");
  const ConstRowMap<float> A = as_map<float>(a), B = as_map<float>(b);
  run_threads(team_size(n_threads, m), [&](int t, int count) {
    Index lo, hi;
    split_range(m, t, count, lo, hi);
    RowMap<float> rows(out.data() + lo * out.outerStride(), hi - lo, n, Eigen::OuterStride<>(out.outerStride()));
    if (transpose_a) {  // rows lo..hi of a^T are columns lo..hi of a
      const ConstRowMap<float> part(A.data() + lo, A.rows(), hi - lo, Eigen::OuterStride<>(A.outerStride()));
      product<float>(part, true, B, transpose_b, rows, choice);
    } else {
      product<float>(middle_rows(A, lo, hi - lo), false, B, transpose_b, rows, choice);
    }
  });
}

template <class S>
void bind_scan(py::module_& m) {
  m.def(
      "scan",
      [](const ConstRowRef<S>& x, int n_threads) {
        Scan s;
        {
          py::gil_scoped_release release;
          s = scan<S>(x, n_threads, false);
        }
        return py::make_tuple(s.bad_row, s.bad_col, s.min, s.max);
      },
      py::arg("X").noconvert(), py::arg("n_threads") = 1,
      "(bad_row, bad_col, min, max): the first non-finite entry (-1, -1 if none) and the value range");
  m.def(
      "scan_observed",
      [](const ConstRowRef<S>& x, int n_threads) {
        Scan s;
        {
          py::gil_scoped_release release;
          s = scan<S>(x, n_threads, true);
        }
        return py::make_tuple(s.bad_row, s.bad_col, s.min, s.max, s.empty_row);
      },
      py::arg("X").noconvert(), py::arg("n_threads") = 1,
      "scan for data with missing values (NaN): (bad_row, bad_col, min, max, empty_row): the first infinite "
      "entry (-1, -1 if none), the range of the observed values and the first row with nothing observed (-1 if none)");
}

// The output head on its own, for tests: (elementwise loss, dL/dz) for the pre-activations z of an
// output layer with activation `out_act`, targets y and inv_count 1.
template <class S>
py::tuple output_head(const std::string& loss, const std::string& out_act, const ConstRowRef<S>& z,
                      const ConstRowRef<S>& y) {
  if (z.rows() != y.rows() || z.cols() != y.cols()) throw std::invalid_argument("output_head: z and y differ in shape");
  const Index rows = z.rows(), cols = z.cols();
  RowMatrix<S> zs = z, elementwise(rows, cols), dz(rows, cols);
  std::vector<double> row_loss(static_cast<std::size_t>(rows));
  RowMap<S> dz_map = rows_of(dz.data(), 0, rows, cols);
  output_loss<S>(loss_from_name(loss), activation_from_name(out_act), rows_of(zs.data(), 0, rows, cols), as_map<S>(y),
                 row_loss.data(), &dz_map, rows_of(elementwise.data(), 0, rows, cols), S(1));
  return py::make_tuple(elementwise, dz);
}

// Counter-based draws on their own, for tests: row i of the result is the first n_cols values of
// original row rows[i] of `stage` in `epoch`, as raw bits (uint64), uniforms or normals (float64).
py::array counter_draws(std::uint64_t seed, std::uint64_t epoch, const std::vector<std::uint64_t>& rows,
                        std::uint64_t stage, Index n_cols, const std::string& kind) {
  if (kind != "bits" && kind != "uniform" && kind != "normal")
    throw std::invalid_argument("counter_draws: kind must be 'bits', 'uniform' or 'normal'");
  const auto n_rows = static_cast<Index>(rows.size());
  const auto key = [&](Index i) { return counter_key(seed, epoch, rows[static_cast<std::size_t>(i)], stage); };
  if (kind == "bits") {
    py::array_t<std::uint64_t> bits({n_rows, n_cols});
    auto b = bits.mutable_unchecked<2>();
    for (Index i = 0; i < n_rows; ++i) {
      const std::uint64_t k = key(i);
      for (Index c = 0; c < n_cols; ++c) b(i, c) = counter_bits(k, static_cast<std::uint64_t>(c));
    }
    return std::move(bits);
  }
  py::array_t<double> values({n_rows, n_cols});
  auto v = values.mutable_unchecked<2>();
  const bool normal = kind == "normal";
  for (Index i = 0; i < n_rows && n_cols > 0; ++i) {
    const std::uint64_t k = key(i);
    if (normal) {
      counter_normals(k, 0, n_cols, v.mutable_data(i, 0));  // a row of the array is contiguous
    } else {
      for (Index c = 0; c < n_cols; ++c) v(i, c) = bits_to_uniform(counter_bits(k, static_cast<std::uint64_t>(c)));
    }
  }
  return std::move(values);
}

// The input noise on its own, for tests: row i of x with the noise of original row rows[i] in `epoch`.
template <class S>
RowMatrix<S> noisy_rows(const std::string& kind, double level, std::uint64_t seed, std::uint64_t epoch,
                        const std::vector<std::uint64_t>& rows, const ConstRowRef<S>& x) {
  if (static_cast<Index>(rows.size()) != x.rows()) throw std::invalid_argument("noisy_rows: one index per row of x");
  RowMatrix<S> out = x;
  const InputNoise noise{noise_from_name(kind), level, seed};
  for (Index r = 0; r < out.rows(); ++r) add_noise<S>(noise, epoch, rows[static_cast<std::size_t>(r)], out.row(r).data(), out.cols());
  return out;
}

}  // namespace

void bind_checks(py::module_& m) {
  m.def(
      "shuffled_order",
      [](std::int64_t n, std::uint64_t state) {
        if (n < 0) throw std::invalid_argument("n: must be >= 0");
        std::vector<std::int64_t> order(static_cast<std::size_t>(n));
        std::iota(order.begin(), order.end(), std::int64_t{0});
        shuffle_in_place(order, state);
        return std::make_pair(py::array_t<std::int64_t>(static_cast<py::ssize_t>(n), order.data()), state);
      },
      py::arg("n"), py::arg("state"),
      "(the order of rows 0..n-1 that train_epoch's shuffle gives from rng state `state`, the next state)");
  m.def("_noisy_rows", &noisy_rows<float>, py::arg("kind"), py::arg("level"), py::arg("seed"), py::arg("epoch"),
        py::arg("rows"), py::arg("X").noconvert());
  m.def("_noisy_rows", &noisy_rows<double>, py::arg("kind"), py::arg("level"), py::arg("seed"), py::arg("epoch"),
        py::arg("rows"), py::arg("X").noconvert(), "X with the input noise of original rows `rows` in `epoch` (tests)");
  m.def("_counter_draws", &counter_draws, py::arg("seed"), py::arg("epoch"), py::arg("rows"), py::arg("stage"),
        py::arg("n_cols"), py::arg("kind") = "bits",
        "Counter-based random values of original rows `rows` of one stage in one epoch (tests)");
  m.def("_output_head", &output_head<float>, py::arg("loss"), py::arg("output_activation"), py::arg("z").noconvert(),
        py::arg("y").noconvert());
  m.def("_output_head", &output_head<double>, py::arg("loss"), py::arg("output_activation"), py::arg("z").noconvert(),
        py::arg("y").noconvert(), "(elementwise loss, dL/dz) of the output head for pre-activations z and targets y (tests)");
  bind_scan<float>(m);
  bind_scan<double>(m);
  m.def("data_address", [](const ConstRowRef<float>& x) { return reinterpret_cast<std::uintptr_t>(x.data()); },
        py::arg("X").noconvert());
  m.def("data_address", [](const ConstRowRef<double>& x) { return reinterpret_cast<std::uintptr_t>(x.data()); },
        py::arg("X").noconvert(), "Address of the memory C++ sees for X (to prove that no copy was made)");
  m.def("matmul", &matmul, py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("out").noconvert(),
        py::arg("n_threads") = 1, py::arg("transpose_a") = false, py::arg("transpose_b") = false,
        py::arg("kernel") = "auto", py::call_guard<py::gil_scoped_release>(),
        "out = op(a) @ op(b) in float32: kernel 'auto' (as training chooses), 'eigen', 'sgemm' (its own choice of path), "
        "or sgemm's 'direct' or 'packed' path");
  m.def("_detected_cache_sizes", [] {
    int l1 = 0, l2 = 0, l3 = 0;
    Eigen::internal::queryCacheSizes(l1, l2, l3);
    return py::make_tuple(l1, l2, l3);
  }, "The (L1, L2, L3) sizes Eigen detects on this CPU");
  m.def("_set_cache_sizes", [](std::ptrdiff_t l1, std::ptrdiff_t l2, std::ptrdiff_t l3) { Eigen::setCpuCacheSizes(l1, l2, l3); },
        "Set the cache sizes Eigen's GEMM blocking uses (benchmarks only)");
  py::dict info;
#ifdef FASTAE_HAVE_SGEMM
  info["sgemm"] = true;
  info["sgemm_tile"] = py::make_tuple(sgemm_detail::MR, sgemm_detail::NR);  // 6x16 with AVX2, 12x32 with AVX-512
#else
  info["sgemm"] = false;
  info["sgemm_tile"] = py::none();
#endif
  info["openmp"] = have_openmp();
  info["required_isa"] = FASTAE_REQUIRED_ISA;
  info["isa_level"] = FASTAE_ISA_LEVEL;  // the level this core was compiled for: baseline, avx2, avx512 or native
  info["simd"] = Eigen::SimdInstructionSetsInUse();
  info["eigen_cache_sizes"] = py::make_tuple(Eigen::l1CacheSize(), Eigen::l2CacheSize(), Eigen::l3CacheSize());
  info["eigen_version"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                          std::to_string(EIGEN_MINOR_VERSION);
  m.attr("build_info") = info;
}
