#include "learner/trainer.h"

#include <sys/stat.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/prompt.h"
#include "common/safetensors.h"
#include "learner/replay.h"
#include "rlae_build_info.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;

// Creates `dir` and checks that it is writable: fail before any work starts.
void make_writable_dir(const std::string& dir) {
  make_dirs(dir);
  const std::string probe = dir + "/.write-test";
  std::ofstream f(probe);
  RLAE_CHECK(f.good(), dir, ": directory is not writable");
  f.close();
  std::remove(probe.c_str());
}

// splitmix64 for the prompt sampler: iteration-indexed, so a resumed run draws
// the same prompts as an uninterrupted one.
uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void set_update_metrics(IterationMetrics& m, const TrajectoryBatch& batch, const PpoStats& st) {
  m.episodes = batch.num_episodes();
  const int64_t correct = std::count(batch.correct.begin(), batch.correct.end(), 1);
  m.mean_reward = batch.rewards.sum().item<double>() / static_cast<double>(std::max<int64_t>(1, m.episodes));
  m.accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, m.episodes));
  m.entropy = st.entropy;
  m.approx_kl = st.approx_kl;
  m.clip_fraction = st.clip_fraction;
  m.value_loss = st.value_loss;
  m.policy_loss = st.policy_loss;
}

std::string checkpoint_name(int64_t iteration) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "ckpt-%06lld.safetensors", static_cast<long long>(iteration));
  return buf;
}

std::vector<Problem> load_training_problems(const TrainConfig& cfg) {
  std::vector<Problem> data = load_dataset(cfg.train_data);
  if (!cfg.families.empty()) {
    data.erase(std::remove_if(data.begin(), data.end(),
                              [&](const Problem& p) {
                                return std::find(cfg.families.begin(), cfg.families.end(), p.task) == cfg.families.end();
                              }),
               data.end());
    RLAE_CHECK(!data.empty(), cfg.train_data, ": no problems of the families given");
  }
  return data;
}

std::vector<const Problem*> sample_problems(const TrainConfig& cfg, const std::vector<Problem>& data, int64_t iteration,
                                            int64_t group) {
  std::vector<const Problem*> out;
  for (int i = 0; i < cfg.prompts_per_iteration; ++i) {
    const uint64_t key = cfg.seed * 0x100000001B3ULL + static_cast<uint64_t>(iteration) * 65537 + static_cast<uint64_t>(i) +
                         static_cast<uint64_t>(group) * 0x9E3779B97F4A7C15ULL;
    out.push_back(&data[mix64(key) % data.size()]);
  }
  return out;
}

std::vector<EpisodeOutcome> score_episodes(const TrainConfig& cfg, const std::vector<const Problem*>& problems,
                                           const std::vector<EnsembleResult>& results) {
  RLAE_ASSERT(problems.size() == results.size(), "score_episodes: ", problems.size(), " problems, ", results.size(),
              " results");
  std::vector<EpisodeOutcome> out(problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    const bool ok = answer_correct(results[i].text, problems[i]->answer, cfg.answer_mode);
    out[i] = {problems[i]->id, problems[i]->task, results[i].text, ok, ok ? 1.0f : 0.0f};
  }
  return out;
}

void write_checkpoint(const TrainConfig& cfg, const PpoLearner& learner, int64_t iteration, int64_t version,
                      const std::string& fingerprint) {
  const std::string name = checkpoint_name(iteration);
  std::map<std::string, std::string> meta = {
      {"iteration", std::to_string(iteration)},
      {"policy_version", std::to_string(version)},
      {"algo", agent_algo_name(learner.agents().algo)},
      {"num_members", std::to_string(learner.agents().num_members)},
      {"obs_width", std::to_string(learner.agents().obs_width)},
      {"members_fingerprint", fingerprint},
      {"config_hash", cfg.config_hash},
      {"rlae_version", RLAE_VERSION},
      {"seed", std::to_string(cfg.seed)}};
  std::string names;
  for (const auto& d : cfg.members) names += (names.empty() ? "" : ",") + d;
  meta["members"] = names;
  save_safetensors(cfg.out + "/checkpoints/" + name, learner.state(), meta);
  write_file_atomic(cfg.out + "/checkpoints/latest", name + "\n");
}

std::pair<int64_t, int64_t> resume_learner(const TrainConfig& cfg, PpoLearner& learner, const std::string& fingerprint) {
  int64_t start = 0, version = 0;
  const std::string latest = cfg.out + "/checkpoints/latest";
  std::string name;
  try {
    name = read_file(latest);
  } catch (const Error&) {
    RLAE_FAIL(cfg.out, ": --resume but no checkpoint (", latest, " missing)");
  }
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  const std::string path = cfg.out + "/checkpoints/" + name;
  auto file = SafetensorsFile::open(path);
  const auto& meta = file->metadata();
  RLAE_CHECK(meta.count("members_fingerprint") && meta.at("members_fingerprint") == fingerprint, path,
             ": trained for other members; cannot resume with these");
  RLAE_CHECK(meta.count("algo") && meta.at("algo") == agent_algo_name(cfg.algo), path, ": algorithm ",
             meta.count("algo") ? meta.at("algo") : "?", ", but --algo is ", agent_algo_name(cfg.algo));
  NamedTensors state;
  for (const auto& n : file->names()) state.push_back({n, file->get(n).clone()});
  learner.load_state(state);
  start = std::stoll(meta.at("iteration"));
  version = std::stoll(meta.at("policy_version"));
  RLAE_LOG(info, "resuming from ", path, " at iteration ", start);
  return {start, version};
}

void prepare_run_dirs(const TrainConfig& cfg) {
  make_writable_dir(cfg.out);
  make_writable_dir(cfg.out + "/checkpoints");
  if (cfg.write_replay) make_writable_dir(cfg.out + "/replay");
}

std::string IterationMetrics::to_json() const {
  nlohmann::json j = {{"iteration", iteration},     {"policy_version", policy_version},
                      {"episodes", episodes},       {"tokens", tokens},
                      {"mean_reward", mean_reward}, {"accuracy", accuracy},
                      {"entropy", entropy},         {"approx_kl", approx_kl},
                      {"clip_fraction", clip_fraction}, {"value_loss", value_loss},
                      {"policy_loss", policy_loss}, {"episodes_per_s", episodes_per_s},
                      {"tokens_per_s", tokens_per_s}, {"policy_lag", policy_lag},
                      {"seconds", seconds}};
  return j.dump();
}

std::string members_fingerprint(const std::vector<std::string>& dirs) {
  uint64_t h = 1469598103934665603ULL;
  for (const auto& d : dirs) {
    h = fnv1a(read_file(d + "/config.json"), h);
    h = fnv1a(read_file(d + "/tokenizer.json"), h);
    h = fnv1a("|", h);
  }
  return hex64(h);
}

int64_t observation_width(const std::vector<Member>& members) {
  int64_t w = 0;
  for (const auto& m : members) w = std::max(w, agent_observation_width(m.model->config().hidden_size));
  return w;
}

AgentSet load_agents(const std::string& path, const std::vector<std::string>& member_dirs) {
  auto file = SafetensorsFile::open(path);
  const auto& meta = file->metadata();
  auto get = [&](const char* key) {
    auto it = meta.find(key);
    RLAE_CHECK(it != meta.end(), path, ": not an rlae checkpoint (metadata '", key, "' missing)");
    return it->second;
  };
  const std::string fp = members_fingerprint(member_dirs);
  RLAE_CHECK(get("members_fingerprint") == fp, path, ": trained for other members (", get("members"),
             "); these members differ in their config.json or tokenizer.json");
  const AgentAlgo algo = parse_agent_algo(get("algo"));
  const int64_t K = std::stoll(get("num_members"));
  const int64_t D = std::stoll(get("obs_width"));
  RLAE_CHECK(K == static_cast<int64_t>(member_dirs.size()), path, ": trained for ", K, " members, given ",
             member_dirs.size());
  const at::Tensor w1 = file->get("agent0.l1.weight");
  AgentSet agents = AgentSet::create(algo, K, D, w1.size(0), 0);
  NamedTensors params;
  for (const auto& name : file->names()) {
    if (name.rfind("agent", 0) == 0) params.push_back({name, file->get(name)});
  }
  agents.load(params);
  return agents;
}

IterationMetrics train_inprocess(const TrainConfig& cfg, const TrainProgress& progress) {
  RLAE_CHECK(cfg.members.size() >= 2, "train: an ensemble needs at least 2 members, got ", cfg.members.size());
  RLAE_CHECK(cfg.iterations >= 0 && cfg.prompts_per_iteration >= 1 && cfg.checkpoint_every >= 1,
             "train: iterations >= 0, prompts per iteration >= 1, checkpoint-every >= 1");
  // Everything that can be checked is checked before any work starts.
  prepare_run_dirs(cfg);
  const std::vector<Problem> data = load_training_problems(cfg);
  ModelOptions mo = cfg.model;
  mo.num_slots = std::max<int64_t>(1, std::min<int64_t>(cfg.slots, cfg.prompts_per_iteration));
  std::vector<Member> members;
  for (const auto& d : cfg.members) members.push_back(load_member(d, mo));
  const UnionVocab vocab = UnionVocab::load_or_build(vocab_members(members), cfg.out + "/cache");
  const int64_t K = static_cast<int64_t>(members.size());
  const int64_t D = observation_width(members);
  PpoLearner learner(AgentSet::create(cfg.algo, K, D, cfg.agent_hidden, cfg.seed), cfg.ppo);
  const std::string fingerprint = members_fingerprint(cfg.members);

  int64_t start = 0, version = 0;
  if (cfg.resume) std::tie(start, version) = resume_learner(cfg, learner, fingerprint);
  std::ofstream metrics(cfg.out + "/metrics.jsonl", cfg.resume ? std::ios::app : std::ios::trunc);
  RLAE_CHECK(metrics.good(), cfg.out, "/metrics.jsonl: cannot write");
  IterationMetrics last;
  for (int64_t it = start; it < cfg.iterations; ++it) {
    const auto t0 = Clock::now();
    // 1. Prompts of this iteration.
    std::vector<const Problem*> problems = sample_problems(cfg, data, it, 0);
    std::vector<EnsemblePrompt> prompts;
    for (const Problem* p : problems) prompts.push_back({format_prompt(p->question), p->task});
    // 2. Rollouts: the agents sample weights every span; member 0's policy records.
    const uint64_t sample_seed = mix64(cfg.seed ^ (0xA5A5A5A5ULL + static_cast<uint64_t>(it)));
    std::vector<std::unique_ptr<AgentPolicy>> policies;
    std::vector<WeightPolicy*> steer;
    for (int64_t m = 0; m < K; ++m) {
      policies.push_back(std::make_unique<AgentPolicy>(learner.agents(), /*sample=*/true, sample_seed, /*record=*/m == 0));
      steer.push_back(policies.back().get());
    }
    AgentPolicy* recorder = policies[0].get();
    std::vector<EnsembleStats> stats;
    const auto results = ensemble_decode_inprocess(members, vocab, steer, prompts, cfg.ensemble, &stats);
    // 3. Terminal rewards from the answer check.
    const std::vector<EpisodeOutcome> outcomes = score_episodes(cfg, problems, results);
    TrajectoryBatch batch = build_trajectories(recorder->take_records(), outcomes, version);
    batch.values = learner.values(batch.share_obs);
    // 4. Learn.
    const PpoStats st = learner.update(batch);
    ++version;
    // 5. Replay, metrics, checkpoint.
    if (cfg.write_replay) {
      char name[64];
      std::snprintf(name, sizeof(name), "/replay/shard-%06lld.h5", static_cast<long long>(it));
      write_replay_shard(cfg.out + name, batch, {cfg.config_hash, cfg.out, agent_algo_name(cfg.algo), it});
    }
    IterationMetrics mtr;
    mtr.iteration = it + 1;
    mtr.policy_version = version;
    set_update_metrics(mtr, batch, st);  // every prompt decides at its first token: episodes = prompts
    mtr.tokens = stats[0].tokens;
    mtr.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    mtr.episodes_per_s = mtr.episodes / mtr.seconds;
    mtr.tokens_per_s = static_cast<double>(mtr.tokens) / mtr.seconds;
    metrics << mtr.to_json() << "\n";
    metrics.flush();
    if ((it + 1) % cfg.checkpoint_every == 0 || it + 1 == cfg.iterations) {
      write_checkpoint(cfg, learner, it + 1, version, fingerprint);
    }
    if (progress) progress(mtr);
    last = mtr;
  }
  return last;
}

}  // namespace rlae
