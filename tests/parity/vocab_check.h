// Union-vocabulary checks shared by the parity tests: every mapping round-trips,
// every member spells every union token it lacks with exactly its bytes, and a text
// of member 0 re-spelled by every other member gives back the same bytes.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/vocab.h"

namespace rlae::parity {

inline void check_alignment(const std::vector<VocabMember>& members,
                            const std::vector<std::string>& names) {
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

}  // namespace rlae::parity
