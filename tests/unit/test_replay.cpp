// HDF5 replay shards: round trip, atomic write, and clear errors for bad files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <ATen/ATen.h>
#include <H5Cpp.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/fs.h"
#include "learner/replay.h"

namespace rlae {
namespace {

// A batch with every field filled from a seed: N steps over E episodes.
TrajectoryBatch sample_batch(int64_t N, int64_t E, int64_t A, int64_t K, uint64_t seed) {
  at::manual_seed(seed);
  TrajectoryBatch b;
  b.obs = at::randn({N, A, 7});
  b.share_obs = at::randn({N, 7 * A});
  b.actions = at::rand({N, A, 1}) + 0.01;
  b.logprobs = at::randn({N, A});
  b.weights = at::softmax(at::randn({N, K}), 1);
  b.rewards = at::zeros({N});
  b.dones = at::zeros({N}, at::kByte);
  b.values = at::randn({N});
  b.policy_version = at::floor_divide(at::arange(N, at::kLong), 3);
  b.episode = at::floor_divide(at::arange(N, at::kLong) * E, std::max<int64_t>(N, 1));
  b.span_index = at::zeros({N}, at::kInt);
  for (int64_t i = 0; i < N; ++i) {
    const int64_t e = b.episode[i].item<int64_t>();
    const bool last = i + 1 == N || b.episode[i + 1].item<int64_t>() != e;
    if (last) {
      b.dones[i] = 1;
      b.rewards[i] = static_cast<float>(e % 2);
    }
    if (i > 0 && b.episode[i - 1].item<int64_t>() == e) b.span_index[i] = b.span_index[i - 1].item<int32_t>() + 1;
  }
  for (int64_t e = 0; e < E; ++e) {
    b.prompt_id.push_back("mul_sub-train-" + std::to_string(e));
    b.task.push_back(e % 2 ? "add" : "mul_sub");
    b.text.push_back("3 * 4 = 12. 12 - 5 = 7. #### 7 ünïcode " + std::to_string(e));
    b.correct.push_back(static_cast<uint8_t>(e % 2));
  }
  return b;
}

void expect_same(const TrajectoryBatch& a, const TrajectoryBatch& b) {
  EXPECT_TRUE(at::equal(a.obs, b.obs));
  EXPECT_TRUE(at::equal(a.share_obs, b.share_obs));
  EXPECT_TRUE(at::equal(a.actions, b.actions));
  EXPECT_TRUE(at::equal(a.logprobs, b.logprobs));
  EXPECT_TRUE(at::equal(a.weights, b.weights));
  EXPECT_TRUE(at::equal(a.rewards, b.rewards));
  EXPECT_TRUE(at::equal(a.dones, b.dones));
  EXPECT_TRUE(at::equal(a.values, b.values));
  EXPECT_TRUE(at::equal(a.policy_version, b.policy_version));
  EXPECT_TRUE(at::equal(a.episode, b.episode));
  EXPECT_TRUE(at::equal(a.span_index, b.span_index));
  EXPECT_EQ(a.prompt_id, b.prompt_id);
  EXPECT_EQ(a.task, b.task);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.correct, b.correct);
}

class ReplayShard : public ::testing::Test {
 protected:
  std::string dir = ::testing::TempDir() + "rlae_replay_" + std::to_string(::getpid());
  void SetUp() override { ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0); }
  void TearDown() override { std::system(("rm -rf " + dir).c_str()); }
};

TEST_F(ReplayShard, RoundTripAndNoTemporaryLeft) {
  const TrajectoryBatch b = sample_batch(50, 6, 3, 3, 1);
  ShardInfo info{"cafe1234", "run-7", "mappo", 12};
  info.agent_obs = "group";
  const std::string path = dir + "/shard-000012.h5";
  write_replay_shard(path, b, info);
  EXPECT_THROW(read_file(path + ".tmp"), Error);
  ShardInfo got;
  const TrajectoryBatch r = read_replay_shard(path, &got);
  expect_same(b, r);
  EXPECT_EQ(got.config_hash, "cafe1234");
  EXPECT_EQ(got.run_id, "run-7");
  EXPECT_EQ(got.algo, "mappo");
  EXPECT_EQ(got.agent_obs, "group");
  EXPECT_EQ(got.iteration, 12);
  EXPECT_EQ(got.schema_version, kReplaySchemaVersion);
  // An empty batch is a valid shard too.
  write_replay_shard(dir + "/empty.h5", sample_batch(0, 0, 3, 3, 2), info);
  EXPECT_EQ(read_replay_shard(dir + "/empty.h5").num_steps(), 0);
}

// Shards written before rlae train --agent-obs existed lack the attribute: own agents.
TEST_F(ReplayShard, WithoutAgentObsAttributeIsOwn) {
  const std::string path = dir + "/old.h5";
  write_replay_shard(path, sample_batch(5, 2, 3, 3, 1), {"cafe1234", "run-7", "mappo", 0});
  {
    H5::H5File f(path, H5F_ACC_RDWR);
    f.removeAttr("agent_obs");
  }
  ShardInfo info;
  info.agent_obs = "?";
  read_replay_shard_unverified(path, &info);  // the edit broke the frame
  EXPECT_EQ(info.agent_obs, "own");
}

TEST_F(ReplayShard, InconsistentBatchNamesTheField) {
  TrajectoryBatch b = sample_batch(10, 2, 3, 3, 1);
  b.values = at::zeros({9});
  try {
    write_replay_shard(dir + "/x.h5", b, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'values'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_file(dir + "/x.h5"), Error);  // nothing half-written
  b = sample_batch(10, 2, 3, 3, 1);
  b.dones = b.dones.to(at::kFloat);
  EXPECT_THROW(write_replay_shard(dir + "/x.h5", b, {}), Error);
  b = sample_batch(10, 2, 3, 3, 1);
  b.text.pop_back();
  EXPECT_THROW(write_replay_shard(dir + "/x.h5", b, {}), Error);
}

TEST_F(ReplayShard, CorruptOrForeignFilesAreClearErrors) {
  const std::string path = dir + "/s.h5";
  write_replay_shard(path, sample_batch(40, 4, 2, 2, 3), {"h", "r", "ppo", 1});
  const std::string whole = read_file(path);
  auto expect_error = [&](const std::string& file, const std::string& needle) {
    try {
      read_replay_shard(file);
      ADD_FAILURE() << "no error for " << file;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  write_file_atomic(dir + "/trunc.h5", whole.substr(0, whole.size() / 2));
  expect_error(dir + "/trunc.h5", "");
  write_file_atomic(dir + "/text.h5", "not hdf5 at all");
  expect_error(dir + "/text.h5", "not an rlae replay shard");
  expect_error(dir + "/missing.h5", "");
}

// Writes a shard and the same values as JSON for tests/py/check_replay_shard.py
// (ctest runs both; see tests/CMakeLists.txt), and checks both files here: the shard
// reads back as the batch, the JSON holds every field with every value. Without
// RLAE_REPLAY_FIXTURE it writes into the temporary directory.
TEST_F(ReplayShard, FixtureForH5py) {
  const char* env = std::getenv("RLAE_REPLAY_FIXTURE");
  const std::string prefix = env ? env : dir + "/fixture";
  const TrajectoryBatch b = sample_batch(37, 5, 3, 3, 9);
  write_replay_shard(prefix + ".h5", b, {"0123abcd", "fixture-run", "mappo", 3});
  auto vec = [](const at::Tensor& t) {
    const at::Tensor f = t.to(at::kDouble).contiguous();
    return std::vector<double>(f.data_ptr<double>(), f.data_ptr<double>() + f.numel());
  };
  auto shape = [](const at::Tensor& t) { return std::vector<int64_t>(t.sizes().begin(), t.sizes().end()); };
  nlohmann::json j;
  struct F { const char* name; const at::Tensor& t; };
  for (const F& f : {F{"obs", b.obs}, F{"share_obs", b.share_obs}, F{"actions", b.actions},
                     F{"logprobs", b.logprobs}, F{"weights", b.weights}, F{"rewards", b.rewards},
                     F{"dones", b.dones}, F{"values", b.values}, F{"policy_version", b.policy_version},
                     F{"episode", b.episode}, F{"span_index", b.span_index}}) {
    j["steps"][f.name] = {{"shape", shape(f.t)}, {"values", vec(f.t)}};
  }
  j["episodes"] = {{"prompt_id", b.prompt_id}, {"task", b.task}, {"text", b.text}, {"correct", b.correct}};
  j["attrs"] = {{"schema_version", kReplaySchemaVersion}, {"config_hash", "0123abcd"},
                {"run_id", "fixture-run"}, {"algo", "mappo"}, {"agent_obs", "own"}, {"iteration", 3}};
  write_file_atomic(prefix + ".json", j.dump());

  ShardInfo info;
  expect_same(b, read_replay_shard(prefix + ".h5", &info));
  EXPECT_EQ(info.config_hash, "0123abcd");
  EXPECT_EQ(info.run_id, "fixture-run");
  EXPECT_EQ(info.algo, "mappo");
  EXPECT_EQ(info.agent_obs, "own");
  EXPECT_EQ(info.iteration, 3);
  EXPECT_EQ(info.schema_version, kReplaySchemaVersion);
  const nlohmann::json back = nlohmann::json::parse(read_file(prefix + ".json"));
  EXPECT_EQ(back, j);
  ASSERT_EQ(back["steps"].size(), 11u);
  for (const auto& [name, field] : back["steps"].items()) {
    int64_t numel = 1;
    for (const auto& d : field["shape"]) numel *= d.get<int64_t>();
    EXPECT_EQ(field["shape"].at(0).get<int64_t>(), 37) << name;
    EXPECT_EQ(static_cast<int64_t>(field["values"].size()), numel) << name;
  }
  EXPECT_EQ(back["episodes"]["text"].size(), 5u);
  EXPECT_EQ(back["episodes"]["text"][0].get<std::string>(), b.text[0]);  // UTF-8 kept
}

}  // namespace
}  // namespace rlae
