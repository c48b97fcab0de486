// Union-vocabulary alignment on tokenizers trained by Hugging Face `tokenizers`
// (the tokenizer parity fixtures: GPT-2, Llama 3, Qwen2 ByteLevel styles and
// Llama 2 / Mistral SentencePiece styles): every mapping round-trips and every
// member spells every union token it lacks with exactly its bytes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/vocab.h"

namespace rlae {
namespace {

std::string fixture_dir() {
  const char* dir = std::getenv("RLAE_TOKENIZER_FIXTURES");
  return dir ? dir : "";
}

// A fixture name, or a path with a '/' relative to the source tree (the zoo's
// tokenizers under experiments/tokenizers/).
VocabMember load(const std::string& name) {
  const char* src = std::getenv("RLAE_SOURCE_DIR");
  const std::string root = name.find('/') != std::string::npos ? std::string(src ? src : ".") : fixture_dir();
  Tokenizer tok = Tokenizer::from_file(root + "/" + name + "/tokenizer.json");
  for (const char* eos : {"</s>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>"}) {
    if (auto id = tok.token_to_id(eos); id && tok.is_special(*id)) return {tok, {*id}};
  }
  const auto sp = tok.special_ids();
  EXPECT_FALSE(sp.empty()) << name << " has no special token to stand for EOS";
  return {tok, {sp.empty() ? 0 : sp.front()}};
}

void check_alignment(const std::vector<std::string>& names) {
  std::vector<VocabMember> members;
  for (const auto& n : names) members.push_back(load(n));
  const UnionVocab v = UnionVocab::build(members);
  const int K = static_cast<int>(names.size());
  for (int m = 0; m < K; ++m) {
    const Tokenizer& tok = members[static_cast<size_t>(m)].tokenizer;
    int64_t checked = 0;
    for (int32_t id = 0; id < tok.vocab_size(); ++id) {
      const int32_t u = v.member_to_union(m)[static_cast<size_t>(id)];
      if (u < 0 || v.is_special(u)) continue;
      const int32_t back = v.union_to_member(m)[static_cast<size_t>(u)];
      ASSERT_GE(back, 0);
      EXPECT_EQ(tok.token_bytes(back), tok.token_bytes(id)) << names[static_cast<size_t>(m)] << " id " << id;
      ++checked;
    }
    EXPECT_GT(checked, 100) << names[static_cast<size_t>(m)];
    // Every union text token this member lacks is spelled with exactly its bytes.
    int64_t lacked = 0, spelled = 0;
    for (int32_t u = 0; u < v.size(); ++u) {
      if (v.is_special(u) || v.union_to_member(m)[static_cast<size_t>(u)] >= 0) continue;
      ++lacked;
      const auto ids = v.append_ids(m, u);
      if (ids.empty()) continue;
      ++spelled;
      std::string bytes;
      for (int32_t id : ids) bytes += tok.token_bytes(id);
      EXPECT_EQ(bytes, v.bytes(u)) << names[static_cast<size_t>(m)] << " spelling union token " << u;
      EXPECT_EQ(v.read_ids(m)[static_cast<size_t>(u)], ids.front());
    }
    // ByteLevel and byte-fallback tokenizers can spell anything.
    if (names[static_cast<size_t>(m)] != "charlevel" && names[static_cast<size_t>(m)] != "metaspace_split") {
      EXPECT_EQ(spelled, lacked) << names[static_cast<size_t>(m)];
    }
  }
  // A text tokenized by member 0 re-spelled by every other member gives back the same bytes.
  const std::string text = "Tom has 12 apples, buys 7 more: 12 + 7 = 19. #### 19 — naïve café 😀\n\tend";
  const Tokenizer& t0 = members[0].tokenizer;
  std::string expect;
  for (int32_t id : t0.encode(text)) expect += t0.token_bytes(id);
  for (int m = 1; m < K; ++m) {
    std::string got;
    for (int32_t id : t0.encode(text)) {
      const int32_t u = v.member_to_union(0)[static_cast<size_t>(id)];
      for (int32_t mid : v.append_ids(m, u)) got += members[static_cast<size_t>(m)].tokenizer.token_bytes(mid);
    }
    EXPECT_EQ(got, expect) << names[0] << " -> " << names[static_cast<size_t>(m)];
  }
}

TEST(VocabAlignment, FixturesExist) {
  ASSERT_FALSE(fixture_dir().empty()) << "RLAE_TOKENIZER_FIXTURES is not set";
  std::ifstream in(fixture_dir() + "/manifest.json");
  ASSERT_TRUE(in.good()) << "missing tokenizer fixtures in " << fixture_dir();
}

TEST(VocabAlignment, ByteLevelAndSentencePieceStyles) { check_alignment({"gpt2", "llama2"}); }
TEST(VocabAlignment, Llama3Qwen2Mistral) { check_alignment({"llama3", "qwen2", "mistral"}); }
TEST(VocabAlignment, SentencePieceFirst) { check_alignment({"llama2", "gpt2", "llama3"}); }

// The zoo's own pair (rlae tokenizer train, experiments/members/train.sh): the
// byte-level tokenizer of addsub and chain, the Metaspace one of muldiv, both orders.
TEST(VocabAlignment, ZooTokenizers) {
  check_alignment({"experiments/tokenizers/bytelevel-1024", "experiments/tokenizers/metaspace-1280"});
  check_alignment({"experiments/tokenizers/metaspace-1280", "experiments/tokenizers/bytelevel-1024"});
}

}  // namespace
}  // namespace rlae
