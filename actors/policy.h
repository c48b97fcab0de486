// Weight policies: how the ensemble weights its K members, decided every span
// of L tokens (or every token, for policies that ask for it).
//
// A decision has two phases so that it runs the same in one process and across
// MPI ranks: a local phase on each member's own rank (an RL agent samples its
// share from its member's observation) and a global phase that every rank
// evaluates identically on the gathered per-member features, returning the
// weights [rows, K] (finite, >= 0, not all 0; normalized by the engine).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace rlae {

// Per-member features gathered at every decision: [K, rows, kNumFeatures].
enum Feature : int { kEntropy = 0, kTop1 = 1, kMargin = 2, kLocal = 3, kPromptNll = 4, kNumFeatures = 5 };

// One member's observation of its active rows.
struct MemberObs {
  at::Tensor hidden;   // [rows, H_m] final-norm hidden state at the last position
  at::Tensor entropy;  // [rows] of the member's next-token distribution (nats)
  at::Tensor top1;     // [rows] its largest probability
  at::Tensor margin;   // [rows] largest minus second largest
};

struct DecisionContext {
  int num_members = 0;
  std::vector<int64_t> span_index;     // [rows] span number of each row (tokens generated / L)
  std::vector<int64_t> solution_step;  // [rows] finished sentences (". ") in each row's text so far
  std::vector<std::string> tasks;      // [rows] task family of each row ("" if unknown)
};

class WeightPolicy {
 public:
  virtual ~WeightPolicy() = default;
  virtual std::string name() const = 0;
  // Decide at every token instead of every span.
  virtual bool every_token() const { return false; }
  // Needs each member's mean negative log-likelihood of the prompt (feature kPromptNll).
  virtual bool needs_prompt_nll() const { return false; }
  // Local phase on member `m`'s rank: one number per row (feature kLocal).
  virtual at::Tensor local(int m, const MemberObs& obs, const DecisionContext& ctx);
  // Global phase, identical on every rank: feats [K, rows, kNumFeatures] -> weights [rows, K].
  virtual at::Tensor combine(const at::Tensor& feats, const DecisionContext& ctx) = 0;
};

// Builds a fixed policy from its command-line form:
//   uniform | weights:0.5,0.3,0.2 | single:NAME_OR_INDEX | packllm[:TEMPERATURE]
//   | gac-threshold:P[:PRIMARY] | schedule:FILE
// member_names name the members (for single: and gac-threshold:), in order.
std::unique_ptr<WeightPolicy> make_policy(const std::string& spec, const std::vector<std::string>& member_names);

// Checks and normalizes weights [rows, K]: rlae::Error for a wrong shape,
// NaN/inf, a negative weight or an all-zero row (naming `who`).
at::Tensor normalize_weights(const at::Tensor& weights, int64_t rows, int64_t K, const std::string& who);

}  // namespace rlae
