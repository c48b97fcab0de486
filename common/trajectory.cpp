#include "common/trajectory.h"

#include <ATen/ATen.h>

#include "common/check.h"

namespace rlae {
namespace {

void check_tensor(const at::Tensor& t, const char* name, at::ScalarType dtype, int64_t dim) {
  RLAE_CHECK(t.defined(), "replay batch: field '", name, "' is missing");
  RLAE_CHECK(t.scalar_type() == dtype, "replay batch: field '", name, "' must be ", dtype, ", got ",
             t.scalar_type());
  RLAE_CHECK(t.dim() == dim, "replay batch: field '", name, "' must have ", dim, " dimensions, got ",
             t.sizes());
}

}  // namespace

int64_t TrajectoryBatch::num_steps() const { return rewards.defined() ? rewards.size(0) : 0; }

void TrajectoryBatch::validate() const {
  check_tensor(rewards, "rewards", at::kFloat, 1);
  const int64_t N = rewards.size(0);
  check_tensor(obs, "obs", at::kFloat, 3);
  check_tensor(share_obs, "share_obs", at::kFloat, 2);
  check_tensor(actions, "actions", at::kFloat, 3);
  check_tensor(logprobs, "logprobs", at::kFloat, 2);
  check_tensor(weights, "weights", at::kFloat, 2);
  check_tensor(dones, "dones", at::kByte, 1);
  check_tensor(values, "values", at::kFloat, 1);
  check_tensor(policy_version, "policy_version", at::kLong, 1);
  check_tensor(episode, "episode", at::kLong, 1);
  check_tensor(span_index, "span_index", at::kInt, 1);
  const int64_t A = obs.size(1);
  struct Row { const char* name; const at::Tensor& t; };
  for (const Row& r : {Row{"obs", obs}, Row{"share_obs", share_obs}, Row{"actions", actions},
                       Row{"logprobs", logprobs}, Row{"weights", weights}, Row{"dones", dones},
                       Row{"values", values}, Row{"policy_version", policy_version},
                       Row{"episode", episode}, Row{"span_index", span_index}}) {
    RLAE_CHECK(r.t.size(0) == N, "replay batch: field '", r.name, "' has ", r.t.size(0), " steps, rewards has ", N);
  }
  RLAE_CHECK(actions.size(1) == A && logprobs.size(1) == A, "replay batch: actions ", actions.sizes(),
             " and logprobs ", logprobs.sizes(), " disagree with obs ", obs.sizes(), " on the agent count");
  const int64_t E = num_episodes();
  RLAE_CHECK(task.size() == static_cast<size_t>(E) && text.size() == static_cast<size_t>(E) &&
                 correct.size() == static_cast<size_t>(E),
             "replay batch: episode fields differ in length (prompt_id ", E, ", task ", task.size(), ", text ",
             text.size(), ", correct ", correct.size(), ")");
  if (N > 0) {
    RLAE_CHECK(episode.min().item<int64_t>() >= 0 && episode.max().item<int64_t>() < E,
               "replay batch: step episode index outside [0, ", E, ")");
  }
}

TrajectoryBatch concat_trajectories(const std::vector<TrajectoryBatch>& batches) {
  RLAE_CHECK(!batches.empty(), "concat_trajectories: no batches");
  if (batches.size() == 1) return batches.front();
  TrajectoryBatch out;
  auto cat = [&](at::Tensor TrajectoryBatch::*field) {
    std::vector<at::Tensor> parts;
    for (const auto& b : batches) parts.push_back(b.*field);
    return at::cat(parts);
  };
  out.obs = cat(&TrajectoryBatch::obs);
  out.share_obs = cat(&TrajectoryBatch::share_obs);
  out.actions = cat(&TrajectoryBatch::actions);
  out.logprobs = cat(&TrajectoryBatch::logprobs);
  out.weights = cat(&TrajectoryBatch::weights);
  out.rewards = cat(&TrajectoryBatch::rewards);
  out.dones = cat(&TrajectoryBatch::dones);
  out.values = cat(&TrajectoryBatch::values);
  out.policy_version = cat(&TrajectoryBatch::policy_version);
  out.span_index = cat(&TrajectoryBatch::span_index);
  std::vector<at::Tensor> episodes;
  int64_t offset = 0;
  out.info = batches.front().info;
  out.info.tokens = 0;
  out.info.seconds = out.info.forward_seconds = out.info.exchange_seconds = out.info.decide_seconds =
      out.info.wait_params_seconds = 0;
  for (const auto& b : batches) {
    episodes.push_back(b.episode + offset);
    offset += b.num_episodes();
    out.prompt_id.insert(out.prompt_id.end(), b.prompt_id.begin(), b.prompt_id.end());
    out.task.insert(out.task.end(), b.task.begin(), b.task.end());
    out.text.insert(out.text.end(), b.text.begin(), b.text.end());
    out.correct.insert(out.correct.end(), b.correct.begin(), b.correct.end());
    out.info.tokens += b.info.tokens;
    out.info.seconds += b.info.seconds;
    out.info.forward_seconds += b.info.forward_seconds;
    out.info.exchange_seconds += b.info.exchange_seconds;
    out.info.decide_seconds += b.info.decide_seconds;
    out.info.wait_params_seconds += b.info.wait_params_seconds;
  }
  out.episode = at::cat(episodes);
  out.validate();
  return out;
}

}  // namespace rlae
