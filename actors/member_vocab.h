// One member's view of the union vocabulary, as the decode session needs it:
// built once per member (and device) and reused by every decode call.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/vocab.h"

namespace rlae {

struct MemberVocabView {
  int member = 0;
  int64_t vocab_size = 0;  // V: the model's vocabulary (>= the tokenizer's)
  // [V] member id -> union id; ids the tokenizer does not know, and special
  // tokens other than EOS, are banned (never chosen; mapped to EOS).
  std::vector<int32_t> to_union;
  std::vector<uint8_t> banned_ids;
  // Union tokens this member spells with several ids (a character and its
  // <0xNN> byte twin): its probability of the token is that of its most probable
  // spelling, and that is the id it appends (one-hot weights = the member alone).
  std::unordered_map<int32_t, std::vector<int32_t>> twins;
  // On the session's device:
  at::Tensor union_map;     // [V] int32
  at::Tensor banned;        // [V] bool
  at::Tensor twin_canon;    // [T] int64 the canonical id of each twin pair (full mode folds by max)
  at::Tensor twin_other;    // [T] int64 the other spelling
  at::Tensor read_ids;      // [U] int64 member id read for each union token (clamped >= 0)
  at::Tensor read_valid;    // [U] bool  whether the member reads that union token at all

  static MemberVocabView build(const UnionVocab& vocab, int member, int64_t vocab_size, const at::Device& device);
};

}  // namespace rlae
