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
// kLocal / kLocalLogProb carry what local() returned (an agent's action and its
// log-probability).
enum Feature : int {
  kEntropy = 0, kTop1 = 1, kMargin = 2, kLocal = 3, kLocalLogProb = 4, kPromptNll = 5, kNumFeatures = 6
};

// An agent's observation of its member at a decision, one row per sequence:
// [hidden (H_m), prompt context (H_m), entropy, top-1, margin, span index / 32]
// -> [rows, 2 H_m + 4]. The prompt context is the member's final hidden state
// averaged over the prompt's tokens, kept from the prefill (no extra forward):
// the state is the prompt and the partial generation, and the last hidden state
// of a small member mostly encodes the next token, not the question (on the zoo
// a linear probe tells the task family from it 50% of the time over all spans).
constexpr int64_t kObsScalars = 4;
constexpr int64_t agent_observation_width(int64_t hidden_size) { return 2 * hidden_size + kObsScalars; }
at::Tensor agent_observation(const at::Tensor& hidden, const at::Tensor& context, const at::Tensor& entropy,
                             const at::Tensor& top1, const at::Tensor& margin, const std::vector<int64_t>& span_index);

// One member's observation of its active rows.
struct MemberObs {
  at::Tensor hidden;   // [rows, H_m] final-norm hidden state at the last position
  at::Tensor context;  // [rows, H_m] final-norm hidden state averaged over the prompt
  at::Tensor entropy;  // [rows] of the member's next-token distribution (nats)
  at::Tensor top1;     // [rows] its largest probability
  at::Tensor margin;   // [rows] largest minus second largest
};

struct DecisionContext {
  int num_members = 0;
  std::vector<size_t> prompts;         // [rows] index of each row's prompt in the call
  // When the policy wants_observations(): every member's agent observation,
  // zero-padded to the widest: [K, rows, obs_width]; obs_dims[k] is member k's width.
  at::Tensor observations;
  std::vector<int64_t> obs_dims;
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
  // All members' agent observations at each decision (DecisionContext::observations).
  virtual bool wants_observations() const { return false; }
  // Local phase on member `m`'s rank: [rows] (feature kLocal) or [rows, 2]
  // (kLocal, kLocalLogProb).
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
