// The member fingerprint covers the weights and the order, and caches file hashes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "actors/agent_checkpoint.h"
#include "common/check.h"
#include "common/fs.h"
#include "ensemble_fixtures.h"

namespace rlae {
namespace {
using namespace rlae::testing;

class Fingerprint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "rlae_fp_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_ + "/cache");
    ::setenv("RLAE_CACHE_DIR", (dir_ + "/cache").c_str(), 1);
    const auto tok = byte_level_tokenizer({{"a", "b"}});
    // Same config.json and tokenizer.json, other weights.
    for (const char* m : {"a", "b"}) std::filesystem::create_directories(dir_ + "/" + m);
    write_member(dir_ + "/a", tok, 0, 1);
    write_member(dir_ + "/b", tok, 0, 2);
  }
  void TearDown() override {
    ::unsetenv("RLAE_CACHE_DIR");
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(Fingerprint, CoversWeightsAndOrder) {
  const std::string a = dir_ + "/a", b = dir_ + "/b";
  ASSERT_EQ(read_file(a + "/config.json"), read_file(b + "/config.json"));
  ASSERT_EQ(read_file(a + "/tokenizer.json"), read_file(b + "/tokenizer.json"));
  EXPECT_NE(members_fingerprint({a}), members_fingerprint({b}));
  EXPECT_NE(members_fingerprint({a, b}), members_fingerprint({b, a}));
  EXPECT_EQ(members_fingerprint({a, b}), members_fingerprint({a, b}));
}

TEST_F(Fingerprint, CachedByPathSizeAndTime) {
  const std::string w = dir_ + "/a/model.safetensors";
  const std::string h1 = weights_file_hash(w);
  EXPECT_EQ(h1.size(), 16u);
  // One cache entry per file version.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/cache/weights")) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1u);
  // New bytes and a new time: a new hash (the stale entry is not used).
  {
    std::ofstream out(w, std::ios::binary | std::ios::app);
    out << "x";
  }
  struct stat st{};
  ASSERT_EQ(::stat(w.c_str(), &st), 0);
  EXPECT_NE(weights_file_hash(w), h1);
  EXPECT_THROW(weights_file_hash(dir_ + "/a/none.safetensors"), Error);
}

}  // namespace
}  // namespace rlae
