// Parity of rlae::Tokenizer with Hugging Face `tokenizers`: identical ids (with and
// without special tokens), identical pre-tokenizer pieces, and identical decoded
// text (with and without skipping special tokens, also of random id sequences) on
// every case that tests/parity/make_tokenizer_fixtures.py wrote.
//
// The fixture directory comes from the environment variable
// RLAE_TOKENIZER_FIXTURES (set by tests/parity/tokenizer.cmake); a missing
// directory or tokenizer is a failure, never a skip.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/tokenizer.h"
#include "tokenizer_cases.h"

namespace {

using json = nlohmann::json;

// The tokenizers the fixture script trains; keep in sync with build_all() there.
const char* const kTokenizers[] = {"gpt2",    "gpt2_prefix_legacy_merges", "llama3",
                                   "qwen2",   "llama2",  "mistral",  "metaspace_split",
                                   "charlevel", "subword_affixes", "split_mix", "regex_mix"};
constexpr int kMinStrings = 1000;
constexpr int kMaxReported = 12;

std::string fixture_dir() {
  const char* dir = std::getenv("RLAE_TOKENIZER_FIXTURES");
  return dir ? dir : "";
}

class TokenizerParity : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerParity, MatchesHuggingFace) {
  const std::string root = fixture_dir();
  ASSERT_FALSE(root.empty())
      << "RLAE_TOKENIZER_FIXTURES is not set; run this test through ctest, which first runs "
         "tests/parity/make_tokenizer_fixtures.py";
  const std::string dir = root + "/" + GetParam();

  std::optional<rlae::Tokenizer> tok;
  try {
    tok = rlae::Tokenizer::from_file(dir + "/tokenizer.json");
  } catch (const std::exception& e) {
    FAIL() << "loading " << dir << "/tokenizer.json: " << e.what();
  }

  const rlae::parity::CaseCounts n =
      rlae::parity::compare_cases(*tok, dir + "/cases.jsonl", GetParam(), kMaxReported);
  EXPECT_GE(n.strings, kMinStrings) << GetParam() << ": too few test strings in the fixture";
  EXPECT_EQ(n.failures, 0) << GetParam() << ": " << n.failures << " mismatches over " << n.strings
                           << " strings and " << n.decodes << " id sequences";
}

INSTANTIATE_TEST_SUITE_P(HuggingFace, TokenizerParity, ::testing::ValuesIn(kTokenizers),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

// The fixture script and this test agree on the list of tokenizers.
TEST(TokenizerParityManifest, ListsEveryTokenizer) {
  const std::string root = fixture_dir();
  ASSERT_FALSE(root.empty()) << "RLAE_TOKENIZER_FIXTURES is not set";
  std::ifstream in(root + "/manifest.json");
  ASSERT_TRUE(in.good()) << "missing " << root << "/manifest.json";
  const json manifest = json::parse(in);
  std::vector<std::string> names;
  for (const json& t : manifest["tokenizers"]) names.push_back(t["name"]);
  EXPECT_EQ(names, std::vector<std::string>(std::begin(kTokenizers), std::end(kTokenizers)));
}

}  // namespace
