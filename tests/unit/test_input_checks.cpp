// Parsers of user input that the fuzz targets (tests/fuzz/) exercise, pinned on the
// cases they found or that were fixed with them (issue 17): checkpoint metadata
// numbers, the shard index, sweep grids too large to expand, integer option lists,
// option values as usage errors, replay shards that would make libhdf5 overflow,
// and the prompt check before decoding.
#include <gtest/gtest.h>

#include <unistd.h>

#include <ATen/ATen.h>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "common/check.h"
#include "common/checkpoint_meta.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/safetensors_format.h"
#include "common/sweep_grid.h"
#include "common/wire.h"
#include "learner/replay.h"

namespace rlae {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CheckpointMeta, NumbersAreReadOrRefusedWithTheKey) {
  const std::map<std::string, std::string> meta = {
      {"iteration", "10"}, {"policy_version", "007"}, {"num_members", "x3"}, {"obs_width", ""},
      {"big", "1234567890123456789"}, {"neg", "-1"}};
  EXPECT_EQ(checkpoint_meta_int(meta, "iteration", "c.safetensors"), 10);
  EXPECT_EQ(checkpoint_meta_int(meta, "policy_version", "c.safetensors"), 7);
  // Was `rlae train: error: stoll` for a non-numeric iteration.
  for (const char* key : {"num_members", "obs_width", "big", "neg"}) {
    const std::string e = error_of([&] { checkpoint_meta_int(meta, key, "c.safetensors"); });
    EXPECT_NE(e.find("c.safetensors: metadata '" + std::string(key) + "'"), std::string::npos) << e;
    EXPECT_NE(e.find("not a non-negative integer"), std::string::npos) << e;
  }
  const std::string missing = error_of([&] { checkpoint_meta_int(meta, "seed", "c.safetensors"); });
  EXPECT_NE(missing.find("metadata 'seed' missing"), std::string::npos) << missing;
}

TEST(ShardIndex, ListsShardsAndRefusesBadNames) {
  const auto listed = parse_shard_index(
      R"({"metadata": {}, "weight_map": {"a.weight": "model-1.safetensors", "b.weight": "model-2.safetensors"}})",
      "idx.json");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].second, "model-1.safetensors");
  for (const std::string bad : {R"({"weight_map": {"a": "../x.safetensors"}})", R"({"weight_map": {"a": ".."}})",
                                R"({"weight_map": {"a": ""}})", R"({"weight_map": {"a": 3}})", R"({"weight_map": {}})",
                                R"({"weight_map": []})", "[1, 2", R"({"weight_map": {"a": "x\u0000y"}})"}) {
    EXPECT_NE(error_of([&] { parse_shard_index(bad, "idx.json"); }).find("idx.json"), std::string::npos) << bad;
  }
}

class InputFiles : public ::testing::Test {
 protected:
  std::string dir = ::testing::TempDir() + "rlae_inputs_" + std::to_string(::getpid());
  void SetUp() override { ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0); }
  void TearDown() override { std::system(("rm -rf " + dir).c_str()); }
};

TEST_F(InputFiles, SweepGridThatCannotBeExpandedIsRefused) {
  // 12 axes of 3 values: 531,441 trials (the fuzzer's grid of many axes ran out of memory).
  std::string text = "[grid]\n";
  for (int i = 0; i < 12; ++i) text += "k" + std::to_string(i) + " = 1, 2, 3\n";
  write_file_atomic(dir + "/big.ini", text);
  const std::string e = error_of([&] { parse_sweep_grid(dir + "/big.ini"); });
  EXPECT_NE(e.find("more than 100000 trials"), std::string::npos) << e;
  write_file_atomic(dir + "/ok.ini", "[grid]\nlr = 1e-4, 3e-4\nseed = 0, 1, 2\n");
  EXPECT_EQ(expand_sweep(parse_sweep_grid(dir + "/ok.ini")).size(), 6u);
}

TEST_F(InputFiles, ProblemsKnowTheirLine) {
  write_file_atomic(dir + "/d.jsonl", "\n{\"question\": \"q1\", \"answer\": \"#### 1\"}\n\n"
                                       "{\"id\": \"x\", \"question\": \"q2\", \"answer\": \"#### 2\"}\n");
  const auto ps = load_dataset(dir + "/d.jsonl");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].line, 2);
  EXPECT_EQ(ps[0].id, "d-2");
  EXPECT_EQ(ps[1].line, 4);
}

// Found by the dataset fuzz target: a number beyond double made nlohmann::json throw
// out_of_range (not parse_error), which escaped as another exception.
TEST_F(InputFiles, ANumberBeyondDoubleIsMalformedJsonNamingTheLine) {
  write_file_atomic(dir + "/big.jsonl", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n"
                                         "{\"question\": \"q\", \"answer\": 2.2E000000500001}\n");
  const std::string e = error_of([&] { load_dataset(dir + "/big.jsonl"); });
  EXPECT_NE(e.find(dir + "/big.jsonl:2: malformed JSON"), std::string::npos) << e;
}

TEST(OptionValues, IntegerListsAndUsageErrors) {
  EXPECT_EQ(parse_int_list("1, 32", "--batches", 1, 64), (std::vector<int64_t>{1, 32}));
  EXPECT_THROW(parse_int_list("1,x", "--batches", 1, 64), UsageError);
  EXPECT_THROW(parse_int_list("0", "--batches", 1, 64), UsageError);
  EXPECT_THROW(parse_int_list("99999999999999999999", "--batches", 1, 64), UsageError);  // no std::out_of_range
  EXPECT_THROW(parse_int_list("1,,2", "--batches", 1, 64), UsageError);
  try {
    option_values("rlae eval: ", [] { return split_list(",", "--families"); });
    ADD_FAILURE() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("rlae eval: --families", 0), 0u) << e.what();
  }
}

// Shards the replay fuzz target made: each is refused by its missing frame
// before libhdf5 parses it (read_replay_shard), the file named.
//  - replay-chunk-overflow.h5: a forged chunk made libhdf5's own read path copy
//    past a heap buffer (ASan: heap-buffer-overflow in H5VM_memcpyvv under H5Dread);
//  - replay-metadata-size.h5: metadata claiming a ~1 TiB object header, which
//    libhdf5 (H5C_protect) tries to allocate;
//  - replay-attr-use-after-free.h5: a forged object header on which libhdf5
//    1.10.8 reads freed memory in H5Aexists (H5O__msg_iterate_real). Only the
//    frame keeps this one away from libhdf5: it is not read unverified here.
TEST(ReplayShardForged, FuzzFindingsAreRefusedBeforeLibhdf5ReadsThem) {
  for (const char* name : {"replay-chunk-overflow.h5", "replay-metadata-size.h5", "replay-attr-use-after-free.h5"}) {
    const std::string path = std::string(RLAE_TEST_SOURCE_DIR) + "/tests/fixtures/fuzz/" + name;
    const std::string e = error_of([&] { read_replay_shard(path); });
    EXPECT_NE(e.find(path + ": an HDF5 file without rlae's frame"), std::string::npos) << e;
  }
}

// The same files read unverified (rlae replay seal on a file one vouches for):
// the reader's own checks still hold them. It decodes chunks itself and refuses
// the overflowing one naming the dataset; libhdf5's failed allocation for the
// forged size is an error naming the file.
TEST(ReplayShardForged, ChunksThatDoNotDecodeToTheirSizeAreErrors) {
  const std::string path = std::string(RLAE_TEST_SOURCE_DIR) + "/tests/fixtures/fuzz/replay-chunk-overflow.h5";
  const std::string e = error_of([&] { read_replay_shard_unverified(path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("dataset '"), std::string::npos) << e;
}

TEST(ReplayShardForged, MetadataClaimingATebibyteIsAnError) {
  const std::string path = std::string(RLAE_TEST_SOURCE_DIR) + "/tests/fixtures/fuzz/replay-metadata-size.h5";
  const std::string e = error_of([&] { read_replay_shard_unverified(path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
}

// A fuzz finding's bytes, and an HDF5 image with a frame computed for it (as a
// forger would: the frame's CRC is no signature).
std::string fixture(const std::string& name) {
  return read_file(std::string(RLAE_TEST_SOURCE_DIR) + "/tests/fixtures/fuzz/" + name);
}
std::string with_frame(const std::string& hdf5) {
  char line[128];
  std::snprintf(line, sizeof line, "rlae replay shard; frame 1; bytes %zu; crc32 %08x\n", hdf5.size(),
                static_cast<unsigned>(wire::crc32(hdf5.data(), hdf5.size())));
  std::string framed = line;
  framed.resize(kShardFrameBytes, '\0');
  return framed + hdf5;
}

// One episode of N steps, 2 agents, 2 members, random observations (seeded).
TrajectoryBatch one_episode(int64_t N) {
  TrajectoryBatch b;
  const int64_t A = 2, K = 2;
  at::manual_seed(1);
  b.obs = at::randn({N, A, 5});
  b.share_obs = at::randn({N, 10});
  b.actions = at::rand({N, A, 1});
  b.logprobs = at::randn({N, A});
  b.weights = at::softmax(at::randn({N, K}), 1);
  b.rewards = at::zeros({N});
  b.dones = at::zeros({N}, at::kByte);
  b.dones[N - 1] = 1;
  b.values = at::randn({N});
  b.policy_version = at::zeros({N}, at::kLong);
  b.episode = at::zeros({N}, at::kLong);
  b.span_index = at::arange(N, at::kInt);
  b.prompt_id = {"p"};
  b.task = {"add"};
  b.text = {"#### 1"};
  b.correct = {1};
  return b;
}

// Every byte of a shard is covered by its frame: any flipped byte is an error
// naming the file, before libhdf5 reads anything. Read unverified, the same
// files read or are errors, never a crash.
TEST_F(InputFiles, ReplayShardWithAFlippedByteIsAnError) {
  const TrajectoryBatch b = one_episode(40);
  const std::string path = dir + "/s.h5";
  write_replay_shard(path, b, {"h", "r", "mappo", 1});
  const std::string whole = read_file(path);
  int errors = 0, unverified_read = 0, unverified_errors = 0;
  for (size_t at = 0; at < whole.size(); at += 61) {
    std::string bad = whole;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    write_file_atomic(dir + "/bad.h5", bad);
    const std::string e = error_of([&] { read_replay_shard(dir + "/bad.h5"); });
    EXPECT_NE(e.find(dir + "/bad.h5: "), std::string::npos) << "byte " << at << ": " << e;
    errors += !e.empty();
    if (at < kShardFrameBytes) continue;
    EXPECT_NE(e.find("checksum mismatch"), std::string::npos) << "byte " << at << ": " << e;
    try {
      read_replay_shard_unverified(dir + "/bad.h5");
      ++unverified_read;
    } catch (const Error&) {
      ++unverified_errors;
    }
  }
  EXPECT_EQ(errors, static_cast<int>((whole.size() + 60) / 61));
  EXPECT_GT(unverified_errors, 0);
  EXPECT_GT(unverified_read + unverified_errors, 10);
}

// The frame: one line of text in HDF5's user block with the size and CRC-32 of
// the rest; a shard one vouches for (its frame zeroed, as in a file another tool
// wrote) is refused naming `rlae replay seal`, which adopts it.
TEST_F(InputFiles, ReplayShardFrameAndSeal) {
  const TrajectoryBatch b = one_episode(12);
  const std::string path = dir + "/s.h5";
  write_replay_shard(path, b, {"h", "r", "mappo", 1});
  const std::string whole = read_file(path);
  const size_t eol = whole.find('\n');
  ASSERT_LT(eol, kShardFrameBytes);
  char want[64];
  std::snprintf(want, sizeof want, "; bytes %zu; crc32 ", whole.size() - kShardFrameBytes);
  EXPECT_EQ(whole.rfind("rlae replay shard; frame 1", 0), 0u) << whole.substr(0, eol);
  EXPECT_NE(whole.substr(0, eol).find(want), std::string::npos) << whole.substr(0, eol);
  EXPECT_EQ(whole.compare(kShardFrameBytes, 4, "\x89HDF"), 0);

  std::string unframed = whole;
  std::memset(&unframed[0], 0, kShardFrameBytes);
  write_file_atomic(dir + "/unframed.h5", unframed);
  std::string e = error_of([&] { read_replay_shard(dir + "/unframed.h5"); });
  EXPECT_NE(e.find("without rlae's frame"), std::string::npos) << e;
  EXPECT_NE(e.find("rlae replay seal " + dir + "/unframed.h5"), std::string::npos) << e;
  seal_replay_shard(dir + "/unframed.h5");
  EXPECT_EQ(read_replay_shard(dir + "/unframed.h5").num_steps(), 12);

  write_file_atomic(dir + "/long.h5", whole + "x");
  e = error_of([&] { read_replay_shard(dir + "/long.h5"); });
  EXPECT_NE(e.find("1 bytes beyond its end"), std::string::npos) << e;
  write_file_atomic(dir + "/short.h5", whole.substr(0, whole.size() - 1));
  e = error_of([&] { read_replay_shard(dir + "/short.h5"); });
  EXPECT_NE(e.find("truncated: " + std::to_string(whole.size() - kShardFrameBytes - 1) + " of its"), std::string::npos) << e;
  write_file_atomic(dir + "/stub.h5", whole.substr(0, 100));
  e = error_of([&] { read_replay_shard(dir + "/stub.h5"); });
  EXPECT_NE(e.find("truncated inside its frame"), std::string::npos) << e;
}

// A frame proves a shard undamaged, not honest: CRC-32 is no signature, and a
// frame computed for a forged file gets its HDF5 to libhdf5. libhdf5 parses it
// in a child process (read_isolated), so its use-after-free on the fuzzer's
// forged object header is the child's end at worst: an error naming the file.
TEST_F(InputFiles, AForgedShardWithAValidFrameIsAnErrorNotACrash) {
  write_file_atomic(dir + "/forged.h5", with_frame(fixture("replay-attr-use-after-free.h5")));
  for (int i = 0; i < 3; ++i) {  // and the process reads on
    const std::string e = error_of([&] { read_replay_shard(dir + "/forged.h5"); });
    EXPECT_EQ(e.rfind(dir + "/forged.h5: ", 0), 0u) << e;
  }
  const TrajectoryBatch b = one_episode(5);
  write_replay_shard(dir + "/good.h5", b, {"h", "r", "mappo", 1});
  ShardInfo info;
  EXPECT_EQ(read_replay_shard(dir + "/good.h5", &info).num_steps(), 5);
  EXPECT_EQ(info.algo, "mappo");
  EXPECT_EQ(info.run_id, "r");
  EXPECT_EQ(info.iteration, 1);
}

// libhdf5 1.10.8 spins for ever on this forged file (the replay fuzz target
// framed it): the reader's child is stopped after RLAE_SHARD_READ_LIMIT_S and the
// file is named; the process reads the next shard.
TEST_F(InputFiles, AShardOnWhichLibhdf5SpinsIsStopped) {
  write_file_atomic(dir + "/spin.h5", with_frame(fixture("replay-hdf5-spin.h5")));
  ::setenv("RLAE_SHARD_READ_LIMIT_S", "2", 1);
  const std::string e = error_of([&] { read_replay_shard(dir + "/spin.h5"); });
  ::unsetenv("RLAE_SHARD_READ_LIMIT_S");
  EXPECT_EQ(e, dir + "/spin.h5: libhdf5 did not finish reading it in 2 s (a damaged shard?); the reader was stopped");
  write_replay_shard(dir + "/good.h5", one_episode(3), {"h", "r", "mappo", 1});
  EXPECT_EQ(read_replay_shard(dir + "/good.h5").num_steps(), 3);
  ::setenv("RLAE_SHARD_READ_LIMIT_S", "soon", 1);
  EXPECT_NE(error_of([&] { read_replay_shard(dir + "/good.h5"); }).find("RLAE_SHARD_READ_LIMIT_S='soon'"),
            std::string::npos);
  ::unsetenv("RLAE_SHARD_READ_LIMIT_S");
}

// A chunk dimension of 0 in a 1-D dataset's layout message is an error naming the
// file, and the process reads the intact shard after it. (The replay fuzz target
// once found a SIGFPE inside libhdf5 1.10 on a zero chunk dimension, in
// H5D__chunk_set_info while opening a dataset; that input was not kept, and this
// simple forgery is refused by H5Dopen itself.)
TEST_F(InputFiles, ReplayShardWithAChunkDimensionOfZeroIsAnError) {
  const int64_t N = 6;
  const TrajectoryBatch b = one_episode(N);
  const std::string path = dir + "/s.h5";
  write_replay_shard(path, b, {"h", "r", "mappo", 1});
  std::string bytes = read_file(path);
  // Layout message version 3, chunked, 2 dimensions (1-D data + the element
  // size), an 8-byte index address, then the chunk's rows and the element size
  // as 4-byte integers: the first 1-D float dataset's chunk rows become 0.
  size_t patched = 0;
  for (size_t i = 0; i + 19 <= bytes.size() && patched == 0; ++i) {
    if (bytes.compare(i, 3, std::string("\x03\x02\x02", 3)) != 0) continue;
    uint32_t rows = 0, elem = 0;
    std::memcpy(&rows, bytes.data() + i + 11, 4);
    std::memcpy(&elem, bytes.data() + i + 15, 4);
    if (elem == 4 && rows >= 1 && rows <= N) {
      std::memset(&bytes[i + 11], 0, 4);
      patched = i + 11;
    }
  }
  ASSERT_NE(patched, 0u) << "no chunked 1-D layout message found in the shard";
  write_file_atomic(dir + "/zero-chunk.h5", bytes);
  EXPECT_NE(error_of([&] { read_replay_shard(dir + "/zero-chunk.h5"); }).find("checksum mismatch"), std::string::npos);
  const std::string e = error_of([&] { read_replay_shard_unverified(dir + "/zero-chunk.h5"); });
  EXPECT_NE(e.find(dir + "/zero-chunk.h5"), std::string::npos) << e;
  EXPECT_EQ(read_replay_shard(path).num_steps(), N);
}

}  // namespace
}  // namespace rlae
