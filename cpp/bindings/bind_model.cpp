// Binds Model32 / Model64: a network, its optimizer and its training loop, for one dtype.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/eigen.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "fastae/network.hpp"
#include "fastae/optimizer.hpp"
#include "fastae/trainer.hpp"

namespace py = pybind11;
using namespace fastae;

using Int64Ref = Eigen::Ref<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>>;

namespace {

template <class S>
struct Model {
  Network<S> network;
  std::unique_ptr<Optimizer<S>> optimizer;
  std::unique_ptr<Trainer<S>> trainer;

  Model(const std::vector<Index>& sizes, const std::vector<std::string>& activations, const std::string& loss,
        const OptimizerConfig& config, Index sampling_layer)
      : network(sizes, parse_activations(activations), loss_from_name(loss), sampling_layer) {
    set_optimizer(config);
  }

  void set_optimizer(const OptimizerConfig& config) {
    auto fresh = std::make_unique<Optimizer<S>>(config, network.n_params());
    if (trainer) trainer->set_optimizer(*fresh);
    else trainer = std::make_unique<Trainer<S>>(network, *fresh);
    optimizer = std::move(fresh);
  }

  static std::vector<Activation> parse_activations(const std::vector<std::string>& names) {
    std::vector<Activation> acts;
    for (const auto& name : names) acts.push_back(activation_from_name(name));
    return acts;
  }
};

// A NumPy view of n values at data, keeping `owner` alive while the view exists.
template <class S>
py::array_t<S> numpy_view(S* data, Index n, py::handle owner) {
  return py::array_t<S>({static_cast<py::ssize_t>(n)}, {static_cast<py::ssize_t>(sizeof(S))}, data, owner);
}

template <class S>
void bind_model_for(py::module_& m, const char* name) {
  using M = Model<S>;
  py::class_<M>(m, name)
      .def(py::init<const std::vector<Index>&, const std::vector<std::string>&, const std::string&, const OptimizerConfig&,
                    Index>(),
           py::arg("sizes"), py::arg("activations"), py::arg("loss"), py::arg("optimizer"), py::arg("sampling_layer") = -1,
           "sizes: the data's width between layers; sampling_layer = k: a VAE whose layer k outputs [mu | logvar] "
           "(2 sizes[k + 1] values) and whose layer k + 1 reads z = mu + exp(logvar / 2) eps")
      .def_property_readonly("n_params", [](const M& self) { return self.network.n_params(); })
      .def_property_readonly(
          "params", [](py::object self) {
            M& model = self.cast<M&>();
            return numpy_view<S>(model.network.params().data(), model.network.n_params(), self);
          },
          "The flat parameter vector (W1, b1, W2, b2, ...), a writable view")
      .def_property_readonly("layers",
                             [](const M& self) {
                               py::list out;
                               for (const auto& s : self.network.layers())
                                 out.append(py::make_tuple(s.in, s.out, s.weight_offset, s.bias_offset,
                                                           activation_name(s.activation)));
                               return out;
                             })
      .def_property_readonly("loss", [](const M& self) { return std::string(loss_name(self.network.loss())); })
      .def_property_readonly("optimizer", [](const M& self) { return self.optimizer->config(); })
      .def("set_optimizer", &M::set_optimizer, py::arg("config"), "Replace the optimizer; its state starts at zero")
      .def(
          "set_penalties",
          [](M& self, Index code_layer, double activity_l1, double sparsity_weight, double sparsity_target,
             double contractive) {
            Penalties p;
            p.code_layer = code_layer;
            p.activity_l1 = activity_l1;
            p.sparsity_weight = sparsity_weight;
            p.sparsity_target = sparsity_target;
            p.contractive = contractive;
            self.network.set_penalties(p);
          },
          py::arg("code_layer"), py::arg("activity_l1") = 0.0, py::arg("sparsity_weight") = 0.0,
          py::arg("sparsity_target") = 0.05, py::arg("contractive") = 0.0,
          "The penalties training adds to the loss: activity_l1 * mean over rows of sum |code|, and "
          "sparsity_weight * sum_j KL(sparsity_target || batch mean of code_j), and contractive * mean over rows of "
          "||d code / d X||_F^2 (a one-layer encoder)")
      .def("set_dropout", [](M& self, const std::vector<double>& rates) { self.network.set_dropout(rates); },
           py::arg("rates"), "The dropout rate on each layer's output in training (0: none; hidden layers only)")
      .def_property_readonly("dropout", [](const M& self) { return self.network.dropout(); })
      .def("set_tied", [](M& self, const std::vector<Index>& mirror) { self.network.set_tied(mirror); }, py::arg("mirror"),
           "mirror[d] = e: decoder layer d uses the transpose of encoder layer e's W in training (-1: its own W)")
      .def_property_readonly("last_penalty", [](const M& self) { return self.trainer->last_penalty(); },
                             "The penalties' part of the last epoch's objective (a VAE's: beta KL)")
      .def_property_readonly("last_kl", [](const M& self) { return self.trainer->last_kl(); },
                             "A VAE's mean KL term over the last epoch's rows")
      .def_property_readonly("last_sums", [](const M& self) { return self.trainer->last_sums(); },
                             "The last epoch's sums over this process's rows: [loss, its count, penalties, KL, rows]")
      .def("set_beta", [](M& self, double beta) { self.network.set_beta(beta); }, py::arg("beta"),
           "A VAE's KL weight for the coming epochs")
      .def("set_missing", [](M& self, const std::vector<double>& fill) { self.network.set_missing(fill); },
           py::arg("fill"),
           "Replace a NaN in input column j by fill[j] (data units) and leave NaN targets out of the loss (empty: NaN is an error)")
      .def("set_scaling",
           [](M& self, const std::vector<double>& in_shift, const std::vector<double>& in_scale,
              const std::vector<double>& out_shift, const std::vector<double>& out_scale, bool clip_target) {
             self.network.set_scaling(in_shift, in_scale, out_shift, out_scale, clip_target);
           },
           py::arg("in_shift"), py::arg("in_scale"), py::arg("out_shift"), py::arg("out_scale"),
           py::arg("clip_target") = false,
           "Scale inputs as (x - in_shift) / in_scale and targets likewise, in training and inference (empty: none)")
      .def("set_learning_rate", [](M& self, double lr) { self.optimizer->set_learning_rate(lr); }, py::arg("lr"))
      .def_property(
          "optimizer_steps", [](const M& self) { return self.optimizer->steps(); },
          [](M& self, std::int64_t steps) { self.optimizer->set_steps(steps); })
      .def("optimizer_slots",
           [](py::object self) {
             M& model = self.cast<M&>();
             py::list out;
             const auto names = optimizer_slot_names(model.optimizer->config());
             auto& slots = model.optimizer->slots();
             for (std::size_t i = 0; i < names.size(); ++i)
               out.append(py::make_tuple(names[i], numpy_view<S>(slots[i].data(), slots[i].size(), self)));
             return out;
           },
           "[(name, writable view)] of the optimizer's state buffers")
      .def(
          "train_epoch",
          [](M& self, const ConstRowRef<S>& x, std::optional<ConstRowRef<S>> target, Index batch_size, bool shuffle,
             std::uint64_t rng_state, int n_threads,
             std::optional<Eigen::Ref<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>>> rows,
             py::object progress, double hook_seconds, std::optional<std::pair<double, double>> value_range,
             const std::string& noise, double noise_level, std::uint64_t noise_seed, std::uint64_t epoch,
             std::optional<std::tuple<Int64Ref, Int64Ref, Int64Ref, Int64Ref>> steps, py::object reduce,
             py::object add) {
            // At a batch boundary, at most every hook_seconds: let Python handle signals (Ctrl-C
            // raises KeyboardInterrupt here) and report progress; an exception stops the epoch.
            BatchHook hook = [&progress](Index rows_done, double mean_loss) {
              py::gil_scoped_acquire gil;
              if (PyErr_CheckSignals() != 0) throw py::error_already_set();
              if (!progress.is_none()) progress(rows_done, mean_loss);
            };
            const std::int64_t* subset = rows ? rows->data() : nullptr;
            const Index n_subset = rows ? rows->size() : 0;
            const ValueRange range{value_range ? value_range->first : 0.0, value_range ? value_range->second : 0.0};
            const InputNoise input_noise{noise_from_name(noise), noise_level, noise_seed};
            DataParallel<S> parallel;  // data-parallel steps (fastae/_distributed.py), when given
            if (steps) {
              const auto& [local_rows, keys, step_ends, step_rows] = *steps;
              if (keys.size() != local_rows.size() || step_rows.size() != step_ends.size() || step_ends.size() == 0 ||
                  step_ends[step_ends.size() - 1] != local_rows.size() || reduce.is_none() || add.is_none())
                throw std::invalid_argument("steps: (rows, keys, step_ends, step_rows) of matching sizes, reduce and add");
              parallel = {local_rows.data(), keys.data(), step_ends.data(), step_rows.data(), step_ends.size(), {}};
              parallel.reduce = [&reduce](S* gradient, Index size, double status) {
                py::gil_scoped_acquire gil;
                py::capsule borrowed(gradient, [](void*) {});  // a view of the trainer's buffer, not a copy
                return reduce(py::array_t<S>(size, gradient, borrowed), status).template cast<double>();
              };
              parallel.add = [&add](double* values, Index size) {
                py::gil_scoped_acquire gil;
                py::capsule borrowed(values, [](void*) {});
                add(py::array_t<double>(size, values, borrowed));
              };
            }
            double loss;
            {
              py::gil_scoped_release release;
              const std::optional<ConstRowMap<S>> target_map =
                  target ? std::optional<ConstRowMap<S>>(as_map<S>(*target)) : std::nullopt;
              loss = self.trainer->train_epoch(as_map<S>(x), target_map ? &*target_map : nullptr, subset, n_subset, batch_size, shuffle, rng_state, n_threads,
                                               hook, hook_seconds, value_range ? &range : nullptr, input_noise, epoch,
                                               steps ? &parallel : nullptr);
            }
            return std::make_pair(loss, rng_state);
          },
          py::arg("X").noconvert(), py::arg("target").noconvert(), py::arg("batch_size"), py::arg("shuffle"),
          py::arg("rng_state"), py::arg("n_threads"),
          py::arg("rows") = py::none(), py::arg("progress") = py::none(), py::arg("hook_seconds") = 0.1,
          py::arg("value_range") = py::none(), py::arg("noise") = "none", py::arg("noise_level") = 0.0,
          py::arg("noise_seed") = 0, py::arg("epoch") = 0, py::arg("steps") = py::none(),
          py::arg("reduce") = py::none(), py::arg("add") = py::none(),
          "One epoch over X (or its rows `rows`), learning to produce target (None: X itself); returns (objective, "
          "next rng state). "
          "With noise ('gaussian', 'masking', 'salt_pepper'), each row gets the noise of (noise_seed, epoch, its "
          "index in X) as its input and stays clean as the target. "
          "progress(rows_done, mean_loss) is called at a batch boundary at most every hook_seconds. With "
          "value_range=(low, high), each batch's rows are checked as they are read: a NaN, an infinity or a value "
          "outside [low, high] stops the epoch before that batch's update and raises BadRowsError (a ValueError). "
          "Data-parallel: steps=(rows, keys, step_ends, step_rows) (int64 arrays: this process's rows of every global "
          "step in order, their global indices, where each step's rows end, each step's global batch size) and "
          "reduce(gradient_view, status) -> the largest status, which sums the gradient across processes in place, "
          "and add(float64 view), which sums it across the processes in place (a step's observed count with missing "
          "values, the code's means with the KL sparsity penalty); "
          "the objective is then this process's part (last_sums).")
      .def(
          "apply",
          [](const M& self, const ConstRowRef<S>& x, Index first, Index last, RowRef<S> out, int n_threads) {
            return self.network.apply(as_map<S>(x), first, last,
                                      RowMap<S>(out.data(), out.rows(), out.cols(), Eigen::OuterStride<>(out.outerStride())),
                                      n_threads);
          },
          py::arg("X").noconvert(), py::arg("first"), py::arg("last"), py::arg("out").noconvert(), py::arg("n_threads"),
          py::call_guard<py::gil_scoped_release>(),
          "out = layers [first, last) applied to X; returns True if X @ W of the first layer had a NaN or an "
          "infinity (as any NaN or infinity in X causes)")
      .def(
          "row_losses",
          [](const M& self, const ConstRowRef<S>& x, std::optional<ConstRowRef<S>> target, Eigen::Ref<Eigen::VectorXd> out,
             int n_threads, Index first, std::optional<std::string> metric, std::optional<RowRef<S>> per_feature,
             std::optional<Eigen::Ref<Eigen::VectorXd>> observed) {
            if (out.size() != x.rows()) throw std::invalid_argument("out: needs one entry per row of X");
            if (per_feature && (per_feature->rows() != x.rows() || per_feature->cols() != self.network.n_outputs() ||
                                per_feature->outerStride() != per_feature->cols()))
              throw std::invalid_argument("per_feature: needs a contiguous (rows of X, outputs) array");
            if (observed && observed->size() != x.rows()) throw std::invalid_argument("observed: needs one entry per row of X");
            const std::optional<Loss> measure = metric ? std::optional<Loss>(loss_from_name(*metric)) : std::nullopt;
            self.network.row_losses(as_map<S>(x), as_map<S>(target ? *target : x), out.data(), n_threads, first, measure,
                                    per_feature ? per_feature->data() : nullptr, observed ? observed->data() : nullptr);
          },
          py::arg("X").noconvert(), py::arg("target").noconvert(), py::arg("out").noconvert(), py::arg("n_threads"),
          py::arg("first") = 0, py::arg("metric") = py::none(), py::arg("per_feature").noconvert() = py::none(),
          py::arg("observed").noconvert() = py::none(), py::call_guard<py::gil_scoped_release>(),
          "out[i] = sum over the outputs of the loss of producing row i of target (None: X) from row i of X, the "
          "input of layer `first`; with missing values, over its observed entries, counted into `observed`");
}

}  // namespace

void bind_model(py::module_& m) {
  py::register_exception<BadRows>(m, "BadRowsError", PyExc_ValueError);
  py::register_exception<StoppedElsewhere>(m, "StoppedElsewhereError", PyExc_RuntimeError);
  py::class_<OptimizerConfig>(m, "OptimizerConfig")
      .def(py::init<>())
      .def_property(
          "kind", [](const OptimizerConfig& c) { return std::string(optimizer_name(c.kind)); },
          [](OptimizerConfig& c, const std::string& name) { c.kind = optimizer_from_name(name); })
      .def_readwrite("lr", &OptimizerConfig::lr)
      .def_readwrite("weight_decay", &OptimizerConfig::weight_decay)
      .def_readwrite("momentum", &OptimizerConfig::momentum)
      .def_readwrite("dampening", &OptimizerConfig::dampening)
      .def_readwrite("nesterov", &OptimizerConfig::nesterov)
      .def_readwrite("alpha", &OptimizerConfig::alpha)
      .def_readwrite("centered", &OptimizerConfig::centered)
      .def_readwrite("beta1", &OptimizerConfig::beta1)
      .def_readwrite("beta2", &OptimizerConfig::beta2)
      .def_readwrite("amsgrad", &OptimizerConfig::amsgrad)
      .def_readwrite("eps", &OptimizerConfig::eps)
      .def_readwrite("clip_value", &OptimizerConfig::clip_value)
      .def_readwrite("clip_norm", &OptimizerConfig::clip_norm);
  bind_model_for<float>(m, "Model32");
  bind_model_for<double>(m, "Model64");
}
