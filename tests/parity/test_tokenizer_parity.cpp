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

namespace {

using json = nlohmann::json;

// The tokenizers the fixture script trains; keep in sync with build_all() there.
const char* const kTokenizers[] = {"gpt2",    "gpt2_prefix_legacy_merges", "llama3",
                                   "qwen2",   "llama2",  "mistral",  "metaspace_split",
                                   "charlevel", "subword_affixes", "split_mix"};
constexpr int kMinStrings = 1000;
constexpr int kMaxReported = 12;

std::string fixture_dir() {
  const char* dir = std::getenv("RLAE_TOKENIZER_FIXTURES");
  return dir ? dir : "";
}

std::string show(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < ids.size(); ++i) os << (i ? ", " : "") << ids[i];
  os << "]";
  return os.str();
}

class TokenizerParity : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerParity, MatchesHuggingFace) {
  const std::string root = fixture_dir();
  ASSERT_FALSE(root.empty())
      << "RLAE_TOKENIZER_FIXTURES is not set; run this test through ctest, which first runs "
         "tests/parity/make_tokenizer_fixtures.py";
  const std::string dir = root + "/" + GetParam();
  std::ifstream cases_file(dir + "/cases.jsonl");
  ASSERT_TRUE(cases_file.good()) << "missing fixture " << dir
                                 << "/cases.jsonl (did the fixture script run?)";

  std::optional<rlae::Tokenizer> tok;
  try {
    tok = rlae::Tokenizer::from_file(dir + "/tokenizer.json");
  } catch (const std::exception& e) {
    FAIL() << "loading " << dir << "/tokenizer.json: " << e.what();
  }

  int strings = 0, decodes = 0, failures = 0;
  std::string line;
  auto report = [&](const std::string& what) {
    if (++failures <= kMaxReported) ADD_FAILURE() << GetParam() << ": " << what;
  };
  while (std::getline(cases_file, line)) {
    const json c = json::parse(line);
    if (c.contains("text")) {
      ++strings;
      const std::string text = c["text"];
      const auto want = c["ids"].get<std::vector<int32_t>>();
      const auto want_special = c["ids_special"].get<std::vector<int32_t>>();
      const auto got = tok->encode(text, false);
      const auto got_special = tok->encode(text, true);
      if (got != want)
        report("encode " + show(text) + "\n  hf:   " + show(want) + "\n  rlae: " + show(got));
      if (got_special != want_special)
        report("encode(add_special_tokens) " + show(text) + "\n  hf:   " + show(want_special) +
               "\n  rlae: " + show(got_special));
      if (c.contains("pieces")) {
        const auto want_pieces = c["pieces"].get<std::vector<std::string>>();
        const auto got_pieces = tok->pre_tokenize(text);
        if (got_pieces != want_pieces)
          report("pre_tokenize " + show(text) + "\n  hf:   " + show(json(want_pieces).dump()) +
                 "\n  rlae: " + show(json(got_pieces).dump()));
      }
      const std::string dec = tok->decode(want, false);
      if (dec != c["decoded"].get<std::string>())
        report("decode " + show(want) + " of " + show(text) + "\n  hf:   " +
               show(c["decoded"].get<std::string>()) + "\n  rlae: " + show(dec));
      const std::string dec_skip = tok->decode(want_special, true);
      if (dec_skip != c["decoded_skip"].get<std::string>())
        report("decode(skip_special_tokens) " + show(want_special) + "\n  hf:   " +
               show(c["decoded_skip"].get<std::string>()) + "\n  rlae: " + show(dec_skip));
    } else {
      ++decodes;
      const auto ids = c["decode_ids"].get<std::vector<int32_t>>();
      const std::string dec = tok->decode(ids, false);
      if (dec != c["decoded"].get<std::string>())
        report("decode " + show(ids) + "\n  hf:   " + show(c["decoded"].get<std::string>()) +
               "\n  rlae: " + show(dec));
      const std::string dec_skip = tok->decode(ids, true);
      if (dec_skip != c["decoded_skip"].get<std::string>())
        report("decode(skip_special_tokens) " + show(ids) + "\n  hf:   " +
               show(c["decoded_skip"].get<std::string>()) + "\n  rlae: " + show(dec_skip));
    }
  }
  EXPECT_GE(strings, kMinStrings) << GetParam() << ": too few test strings in the fixture";
  EXPECT_EQ(failures, 0) << GetParam() << ": " << failures << " mismatches over " << strings
                         << " strings and " << decodes << " id sequences";
  std::printf("[ parity   ] %s: %d strings, %d id sequences, %d mismatches\n", GetParam(),
              strings, decodes, failures);
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
