// The union vocabulary of an ensemble: token byte-strings shared across the
// members' tokenizers (GaC / UniTE style).
//
// Every member token maps to the union entry of its raw bytes (the Ġ / ▁ space
// markers and <0xNN> byte tokens normalized by Tokenizer::token_bytes). Special
// tokens live in their own namespace (their content never collides with text),
// and every member's end-of-sequence ids map to one union EOS. For each union
// token a member lacks, the member's first sub-token of that string stands for
// it when its probability is read, and the member appends the string's
// tokenization when the ensemble chooses it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/tokenizer.h"

namespace rlae {

struct VocabMember {
  Tokenizer tokenizer;
  std::vector<int32_t> eos_ids;  // the member's end-of-sequence ids
};

class UnionVocab {
 public:
  // Builds the union over `members` (order = member index).
  static UnionVocab build(const std::vector<VocabMember>& members);

  // Loads the union from `cache_dir` when a file for exactly these tokenizers
  // (content hash) and EOS ids exists, else builds and stores it there
  // (atomically). An empty cache_dir builds without caching.
  static UnionVocab load_or_build(const std::vector<VocabMember>& members, const std::string& cache_dir);

  // The cache key of these members: hex of a hash of every tokenizer's contents,
  // EOS ids and the format version.
  static std::string cache_key(const std::vector<VocabMember>& members);

  int32_t size() const { return static_cast<int32_t>(bytes_.size()); }
  int num_members() const { return static_cast<int>(to_union_.size()); }
  int32_t eos() const { return eos_; }

  // The union token's bytes (for special tokens, their content).
  const std::string& bytes(int32_t u) const;
  bool is_special(int32_t u) const;

  // [V_m]: member id -> union id (-1 for ids in gaps of the member's vocabulary).
  const std::vector<int32_t>& member_to_union(int m) const;
  // [U]: member id whose bytes are exactly union token u, or -1 when m lacks it.
  const std::vector<int32_t>& union_to_member(int m) const;
  // [U]: member id whose probability stands for u: its own id, else the first
  // sub-token of u's bytes in m's tokenization (-1 if that is empty).
  const std::vector<int32_t>& read_ids(int m) const;
  // Ids member m appends when the ensemble chooses u: {own id}, or the
  // tokenization of u's bytes; {m's first EOS id} for the union EOS.
  std::vector<int32_t> append_ids(int m, int32_t u) const;
  // How many union tokens member m lacks.
  int64_t missing(int m) const;

  bool operator==(const UnionVocab& o) const;

 private:
  friend struct UnionVocabIO;
  std::vector<std::string> bytes_;               // [U]
  std::vector<uint8_t> special_;                 // [U]
  int32_t eos_ = -1;
  std::vector<std::vector<int32_t>> to_union_;   // [K][V_m]
  std::vector<std::vector<int32_t>> from_union_; // [K][U]
  std::vector<std::vector<int32_t>> read_;       // [K][U]
  std::vector<std::vector<int32_t>> append_off_; // [K][U+1] offsets into append_
  std::vector<std::vector<int32_t>> append_;     // [K][*] ids appended for lacked tokens
  std::vector<int32_t> first_eos_;               // [K]
};

}  // namespace rlae
