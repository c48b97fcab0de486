// Tiny ensemble members for tests: random-weight Llama models in the Hugging
// Face layout with two tokenizer styles (GPT-2 ByteLevel, Llama 2 Metaspace with
// byte fallback), written to a temporary directory.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actors/member.h"
#include "actors/model.h"
#include "common/fs.h"

namespace rlae::testing {

inline std::string byte_level_char(int b) {
  // GPT-2's byte-to-unicode table.
  int extra = 0;
  for (int x = 0; x < b; ++x) {
    const bool printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
    if (!printable) ++extra;
  }
  const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
  const int cp = printable ? b : 256 + extra;
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

// GPT-2 style: EOS "<|end|>" = 0, the 256 byte characters, then merges.
inline nlohmann::json byte_level_tokenizer(const std::vector<std::pair<std::string, std::string>>& merges) {
  nlohmann::json vocab = nlohmann::json::object();
  vocab["<|end|>"] = 0;
  for (int b = 0; b < 256; ++b) vocab[byte_level_char(b)] = 1 + b;
  nlohmann::json m = nlohmann::json::array();
  for (const auto& [a, b] : merges) {
    vocab[a + b] = static_cast<int>(vocab.size());
    m.push_back({a, b});
  }
  return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
          {"added_tokens", {{{"id", 0}, {"content", "<|end|>"}, {"single_word", false}, {"lstrip", false},
                             {"rstrip", false}, {"normalized", false}, {"special", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                     {"ignore_merges", false}, {"vocab", vocab}, {"merges", m}}}};
}

// Llama 2 style: <unk> <s> </s>, 256 byte-fallback tokens, "▁", printable ASCII, merges.
inline nlohmann::json metaspace_tokenizer(const std::vector<std::pair<std::string, std::string>>& merges) {
  nlohmann::json vocab = nlohmann::json::object();
  vocab["<unk>"] = 0;
  vocab["<s>"] = 1;
  vocab["</s>"] = 2;
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    vocab[buf] = 3 + b;
  }
  vocab["\xE2\x96\x81"] = static_cast<int>(vocab.size());
  for (int c = '!'; c <= '~'; ++c) vocab[std::string(1, static_cast<char>(c))] = static_cast<int>(vocab.size());
  nlohmann::json m = nlohmann::json::array();
  for (const auto& [a, b] : merges) {
    vocab[a + b] = static_cast<int>(vocab.size());
    m.push_back({a, b});
  }
  auto special = [](int id, const char* content) {
    return nlohmann::json{{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                          {"rstrip", false}, {"normalized", false}, {"special", true}};
  };
  return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
          {"added_tokens", {special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")}},
          {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                                                                {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                                                          {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                                          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"}, {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr}, {"fuse_unk", true}, {"byte_fallback", true},
                     {"ignore_merges", false}, {"vocab", vocab}, {"merges", m}}}};
}

// Writes a random Llama member with `tokenizer` into `dir`; EOS `eos`.
inline void write_member(const std::string& dir, const nlohmann::json& tokenizer, int64_t eos, uint64_t seed) {
  ModelConfig c;
  c.arch = ModelArch::llama;
  c.vocab_size = static_cast<int64_t>(tokenizer["model"]["vocab"].size());
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 512;
  c.eos_token_ids = {eos};
  c.source = dir + "/config.json";
  auto w = CausalLM::init_weights(c, seed);
  at::Generator gen = at::detail::createCPUGenerator(seed + 1);
  for (auto& [name, t] : w) {
    // Unit-scale weights: peaked, varied next-token distributions.
    if (t.dim() == 2) t = at::normal(0.0, 1.0, t.sizes(), gen) / (name == "model.embed_tokens.weight" ? 1.0 : std::sqrt(double(t.size(1))) / 2.5);
  }
  ModelOptions o;
  CausalLM::from_weights(c, w, o)->save(dir);
  write_file_atomic(dir + "/tokenizer.json", tokenizer.dump());
}

}  // namespace rlae::testing
