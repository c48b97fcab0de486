// Single-node RLAE training end to end on tiny random members: outputs on disk,
// resume equals an uninterrupted run, checkpoints refuse other member sets.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "common/check.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/safetensors.h"
#include "actors/ensemble.h"
#include "ensemble_fixtures.h"
#include "learner/replay.h"
#include "learner/replay_train.h"
#include "learner/trainer.h"

namespace rlae {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "rlae_train_" + std::to_string(::getpid());
    ASSERT_EQ(std::system(("mkdir -p " + dir_ + "/a " + dir_ + "/b " + dir_ + "/c").c_str()), 0);
    testing::write_member(dir_ + "/a", testing::byte_level_tokenizer({{"1", "2"}}), 0, 1);
    testing::write_member(dir_ + "/b", testing::metaspace_tokenizer({{"t", "h"}}), 2, 2);
    testing::write_member(dir_ + "/c", testing::byte_level_tokenizer({{"a", "b"}}), 0, 3);
    std::vector<Problem> ps;
    for (int i = 0; i < 40; ++i) {
      ps.push_back({"p" + std::to_string(i), i % 2 ? "add" : "mul", "What is " + std::to_string(i) + " + 1?",
                    std::to_string(i) + " + 1 = " + std::to_string(i + 1) + ". #### " + std::to_string(i + 1), 0});
    }
    write_dataset(dir_ + "/train.jsonl", ps);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  TrainConfig config(const std::string& out, int iterations, AgentAlgo algo = AgentAlgo::mappo) const {
    TrainConfig c;
    c.members = {dir_ + "/a", dir_ + "/b"};
    c.train_data = dir_ + "/train.jsonl";
    c.out = dir_ + "/" + out;
    c.algo = algo;
    c.seed = 7;
    c.iterations = iterations;
    c.prompts_per_iteration = 4;
    c.slots = 2;
    c.ensemble.max_new_tokens = 10;
    c.ensemble.span = 3;
    c.ppo.lr = 1e-3;
    c.ppo.minibatches = 2;
    c.agent_hidden = 16;
    c.ppo.critic_hidden = 16;
    c.checkpoint_every = 2;
    c.model.max_seq_len = 128;
    c.config_hash = "test";
    return c;
  }
  static std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  std::string dir_;
};

TEST_F(TrainerTest, WritesMetricsReplayAndCheckpoints) {
  const TrainConfig c = config("run", 3);
  train_inprocess(c);
  EXPECT_EQ(lines(c.out + "/metrics.jsonl").size(), 3u);
  ShardInfo info;
  const TrajectoryBatch b = read_replay_shard(c.out + "/replay/shard-000002.h5", &info);
  EXPECT_EQ(b.num_episodes(), 4);
  EXPECT_EQ(b.obs.size(1), 2);  // MAPPO: one agent per member
  EXPECT_EQ(info.algo, "mappo");
  EXPECT_EQ(b.dones.sum().item<int64_t>(), 4);
  EXPECT_EQ(read_file(c.out + "/checkpoints/latest"), "ckpt-000003.safetensors\n");
  // The checkpoint steers these members, and refuses others.
  const AgentSet agents = load_agents(c.out + "/checkpoints/ckpt-000002.safetensors", c.members);
  EXPECT_EQ(agents.num_agents(), 2);
  EXPECT_THROW(load_agents(c.out + "/checkpoints/ckpt-000002.safetensors", {dir_ + "/a", dir_ + "/c"}), Error);
  // The agents observe their own members, and say so; a checkpoint written before
  // --agent-obs existed (no "agent_obs") loads, and resumes, as own.
  EXPECT_EQ(info.agent_obs, "own");
  const std::string ckpt = c.out + "/checkpoints/ckpt-000003.safetensors";
  auto meta = SafetensorsFile::open(ckpt)->metadata();
  EXPECT_EQ(meta.at("agent_obs"), "own");
  meta.erase("agent_obs");
  NamedTensors tensors;
  for (const auto& [name, t] : load_safetensors(ckpt)) tensors.push_back({name, t.clone()});
  save_safetensors(ckpt, tensors, meta);
  EXPECT_EQ(load_agents(ckpt, c.members).agent_obs, AgentObs::own);
  EXPECT_EQ(resumable_checkpoint(c, members_fingerprint(c.members)), ckpt);
}

// --agent-obs group: a short run trains, its shards hold every agent's group
// observation [N, K, K*D], its checkpoints say "group" and load for evaluation and
// for rlae replay train; resuming or replaying it as own is refused before any work.
TEST_F(TrainerTest, GroupObservationsTrainEvaluateAndRefuseOwn) {
  TrainConfig c = config("group", 2);
  c.agent_obs = AgentObs::group;
  train_inprocess(c);
  EXPECT_EQ(lines(c.out + "/metrics.jsonl").size(), 2u);
  ShardInfo info;
  const TrajectoryBatch b = read_replay_shard(c.out + "/replay/shard-000001.h5", &info);
  EXPECT_EQ(info.agent_obs, "group");
  ASSERT_EQ(b.obs.size(1), 2);                        // one agent per member
  EXPECT_EQ(b.obs.size(2), b.share_obs.size(1));      // each sees the group: K*D
  EXPECT_TRUE(at::equal(b.obs.select(1, 1), b.share_obs));
  const std::string ckpt = c.out + "/checkpoints/ckpt-000002.safetensors";
  EXPECT_EQ(SafetensorsFile::open(ckpt)->metadata().at("agent_obs"), "group");

  // Loads for evaluation (what rlae eval --policy rlae:CKPT does) and steers the members.
  const AgentSet agents = load_agents(ckpt, c.members);
  EXPECT_EQ(agents.agent_obs, AgentObs::group);
  EXPECT_EQ(agents.nets[1].in_dim(), b.share_obs.size(1));
  ModelOptions mo;
  mo.num_slots = 2;
  mo.max_seq_len = 128;
  std::vector<Member> members;
  for (const auto& d : c.members) members.push_back(load_member(d, mo));
  const UnionVocab vocab = UnionVocab::build(vocab_members(members));
  const auto res = ensemble_decode_inprocess(
      members, vocab,
      [&](int) { return std::make_unique<AgentPolicy>(agents, /*sample=*/false, 0, /*record=*/false); },
      {{"Question: What is 3 + 1?\nAnswer:", "add"}, {"Question: What is 5 + 1?\nAnswer:", "mul"}}, c.ensemble);
  ASSERT_EQ(res.size(), 2u);
  for (const auto& r : res) {
    ASSERT_FALSE(r.decisions.empty());
    EXPECT_NEAR(r.decisions[0][0] + r.decisions[0][1], 1.0f, 1e-5);
  }

  // Resuming with own agents is refused, naming both modes; with group it continues.
  TrainConfig own = c;
  own.agent_obs = AgentObs::own;
  own.resume = true;
  own.iterations = 3;
  try {
    train_inprocess(own);
    FAIL() << "a group checkpoint resumed with own agents";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--agent-obs group, but --agent-obs is own"), std::string::npos) << msg;
    EXPECT_NE(msg.find(ckpt), std::string::npos) << msg;
  }
  EXPECT_EQ(lines(c.out + "/metrics.jsonl").size(), 2u) << "the refused resume did no work";
  TrainConfig more = c;
  more.resume = true;
  more.iterations = 3;
  train_inprocess(more);
  EXPECT_EQ(lines(c.out + "/metrics.jsonl").size(), 3u);

  // rlae replay train rebuilds group agents from the shards, and refuses own ones.
  TrainConfig replay = c;
  replay.out = dir_ + "/group-replay";
  const auto shards = list_replay_shards(c.out);
  const ReplayTrainResult rr = replay_train(replay, shards, 1);
  EXPECT_EQ(rr.updates, 3);
  EXPECT_EQ(load_agents(rr.last_checkpoint, c.members).agent_obs, AgentObs::group);
  replay.out = dir_ + "/own-replay";
  replay.agent_obs = AgentObs::own;
  try {
    replay_train(replay, shards, 1);
    FAIL() << "group shards replayed into own agents";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--agent-obs group, but --agent-obs is own"), std::string::npos) << e.what();
  }
}

// The PPO agent sees the group already: --agent-obs group with --algo ppo is a
// usage error (exit 2) before the run directory is made.
TEST_F(TrainerTest, PpoWithGroupObservationsIsAUsageError) {
  TrainConfig c = config("ppo-group", 1, AgentAlgo::ppo);
  c.agent_obs = AgentObs::group;
  EXPECT_THROW(check_train_config(c), UsageError);
  try {
    train_inprocess(c);
    FAIL() << "ppo with group observations trained";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--agent-obs group is for --algo mappo"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(file_exists(c.out)) << "no work before the usage error";
}

TEST_F(TrainerTest, ResumeMatchesAnUninterruptedRun) {
  for (AgentAlgo algo : {AgentAlgo::mappo, AgentAlgo::ppo}) {
    const TrainConfig whole = config(std::string("whole-") + agent_algo_name(algo), 4, algo);
    train_inprocess(whole);
    TrainConfig part = config(std::string("part-") + agent_algo_name(algo), 2, algo);
    train_inprocess(part);
    part.iterations = 4;
    part.resume = true;
    train_inprocess(part);
    const auto a = lines(whole.out + "/metrics.jsonl");
    const auto b = lines(part.out + "/metrics.jsonl");
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), 4u);
    auto strip_timing = [](const std::string& s) {
      nlohmann::json j = nlohmann::json::parse(s);
      for (const char* key : {"episodes_per_s", "seconds", "tokens_per_s", "time"}) j.erase(key);
      return j.dump();
    };
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(strip_timing(a[i]), strip_timing(b[i])) << agent_algo_name(algo) << " iteration " << i + 1;
    const auto wa = load_safetensors(whole.out + "/checkpoints/ckpt-000004.safetensors");
    const auto wb = load_safetensors(part.out + "/checkpoints/ckpt-000004.safetensors");
    ASSERT_EQ(wa.size(), wb.size());
    for (const auto& [name, t] : wa) EXPECT_TRUE(at::equal(t, wb.at(name))) << name;
  }
}

TEST_F(TrainerTest, BadSetupsFailBeforeAnyWork) {
  TrainConfig c = config("bad", 1);
  c.members = {dir_ + "/a"};
  EXPECT_THROW(train_inprocess(c), Error);
  c = config("bad", 1);
  c.out = "/proc/rlae-not-writable";
  EXPECT_THROW(train_inprocess(c), Error);
  c = config("bad2", 1);
  c.resume = true;
  try {
    train_inprocess(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no checkpoint"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rlae

namespace rlae {
namespace {

// Temporary files of an interrupted run are removed when a run (re)starts in the
// folder; finished files stay.
TEST(TrainerDirs, StaleTemporaryFilesAreRemovedOnStart) {
  const std::string out = ::testing::TempDir() + "rlae_stale_" + std::to_string(::getpid());
  make_dirs(out + "/checkpoints");
  make_dirs(out + "/replay");
  const std::vector<std::string> stale = {out + "/replay/shard-000003.h5.tmp",
                                          out + "/checkpoints/ckpt-000010.safetensors.tmp.4242",
                                          out + "/metrics.jsonl.tmp.17"};
  const std::vector<std::string> kept = {out + "/replay/shard-000002.h5", out + "/checkpoints/ckpt-000005.safetensors",
                                         out + "/metrics.jsonl", out + "/checkpoints/latest"};
  for (const auto& f : stale) write_file_atomic(f, "partial");
  for (const auto& f : kept) write_file_atomic(f, "done");
  TrainConfig cfg;
  cfg.out = out;
  cfg.write_replay = true;
  prepare_run_dirs(cfg);
  for (const auto& f : stale) EXPECT_FALSE(file_exists(f)) << f;
  for (const auto& f : kept) EXPECT_TRUE(file_exists(f)) << f;
  std::system(("rm -rf " + out).c_str());
}

}  // namespace
}  // namespace rlae
