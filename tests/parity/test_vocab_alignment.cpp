// Union-vocabulary alignment on tokenizers trained by Hugging Face `tokenizers`
// (the tokenizer parity fixtures: GPT-2, Llama 3, Qwen2 ByteLevel styles and
// Llama 2 / Mistral SentencePiece styles): every mapping round-trips and every
// member spells every union token it lacks with exactly its bytes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/vocab.h"
#include "vocab_check.h"

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
  parity::check_alignment(members, names);
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
