// Adam (Kingma & Ba) with optional decoupled weight decay (AdamW, Loshchilov & Hutter), written
// out so that its state is plain named tensors: one optimizer for the PPO learner and for member
// pretraining.
//
//   rlae::Adam opt(params, {/*beta1=*/0.9, /*beta2=*/0.999, /*eps=*/1e-8});
//   opt.zero_grad();
//   loss.backward();
//   const double norm = opt.clip_grad_norm(1.0, GradNorm::sum_of_squares);
//   opt.step(lr);
//
// One step, for every parameter p with a gradient g (t = step count after the increment,
// bc1 = 1 - beta1^t, bc2 = 1 - beta2^t), in this order (what the checkpoints of both trainers
// were written with; the order is part of the numbers):
//   p *= 1 - lr * weight_decay                      (only if weight_decay > 0 and p decays)
//   m = m * beta1 + (1 - beta1) * g
//   v = v * beta2 + (1 - beta2) * g * g
//   p += -lr / bc1 * m / (sqrt(v / bc2) + eps)
//
// State: the step count and, per parameter, m and v. moments("adam.") names them
// "adam.m.<key>" and "adam.v.<key>", key = the parameter's name or, for unnamed parameters,
// its index.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace rlae {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // decoupled (AdamW); only on parameters marked to decay
};

// How clip_grad_norm computes the global gradient norm. Both are the 2-norm of all gradients;
// they round differently, and each trainer keeps the one its results were produced with.
enum class GradNorm {
  sum_of_squares,   // sqrt(sum over tensors of sum(g^2), accumulated as double on the host)  (PPO)
  norm_of_norms,    // the float 2-norm of the stacked per-tensor float 2-norms               (pretraining)
};

class Adam {
 public:
  // `names`: empty (keys are indices) or one per parameter. `decay`: empty (no parameter
  // decays) or one flag per parameter.
  Adam(std::vector<at::Tensor> params, const AdamOptions& options, std::vector<std::string> names = {},
       std::vector<bool> decay = {});

  void zero_grad();
  // Scales the gradients to a global norm of at most max_norm (max_norm <= 0: no clipping,
  // scale max_norm / (norm + 1e-6)); returns the norm before clipping (0 without gradients).
  double clip_grad_norm(double max_norm, GradNorm how);
  // One update at learning rate `lr` (the formula above); parameters without a gradient are
  // left alone (their moments too) but the step count advances once for all.
  void step(double lr);

  int64_t step_count() const { return step_; }
  void set_step_count(int64_t step) { step_ = step; }
  const AdamOptions& options() const { return options_; }
  size_t size() const { return params_.size(); }

  // m and v of every parameter, interleaved: <prefix>m.<key>, <prefix>v.<key>, ...
  NamedTensors moments(const std::string& prefix) const;
  // Copies them back. `find(name)` returns the tensor or nullptr; a missing or misshapen one
  // is an rlae::Error naming `where` and the tensor.
  void load_moments(const std::function<const at::Tensor*(const std::string&)>& find,
                    const std::string& prefix, const std::string& where);

 private:
  std::string key(size_t i) const;

  std::vector<at::Tensor> params_, m_, v_;
  std::vector<std::string> names_;
  std::vector<bool> decay_;
  AdamOptions options_;
  int64_t step_ = 0;
};

}  // namespace rlae
