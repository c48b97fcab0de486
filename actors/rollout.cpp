#include "actors/rollout.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>

#include "common/check.h"
#include "common/prompt.h"
#include "common/rng.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<EnsemblePrompt> prompts_of(const std::vector<const Problem*>& problems) {
  std::vector<EnsemblePrompt> out;
  for (const Problem* p : problems) out.push_back({format_prompt(p->question), p->task});
  return out;
}

RolloutInfo info_of(int64_t iteration, int64_t group, const EnsembleStats& st, double seconds) {
  RolloutInfo i;
  i.iteration = iteration;
  i.group = group;
  i.tokens = st.tokens;
  i.seconds = seconds;
  i.forward_seconds = st.forward_seconds;
  i.exchange_seconds = st.exchange_seconds;
  i.decide_seconds = st.decide_seconds;
  return i;
}

uint64_t agents_seed(const RolloutSettings& s, int64_t iteration, int64_t group) {
  return derive_seed(s.seed, "rollout.agents", {static_cast<uint64_t>(iteration), static_cast<uint64_t>(group)});
}

}  // namespace

std::vector<Problem> load_training_problems(const std::string& path, const std::vector<std::string>& families) {
  std::vector<Problem> data = load_dataset(path);
  if (!families.empty()) {
    data.erase(std::remove_if(data.begin(), data.end(),
                              [&](const Problem& p) {
                                return std::find(families.begin(), families.end(), p.task) == families.end();
                              }),
               data.end());
    RLAE_CHECK(!data.empty(), path, ": no problems of the families given");
  }
  RLAE_CHECK(!data.empty(), path, ": no training problems");
  return data;
}

std::vector<const Problem*> rollout_problems(const RolloutSettings& s, const std::vector<Problem>& data,
                                             int64_t iteration, int64_t group) {
  std::vector<const Problem*> out;
  for (int i = 0; i < s.prompts_per_iteration; ++i) {
    const uint64_t pick = derive_seed(s.seed, "rollout.prompts",
                                      {static_cast<uint64_t>(iteration), static_cast<uint64_t>(group),
                                       static_cast<uint64_t>(i)});
    out.push_back(&data[pick % data.size()]);
  }
  return out;
}

std::vector<EpisodeOutcome> score_episodes(AnswerMode mode, const std::vector<const Problem*>& problems,
                                           const std::vector<EnsembleResult>& results) {
  RLAE_ASSERT(problems.size() == results.size(), "score_episodes: ", problems.size(), " problems, ", results.size(),
              " results");
  std::vector<EpisodeOutcome> out(problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    const bool ok = answer_correct(results[i].text, problems[i]->answer, mode);
    out[i] = {problems[i]->id, problems[i]->task, results[i].text, ok, ok ? 1.0f : 0.0f};
  }
  return out;
}

TrajectoryBatch rollout_inprocess(InprocessEnsemble& ensemble, const AgentSet& agents, const RolloutSettings& s,
                                  const std::vector<Problem>& data, int64_t version, int64_t iteration,
                                  int64_t group) {
  const auto t0 = Clock::now();
  const std::vector<const Problem*> problems = rollout_problems(s, data, iteration, group);
  std::vector<std::unique_ptr<AgentPolicy>> policies;
  std::vector<WeightPolicy*> steer;
  for (int m = 0; m < ensemble.size(); ++m) {
    policies.push_back(std::make_unique<AgentPolicy>(agents, /*sample=*/true, agents_seed(s, iteration, group),
                                                     /*record=*/m == 0));
    steer.push_back(policies.back().get());
  }
  std::vector<EnsembleStats> stats;
  const auto results = ensemble.decode(steer, prompts_of(problems), &stats);
  TrajectoryBatch b = build_trajectories(policies[0]->take_records(), score_episodes(s.answer_mode, problems, results),
                                         version);
  b.info = info_of(iteration, group, stats[0], std::chrono::duration<double>(Clock::now() - t0).count());
  return b;
}

TrajectoryBatch rollout_member(DecodeSession& session, const AgentSet& agents, const RolloutSettings& s,
                               const std::vector<Problem>& data, int64_t version, int64_t iteration, int64_t group) {
  const auto t0 = Clock::now();
  const bool recorder = session.view().member == 0;
  const std::vector<const Problem*> problems = rollout_problems(s, data, iteration, group);
  AgentPolicy policy(agents, /*sample=*/true, agents_seed(s, iteration, group), /*record=*/recorder);
  EnsembleStats stats;
  const auto results = session.decode(policy, prompts_of(problems), &stats);
  TrajectoryBatch b;
  if (recorder) {
    b = build_trajectories(policy.take_records(), score_episodes(s.answer_mode, problems, results), version);
  }
  b.info = info_of(iteration, group, stats, std::chrono::duration<double>(Clock::now() - t0).count());
  return b;
}

void broadcast_agents(Communicator& comm, AgentSet& agents, int64_t& version, int root) {
  const at::Device device = comm.device_buffers()
                                ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(comm.device_index()))
                                : at::Device(at::kCPU);
  auto send = [&](at::Tensor host, DType dtype) {
    at::Tensor buf = host.to(device).contiguous();
    comm.broadcast(buf.data_ptr(), static_cast<size_t>(buf.numel()), dtype, root);
    return buf.to(at::kCPU);
  };
  version = send(at::tensor({version}, at::kLong), DType::i64).item<int64_t>();
  NamedTensors params = agents.named_parameters();
  for (auto& [name, t] : params) {
    RLAE_ASSERT(t.scalar_type() == at::kFloat, "agent parameter ", name, " is not float32");
    t = send(t.detach(), DType::f32);
  }
  if (comm.rank() != root) agents.load(params);
}

}  // namespace rlae
