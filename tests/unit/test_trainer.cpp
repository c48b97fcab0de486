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
#include "ensemble_fixtures.h"
#include "learner/replay.h"
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
